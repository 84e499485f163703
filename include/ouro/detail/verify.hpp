// ouro/detail/verify.hpp — the heap verifier, for tests and the fuzzer.
// Internal: not part of the API.
#pragma once

namespace ouro::detail {

// Checks every invariant of the calling thread's heap that the collector
// relies on (every tracked object in exactly one table at the slot it
// names, its table bits, the guarded and pending marks; src/verify_heap.hpp
// lists them) and aborts with "ouro: fatal: heap verifier (<where>): ..."
// naming the first one broken and the object. Nothing when the thread has
// no heap. O(heap): builds with OURO_EXPENSIVE_CHECKS also run it between
// the phases of every collection.
void verify_this_heap(const char* where) noexcept;

}  // namespace ouro::detail
