// The gc module's view of the heap (ouro/gc.hpp): is_tracked,
// is_finalized, get_objects() and get_objects(g).
#include <gtest/gtest.h>

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
using ouro_test::contains;
using ouro_test::Events;
using ouro_test::FinalizedNode;
using ouro_test::in_fresh_heap;
using ouro_test::PlainNode;
using ouro_test::TrackedNode;

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
