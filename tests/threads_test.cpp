// One heap per thread (docs/semantics.md, "Threads"; decisions.md,
// "Thread exit"): gc settings, callbacks, garbage() and the unraisable hook
// belong to the calling thread; a new thread starts with the defaults; when a
// thread ends its heap drops garbage(), collects, and orphans what is still
// referenced from elsewhere (valid, refcounted only, never collected again);
// checked builds abort when a Ref is used on a thread that does not own it.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/instrumented.hpp"

namespace {

using ouro::make;
using ouro::Ref;
using ouro::refcount;
using ouro_test::Events;
using ouro_test::FinalizedNode;
using ouro_test::Instrumented;
using ouro_test::PlainNode;
using ouro_test::TrackedNode;

void expect_default_settings() {
  auto t = ouro::gc::get_threshold();
  EXPECT_EQ(t.gen0, 700u);
  EXPECT_EQ(t.gen1, 10u);
  EXPECT_EQ(t.gen2, 10u);
  EXPECT_TRUE(ouro::gc::is_enabled());
  EXPECT_EQ(ouro::gc::get_debug(), 0u);
  EXPECT_EQ(ouro::gc::get_finalizer_policy(), ouro::gc::FinalizerPolicy::pep442);
  EXPECT_TRUE(ouro::gc::garbage().empty());
  EXPECT_EQ(ouro::gc::get_count(), (std::array<std::size_t, 3>{0, 0, 0}));
  EXPECT_TRUE(ouro::gc::get_objects().empty());
  EXPECT_EQ(ouro::gc::get_freeze_count(), 0u);
  auto stats = ouro::gc::get_stats();
  for (const auto& s : stats) EXPECT_EQ(s.collections, 0u);
}

struct FinalizerThrows : ouro::Object {
  void finalize() override { throw std::runtime_error("thrown on another thread"); }
};

}  // namespace

TEST(Threads, NewThreadStartsWithDefaultGcSettings) {
  // Change the settings here first: the new thread must not inherit them.
  ouro_test::in_fresh_heap([] {
    ouro::gc::set_threshold(3, 4, 5);
    ouro::gc::disable();
    std::thread([] { expect_default_settings(); }).join();
  });
}

TEST(Threads, SettingsCallbacksGarbageAndHookOfOneThreadAreInvisibleToAnother) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    std::ostringstream debug_text;
    int callback_calls = 0;
    int hook_calls = 0;
    ouro::gc::set_threshold(5, 6, 7);
    ouro::gc::disable();
    ouro::gc::set_debug(ouro::gc::DEBUG_STATS);
    ouro::gc::set_debug_stream(&debug_text);
    ouro::gc::set_finalizer_policy(ouro::gc::FinalizerPolicy::legacy);
    ouro::gc::add_callback([&](ouro::gc::Phase, const ouro::gc::CollectionInfo&) { ++callback_calls; });
    ouro::set_unraisable_hook([&](std::exception_ptr, const ouro::Object*) { ++hook_calls; });
    ouro::gc::garbage().push_back(make<TrackedNode>(ev, "in garbage"));
    auto kept = make<TrackedNode>(ev, "tracked here");
    ouro::gc::freeze();

    std::string other_thread_cerr;
    std::thread([&] {
      expect_default_settings();
      // Its collections call none of the first thread's callbacks and print
      // nothing to the first thread's debug stream.
      Events ev2;
      {
        auto a = make<TrackedNode>(ev2, "a");
        a->next = a;
      }
      EXPECT_EQ(ouro::gc::collect(), 1u);
      // Its unraisable exceptions go to the default hook (std::cerr).
      std::ostringstream err;
      std::streambuf* old = std::cerr.rdbuf(err.rdbuf());
      make<FinalizerThrows>();
      std::cerr.rdbuf(old);
      other_thread_cerr = err.str();
      // Changing settings here leaves the first thread's alone.
      ouro::gc::set_threshold(1);
      ouro::gc::set_debug(ouro::gc::DEBUG_LEAK);
    }).join();

    EXPECT_EQ(callback_calls, 0);
    EXPECT_EQ(hook_calls, 0);
    EXPECT_TRUE(debug_text.str().empty()) << debug_text.str();
    EXPECT_NE(other_thread_cerr.find("Exception ignored in:"), std::string::npos) << other_thread_cerr;

    auto t = ouro::gc::get_threshold();
    EXPECT_EQ(t.gen0, 5u);
    EXPECT_EQ(t.gen1, 6u);
    EXPECT_EQ(t.gen2, 7u);
    EXPECT_FALSE(ouro::gc::is_enabled());
    EXPECT_EQ(ouro::gc::get_debug(), static_cast<unsigned>(ouro::gc::DEBUG_STATS));
    EXPECT_EQ(ouro::gc::get_finalizer_policy(), ouro::gc::FinalizerPolicy::legacy);
    ASSERT_EQ(ouro::gc::garbage().size(), 1u);
    EXPECT_EQ(ouro::gc::get_freeze_count(), 2u);

    // ... and they still work here.
    ouro::gc::unfreeze();
    ouro::gc::collect();
    EXPECT_EQ(callback_calls, 2);  // start and stop
    EXPECT_NE(debug_text.str().find("gc: collecting generation 2..."), std::string::npos) << debug_text.str();
    make<FinalizerThrows>();
    EXPECT_EQ(hook_calls, 1);
    ouro::gc::garbage().clear();
    ouro::gc::set_debug(0);
  });
}

TEST(Threads, ObjectsOfAnEndedThreadStayValidAndAreNoLongerTracked) {
  Events ev;
  Ref<TrackedNode> tracked;
  Ref<PlainNode> plain;
  ouro_test::in_fresh_heap([&] {
    tracked = make<TrackedNode>(ev, "tracked");
    tracked->value = 42;
    tracked->next = make<TrackedNode>(ev, "child");
    tracked->links.push_back(make<PlainNode>(ev, "plain child"));
    plain = make<PlainNode>(ev, "plain");
    plain->value = 7;
    EXPECT_TRUE(ouro::gc::is_tracked(*tracked));
  });
  // The thread and its heap are gone; the objects live on.
  EXPECT_EQ(ev.destroyed, 0);
  EXPECT_EQ(tracked->value, 42);
  EXPECT_EQ(tracked->next->name, "child");
  EXPECT_EQ(tracked->links.at(0)->name, "plain child");
  EXPECT_EQ(plain->value, 7);
  Ref<PlainNode> plain_copy = plain;  // an untracked orphan: usable here too
  EXPECT_EQ(refcount(*plain), 2u);
  plain_copy.reset();
  EXPECT_FALSE(ouro::gc::is_tracked(*tracked));
  EXPECT_FALSE(ouro::gc::is_tracked(*tracked->next));
  EXPECT_EQ(refcount(*tracked), 1u);
  EXPECT_EQ(refcount(*tracked->next), 1u);
  // Refcounting works on them from this thread: copies, drops, destruction.
  Ref<TrackedNode> copy = tracked;
  EXPECT_EQ(refcount(*tracked), 2u);
  copy.reset();
  tracked->next = nullptr;
  EXPECT_EQ(ev.destroyed, 1);
  EXPECT_EQ(ev.of("child"), (std::vector<std::string>{"construct", "destroy"}));
  tracked.reset();
  plain.reset();
  EXPECT_EQ(ev.alive(), 0);
}

TEST(Threads, OrphanedObjectsAreNeverCollectedAgainButStillRefcounted) {
  ouro_test::in_fresh_heap([] {  // a clean heap on "this" side too, to count collections
    Events ev;
    Ref<TrackedNode> a;
    ouro_test::in_fresh_heap([&] {
      a = make<TrackedNode>(ev, "a");
      a->next = make<TrackedNode>(ev, "b");
      a->next->next = a;  // a cycle, still referenced from outside when the thread ends
    });
    TrackedNode* raw = a.get();
    a.reset();  // now it is a garbage cycle of orphans
    EXPECT_EQ(ouro::gc::collect(), 0u);
    EXPECT_EQ(ev.destroyed, 0);
    EXPECT_TRUE(ouro::gc::get_objects().empty());
    EXPECT_EQ(raw->next->name, "b");
    // Breaking the cycle by hand frees both by refcounting.
    raw->next->next.reset();
    EXPECT_EQ(ev.destroyed, 2);
  });
}

TEST(Threads, EndingThreadReclaimsItsGarbageCyclesAndGarbageList) {
  Events ev;
  ouro_test::in_fresh_heap([&] {
    ouro::gc::disable();
    // A plain garbage cycle, never collected while the thread ran.
    {
      auto a = make<TrackedNode>(ev, "cycle a");
      auto b = make<TrackedNode>(ev, "cycle b");
      a->next = b;
      b->next = a;
    }
    // A finalizer cycle left in garbage() by a legacy collection.
    ouro::gc::set_finalizer_policy(ouro::gc::FinalizerPolicy::legacy);
    {
      auto f = make<FinalizedNode>(ev, "legacy f");
      auto g = make<TrackedNode>(ev, "legacy g");
      f->next = g;
      g->next = f;
    }
    ouro::gc::collect();
    EXPECT_EQ(ouro::gc::garbage().size(), 1u);
    EXPECT_EQ(ev.destroyed, 2);  // the plain cycle went
    // Another plain cycle, and an object only garbage() keeps.
    {
      auto c = make<TrackedNode>(ev, "cycle c");
      c->next = c;
    }
    ouro::gc::garbage().push_back(make<PlainNode>(ev, "only in garbage"));
    EXPECT_EQ(ev.alive(), 4);
  });
  EXPECT_EQ(ev.alive(), 0);
  EXPECT_EQ(ev.count("finalize legacy f"), 1u);  // the teardown collects with the pep442 policy
  EXPECT_EQ(ev.count("destroy only in garbage"), 1u);
}

TEST(Threads, EndingThreadFinalizesItsGarbageBeforeOrphaningTheRest) {
  Events ev;
  Ref<Instrumented> survivor;
  ouro_test::in_fresh_heap([&] {
    survivor = make<FinalizedNode>(ev, "survivor");
    {
      auto f = make<FinalizedNode>(ev, "garbage f");
      f->next = f;
    }
  });
  EXPECT_EQ(ev.of("garbage f"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
  EXPECT_EQ(ev.of("survivor"), (std::vector<std::string>{"construct"}));
  EXPECT_FALSE(ouro::gc::is_finalized(*survivor));
  survivor.reset();  // dies here, by refcount: finalized then
  EXPECT_EQ(ev.of("survivor"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
}

namespace {
struct AfterTeardownReport {
  bool ran = false;
  bool gc_threw_logic_error = false;
  bool made_untracked = false;
  int value_read = 0;
};
AfterTeardownReport g_after_teardown;

// A thread_local constructed before the thread's heap is destroyed after it
// (reverse order of construction): its destructor runs after the teardown.
struct AfterTeardown {
  Events* events = nullptr;
  ~AfterTeardown() {
    if (!events) return;
    AfterTeardownReport r;
    r.ran = true;
    try {
      ouro::gc::collect();
    } catch (const std::logic_error&) {
      r.gc_threw_logic_error = true;
    } catch (...) {
    }
    auto late = make<TrackedNode>(*events, "made after teardown");
    late->value = 5;
    late->next = late;  // a self-cycle nobody will ever collect
    r.made_untracked = !ouro::gc::is_tracked(*late);
    r.value_read = late->value;
    late->next.reset();  // refcounting still frees it
    g_after_teardown = r;
  }
};
}  // namespace

TEST(Threads, AfterTeardownMakeCreatesOrphansAndGcFunctionsThrowLogicError) {
  Events ev;
  std::thread([&] {
    thread_local AfterTeardown late;  // constructed before the heap exists
    late.events = &ev;
    auto x = make<TrackedNode>(ev, "during");  // the heap is made now
  }).join();
  const AfterTeardownReport& r = g_after_teardown;
  ASSERT_TRUE(r.ran);
  EXPECT_TRUE(r.gc_threw_logic_error);
  EXPECT_TRUE(r.made_untracked);
  EXPECT_EQ(r.value_read, 5);
  EXPECT_EQ(ev.alive(), 0);
  EXPECT_EQ(ev.count("destroy made after teardown"), 1u);
}

TEST(Threads, ManyThreadsEachWithTheirOwnHeapAtOnce) {
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::vector<int> destroyed(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &failures, &destroyed] {
      Events ev;
      ouro::gc::set_threshold(static_cast<std::size_t>(10 + t));
      for (int round = 0; round < 200; ++round) {
        auto a = make<TrackedNode>(ev);
        auto b = make<TrackedNode>(ev);
        a->next = b;
        b->next = a;
      }
      ouro::gc::collect();
      if (ouro::gc::get_threshold().gen0 != static_cast<std::size_t>(10 + t)) ++failures;
      if (ev.alive() != 0) ++failures;
      if (!ouro::gc::get_objects().empty()) ++failures;
      destroyed[static_cast<std::size_t>(t)] = ev.destroyed;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (int d : destroyed) EXPECT_EQ(d, 400);
}

// ---------------------------------------------------------------------------
// Misuse across threads (checked builds)
// ---------------------------------------------------------------------------

#if OURO_CHECKS

TEST(ThreadsDeathTest, CopyingARefToAnotherThreadsObjectAborts) {
  ::testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_DEATH(
      {
        auto mine = make<ouro::Object>();
        std::thread([&mine] { Ref<ouro::Object> stolen = mine; }).join();
      },
      "ouro: fatal: .*thread");
}

namespace {
// Main thread copies a Ref to a tracked object whose owning thread (and heap)
// is still alive, waiting.
void copy_ref_of_object_owned_by_a_live_thread() {
  Events ev;
  std::mutex m;
  std::condition_variable cv;
  bool made = false;
  bool done = false;
  Ref<TrackedNode> theirs;
  std::thread owner([&] {
    std::unique_lock lock(m);
    theirs = make<TrackedNode>(ev, "theirs");
    made = true;
    cv.notify_all();
    cv.wait(lock, [&] { return done; });
  });
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return made; });
  }
  Ref<TrackedNode> copy = theirs;  // not the owner: must abort here
  {
    std::lock_guard lock(m);
    done = true;
  }
  cv.notify_all();
  owner.join();
}
}  // namespace

TEST(ThreadsDeathTest, CopyingARefToATrackedObjectOfAnotherLiveThreadAborts) {
  ::testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_DEATH(copy_ref_of_object_owned_by_a_live_thread(), "ouro: fatal: .*thread");
}

TEST(ThreadsDeathTest, DroppingTheLastRefOnAnotherThreadAborts) {
  ::testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_DEATH(
      {
        auto mine = make<ouro::Object>();
        std::thread([r = std::move(mine)]() mutable { r.reset(); }).join();
      },
      "ouro: fatal: .*thread");
}

namespace {
// A worker makes an object and ends (the object is an orphan); a second
// thread keeps a reference to it; then the main thread uses it too.
template <class T>
void use_an_orphan_that_another_thread_holds() {
  Events ev;
  Ref<Instrumented> orphan;
  Ref<Instrumented> held_by_second;
  std::thread([&] { orphan = make<T>(ev, "orphan"); }).join();
  std::thread([&] { held_by_second = orphan; }).join();
  Ref<Instrumented> copy = orphan;  // two threads now share one count: must abort here
}
}  // namespace

TEST(ThreadsDeathTest, ATrackedOrphanUsedWhileAnotherThreadHoldsItAbortsNamingTheRule) {
  ::testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_DEATH(use_an_orphan_that_another_thread_holds<TrackedNode>(),
               "ouro: fatal: an orphan .* is used on a second thread while another thread holds references to it");
}

TEST(ThreadsDeathTest, AnUntrackedOrphanUsedWhileAnotherThreadHoldsItAbortsNamingTheRule) {
  ::testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_DEATH(use_an_orphan_that_another_thread_holds<PlainNode>(),
               "ouro: fatal: an orphan .* is used on a second thread while another thread holds references to it");
}

#endif  // OURO_CHECKS

// An orphan is used by one thread at a time and moves with its last Ref.
TEST(Threads, AnOrphanMovesToAnotherThreadWithItsLastRef) {
  Events ev;
  Ref<Instrumented> tracked, plain;
  std::thread([&] {
    tracked = make<TrackedNode>(ev, "tracked");
    plain = make<PlainNode>(ev, "plain");
  }).join();
  std::thread([t = std::move(tracked), p = std::move(plain)] {
    Ref<Instrumented> a = t, b = p;  // this thread uses both
    EXPECT_EQ(refcount(*a), 2u);
    EXPECT_EQ(refcount(*b), 2u);
  }).join();
  EXPECT_EQ(ev.alive(), 0) << "the last references died on the thread they were handed to";

  std::thread([&] { tracked = make<TrackedNode>(ev, "tracked"); }).join();
  Ref<Instrumented> here = tracked;  // the main thread uses it
  here.reset();
  std::thread([t = std::move(tracked)]() mutable { t.reset(); }).join();  // then hands it over
  EXPECT_EQ(ev.alive(), 0);
}
