// gc::collect() and the gc module's view of the heap (ouro/gc.hpp;
// docs/design/decisions.md for get_objects/get_referrers and frozen objects).
//
//   collect(g)     returns the unreachable objects it found; survivors age
//                  gen0 -> gen1 -> gen2; younger collections leave older
//                  generations alone; works while automatic collection is
//                  disabled; throws std::invalid_argument outside 0..2.
//   get_referents  what traverse() visits, in order, duplicates kept.
//   get_referrers  tracked objects (gens 0..2, not frozen) whose traverse
//                  visits the object, each once.
//   is_tracked, is_finalized, get_objects(), get_objects(g).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/throwing_traverse.hpp"
#include "support/instrumented.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro_test::Events;
using ouro_test::FinalizedNode;
using ouro_test::in_fresh_heap;
using ouro_test::PlainNode;
using ouro_test::TrackedNode;

bool contains(const std::vector<Ref<Object>>& objects, const Object* o) {
  return std::any_of(objects.begin(), objects.end(), [o](const Ref<Object>& r) { return r.get() == o; });
}

// The generation (0..2) whose get_objects(g) lists `o`, or -1 when none does.
int generation_of(const Object* o) {
  int found = -1;
  for (int g = 0; g <= 2; ++g) {
    if (!contains(gc::get_objects(g), o)) continue;
    EXPECT_EQ(found, -1) << "object listed in two generations";
    found = g;
  }
  return found;
}

// A ring a0 -> a1 -> ... -> a(n-1) -> a0 of TrackedNodes named prefix + i,
// with no reference from outside once the function returns.
void make_garbage_ring(Events& ev, int n, const std::string& prefix = "r") {
  std::vector<Ref<TrackedNode>> ring;
  for (int i = 0; i < n; ++i) ring.push_back(make<TrackedNode>(ev, prefix + std::to_string(i)));
  for (int i = 0; i < n; ++i) ring[static_cast<std::size_t>(i)]->next = ring[static_cast<std::size_t>((i + 1) % n)];
}

// Records, in its destructor, whether its Ref members had been emptied.
struct ClearedOnDeath : Object {
  explicit ClearedOnDeath(std::vector<std::string>& log, std::string n) : log_(log), name(std::move(n)) {}
  ~ClearedOnDeath() override {
    log_.push_back(name + (next ? ": next set" : ": next empty") + (items.empty() ? ", items empty" : ", items set"));
  }
  void traverse(ouro::Visitor& v) override { v(next, items); }
  std::vector<std::string>& log_;
  std::string name;
  Ref<ClearedOnDeath> next;
  std::vector<Ref<Object>> items;
};

// Visits its members in a fixed order, one of them twice.
struct Visits : Object {
  void traverse(ouro::Visitor& v) override { v(first, second, first, untracked); }
  Ref<Object> first, second, untracked;
};

// ---------------------------------------------------------------------------
// collect(): counts and reclamation
// ---------------------------------------------------------------------------

TEST(Collect, TwoObjectCycleSurvivesRefcountingAndCollectReturnsTwo) {
  in_fresh_heap([] {
    Events ev;
    {
      auto a = make<TrackedNode>(ev, "a");
      auto b = make<TrackedNode>(ev, "b");
      a->next = b;
      b->next = a;
    }
    EXPECT_EQ(ev.destroyed, 0) << "a cycle is not freed by refcounting";
    EXPECT_EQ(gc::get_objects().size(), 2u);
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.destroyed, 2);
    EXPECT_TRUE(gc::get_objects().empty());
    EXPECT_EQ(gc::collect(), 0u);
  });
}

TEST(Collect, RingOfTenReturnsTenThenZero) {
  in_fresh_heap([] {
    Events ev;
    make_garbage_ring(ev, 10);
    EXPECT_EQ(ev.alive(), 10);
    EXPECT_EQ(gc::collect(), 10u);
    EXPECT_EQ(ev.alive(), 0);
    EXPECT_EQ(gc::collect(), 0u);
  });
}

TEST(Collect, SelfReferenceIsACycleOfOne) {
  in_fresh_heap([] {
    Events ev;
    {
      auto a = make<TrackedNode>(ev, "a");
      a->next = a;
    }
    EXPECT_EQ(ev.alive(), 1);
    EXPECT_EQ(gc::collect(), 1u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Collect, CountIncludesAcyclicObjectsHangingOffTheCycle) {
  in_fresh_heap([] {
    Events ev;
    {
      auto a = make<TrackedNode>(ev, "a");
      auto b = make<TrackedNode>(ev, "b");
      a->next = b;
      b->next = a;
      b->links.push_back(make<TrackedNode>(ev, "tail"));
      b->links[0]->next = make<TrackedNode>(ev, "tail2");
    }
    EXPECT_EQ(gc::collect(), 4u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Collect, ObjectsReferencedFromOutsideSurviveWithWhatTheyReach) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<TrackedNode>(ev, "a");
    {
      auto b = make<TrackedNode>(ev, "b");
      a->next = b;
      b->next = a;
      b->links.push_back(make<TrackedNode>(ev, "c"));
    }
    EXPECT_EQ(gc::collect(), 0u);
    EXPECT_EQ(ev.destroyed, 0);
    EXPECT_EQ(a->next->name, "b");
    EXPECT_EQ(a->next->next, a);
    EXPECT_EQ(a->next->links.at(0)->name, "c");
    a.reset();
    EXPECT_EQ(gc::collect(), 3u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Collect, CycleHeldOnlyByAnUntrackedObjectSurvives) {
  in_fresh_heap([] {
    Events ev;
    auto holder = make<PlainNode>(ev, "holder");  // refcounted only: a reference from outside the tracked heap
    {
      auto a = make<TrackedNode>(ev, "a");
      auto b = make<TrackedNode>(ev, "b");
      a->next = b;
      b->next = a;
      holder->next = a;
    }
    EXPECT_EQ(gc::collect(), 0u);
    EXPECT_EQ(ev.alive(), 3);
    holder.reset();
    EXPECT_EQ(ev.alive(), 2);
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Collect, OnlyTheUnreachablePartOfAMixedHeapIsCollected) {
  in_fresh_heap([] {
    Events ev;
    auto root = make<TrackedNode>(ev, "root");
    root->next = make<TrackedNode>(ev, "kept");
    root->next->next = root;  // a live cycle
    make_garbage_ring(ev, 3, "g");
    make_garbage_ring(ev, 2, "h");
    EXPECT_EQ(gc::collect(), 5u);
    EXPECT_EQ(ev.alive(), 2);
    EXPECT_EQ(ev.of("root"), (std::vector<std::string>{"construct"}));
    EXPECT_EQ(ev.of("kept"), (std::vector<std::string>{"construct"}));
    root->next->next.reset();
  });
}

TEST(Collect, WorksWhileAutomaticCollectionIsDisabled) {
  in_fresh_heap([] {
    Events ev;
    gc::disable();
    make_garbage_ring(ev, 2);
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.alive(), 0);
    EXPECT_FALSE(gc::is_enabled()) << "collect() must not re-enable automatic collection";
  });
}

TEST(Collect, WorksWithThresholdZero) {
  in_fresh_heap([] {
    Events ev;
    gc::set_threshold(0);
    make_garbage_ring(ev, 4);
    EXPECT_EQ(gc::collect(), 4u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Collect, DefaultArgumentIsAFullCollection) {
  in_fresh_heap([] {
    Events ev;
    {
      auto a = make<TrackedNode>(ev, "a");
      auto b = make<TrackedNode>(ev, "b");
      a->next = b;
      b->next = a;
      gc::collect(1);  // both now in generation 2
      EXPECT_EQ(gc::get_objects(2).size(), 2u);
    }
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(gc::get_stats()[2].collections, 1u);
  });
}

// Calls collect() from its constructor, after making tracked children.
struct CollectsWhileBuilt : Object {
  explicit CollectsWhileBuilt(Events& ev) {
    for (int i = 0; i < 3; ++i) kids.push_back(make<TrackedNode>(ev, "kid" + std::to_string(i)));
    seen_by_get_objects = gc::get_objects().size();
    found = gc::collect();
  }
  void traverse(ouro::Visitor& v) override { v(kids); }
  std::vector<Ref<TrackedNode>> kids;
  std::size_t seen_by_get_objects = 0, found = 0;
};

TEST(Collect, FromAConstructorTheObjectBeingBuiltIsNotTrackedYetAndItsChildrenSurvive) {
  in_fresh_heap([] {
    Events ev;
    auto built = make<CollectsWhileBuilt>(ev);
    EXPECT_EQ(built->seen_by_get_objects, 3u) << "only the children";
    EXPECT_EQ(built->found, 0u);
    EXPECT_EQ(ev.alive(), 3);
    EXPECT_TRUE(gc::is_tracked(*built));
    EXPECT_EQ(gc::get_objects().size(), 4u);
  });
}

using ouro_test::ThrowingTraverse;

TEST(Collect, TraverseThatThrowsLosesNothingAndLaterCollectionsWork) {
  in_fresh_heap([] {
    Events ev;
    auto live = make<TrackedNode>(ev, "live");
    live->next = make<TrackedNode>(ev, "live2");
    {
      auto t = make<ThrowingTraverse>();
      t->next = t;
    }
    make_garbage_ring(ev, 2, "g");
    ThrowingTraverse::armed = true;
    try {
      gc::collect();
    } catch (const std::runtime_error&) {
      // Whether the exception escapes is not specified; the heap must survive it.
    }
    ThrowingTraverse::armed = false;
    EXPECT_EQ(ev.of("live"), (std::vector<std::string>{"construct"})) << "nothing live was freed";
    EXPECT_EQ(ev.of("live2"), (std::vector<std::string>{"construct"}));
    ASSERT_TRUE(live->next);
    EXPECT_EQ(live->next->name, "live2");
    std::size_t total = ev.destroyed == 2 ? 0 : 2;  // the ring, unless the failed collection took it
    EXPECT_EQ(gc::collect(), total + 1) << "the ring (if still there) and the self-cycle";
    EXPECT_EQ(ev.alive(), 2);
    EXPECT_EQ(gc::get_objects().size(), 2u);
    EXPECT_EQ(gc::collect(), 0u);
  });
}

// The first full collection takes generation 0's table over as it is, and
// counting moves each object to generation 2 as it reads it. A traverse that
// throws half-way must still leave every object in the table it names:
// objects made after the thrower then die by refcount, and are collected
// later, through the right table.
TEST(Collect, TraverseThatThrowsInTheFirstFullCollectionLeavesEveryObjectInItsTable) {
  in_fresh_heap([] {
    gc::disable();
    Events ev;
    auto before = make<TrackedNode>(ev, "before");
    auto thrower = make<ThrowingTraverse>();
    std::vector<Ref<TrackedNode>> after;
    for (int i = 0; i < 50; ++i) after.push_back(make<TrackedNode>(ev, "after"));
    make_garbage_ring(ev, 3, "g");
    ThrowingTraverse::armed = true;
    EXPECT_THROW(gc::collect(), std::runtime_error);
    ThrowingTraverse::armed = false;
    for (auto& a : after) EXPECT_EQ(generation_of(a.get()), 2);
    after.clear();  // each dies by refcount, leaving generation 2's table
    EXPECT_EQ(gc::get_objects().size(), 2u + 3u) << "before, the thrower and the ring";
    EXPECT_EQ(gc::collect(), 3u);
    thrower.reset();
    before.reset();
    EXPECT_EQ(gc::get_objects().size(), 0u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

// Its traverse() makes an object the first time it runs and reports it from
// then on (odd, but nothing forbids make<T> while a collection counts).
struct MakesWhileTraversed : Object {
  explicit MakesWhileTraversed(Events& e) : ev(e) {}
  void traverse(ouro::Visitor& v) override {
    if (!made && !v.clearing()) made = make<TrackedNode>(ev, "made while counting");
    v(made, self);
  }
  Events& ev;
  Ref<TrackedNode> made;
  Ref<Object> self;
};

// The object made while counting lands in generation 0's table, with
// generation 0's table bits, while the first full collection is counting
// objects it took over from that table and whose bits still say generation
// 0: it must not be taken for the object of the working set in the same
// slot. Here that object ("first", slot 0) is held only from outside; were
// the new object's reference counted against it, it would look unreachable,
// and its references would be cleared while it is held.
TEST(Collect, AnObjectMadeByATraverseDuringTheFirstFullCollectionIsNotTakenForAnotherOne) {
  in_fresh_heap([] {
    gc::disable();
    Events ev;
    auto first = make<TrackedNode>(ev, "first");  // slot 0 of generation 0
    first->next = make<TrackedNode>(ev, "first's child");
    {
      auto maker = make<MakesWhileTraversed>(ev);
      maker->self = maker;  // garbage once dropped: never a root
    }
    EXPECT_EQ(gc::collect(), 1u) << "the maker (what it made dies by refcount when it is cleared)";
    EXPECT_EQ(ev.of("made while counting"), (std::vector<std::string>{"construct", "destroy"}));
    EXPECT_EQ(ev.of("first"), (std::vector<std::string>{"construct"})) << "held from outside, so alive";
    ASSERT_TRUE(first->next) << "a live object's references were cleared";
    EXPECT_EQ(first->next->name, "first's child");
    EXPECT_EQ(gc::collect(), 0u);
    first.reset();
    EXPECT_EQ(ev.alive(), 0);
  });
}

// In a young collection the working set is generation 0's own table, and
// what a traverse() makes while counting is appended to that same table:
// after the set, outside it. Those objects must be neither counted nor
// classified by this collection (their scratch entries were never written):
// they stay in generation 0, alive, and nothing is reported as
// over-reported. Here each traverse makes a few objects held from outside.
struct MakesHeldObjectsWhileTraversed : Object {
  explicit MakesHeldObjectsWhileTraversed(std::vector<Ref<TrackedNode>>& out, Events& e) : held(out), ev(e) {}
  void traverse(ouro::Visitor& v) override {
    if (!v.clearing())
      for (int i = 0; i < 3; ++i) held.push_back(make<TrackedNode>(ev, "made while counting"));
    v(self);
  }
  std::vector<Ref<TrackedNode>>& held;
  Events& ev;
  Ref<Object> self;
};

TEST(Collect, ObjectsMadeByATraverseDuringAYoungCollectionStayOutsideItsSet) {
  for (int g : {0, 1}) {
    in_fresh_heap([g] {
      gc::disable();
      Events ev;
      std::vector<Ref<TrackedNode>> held;
      held.reserve(100000);
      std::vector<Ref<TrackedNode>> kept;
      // Sets of several chunks, so that what is made lands past the set in
      // a chunk of its own too.
      for (int i = 0; i < 2 * 4096 - 3; ++i) kept.push_back(make<TrackedNode>(ev, "kept"));
      for (int i = 0; i < 10; ++i) {
        auto maker = make<MakesHeldObjectsWhileTraversed>(held, ev);
        maker->self = maker;  // garbage once dropped
      }
      EXPECT_EQ(gc::collect(g), 10u) << "the makers only";
      EXPECT_EQ(held.size(), 30u);
      for (const auto& o : held) {
        EXPECT_EQ(ouro::refcount(*o), 1u);
        EXPECT_TRUE(gc::is_tracked(*o));
      }
      EXPECT_EQ(gc::get_objects(0).size(), 30u) << "what the traverses made is in generation 0, once";
      EXPECT_EQ(gc::get_objects(g + 1).size(), kept.size()) << "the set's survivors were promoted";
      EXPECT_EQ(ev.destroyed, 0) << "nothing held was freed";
      held.clear();
      kept.clear();
      EXPECT_EQ(ev.alive(), 0);
      EXPECT_EQ(gc::get_objects().size(), 0u);
    });
  }
}

// Its traverse() drops its reference the first time it runs outside
// clearing: a traverse() must only report, but one that lets go of the last
// reference to an object of the working set must not make the collector
// destroy that object under its own count.
struct DropsWhileTraversed : Object {
  void traverse(ouro::Visitor& v) override {
    if (!v.clearing()) victim.reset();
    v(victim);
  }
  Ref<TrackedNode> victim;
};

// The victim is made after the dropper, so it is counted after it died:
// the first full collection (which takes generation 0's table over) finds
// it garbage and frees it; everything else is untouched.
TEST(Collect, ATraverseThatDropsAnObjectNotCountedYetDoesNotBreakTheCollection) {
  in_fresh_heap([] {
    gc::disable();
    Events ev;
    auto dropper = make<DropsWhileTraversed>();
    dropper->victim = make<TrackedNode>(ev, "victim");
    std::vector<Ref<TrackedNode>> kept;
    for (int i = 0; i < 20; ++i) kept.push_back(make<TrackedNode>(ev, "kept"));
    EXPECT_EQ(gc::collect(), 1u);
    EXPECT_EQ(ev.of("victim"), (std::vector<std::string>{"construct", "destroy"}));
    EXPECT_EQ(gc::get_objects().size(), 21u) << "the dropper and the kept ones, each once";
    kept.clear();
    dropper.reset();
    EXPECT_EQ(gc::get_objects().size(), 0u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

// The victim is made before the dropper, so it was counted (with its
// reference) before it died: this collection keeps it, with a zero count,
// and the next one frees it. Nothing is freed while referenced, nothing
// crashes, and the tables stay consistent.
TEST(Collect, ATraverseThatDropsAnObjectCountedAlreadyLeavesItToTheNextCollection) {
  in_fresh_heap([] {
    gc::disable();
    Events ev;
    auto victim = make<TrackedNode>(ev, "victim");
    auto dropper = make<DropsWhileTraversed>();
    dropper->victim = std::move(victim);
    auto kept = make<TrackedNode>(ev, "kept");
    gc::collect();
    EXPECT_EQ(ev.of("kept"), (std::vector<std::string>{"construct"}));
    gc::collect();
    EXPECT_EQ(ev.of("victim"), (std::vector<std::string>{"construct", "destroy"}));
    EXPECT_EQ(gc::get_objects().size(), 2u) << "the dropper and the kept one";
    kept.reset();
    dropper.reset();
    EXPECT_EQ(gc::get_objects().size(), 0u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

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

// When every object of the working set has a reference from outside it,
// the collector keeps them all without marking (every_object_is_a_root,
// which looks at the counts in blocks of 64). Objects held from outside
// and linked in a chain, with one garbage object (referring to itself)
// among them at slot `at`: it must be found wherever it falls against
// those blocks.
void expect_garbage_found_among_held_objects(int held, int at) {
  Events ev;  // outlives the heap: a collector that missed the garbage leaves it to the teardown
  in_fresh_heap([&] {
    gc::disable();
    std::vector<Ref<TrackedNode>> holder;
    for (int i = 0; i < held; ++i) {
      if (i == at) make_garbage_ring(ev, 1, "self");
      holder.push_back(make<TrackedNode>(ev, "h" + std::to_string(i)));
      if (i > 0) holder[static_cast<std::size_t>(i)]->next = holder[static_cast<std::size_t>(i - 1)];
    }
    if (at >= held) make_garbage_ring(ev, 1, "self");
    EXPECT_EQ(gc::collect(0), 1u) << "garbage at slot " << at << " among " << held;
    EXPECT_EQ(ev.alive(), held);
    for (const auto& h : holder) EXPECT_EQ(generation_of(h.get()), 1);
  });
}

TEST(AllRoots, AGarbageObjectAmongObjectsHeldFromOutsideIsFoundWhereverItSits) {
  for (int at : {0, 1, 62, 63, 64, 65, 127, 128, 190, 191, 192}) expect_garbage_found_among_held_objects(192, at);
  for (int at : {192, 199, 200}) expect_garbage_found_among_held_objects(200, at);  // in the tail after the last block
}

TEST(AllRoots, ObjectsAllHeldFromOutsideSurviveWholeEvenInCyclesAndDieOnceLetGo) {
  in_fresh_heap([] {
    gc::disable();
    Events ev;
    {
      std::vector<Ref<TrackedNode>> holder;
      for (int i = 0; i < 300; ++i) holder.push_back(make<TrackedNode>(ev, "h" + std::to_string(i)));
      for (std::size_t i = 0; i < holder.size(); ++i) holder[i]->next = holder[(i + 1) % holder.size()];
      EXPECT_EQ(gc::collect(0), 0u);
      EXPECT_EQ(gc::get_objects(1).size(), 300u);
      EXPECT_EQ(gc::collect(1), 0u);
      EXPECT_EQ(gc::get_objects(2).size(), 300u);
      EXPECT_EQ(ev.alive(), 300);
    }
    EXPECT_EQ(ev.alive(), 300);  // one ring now, held by nothing outside
    EXPECT_EQ(gc::collect(), 300u);
    EXPECT_EQ(ev.alive(), 0);
  });
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

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------

template <class F>
std::string invalid_argument_message(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  } catch (...) {
    return "<another exception type>";
  }
  return "<no exception>";
}

TEST(Arguments, CollectRejectsGenerationsOutsideZeroToTwoWithAMessage) {
  in_fresh_heap([] {
    for (int g : {3, -1, 100, -100}) {
      std::string msg = invalid_argument_message([g] { gc::collect(g); });
      EXPECT_NE(msg, "<no exception>") << "collect(" << g << ")";
      EXPECT_NE(msg, "<another exception type>") << "collect(" << g << ")";
      EXPECT_NE(msg.find("generation"), std::string::npos) << msg;
    }
  });
}

TEST(Arguments, RejectedCollectDoesNothing) {
  in_fresh_heap([] {
    Events ev;
    make_garbage_ring(ev, 2);
    EXPECT_THROW(gc::collect(3), std::invalid_argument);
    EXPECT_THROW(gc::collect(-1), std::invalid_argument);
    EXPECT_EQ(ev.alive(), 2);
    for (const gc::GenerationStats& s : gc::get_stats()) EXPECT_EQ(s.collections, 0u);
    EXPECT_EQ(gc::get_count()[0], 2u);
    EXPECT_EQ(gc::collect(), 2u);
  });
}

TEST(Arguments, GetObjectsRejectsGenerationsOutsideZeroToTwoWithAMessage) {
  in_fresh_heap([] {
    for (int g : {3, -1}) {
      std::string msg = invalid_argument_message([g] { (void)gc::get_objects(g); });
      EXPECT_NE(msg, "<no exception>") << "get_objects(" << g << ")";
      EXPECT_NE(msg, "<another exception type>") << "get_objects(" << g << ")";
      EXPECT_NE(msg.find("generation"), std::string::npos) << msg;
    }
    EXPECT_NO_THROW((void)gc::get_objects(0));
    EXPECT_NO_THROW((void)gc::get_objects(2));
  });
}

// ---------------------------------------------------------------------------
// Breaking cycles
// ---------------------------------------------------------------------------

TEST(BreakingCycles, DestructorsOfCycleMembersSeeTheirVisitedRefsAlreadyReset) {
  in_fresh_heap([] {
    std::vector<std::string> log;
    {
      auto a = make<ClearedOnDeath>(log, "a");
      auto b = make<ClearedOnDeath>(log, "b");
      auto c = make<ClearedOnDeath>(log, "c");
      a->next = b;
      b->next = c;
      c->next = a;
      a->items.push_back(b);
      a->items.push_back(c);
    }
    EXPECT_TRUE(log.empty());
    EXPECT_EQ(gc::collect(), 3u);
    std::sort(log.begin(), log.end());
    EXPECT_EQ(log, (std::vector<std::string>{"a: next empty, items empty", "b: next empty, items empty",
                                             "c: next empty, items empty"}));
  });
}

TEST(BreakingCycles, LiveObjectsReferencedByGarbageKeepTheirOwnRefs) {
  in_fresh_heap([] {
    std::vector<std::string> log;
    auto live = make<ClearedOnDeath>(log, "live");
    live->next = make<ClearedOnDeath>(log, "live2");
    {
      auto a = make<ClearedOnDeath>(log, "a");
      a->next = a;
      a->items.push_back(live);
    }
    EXPECT_EQ(gc::collect(), 1u);
    EXPECT_EQ(log, (std::vector<std::string>{"a: next empty, items empty"}));
    ASSERT_TRUE(live->next);
    EXPECT_EQ(live->next->name, "live2");
    EXPECT_EQ(ouro::refcount(*live), 1u);
  });
}

// A destructor that stores a reference to another object of the same
// garbage (through a raw pointer: misuse, but it must not free a referenced
// object): the collector destroys each object of the garbage once its own
// references are cleared and its count is zero, and settles the ones still
// referenced at their turn at the end; one referenced again by then lives on,
// cleared, in the oldest generation.
struct KeepsANeighbourWhenDestroyed : Object {
  explicit KeepsANeighbourWhenDestroyed(Ref<Object>& k) : keeper(k) {}
  ~KeepsANeighbourWhenDestroyed() override {
    if (neighbour) keeper = ouro::ref(neighbour);
  }
  void traverse(ouro::Visitor& v) override { v(next); }
  Ref<Object>& keeper;
  Object* neighbour = nullptr;
  Ref<Object> next;
};

TEST(BreakingCycles, AnObjectADestructorOfTheGarbageKeptLivesOnClearedInTheOldestGeneration) {
  in_fresh_heap([] {
    std::vector<std::string> log;
    Ref<Object> keeper;
    {
      auto b = make<ClearedOnDeath>(log, "b");  // b's turn comes first: a still refers to it then
      auto a = make<KeepsANeighbourWhenDestroyed>(keeper);
      a->next = b;
      b->next = nullptr;
      b->items.push_back(a);
      a->neighbour = b.get();
    }
    EXPECT_EQ(gc::collect(), 2u);
    ASSERT_TRUE(keeper);
    EXPECT_TRUE(log.empty()) << "b must not be destroyed while referenced";
    EXPECT_EQ(ouro::refcount(*keeper), 1u);
    EXPECT_TRUE(gc::is_tracked(*keeper));
    std::vector<Ref<Object>> old = gc::get_objects(2);
    EXPECT_NE(std::find(old.begin(), old.end(), keeper), old.end());
    old.clear();
    auto* b = static_cast<ClearedOnDeath*>(keeper.get());
    EXPECT_TRUE(b->items.empty()) << "its references were cleared with the rest of the garbage";
    keeper.reset();
    EXPECT_EQ(log, (std::vector<std::string>{"b: next empty, items empty"}));
  });
}

// ---------------------------------------------------------------------------
// get_referents / get_referrers
// ---------------------------------------------------------------------------

TEST(Referents, ListWhatTraverseVisitsInOrderWithDuplicates) {
  in_fresh_heap([] {
    Events ev;
    auto v = make<Visits>();
    auto a = make<TrackedNode>(ev, "a");
    auto b = make<TrackedNode>(ev, "b");
    auto p = make<PlainNode>(ev, "plain");
    v->first = a;
    v->second = b;
    v->untracked = p;
    std::vector<Ref<Object>> r = gc::get_referents(*v);
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0].get(), a.get());
    EXPECT_EQ(r[1].get(), b.get());
    EXPECT_EQ(r[2].get(), a.get());
    EXPECT_EQ(r[3].get(), p.get()) << "untracked referents are listed too";
  });
}

TEST(Referents, EmptyRefsAreSkippedAndUntrackedObjectsHaveNone) {
  in_fresh_heap([] {
    Events ev;
    auto v = make<Visits>();
    auto b = make<TrackedNode>(ev, "b");
    v->second = b;
    std::vector<Ref<Object>> r = gc::get_referents(*v);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].get(), b.get());
    auto p = make<PlainNode>(ev, "plain");
    p->next = make<TrackedNode>(ev, "x");
    EXPECT_TRUE(gc::get_referents(*p).empty()) << "a type without traverse reports nothing";
  });
}

TEST(Referents, ReturnedRefsAreStrongReferences) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<TrackedNode>(ev, "a");
    a->next = make<TrackedNode>(ev, "b");
    std::vector<Ref<Object>> r = gc::get_referents(*a);
    EXPECT_EQ(ouro::refcount(*a->next), 2u);
    a->next.reset();
    EXPECT_EQ(ev.alive(), 2) << "b is held by the vector get_referents returned";
    r.clear();
    EXPECT_EQ(ev.alive(), 1);
  });
}

TEST(Referrers, FindEveryTrackedObjectWhoseTraverseVisitsTheTargetOnce) {
  in_fresh_heap([] {
    Events ev;
    auto target = make<TrackedNode>(ev, "target");
    auto r1 = make<TrackedNode>(ev, "r1");
    auto r2 = make<TrackedNode>(ev, "r2");
    auto other = make<TrackedNode>(ev, "other");
    r1->next = target;
    r2->links = {target, target, other};  // two references: listed once
    other->next = r1;
    std::vector<Ref<Object>> found = gc::get_referrers(*target);
    EXPECT_EQ(found.size(), 2u);
    EXPECT_TRUE(contains(found, r1.get()));
    EXPECT_TRUE(contains(found, r2.get()));
    EXPECT_FALSE(contains(found, other.get()));
    EXPECT_FALSE(contains(found, target.get()));
  });
}

TEST(Referrers, SelfReferenceMakesAnObjectItsOwnReferrer) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<TrackedNode>(ev, "a");
    a->next = a;
    std::vector<Ref<Object>> found = gc::get_referrers(*a);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].get(), a.get());
    a->next.reset();
  });
}

TEST(Referrers, SeeAllGenerationsButNotUntrackedHolders) {
  in_fresh_heap([] {
    Events ev;
    auto target = make<PlainNode>(ev, "target");  // targets need not be tracked
    auto in2 = make<TrackedNode>(ev, "in2");
    in2->next = target;
    gc::collect(1);
    auto in1 = make<TrackedNode>(ev, "in1");
    in1->next = target;
    gc::collect(0);
    auto in0 = make<TrackedNode>(ev, "in0");
    in0->next = target;
    auto untracked = make<PlainNode>(ev, "untracked");
    untracked->next = make<PlainNode>(ev, "x");
    untracked->links.push_back(ouro::ref_cast<ouro_test::Instrumented>(target));
    std::vector<Ref<Object>> found = gc::get_referrers(*target);
    EXPECT_EQ(found.size(), 3u);
    EXPECT_TRUE(contains(found, in0.get()));
    EXPECT_TRUE(contains(found, in1.get()));
    EXPECT_TRUE(contains(found, in2.get()));
    EXPECT_FALSE(contains(found, untracked.get()));
  });
}

TEST(Referrers, DoNotSeeFrozenObjects) {
  in_fresh_heap([] {
    Events ev;
    auto target = make<TrackedNode>(ev, "target");
    auto frozen = make<TrackedNode>(ev, "frozen");
    frozen->next = target;
    gc::freeze();
    auto fresh = make<TrackedNode>(ev, "fresh");
    fresh->next = target;
    std::vector<Ref<Object>> found = gc::get_referrers(*target);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].get(), fresh.get());
    found.clear();
    gc::unfreeze();
    found = gc::get_referrers(*target);
    EXPECT_EQ(found.size(), 2u);
    EXPECT_TRUE(contains(found, frozen.get()));
  });
}

TEST(Referrers, NoneForAnUnreferencedObject) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<TrackedNode>(ev, "a");
    auto b = make<TrackedNode>(ev, "b");
    a->next = b;
    EXPECT_TRUE(gc::get_referrers(*a).empty());
  });
}

// ---------------------------------------------------------------------------
// is_tracked / is_finalized / get_objects
// ---------------------------------------------------------------------------

TEST(Introspection, IsTrackedForTypesThatOverrideTraverseOnly) {
  in_fresh_heap([] {
    Events ev;
    auto t = make<TrackedNode>(ev, "t");
    auto f = make<FinalizedNode>(ev, "f");
    auto p = make<PlainNode>(ev, "p");
    auto fo = make<ouro_test::FinalizerOnlyNode>(ev, "fo");
    EXPECT_TRUE(gc::is_tracked(*t));
    EXPECT_TRUE(gc::is_tracked(*f));
    EXPECT_FALSE(gc::is_tracked(*p));
    EXPECT_FALSE(gc::is_tracked(*fo));
  });
}

TEST(Introspection, TrackedObjectsStayTrackedInEveryGeneration) {
  in_fresh_heap([] {
    Events ev;
    auto t = make<TrackedNode>(ev, "t");
    gc::collect(0);
    EXPECT_TRUE(gc::is_tracked(*t));
    gc::collect(1);
    EXPECT_TRUE(gc::is_tracked(*t));
    gc::collect();
    EXPECT_TRUE(gc::is_tracked(*t));
  });
}

TEST(Introspection, IsFinalizedBecomesTrueOnceFinalizeRan) {
  in_fresh_heap([] {
    Events ev;
    std::vector<Ref<ouro_test::Instrumented>> saved;
    {
      auto f = make<FinalizedNode>(ev, "f");
      f->next = f;
      f->on_finalize = [&saved](ouro_test::Instrumented& self) { saved.push_back(ouro::ref(&self)); };
      EXPECT_FALSE(gc::is_finalized(*f));
    }
    EXPECT_EQ(gc::collect(), 0u) << "the finalizer resurrected f";
    ASSERT_EQ(saved.size(), 1u);
    EXPECT_TRUE(gc::is_finalized(*saved[0]));
    EXPECT_EQ(ev.finalized, 1);
    auto g = make<TrackedNode>(ev, "g");
    EXPECT_FALSE(gc::is_finalized(*g)) << "no finalizer, never finalized";
    saved[0]->next.reset();
    saved[0]->on_finalize = nullptr;
  });
}

TEST(Introspection, GetObjectsListsEveryTrackedObjectOnce) {
  in_fresh_heap([] {
    Events ev;
    EXPECT_TRUE(gc::get_objects().empty());
    auto a = make<TrackedNode>(ev, "a");
    gc::collect(1);
    auto b = make<TrackedNode>(ev, "b");
    gc::collect(0);
    auto c = make<TrackedNode>(ev, "c");
    auto p = make<PlainNode>(ev, "p");
    std::vector<Ref<Object>> all = gc::get_objects();
    EXPECT_EQ(all.size(), 3u);
    EXPECT_TRUE(contains(all, a.get()));
    EXPECT_TRUE(contains(all, b.get()));
    EXPECT_TRUE(contains(all, c.get()));
    EXPECT_FALSE(contains(all, p.get()));
    EXPECT_EQ(gc::get_objects(0).size(), 1u);
    EXPECT_EQ(gc::get_objects(1).size(), 1u);
    EXPECT_EQ(gc::get_objects(2).size(), 1u);
  });
}

TEST(Introspection, DeadObjectsLeaveGetObjects) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<TrackedNode>(ev, "a");
    auto b = make<TrackedNode>(ev, "b");
    gc::collect(0);
    a.reset();
    std::vector<Ref<Object>> all = gc::get_objects();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].get(), b.get());
  });
}

}  // namespace
