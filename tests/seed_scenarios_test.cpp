// The scenarios of Python's memory-management documentation (the gc module's
// page, the reference-counting and garbage-collection explanations and the
// tutorials built on them; examples/tour.cpp replays them for reading), with
// the exact numbers CPython 3.11 gives.
//
// Each scenario runs on a fresh heap (defaults: 700/10/10, pep442, no debug).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <deque>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/text.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro::refcount;
using ouro_test::in_fresh_heap;

// What happened to the objects of one scenario.
struct Tally {
  int created = 0, destroyed = 0, finalized = 0;
  std::vector<std::string> log;
  int alive() const { return created - destroyed; }
};

// Refcounted only (no traverse), like a Python str.
struct Noisy : Object {
  Noisy(Tally& t, std::string n) : tally(t), name(std::move(n)) { ++tally.created; }
  ~Noisy() override {
    ++tally.destroyed;
    tally.log.push_back("destroyed " + name);
  }
  void greet() { tally.log.push_back("greet " + name); }
  Tally& tally;
  std::string name;
};

// A tracked graph node without a finalizer.
struct Node : Object {
  Node(Tally& t, std::string n) : tally(t), name(std::move(n)) { ++tally.created; }
  ~Node() override { ++tally.destroyed; }
  void traverse(ouro::Visitor& v) override { v(links); }
  Tally& tally;
  std::string name;
  std::vector<Ref<Object>> links;
};

// A tracked object with a finalizer (Python's __del__) and one link.
struct Resource : Object {
  Resource(Tally& t, std::string n) : tally(t), name(std::move(n)) { ++tally.created; }
  ~Resource() override {
    ++tally.destroyed;
    tally.log.push_back("destroyed " + name);
  }
  void traverse(ouro::Visitor& v) override { v(link); }
  void finalize() override {
    ++tally.finalized;
    const Resource* other = dynamic_cast<const Resource*>(link.get());
    tally.log.push_back("finalize " + name + " (link " + (other ? other->name : link ? "set" : "none") + ")");
  }
  Tally& tally;
  std::string name;
  Ref<Object> link;
};

void link(const Ref<Node>& from, const Ref<Object>& to) { from->links.push_back(to); }

std::vector<Ref<Node>> make_ring(Tally& t, const std::vector<std::string>& names) {
  std::vector<Ref<Node>> ring;
  for (const std::string& n : names) ring.push_back(make<Node>(t, n));
  for (std::size_t i = 0; i < ring.size(); ++i) link(ring[i], ring[(i + 1) % ring.size()]);
  return ring;
}

using ouro_test::address;
using ouro_test::lines_of;

// How many "gc: collecting generation N..." lines there are for each N.
std::array<int, 3> collecting_lines(const std::string& text) {
  std::array<int, 3> n{};
  for (const std::string& line : lines_of(text))
    for (int g = 0; g < 3; ++g)
      if (line == "gc: collecting generation " + std::to_string(g) + "...") ++n[static_cast<std::size_t>(g)];
  return n;
}

std::array<std::size_t, 3> collections_in_stats() {
  auto s = gc::get_stats();
  return {s[0].collections, s[1].collections, s[2].collections};
}

// ---------------------------------------------------------------------------
// Reference counting
// ---------------------------------------------------------------------------

TEST(SeedScenario, ReferencesAndReferenceCounts) {
  in_fresh_heap([] {
    Tally t;
    {
      Ref<Noisy> a = make<Noisy>(t, "spam");
      EXPECT_EQ(refcount(*a), 1u);
      Ref<Noisy> b = a;
      EXPECT_EQ(refcount(*a), 2u);
      std::vector<Ref<Noisy>> list{a, a};
      EXPECT_EQ(refcount(*a), 4u);
      list.clear();
      EXPECT_EQ(refcount(*a), 2u);
      auto inside = [](Ref<Noisy> arg) { return refcount(*arg); };
      EXPECT_EQ(inside(a), 3u);
      EXPECT_EQ(refcount(*a), 2u);
      EXPECT_TRUE(a == b);
      EXPECT_EQ(t.destroyed, 0);
    }
    EXPECT_EQ(t.destroyed, 1);
  });
}

TEST(SeedScenario, TemporaryDiesAtTheEndOfItsStatement) {
  in_fresh_heap([] {
    Tally t;
    make<Noisy>(t, "temporary")->greet();
    t.log.push_back("next statement");
    EXPECT_EQ(t.log, (std::vector<std::string>{"greet temporary", "destroyed temporary", "next statement"}));
  });
}

TEST(SeedScenario, TwoReferencesDeleteOneThenTheOther) {
  in_fresh_heap([] {
    Tally t;
    Ref<Noisy> a = make<Noisy>(t, "eggs");
    Ref<Noisy> b = a;
    a.reset();
    EXPECT_EQ(refcount(*b), 1u);
    EXPECT_EQ(t.destroyed, 0);
    b.reset();
    EXPECT_EQ(t.destroyed, 1) << "the last reference going destroys the object in the same call";
  });
}

// ---------------------------------------------------------------------------
// Cycles and the collector
// ---------------------------------------------------------------------------

TEST(SeedScenario, TwoObjectCycleSurvivesUntilCollect) {
  in_fresh_heap([] {
    Tally t;
    {
      Ref<Node> a = make<Node>(t, "a");
      Ref<Node> b = make<Node>(t, "b");
      link(a, b);
      link(b, a);
      EXPECT_EQ(refcount(*a), 2u);
      EXPECT_EQ(refcount(*b), 2u);
    }
    EXPECT_EQ(t.alive(), 2);
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(t.alive(), 0);
  });
}

TEST(SeedScenario, RingOfTen) {
  in_fresh_heap([] {
    Tally t;
    make_ring(t, {"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"});
    EXPECT_EQ(t.alive(), 10);
    EXPECT_EQ(gc::collect(), 10u);
    EXPECT_EQ(t.alive(), 0);
  });
}

TEST(SeedScenario, GetReferentsOnAThreeNodeRing) {
  in_fresh_heap([] {
    Tally t;
    std::vector<Ref<Node>> ring = make_ring(t, {"a", "b", "c"});
    for (std::size_t i = 0; i < 3; ++i) {
      std::vector<Ref<Object>> r = gc::get_referents(*ring[i]);
      ASSERT_EQ(r.size(), 1u);
      EXPECT_EQ(r[0].get(), ring[(i + 1) % 3].get());
    }
    ring[2]->links.clear();
  });
}

// The tutorials' cycle finder: breadth-first over get_referents from `start`
// until an edge leads back to it; returns start, ..., start.
std::vector<Ref<Object>> find_cycle(const Ref<Object>& start) {
  std::map<const Object*, Ref<Object>> parent;
  std::deque<Ref<Object>> queue{start};
  while (!queue.empty()) {
    Ref<Object> current = queue.front();
    queue.pop_front();
    for (Ref<Object>& next : gc::get_referents(*current)) {
      if (next == start) {
        std::vector<Ref<Object>> path{start};
        for (Ref<Object> p = current; p != start; p = parent.at(p.get())) path.insert(path.begin() + 1, p);
        path.push_back(start);
        return path;
      }
      if (parent.emplace(next.get(), current).second) queue.push_back(next);
    }
  }
  return {};
}

TEST(SeedScenario, BreadthFirstSearchOverGetReferentsFindsTheThreeCycle) {
  in_fresh_heap([] {
    Tally t;
    std::vector<Ref<Node>> ring = make_ring(t, {"a", "b", "c"});
    link(ring[0], make<Node>(t, "leaf x"));
    link(ring[1], make<Node>(t, "leaf y"));
    std::vector<Ref<Object>> path = find_cycle(ring[0]);
    ASSERT_EQ(path.size(), 4u);
    EXPECT_EQ(path[0].get(), ring[0].get());
    EXPECT_EQ(path[1].get(), ring[1].get());
    EXPECT_EQ(path[2].get(), ring[2].get());
    EXPECT_EQ(path[3].get(), ring[0].get());
    auto leaf = make<Node>(t, "lonely");
    EXPECT_TRUE(find_cycle(leaf).empty());
    path.clear();
    ring[2]->links.clear();
    ring.clear();
    EXPECT_EQ(t.alive(), 1) << "breaking the ring lets refcounting free all five";
  });
}

TEST(SeedScenario, CollectReturnsThreeThenZero) {
  in_fresh_heap([] {
    Tally t;
    make_ring(t, {"x", "y", "z"});
    EXPECT_EQ(gc::collect(), 3u);
    EXPECT_EQ(gc::collect(), 0u);
  });
}

// ---------------------------------------------------------------------------
// Finalizers in cycles
// ---------------------------------------------------------------------------

TEST(SeedScenario, LegacyFinalizerCycleIsUncollectableUntilTheProgramBreaksIt) {
  in_fresh_heap([] {
    Tally t;
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    {
      Ref<Resource> a = make<Resource>(t, "A");
      Ref<Resource> b = make<Resource>(t, "B");
      a->link = b;
      b->link = a;
    }
    EXPECT_EQ(gc::collect(), 2u);
    ASSERT_EQ(gc::garbage().size(), 2u);
    std::set<std::string> names;
    for (const Ref<Object>& o : gc::garbage()) {
      names.insert(ouro::ref_cast<Resource>(o)->name);
      EXPECT_FALSE(gc::is_finalized(*o));
    }
    EXPECT_EQ(names, (std::set<std::string>{"A", "B"}));
    EXPECT_EQ(t.finalized, 0);
    EXPECT_EQ(t.alive(), 2);
    EXPECT_EQ(gc::get_stats()[2].uncollectable, 2u);
    EXPECT_EQ(gc::get_stats()[2].collected, 0u);

    EXPECT_EQ(gc::collect(), 0u) << "garbage() holds them: no longer unreachable";

    ouro::ref_cast<Resource>(gc::garbage()[0])->link.reset();  // break the cycle
    EXPECT_EQ(t.alive(), 2);
    gc::garbage().clear();
    EXPECT_EQ(t.alive(), 0);
    EXPECT_EQ(t.finalized, 2) << "each finalizer ran once, by refcount";
    for (const char* n : {"A", "B"}) {
      auto fin = std::find(t.log.begin(), t.log.end(), std::string("destroyed ") + n);
      auto f = std::find_if(t.log.begin(), t.log.end(),
                            [n](const std::string& s) { return s.rfind(std::string("finalize ") + n, 0) == 0; });
      EXPECT_LT(f - t.log.begin(), fin - t.log.begin()) << n << " finalized before destroyed";
    }
  });
}

TEST(SeedScenario, Pep442FinalizerCycleIsFinalizedOnceWhileIntactThenCollected) {
  in_fresh_heap([] {
    Tally t;
    {
      Ref<Resource> a = make<Resource>(t, "A");
      Ref<Resource> b = make<Resource>(t, "B");
      a->link = b;
      b->link = a;
    }
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_TRUE(gc::garbage().empty());
    EXPECT_EQ(t.finalized, 2);
    EXPECT_EQ(t.alive(), 0);
    std::vector<std::string> finalizes(t.log.begin(), t.log.begin() + 2);
    std::sort(finalizes.begin(), finalizes.end());
    EXPECT_EQ(finalizes, (std::vector<std::string>{"finalize A (link B)", "finalize B (link A)"}))
        << "both finalizers run before anything is destroyed, with the cycle intact";
    EXPECT_EQ(gc::get_stats()[2].collected, 2u);
    EXPECT_EQ(gc::get_stats()[2].uncollectable, 0u);
  });
}

TEST(SeedScenario, ReferrersOfWhatSitsInGarbageAreFoundAndCut) {
  in_fresh_heap([] {
    Tally t;
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    {
      Ref<Resource> r = make<Resource>(t, "R");
      Ref<Node> n1 = make<Node>(t, "n1");
      Ref<Node> n2 = make<Node>(t, "n2");
      r->link = n1;
      link(n1, n2);
      link(n2, r);
    }
    EXPECT_EQ(gc::collect(), 3u) << "R and the two nodes it reaches are uncollectable";
    ASSERT_EQ(gc::garbage().size(), 1u) << "only the finalizer object goes to garbage()";
    EXPECT_EQ(ouro::ref_cast<Resource>(gc::garbage()[0])->name, "R");
    int cut = 0;
    for (const Ref<Object>& junk : gc::garbage()) {
      std::vector<Ref<Object>> holders = gc::get_referrers(*junk);
      ASSERT_EQ(holders.size(), 1u);
      Ref<Node> node = ouro::dynamic_ref_cast<Node>(holders[0]);
      ASSERT_TRUE(node);
      EXPECT_EQ(node->name, "n2");
      cut += static_cast<int>(std::erase(node->links, junk));
    }
    EXPECT_EQ(cut, 1);
    EXPECT_EQ(t.alive(), 3);
    gc::garbage().clear();
    EXPECT_EQ(t.alive(), 0) << "refcounting frees R, then n1, then n2";
    EXPECT_EQ(t.finalized, 1);
  });
}

// ---------------------------------------------------------------------------
// Thresholds: gc.set_threshold(5, 2) with DEBUG_STATS
//
// CPython 3.11: each tracked allocation adds one to count0 before the object
// exists, each death removes one (not below 0). When count0 > 5, the oldest
// generation whose count is over its threshold is collected (gen2 also needs
// pending >= long_lived_total / 4); collecting g zeroes counts 0..g and adds
// one to count(g+1). So a collection every 6 allocations, and every 4th
// collection is of generation 1 (count1 > 2); the 12th generation-1 slot
// becomes a full collection (count2 > 10).
// ---------------------------------------------------------------------------

TEST(SeedScenario, ThresholdsFiveAndTwoWithThreeHundredKeptAllocations) {
  in_fresh_heap([] {
    Tally t;
    std::ostringstream out;
    gc::set_threshold(5, 2);
    EXPECT_EQ(gc::get_threshold().gen2, 10u);
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_STATS);
    std::vector<Ref<Node>> kept;
    for (int i = 0; i < 300; ++i) kept.push_back(make<Node>(t, "k"));
    gc::set_debug(0);
    // 50 collections: at allocation 270 (the 45th) count2 is 11 and the 25%
    // rule passes (long_lived_total is 0): a full collection.
    EXPECT_EQ(collecting_lines(out.str()), (std::array<int, 3>{37, 12, 1}));
    EXPECT_EQ(collections_in_stats(), (std::array<std::size_t, 3>{37, 12, 1}));
    EXPECT_EQ(gc::get_count(), (std::array<std::size_t, 3>{0, 1, 1}));
  });
}

TEST(SeedScenario, ThresholdsFiveAndTwoWithTheTourLoopOfKeptObjectsAndGarbagePairs) {
  in_fresh_heap([] {
    Tally t;
    std::ostringstream out;
    gc::set_threshold(5, 2);
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_STATS);
    std::vector<Ref<Node>> kept;
    for (int i = 0; i < 16; ++i) {
      kept.push_back(make<Node>(t, "kept"));
      Ref<Node> a = make<Node>(t, "a");
      link(a, make<Node>(t, "b"));
      link(ouro::ref_cast<Node>(a->links[0]), a);
    }
    gc::set_debug(0);
    // 48 allocations, no death by refcount: 8 collections, the 4th and 8th of
    // generation 1.
    EXPECT_EQ(collecting_lines(out.str()), (std::array<int, 3>{6, 2, 0}));
    EXPECT_EQ(gc::get_count(), (std::array<std::size_t, 3>{0, 0, 2}));
    kept.clear();
    gc::collect();
    EXPECT_EQ(t.alive(), 0);
  });
}

TEST(SeedScenario, ThresholdsFiveAndTwoWhereTheQuarterRuleDelaysFullCollections) {
  in_fresh_heap([] {
    Tally t;
    std::ostringstream out;
    gc::set_threshold(5, 2);
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_STATS);
    std::vector<Ref<Node>> kept;
    kept.reserve(1500);
    for (int i = 0; i < 1500; ++i) kept.push_back(make<Node>(t, "k"));
    gc::set_debug(0);
    // 250 collections. Full collections at the 45th, 90th, 135th and 180th
    // (the last leaves 1079 long-lived objects). At the 225th count2 is 11
    // but only 264 objects are pending, fewer than 1079 / 4 = 269: the 225th
    // to 228th collections are younger ones (the 228th, of generation 1,
    // brings pending to 288) and the full collection waits until the 229th.
    EXPECT_EQ(collecting_lines(out.str()), (std::array<int, 3>{184, 61, 5}));
    EXPECT_EQ(gc::get_count(), (std::array<std::size_t, 3>{0, 1, 5}));
  });
}

TEST(SeedScenario, ShortLivedObjectsNeverTriggerACollection) {
  in_fresh_heap([] {
    Tally t;
    std::ostringstream out;
    gc::set_threshold(5, 2);
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_STATS);
    Ref<Node> x;
    for (int i = 0; i < 1000; ++i) x = make<Node>(t, "x");  // the previous one dies
    for (int i = 0; i < 1000; ++i) make<Node>(t, "temp");  // dies at once
    gc::set_debug(0);
    EXPECT_EQ(out.str(), "");
    EXPECT_EQ(gc::get_count()[0], 1u);
  });
}

// ---------------------------------------------------------------------------
// Debug flags
// ---------------------------------------------------------------------------

TEST(SeedScenario, DebugCollectableAndUncollectableLinesUnderLegacy) {
  in_fresh_heap([] {
    Tally t;
    std::ostringstream out;
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_COLLECTABLE | gc::DEBUG_UNCOLLECTABLE);
    std::set<std::string> nodes, resources;
    {
      Ref<Node> p = make<Node>(t, "P");
      Ref<Node> q = make<Node>(t, "Q");
      link(p, q);
      link(q, p);
      Ref<Resource> r = make<Resource>(t, "R");
      Ref<Resource> s = make<Resource>(t, "S");
      r->link = s;
      s->link = r;
      nodes = {address(p.get()), address(q.get())};
      resources = {address(r.get()), address(s.get())};
    }
    EXPECT_EQ(gc::collect(), 4u);
    EXPECT_EQ(gc::garbage().size(), 2u);
    std::vector<std::string> lines = lines_of(out.str());
    const std::regex collectable("gc: collectable <Node (0x[0-9a-f]+)>");
    const std::regex uncollectable("gc: uncollectable <Resource (0x[0-9a-f]+)>");
    std::set<std::string> seen_collectable, seen_uncollectable;
    for (const std::string& line : lines) {
      std::smatch m;
      if (std::regex_match(line, m, collectable))
        seen_collectable.insert(m[1]);
      else if (std::regex_match(line, m, uncollectable))
        seen_uncollectable.insert(m[1]);
      else
        ADD_FAILURE() << "unexpected debug line: " << line;
    }
    EXPECT_EQ(lines.size(), 4u);
    EXPECT_EQ(seen_collectable, nodes);
    EXPECT_EQ(seen_uncollectable, resources);
    gc::set_debug(0);
    gc::garbage().clear();
    gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(t.alive(), 0);
  });
}

TEST(SeedScenario, DebugSaveAllKeepsEveryUnreachableObjectInGarbageWithItsCycleIntact) {
  in_fresh_heap([] {
    Tally t;
    gc::set_debug(gc::DEBUG_SAVEALL);
    make_ring(t, {"a", "b", "c"});
    EXPECT_EQ(gc::collect(), 3u);
    EXPECT_EQ(t.alive(), 3);
    ASSERT_EQ(gc::garbage().size(), 3u);
    for (const Ref<Object>& o : gc::garbage()) EXPECT_EQ(gc::get_referents(*o).size(), 1u) << "not cleared";
    EXPECT_EQ(gc::collect(), 0u);
    gc::set_debug(0);
    gc::garbage().clear();
    EXPECT_EQ(gc::collect(), 3u);
    EXPECT_EQ(t.alive(), 0);
  });
}

TEST(SeedScenario, DebugLeakIsCollectableUncollectableAndSaveAll) {
  EXPECT_EQ(static_cast<unsigned>(gc::DEBUG_LEAK), 2u + 4u + 32u);
  EXPECT_EQ(static_cast<unsigned>(gc::DEBUG_LEAK),
            static_cast<unsigned>(gc::DEBUG_COLLECTABLE | gc::DEBUG_UNCOLLECTABLE | gc::DEBUG_SAVEALL));
  EXPECT_EQ(static_cast<unsigned>(gc::DEBUG_STATS), 1u);
  in_fresh_heap([] {
    Tally t;
    std::ostringstream out;
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_LEAK);
    EXPECT_EQ(gc::get_debug(), 38u);
    make_ring(t, {"p", "q"});
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(gc::garbage().size(), 2u);
    EXPECT_EQ(t.alive(), 2);
    std::vector<std::string> lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 2u);
    for (const std::string& line : lines) EXPECT_TRUE(std::regex_match(line, std::regex("gc: collectable <Node 0x[0-9a-f]+>")));
    gc::set_debug(0);
    gc::garbage().clear();
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(t.alive(), 0);
  });
}

TEST(SeedScenario, SaveAllUnderLegacyPutsEveryUncollectableObjectInGarbage) {
  in_fresh_heap([] {
    Tally t;
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    gc::set_debug(gc::DEBUG_SAVEALL);
    {
      Ref<Resource> r = make<Resource>(t, "R");
      Ref<Node> n = make<Node>(t, "n");
      r->link = n;
      link(n, r);
      make_ring(t, {"x", "y"});
    }
    EXPECT_EQ(gc::collect(), 4u);
    EXPECT_EQ(gc::get_stats()[2].uncollectable, 2u);
    EXPECT_EQ(gc::get_stats()[2].collected, 2u);
    EXPECT_EQ(gc::garbage().size(), 4u) << "the collectable pair, and R and n";
    EXPECT_EQ(t.finalized, 0);
    gc::set_debug(0);
    gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
    gc::garbage().clear();
    EXPECT_EQ(gc::collect(), 4u);
    EXPECT_EQ(t.alive(), 0);
  });
}

}  // namespace
