// How the collector marks (src/reachability.cpp, "mark_along_edges"): it
// records the references that traverse() reports while counting, with each
// object's number of them in one byte (255 and more kept aside), and marks
// along that record in table order: references forward are marked ahead,
// references back to objects already passed go on a stack with the place of
// their references. These tests build graphs that exercise each of those
// cases — objects with hundreds or thousands of references, references in
// both directions of allocation order, long chains pointing backwards,
// references to objects outside the collected generations — and check the
// outcome of every collection against reachability computed here. The scan
// runs backwards when the references mostly lead to older objects (a
// sample of the record decides): the biased random graphs below make it
// take each direction.
#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/reachability.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;

struct Graph;

struct Vertex : Object {
  Vertex(Graph& g, int vertex_id) : graph(g), id(vertex_id) {}
  ~Vertex() override;
  void traverse(ouro::Visitor& v) override { v(out); }
  Graph& graph;
  int id;
  std::vector<Ref<Vertex>> out;
};

struct Graph {
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  // Vertices record their death here: none may outlive the graph.
  ~Graph() {
    roots.clear();
    gc::collect();
  }

  std::vector<Vertex*> vertex;           // raw: the test's view, never a reference
  std::vector<std::vector<int>> edges;   // the model of `out`
  std::vector<char> destroyed;
  std::vector<Ref<Vertex>> roots;
  std::vector<int> root_ids;

  int add() {
    int id = static_cast<int>(vertex.size());
    Ref<Vertex> v = make<Vertex>(*this, id);
    vertex.push_back(v.get());
    edges.emplace_back();
    destroyed.push_back(0);
    roots.push_back(v);  // held until link() is done
    return id;
  }
  void link(int from, int to) {
    vertex[static_cast<std::size_t>(from)]->out.push_back(ouro::ref(vertex[static_cast<std::size_t>(to)]));
    edges[static_cast<std::size_t>(from)].push_back(to);
  }
  // Keeps only the listed (live) vertices as roots; the others live on only
  // through references (or die by refcount right here when nothing refers
  // to them).
  void keep_roots(const std::vector<int>& ids) {
    std::vector<Ref<Vertex>> kept;
    for (int id : ids) kept.push_back(ouro::ref(vertex[static_cast<std::size_t>(id)]));
    root_ids = ids;
    roots = std::move(kept);
  }
  std::vector<char> reachable() const {
    return ouro_test::reach(edges, root_ids, ouro_test::Set(edges.size(), 1));
  }
  // After a full collection: exactly the unreachable vertices are gone.
  void expect_only_reachable_alive(const char* what) const {
    std::vector<char> live = reachable();
    for (std::size_t i = 0; i < edges.size(); ++i)
      ASSERT_EQ(destroyed[i], live[i] ? 0 : 1) << what << ": vertex " << i << (live[i] ? " reachable" : " unreachable");
  }
  std::size_t unreachable_count() const {
    std::vector<char> live = reachable();
    std::size_t n = 0;
    for (std::size_t i = 0; i < edges.size(); ++i) n += live[i] == 0 && destroyed[i] == 0;
    return n;
  }
};

Vertex::~Vertex() { ++graph.destroyed[static_cast<std::size_t>(id)]; }

// Collects everything unreachable and checks the count and who died.
void collect_and_check(Graph& g, const char* what) {
  std::size_t expected = g.unreachable_count();
  EXPECT_EQ(gc::collect(), expected) << what;
  g.expect_only_reachable_alive(what);
}

TEST(Marking, AHubWithThousandsOfReferencesBackAndForthKeepsExactlyWhatItReaches) {
  ouro_test::in_fresh_heap([] {
    gc::disable();
    Graph g;
    for (int i = 0; i < 1500; ++i) g.add();
    int hub = g.add();  // in the middle of the table: references go back and forward
    for (int i = 0; i < 1500; ++i) g.add();
    for (int i = 0; i < 3001; ++i)
      if (i != hub && i % 3 != 0) g.link(hub, i);
    for (int i = 0; i + 1 < 3001; ++i) g.link(i + 1, i);  // a chain pointing back, through the hub too
    g.link(0, hub);                                        // and a cycle through all of them
    g.keep_roots({});
    collect_and_check(g, "unreferenced hub");  // all garbage
  });
}

TEST(Marking, ReachableOnlyThroughAWideObjectAfterTheScanPassedThem) {
  ouro_test::in_fresh_heap([] {
    gc::disable();
    Graph g;
    // Vertices 0..599 refer to nothing alive from outside; the wide object at
    // the end (made last, so scanned last) is the only root and reaches the
    // even ones, which the scan passed unmarked: all of them come back
    // through the stack, with their own references (each refers to the next
    // vertex, odd ones included).
    for (int i = 0; i < 600; ++i) g.add();
    int wide = g.add();
    for (int i = 0; i < 600; i += 2) g.link(wide, i);
    for (int i = 0; i + 1 < 600; i += 2) g.link(i, i + 1);
    for (int i = 1; i + 1 < 600; i += 4) g.link(i, i - 1);  // cycles inside
    g.keep_roots({wide});
    collect_and_check(g, "wide root at the end");
    EXPECT_EQ(gc::collect(), 0u);
    g.keep_roots({});
    collect_and_check(g, "then dropped");
  });
}

TEST(Marking, AWideObjectThatIsGarbageDoesNotKeepItsTargets) {
  ouro_test::in_fresh_heap([] {
    gc::disable();
    Graph g;
    int live = g.add();
    int wide = g.add();
    for (int i = 0; i < 700; ++i) {
      int v = g.add();
      g.link(wide, v);
      g.link(v, wide);  // every target refers back: 700 two-object cycles through one hub
    }
    for (int i = 0; i < 300; ++i) g.link(live, g.add());  // a second wide object, alive
    g.keep_roots({live});
    collect_and_check(g, "wide garbage beside a wide live object");
  });
}

TEST(Marking, ALongChainPointingBackwardsFromTheLastObjectIsKept) {
  ouro_test::in_fresh_heap([] {
    gc::disable();
    Graph g;
    constexpr int kLength = 100000;
    for (int i = 0; i < kLength; ++i) {
      g.add();
      if (i > 0) g.link(i, i - 1);
    }
    g.link(0, kLength - 1);  // a ring
    g.keep_roots({kLength - 1});
    collect_and_check(g, "ring held at its newest vertex");
    g.keep_roots({});
    collect_and_check(g, "ring dropped");
  });
}

TEST(Marking, YoungCollectionsKeepWhatOlderGenerationsReachAmongWideObjects) {
  ouro_test::in_fresh_heap([] {
    gc::disable();
    Graph g;
    int old_hub = g.add();
    gc::collect();  // old_hub is now in generation 2
    for (int i = 0; i < 400; ++i) g.add();  // 1..400 in generation 0
    for (int i = 1; i <= 400; i += 2) g.link(old_hub, i);
    int young_hub = g.add();
    for (int i = 1; i <= 400; ++i) g.link(young_hub, i);
    for (int i = 1; i <= 400; ++i) g.link(i, young_hub);
    g.keep_roots({old_hub});
    // The young hub and everything are reachable from the old hub (through
    // the odd vertices, which refer to the young hub).
    EXPECT_EQ(gc::collect(0), 0u);
    g.expect_only_reachable_alive("young collection");
    for (Ref<Vertex>& r : g.vertex[0]->out) r.reset();
    g.vertex[0]->out.clear();
    g.edges[0].clear();
    EXPECT_EQ(gc::collect(1), 401u);  // generation 1 now holds them all
    g.expect_only_reachable_alive("after the old hub let go");
  });
}

TEST(Marking, RandomGraphsWithSomeVeryWideObjectsMatchReachability) {
  for (unsigned seed = 1; seed <= 12; ++seed) {
    ouro_test::in_fresh_heap([seed] {
      gc::disable();
      std::mt19937 rng(seed);
      Graph g;
      const int n = 2000;
      for (int i = 0; i < n; ++i) g.add();
      std::uniform_int_distribution<int> any(0, n - 1);
      for (int i = 0; i < n; ++i) {
        int degree = static_cast<int>(rng() % 4);
        if (rng() % 97 == 0) degree = 200 + static_cast<int>(rng() % 400);  // a few wide ones
        for (int k = 0; k < degree; ++k) g.link(i, any(rng));
      }
      std::vector<int> roots;
      for (int k = 0; k < 6; ++k) roots.push_back(any(rng));
      g.keep_roots(roots);
      collect_and_check(g, "random graph");
      EXPECT_EQ(gc::collect(), 0u);
      g.keep_roots({roots[0]});
      collect_and_check(g, "fewer roots");
    });
  }
}

// Random graphs over several of the table's chunks whose references mostly
// lead one way in allocation order (`back_percent` of them to older
// vertices), so that marking scans the table backwards or forwards, with a
// few wide vertices and references the other way.
void check_random_graph_leaning(unsigned seed, unsigned back_percent) {
  ouro_test::in_fresh_heap([seed, back_percent] {
    gc::disable();
    std::mt19937 rng(seed);
    Graph g;
    const int n = 10000;
    for (int i = 0; i < n; ++i) g.add();
    for (int i = 0; i < n; ++i) {
      int degree = static_cast<int>(rng() % 3);
      if (rng() % 211 == 0) degree = 255 + static_cast<int>(rng() % 300);
      for (int k = 0; k < degree; ++k) {
        bool back = rng() % 100 < back_percent;
        if (back && i > 0) g.link(i, static_cast<int>(rng() % static_cast<unsigned>(i)));
        if (!back && i + 1 < n) g.link(i, i + 1 + static_cast<int>(rng() % static_cast<unsigned>(n - i - 1)));
      }
    }
    std::vector<int> roots;
    for (int k = 0; k < 8; ++k) roots.push_back(static_cast<int>(rng() % n));
    g.keep_roots(roots);
    collect_and_check(g, "leaning graph");
    g.keep_roots({roots[0], roots[1]});
    collect_and_check(g, "fewer roots");
    g.keep_roots({});
    collect_and_check(g, "no roots");
  });
}

TEST(Marking, RandomGraphsWhoseReferencesMostlyLeadBackMatchReachability) {
  for (unsigned seed = 1; seed <= 6; ++seed) check_random_graph_leaning(seed, 85);
}

TEST(Marking, RandomGraphsWhoseReferencesMostlyLeadForwardMatchReachability) {
  for (unsigned seed = 1; seed <= 6; ++seed) check_random_graph_leaning(seed, 15);
}

// Trees built children first (each parent made after its subtrees, as
// bottom-up construction does) with references from children back to their
// parents: the record leans back and the scan runs backwards. A subtree cut
// off still points to the rest of the tree; nothing points to it.
TEST(Marking, TreesBuiltChildrenFirstWithParentLinksLoseExactlyTheDroppedSubtrees) {
  ouro_test::in_fresh_heap([] {
    gc::disable();
    Graph g;
    // Builds a complete tree of the given depth; returns its root.
    auto build = [&](auto&& self, int depth) -> int {
      if (depth == 0) return g.add();
      int l = self(self, depth - 1);
      int r = self(self, depth - 1);
      int p = g.add();
      g.link(p, l);
      g.link(p, r);
      g.link(l, p);  // back to the parent: every subtree is a cycle with it
      g.link(r, p);
      return p;
    };
    int root = build(build, 13);  // 16383 vertices
    g.keep_roots({root});
    collect_and_check(g, "whole tree");
    // Cut the root's left subtree off: it still points to the root, but
    // nothing points to it.
    Vertex* top = g.vertex[static_cast<std::size_t>(root)];
    top->out[0].reset();
    g.edges[static_cast<std::size_t>(root)][0] = root;  // the model: a reference to itself...
    top->out[0] = ouro::ref(top);                       // ...and so the object
    collect_and_check(g, "left subtree cut off");
    g.keep_roots({});
    collect_and_check(g, "tree dropped");
  });
}

}  // namespace
