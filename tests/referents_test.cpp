// get_referents and get_referrers (ouro/gc.hpp; docs/design/decisions.md
// for frozen objects):
//
//   get_referents  what traverse() visits, in order, duplicates kept.
//   get_referrers  tracked objects (gens 0..2, not frozen) whose traverse
//                  visits the object, each once.
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
using ouro_test::in_fresh_heap;
using ouro_test::PlainNode;
using ouro_test::TrackedNode;

// Visits its members in a fixed order, one of them twice.
struct Visits : Object {
  void traverse(ouro::Visitor& v) override { v(first, second, first, untracked); }
  Ref<Object> first, second, untracked;
};

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

}  // namespace
