// Weak references and threads (docs/semantics.md, "Threads";
// docs/design/decisions.md, "Weak references to orphans"):
//
//   - objects that outlive their thread's heap are orphans; weak references
//     to them stay correct: lock() works while they live, and they are
//     cleared (callbacks run) on whichever thread drops the last Ref;
//   - a weak reference may be made to an orphan after its heap is gone;
//   - making a weak reference to an object of another live thread's heap
//     aborts in every build; lock() on the wrong thread aborts in checked
//     builds (the same check as for Ref).
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/instrumented.hpp"
#include "support/weak_logging.hpp"

namespace {

using ouro::make;
using ouro::Ref;
using ouro_test::Events;
using ouro_test::in_fresh_heap;
using ouro_test::Instrumented;
using ouro_test::logging_callback;
using ouro_test::PlainNode;
using ouro_test::TrackedNode;
using ouro_test::WeakNode;

TEST(WeakRefThreads, WeakRefsToOrphansAreClearedWhenTheOrphanDiesOnAnotherThread) {
  Events ev;
  Ref<Instrumented> tracked, plain;
  std::vector<WeakNode> weak;
  weak.reserve(4);
  in_fresh_heap([&] {
    tracked = make<TrackedNode>(ev, "tracked");
    plain = make<PlainNode>(ev, "plain");
    tracked->next = tracked;  // a cycle: never collected once orphaned
    weak.emplace_back(tracked, logging_callback(ev, "tracked"));
    weak.emplace_back(plain, logging_callback(ev, "plain"));
  });
  // The worker's heap is gone: both objects are orphans, their weak lists too.
  EXPECT_FALSE(ouro::gc::is_tracked(*tracked));
  EXPECT_EQ(weak[0].lock(), tracked);
  EXPECT_EQ(weak[1].lock(), plain);
  EXPECT_EQ(ouro::weakref_count(*tracked), 1u);
  weak.emplace_back(plain);  // a new weak reference to an orphan
  EXPECT_EQ(ouro::weakref_count(*plain), 2u);
  plain.reset();
  EXPECT_TRUE(weak[1].expired());
  EXPECT_TRUE(weak[2].expired());
  EXPECT_EQ(ev.count("callback plain"), 1u);
  tracked->next.reset();  // break the orphan cycle by hand
  tracked.reset();
  EXPECT_TRUE(weak[0].expired());
  EXPECT_EQ(ev.count("callback tracked"), 1u);
  EXPECT_EQ(ev.alive(), 0);
}

TEST(WeakRefThreads, AnUntrackedObjectOfAFinishedThreadCanBeWeaklyReferencedLater) {
  Events ev;
  Ref<Instrumented> plain;
  in_fresh_heap([&] { plain = make<PlainNode>(ev, "plain"); });
  // Its heap is gone but nothing marked it orphaned (teardown cannot see
  // untracked objects): the first weak reference does.
  WeakNode w(plain, logging_callback(ev, "w"));
  EXPECT_EQ(w.lock(), plain);
  std::thread([p = std::move(plain)]() mutable { p.reset(); }).join();  // dies on a third thread
  EXPECT_TRUE(w.expired());
  EXPECT_EQ(ev.count("callback w"), 1u);
}

// A tracked node owning weak references (reported to the collector).
struct WeakHolder : TrackedNode {
  using TrackedNode::TrackedNode;
  std::vector<WeakNode> weak;
  void traverse(ouro::Visitor& v) override {
    TrackedNode::traverse(v);
    v(weak);
  }
};

TEST(WeakRefThreads, ThreadExitCollectsCyclesWithWeakRefsAndOrphansTheRest) {
  Events ev;
  Ref<Instrumented> kept;
  WeakNode to_cycle;
  in_fresh_heap([&] {
    kept = make<PlainNode>(ev, "kept");
    auto a = make<WeakHolder>(ev, "a");
    auto b = make<WeakHolder>(ev, "b");
    a->next = b;
    b->next = a;
    a->weak.emplace_back(kept, logging_callback(ev, "a->kept"));
    b->weak.emplace_back(a, logging_callback(ev, "b->a"));
    to_cycle = WeakNode(b, logging_callback(ev, "outside->b"));
  });
  // Teardown collected the cycle: the outside callback ran (on the worker),
  // those owned by the cycle did not; kept survives as an orphan.
  EXPECT_TRUE(to_cycle.expired());
  EXPECT_EQ(ev.count("callback outside->b"), 1u);
  EXPECT_EQ(ev.count("callback a->kept"), 0u);
  EXPECT_EQ(ev.count("callback b->a"), 0u);
  EXPECT_EQ(ouro::weakref_count(*kept), 0u);
  EXPECT_EQ(ev.alive(), 1);
  kept.reset();
  EXPECT_EQ(ev.alive(), 0);
}

#if OURO_CHECKS

TEST(WeakRefThreadsDeathTest, LockOnAThreadThatDoesNotOwnTheTargetAborts) {
  ::testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_DEATH(
      {
        auto mine = make<ouro::Object>();
        ouro::WeakRef<ouro::Object> w(mine);
        std::thread([&w] { Ref<ouro::Object> stolen = w.lock(); }).join();
      },
      "ouro: fatal: .*thread");
}

#endif

namespace {
// Another thread makes a weak reference to an object whose owning thread
// (and heap) is still alive: aborts in every build.
void weakref_to_object_of_a_live_thread() {
  std::mutex m;
  std::condition_variable cv;
  bool made = false, done = false;
  Ref<ouro::Object> theirs;
  std::thread owner([&] {
    std::unique_lock lock(m);
    theirs = make<ouro::Object>();
    made = true;
    cv.notify_all();
    cv.wait(lock, [&] { return done; });
  });
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return made; });
  }
  ouro::WeakRef<ouro::Object> w(theirs);  // must abort here
  {
    std::lock_guard lock(m);
    done = true;
  }
  cv.notify_all();
  owner.join();
}
}  // namespace

TEST(WeakRefThreadsDeathTest, AWeakRefToAnObjectOfAnotherLiveThreadAborts) {
  ::testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_DEATH(weakref_to_object_of_a_live_thread(), "ouro: fatal: ouro::WeakRef: .*another thread");
}

}  // namespace
