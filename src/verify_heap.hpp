// verify_heap.hpp — the heap verifier: checks every invariant the
// collector's top comment (collector.cpp) states, and aborts naming the
// first one broken, the object and the point of the check.
//
// It reads every entry of every table: O(heap) per call. Builds with
// OURO_EXPENSIVE_CHECKS run it between the phases of every collection and
// after every operation of the fuzzer; tests call it through
// ouro::detail::verify_this_heap (ouro/detail/verify.hpp) in any build.
#pragma once

#include "heap.hpp"

namespace ouro::detail {

// What may legitimately differ from the resting state at the point of the
// check.
struct VerifyAt {
  const char* where;                    // names the point in the message
  Table relabelling = Table::none;      // a table taken over whose objects still carry their old table bits
  bool guarded_tables_may_hold = true;  // false: `unreachable` and `uncollectable` must be empty
  bool pending_tallied = true;          // false: a full collection's counting took the pending bits, not the count
  bool guarded_tables_read = true;      // false: user code inside a collection, whose garbage tables are in flux
};

// Aborts (fatal) unless, for heap `h`:
//   * every entry of every table is a live, managed, tracked object of this
//     heap (not an orphan, not being destroyed), whose slot is its index
//     and whose table bits name that table (except `relabelling`);
//   * exactly the objects of `unreachable` and `uncollectable` are guarded;
//   * the objects marked pending are all in gen2 or in a collection's
//     guarded tables, and there are long_lived_pending of them;
//   * under the incremental schedule no object is pending, and the
//     unvisited half of the old generation is gen1 or gen2.
// (count[0] has no such check: a make<T>() in progress, nested in a
// constructor or not, has counted its object before placing it.)
void verify_heap(const Heap& h, const VerifyAt& at) noexcept;

}  // namespace ouro::detail

// Between the phases of a collection: the verifier in builds with
// OURO_EXPENSIVE_CHECKS, nothing otherwise.
#if OURO_EXPENSIVE_CHECKS
#define OURO_VERIFY_HEAP(h, ...) ::ouro::detail::verify_heap((h), ::ouro::detail::VerifyAt{__VA_ARGS__})
#else
#define OURO_VERIFY_HEAP(h, ...) ((void)0)
#endif
