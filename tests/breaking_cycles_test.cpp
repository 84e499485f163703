// Breaking cycles (ouro/gc.hpp): how a collection frees its garbage.
//
//   Every Ref that traverse() visits on a garbage object is reset before
//   any destructor of that garbage runs; live objects that the garbage
//   refers to keep their own Refs; an object a destructor of the garbage
//   keeps lives on, cleared, in the oldest generation.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/instrumented.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro_test::in_fresh_heap;

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

}  // namespace
