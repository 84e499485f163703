// inspect_bench.cpp — what the leak-forensics queries cost on a big heap.
//
//   BM_Inspect_WhyAlive/N     why_alive of the object farthest from the
//                             only root: the whole heap is read and searched
//   BM_Inspect_FindCycles/N   find_cycles: every group found and returned
//   BM_Inspect_TypeStats/N    type_stats over every tracked object
//   BM_Inspect_WriteHtml/N    the whole report (the explorer samples 4000)
//   BM_Inspect_WriteHtmlDense/N  the report of one strongly connected group
//                             of N objects with 9 references each
//
// The heap: N nodes in rings of 16 (each ring a cycle, named edges), the
// rings chained one to the next, the first ring held by a local: one root,
// N/16 live cycles. The dense heap: object i refers to i + 1 and to eight
// others further on (all modulo N), one held by a local. Items processed
// are objects; the claim is linear cost, and 1M objects well under a
// second.
#include <benchmark/benchmark.h>

#include <ouro/ouro.hpp>
#include <sstream>
#include <vector>

namespace {

struct Node : ouro::Object {
  ouro::Ref<Node> ring;
  ouro::Ref<Node> next_ring;
  OURO_TRAVERSE(ring, next_ring)
};

constexpr int kRingLength = 16;

// Returns the root; `farthest` is the last node of the last ring.
ouro::Ref<Node> build_heap(std::size_t n, Node*& farthest) {
  ouro::Ref<Node> root, previous_head;
  for (std::size_t built = 0; built < n; built += kRingLength) {
    ouro::Ref<Node> head = ouro::make<Node>();
    Node* tail = head.get();
    for (int i = 1; i < kRingLength; ++i) tail = (tail->ring = ouro::make<Node>()).get();
    tail->ring = head;
    farthest = tail;
    if (previous_head)
      previous_head->next_ring = head;
    else
      root = head;
    previous_head = head;
  }
  return root;
}

template <class Query>
void run(benchmark::State& state, Query query) {
  const auto n = static_cast<std::size_t>(state.range(0));
  ouro::gc::disable();
  Node* farthest = nullptr;
  ouro::Ref<Node> root = build_heap(n, farthest);
  for (auto _ : state) query(state, *farthest);
  root.reset();
  ouro::gc::collect();
  ouro::gc::enable();
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  state.SetComplexityN(static_cast<std::int64_t>(n));
}

void BM_Inspect_WhyAlive(benchmark::State& state) {
  run(state, [](benchmark::State& s, Node& target) {
    // Along the chain of ring heads, then round the last ring.
    std::size_t hops = ouro::inspect::why_alive(target).size();
    if (hops != static_cast<std::size_t>(s.range(0) / kRingLength - 1 + kRingLength - 1))
      s.SkipWithError("why_alive did not find the shortest chain");
    benchmark::DoNotOptimize(hops);
  });
}

void BM_Inspect_FindCycles(benchmark::State& state) {
  run(state, [](benchmark::State& s, Node&) {
    std::size_t cycles = ouro::inspect::find_cycles().size();
    if (cycles != static_cast<std::size_t>(s.range(0) / kRingLength)) s.SkipWithError("wrong number of cycles");
  });
}

void BM_Inspect_TypeStats(benchmark::State& state) {
  run(state, [](benchmark::State&, Node&) { benchmark::DoNotOptimize(ouro::inspect::type_stats()); });
}

void BM_Inspect_WriteHtml(benchmark::State& state) {
  run(state, [](benchmark::State&, Node&) {
    std::ostringstream page;
    ouro::inspect::write_html(page);
    benchmark::DoNotOptimize(page.str().size());
  });
}

struct DenseNode : ouro::Object {
  ouro::Ref<DenseNode> next;
  std::vector<ouro::Ref<DenseNode>> more;
  OURO_TRAVERSE(next, more)
};

void BM_Inspect_WriteHtmlDense(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  ouro::gc::disable();
  std::vector<ouro::Ref<DenseNode>> all;
  for (std::size_t i = 0; i < n; ++i) all.push_back(ouro::make<DenseNode>());
  for (std::size_t i = 0; i < n; ++i) {
    all[i]->next = all[(i + 1) % n];
    for (std::size_t k = 1; k <= 8; ++k) all[i]->more.push_back(all[(i + k * 7919) % n]);
  }
  ouro::Ref<DenseNode> root = all[0];
  all.clear();
  for (auto _ : state) {
    std::ostringstream page;
    ouro::inspect::write_html(page);
    benchmark::DoNotOptimize(page.str().size());
  }
  root.reset();
  ouro::gc::collect();
  ouro::gc::enable();
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

BENCHMARK(BM_Inspect_WhyAlive)->RangeMultiplier(4)->Range(1 << 14, 1 << 20)->Unit(benchmark::kMillisecond)->Complexity(benchmark::oN);
BENCHMARK(BM_Inspect_FindCycles)->RangeMultiplier(4)->Range(1 << 14, 1 << 20)->Unit(benchmark::kMillisecond)->Complexity(benchmark::oN);
BENCHMARK(BM_Inspect_TypeStats)->RangeMultiplier(4)->Range(1 << 14, 1 << 20)->Unit(benchmark::kMillisecond)->Complexity(benchmark::oN);
BENCHMARK(BM_Inspect_WriteHtml)->Arg(1 << 14)->Arg(1 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Inspect_WriteHtmlDense)->Arg(1 << 14)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

}  // namespace
