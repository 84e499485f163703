// Generations (ouro/gc.hpp): where collect(g) leaves the objects it
// looked at.
//
//   New tracked objects start in generation 0; the survivors of collect(g)
//   move to generation min(g + 1, 2); younger collections leave older
//   generations alone, and an object referred to from an older generation
//   survives a young collection. A collection splits its working set into
//   survivors and garbage and every object that moves gets its new slot.
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <unordered_set>
#include <vector>

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
using ouro_test::generation_of;
using ouro_test::in_fresh_heap;
using ouro_test::make_garbage_ring;
using ouro_test::TrackedNode;

// ---------------------------------------------------------------------------
// Generations
// ---------------------------------------------------------------------------

TEST(Generations, NewTrackedObjectsStartInGenerationZero) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<TrackedNode>(ev, "a");
    EXPECT_EQ(generation_of(a.get()), 0);
  });
}

TEST(Generations, SurvivorsAgeFromGenerationZeroToOneToTwoAndStay) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<TrackedNode>(ev, "a");
    gc::collect(0);
    EXPECT_EQ(generation_of(a.get()), 1);
    gc::collect(1);
    EXPECT_EQ(generation_of(a.get()), 2);
    gc::collect(2);
    EXPECT_EQ(generation_of(a.get()), 2);
  });
}

TEST(Generations, CollectingGenerationOneAlsoCollectsAndPromotesGenerationZero) {
  in_fresh_heap([] {
    Events ev;
    auto old = make<TrackedNode>(ev, "old");
    gc::collect(0);  // old -> gen1
    auto young = make<TrackedNode>(ev, "young");
    make_garbage_ring(ev, 2, "g");  // garbage in gen0
    EXPECT_EQ(gc::collect(1), 2u);
    EXPECT_EQ(generation_of(old.get()), 2);
    EXPECT_EQ(generation_of(young.get()), 2);
  });
}

TEST(Generations, FullCollectionMovesEveryGenerationIntoTheOldest) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<TrackedNode>(ev, "a");
    gc::collect(0);
    auto b = make<TrackedNode>(ev, "b");
    EXPECT_EQ(generation_of(a.get()), 1);
    EXPECT_EQ(generation_of(b.get()), 0);
    gc::collect(2);
    EXPECT_EQ(generation_of(a.get()), 2);
    EXPECT_EQ(generation_of(b.get()), 2);
    EXPECT_TRUE(gc::get_objects(0).empty());
    EXPECT_TRUE(gc::get_objects(1).empty());
  });
}

// How a collection splits its set: a young one promotes the survivors and
// leaves the garbage where it was (the set's table becomes the garbage's);
// a full one keeps the larger group in place and moves the other. Either
// way every object that moves gets its new slot: a survivor left with a
// stale one would, at its death by refcount, take another object's entry
// out of its table (a dead object then shows in get_objects(), a live one
// vanishes from it). Survivors and garbage interleave over more than two of
// the tables' chunks; the survivors then die one by one, in a scrambled
// order, and their generation must list exactly the rest every time.
enum class Before { young, old };
void expect_split_keeps_survivors_tracked(int generation, Before where, int survivor_every, bool survivors_majority) {
  in_fresh_heap([&] {
    gc::disable();
    Events ev;
    constexpr int kObjects = 10000;
    auto survives = [&](int i) { return (i % survivor_every == 0) != survivors_majority; };
    std::vector<Ref<TrackedNode>> all;
    for (int i = 0; i < kObjects; ++i) {
      all.push_back(make<TrackedNode>(ev, "n"));
      if (!survives(i)) all.back()->next = all.back();  // garbage only the collector reclaims, once dropped
    }
    if (where == Before::old) gc::collect();  // all of it into gen2's own table first
    std::vector<Ref<TrackedNode>> survivors;
    std::size_t garbage = 0;
    for (int i = 0; i < kObjects; ++i) {
      if (survives(i)) survivors.push_back(all[static_cast<std::size_t>(i)]);
      else ++garbage;
    }
    all.clear();
    ASSERT_EQ(gc::collect(generation), garbage);
    const int into = generation < 2 ? generation + 1 : 2;
    auto expect_listed_exactly = [&](std::size_t alive) {
      std::vector<Ref<Object>> listed = gc::get_objects(into);
      ASSERT_EQ(listed.size(), alive);
      std::unordered_set<const Object*> expected;
      for (const auto& s : survivors) {
        if (s) expected.insert(s.get());
      }
      for (const auto& o : listed) ASSERT_EQ(expected.count(o.get()), 1u) << "listed but not a survivor left";
    };
    expect_listed_exactly(survivors.size());
    for (int g = 0; g <= 2; ++g) {
      if (g != into) {
        EXPECT_TRUE(gc::get_objects(g).empty());
      }
    }
    std::size_t step = 7919 % survivors.size();  // coprime with the sizes used: every survivor once
    std::size_t at = 0;
    for (std::size_t left = survivors.size(); left > 0; --left) {
      at = (at + step) % survivors.size();
      while (!survivors[at]) at = (at + 1) % survivors.size();
      survivors[at].reset();
      if (left % 500 == 1 || left < 5) expect_listed_exactly(left - 1);
    }
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Splitting, AYoungCollectionPromotesSurvivorsAndKeepsTheGarbageInPlace) {
  expect_split_keeps_survivors_tracked(0, Before::young, 3, false);
  expect_split_keeps_survivors_tracked(0, Before::young, 3, true);
}

TEST(Splitting, AFullCollectionOfItsOwnTableMovesTheSmallerGroup) {
  expect_split_keeps_survivors_tracked(2, Before::old, 3, true);   // garbage moves
  expect_split_keeps_survivors_tracked(2, Before::old, 3, false);  // survivors move
}

TEST(Splitting, AFirstFullCollectionOfAnAdoptedTableMovesTheSmallerGroup) {
  expect_split_keeps_survivors_tracked(2, Before::young, 3, true);
  expect_split_keeps_survivors_tracked(2, Before::young, 3, false);
}

TEST(Generations, CollectZeroLeavesGarbageInOlderGenerationsAlone) {
  in_fresh_heap([] {
    Events ev;
    {
      auto a = make<TrackedNode>(ev, "a");
      auto b = make<TrackedNode>(ev, "b");
      a->next = b;
      b->next = a;
      gc::collect(0);  // the pair is now in gen1
    }
    EXPECT_EQ(gc::collect(0), 0u);
    EXPECT_EQ(ev.alive(), 2);
    EXPECT_EQ(gc::get_objects(1).size(), 2u);
    EXPECT_EQ(gc::collect(1), 2u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Generations, CollectOneLeavesGarbageInGenerationTwoAlone) {
  in_fresh_heap([] {
    Events ev;
    {
      auto a = make<TrackedNode>(ev, "a");
      a->next = a;
      gc::collect(1);  // a is now in gen2
    }
    EXPECT_EQ(gc::collect(0), 0u);
    EXPECT_EQ(gc::collect(1), 0u);
    EXPECT_EQ(ev.alive(), 1);
    EXPECT_EQ(gc::collect(2), 1u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Generations, YoungObjectReferencedFromAnOlderGenerationSurvivesAYoungCollection) {
  in_fresh_heap([] {
    Events ev;
    {
      auto old = make<TrackedNode>(ev, "old");
      gc::collect(0);  // old -> gen1
      auto young = make<TrackedNode>(ev, "young");
      old->next = young;
      young->next = old;  // a garbage cycle spanning gen1 and gen0
    }
    EXPECT_EQ(gc::collect(0), 0u) << "the reference from gen1 counts as a reference from outside";
    EXPECT_EQ(ev.alive(), 2);
    EXPECT_EQ(gc::get_objects(1).size(), 2u) << "young was promoted next to old";
    EXPECT_EQ(gc::collect(1), 2u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Generations, CollectUpdatesTheCountsOfYoungerAndNextGenerations) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<TrackedNode>(ev, "a");
    auto b = make<TrackedNode>(ev, "b");
    EXPECT_EQ(gc::get_count(), (std::array<std::size_t, 3>{2, 0, 0}));
    gc::collect(0);
    EXPECT_EQ(gc::get_count(), (std::array<std::size_t, 3>{0, 1, 0}));
    gc::collect(0);
    EXPECT_EQ(gc::get_count(), (std::array<std::size_t, 3>{0, 2, 0}));
    gc::collect(1);
    EXPECT_EQ(gc::get_count(), (std::array<std::size_t, 3>{0, 0, 1}));
    auto c = make<TrackedNode>(ev, "c");
    gc::collect(2);
    EXPECT_EQ(gc::get_count(), (std::array<std::size_t, 3>{0, 0, 0}));
  });
}

}  // namespace
