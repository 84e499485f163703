// reachability.hpp — which objects of a table are reachable from outside
// it (reachability.cpp): trial deletion, CPython's update_refs,
// subtract_refs and move_unreachable.
#pragma once

#include <climits>
#include <cstdint>

#include "heap.hpp"

namespace ouro::detail {

// Trial deletion over table `set`: an object is reachable when a reference
// from outside the set (its refcount minus the references traverse()
// reports from inside the set) leads to it. Returns how many objects of the
// set are unreachable; Marks tells which. `relabel`: a younger table whose
// objects the set took over as they are, still carrying that table's bits
// (merge_younger, generation_tables.cpp); counting moves them into `set`.
// Runs traverse() (user code) on every object of the set; throws what a
// traverse() throws. Allocates nothing but the record of references, whose
// growth may fail without harm. Uses Heap::reachability, which must have
// room for the set (ReachabilityScratch::reserve).
std::uint32_t find_unreachable(Heap& h, Table set, Table relabel);

// The legacy finalizer policy's question: which objects of `set` do the
// ones for which is_seed() holds reach (seeds included)? False, and no
// marks, when there is no seed; else Marks tells.
bool mark_reached_from(Heap& h, Table set, bool (*is_seed)(const Object*));

// What marking leaves in a count entry of a reachable object.
inline constexpr std::int32_t kReachable = INT32_MIN;

// The verdict of the last find_unreachable or mark_reached_from, per slot
// of its set (a view of the count entries, for the loops that split a set).
class Marks {
 public:
  explicit Marks(Heap& h) noexcept : marks_(h.reachability.counts.data()) {}
  bool reachable(std::uint32_t slot) const noexcept { return marks_[slot] == kReachable; }

 private:
  const std::int32_t* marks_;
};

}  // namespace ouro::detail
