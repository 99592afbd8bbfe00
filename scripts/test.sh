#!/usr/bin/env bash
# The README's second command: install what is needed, build with warnings as errors, run every
# test (unit, conformance on every backend, SQLite, Redis against real redis-server instances that
# the tests start and stop themselves on loopback), then build and run everything again under
# AddressSanitizer + UBSan, and once more under ThreadSanitizer. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
# Every C/C++ file clang-formatted (seconds; fails before any build).
scripts/format.sh --check

run() {  # run <build-dir> <extra cmake args...>
  local dir=$1; shift
  echo "== configure $dir"
  cmake -S . -B "$dir" -G Ninja -DAUTHSTORE_WERROR=ON "$@" >/dev/null
  echo "== build $dir"
  cmake --build "$dir" -j "$jobs"
  echo "== test $dir"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 300)
}

# -g1 (line tables and function names: enough for every sanitizer's and gdb's backtraces) instead of
# -g: measured here, it cuts compiling a heavy test file by about a third and the whole run by minutes.
optflags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
          "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")
run build-test "${optflags[@]}"
# The bindings' tests (Node addon) run in the normal build only: a sanitized module cannot be loaded
# into an uninstrumented interpreter.
run build-asan -DCMAKE_BUILD_TYPE=Debug -DAUTHSTORE_SANITIZE=ON -DAUTHSTORE_BUILD_BENCH=OFF -DAUTHSTORE_BUILD_NODE=OFF
# ThreadSanitizer over the same tests: the race tests' contenders, the SQLite group commit, the
# Redis client's I/O thread. die_after_fork=0: the fork tests start threads in forked children
# (TSan's own limitation; it would otherwise kill them). Any report fails the test (exit code 66).
export TSAN_OPTIONS="die_after_fork=0 ${TSAN_OPTIONS:-}"
run build-tsan "${optflags[@]}" -DAUTHSTORE_TSAN=ON -DAUTHSTORE_BUILD_BENCH=OFF -DAUTHSTORE_BUILD_NODE=OFF
# Hostile input: every libFuzzer target (clang) for 20 s; the long runs are on demand
# (scripts/fuzz.sh --runs 10000000).
echo "== fuzz (20 s per target)"
scripts/fuzz.sh --ci
echo "== all tests passed (normal, ASan+UBSan and TSan builds; fuzzing)"
