// thread_heap.hpp — the calling thread's heap, made on first use and torn
// down at thread exit (thread_heap.cpp).
#pragma once

#include "heap.hpp"

namespace ouro::detail {

// Makes the calling thread's heap (with the room a collection in pieces
// needs) and registers its teardown at thread exit; nullptr after that
// teardown. Throws std::bad_alloc.
Heap* make_heap();

// The calling thread's heap, made on first use. Once the thread's heap is
// torn down (thread exit), current_heap() returns nullptr and new objects
// are born orphaned (refcounted only).
inline Heap* current_heap() {
  if (Heap* h = existing_heap(); OURO_LIKELY(h != nullptr)) return h;
  return make_heap();
}
// current_heap(), or throws std::logic_error after teardown (for the gc API).
Heap& heap_for_api();

}  // namespace ouro::detail
