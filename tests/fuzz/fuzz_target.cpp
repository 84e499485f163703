// fuzz/fuzz_target.cpp — the libFuzzer entry point: every input is a
// program of the interpreter (ops.hpp); a disagreement with the model
// prints the failure and the last operations, then aborts so that libFuzzer
// saves the input. At exit it prints how many programs and operations ran.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "program.hpp"

namespace {

void print_totals() {
  std::fprintf(stderr, "ouro-fuzz: %llu programs, %llu operations\n",
               static_cast<unsigned long long>(ouro_fuzz::programs_run()),
               static_cast<unsigned long long>(ouro_fuzz::operations_run()));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::atexit(print_totals);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ouro_fuzz::Result r = ouro_fuzz::run_program(data, size);
  if (!r.failure.empty()) {
    std::fprintf(stderr, "ouro-fuzz: the library disagrees with the model: %s\n", r.failure.c_str());
    print_totals();
    std::abort();
  }
  return 0;
}
