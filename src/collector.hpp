// collector.hpp — the cycle collector's entry points (see collector.cpp).
#pragma once

#include <cstddef>

#include "heap.hpp"

namespace ouro::detail {

struct CollectionResult {
  std::size_t collected = 0;      // unreachable and reclaimed (not resurrected)
  std::size_t uncollectable = 0;  // legacy finalizers and what they reach
};

// One collection of generations 0..generation, without callbacks. The caller
// has set heap.collecting.
CollectionResult collect_generations(Heap& heap, int generation);

// Gives a new heap the room that a collection without memory for its whole
// working set needs to make progress (kReservedPiece objects; see
// collect_in_pieces in collector.cpp). Throws std::bad_alloc.
void reserve_room_for_pieces(Heap& heap);

}  // namespace ouro::detail
