// gc::freeze / unfreeze / get_freeze_count (ouro/gc.hpp;
// CPython 3.11's gc.freeze: every tracked object moves to the permanent
// generation, which collections ignore, and count0 restarts; unfreeze moves
// them back into the oldest generation). docs/design/decisions.md: freeze
// clears the pending marks (25% rule) of what it freezes; get_objects and
// get_referrers do not see frozen objects.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <vector>

#include <ouro/detail/verify.hpp>
#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/heap_queries.hpp"
#include "support/instrumented.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro_test::Events;
using ouro_test::in_fresh_heap;
using ouro_test::TrackedNode;

using Counts = std::array<std::size_t, 3>;

using ouro_test::contains;

void garbage_pair(Events& ev) {
  auto a = make<TrackedNode>(ev, "a");
  auto b = make<TrackedNode>(ev, "b");
  a->next = b;
  b->next = a;
}

TEST(Freeze, MovesEveryTrackedObjectOfEveryGenerationToThePermanentGeneration) {
  in_fresh_heap([] {
    Events ev;
    std::vector<Ref<TrackedNode>> kept;
    kept.push_back(make<TrackedNode>(ev, "old"));
    gc::collect(1);
    kept.push_back(make<TrackedNode>(ev, "middle"));
    gc::collect(0);
    kept.push_back(make<TrackedNode>(ev, "young"));
    auto untracked = make<ouro_test::PlainNode>(ev, "plain");
    EXPECT_EQ(gc::get_freeze_count(), 0u);
    gc::freeze();
    EXPECT_EQ(gc::get_freeze_count(), 3u);
    EXPECT_TRUE(gc::get_objects().empty());
    for (int g = 0; g <= 2; ++g) EXPECT_TRUE(gc::get_objects(g).empty());
    for (const auto& k : kept) EXPECT_TRUE(gc::is_tracked(*k)) << "frozen objects are still tracked";
  });
}

TEST(Freeze, ResetsCountZeroOnly) {
  in_fresh_heap([] {
    Events ev;
    std::vector<Ref<TrackedNode>> kept;
    gc::collect(0);
    gc::collect(1);
    gc::collect(0);
    for (int i = 0; i < 5; ++i) kept.push_back(make<TrackedNode>(ev, "k"));
    EXPECT_EQ(gc::get_count(), (Counts{5, 1, 1}));
    gc::freeze();
    EXPECT_EQ(gc::get_count(), (Counts{0, 1, 1}));
  });
}

TEST(Freeze, FrozenCyclesAreNotCollected) {
  in_fresh_heap([] {
    Events ev;
    garbage_pair(ev);
    gc::freeze();
    EXPECT_EQ(gc::collect(), 0u);
    EXPECT_EQ(gc::collect(0), 0u);
    EXPECT_EQ(ev.alive(), 2);
    EXPECT_EQ(gc::get_freeze_count(), 2u);
    gc::unfreeze();
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Freeze, FrozenObjectsKeepWhatTheyReferenceAliveAcrossCollections) {
  in_fresh_heap([] {
    Events ev;
    auto frozen = make<TrackedNode>(ev, "frozen");
    gc::freeze();
    {
      auto young = make<TrackedNode>(ev, "young");
      young->next = frozen;
      frozen->next = young;  // a garbage cycle through a frozen object, once `frozen` goes
    }
    frozen.reset();
    EXPECT_EQ(gc::collect(), 0u) << "the frozen object counts as a reference from outside";
    EXPECT_EQ(ev.alive(), 2);
    gc::unfreeze();
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Freeze, UnfreezeMovesFrozenObjectsIntoTheOldestGeneration) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<TrackedNode>(ev, "a");
    auto b = make<TrackedNode>(ev, "b");
    gc::freeze();
    auto c = make<TrackedNode>(ev, "c");
    gc::unfreeze();
    EXPECT_EQ(gc::get_freeze_count(), 0u);
    std::vector<Ref<Object>> gen2 = gc::get_objects(2);
    EXPECT_EQ(gen2.size(), 2u);
    EXPECT_TRUE(contains(gen2, a.get()));
    EXPECT_TRUE(contains(gen2, b.get()));
    std::vector<Ref<Object>> gen0 = gc::get_objects(0);
    ASSERT_EQ(gen0.size(), 1u);
    EXPECT_EQ(gen0[0].get(), c.get());
  });
}

TEST(Freeze, ObjectsMadeAfterFreezeAreCollectedNormally) {
  in_fresh_heap([] {
    Events ev;
    auto kept = make<TrackedNode>(ev, "kept");
    gc::freeze();
    garbage_pair(ev);
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.alive(), 1);
    EXPECT_EQ(gc::get_freeze_count(), 1u);
  });
}

TEST(Freeze, FrozenObjectsStillDieByRefcount) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<TrackedNode>(ev, "a");
    auto b = make<TrackedNode>(ev, "b");
    gc::freeze();
    EXPECT_EQ(gc::get_freeze_count(), 2u);
    a.reset();
    EXPECT_EQ(ev.of("a"), (std::vector<std::string>{"construct", "destroy"}));
    EXPECT_EQ(gc::get_freeze_count(), 1u);
  });
}

TEST(Freeze, FreezingTwiceAddsTheNewObjects) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<TrackedNode>(ev, "a");
    gc::freeze();
    auto b = make<TrackedNode>(ev, "b");
    gc::freeze();
    EXPECT_EQ(gc::get_freeze_count(), 2u);
    gc::unfreeze();
    EXPECT_EQ(gc::get_freeze_count(), 0u);
    EXPECT_EQ(gc::get_objects(2).size(), 2u);
    gc::unfreeze();  // nothing frozen: no-op
    EXPECT_EQ(gc::get_objects(2).size(), 2u);
  });
}

TEST(Freeze, FrozenObjectsAreNotPendingForTheQuarterRule) {
  in_fresh_heap([] {
    Events ev;
    constexpr std::size_t huge = 1u << 30;
    gc::set_threshold(huge, huge, huge);
    std::vector<Ref<TrackedNode>> kept;
    for (int i = 0; i < 100; ++i) kept.push_back(make<TrackedNode>(ev, "base"));
    gc::collect();  // long_lived_total 100
    for (int i = 0; i < 40; ++i) kept.push_back(make<TrackedNode>(ev, "promoted"));
    gc::collect(1);  // 40 pending, count2 1
    gc::freeze();    // nothing pending any more
    std::vector<int> generations;
    gc::add_callback([&generations](gc::Phase p, const gc::CollectionInfo& info) {
      if (p == gc::Phase::start) generations.push_back(info.generation);
    });
    gc::set_threshold(1, huge, 0);
    kept.push_back(make<TrackedNode>(ev, "x"));
    kept.push_back(make<TrackedNode>(ev, "y"));
    EXPECT_EQ(generations, (std::vector<int>{0})) << "without the freeze, 40 >= 100 / 4 would run a full collection";
  });
}

TEST(Freeze, FreezeAndUnfreezeWithAnEmptyHeap) {
  in_fresh_heap([] {
    gc::freeze();
    EXPECT_EQ(gc::get_freeze_count(), 0u);
    gc::unfreeze();
    EXPECT_EQ(gc::get_freeze_count(), 0u);
    EXPECT_EQ(gc::collect(), 0u);
  });
}

}  // namespace

namespace {

// An untracked object with a finalizer that freezes (or unfreezes).
struct FreezesWhenFinalized : ouro::Object {
  explicit FreezesWhenFinalized(bool unfreeze, std::vector<std::string>& log) : unfreeze_(unfreeze), log_(log) {}
  void finalize() override {
    try {
      if (unfreeze_)
        ouro::gc::unfreeze();
      else
        ouro::gc::freeze();
      log_.push_back("done");
    } catch (const std::logic_error& e) {
      log_.push_back(e.what());
    }
  }
  bool unfreeze_;
  std::vector<std::string>& log_;
};

// Its traverse() lets go of `victim` the first time the collector counts it.
struct DropsItsVictimWhileCounted : ouro::Object {
  void traverse(ouro::Visitor& v) override {
    if (!v.clearing()) victim.reset();
    v(next);
  }
  ouro::Ref<ouro::Object> victim;
  ouro::Ref<ouro::Object> next;
};

}  // namespace

// A finalizer set off by a traverse() runs while the collector counts: the
// tables it reads must not move, so freeze and unfreeze refuse there, and
// the collection and the heap stay consistent.
TEST(Freeze, FreezeAndUnfreezeFromUserCodeThatATraverseSetsOffAreRefusedWhileTheCollectorCounts) {
  for (bool unfreeze : {false, true}) {
    ouro_test::in_fresh_heap([unfreeze] {
      std::vector<std::string> log;
      std::vector<ouro::Ref<ouro::Object>> kept;
      for (int i = 0; i < 5; ++i) kept.push_back(ouro::make<DropsItsVictimWhileCounted>());
      auto dropper = ouro::make<DropsItsVictimWhileCounted>();
      dropper->victim = ouro::make<FreezesWhenFinalized>(unfreeze, log);
      dropper->next = dropper;
      dropper.reset();  // garbage: a cycle through itself
      ouro::gc::freeze();
      ouro::gc::unfreeze();  // all in gen2, so a full collection counts them
      EXPECT_EQ(ouro::gc::collect(), 1u) << "the dropper";
      ASSERT_EQ(log.size(), 1u);
      EXPECT_NE(log[0].find(unfreeze ? "ouro::gc::unfreeze: called while the collector counts references"
                                     : "ouro::gc::freeze: called while the collector counts references"),
                std::string::npos)
          << log[0];
      EXPECT_EQ(ouro::gc::get_freeze_count(), 0u);
      EXPECT_EQ(ouro::gc::get_objects().size(), 5u);
      ouro::detail::verify_this_heap("after the collection");
      ouro::gc::freeze();  // outside a collection, as ever
      EXPECT_EQ(ouro::gc::get_freeze_count(), 5u);
      ouro::gc::unfreeze();
    });
  }
}
