// inspect::find_cycles (ouro/inspect.hpp): every strongly connected
// group of tracked objects of more than one object or with a self
// reference, largest first, with its internal edges (field names) and
// `garbage` = no root reaches it; find_cycles(o) only o's group. Iterative:
// a million-object ring is found on a 256 KiB stack.
#include <gtest/gtest.h>

#include <algorithm>
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
using ouro_test::Holder;
using ouro_test::in_fresh_heap;

std::vector<std::string> reprs(const inspect::Cycle& c) {
  std::vector<std::string> out;
  for (const Ref<Object>& o : c.objects) out.push_back(o->repr());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> edges(const inspect::Cycle& c) {
  std::vector<std::string> out;
  for (const inspect::Edge& e : c.edges) out.push_back(e.from->repr() + "." + e.field + "->" + e.to->repr());
  std::sort(out.begin(), out.end());
  return out;
}

// Two boxes a <-> b: a.next = b, b.children = {a}; returns a.
Ref<Box> pair_cycle(const std::string& a_name, const std::string& b_name) {
  Ref<Box> a = make<Box>(a_name);
  a->next = make<Box>(b_name);
  a->next->children.push_back(a);
  return a;
}

TEST(FindCycles, LiveTwoObjectCycleWithItsNamedEdges) {
  in_fresh_heap([] {
    Ref<Box> a = pair_cycle("a", "b");
    make<Box>("lonely")->next = make<Box>("not a cycle");
    std::vector<inspect::Cycle> cycles = inspect::find_cycles();
    ASSERT_EQ(cycles.size(), 1u);
    EXPECT_EQ(reprs(cycles[0]), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(edges(cycles[0]), (std::vector<std::string>{"a.next->b", "b.children->a"}));
    EXPECT_FALSE(cycles[0].garbage);
  });
}

TEST(FindCycles, UnreferencedCycleIsGarbageAndTheCollectorAgrees) {
  in_fresh_heap([] {
    pair_cycle("a", "b");
    std::vector<inspect::Cycle> cycles = inspect::find_cycles();
    ASSERT_EQ(cycles.size(), 1u);
    EXPECT_TRUE(cycles[0].garbage);
    cycles.clear();  // our Refs would make it a root
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_TRUE(inspect::find_cycles().empty());
  });
}

TEST(FindCycles, SelfReferenceIsACycleOfOne) {
  in_fresh_heap([] {
    Ref<Anon> a = make<Anon>("self");
    a->link = a;
    std::vector<inspect::Cycle> cycles = inspect::find_cycles();
    ASSERT_EQ(cycles.size(), 1u);
    ASSERT_EQ(cycles[0].objects.size(), 1u);
    ASSERT_EQ(cycles[0].edges.size(), 1u);
    EXPECT_EQ(cycles[0].edges[0].field, "");
    EXPECT_FALSE(cycles[0].garbage);
  });
}

TEST(FindCycles, CycleHeldByALiveOutsiderIsNotGarbage) {
  in_fresh_heap([] {
    Ref<Box> outsider = make<Box>("outsider");
    outsider->next = pair_cycle("a", "b");
    std::vector<inspect::Cycle> cycles = inspect::find_cycles();
    ASSERT_EQ(cycles.size(), 1u);
    EXPECT_FALSE(cycles[0].garbage);
  });
}

TEST(FindCycles, CycleHeldByAnUntrackedObjectIsNotGarbage) {
  in_fresh_heap([] {
    Ref<Holder> holder = make<Holder>(pair_cycle("a", "b"));
    std::vector<inspect::Cycle> cycles = inspect::find_cycles();
    ASSERT_EQ(cycles.size(), 1u);
    EXPECT_FALSE(cycles[0].garbage);
  });
}

TEST(FindCycles, CycleReachableOnlyFromGarbageIsGarbage) {
  in_fresh_heap([] {
    {
      Ref<Box> first = pair_cycle("a", "b");
      first->maybe = pair_cycle("c", "d");
    }
    std::vector<inspect::Cycle> cycles = inspect::find_cycles();
    ASSERT_EQ(cycles.size(), 2u);
    EXPECT_TRUE(cycles[0].garbage);
    EXPECT_TRUE(cycles[1].garbage);
    cycles.clear();
    EXPECT_EQ(gc::collect(), 4u);
  });
}

TEST(FindCycles, LargestGroupFirst) {
  in_fresh_heap([] {
    Ref<Box> small = pair_cycle("a", "b");
    Ref<Box> ring = make<Box>("r0");
    Ref<Box> at = ring;
    for (int i = 1; i < 5; ++i) at = at->next = make<Box>("r" + std::to_string(i));
    at->next = ring;
    std::vector<inspect::Cycle> cycles = inspect::find_cycles();
    ASSERT_EQ(cycles.size(), 2u);
    EXPECT_EQ(cycles[0].objects.size(), 5u);
    EXPECT_EQ(cycles[0].edges.size(), 5u);
    EXPECT_EQ(cycles[1].objects.size(), 2u);
  });
}

TEST(FindCycles, OfAnObjectReturnsOnlyItsGroup) {
  in_fresh_heap([] {
    Ref<Box> a = pair_cycle("a", "b");
    Ref<Box> c = pair_cycle("c", "d");
    Ref<Box> alone = make<Box>("alone");
    Ref<Holder> untracked = make<Holder>(nullptr);
    std::vector<inspect::Cycle> mine = inspect::find_cycles(*c->next);
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(reprs(mine[0]), (std::vector<std::string>{"c", "d"}));
    EXPECT_TRUE(inspect::find_cycles(*alone).empty());
    EXPECT_TRUE(inspect::find_cycles(*untracked).empty());
  });
}

TEST(FindCycles, LegacyUncollectableCycleIsHeldByGcGarbage) {
  in_fresh_heap([] {
    EXPECT_EQ(ouro_test::leave_uncollectable_cycle(), 2u);
    std::vector<inspect::Cycle> cycles = inspect::find_cycles();
    ASSERT_EQ(cycles.size(), 1u);
    EXPECT_FALSE(cycles[0].garbage);  // gc::garbage() keeps it alive
    cycles.clear();
    gc::garbage().clear();
    gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
  });
}

// Holds `to` under each of `names`, in turn (the same pointer may repeat).
struct ManyNames : Object {
  void traverse(ouro::Visitor& v) override {
    for (const char* name : *names) v.named(name, to);
  }
  std::string repr() const override { return "many"; }
  const std::vector<const char*>* names = nullptr;
  Ref<Object> to;
};

TEST(FindCycles, EdgesKeepTheirNamesHoweverManyDistinctNamesTheHeapUses) {
  in_fresh_heap([] {
    // More names than one byte and than two bytes number, each met twice
    // (cached, then not), in an order that is not the order first met.
    constexpr std::size_t kNames = 70'000;
    std::vector<std::string> text;
    for (std::size_t i = 0; i < kNames; ++i) text.push_back("f" + std::to_string(i));
    std::vector<const char*> names;
    for (std::size_t i = 0; i < kNames; ++i) names.push_back(text[i].c_str());
    for (std::size_t i = kNames; i-- > 0;) names.push_back(text[i].c_str());
    Ref<ManyNames> a = make<ManyNames>();
    a->names = &names;
    Ref<Anon> b = make<Anon>("b");
    a->to = b;
    b->link = a;
    std::vector<inspect::Cycle> cycles = inspect::find_cycles();
    ASSERT_EQ(cycles.size(), 1u);
    std::vector<std::string> seen, wanted;
    for (const inspect::Edge& e : cycles[0].edges)
      if (e.from.get() == a.get()) seen.push_back(e.field);
    for (const char* n : names) wanted.push_back(n);
    EXPECT_EQ(seen, wanted);  // a's edges in traverse() order
    a->to.reset();
  });
}

TEST(FindCycles, MillionObjectRingOnA256KiBStack) {
  ouro_test::on_thread_with_stack(256 * 1024, [] {
    constexpr std::size_t kRing = 1'000'000;
    gc::disable();
    Ref<Anon> head = make<Anon>("head");
    Ref<Anon> at = head;
    for (std::size_t i = 1; i < kRing; ++i) {
      Ref<Anon> next = make<Anon>("n");
      at->link = next;
      at = std::move(next);
    }
    at->link = head;
    Anon* last = at.get();
    at.reset();
    {
      std::vector<inspect::Cycle> cycles = inspect::find_cycles();
      ASSERT_EQ(cycles.size(), 1u);
      EXPECT_EQ(cycles[0].objects.size(), kRing);
      EXPECT_EQ(cycles[0].edges.size(), kRing);
      EXPECT_FALSE(cycles[0].garbage);
    }
    EXPECT_EQ(inspect::why_alive(*last).size(), kRing - 1);
    head.reset();
    EXPECT_EQ(gc::collect(), kRing);
  });
}

}  // namespace
