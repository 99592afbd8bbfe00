#!/usr/bin/env bash
# The README's second command: install what is needed, build with warnings as errors, run every
# test (unit, conformance on every backend, SQLite, Redis against real redis-server instances that
# the tests start and stop themselves on loopback), then build and run everything again under
# AddressSanitizer + UBSan. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)

run() {  # run <build-dir> <extra cmake args...>
  local dir=$1; shift
  echo "== configure $dir"
  cmake -S . -B "$dir" -G Ninja -DAUTHSTORE_WERROR=ON "$@" >/dev/null
  echo "== build $dir"
  cmake --build "$dir" -j "$jobs"
  echo "== test $dir"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 300)
}

run build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo
run build-asan -DCMAKE_BUILD_TYPE=Debug -DAUTHSTORE_SANITIZE=ON -DAUTHSTORE_BUILD_BENCH=OFF
echo "== all tests passed (normal and ASan+UBSan builds)"
