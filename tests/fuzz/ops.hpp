// fuzz/ops.hpp — the interpreter's instruction set.
//
// A program is a byte string. Each operation starts with an opcode byte,
// taken modulo the size of kOps, and reads the argument bytes it needs
// (zeros once the input is exhausted), so every byte string is a valid
// program. The table is the one place where operations are added (weak
// references, when they land, become entries here plus their invariants in
// checks.cpp). Appending entries changes how existing corpus files decode;
// they stay valid programs, and run_fuzzer.sh -merge re-minimizes them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "world.hpp"

namespace ouro_fuzz {

class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint8_t next() { return pos_ < size_ ? data_[pos_++] : 0; }
  bool done() const { return pos_ >= size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// Runs one operation on `w`, reading its arguments from `in`; returns a
// short description for failure traces.
using OpFunction = std::string (*)(World& w, Reader& in);

struct Op {
  const char* name;
  OpFunction run;
  int arguments;  // argument bytes it reads (for program generators)
  int weight;     // how often a generated program uses it, relative
};

std::span<const Op> ops();

}  // namespace ouro_fuzz
