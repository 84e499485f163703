// collector_bench.cpp — what a collection costs, per object.
//
//   BM_Collect_Rings/L      reclaim 1000 rings of L nodes after dropping them
//   BM_Collect_LiveChain/N  full collection of N live nodes, nothing to free
//   BM_Collect_LiveTree_ChildrenFirst/N, _ParentFirst/N
//                           full collection of a live complete binary tree of
//                           about N nodes, allocated children-first (post-
//                           order) or parent-first (pre-order): the cost must
//                           not depend on the order
//   BM_Collect_Young        a gen0 collection of 700 live objects beside a big old heap
//
// Items processed are objects, so "items_per_second" inverts to ns/object.
#include <benchmark/benchmark.h>

#include <ouro/ouro.hpp>
#include <vector>

namespace {

struct Node : ouro::Object {
  ouro::Ref<Node> next;
  void traverse(ouro::Visitor& v) override { v(next); }
};

void make_ring(int length) {
  auto head = ouro::make<Node>();
  Node* tail = head.get();
  for (int i = 1; i < length; ++i) {
    tail->next = ouro::make<Node>();
    tail = tail->next.get();
  }
  tail->next = head;
}

void BM_Collect_Rings(benchmark::State& state) {
  const int rings = 1000;
  const auto length = static_cast<int>(state.range(0));
  ouro::gc::disable();
  for (auto _ : state) {
    state.PauseTiming();
    for (int r = 0; r < rings; ++r) make_ring(length);
    state.ResumeTiming();
    std::size_t found = ouro::gc::collect();
    if (found != static_cast<std::size_t>(rings) * static_cast<std::size_t>(length))
      state.SkipWithError("collect() did not find every ring");
  }
  ouro::gc::enable();
  state.SetItemsProcessed(state.iterations() * rings * length);
}
BENCHMARK(BM_Collect_Rings)->Arg(10)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_Collect_LiveChain(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  ouro::gc::disable();
  std::vector<ouro::Ref<Node>> nodes;
  nodes.reserve(n);
  for (std::size_t i = 0; i < n; ++i) nodes.push_back(ouro::make<Node>());
  for (std::size_t i = 0; i + 1 < n; ++i) nodes[i]->next = nodes[i + 1];
  for (auto _ : state) benchmark::DoNotOptimize(ouro::gc::collect());
  nodes.clear();
  ouro::gc::enable();
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  state.SetComplexityN(static_cast<std::int64_t>(n));
}
BENCHMARK(BM_Collect_LiveChain)->Arg(1 << 18)->Arg(1 << 20)->Arg(1 << 22)->Unit(benchmark::kMillisecond)->Complexity(benchmark::oN);

struct TreeNode : ouro::Object {
  ouro::Ref<TreeNode> left, right;
  void traverse(ouro::Visitor& v) override { v(left, right); }
};

ouro::Ref<TreeNode> tree(int depth, bool parent_first) {
  ouro::Ref<TreeNode> n;
  if (parent_first) n = ouro::make<TreeNode>();
  ouro::Ref<TreeNode> l = depth > 0 ? tree(depth - 1, parent_first) : nullptr;
  ouro::Ref<TreeNode> r = depth > 0 ? tree(depth - 1, parent_first) : nullptr;
  if (!parent_first) n = ouro::make<TreeNode>();
  n->left = std::move(l);
  n->right = std::move(r);
  return n;
}

void collect_live_tree(benchmark::State& state, bool parent_first) {
  int depth = 0;
  while ((std::int64_t{2} << (depth + 1)) - 1 <= state.range(0)) ++depth;  // 2^(depth+1)-1 nodes
  const std::int64_t nodes = (std::int64_t{2} << depth) - 1;
  ouro::gc::disable();
  auto root = tree(depth, parent_first);
  ouro::gc::collect();
  for (auto _ : state) benchmark::DoNotOptimize(ouro::gc::collect());
  root.reset();
  ouro::gc::enable();
  state.SetItemsProcessed(state.iterations() * nodes);
  state.SetComplexityN(nodes);
}
void BM_Collect_LiveTree_ChildrenFirst(benchmark::State& state) { collect_live_tree(state, false); }
void BM_Collect_LiveTree_ParentFirst(benchmark::State& state) { collect_live_tree(state, true); }
BENCHMARK(BM_Collect_LiveTree_ChildrenFirst)->Arg(1 << 20)->Arg(1 << 22)->Unit(benchmark::kMillisecond)->Complexity(benchmark::oN);
BENCHMARK(BM_Collect_LiveTree_ParentFirst)->Arg(1 << 20)->Arg(1 << 22)->Unit(benchmark::kMillisecond)->Complexity(benchmark::oN);

void BM_Collect_Young(benchmark::State& state) {
  ouro::gc::disable();
  std::vector<ouro::Ref<Node>> old;
  for (int i = 0; i < 1'000'000; ++i) old.push_back(ouro::make<Node>());
  ouro::gc::collect();
  std::vector<ouro::Ref<Node>> young;
  for (auto _ : state) {
    state.PauseTiming();
    young.clear();
    for (int i = 0; i < 700; ++i) young.push_back(ouro::make<Node>());
    state.ResumeTiming();
    benchmark::DoNotOptimize(ouro::gc::collect(0));
  }
  young.clear();
  old.clear();
  ouro::gc::enable();
  state.SetItemsProcessed(state.iterations() * 700);
}
BENCHMARK(BM_Collect_Young)->Unit(benchmark::kMicrosecond);

}  // namespace
