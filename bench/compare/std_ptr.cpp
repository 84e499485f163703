// std_ptr.cpp — the comparison workloads on std::shared_ptr (make_shared)
// and std::unique_ptr, where they mean something: shared_ptr cannot reclaim
// cycles (cycles_collect leaks) and has no collector to time (live_traversal,
// young_pause); unique_ptr has no copies (refcount_ops).
//
//   std_ptr shared_ptr <workload> <size> [<size2>]
//   std_ptr unique_ptr <workload> <size>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"

namespace {

using compare::now;
using compare::report;

struct SharedNode {
  std::shared_ptr<SharedNode> left, right;
};

std::shared_ptr<SharedNode> shared_tree(int depth) {
  auto n = std::make_shared<SharedNode>();
  if (depth > 0) {
    n->left = shared_tree(depth - 1);
    n->right = shared_tree(depth - 1);
  }
  return n;
}

long long check(const std::shared_ptr<SharedNode>& t) {
  long long n = 1;
  if (t->left) n += check(t->left) + check(t->right);
  return n;
}

struct UniqueNode {
  std::unique_ptr<UniqueNode> left, right;
};

std::unique_ptr<UniqueNode> unique_tree(int depth) {
  auto n = std::make_unique<UniqueNode>();
  if (depth > 0) {
    n->left = unique_tree(depth - 1);
    n->right = unique_tree(depth - 1);
  }
  return n;
}

long long check(const std::unique_ptr<UniqueNode>& t) {
  long long n = 1;
  if (t->left) n += check(t->left) + check(t->right);
  return n;
}

void binary_trees(int depth, bool unique) {
  double t0 = now();
  long long made;
  if (unique)
    made = compare::binary_trees(
        depth, [](int d) { return unique_tree(d); }, [](const std::unique_ptr<UniqueNode>& t) { return check(t); },
        [](std::unique_ptr<UniqueNode>& t) { t.reset(); });
  else
    made = compare::binary_trees(
        depth, [](int d) { return shared_tree(d); }, [](const std::shared_ptr<SharedNode>& t) { return check(t); },
        [](std::shared_ptr<SharedNode>& t) { t.reset(); });
  report("binary_trees", unique ? "unique_ptr" : "shared_ptr", made, now() - t0);
}

// GCBench's node: two children and two ints.
template <template <class> class Ptr>
struct BenchNode {
  Ptr<BenchNode> left, right;
  int i = 0, j = 0;
};

template <template <class> class Ptr, class MakeNode>
void populate(int depth, BenchNode<Ptr>* node, MakeNode make_node) {
  if (depth <= 0) return;
  node->left = make_node();
  node->right = make_node();
  populate(depth - 1, node->left.get(), make_node);
  populate(depth - 1, node->right.get(), make_node);
}

template <template <class> class Ptr, class MakeNode>
Ptr<BenchNode<Ptr>> make_tree(int depth, MakeNode make_node) {
  auto n = make_node();
  if (depth > 0) {
    n->left = make_tree<Ptr>(depth - 1, make_node);
    n->right = make_tree<Ptr>(depth - 1, make_node);
  }
  return n;
}

template <class T>
using Shared = std::shared_ptr<T>;
template <class T>
using Unique = std::unique_ptr<T>;

template <template <class> class Ptr, class MakeNode>
long long gcbench_with(int stretch, int long_lived, MakeNode make_node) {
  std::unique_ptr<double[]> array;
  return compare::gcbench(
      stretch, long_lived,
      [&](int d) {
        auto n = make_node();
        populate<Ptr>(d, n.get(), make_node);
        return n;
      },
      [&](int d) { return make_tree<Ptr>(d, make_node); }, [](auto& t) { t.reset(); },
      [&](long long n) {
        array = std::make_unique<double[]>(static_cast<std::size_t>(n));
        return array.get();
      });
}

void gcbench(int stretch, int long_lived, bool unique) {
  double t0 = now();
  long long made = unique ? gcbench_with<Unique>(stretch, long_lived, [] { return std::make_unique<BenchNode<Unique>>(); })
                          : gcbench_with<Shared>(stretch, long_lived, [] { return std::make_shared<BenchNode<Shared>>(); });
  report("gcbench", unique ? "unique_ptr" : "shared_ptr", made, now() - t0);
}

void refcount_ops(long long n) {
  auto r = std::make_shared<SharedNode>();
  double t0 = now();
  for (long long i = 0; i < n; ++i) {
    std::shared_ptr<SharedNode> c = r;
    asm volatile("" : : "r"(c.get()) : "memory");
  }
  report("refcount_ops", "shared_ptr", n, now() - t0);
}

// --- threads: the same graphs as ours.cpp's, with atomic counts ------------

struct SharedLink {
  std::shared_ptr<SharedLink> next;
  long long value = 0;
};

std::shared_ptr<SharedLink> small_graph(long long value) {
  auto head = std::make_shared<SharedLink>();
  SharedLink* tail = head.get();
  for (int i = 1; i < compare::kGraphSize; ++i) {
    tail->next = std::make_shared<SharedLink>();
    tail = tail->next.get();
    tail->value = value + i;
  }
  tail->next = head;
  return head;
}

// shared_ptr cannot reclaim the cycle: the consumer breaks it by hand.
void pipeline(long long graphs, int consumers) {
  long long i = 0;
  double t = compare::pipeline<std::shared_ptr<SharedLink>>(
      graphs, consumers, [&] { return small_graph(i++); },
      [](std::shared_ptr<SharedLink>&& g) {
        SharedLink* n = g.get();
        while (n->next != g) n = n->next.get();
        n->next.reset();
      },
      [] {});
  report("pipeline", "shared_ptr", graphs * compare::kGraphSize, t, "consumers=" + std::to_string(consumers));
}

void shared_walk(int depth, int readers) {
  std::shared_ptr<SharedNode> tree = shared_tree(depth);
  std::atomic<long long> visited{0};
  double t = compare::readers_walk(readers, [&] {
    std::shared_ptr<SharedNode> mine = tree;
    visited += compare::walk_copying(mine->left, mine->right);
  });
  report("shared_walk", "shared_ptr", visited.load(), t, "readers=" + std::to_string(readers));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string impl = argv[1];
  compare::Args args = compare::parse(argc - 1, argv + 1);
  bool unique = impl == "unique_ptr";
  if (args.workload == "binary_trees") binary_trees(static_cast<int>(args.a), unique);
  else if (args.workload == "refcount_ops" && !unique) refcount_ops(args.a);
  else if (args.workload == "pipeline" && !unique) pipeline(args.a, static_cast<int>(args.b));
  else if (args.workload == "shared_walk" && !unique) shared_walk(static_cast<int>(args.a), static_cast<int>(args.b));
  else if (args.workload == "gcbench") gcbench(static_cast<int>(args.a), static_cast<int>(args.b), unique);
  else return 3;  // not meaningful for this implementation
  return 0;
}
