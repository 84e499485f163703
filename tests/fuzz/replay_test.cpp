// The interpreter in every CI run: the committed corpus (distinct programs
// kept by libFuzzer's -merge) and a few thousand random programs from fixed
// seeds, each checked against the reference model after every operation
// (tests/fuzz/checks.hpp lists what is checked).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "ops.hpp"
#include "program.hpp"

namespace {

std::vector<std::uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::filesystem::path> corpus_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(OURO_FUZZ_CORPUS))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string run(const std::vector<std::uint8_t>& program) {
  return ouro_fuzz::run_program(program.data(), program.size()).failure;
}

TEST(FuzzCorpus, EveryCommittedProgramAgreesWithTheModel) {
  std::vector<std::filesystem::path> files = corpus_files();
  ASSERT_GE(files.size(), 20u) << "the corpus at " << OURO_FUZZ_CORPUS << " is missing";
  if (const char* limit = std::getenv("OURO_FUZZ_PROGRAMS"))
    files.resize(std::min(files.size(), static_cast<std::size_t>(std::atoi(limit))));
  for (const auto& f : files) {
    std::string failure = run(read_file(f));
    ASSERT_EQ(failure, "") << f.filename();
  }
}

// OURO_FUZZ_REPLAY=<file> runs one program (with OURO_FUZZ_TRACE=1, every
// operation is printed): how a crash file of run_fuzzer.sh is debugged.
TEST(FuzzCorpus, ProgramNamedByOuroFuzzReplay) {
  const char* file = std::getenv("OURO_FUZZ_REPLAY");
  if (!file) GTEST_SKIP() << "set OURO_FUZZ_REPLAY=<file> to replay one program";
  EXPECT_EQ(run(read_file(file)), "") << file;
}

// Random programs from fixed seeds, two kinds: raw bytes (as libFuzzer
// starts), and programs generated op by op with the table's weights (deep
// object graphs need many makes and links between collections, which raw
// bytes rarely give). OURO_FUZZ_PROGRAMS=<n> runs only the first n of each
// part, and of the corpus (valgrind).
std::vector<std::uint8_t> random_bytes(std::mt19937& rng) {
  std::vector<std::uint8_t> program(8 + rng() % 700);
  for (auto& b : program) b = static_cast<std::uint8_t>(rng());
  return program;
}

std::vector<std::uint8_t> weighted_program(std::mt19937& rng) {
  std::span<const ouro_fuzz::Op> table = ouro_fuzz::ops();
  int total = 0;
  for (const auto& op : table) total += op.weight;
  std::vector<std::uint8_t> program;
  const std::size_t n = 20 + rng() % 200;
  for (std::size_t i = 0; i < n; ++i) {
    int pick = static_cast<int>(rng() % static_cast<std::uint32_t>(total));
    std::size_t index = 0;
    while (pick >= table[index].weight) pick -= table[index++].weight;
    program.push_back(static_cast<std::uint8_t>(index));
    for (int a = 0; a < table[index].arguments; ++a) program.push_back(static_cast<std::uint8_t>(rng()));
  }
  return program;
}

// Writes a program that failed into the working directory (ctest's: the
// build tree's tests/fuzz), so that it can be replayed, traced and, once
// fixed, added to the corpus. Returns the file's path.
std::string save_failing_program(const std::vector<std::uint8_t>& program, std::uint32_t seed) {
  std::filesystem::path file = std::filesystem::absolute("fuzz-failure-seed-" + std::to_string(seed));
  std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(program.data()),
                                              static_cast<std::streamsize>(program.size()));
  return file.string();
}

// Programs from seeds first_seed.. (even seeds weighted, odd ones raw).
void run_programs_from_seeds(std::uint32_t first_seed, int count) {
  for (int i = 0; i < count; ++i) {
    std::uint32_t seed = first_seed + static_cast<std::uint32_t>(i);
    std::mt19937 rng(seed);
    bool weighted = seed % 2 == 0;
    std::vector<std::uint8_t> program = weighted ? weighted_program(rng) : random_bytes(rng);
    std::string failure = run(program);
    ASSERT_EQ(failure, "") << (weighted ? "weighted" : "raw") << " random program from seed " << seed
                           << ", saved for OURO_FUZZ_REPLAY as " << save_failing_program(program, seed);
  }
}

void run_random_programs(std::uint32_t first_seed, int count) {
  if (const char* limit = std::getenv("OURO_FUZZ_PROGRAMS")) count = std::min(count, std::atoi(limit));
  run_programs_from_seeds(first_seed, count);
}

// Long runs by hand: OURO_FUZZ_SEEDS=<first>:<count> runs that many
// programs from those seeds (skipped without it) and prints how many
// operations they ran, e.g. for the figures of docs/reliability.md:
//   OURO_FUZZ_SEEDS=100000:200000 fuzz_replay_test --gtest_filter=FuzzRandom.ProgramsFromTheSeedRangeOf*
TEST(FuzzRandom, ProgramsFromTheSeedRangeOfOuroFuzzSeedsAgreeWithTheModel) {
  const char* range = std::getenv("OURO_FUZZ_SEEDS");
  if (!range) GTEST_SKIP() << "set OURO_FUZZ_SEEDS=<first>:<count>";
  const std::string text(range);
  const std::size_t colon = text.find(':');
  ASSERT_NE(colon, std::string::npos) << "OURO_FUZZ_SEEDS=<first>:<count>, got " << text;
  const auto first = static_cast<std::uint32_t>(std::stoul(text.substr(0, colon)));
  const int count = std::stoi(text.substr(colon + 1));
  const std::uint64_t before = ouro_fuzz::operations_run();
  run_programs_from_seeds(first, count);
  std::printf("ouro-fuzz: %d programs from seed %u, %llu operations\n", count, first,
              static_cast<unsigned long long>(ouro_fuzz::operations_run() - before));
}

// Split in parts so that ctest runs them in parallel and reports progress.
TEST(FuzzRandom, ProgramsFromSeeds0To999AgreeWithTheModel) { run_random_programs(0, 1000); }
TEST(FuzzRandom, ProgramsFromSeeds1000To1999AgreeWithTheModel) { run_random_programs(1000, 1000); }
TEST(FuzzRandom, ProgramsFromSeeds2000To2999AgreeWithTheModel) { run_random_programs(2000, 1000); }

}  // namespace
