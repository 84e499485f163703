// Automatic collection (ouro/gc.hpp): triggered by allocations of
// tracked objects exactly as CPython 3.11's gc_alloc / gc_collect_generations
// do, plus one improvement to the 25% rule.
//
//   count0   +1 per tracked allocation (before the object exists), -1 per
//            death of a tracked object (never below 0);
//   trigger  count0 > threshold0, enabled, threshold0 != 0, no collection
//            running: collect the oldest generation g with count(g) >
//            threshold(g) (g = 2 also needs long_lived_pending >=
//            long_lived_total / 4), else generation 0;
//   collect(g) zeroes counts 0..g and adds 1 to count(g+1); a generation-1
//            collection adds its survivors to pending; a full collection
//            sets total to its survivors and pending to 0;
//   ours     a pending object that dies by refcount leaves the pending count.
#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/nodes.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro_test::in_fresh_heap;

using ouro_test::Node;

struct Plain : Object {};

// Records the generation of every collection (at its start), and checks
// that none starts while another runs.
class Recorder {
 public:
  Recorder() {
    id_ = gc::add_callback([this](gc::Phase phase, const gc::CollectionInfo& info) {
      if (phase == gc::Phase::start) {
        if (running_) ++nested;
        running_ = true;
        generations.push_back(info.generation);
        objects_at_start.push_back(gc::get_objects().size());
        if (on_start) on_start();
      } else {
        running_ = false;
      }
    });
  }
  ~Recorder() { gc::remove_callback(id_); }
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  std::array<int, 3> per_generation() const {
    std::array<int, 3> n{};
    for (int g : generations) ++n.at(static_cast<std::size_t>(g));
    return n;
  }

  std::vector<int> generations;
  std::vector<std::size_t> objects_at_start;
  std::function<void()> on_start;
  int nested = 0;

 private:
  std::size_t id_;
  bool running_ = false;
};

using Counts = std::array<std::size_t, 3>;

// ---------------------------------------------------------------------------
// get_count
// ---------------------------------------------------------------------------

TEST(Count, TrackedAllocationsAddOneAndDeathsRemoveOne) {
  in_fresh_heap([] {
    EXPECT_EQ(gc::get_count(), (Counts{0, 0, 0}));
    Ref<Node> a = make<Node>();
    EXPECT_EQ(gc::get_count(), (Counts{1, 0, 0}));
    Ref<Node> b = make<Node>();
    EXPECT_EQ(gc::get_count(), (Counts{2, 0, 0}));
    a.reset();
    EXPECT_EQ(gc::get_count(), (Counts{1, 0, 0}));
    make<Node>();  // a temporary: +1 then -1
    EXPECT_EQ(gc::get_count(), (Counts{1, 0, 0}));
  });
}

TEST(Count, UntrackedObjectsAreNotCounted) {
  in_fresh_heap([] {
    std::vector<Ref<Plain>> plain;
    for (int i = 0; i < 2000; ++i) plain.push_back(make<Plain>());
    EXPECT_EQ(gc::get_count(), (Counts{0, 0, 0}));
    plain.clear();
    EXPECT_EQ(gc::get_count(), (Counts{0, 0, 0}));
    EXPECT_EQ(gc::get_stats()[0].collections, 0u);
  });
}

TEST(Count, DeathsNeverTakeCountZeroBelowZero) {
  in_fresh_heap([] {
    std::vector<Ref<Node>> nodes;
    for (int i = 0; i < 5; ++i) nodes.push_back(make<Node>());
    gc::collect();
    EXPECT_EQ(gc::get_count(), (Counts{0, 0, 0}));
    nodes.clear();
    EXPECT_EQ(gc::get_count(), (Counts{0, 0, 0}));
    Ref<Node> x = make<Node>();
    EXPECT_EQ(gc::get_count(), (Counts{1, 0, 0}));
  });
}

TEST(Count, CollectionResetsYoungerCountsAndIncrementsTheNext) {
  in_fresh_heap([] {
    std::vector<Ref<Node>> nodes;
    for (int i = 0; i < 3; ++i) nodes.push_back(make<Node>());
    gc::collect(0);
    EXPECT_EQ(gc::get_count(), (Counts{0, 1, 0}));
    nodes.push_back(make<Node>());
    gc::collect(0);
    EXPECT_EQ(gc::get_count(), (Counts{0, 2, 0}));
    nodes.push_back(make<Node>());
    gc::collect(1);
    EXPECT_EQ(gc::get_count(), (Counts{0, 0, 1}));
    gc::collect(1);
    EXPECT_EQ(gc::get_count(), (Counts{0, 0, 2}));
    nodes.push_back(make<Node>());
    gc::collect(2);
    EXPECT_EQ(gc::get_count(), (Counts{0, 0, 0}));
  });
}

// ---------------------------------------------------------------------------
// Triggers
// ---------------------------------------------------------------------------

TEST(Trigger, GenerationZeroIsCollectedWhenCountZeroExceedsThresholdBeforeTheNewObjectExists) {
  in_fresh_heap([] {
    gc::set_threshold(10);
    Recorder rec;
    std::vector<Ref<Node>> nodes;
    for (int i = 0; i < 10; ++i) nodes.push_back(make<Node>());
    EXPECT_TRUE(rec.generations.empty()) << "count0 == threshold0 is not over it";
    EXPECT_EQ(gc::get_count()[0], 10u);
    nodes.push_back(make<Node>());  // count0 11 > 10
    EXPECT_EQ(rec.generations, (std::vector<int>{0}));
    EXPECT_EQ(rec.objects_at_start, (std::vector<std::size_t>{10})) << "the 11th object did not exist yet";
    EXPECT_EQ(gc::get_count(), (Counts{0, 1, 0})) << "the allocation that triggered is not counted afterwards";
    EXPECT_EQ(gc::get_objects(0).size(), 1u);
    EXPECT_EQ(gc::get_objects(1).size(), 10u);
    for (int i = 0; i < 10; ++i) nodes.push_back(make<Node>());
    EXPECT_EQ(rec.generations.size(), 1u);
    nodes.push_back(make<Node>());
    EXPECT_EQ(rec.generations, (std::vector<int>{0, 0}));
  });
}

TEST(Trigger, CollectsGarbageAutomatically) {
  in_fresh_heap([] {
    gc::set_threshold(10);
    for (int i = 0; i < 6; ++i) {  // 12 allocations, 12 objects in garbage cycles
      Ref<Node> a = make<Node>();
      Ref<Node> b = make<Node>();
      a->next = b;
      b->next = a;
    }
    EXPECT_EQ(gc::get_stats()[0].collections, 1u);
    EXPECT_EQ(gc::get_stats()[0].collected, 10u) << "the five pairs that existed at the 11th allocation";
    EXPECT_EQ(gc::get_objects().size(), 2u);
    gc::collect();
  });
}

TEST(Trigger, DeathsDelayTheNextCollection) {
  in_fresh_heap([] {
    gc::set_threshold(10);
    Recorder rec;
    std::vector<Ref<Node>> nodes;
    for (int i = 0; i < 10; ++i) nodes.push_back(make<Node>());
    nodes.resize(5);  // five die: count0 5
    EXPECT_EQ(gc::get_count()[0], 5u);
    for (int i = 0; i < 5; ++i) nodes.push_back(make<Node>());
    EXPECT_TRUE(rec.generations.empty());
    nodes.push_back(make<Node>());
    EXPECT_EQ(rec.generations, (std::vector<int>{0}));
  });
}

TEST(Trigger, GenerationOneAfterElevenGenerationZeroCollections) {
  in_fresh_heap([] {
    gc::set_threshold(1);  // 1, 10, 10: a collection every second allocation
    Recorder rec;
    std::vector<Ref<Node>> nodes;
    for (int i = 0; i < 24; ++i) nodes.push_back(make<Node>());
    std::vector<int> expected(11, 0);
    expected.push_back(1);
    EXPECT_EQ(rec.generations, expected);
    EXPECT_EQ(gc::get_count(), (Counts{0, 0, 1}));
  });
}

TEST(Trigger, GenerationTwoAfterElevenGenerationOneCollections) {
  in_fresh_heap([] {
    gc::set_threshold(1, 0, 10);  // gen1 whenever count1 > 0: every 2nd collection; full when count2 > 10
    Recorder rec;
    std::vector<Ref<Node>> nodes;
    for (int i = 0; i < 46; ++i) nodes.push_back(make<Node>());
    // 23 collections: 0 1 0 1 ... ; the 11th gen1 is the 22nd collection,
    // so the 23rd is the first full one (long_lived_total is 0).
    std::vector<int> expected;
    for (int i = 0; i < 11; ++i) expected.insert(expected.end(), {0, 1});
    expected.push_back(2);
    EXPECT_EQ(rec.generations, expected);
    EXPECT_EQ(gc::get_count(), (Counts{0, 0, 0}));
  });
}

TEST(Trigger, ThresholdZeroDisablesAutomaticCollectionButCountsGoOn) {
  in_fresh_heap([] {
    gc::set_threshold(0);
    Recorder rec;
    std::vector<Ref<Node>> nodes;
    for (int i = 0; i < 3000; ++i) nodes.push_back(make<Node>());
    EXPECT_TRUE(rec.generations.empty());
    EXPECT_EQ(gc::get_count()[0], 3000u);
    gc::set_threshold(700);
    nodes.push_back(make<Node>());
    EXPECT_EQ(rec.generations, (std::vector<int>{0}));
  });
}

TEST(Trigger, DisableStopsAutomaticCollectionAndEnableResumesItAtTheNextAllocation) {
  in_fresh_heap([] {
    gc::set_threshold(10);
    gc::disable();
    Recorder rec;
    std::vector<Ref<Node>> nodes;
    for (int i = 0; i < 50; ++i) nodes.push_back(make<Node>());
    EXPECT_TRUE(rec.generations.empty());
    EXPECT_EQ(gc::get_count()[0], 50u);
    gc::enable();
    EXPECT_TRUE(rec.generations.empty()) << "enable() itself does not collect";
    nodes.push_back(make<Node>());
    EXPECT_EQ(rec.generations, (std::vector<int>{0}));
    EXPECT_EQ(gc::get_objects(1).size(), 50u);
  });
}

TEST(Trigger, UntrackedAllocationsNeverTrigger) {
  in_fresh_heap([] {
    gc::set_threshold(1);
    Recorder rec;
    Ref<Node> a = make<Node>();
    std::vector<Ref<Plain>> plain;
    for (int i = 0; i < 100; ++i) plain.push_back(make<Plain>());
    EXPECT_TRUE(rec.generations.empty());
    Ref<Node> b = make<Node>();
    EXPECT_EQ(rec.generations.size(), 1u);
  });
}

// Makes ten tracked children in its constructor: with a low threshold, the
// children's allocations trigger collections while it is half built.
struct ManyChildren : Object {
  ManyChildren() {
    for (int i = 0; i < 10; ++i) kids.push_back(make<Node>());
  }
  void traverse(ouro::Visitor& v) override { v(kids); }
  std::vector<Ref<Node>> kids;
};

TEST(Trigger, CollectionsTriggeredInsideAConstructorKeepTheHalfBuiltObjectsChildren) {
  in_fresh_heap([] {
    gc::set_threshold(2);
    Recorder rec;
    Ref<ManyChildren> parent = make<ManyChildren>();
    // 11 tracked allocations: the parent's (count0 1), then its children;
    // collections at the 3rd, 6th and 9th allocation.
    EXPECT_EQ(rec.generations, (std::vector<int>{0, 0, 0}));
    EXPECT_EQ(parent->kids.size(), 10u);
    for (const Ref<Node>& kid : parent->kids) EXPECT_EQ(ouro::refcount(*kid), 1u);
    EXPECT_EQ(gc::get_objects().size(), 11u);
    EXPECT_EQ(gc::collect(), 0u);
  });
}

// ---------------------------------------------------------------------------
// The 25% rule
//
// Setup shared by these tests: with automatic collection out of the way
// (huge thresholds), `base` objects survive a full collection
// (long_lived_total = base, pending 0), then `promoted` new objects survive
// a manual collect(1) (pending += promoted, count2 = 1). Then thresholds
// (1, huge, 0) make the second next allocation trigger, with count2 = 1 > 0:
// generation 2 if pending >= total / 4, else generation 0.
// ---------------------------------------------------------------------------

constexpr std::size_t kHuge = 1u << 30;

struct QuarterRuleHeap {
  std::vector<Ref<Node>> base, promoted, later;
  QuarterRuleHeap(int base_count, int promoted_count) {
    gc::set_threshold(kHuge, kHuge, kHuge);
    for (int i = 0; i < base_count; ++i) base.push_back(make<Node>());
    gc::collect();
    for (int i = 0; i < promoted_count; ++i) promoted.push_back(make<Node>());
    gc::collect(1);
    EXPECT_EQ(gc::get_count(), (Counts{0, 0, 1}));
  }
  // Two allocations with threshold0 = 1: the second triggers.
  void trigger() {
    gc::set_threshold(1, kHuge, 0);
    later.push_back(make<Node>());
    later.push_back(make<Node>());
  }
};

TEST(QuarterRule, FullCollectionWaitsWhilePendingIsUnderAQuarterOfLongLived) {
  in_fresh_heap([] {
    QuarterRuleHeap heap(100, 24);  // 24 < 100 / 4
    Recorder rec;
    heap.trigger();
    EXPECT_EQ(rec.generations, (std::vector<int>{0}));
  });
}

TEST(QuarterRule, FullCollectionRunsOncePendingReachesAQuarterOfLongLived) {
  in_fresh_heap([] {
    QuarterRuleHeap heap(100, 25);  // 25 >= 100 / 4
    Recorder rec;
    heap.trigger();
    EXPECT_EQ(rec.generations, (std::vector<int>{2}));
    EXPECT_EQ(gc::get_count(), (Counts{0, 0, 0}));
  });
}

TEST(QuarterRule, FullCollectionRestartsPendingAndLongLivedTotal) {
  in_fresh_heap([] {
    QuarterRuleHeap heap(100, 25);
    Recorder rec;
    heap.trigger();  // full: total 126 (100 + 25 + the first of `later`), pending 0
    ASSERT_EQ(rec.generations, (std::vector<int>{2}));
    // Each round: more objects promoted by collect(1), then a trigger.
    gc::set_threshold(kHuge, kHuge, kHuge);
    for (int i = 0; i < 30; ++i) heap.promoted.push_back(make<Node>());
    gc::collect(1);  // pending 31 (30 + the second of `later`)
    heap.trigger();
    EXPECT_EQ(rec.generations, (std::vector<int>{2, 1, 2}));  // the recorder sees the manual collect(1) too
    gc::set_threshold(kHuge, kHuge, kHuge);
    for (int i = 0; i < 40; ++i) heap.promoted.push_back(make<Node>());
    gc::collect(1);  // total 158 after the 2nd full; pending 41 (40 + 1) >= 39
    heap.trigger();
    EXPECT_EQ(rec.generations, (std::vector<int>{2, 1, 2, 1, 2}));
    gc::set_threshold(kHuge, kHuge, kHuge);
    for (int i = 0; i < 48; ++i) heap.promoted.push_back(make<Node>());
    gc::collect(1);  // total 200; pending 49 < 50
    heap.trigger();
    EXPECT_EQ(rec.generations, (std::vector<int>{2, 1, 2, 1, 2, 1, 0}));
  });
}

TEST(QuarterRule, FirstFullCollectionNeedsNoPendingObjects) {
  in_fresh_heap([] {
    gc::set_threshold(kHuge, kHuge, kHuge);
    gc::collect(1);  // count2 = 1, nothing pending, long_lived_total 0
    Recorder rec;
    gc::set_threshold(1, kHuge, 0);
    Ref<Node> a = make<Node>();
    Ref<Node> b = make<Node>();
    EXPECT_EQ(rec.generations, (std::vector<int>{2}));
  });
}

// The improvement over CPython: objects promoted into generation 2 that die
// by refcount stop counting as pending.

TEST(QuarterRule, PendingObjectsThatDieByRefcountNoLongerForceAFullCollection) {
  in_fresh_heap([] {
    QuarterRuleHeap heap(100, 40);  // pending 40
    heap.promoted.resize(10);       // 30 die: pending 10 here, still 40 in CPython
    Recorder rec;
    heap.trigger();
    // CPython 3.11: 40 >= 25, a full collection. Ours: 10 < 25.
    EXPECT_EQ(rec.generations, (std::vector<int>{0}));
  });
}

TEST(QuarterRule, PendingObjectsStillAliveStillForceAFullCollection) {
  in_fresh_heap([] {
    QuarterRuleHeap heap(100, 40);
    heap.promoted.resize(25);  // 15 die: 25 still pending, 25 >= 25
    Recorder rec;
    heap.trigger();
    EXPECT_EQ(rec.generations, (std::vector<int>{2}));
  });
}

TEST(QuarterRule, DeathsOfLongLivedNonPendingObjectsDoNotChangePending) {
  in_fresh_heap([] {
    QuarterRuleHeap heap(100, 25);
    heap.base.resize(10);  // 90 long-lived (not pending) objects die; total stays 100
    Recorder rec;
    heap.trigger();
    EXPECT_EQ(rec.generations, (std::vector<int>{2}));
  });
}

TEST(QuarterRule, ShortLivedObjectsPromotedByChanceInALoopDoNotForceFullCollections) {
  // A workload: a large long-lived structure, then a loop that makes one
  // garbage self-cycle and one temporary per iteration; each temporary lives
  // for 40 iterations, long enough to be promoted into generation 2 by a
  // generation-1 collection now and then, and then dies by refcount.
  // Thresholds (10, 1, 0): a collection every 11 net allocations, every
  // third of generation 1, and a full one whenever pending >= 2000 / 4.
  //
  // Ours: pending never exceeds the 40 live temporaries, so no full
  // collection runs: 269 collections of generation 0, 134 of generation 1.
  // CPython 3.11 keeps every promoted temporary pending after its death and
  // runs 7 full collections (264, 132, 7) for the same loop.
  in_fresh_heap([] {
    std::vector<Ref<Node>> structure;
    gc::set_threshold(kHuge, kHuge, kHuge);
    for (int i = 0; i < 2000; ++i) structure.push_back(make<Node>());
    gc::collect();  // long_lived_total 2000, all counts 0
    gc::set_threshold(10, 1, 0);
    Recorder rec;
    std::vector<Ref<Node>> window;
    for (int i = 0; i < 4000; ++i) {
      {
        Ref<Node> s = make<Node>();
        s->next = s;
      }
      window.push_back(make<Node>());
      if (window.size() > 40) window.erase(window.begin());
    }
    EXPECT_EQ(rec.per_generation(), (std::array<int, 3>{269, 134, 0}));
    EXPECT_EQ(rec.nested, 0);
  });
}

// ---------------------------------------------------------------------------
// No automatic collection while a collection runs
// ---------------------------------------------------------------------------

TEST(Reentrancy, AllocationsInACallbackDoNotStartANestedCollection) {
  in_fresh_heap([] {
    gc::set_threshold(5);
    Recorder rec;
    std::vector<Ref<Node>> made;
    rec.on_start = [&made] {
      for (int i = 0; i < 50; ++i) made.push_back(make<Node>());
    };
    std::vector<Ref<Node>> nodes;
    for (int i = 0; i < 6; ++i) nodes.push_back(make<Node>());
    EXPECT_EQ(rec.nested, 0);
    EXPECT_EQ(rec.generations, (std::vector<int>{0}));
    EXPECT_EQ(made.size(), 50u);
    rec.on_start = nullptr;
  });
}

TEST(Reentrancy, AllocationsInAManualCollectionsStopCallbackAreCountedAndTriggerLater) {
  in_fresh_heap([] {
    gc::set_threshold(5);
    std::vector<Ref<Node>> made;
    std::size_t id = gc::add_callback([&made](gc::Phase phase, const gc::CollectionInfo&) {
      if (phase == gc::Phase::stop && made.empty())
        for (int i = 0; i < 20; ++i) made.push_back(make<Node>());
    });
    EXPECT_EQ(gc::collect(), 0u);
    EXPECT_EQ(gc::get_count()[0], 20u) << "allocations during a collection are counted";
    EXPECT_EQ(gc::get_stats()[0].collections, 0u);
    Recorder rec;
    Ref<Node> next = make<Node>();
    EXPECT_EQ(rec.generations, (std::vector<int>{0}));
    gc::remove_callback(id);
  });
}

struct AllocatingFinalizer : Object {
  void traverse(ouro::Visitor& v) override { v(next); }
  void finalize() override {
    for (int i = 0; i < 100; ++i) out->push_back(make<Node>());
  }
  Ref<Object> next;
  std::vector<Ref<Node>>* out = nullptr;
};

TEST(Reentrancy, AllocationsInAFinalizerDuringAnAutomaticCollectionDoNotNest) {
  in_fresh_heap([] {
    std::vector<Ref<Node>> made;
    {
      Ref<AllocatingFinalizer> a = make<AllocatingFinalizer>();
      a->next = a;
      a->out = &made;
    }
    gc::set_threshold(3);
    Recorder rec;
    std::vector<Ref<Node>> nodes;
    for (int i = 0; i < 3; ++i) nodes.push_back(make<Node>());  // count0: 1 + 3 = 4 > 3 at the third
    EXPECT_EQ(rec.generations, (std::vector<int>{0}));
    EXPECT_EQ(rec.nested, 0);
    EXPECT_EQ(made.size(), 100u);
    EXPECT_EQ(gc::get_stats()[0].collected, 1u);
    // Counts were zeroed when the collection began; then the finalizer's 100
    // allocations count, and the death of the collected object (count0 > 0
    // by then) takes one off, as CPython's PyObject_GC_Del does. The third
    // node, whose allocation triggered the collection, is not counted.
    EXPECT_EQ(gc::get_count()[0], 99u);
  });
}

}  // namespace
