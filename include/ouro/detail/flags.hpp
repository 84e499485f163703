// ouro/detail/flags.hpp — the values of the object header's flags_ field
// (the layout is described in header.hpp). Separate so that object.hpp's
// inline constructor and destructor can name them.
#pragma once

#include <cstdint>

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
  kInGraph = 1u << 13,      // reached by the walk of ouro::send or ouro::share now running
  kHasSite = 1u << 14,      // its allocation site is recorded (allocation_sites.cpp)
  kHasMemberRefs = 1u << 15,  // checked builds: Refs registered in its storage (detail/member_refs.hpp)
};

inline constexpr std::uint64_t kImmortalBase = std::uint64_t{1} << 62;
// The count of an object of a shared, frozen graph (ouro/share.hpp): this
// bit, and below it the address of the graph's control block. Copies and
// drops of Refs to it count nothing (the graph lives while a Shared of it
// does); the object's own count waits in its slot field until the graph is
// destroyed. Counts >= kImmortalBase include it: a frozen object reports
// itself immortal.
inline constexpr std::uint64_t kFrozenBit = std::uint64_t{1} << 63;

// Checked builds: what ~Object leaves in flags_ and heap_id_ of a managed
// object, so that a later use of a dangling Ref can be told apart from a
// live object (see check_alive). Table 6 is never used by a live object.
// slot_ then holds an index into the table of type names (object_core.cpp), so
// the message can name the type. The allocator may overwrite the first 16
// bytes of a freed block (vtable pointer, refcount), not these.
inline constexpr std::uint16_t kPoisonFlags = 0xFFFE;
inline constexpr std::uint16_t kPoisonHeapId = 0xDEAD;

}  // namespace ouro::detail
