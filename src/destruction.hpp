// destruction.hpp — what happens when a refcount reaches zero
// (destruction.cpp; release() and object_destructor_rest() are declared for
// inline code in ouro/detail/destruction_entry.hpp).
#pragma once

#include "heap.hpp"
#include "ouro/detail/destruction_entry.hpp"

namespace ouro::detail {

// Runs o->finalize() once (marks it finalized first), reporting exceptions.
void call_finalizer(Object* o) noexcept;

// While the collector counts a working set (table `counted`, which may have
// adopted table `adopted`'s objects): an object of the set whose count
// reaches zero is left for the collector instead of being destroyed
// (dies_under_the_count). Per thread.
void begin_counting(Heap& heap, Table counted, Table adopted) noexcept;
void end_counting() noexcept;
// True between the two: the collector is calling traverse() on a working
// set whose tables and counts are half updated (queries refuse to run then).
bool counting_now() noexcept;

}  // namespace ouro::detail
