// reachability_scratch.hpp — the memory that finding the unreachable
// objects (reachability.cpp) keeps between collections: one member of each
// heap (Heap::reachability), so that a collection allocates nothing it
// already had, and so that every heap holds room for a collection in pieces
// from its start (see collector.cpp, "when memory is short").
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "scratch_buffer.hpp"

namespace ouro::detail {

// An object that marking must still follow: its slot, and where its
// recorded references start.
struct MarkTask {
  std::uint32_t slot;
  std::uint32_t first_edge;
};

struct ReachabilityScratch {
  ScratchBuffer<std::int32_t> counts;  // per slot: outside references, then marks
  ScratchBuffer<std::uint8_t> degrees;  // per slot: references recorded (255: see wide_degrees)
  std::vector<std::pair<std::uint32_t, std::uint32_t>> wide_degrees;  // (slot, references) when >= 255
  ScratchBuffer<std::uint32_t> edges;   // references inside the set, as target slots
  ScratchBuffer<MarkTask> mark_stack;   // room for every object of the set

  // Room for a working set of n objects. Throws std::bad_alloc (having
  // grown part of it, which changes nothing).
  void reserve(std::size_t n) {
    counts.ensure(n, Populate::yes);  // written in full by counting
    degrees.ensure(n, Populate::yes);
    mark_stack.ensure(n);  // untouched beyond what marking pushes
    // References are about as many as objects in most heaps: room for that
    // many now saves copying the record while it grows (it may still grow;
    // without room, marking traverses instead).
    edges.try_grow(n, Populate::yes);
  }
  // The room a heap holds from its start (kReservedPiece objects). Throws
  // std::bad_alloc.
  void hold_room_for_pieces(std::size_t n) {
    counts.ensure(n);
    degrees.ensure(n);
    mark_stack.ensure(n);
  }
  // The largest set the room held now can take without allocating.
  std::size_t room() const noexcept {
    return std::min({counts.capacity(), degrees.capacity(), mark_stack.capacity()});
  }
};

}  // namespace ouro::detail
