#!/usr/bin/env bash
# Builds the libFuzzer target (clang, ASan + UBSan, coverage of the library
# and the interpreter) and runs it for a bounded time.
#
#   tests/fuzz/run_fuzzer.sh [seconds] [extra libFuzzer flags...]
#
# Defaults: 300 seconds, 1 job. The working corpus lives in build/fuzz/corpus
# (seeded from tests/fuzz/corpus, which is never written to); crashes land in
# build/fuzz/crashes/. At the end the fuzzer prints
#   ouro-fuzz: <programs> programs, <operations> operations
# Replay a crash with its trace:
#   OURO_FUZZ_TRACE=1 build/fuzz/tests/fuzz/ouro_fuzz build/fuzz/crashes/crash-...
# Refresh the committed corpus (distinct programs, minimized by coverage):
#   OURO_FUZZ_MERGE=1 tests/fuzz/run_fuzzer.sh 0
# Environment: CXX (default clang++), OURO_FUZZ_BUILD (default build/fuzz),
# OURO_FUZZ_RSS_MB (libFuzzer's RSS limit, default 6144: every program runs
# on a thread of its own, and one that immortalizes an object keeps that
# thread's 1 MiB pool arena for ever, so a long run grows by design, about
# 2 GB per 30,000 programs under ASan; see docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-300}
shift || true
build=${OURO_FUZZ_BUILD:-build/fuzz}
cxx=${CXX:-clang++}

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "run_fuzzer.sh: $cxx not found (install clang)" >&2
  exit 1
fi

cmake -S . -B "$build" -G Ninja \
  -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
  -DOURO_CHECKS=ON \
  -DOURO_SANITIZE=address,undefined \
  -DOURO_BUILD_FUZZER=ON \
  -DOURO_BUILD_TESTS=ON -DOURO_BUILD_EXAMPLES=OFF -DOURO_BUILD_BENCH=OFF \
  -DOURO_WERROR=ON >/dev/null
cmake --build "$build" --target ouro_fuzz

fuzzer="$build/tests/fuzz/ouro_fuzz"
work="$build/corpus"
mkdir -p "$work" "$build/crashes"

# Immortal objects are kept on purpose (and reachable); everything else must
# be freed, so leak detection stays on.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

if [[ "${OURO_FUZZ_MERGE:-0}" == 1 ]]; then
  fresh=$(mktemp -d)
  "$fuzzer" -merge=1 "$fresh" tests/fuzz/corpus "$work" "$@"
  rm -f tests/fuzz/corpus/*
  cp "$fresh"/* tests/fuzz/corpus/
  rm -rf "$fresh"
  echo "tests/fuzz/corpus: $(ls tests/fuzz/corpus | wc -l) programs"
  exit 0
fi

"$fuzzer" "$work" tests/fuzz/corpus \
  -max_total_time="$seconds" \
  -max_len=1024 \
  -timeout=20 \
  -rss_limit_mb="${OURO_FUZZ_RSS_MB:-6144}" \
  -print_final_stats=1 \
  -artifact_prefix="$build/crashes/" \
  "$@"
