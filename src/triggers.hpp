// triggers.hpp — when a collection runs, and the gc callbacks around it
// (triggers.cpp).
#pragma once

#include <cstddef>

#include "heap.hpp"

namespace ouro::detail {

// The gc module's collection: callbacks around collect_generations(). The
// caller has set heap.collecting. Returns collected + uncollectable.
std::size_t collect_with_callbacks(Heap& heap, int generation);

// CPython's gc_collect_generations: the oldest generation over its threshold
// (gen2 also needs the 25% rule), with callbacks. Sets heap.collecting.
void collect_automatically(Heap& heap);

}  // namespace ouro::detail
