// collector_bench.cpp — what a collection costs, per object.
//
//   BM_Collect_Rings/L      reclaim 1000 rings of L nodes after dropping them
//   BM_Collect_LiveChain/N  full collection of N live nodes, nothing to free
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
