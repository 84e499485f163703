// User code in collections: finalizers and callbacks that freeze,
// unfreeze or allocate while a collection runs. The garbage is still
// reclaimed, and a callback's allocations start no nested collection.
#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/counted_nodes.hpp"
#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Ref;
using ouro_test::alive;
using ouro_test::N;
using ouro_test::Record;

struct Counted : N {
  using N::N;
};

struct FreezesOrUnfreezes : N {
  FreezesOrUnfreezes(Record& r, bool f) : N(r), freeze(f) {}
  void finalize() override {
    ++record.finalized[static_cast<std::size_t>(id)];
    if (freeze)
      gc::freeze();
    else
      gc::unfreeze();
  }
  bool freeze;
};

void make_garbage_cycle_that(Record& r, bool freeze) {
  Ref<FreezesOrUnfreezes> a = make<FreezesOrUnfreezes>(r, freeze);
  a->next = make<N>(r);
  a->next->next = a;
}

TEST(UserCodeInCollections, FinalizerThatFreezesFreezesTheSurvivorsAndTheGarbageIsStillReclaimed) {
  ouro_test::in_fresh_heap([] {
    Record r;
    Ref<N> kept = make<N>(r);
    kept->next = make<N>(r);
    make_garbage_cycle_that(r, true);
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(gc::get_freeze_count(), 2u) << "the survivors, already in generation 2, were frozen";
    EXPECT_EQ(alive(r), 2);
    gc::unfreeze();
    EXPECT_EQ(gc::get_objects(2).size(), 2u);
  });
}

TEST(UserCodeInCollections, FinalizerThatUnfreezesBringsTheFrozenObjectsBackAndTheGarbageIsStillReclaimed) {
  ouro_test::in_fresh_heap([] {
    Record r;
    {
      Ref<N> frozen_garbage = make<N>(r);
      frozen_garbage->next = frozen_garbage;
    }
    gc::freeze();
    make_garbage_cycle_that(r, false);
    EXPECT_EQ(gc::collect(), 2u) << "the frozen cycle was not part of this collection";
    EXPECT_EQ(gc::get_freeze_count(), 0u);
    EXPECT_EQ(alive(r), 1);
    EXPECT_EQ(gc::collect(), 1u) << "the next collection sees it";
    EXPECT_EQ(alive(r), 0);
  });
}

TEST(UserCodeInCollections, CallbackThatFreezesAtStartLeavesNothingToCollectAndUnfreezingAtStopBringsItBack) {
  ouro_test::in_fresh_heap([] {
    Record r;
    {
      Ref<N> a = make<N>(r);
      a->next = a;
    }
    std::size_t id = gc::add_callback([](gc::Phase phase, const gc::CollectionInfo&) {
      if (phase == gc::Phase::start)
        gc::freeze();
      else
        gc::unfreeze();
    });
    EXPECT_EQ(gc::collect(), 0u);
    EXPECT_EQ(alive(r), 1);
    EXPECT_EQ(gc::get_freeze_count(), 0u);
    EXPECT_EQ(gc::get_objects(2).size(), 1u);
    gc::remove_callback(id);
    EXPECT_EQ(gc::collect(), 1u);
    EXPECT_EQ(alive(r), 0);
  });
}

TEST(UserCodeInCollections, CallbacksThatAllocateTrackedObjectsStartNoNestedCollection) {
  ouro_test::in_fresh_heap([] {
    Record r;
    r.finalized.resize(1000);
    r.destroyed.resize(1000);
    std::vector<Ref<N>> made;
    int starts = 0;
    gc::set_threshold(1);
    gc::add_callback([&](gc::Phase phase, const gc::CollectionInfo&) {
      starts += phase == gc::Phase::start;
      for (int i = 0; i < 100; ++i) {
        made.push_back(make<N>(r));
        make<N>(r)->next = make<N>(r);  // and some that die at once
      }
    });
    {
      Ref<N> a = make<N>(r);  // with threshold 1, this make may already collect
      a->next = a;
    }
    starts = 0;
    made.clear();
    gc::collect();
    EXPECT_EQ(starts, 1);
    EXPECT_EQ(made.size(), 200u) << "100 at start, 100 at stop";
    EXPECT_EQ(alive(r), 200);
    EXPECT_EQ(gc::get_objects().size(), 200u);
    gc::set_threshold(0);
    made.clear();
  });
}

}  // namespace
