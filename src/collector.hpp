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

// While count_internal_refs walks the working set (table `counted`, which
// may have adopted table `adopted`'s objects): an object of the set whose
// count reaches zero is left for the collector instead of being destroyed
// (destruction.cpp, dies_under_the_count). Per thread.
void begin_counting(Heap& heap, Table counted, Table adopted) noexcept;
void end_counting() noexcept;
// True between the two: the collector is calling traverse() on a working
// set whose tables and counts are half updated (queries refuse to run then).
bool counting_now() noexcept;

// Runs o->finalize() once (marks it finalized first), reporting exceptions.
void call_finalizer(Object* o) noexcept;

// Debug text, CPython 3.11's lines (debug_output.cpp).
void print_collecting(Heap& heap, int generation);
void print_object_line(Heap& heap, const char* what, const Object* o);
void print_done(Heap& heap, std::size_t unreachable, std::size_t uncollectable, double seconds);

}  // namespace ouro::detail
