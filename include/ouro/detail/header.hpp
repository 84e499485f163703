// ouro/detail/header.hpp — the per-object header and the refcount fast path.
//
// Algorithm code never sees bit masks: it asks these accessors. Layout (16
// bytes after the vtable pointer):
//
//   refcnt_  64 bits  strong references; >= kImmortalBase means immortal;
//                     while the object waits in the destruction queue it
//                     holds the queue's next pointer instead
//   slot_    32 bits  index of the object in its table (see Table)
//   flags_   16 bits  Table (3 bits) + the Flag bits below
//   heap_id_ 16 bits  which thread's heap owns it (for misuse checks)
#pragma once

#include <cstdint>

#include "ouro/detail/config.hpp"
#include "ouro/object.hpp"

namespace ouro::detail {

// Which table of its heap a tracked object sits in.
enum class Table : std::uint16_t {
  gen0 = 0,
  gen1 = 1,
  gen2 = 2,
  permanent = 3,      // gc::freeze()
  unreachable = 4,    // inside a collection: found unreachable, fate pending
  uncollectable = 5,  // inside a collection: legacy finalizers and what they reach
  none = 7,           // untracked, not yet tracked, or being destroyed
};

enum Flag : std::uint16_t {
  kTableMask = 0x7,
  kTracked = 1u << 3,       // the type overrides traverse()
  kHasFinalizer = 1u << 4,  // the type overrides finalize()
  kFinalized = 1u << 5,     // finalize() has run (or started)
  kManaged = 1u << 6,       // created by make<T>()
  kGuarded = 1u << 7,       // inside a collection: refcount zero does not destroy
  kPending = 1u << 8,       // counted in the heap's long-lived-pending number
  kOrphan = 1u << 9,        // its heap is gone: refcounted only, never collected
  kHasWeakrefs = 1u << 10,  // some weak reference points here
  kDeferred = 1u << 11,     // waiting in the destruction queue
  kDestroying = 1u << 12,   // its destructor runs
};

inline constexpr std::uint64_t kImmortalBase = std::uint64_t{1} << 62;

// Checked builds: what ~Object leaves in flags_ and heap_id_ of a managed
// object, so that a later use of a dangling Ref can be told apart from a
// live object (see check_alive). Table 6 is never used by a live object.
// slot_ then holds an index into the table of type names (object.cpp), so
// the message can name the type. The allocator may overwrite the first 16
// bytes of a freed block (vtable pointer, refcount), not these.
inline constexpr std::uint16_t kPoisonFlags = 0xFFFE;
inline constexpr std::uint16_t kPoisonHeapId = 0xDEAD;

struct Access {
  static std::uint64_t& refcnt(Object& o) noexcept { return o.refcnt_; }
  static std::uint64_t refcnt(const Object& o) noexcept { return o.refcnt_; }
  static std::uint32_t& slot(Object& o) noexcept { return o.slot_; }
  static std::uint32_t slot(const Object& o) noexcept { return o.slot_; }
  static std::uint16_t& flags(Object& o) noexcept { return o.flags_; }
  static std::uint16_t flags(const Object& o) noexcept { return o.flags_; }
  static std::uint16_t& heap_id(Object& o) noexcept { return o.heap_id_; }
  static std::uint16_t heap_id(const Object& o) noexcept { return o.heap_id_; }
};

inline bool has(const Object& o, Flag f) noexcept { return (Access::flags(o) & f) != 0; }
inline void set(Object& o, Flag f) noexcept { Access::flags(o) = static_cast<std::uint16_t>(Access::flags(o) | f); }
inline void unset(Object& o, Flag f) noexcept {
  Access::flags(o) = static_cast<std::uint16_t>(Access::flags(o) & ~f);
}
inline Table table_of(const Object& o) noexcept { return static_cast<Table>(Access::flags(o) & kTableMask); }
inline void set_table(Object& o, Table t) noexcept {
  Access::flags(o) = static_cast<std::uint16_t>((Access::flags(o) & ~kTableMask) | static_cast<std::uint16_t>(t));
}
inline bool is_immortal_count(std::uint64_t rc) noexcept { return rc >= kImmortalBase; }

// Refcount reached zero: finalize, destroy, free (or defer when the
// destruction stack is deep, or leave it to the collector when guarded).
void release(Object* o) noexcept;

#if OURO_CHECKS
// Aborts when `o` belongs to another thread's heap.
void check_owner(const Object* o) noexcept;
// Aborts naming the type: `o` was destroyed, or its destruction has begun.
[[noreturn]] void report_use_of_dead_object(const Object* o) noexcept;
#endif

// Checked builds: a Ref that is copied, dropped or dereferenced must point
// at an object whose destruction has not begun (no live Ref can point at
// one, so this only fires for dangling Refs: a use after free).
OURO_ALWAYS_INLINE void check_alive([[maybe_unused]] const Object* o) noexcept {
#if OURO_CHECKS
  if (OURO_UNLIKELY((Access::flags(*o) & (kDestroying | kDeferred)) != 0)) report_use_of_dead_object(o);
#endif
}

OURO_ALWAYS_INLINE void incref(Object* o) noexcept {
#if OURO_CHECKS
  check_alive(o);
  check_owner(o);
#endif
  ++Access::refcnt(*o);
}

OURO_ALWAYS_INLINE void decref(Object* o) noexcept {
#if OURO_CHECKS
  check_alive(o);
  check_owner(o);
#endif
  if (--Access::refcnt(*o) == 0) release(o);
}

}  // namespace ouro::detail
