// The pacer of the incremental schedule (ouro/gc.hpp,
// docs/design/incremental.md, "The pacer"), with its cost per object fixed
// (detail::fix_pacer_cost) so that every decision follows from counts:
//
//   pause budget   kPauseMargin * pause target / cost per object objects;
//                  the young set is examined whole up to half of it (or a
//                  quarter examined and the rest moved unexamined, a move
//                  costing a quarter of an examination), the seeds and
//                  each seed's closure take a quarter each;
//   spacing        a collection that finds nothing doubles the young
//                  target, up to its ceiling (the old generation's size,
//                  within what the pause examines and moves); one that
//                  finds garbage halves it, down to set_threshold's floor,
//                  within what one pause examines whole;
//   old garbage    above a fifth of what increments examine, increments
//                  take a quarter of the pause budget whatever the share;
//   increments     the overhead target's share of the program's time since
//                  the last collection, within [max(kMinSeeds, old / 64),
//                  a quarter of the pause budget]: a pass over n old
//                  objects ends within about n / seeds_budget collections.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

#include <ouro/detail/schedule_probe.hpp>
#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro_test::in_fresh_heap;
using ouro::detail::schedule_probe;

struct Node : Object {
  void traverse(ouro::Visitor& v) override { v(next); }
  Ref<Node> next;
};

// Incremental, the cost per object fixed at 100 ns, and the whole thread's
// time allowed (so that only what collections find moves the young target).
void paced(std::chrono::microseconds pause) {
  gc::set_schedule(gc::Schedule::incremental);
  ouro::detail::fix_pacer_cost(100.0);
  gc::set_pause_target(pause);
  gc::set_overhead_target(1.0);
}

TEST(Pacer, ThePauseBudgetFollowsThePauseTargetAtTheCostPerObject) {
  in_fresh_heap([] {
    paced(std::chrono::microseconds(1000));
    auto p = schedule_probe();
    EXPECT_EQ(p.pause_budget, 7500u);  // 3/4 of 1 ms at 100 ns
    EXPECT_EQ(p.closure_cap, 1875u);
    EXPECT_EQ(p.young_ceiling, 3750u);  // no old generation yet: what one collection examines whole
    gc::set_pause_target(std::chrono::microseconds(500));
    p = schedule_probe();
    EXPECT_EQ(p.pause_budget, 3750u);
    EXPECT_EQ(p.closure_cap, 937u);
    gc::set_pause_target(std::chrono::microseconds(1));  // never below the least increment
    EXPECT_EQ(schedule_probe().pause_budget, 256u);
  });
}

TEST(Pacer, CollectionsThatFindNothingMakeTheNextOnesRarerUpToTheCeiling) {
  in_fresh_heap([] {
    paced(std::chrono::microseconds(1000));
    std::vector<Ref<Node>> kept;
    std::vector<std::size_t> targets;
    gc::add_callback([&](gc::Phase phase, const gc::CollectionInfo&) {
      if (phase == gc::Phase::stop) targets.push_back(schedule_probe().young_target);
    });
    for (int i = 0; i < 60000; ++i) kept.push_back(make<Node>());  // nothing to find
    ASSERT_GE(targets.size(), 4u);
    const std::size_t ceiling = schedule_probe().young_ceiling;
    EXPECT_EQ(targets.back(), ceiling);
    for (std::size_t i = 1; i < targets.size(); ++i) {
      EXPECT_GE(targets[i], targets[i - 1]);
      EXPECT_LE(targets[i], ceiling);
    }
    EXPECT_EQ(targets[0], 700u);  // a callback runs before the pacer decides for the next one
    EXPECT_EQ(targets[1], 1400u);
    EXPECT_EQ(gc::get_threshold().gen0, ceiling);  // the young set is the count under incremental
  });
}

TEST(Pacer, CollectionsThatFindGarbageMakeTheNextOnesMoreFrequentDownToTheFloor) {
  in_fresh_heap([] {
    paced(std::chrono::microseconds(1000));
    gc::set_threshold(500);  // the floor
    std::vector<Ref<Node>> kept;
    for (int i = 0; i < 30000; ++i) kept.push_back(make<Node>());  // nothing found: rarer
    ASSERT_EQ(schedule_probe().young_target, schedule_probe().young_ceiling);
    std::vector<std::size_t> targets;
    gc::add_callback([&](gc::Phase phase, const gc::CollectionInfo& info) {
      if (phase == gc::Phase::stop && info.collected > 0) targets.push_back(schedule_probe().young_target);
    });
    for (int i = 0; i < 30000; ++i) {  // every collection finds rings
      Ref<Node> a = make<Node>();
      a->next = make<Node>();
      a->next->next = a;
    }
    ASSERT_GE(targets.size(), 4u);
    EXPECT_EQ(targets.back(), 500u);
    for (std::size_t i = 1; i < targets.size(); ++i) {
      EXPECT_LE(targets[i], targets[i - 1]);
      EXPECT_GE(targets[i], 500u);
    }
    EXPECT_EQ(gc::get_threshold().gen0, 500u);
  });
}

TEST(Pacer, TheYoungCeilingGrowsWithTheOldGenerationUpToWhatThePauseAllowsInPart) {
  in_fresh_heap([] {
    paced(std::chrono::microseconds(1000));
    gc::disable();
    std::vector<Ref<Node>> kept;
    for (int i = 0; i < 6000; ++i) kept.push_back(make<Node>());
    gc::collect(0);
    EXPECT_EQ(schedule_probe().young_ceiling, 6000u);  // the old generation's size
    for (int i = 0; i < 20000; ++i) kept.push_back(make<Node>());
    gc::collect(0);
    EXPECT_EQ(schedule_probe().young_ceiling, 1875u + 7500u);  // a quarter examined, a quarter moved
  });
}

TEST(Pacer, YoungObjectsGoUnexaminedOnlyWhileCollectionsFindNothing) {
  in_fresh_heap([] {
    paced(std::chrono::microseconds(1000));
    std::vector<Ref<Node>> kept;
    std::size_t unexamined = 0;
    gc::add_callback([&](gc::Phase phase, const gc::CollectionInfo&) {
      if (phase == gc::Phase::stop) unexamined += schedule_probe().unexamined;
    });
    for (int i = 0; i < 100000; ++i) kept.push_back(make<Node>());  // nothing to find
    EXPECT_GT(unexamined, 0u);
    EXPECT_GT(schedule_probe().young_target, 3750u);
    bool found = false;
    std::size_t after_found = 0;
    gc::add_callback([&](gc::Phase phase, const gc::CollectionInfo& info) {
      if (phase != gc::Phase::stop) return;
      if (found) after_found += schedule_probe().unexamined;
      if (info.collected > 0) found = true;
    });
    for (int i = 0; i < 30000; ++i) {  // rings: every collection finds some
      Ref<Node> a = make<Node>();
      a->next = make<Node>();
      a->next->next = a;
    }
    ASSERT_TRUE(found);
    EXPECT_EQ(after_found, 0u);
    EXPECT_LE(schedule_probe().young_target, 3750u);
  });
}

TEST(Pacer, OldGarbageAboveAFifthOfWhatIncrementsExamineTakesThemToThePauseWhateverTheShare) {
  in_fresh_heap([] {
    paced(std::chrono::microseconds(1000));
    gc::set_overhead_target(1e-9);  // no share: increments at their floor without garbage
    gc::disable();
    std::vector<Ref<Node>> kept, rings;
    for (int i = 0; i < 20000; ++i) {
      kept.push_back(make<Node>());
      rings.push_back(make<Node>());
      rings.back()->next = make<Node>();
      rings.back()->next->next = rings.back();
    }
    gc::collect(0);
    rings.clear();  // 40000 garbage objects among 60000 old ones
    gc::enable();
    std::vector<std::size_t> budgets;
    gc::add_callback([&](gc::Phase phase, const gc::CollectionInfo&) {
      if (phase == gc::Phase::stop) budgets.push_back(schedule_probe().seeds_budget);
    });
    for (int i = 0; i < 20000; ++i) kept.push_back(make<Node>());
    ASSERT_GE(budgets.size(), 4u);
    const std::size_t quarter = schedule_probe().pause_budget / 4;
    EXPECT_LT(budgets[0], quarter);  // sized before any increment found garbage
    EXPECT_NE(std::find(budgets.begin(), budgets.end(), quarter), budgets.end());
  });
}

TEST(Pacer, IncrementsStayWithinAQuarterOfThePauseBudgetAndAboveTheFloorThatEndsAPass) {
  in_fresh_heap([] {
    paced(std::chrono::microseconds(1000));
    gc::disable();
    std::vector<Ref<Node>> kept;
    for (int i = 0; i < 64000; ++i) kept.push_back(make<Node>());
    gc::collect(0);
    gc::set_overhead_target(1e-9);  // no share: increments at their floor
    gc::collect(1);
    gc::enable();
    std::size_t collections = 0;
    const std::size_t passes = gc::get_count()[2];
    std::size_t budget = 0;
    gc::add_callback([&](gc::Phase phase, const gc::CollectionInfo&) {
      if (phase != gc::Phase::stop) return;
      const auto p = schedule_probe();
      if (++collections == 1) return;  // its increment was sized before the pacer ran
      budget = p.seeds_budget;
      EXPECT_GE(p.seeds_budget, 1000u);  // old / 64
      EXPECT_LE(p.seeds_budget, p.pause_budget / 4);
      EXPECT_LE(p.increment, p.seeds_budget + p.closure_cap);
    });
    std::vector<Ref<Node>> more;
    while (gc::get_count()[2] == passes) more.push_back(make<Node>());
    EXPECT_GE(budget, 1000u);
    // The pass took at most the old objects over the seeds budget (plus the
    // young survivors that joined meanwhile) collections.
    EXPECT_LE(collections, 64000u / 1000u + 2u);

    gc::set_overhead_target(1.0);  // the whole share: increments at a quarter of the pause budget
    more.push_back(make<Node>());
    gc::collect(1);
    for (int i = 0; i < 20000; ++i) more.push_back(make<Node>());
    EXPECT_EQ(schedule_probe().seeds_budget, schedule_probe().pause_budget / 4);
  });
}

}  // namespace
