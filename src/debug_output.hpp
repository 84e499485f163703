// debug_output.hpp — the DEBUG_* text of a collection (debug_output.cpp).
#pragma once

#include <cstddef>

#include "heap.hpp"

namespace ouro::detail {

// CPython 3.11's lines, to the heap's debug stream (std::cerr by default).
void print_collecting(Heap& heap, int generation);
void print_object_line(Heap& heap, const char* what, const Object* o);
void print_done(Heap& heap, std::size_t unreachable, std::size_t uncollectable, double seconds);

}  // namespace ouro::detail
