// refcount_bench.cpp — the cost of the hot paths: a Ref copy + drop, and
// make + drop of tracked and untracked types (std::make_shared beside them),
// also with allocation sites recorded (inspect::set_allocation_sites).
#include <benchmark/benchmark.h>

#include <memory>
#include <ouro/ouro.hpp>

namespace {

struct Tracked : ouro::Object {
  ouro::Ref<Tracked> next;
  void traverse(ouro::Visitor& v) override { v(next); }
};
struct Untracked : ouro::Object {
  long value = 0;
};
struct Plain {
  std::shared_ptr<Plain> next;
};

void BM_Ref_CopyDrop(benchmark::State& state) {
  auto obj = ouro::make<Untracked>();
  for (auto _ : state) {
    ouro::Ref<Untracked> copy = obj;
    benchmark::DoNotOptimize(copy);
  }
}
BENCHMARK(BM_Ref_CopyDrop);

void BM_SharedPtr_CopyDrop(benchmark::State& state) {
  auto obj = std::make_shared<Plain>();
  for (auto _ : state) {
    std::shared_ptr<Plain> copy = obj;
    benchmark::DoNotOptimize(copy);
  }
}
BENCHMARK(BM_SharedPtr_CopyDrop);

void BM_Make_Untracked(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ouro::make<Untracked>());
}
BENCHMARK(BM_Make_Untracked);

void BM_Make_Tracked(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ouro::make<Tracked>());
}
BENCHMARK(BM_Make_Tracked);

// The same with allocation sites recorded for every make (Arg 1), about one
// make in n (Arg n), or none (Arg 0: the setting's default).
void BM_Make_Tracked_Sites(benchmark::State& state) {
  ouro::inspect::set_allocation_sites(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(ouro::make<Tracked>());
  ouro::inspect::set_allocation_sites(0);
}
BENCHMARK(BM_Make_Tracked_Sites)->Arg(0)->Arg(1)->Arg(64)->Arg(256)->Arg(1024);

void BM_Make_Untracked_Sites(benchmark::State& state) {
  ouro::inspect::set_allocation_sites(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(ouro::make<Untracked>());
  ouro::inspect::set_allocation_sites(0);
}
BENCHMARK(BM_Make_Untracked_Sites)->Arg(0)->Arg(1)->Arg(64)->Arg(256)->Arg(1024);

void BM_MakeShared(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::make_shared<Plain>());
}
BENCHMARK(BM_MakeShared);

}  // namespace
