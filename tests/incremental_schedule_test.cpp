// The incremental schedule (ouro/gc.hpp, docs/design/incremental.md): a
// young generation plus an old one collected an increment at a time.
//
//   settings   set_schedule / get_schedule per heap, generational by default;
//              refused from inside a collection; bad targets rejected;
//   rule       an increment is seeds from the unvisited half of the old
//              generation, each with its closure there (cap per seed);
//              trial deletion on it treats outside references as roots;
//   complete   every garbage group present when a pass starts, whose
//              closure fits the cap, is freed by the end of that pass;
//              a larger one by a later pass, in one increment proportional
//              to what it reaches (the cap doubles after a cut pass);
//   young      a young set beyond what one pause examines whole has part
//              of it examined, the rest moved to the old generation, whose
//              passes find the garbage among it;
//   bounded    an automatic collection takes at most the young set plus
//              seeds_budget + cap objects (counted, not timed);
//   same       finalizers (both policies), resurrection, weak references
//              and callbacks behave as under the generational schedule.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <ouro/detail/schedule_probe.hpp>
#include <ouro/detail/verify.hpp>
#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro_test::in_fresh_heap;

int g_alive = 0;  // per test body: each runs on its own thread, one at a time

struct Node : Object {
  Node() { ++g_alive; }
  ~Node() override { --g_alive; }
  void traverse(ouro::Visitor& v) override { v(next, other); }
  Ref<Node> next, other;
};

struct Finalized : Node {
  void finalize() override {
    ++finalized;
    if (resurrect_into) *resurrect_into = ouro::ref(this);
  }
  static inline int finalized = 0;
  Ref<Node>* resurrect_into = nullptr;
};

// A ring of n nodes; returns its first.
Ref<Node> ring(std::size_t n) {
  Ref<Node> head = make<Node>();
  Node* tail = head.get();
  for (std::size_t i = 1; i < n; ++i) {
    tail->next = make<Node>();
    tail = tail->next.get();
  }
  tail->next = head;
  return head;
}

// collect(1), the automatic collection, until `passes` passes that start
// after the first of them have ended: returns how many ran. `each` runs
// after every one.
template <class Each>
std::size_t run_passes(std::size_t passes, Each each) {
  std::size_t n = 0;
  // The first collect(1) may start a pass (the unvisited half is empty):
  // wait for `passes` pass starts after that one, i.e. for `passes` passes
  // to end.
  gc::collect(1);
  ++n;
  each();
  const std::size_t first = gc::get_count()[2];
  while (gc::get_count()[2] < first + passes) {
    gc::collect(1);
    ++n;
    each();
    if (n > 1000000) {
      ADD_FAILURE() << "passes do not end";
      break;
    }
  }
  return n;
}
std::size_t run_passes(std::size_t passes) {
  return run_passes(passes, [] {});
}

// Live data spread over the old generation: `n` two-node structures held by
// the returned vector, each node referenced from outside (a small closure).
std::vector<Ref<Node>> live_pairs(std::size_t n) {
  std::vector<Ref<Node>> live;
  for (std::size_t i = 0; i < n; ++i) {
    live.push_back(make<Node>());
    live.back()->next = make<Node>();
  }
  return live;
}

TEST(IncrementalSettings, DefaultsAreGenerationalOneMillisecondAndTenPercent) {
  in_fresh_heap([] {
    EXPECT_EQ(gc::get_schedule(), gc::Schedule::generational);
    EXPECT_EQ(gc::get_pause_target(), std::chrono::microseconds(1000));
    EXPECT_DOUBLE_EQ(gc::get_overhead_target(), 0.10);
    gc::set_schedule(gc::Schedule::incremental);
    EXPECT_EQ(gc::get_schedule(), gc::Schedule::incremental);
    gc::set_pause_target(std::chrono::microseconds(250));
    gc::set_overhead_target(0.05);
    EXPECT_EQ(gc::get_pause_target(), std::chrono::microseconds(250));
    EXPECT_DOUBLE_EQ(gc::get_overhead_target(), 0.05);
  });
}

TEST(IncrementalSettings, TheScheduleBelongsToTheHeapOfTheThread) {
  in_fresh_heap([] {
    gc::set_schedule(gc::Schedule::incremental);
    in_fresh_heap([] { EXPECT_EQ(gc::get_schedule(), gc::Schedule::generational); });
    EXPECT_EQ(gc::get_schedule(), gc::Schedule::incremental);
  });
}

TEST(IncrementalSettings, BadTargetsAreRejectedNamingTheProblem) {
  in_fresh_heap([] {
    auto message_of = [](auto f) {
      try {
        f();
      } catch (const std::invalid_argument& e) {
        return std::string(e.what());
      }
      return std::string("no exception");
    };
    EXPECT_NE(message_of([] { gc::set_pause_target(std::chrono::microseconds(0)); }).find("must be positive"),
              std::string::npos);
    EXPECT_NE(message_of([] { gc::set_pause_target(std::chrono::microseconds(-3)); }).find("-3"), std::string::npos);
    EXPECT_NE(message_of([] { gc::set_overhead_target(0.0); }).find("(0, 1]"), std::string::npos);
    EXPECT_NE(message_of([] { gc::set_overhead_target(1.5); }).find("(0, 1]"), std::string::npos);
    EXPECT_NE(message_of([] { gc::set_overhead_target(std::nan("")); }).find("(0, 1]"), std::string::npos);
    EXPECT_NE(message_of([] { gc::set_schedule(static_cast<gc::Schedule>(7)); }).find("unknown schedule"),
              std::string::npos);
    gc::set_overhead_target(1.0);  // the whole thread's time is a valid bound
    EXPECT_EQ(gc::get_pause_target(), std::chrono::microseconds(1000));
    EXPECT_DOUBLE_EQ(gc::get_overhead_target(), 1.0);
  });
}

TEST(IncrementalSettings, ChangingTheScheduleFromInsideACollectionIsRefusedAndTheCollectionGoesOn) {
  in_fresh_heap([] {
    gc::set_schedule(gc::Schedule::incremental);
    int refused = 0;
    gc::add_callback([&](gc::Phase, const gc::CollectionInfo&) {
      try {
        gc::set_schedule(gc::Schedule::generational);
      } catch (const std::logic_error&) {
        ++refused;
      }
    });
    struct Switcher : Node {
      int* refused = nullptr;
      void finalize() override {
        try {
          gc::set_schedule(gc::Schedule::generational);
        } catch (const std::logic_error&) {
          ++*refused;
        }
      }
    };
    {
      auto a = make<Switcher>();
      a->refused = &refused;
      a->next = a;
    }
    EXPECT_EQ(gc::collect(), 1u);
    EXPECT_EQ(refused, 3);  // start callback, finalizer, stop callback
    EXPECT_EQ(gc::get_schedule(), gc::Schedule::incremental);
    EXPECT_EQ(g_alive, 0);
  });
}

TEST(IncrementalSettings, SwitchingBackAndForthKeepsEveryObjectAndTheHeapConsistent) {
  in_fresh_heap([] {
    std::vector<Ref<Node>> live = live_pairs(3000);
    gc::collect(0);
    gc::collect(1);  // generational: into gen2, pending
    gc::set_schedule(gc::Schedule::incremental);
    ouro::detail::verify_this_heap("after switching to incremental");
    { Ref<Node> r = ring(100); }
    run_passes(1);
    ouro::detail::verify_this_heap("after a pass");
    EXPECT_EQ(g_alive, 6000);
    gc::set_schedule(gc::Schedule::generational);
    ouro::detail::verify_this_heap("after switching back");
    { Ref<Node> r = ring(100); }
    EXPECT_EQ(gc::collect(), 100u);
    EXPECT_EQ(g_alive, 6000);
    EXPECT_EQ(gc::get_threshold().gen0, 700u);
  });
}

TEST(IncrementalMeanings, CountsStatsAndObjectsDescribeTheYoungAndTheTwoOldHalves) {
  in_fresh_heap([] {
    gc::set_schedule(gc::Schedule::incremental);
    gc::disable();
    std::vector<Ref<Node>> live = live_pairs(500);
    EXPECT_EQ(gc::get_objects(0).size(), 1000u);
    gc::collect(0);  // survivors join the visited half
    EXPECT_EQ(gc::get_objects(0).size(), 0u);
    EXPECT_EQ(gc::get_objects(1).size() + gc::get_objects(2).size(), 1000u);
    EXPECT_EQ(gc::get_stats()[0].collections, 1u);
    gc::collect(1);  // a pass starts: the visited half becomes the one to visit
    EXPECT_EQ(gc::get_stats()[0].collections, 2u);
    EXPECT_EQ(gc::get_stats()[1].collections, 1u);
    EXPECT_EQ(gc::get_count()[2], 1u);
    const auto probe = ouro::detail::schedule_probe();
    EXPECT_GT(probe.increment, 0u);
    EXPECT_EQ(gc::get_objects(1).size(), probe.unscanned);
    EXPECT_EQ(gc::get_objects(1).size() + gc::get_objects(2).size(), 1000u);
    EXPECT_EQ(gc::get_objects().size(), 1000u);
    gc::collect();
    EXPECT_EQ(gc::get_stats()[2].collections, 1u);
    EXPECT_EQ(gc::get_count()[1], 0u);
    EXPECT_EQ(gc::get_count()[2], 0u);
    gc::freeze();
    EXPECT_EQ(gc::get_freeze_count(), 1000u);
    EXPECT_EQ(gc::get_objects().size(), 0u);
    gc::unfreeze();
    EXPECT_EQ(gc::get_objects().size(), 1000u);
  });
}

// The completeness rule: a garbage cycle whose nodes are spread over the
// whole old generation (made one between each pair of live structures) is
// freed by the end of the first pass that starts after it became garbage,
// and no collection of that pass examined more than its bound.
TEST(IncrementalCompleteness, AGarbageCycleSpreadOverTheWholeOldGenerationIsFoundWithinOnePass) {
  in_fresh_heap([] {
    gc::set_schedule(gc::Schedule::incremental);
    ouro::detail::fix_pacer_cost(100.0);  // 1 ms: 7500 objects planned (kPauseMargin), cap 1875
    gc::disable();
    std::vector<Ref<Node>> live;
    Ref<Node> head = make<Node>();
    Node* tail = head.get();
    for (int i = 0; i < 1500; ++i) {
      live.push_back(make<Node>());
      live.back()->next = make<Node>();
      tail->next = make<Node>();
      tail = tail->next.get();
    }
    tail->next = head;  // a ring of 1501 nodes, interleaved with 3000 live ones
    gc::collect(0);
    head.reset();
    const int garbage = 1501;
    EXPECT_EQ(g_alive, 3000 + garbage);
    std::size_t max_increment = 0;
    run_passes(1, [&] {
      const auto p = ouro::detail::schedule_probe();
      max_increment = std::max(max_increment, p.increment);
      EXPECT_LE(p.increment, p.pause_budget);
    });
    EXPECT_EQ(g_alive, 3000);
    EXPECT_LT(max_increment, std::size_t{4501});  // increments, not the heap
    EXPECT_EQ(gc::get_stats()[2].collections, 0u);
    ouro::detail::verify_this_heap("after the pass");
  });
}

// A young set larger than the pause allows examining whole (the pacer lets
// it grow while collections find nothing): a quarter of the pause's objects
// are examined, the rest joins the old generation unexamined, and a garbage
// cycle among those is found by the old generation's passes.
TEST(IncrementalYoung, AYoungSetLargerThanThePauseAllowsIsExaminedInPartAndItsRestByThePasses) {
  in_fresh_heap([] {
    gc::set_schedule(gc::Schedule::incremental);
    ouro::detail::fix_pacer_cost(100.0);  // whole up to 3750; in part 1875, and 7500 more unexamined
    std::vector<Ref<Node>> live;
    for (int i = 0; i < 30000; ++i) live.push_back(make<Node>());  // collections find nothing: rarer
    ASSERT_GT(ouro::detail::schedule_probe().young_target, 3750u);
    gc::disable();
    gc::collect(0);
    for (int i = 0; i < 6000; ++i) live.push_back(make<Node>());
    ring(3);  // among the newest: left unexamined
    const std::size_t old_before = gc::get_objects(1).size() + gc::get_objects(2).size();
    gc::collect(1);
    const auto p = ouro::detail::schedule_probe();
    EXPECT_EQ(p.young, 1875u);
    EXPECT_EQ(p.unexamined, 6003u - 1875u);
    EXPECT_EQ(gc::get_objects(0).size(), 0u);
    EXPECT_GE(gc::get_objects(1).size() + gc::get_objects(2).size() + 3, old_before + 6003u);
    run_passes(2);
    EXPECT_EQ(g_alive, 36000);
    EXPECT_EQ(gc::get_stats()[2].collections, 0u);
    ouro::detail::verify_this_heap("after the passes");
  });
}

// The induction of the rule: a chain of garbage cycles, each referencing
// the next, the first one (the only one nothing else references) made first
// so that seeds, taken newest first, meet the chain from its far end: each
// increment's closure holds everything after it, and the one that starts
// at the first cycle frees the whole chain.
TEST(IncrementalCompleteness, AChainOfGarbageCyclesMetFromItsFarEndIsFoundWithinOnePass) {
  in_fresh_heap([] {
    gc::set_schedule(gc::Schedule::incremental);
    ouro::detail::fix_pacer_cost(100.0);
    gc::disable();
    std::vector<Ref<Node>> live;
    std::vector<Ref<Node>> cycles;
    for (int i = 0; i < 200; ++i) {
      Ref<Node> a = make<Node>();
      a->next = make<Node>();
      a->next->next = a;
      cycles.push_back(a);
      live.push_back(make<Node>());
    }
    for (std::size_t i = 0; i + 1 < cycles.size(); ++i) cycles[i]->other = cycles[i + 1];
    gc::collect(0);
    cycles.clear();
    EXPECT_EQ(g_alive, 600);
    run_passes(1);
    EXPECT_EQ(g_alive, 200);
  });
}

// Larger than the cap: the first pass cuts the cycle's closure (and frees
// nothing of it); the cap doubles at every pass that cut one, so a later
// pass takes the whole cycle in one increment, whose size is about the
// cycle's, far below the heap's.
TEST(IncrementalCompleteness, AGarbageCycleLargerThanTheCapIsFoundByALaterPassInOneIncrementOfItsOwnSize) {
  in_fresh_heap([] {
    gc::set_schedule(gc::Schedule::incremental);
    ouro::detail::fix_pacer_cost(100.0);
    gc::set_pause_target(std::chrono::microseconds(100));  // 750 objects planned: cap 187
    gc::disable();
    std::vector<Ref<Node>> live = live_pairs(20000);
    { Ref<Node> r = ring(3000); gc::collect(0); }
    ASSERT_EQ(ouro::detail::schedule_probe().closure_cap, 187u);
    std::size_t passes = 0;
    std::size_t found_in = 0;
    bool cut = false;
    while (g_alive > 40000 && passes < 10) {
      run_passes(1, [&] {
        const auto p = ouro::detail::schedule_probe();
        cut = cut || p.cut;
        if (g_alive == 40000 && found_in == 0) found_in = p.increment;
      });
      ++passes;
    }
    EXPECT_TRUE(cut);
    EXPECT_EQ(g_alive, 40000);
    EXPECT_GE(passes, 2u);     // not within the first pass: larger than the cap
    EXPECT_LE(passes, 6u);     // caps 187, 374, 748, 1496, 2992, 5984
    EXPECT_GE(found_in, 3000u);
    EXPECT_LE(found_in, 187u + 5984u);  // at most one seed budget and one scaled cap
  });
}

// The pause bound, counted in objects: with a live old generation 40 times
// the pause budget, no automatic collection takes more than the young set
// (at most the pacer's ceiling) plus seeds_budget + cap (at most the pause
// budget) objects, and passes still end.
TEST(IncrementalPause, NoAutomaticCollectionExaminesMoreThanThePauseBudget) {
  in_fresh_heap([] {
    gc::set_schedule(gc::Schedule::incremental);
    ouro::detail::fix_pacer_cost(100.0);  // pause budget 7500 objects
    std::vector<Ref<Node>> live = live_pairs(50000);
    std::size_t collections = 0;
    std::size_t worst = 0;
    const std::size_t passes_before = gc::get_count()[2];
    gc::add_callback([&](gc::Phase phase, const gc::CollectionInfo& info) {
      if (phase != gc::Phase::stop || info.generation != 1) return;
      const auto p = ouro::detail::schedule_probe();
      ++collections;
      worst = std::max(worst, p.young + p.increment);
      EXPECT_LE(p.young, p.young_ceiling + 1);
      EXPECT_LE(p.increment, p.pause_budget);
      EXPECT_LE(p.increment, p.seeds_budget + p.closure_cap);
    });
    for (int i = 0; i < 400000; ++i) {  // churn: small cycles and acyclic garbage
      Ref<Node> a = make<Node>();
      a->next = make<Node>();
      if (i % 2 == 0) a->next->next = a;
    }
    EXPECT_GT(collections, 10u);
    EXPECT_LE(worst, 20000u);
    EXPECT_GT(gc::get_count()[2], passes_before);  // at least one pass over the 100000 old objects began
    EXPECT_EQ(gc::get_stats()[2].collections, 0u);
    live.clear();
    gc::collect();
    EXPECT_EQ(g_alive, 0);
  });
}

// Soundness under mutation: between increments the program moves
// references at random among live objects (no barrier); no live object is
// ever freed, and once the roots go a full collection leaves nothing.
TEST(IncrementalSoundness, RandomMutationsBetweenIncrementsNeverFreeALiveObject) {
  in_fresh_heap([] {
    gc::set_schedule(gc::Schedule::incremental);
    ouro::detail::fix_pacer_cost(100.0);
    gc::set_pause_target(std::chrono::microseconds(30));  // small increments: many of them
    gc::disable();
    std::mt19937 rng(12345);
    std::vector<Ref<Node>> roots;
    for (int i = 0; i < 3000; ++i) roots.push_back(make<Node>());
    auto pick = [&]() -> Node* {
      Node* n = roots[rng() % roots.size()].get();
      for (int hops = static_cast<int>(rng() % 4); hops > 0 && n->next; --hops) n = n->next.get();
      return n;
    };
    for (int step = 0; step < 300; ++step) {
      for (int k = 0; k < 200; ++k) {
        Node* a = pick();
        Node* b = pick();
        switch (rng() % 5) {
          case 0: a->next = ouro::ref(b); break;
          case 1: a->other = ouro::ref(b); break;
          case 2: a->next = make<Node>(); break;
          case 3: roots[rng() % roots.size()] = ouro::ref(a); break;
          default: a->other.reset(); break;
        }
      }
      gc::collect(1);
      ouro::detail::verify_this_heap("between increments");
      // Every object reachable from the roots is intact (ASan or a checked
      // build would report a freed one here).
      long reached = 0;
      for (auto& r : roots) {
        int hops = 0;
        for (Node* n = r.get(); n && hops < 20; n = n->next.get(), ++hops) reached += n->other ? 2 : 1;
      }
      EXPECT_GT(reached, 0);
    }
    roots.clear();
    gc::collect();
    EXPECT_EQ(g_alive, 0);
  });
}

// The same user code as under generational: a finalizer runs once and may
// resurrect; the resurrected object lives on in the old generation, and is
// collected once dropped, without a second finalization.
TEST(IncrementalUserCode, FinalizersRunOnceAndResurrectionIsRespected) {
  in_fresh_heap([] {
    gc::set_schedule(gc::Schedule::incremental);
    gc::disable();
    Finalized::finalized = 0;
    Ref<Node> saved;
    {
      auto f = make<Finalized>();
      f->next = f;
      f->resurrect_into = &saved;
    }
    gc::collect(0);  // alive then: its Ref was still held
    run_passes(1);
    EXPECT_EQ(Finalized::finalized, 1);
    ASSERT_TRUE(saved);
    EXPECT_EQ(g_alive, 1);
    static_cast<Finalized*>(saved.get())->resurrect_into = nullptr;
    saved.reset();  // still a cycle with itself
    run_passes(2);
    EXPECT_EQ(Finalized::finalized, 1);
    EXPECT_EQ(g_alive, 0);
  });
}

TEST(IncrementalUserCode, TheLegacyPolicyLeavesFinalizerCyclesInGarbage) {
  in_fresh_heap([] {
    gc::set_schedule(gc::Schedule::incremental);
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    gc::disable();
    Finalized::finalized = 0;
    {
      auto f = make<Finalized>();
      f->next = make<Node>();
      f->next->next = f;
      gc::collect(0);
    }
    run_passes(1);
    EXPECT_EQ(Finalized::finalized, 0);
    EXPECT_EQ(gc::garbage().size(), 1u);
    EXPECT_EQ(gc::get_stats()[1].uncollectable, 2u);
    gc::garbage().clear();
    gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
    gc::collect();
    EXPECT_EQ(g_alive, 0);
  });
}

TEST(IncrementalUserCode, WeakReferencesToAnIncrementsGarbageExpireAndTheirCallbacksRun) {
  in_fresh_heap([] {
    gc::set_schedule(gc::Schedule::incremental);
    gc::disable();
    int calls = 0;
    ouro::WeakRef<Node> w;
    {
      Ref<Node> r = ring(10);
      w = ouro::WeakRef<Node>(r, [&](ouro::WeakRef<Node>&) { ++calls; });
      gc::collect(0);
    }
    EXPECT_FALSE(w.expired());
    std::vector<std::size_t> generations;
    gc::add_callback([&](gc::Phase phase, const gc::CollectionInfo& info) {
      if (phase == gc::Phase::stop && info.collected > 0) generations.push_back(info.generation);
    });
    run_passes(1);
    EXPECT_TRUE(w.expired());
    EXPECT_EQ(calls, 1);
    ASSERT_EQ(generations.size(), 1u);
    EXPECT_EQ(generations[0], 1u);
  });
}

// Automatic collections under incremental find young garbage at once and
// old garbage pass by pass, without any full collection.
TEST(IncrementalAutomatic, AutomaticCollectionsFindCyclicGarbageWithoutAFullCollection) {
  in_fresh_heap([] {
    gc::set_schedule(gc::Schedule::incremental);
    std::vector<Ref<Node>> live = live_pairs(10000);
    for (int i = 0; i < 200000; ++i) {
      Ref<Node> r = ring(3);
    }
    EXPECT_LT(g_alive, 20000 + 20000);
    EXPECT_EQ(gc::get_stats()[2].collections, 0u);
    EXPECT_GT(gc::get_stats()[1].collections, 0u);
    ouro::detail::verify_this_heap("after churn");
  });
}

}  // namespace
