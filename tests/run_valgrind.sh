#!/usr/bin/env bash
# Runs the core test executables of a build tree under valgrind (memcheck):
# any invalid read or write, use of uninitialised memory, or definite leak
# fails the run (--error-exitcode=1).
#
#   tests/run_valgrind.sh [build-dir]        default: build/dev
#
# Left out, because they are not about memory errors or take too long under
# valgrind's ~30x slowdown: death tests (they abort on purpose), the
# ten-million- and million-node chains (the same code runs on 10'000-node
# chains in other tests); fuzz_replay_test runs 100 corpus programs and 100
# random ones per part here (OURO_FUZZ_PROGRAMS). The tests of out_of_memory_test
# that replace operator new skip themselves: valgrind's operator new replaces theirs.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/dev}

if ! command -v valgrind >/dev/null 2>&1; then
  echo "run_valgrind.sh: valgrind is not installed" >&2
  exit 1
fi

exclude='*DeathTest*:*Million*:*DiesOnA256KiBStack*'
status=0
start=$SECONDS
for exe in "$build"/tests/*_test "$build"/tests/fuzz/fuzz_replay_test; do
  [[ -x "$exe" ]] || continue
  name=$(basename "$exe")
  t0=$SECONDS
  if OURO_FUZZ_PROGRAMS=100 valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
      --track-origins=no "$exe" --gtest_filter="-$exclude" --gtest_brief=1 >"$build/valgrind-$name.log" 2>&1; then
    echo "valgrind: $name clean ($((SECONDS - t0))s)"
  else
    echo "valgrind: $name FAILED ($((SECONDS - t0))s), see $build/valgrind-$name.log:"
    tail -n 40 "$build/valgrind-$name.log"
    status=1
  fi
done
echo "valgrind: done in $((SECONDS - start))s"
exit $status
