// inspect::why_alive and inspect::is_root (ouro/inspect.hpp).
//
//   why_alive(o)   the shortest chain from a root to o, through named fields
//                  and containers; empty for a root, an immortal object, and
//                  an untracked object that no tracked object holds; the
//                  chain to the holder for an untracked object held by a
//                  tracked one; std::invalid_argument for cyclic garbage.
//   is_root(o)     a tracked object referenced from outside the tracked heap
//                  (a local, an untracked object, gc::garbage()); references
//                  from every generation, frozen ones included, are inside.
//   Neither collects nor changes a refcount.
#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/forensic_nodes.hpp"
#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
namespace inspect = ouro::inspect;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro_test::Anon;
using ouro_test::Box;
using ouro_test::fields_of;
using ouro_test::Holder;
using ouro_test::in_fresh_heap;
using ouro_test::path_of;

TEST(WhyAlive, ChainThroughNamedFieldsStartsAtTheRootAndEndsAtTheObject) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("a");
    a->next = make<Box>("b");
    a->next->children.push_back(make<Box>("c"));
    a->next->children[0]->by_name["k"] = make<Box>("d");
    Box* d = a->next->children[0]->by_name["k"].get();
    EXPECT_TRUE(inspect::is_root(*a));
    EXPECT_FALSE(inspect::is_root(*d));
    std::vector<inspect::Edge> chain = inspect::why_alive(*d);
    ASSERT_EQ(chain.size(), 3u);
    EXPECT_EQ(path_of(chain), "a -> b -> c -> d");
    EXPECT_EQ(fields_of(chain), "next/children/by_name");
    EXPECT_EQ(chain.front().from, a);
    EXPECT_EQ(chain.back().to.get(), d);
    // The chain's Refs are references from outside the tracked heap too.
    EXPECT_TRUE(inspect::is_root(*d));
  });
}

TEST(WhyAlive, OptionalAndPairMembersCarryTheirNames) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("a");
    a->maybe = make<Box>("m");
    (*a->maybe)->pair.first = make<Box>("p");
    std::vector<inspect::Edge> chain = inspect::why_alive(*(*a->maybe)->pair.first);
    EXPECT_EQ(path_of(chain), "a -> m -> p");
    EXPECT_EQ(fields_of(chain), "maybe/pair");
  });
}

TEST(WhyAlive, EdgesVisitedWithoutANameHaveAnEmptyField) {
  in_fresh_heap([] {
    Ref<Anon> a = make<Anon>("a");
    a->link = make<Anon>("b");
    std::vector<inspect::Edge> chain = inspect::why_alive(*a->link);
    ASSERT_EQ(chain.size(), 1u);
    EXPECT_EQ(chain[0].field, "");
    EXPECT_EQ(path_of(chain), "a -> b");
  });
}

// Visits its link under a null name.
struct NullNamed : ouro::Object {
  void traverse(ouro::Visitor& v) override { v.named(nullptr, link); }
  std::string repr() const override { return "null-named"; }
  Ref<Box> link;
};

TEST(WhyAlive, AMemberVisitedUnderANullNameHasAnEmptyField) {
  in_fresh_heap([] {
    Ref<NullNamed> a = make<NullNamed>();
    a->link = make<Box>("b");
    std::vector<inspect::Edge> chain = inspect::why_alive(*a->link);
    ASSERT_EQ(chain.size(), 1u);
    EXPECT_EQ(chain[0].field, "");
    std::ostringstream page;
    inspect::write_html(page);
    EXPECT_NE(page.str().find("(unnamed)"), std::string::npos);
  });
}

TEST(WhyAlive, ChoosesTheShortestOfSeveralChains) {
  in_fresh_heap([] {
    Ref<Box> root = make<Box>("root");
    Ref<Box> target = make<Box>("target");
    Ref<Box> at = root;
    for (int i = 0; i < 5; ++i) at = at->next = make<Box>("hop" + std::to_string(i));
    at->next = target;
    root->children.push_back(make<Box>("short"));
    root->children[0]->maybe = target;
    target.reset();
    at.reset();
    std::vector<inspect::Edge> chain = inspect::why_alive(**root->children[0]->maybe);
    EXPECT_EQ(path_of(chain), "root -> short -> target");
    EXPECT_EQ(fields_of(chain), "children/maybe");
  });
}

TEST(WhyAlive, ObjectHeldByALocalIsARootWithAnEmptyChain) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("a");
    Ref<Box> b = make<Box>("b");
    a->next = b;  // b is held by a, and by the local b as well
    EXPECT_TRUE(inspect::is_root(*b));
    EXPECT_TRUE(inspect::why_alive(*b).empty());
  });
}

TEST(WhyAlive, RootHeldOnlyByAnUntrackedObject) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("a");
    a->next = make<Box>("b");
    Ref<Holder> holder = make<Holder>(a);
    Box* raw = a.get();
    a.reset();
    EXPECT_TRUE(inspect::is_root(*raw));  // the holder is outside the tracked heap
    EXPECT_EQ(path_of(inspect::why_alive(*raw->next)), "a -> b");
  });
}

TEST(WhyAlive, UntrackedObjectHeldByATrackedOneGetsTheChainToItsHolder) {
  in_fresh_heap([] {
    Ref<Anon> a = make<Anon>("a");
    a->link = make<Holder>(nullptr);
    Object* held = a->link.get();
    EXPECT_FALSE(inspect::is_root(*held));
    EXPECT_EQ(path_of(inspect::why_alive(*held)), "a -> holder");
  });
}

TEST(WhyAlive, UntrackedObjectHeldOnlyFromOutsideHasAnEmptyChain) {
  in_fresh_heap([] {
    Ref<Holder> h = make<Holder>(nullptr);
    EXPECT_TRUE(inspect::why_alive(*h).empty());
    EXPECT_FALSE(inspect::is_root(*h));
  });
}

TEST(WhyAlive, UntrackedObjectHeldOnlyByGarbageThrows) {
  in_fresh_heap([] {
    Object* held;
    {
      Ref<Anon> x = make<Anon>("x");
      x->link = make<Anon>("y");
      static_cast<Anon&>(*x->link).link = x;
      x->extra = make<Holder>(nullptr);
      held = x->extra.get();
    }
    EXPECT_THROW(inspect::why_alive(*held), std::invalid_argument);
    EXPECT_EQ(gc::collect(), 2u);
  });
}

TEST(WhyAlive, UntrackedObjectHeldByALocalAndATrackedObjectHasAnEmptyChain) {
  in_fresh_heap([] {
    Ref<Anon> a = make<Anon>("a");
    Ref<Holder> local = make<Holder>(nullptr);
    a->link = local;
    EXPECT_TRUE(inspect::why_alive(*local).empty());
  });
}

// A deliberate leak, kept reachable for LeakSanitizer (as in immortal_test).
Object* immortal_for_lsan = nullptr;

TEST(WhyAlive, ImmortalObjectsHaveAnEmptyChain) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("a");
    a->next = make<Box>("b");
    ouro::immortalize(*a->next);
    immortal_for_lsan = a->next.get();
    EXPECT_TRUE(inspect::why_alive(*a->next).empty());
    EXPECT_TRUE(inspect::is_root(*a->next));
  });
}

TEST(WhyAlive, CyclicGarbageThrowsInvalidArgument) {
  in_fresh_heap([] {
    Box* raw;
    {
      Ref<Box> a = make<Box>("a");
      a->next = make<Box>("b");
      a->next->next = a;
      raw = a.get();
    }
    EXPECT_THROW(inspect::why_alive(*raw), std::invalid_argument);
    EXPECT_THROW(inspect::why_alive(*raw->next), std::invalid_argument);
    EXPECT_FALSE(inspect::is_root(*raw));
    EXPECT_EQ(gc::collect(), 2u);
  });
}

TEST(WhyAlive, GarbageUnderTheLegacyPolicyIsHeldByGcGarbage) {
  in_fresh_heap([] {
    EXPECT_EQ(ouro_test::leave_uncollectable_cycle(), 2u);
    ASSERT_EQ(gc::garbage().size(), 1u);
    Object& f = *gc::garbage()[0];
    EXPECT_TRUE(inspect::is_root(f));
    EXPECT_EQ(path_of(inspect::why_alive(*static_cast<Box&>(f).next)), "f -> n");
    gc::garbage().clear();
  });
}

TEST(WhyAlive, ReferencesFromFrozenObjectsAreInsideTheTrackedHeap) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("a");
    gc::freeze();
    a->next = make<Box>("b");  // b in gen0, held by a frozen object only
    EXPECT_FALSE(inspect::is_root(*a->next));
    EXPECT_EQ(path_of(inspect::why_alive(*a->next)), "a -> b");
    gc::unfreeze();
  });
}

TEST(WhyAlive, DoesNotCollectOrChangeRefcounts) {
  in_fresh_heap([] {
    std::size_t callbacks = 0;
    gc::add_callback([&](gc::Phase, const gc::CollectionInfo&) { ++callbacks; });
    gc::set_threshold(1);  // any tracked allocation would collect
    Ref<Box> a = make<Box>("a");
    a->next = make<Box>("b");
    a->next->next = a;
    Box* garbage;
    {
      Ref<Box> g = make<Box>("g");
      g->next = g;
      garbage = g.get();
    }
    callbacks = 0;
    auto stats = gc::get_stats();
    auto count = gc::get_count();
    std::size_t ra = ouro::refcount(*a), rb = ouro::refcount(*a->next), rg = ouro::refcount(*garbage);
    {
      auto chain = inspect::why_alive(*a->next);
      auto cycles = inspect::find_cycles();
      auto mine = inspect::find_cycles(*garbage);
      bool root = inspect::is_root(*a);
      auto types = inspect::type_stats();
      std::ostringstream dot, html;
      inspect::write_dot(dot, *a, 3, false);
      inspect::write_dot(dot, *a, 3, true);
      inspect::write_html(html);
      EXPECT_TRUE(root);
      EXPECT_EQ(cycles.size(), 2u);
    }
    EXPECT_EQ(ouro::refcount(*a), ra);
    EXPECT_EQ(ouro::refcount(*a->next), rb);
    EXPECT_EQ(ouro::refcount(*garbage), rg);
    EXPECT_EQ(callbacks, 0u);
    EXPECT_EQ(gc::get_count(), count);
    EXPECT_EQ(gc::get_stats()[0].collections, stats[0].collections);
    EXPECT_EQ(gc::get_stats()[2].collections, stats[2].collections);
    EXPECT_EQ(gc::get_objects().size(), 3u);
    EXPECT_EQ(gc::collect(), 1u);  // the self-loop g was still there for the collector
  });
}

TEST(OuroTraverse, CountsAsOverridingTraverseAndNamesEachMember) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("a");
    EXPECT_TRUE(gc::is_tracked(*a));
    a->next = make<Box>("b");
    a->children = {make<Box>("c")};
    a->by_name["x"] = make<Box>("d");
    a->maybe = make<Box>("e");
    a->pair.first = make<Box>("f");
    std::vector<std::string> got;
    for (Box* b : {a->next.get(), a->children[0].get(), a->by_name["x"].get(), a->maybe->get(), a->pair.first.get()})
      got.push_back(fields_of(inspect::why_alive(*b)));
    EXPECT_EQ(got, (std::vector<std::string>{"next", "children", "by_name", "maybe", "pair"}));
  });
}

}  // namespace
