// gc::collect() (ouro/gc.hpp): what a collection finds and frees.
//
//   collect(g)     returns the unreachable objects it found; works while
//                  automatic collection is disabled; throws
//                  std::invalid_argument outside 0..2 (so does
//                  get_objects(g)).
#include <gtest/gtest.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/heap_queries.hpp"
#include "support/instrumented.hpp"
#include "support/throwing_traverse.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro_test::Events;
using ouro_test::generation_of;
using ouro_test::in_fresh_heap;
using ouro_test::make_garbage_ring;
using ouro_test::PlainNode;
using ouro_test::TrackedNode;

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

}  // namespace
