// gc callbacks and statistics (ouro/gc.hpp: add_callback is like
// appending to gc.callbacks; CPython 3.11 invokes each callback with
// "start" and "stop" and the info {generation, collected, uncollectable}).
//
//   start  info.generation = g, collected = uncollectable = 0, seconds = 0
//   stop   info.collected / uncollectable of this collection, seconds >= 0
//   A callback that throws is reported to the unraisable hook (object
//   nullptr); the others still run. collect() inside a callback returns 0.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/nodes.hpp"
#include "support/throwing_traverse.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro_test::in_fresh_heap;

using ouro_test::Node;

struct WithFinalizer : Object {
  void traverse(ouro::Visitor& v) override { v(next); }
  void finalize() override {}
  Ref<Object> next;
};

template <class T = Node>
void garbage_pair() {
  Ref<T> a = make<T>();
  Ref<T> b = make<T>();
  a->next = b;
  b->next = a;
}

struct Call {
  gc::Phase phase;
  gc::CollectionInfo info;
};

std::string describe(const Call& c) {
  return std::string(c.phase == gc::Phase::start ? "start" : "stop") + " g" + std::to_string(c.info.generation) +
         " c" + std::to_string(c.info.collected) + " u" + std::to_string(c.info.uncollectable);
}

std::vector<std::string> describe(const std::vector<Call>& calls) {
  std::vector<std::string> out;
  for (const Call& c : calls) out.push_back(describe(c));
  return out;
}

gc::Callback recorder(std::vector<Call>& calls) {
  return [&calls](gc::Phase p, const gc::CollectionInfo& info) { calls.push_back({p, info}); };
}

TEST(Callbacks, IdsAreDistinctAndRemoveCallbackReportsWhetherItRemovedOne) {
  in_fresh_heap([] {
    auto nop = [](gc::Phase, const gc::CollectionInfo&) {};
    std::size_t a = gc::add_callback(nop);
    std::size_t b = gc::add_callback(nop);
    std::size_t c = gc::add_callback(nop);
    EXPECT_NE(a, b);
    EXPECT_NE(b, c);
    EXPECT_NE(a, c);
    EXPECT_TRUE(gc::remove_callback(b));
    EXPECT_FALSE(gc::remove_callback(b)) << "already removed";
    std::size_t d = gc::add_callback(nop);
    EXPECT_NE(d, a);
    EXPECT_NE(d, c);
    EXPECT_NE(d, b) << "ids are not reused";
    EXPECT_FALSE(gc::remove_callback(a + b + c + d + 1000));
    EXPECT_TRUE(gc::remove_callback(a));
    EXPECT_TRUE(gc::remove_callback(c));
    EXPECT_TRUE(gc::remove_callback(d));
  });
}

TEST(Callbacks, RemovedCallbacksAreNotCalled) {
  in_fresh_heap([] {
    std::vector<Call> calls;
    std::size_t id = gc::add_callback(recorder(calls));
    gc::collect();
    EXPECT_EQ(calls.size(), 2u);
    EXPECT_TRUE(gc::remove_callback(id));
    gc::collect();
    EXPECT_EQ(calls.size(), 2u);
  });
}

TEST(Callbacks, StartThenStopWithGenerationAndResults) {
  in_fresh_heap([] {
    std::vector<Call> calls;
    gc::add_callback(recorder(calls));
    garbage_pair();
    EXPECT_EQ(gc::collect(1), 2u);
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].phase, gc::Phase::start);
    EXPECT_EQ(calls[0].info.generation, 1);
    EXPECT_EQ(calls[0].info.collected, 0u);
    EXPECT_EQ(calls[0].info.uncollectable, 0u);
    EXPECT_EQ(calls[0].info.seconds, 0.0);
    EXPECT_EQ(calls[1].phase, gc::Phase::stop);
    EXPECT_EQ(calls[1].info.generation, 1);
    EXPECT_EQ(calls[1].info.collected, 2u);
    EXPECT_EQ(calls[1].info.uncollectable, 0u);
    EXPECT_GE(calls[1].info.seconds, 0.0);
    EXPECT_LT(calls[1].info.seconds, 10.0);
  });
}

using ouro_test::ThrowingTraverse;

TEST(Callbacks, EveryStartGetsItsStopWhenATraverseThrowsDuringTheCollection) {
  in_fresh_heap([] {
    std::vector<Call> calls;
    gc::add_callback(recorder(calls));
    Ref<ThrowingTraverse> t = make<ThrowingTraverse>();
    t->next = t;
    ThrowingTraverse::armed = true;
    EXPECT_THROW(gc::collect(1), std::runtime_error);
    ThrowingTraverse::armed = false;
    EXPECT_EQ(describe(calls), (std::vector<std::string>{"start g1 c0 u0", "stop g1 c0 u0"}));
    t.reset();
    calls.clear();
    EXPECT_EQ(gc::collect(), 1u) << "the heap works after the failed collection";
    EXPECT_EQ(describe(calls), (std::vector<std::string>{"start g2 c0 u0", "stop g2 c1 u0"}));
  });
}

TEST(Callbacks, StopReportsCollectedAndUncollectableSeparatelyUnderLegacy) {
  in_fresh_heap([] {
    std::vector<Call> calls;
    gc::add_callback(recorder(calls));
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    garbage_pair<Node>();
    garbage_pair<WithFinalizer>();
    EXPECT_EQ(gc::collect(), 4u);
    EXPECT_EQ(describe(calls), (std::vector<std::string>{"start g2 c0 u0", "stop g2 c2 u2"}));
    gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
    gc::garbage().clear();
    gc::collect();
  });
}

TEST(Callbacks, RunForAutomaticCollectionsToo) {
  if (ouro_test::incremental_under_test()) GTEST_SKIP() << "the generational schedule's generations";
  in_fresh_heap([] {
    std::vector<Call> calls;
    gc::add_callback(recorder(calls));
    gc::set_threshold(4);
    std::vector<Ref<Node>> kept;
    garbage_pair();
    kept.push_back(make<Node>());
    kept.push_back(make<Node>());
    EXPECT_TRUE(calls.empty());
    kept.push_back(make<Node>());  // count0 5 > 4
    EXPECT_EQ(describe(calls), (std::vector<std::string>{"start g0 c0 u0", "stop g0 c2 u0"}));
  });
}

TEST(Callbacks, RunInTheOrderTheyWereAdded) {
  in_fresh_heap([] {
    std::vector<std::string> order;
    for (const char* name : {"first", "second", "third"})
      gc::add_callback([&order, name](gc::Phase p, const gc::CollectionInfo&) {
        order.push_back(std::string(name) + (p == gc::Phase::start ? " start" : " stop"));
      });
    gc::collect();
    EXPECT_EQ(order, (std::vector<std::string>{"first start", "second start", "third start", "first stop",
                                               "second stop", "third stop"}));
  });
}

TEST(Callbacks, StartRunsBeforeAndStopAfterTheCollectionItself) {
  in_fresh_heap([] {
    std::vector<std::size_t> tracked_at;
    gc::add_callback([&tracked_at](gc::Phase, const gc::CollectionInfo&) {
      tracked_at.push_back(gc::get_objects().size());
    });
    garbage_pair();
    gc::collect();
    EXPECT_EQ(tracked_at, (std::vector<std::size_t>{2, 0}));
  });
}

TEST(Callbacks, ThrowingCallbackGoesToTheUnraisableHookWithNullObjectAndOthersStillRun) {
  in_fresh_heap([] {
    std::vector<std::string> reports;
    ouro::set_unraisable_hook([&reports](std::exception_ptr e, const Object* o) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        reports.push_back(std::string(o ? "object" : "nullptr") + ": " + ex.what());
      }
    });
    std::vector<Call> before, after;
    gc::add_callback(recorder(before));
    gc::add_callback([](gc::Phase p, const gc::CollectionInfo&) {
      throw std::runtime_error(p == gc::Phase::start ? "bad start" : "bad stop");
    });
    gc::add_callback(recorder(after));
    garbage_pair();
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(reports, (std::vector<std::string>{"nullptr: bad start", "nullptr: bad stop"}));
    EXPECT_EQ(describe(before), (std::vector<std::string>{"start g2 c0 u0", "stop g2 c2 u0"}));
    EXPECT_EQ(describe(after), (std::vector<std::string>{"start g2 c0 u0", "stop g2 c2 u0"}));
  });
}

TEST(Callbacks, CollectInsideACallbackReturnsZero) {
  in_fresh_heap([] {
    std::vector<std::size_t> nested;
    std::vector<Call> calls;
    gc::add_callback(recorder(calls));
    gc::add_callback([&nested](gc::Phase, const gc::CollectionInfo&) {
      garbage_pair();
      nested.push_back(gc::collect());
    });
    garbage_pair();
    std::size_t found = gc::collect();
    EXPECT_EQ(nested, (std::vector<std::size_t>{0, 0}));
    EXPECT_EQ(calls.size(), 2u) << "the nested collect() ran no collection and no callbacks";
    EXPECT_EQ(found, 4u) << "the pair made in the start callback was collected too";
    EXPECT_EQ(gc::get_objects().size(), 2u) << "the pair made in the stop callback";
    calls.clear();
    EXPECT_EQ(gc::collect(), 4u) << "the stop callback's pair, and the one the start callback made now";
  });
}

TEST(Callbacks, CallbackRemovingItselfDuringACallIsNotCalledAgain) {
  in_fresh_heap([] {
    std::vector<std::string> log;
    gc::add_callback([&log](gc::Phase p, const gc::CollectionInfo&) {
      log.push_back(p == gc::Phase::start ? "A start" : "A stop");
    });
    std::size_t self_id = 0;
    self_id = gc::add_callback([&log, &self_id](gc::Phase p, const gc::CollectionInfo&) {
      log.push_back(p == gc::Phase::start ? "S start" : "S stop");
      EXPECT_TRUE(gc::remove_callback(self_id));
    });
    std::size_t b = gc::add_callback([&log](gc::Phase p, const gc::CollectionInfo&) {
      log.push_back(p == gc::Phase::start ? "B start" : "B stop");
    });
    gc::collect();
    // Whether B's start call happens in this collection is left open: CPython
    // 3.11 walks gc.callbacks by index, so the callback after one that
    // removes itself is skipped for that phase.
    EXPECT_EQ(std::count(log.begin(), log.end(), "S start"), 1);
    EXPECT_EQ(std::count(log.begin(), log.end(), "S stop"), 0);
    EXPECT_EQ(std::count(log.begin(), log.end(), "A start"), 1);
    EXPECT_EQ(std::count(log.begin(), log.end(), "A stop"), 1);
    EXPECT_EQ(std::count(log.begin(), log.end(), "B stop"), 1);
    log.clear();
    gc::collect();
    EXPECT_EQ(log, (std::vector<std::string>{"A start", "B start", "A stop", "B stop"}));
    EXPECT_TRUE(gc::remove_callback(b));
  });
}

TEST(Callbacks, CallbackAddedDuringACollectionDoesNotBreakIt) {
  in_fresh_heap([] {
    std::vector<std::string> log;
    bool added = false;
    gc::add_callback([&log, &added](gc::Phase p, const gc::CollectionInfo&) {
      log.push_back(p == gc::Phase::start ? "A start" : "A stop");
      if (!added) {
        added = true;
        gc::add_callback([&log](gc::Phase q, const gc::CollectionInfo&) {
          log.push_back(q == gc::Phase::start ? "N start" : "N stop");
        });
      }
    });
    gc::collect();
    log.clear();
    gc::collect();
    EXPECT_EQ(log, (std::vector<std::string>{"A start", "N start", "A stop", "N stop"}));
  });
}

TEST(Callbacks, AddCallbackRejectsAnEmptyFunction) {
  in_fresh_heap([] { EXPECT_THROW(gc::add_callback(gc::Callback{}), std::invalid_argument); });
}

// ---------------------------------------------------------------------------
// get_stats
// ---------------------------------------------------------------------------

TEST(Stats, StartAtZero) {
  in_fresh_heap([] {
    for (const gc::GenerationStats& s : gc::get_stats()) {
      EXPECT_EQ(s.collections, 0u);
      EXPECT_EQ(s.collected, 0u);
      EXPECT_EQ(s.uncollectable, 0u);
    }
  });
}

TEST(Stats, CountCollectionsCollectedAndUncollectablePerGeneration) {
  if (ouro_test::incremental_under_test()) GTEST_SKIP() << "the generational schedule's generations";
  in_fresh_heap([] {
    garbage_pair();
    gc::collect(0);
    gc::collect(0);
    garbage_pair();
    garbage_pair();
    gc::collect(1);
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    garbage_pair<WithFinalizer>();
    garbage_pair();
    gc::collect(2);
    auto s = gc::get_stats();
    EXPECT_EQ(s[0].collections, 2u);
    EXPECT_EQ(s[0].collected, 2u);
    EXPECT_EQ(s[0].uncollectable, 0u);
    EXPECT_EQ(s[1].collections, 1u);
    EXPECT_EQ(s[1].collected, 4u);
    EXPECT_EQ(s[1].uncollectable, 0u);
    EXPECT_EQ(s[2].collections, 1u);
    EXPECT_EQ(s[2].collected, 2u);
    EXPECT_EQ(s[2].uncollectable, 2u);
    gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
    gc::garbage().clear();
    gc::collect();
    EXPECT_EQ(gc::get_stats()[2].collections, 2u);
    EXPECT_EQ(gc::get_stats()[2].collected, 4u);
  });
}

TEST(Stats, AutomaticCollectionsAreCounted) {
  in_fresh_heap([] {
    gc::set_threshold(3);
    for (int i = 0; i < 4; ++i) {
      Ref<Node> a = make<Node>();
      a->next = a;
    }
    auto s = gc::get_stats();
    EXPECT_EQ(s[0].collections, 1u);
    EXPECT_EQ(s[0].collected, 3u);
    gc::collect();
  });
}

TEST(Stats, ResurrectedObjectsAreNotCountedAsCollected) {
  in_fresh_heap([] {
    struct Phoenix : Object {
      void traverse(ouro::Visitor& v) override { v(next); }
      void finalize() override { out->push_back(ouro::ref(this)); }
      Ref<Object> next;
      std::vector<Ref<Object>>* out = nullptr;
    };
    std::vector<Ref<Object>> saved;
    std::vector<Call> calls;
    gc::add_callback(recorder(calls));
    {
      Ref<Phoenix> p = make<Phoenix>();
      p->out = &saved;
      p->next = make<Node>();
      ouro::ref_cast<Node>(p->next)->next = p;
    }
    garbage_pair();
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(gc::get_stats()[2].collected, 2u);
    EXPECT_EQ(describe(calls.back()), "stop g2 c2 u0");
    ASSERT_EQ(saved.size(), 1u);
    saved.clear();
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(gc::get_stats()[2].collected, 4u);
  });
}

}  // namespace
