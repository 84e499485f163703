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

// The gc module's collection: callbacks around collect_generations(). The
// caller has set heap.collecting. Returns collected + uncollectable.
std::size_t collect_with_callbacks(Heap& heap, int generation);

// Gives a new heap the room that a collection without memory for its whole
// working set needs to make progress (kReservedPiece objects; see
// collect_in_pieces in collector.cpp). Throws std::bad_alloc.
void reserve_room_for_pieces(Heap& heap);

// CPython's gc_collect_generations: the oldest generation over its threshold
// (gen2 also needs the 25% rule), with callbacks. Sets heap.collecting.
void collect_automatically(Heap& heap);

}  // namespace ouro::detail
