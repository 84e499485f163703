// support/fresh_heap.hpp — running a test body on a thread of its own.
//
// ouroboros keeps one heap per thread, and everything in ouro::gc (thresholds,
// debug flags, callbacks, garbage(), the finalizer policy) and the unraisable
// hook belong to that heap. A test that changes any of them, or that counts
// tracked objects, runs its body on a brand-new thread so that it starts from
// the defaults (700/10/10, enabled, pep442, no debug, empty garbage, nothing
// tracked) and leaves nothing behind for the next test:
//
//   TEST(Gc, SomethingAboutThresholds) {
//     ouro_test::in_fresh_heap([] {
//       ouro::gc::set_threshold(1);
//       EXPECT_EQ(ouro::gc::get_count()[0], 0u);
//     });
//   }
//
// GoogleTest assertions work from any thread: EXPECT_* failures are recorded
// against the running test; an ASSERT_* failure returns from the body only.
// An exception escaping the body is caught on that thread and rethrown by
// in_fresh_heap() on the caller's thread, after the join.
//
// The thread's heap is torn down when the body's thread ends, so by the time
// in_fresh_heap() returns the teardown has happened: garbage() was dropped, the
// heap collected until nothing was left, and objects still referenced from the
// caller were orphaned (valid, refcounted only, gc::is_tracked false).
#pragma once

#include <cstddef>
#include <functional>

namespace ouro_test {

// Runs `body` on a new std::thread (so with a new heap, default settings) and
// waits for it; rethrows whatever exception escaped `body`.
//
// OURO_TEST_SCHEDULE=incremental in the environment runs the whole test
// binary under gc::Schedule::incremental: every fresh heap, and the main
// thread's, switch to it before the body runs (ctest runs the behaviour
// suites a second time that way). The default settings above are then the
// incremental schedule's; tests that check the generational schedule's own
// numbers ask incremental_under_test() and skip.
void in_fresh_heap(std::function<void()> body);

// True when OURO_TEST_SCHEDULE=incremental.
bool incremental_under_test();

// Like in_fresh_heap(), on a thread whose stack is exactly `stack_bytes`
// (rounded up to the page size by the system): pthread_attr_setstacksize,
// which std::thread cannot do. Used to prove that deep structures are
// destroyed and collected without recursion proportional to their depth.
// Throws std::system_error when the thread cannot be created.
void on_thread_with_stack(std::size_t stack_bytes, std::function<void()> body);

}  // namespace ouro_test
