// boehm.cpp — the comparison workloads on the Boehm-Demers-Weiser collector
// (libgc, conservative mark-sweep, no refcounts: refcount_ops and
// young_pause have no counterpart). Nodes come from GC_MALLOC and are found
// by scanning; dropping a structure is forgetting its root.
#include <gc.h>

#include <string>
#include <vector>

#include "common.hpp"

namespace {

using compare::now;
using compare::report;

struct Node {
  Node* next;
};
struct TreeNode {
  TreeNode* left;
  TreeNode* right;
};

Node* volatile g_ring_root = nullptr;
TreeNode* volatile g_tree_root = nullptr;

TreeNode* new_tree_node() { return static_cast<TreeNode*>(GC_MALLOC(sizeof(TreeNode))); }

void cycles_collect(long long rings, long long length) {
  GC_disable();
  for (long long r = 0; r < rings; ++r) {
    auto* head = static_cast<Node*>(GC_MALLOC(sizeof(Node)));
    Node* tail = head;
    for (long long i = 1; i < length; ++i) {
      tail->next = static_cast<Node*>(GC_MALLOC(sizeof(Node)));
      tail = tail->next;
    }
    tail->next = head;
    g_ring_root = head;
  }
  g_ring_root = nullptr;
  GC_enable();
  double t0 = now();
  GC_gcollect();
  report("cycles_collect", "boehm", rings * length, now() - t0);
}

TreeNode* tree_children_first(int depth) {
  if (depth == 0) return new_tree_node();
  TreeNode* l = tree_children_first(depth - 1);
  TreeNode* r = tree_children_first(depth - 1);
  TreeNode* n = new_tree_node();
  n->left = l;
  n->right = r;
  return n;
}

TreeNode* tree_parent_first(int depth) {
  TreeNode* n = new_tree_node();
  if (depth > 0) {
    n->left = tree_parent_first(depth - 1);
    n->right = tree_parent_first(depth - 1);
  }
  return n;
}

void live_traversal(const std::string& workload, int depth) {
  GC_disable();
  g_tree_root = workload == "live_traversal.parent_first" ? tree_parent_first(depth) : tree_children_first(depth);
  GC_enable();
  GC_gcollect();
  std::vector<double> times;
  for (int i = 0; i < 3; ++i) {
    double t0 = now();
    GC_gcollect();
    times.push_back(now() - t0);
  }
  report(workload.c_str(), "boehm", compare::tree_nodes(depth), compare::median(times));
}

long long check(const TreeNode* t) {
  long long n = 1;
  if (t->left) n += check(t->left) + check(t->right);
  return n;
}

// The Benchmarks Game's bottom_up_tree is tree_parent_first.
void binary_trees(int depth) {
  double t0 = now();
  long long made = compare::binary_trees(
      depth, [](int d) { return tree_parent_first(d); }, [](const TreeNode* t) { return check(t); },
      [](TreeNode*& t) { t = nullptr; });
  double t = now() - t0;
  report("binary_trees", "boehm", made, t, "collections=" + std::to_string(GC_get_gc_no()));
}

// GCBench as Boehm wrote it for his collector: GC_MALLOC nodes, the array
// from GC_MALLOC_ATOMIC, dropping a tree is forgetting it.
struct BenchNode {
  BenchNode* left;
  BenchNode* right;
  int i, j;
};
BenchNode* new_bench_node() { return static_cast<BenchNode*>(GC_MALLOC(sizeof(BenchNode))); }

void populate(int depth, BenchNode* node) {
  if (depth <= 0) return;
  node->left = new_bench_node();
  node->right = new_bench_node();
  populate(depth - 1, node->left);
  populate(depth - 1, node->right);
}

BenchNode* make_bench_tree(int depth) {
  BenchNode* n = new_bench_node();
  if (depth > 0) {
    n->left = make_bench_tree(depth - 1);
    n->right = make_bench_tree(depth - 1);
  }
  return n;
}

void gcbench(int stretch, int long_lived) {
  double t0 = now();
  long long made = compare::gcbench(
      stretch, long_lived,
      [](int d) {
        BenchNode* n = new_bench_node();
        populate(d, n);
        return n;
      },
      [](int d) { return make_bench_tree(d); }, [](BenchNode*& t) { t = nullptr; },
      [](long long n) { return static_cast<double*>(GC_MALLOC_ATOMIC(static_cast<std::size_t>(n) * sizeof(double))); });
  report("gcbench", "boehm", made, now() - t0, "collections=" + std::to_string(GC_get_gc_no()));
}

}  // namespace

int main(int argc, char** argv) {
  GC_INIT();
  compare::Args args = compare::parse(argc, argv);
  const std::string& w = args.workload;
  if (w == "cycles_collect") cycles_collect(args.a, args.b);
  else if (w.rfind("live_traversal.", 0) == 0) live_traversal(w, static_cast<int>(args.a));
  else if (w == "binary_trees") binary_trees(static_cast<int>(args.a));
  else if (w == "gcbench") gcbench(static_cast<int>(args.a), static_cast<int>(args.b));
  else return 3;
  return 0;
}
