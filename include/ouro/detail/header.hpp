// ouro/detail/header.hpp — the per-object header and the refcount fast path.
//
// Algorithm code never sees bit masks: it asks these accessors. Layout (16
// bytes after the vtable pointer):
//
//   refcnt_  64 bits  strong references; >= kImmortalBase means immortal;
//                     kFrozenBit set: an object of a shared graph (the
//                     bit and its control block's address; the count
//                     waits in slot_); while the object waits in the
//                     destruction queue it holds the queue's next pointer
//   slot_    32 bits  index of the object in its table (see Table)
//   flags_   16 bits  Table (3 bits) + the Flag bits (flags.hpp)
//   heap_id_ 16 bits  which thread's heap owns it (for misuse checks)
#pragma once

#include <cstdint>

#include "ouro/detail/config.hpp"
#include "ouro/detail/destruction_entry.hpp"
#include "ouro/detail/flags.hpp"
#include "ouro/detail/heap_entry.hpp"
#include "ouro/detail/object_core_entry.hpp"
#include "ouro/detail/transfer_entry.hpp"
#include "ouro/object.hpp"

namespace ouro::detail {

struct Access {
  static std::uint64_t& refcnt(Object& o) noexcept { return o.refcnt_; }
  static std::uint64_t refcnt(const Object& o) noexcept { return o.refcnt_; }
  static std::uint32_t& slot(Object& o) noexcept { return o.slot_; }
  static std::uint32_t slot(const Object& o) noexcept { return o.slot_; }
  static std::uint16_t& flags(Object& o) noexcept { return o.flags_; }
  static std::uint16_t flags(const Object& o) noexcept { return o.flags_; }
  static std::uint16_t& heap_id(Object& o) noexcept { return o.heap_id_; }
  static std::uint16_t heap_id(const Object& o) noexcept { return o.heap_id_; }
  // slot_, flags_ and heap_id_ as one value (bits 0-31, 32-47, 48-63): the
  // collector tests all three of every object a traverse() reports, and
  // the compiler makes this one load.
  static std::uint64_t placement(const Object& o) noexcept {
    return std::uint64_t{o.slot_} | std::uint64_t{o.flags_} << 32 | std::uint64_t{o.heap_id_} << 48;
  }
};

// Whether a placement() value says "in table t of heap `heap_id`".
inline bool placed_in(std::uint64_t placement, Table t, std::uint16_t heap_id) noexcept {
  constexpr std::uint64_t kTableAndHeap = std::uint64_t{kTableMask} << 32 | std::uint64_t{0xFFFF} << 48;
  return (placement & kTableAndHeap) ==
         (std::uint64_t{static_cast<std::uint16_t>(t)} << 32 | std::uint64_t{heap_id} << 48);
}

inline bool has(const Object& o, Flag f) noexcept { return (Access::flags(o) & f) != 0; }
inline void set(Object& o, Flag f) noexcept { Access::flags(o) = static_cast<std::uint16_t>(Access::flags(o) | f); }
inline void unset(Object& o, Flag f) noexcept {
  Access::flags(o) = static_cast<std::uint16_t>(Access::flags(o) & ~f);
}
inline Table table_of(const Object& o) noexcept { return static_cast<Table>(Access::flags(o) & kTableMask); }
// `flags` with table bits `t` (for callers that change other bits in the
// same store).
inline std::uint16_t flags_in_table(std::uint16_t flags, Table t) noexcept {
  return static_cast<std::uint16_t>((flags & ~kTableMask) | static_cast<std::uint16_t>(t));
}
inline void set_table(Object& o, Table t) noexcept { Access::flags(o) = flags_in_table(Access::flags(o), t); }
inline bool is_immortal_count(std::uint64_t rc) noexcept { return rc >= kImmortalBase; }
inline bool is_frozen_count(std::uint64_t rc) noexcept { return (rc & kFrozenBit) != 0; }

// Checked builds: a Ref that is copied, dropped or dereferenced must point
// at an object whose destruction has not begun (no live Ref can point at
// one, so this only fires for dangling Refs: a use after free).
OURO_ALWAYS_INLINE void check_alive([[maybe_unused]] const Object* o) noexcept {
#if OURO_CHECKS
  if (OURO_UNLIKELY((Access::flags(*o) & (kDestroying | kDeferred)) != 0)) report_use_of_dead_object(o);
#endif
}

// The one branch a frozen object costs: its count is not touched (other
// threads read it meanwhile). Immortal counts still move (they never reach
// zero); a count of 1 going to 0 releases the object.
OURO_ALWAYS_INLINE void incref(Object* o) noexcept {
#if OURO_CHECKS
  check_alive(o);
  if (OURO_UNLIKELY(is_frozen_count(Access::refcnt(*o)))) {
    copy_of_frozen(o);
    return;
  }
  check_owner(o);
#endif
  std::uint64_t& rc = Access::refcnt(*o);
  if (OURO_LIKELY(!is_frozen_count(rc))) ++rc;
}

OURO_ALWAYS_INLINE void decref(Object* o) noexcept {
#if OURO_CHECKS
  check_alive(o);
  if (OURO_UNLIKELY(is_frozen_count(Access::refcnt(*o)))) {
    drop_of_frozen(o);
    return;
  }
  check_owner(o);
#endif
  std::uint64_t& rc = Access::refcnt(*o);
  const std::uint64_t n = rc;
  // One compare for both exceptions, out of line so that ~Ref stays small
  // enough to inline: n == 1 (the last reference) and a frozen count
  // (n >= kFrozenBit) both give n - 2 >= kFrozenBit - 2.
  if (OURO_LIKELY(n - 2 < kFrozenBit - 2))
    rc = n - 1;
  else
    release_or_keep(o);
}

}  // namespace ouro::detail
