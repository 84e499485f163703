// fuzz/program.hpp — running one program of the interpreter.
//
//   ouro_fuzz::Result r = ouro_fuzz::run_program(bytes, size);
//   if (!r.failure.empty()) { ... r.failure names the op and the trace ... }
//
// Each program runs on a thread of its own, so with a fresh heap (default
// gc settings, nothing tracked). After its last operation it tears down:
// callbacks removed, pep442, unfrozen, every Ref dropped, collected until
// nothing more is found, every remaining field emptied. Then only the
// immortal object (at most one per program) may be alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ouro_fuzz {

inline constexpr std::size_t kMaxOps = 256;

struct Result {
  std::string failure;      // "" when the library agreed with the model throughout
  std::uint64_t operations = 0;
};

Result run_program(const std::uint8_t* data, std::size_t size);

// Programs and operations run by this process so far (all threads).
std::uint64_t programs_run();
std::uint64_t operations_run();

}  // namespace ouro_fuzz
