#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang with -fsanitize=fuzzer,address,undefined) in
# build-fuzz/ and runs each one, single process, from its seed corpus. Fails on any crash, leak,
# timeout, out-of-memory or invariant violation; prints a table of targets, runs, seconds, crashes.
#
#   scripts/fuzz.sh --ci                 every target 20 s (what scripts/test.sh runs)
#   scripts/fuzz.sh [SECONDS] [TARGET..] every target (or the named ones) SECONDS each (default 60)
#   scripts/fuzz.sh --runs N [TARGET..]  every target until N inputs ran (e.g. --runs 10000000)
#   --no-build                           run what build-fuzz/ holds (e.g. two runs side by side)
#   --timeout S                          one input may take S s of wall time (default 10; raise it when
#                                        the run shares a loaded machine: a starved input is no hang)
#
# The working corpus of each target (build-fuzz/work/<target>/corpus) starts from the committed
# seeds (tests/fuzz/corpus/<target>) plus seeds the current code makes (fuzz_make_seeds), and keeps
# what earlier runs found. A failing input is saved as build-fuzz/work/<target>/crash-* (or leak-,
# timeout-, oom-); rerun it with build-fuzz/tests/fuzz/fuzz_<target> <file>. docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
runs=""
build_it=1
timeout=10
targets=()
while (($#)); do
  case $1 in
    --ci) seconds=20 ;;
    --runs) runs=$2; shift ;;
    --no-build) build_it=0 ;;
    --timeout) timeout=$2; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    [0-9]*) seconds=$1 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
all=(record token key_file url resp pkce store validate)
((${#targets[@]})) || targets=("${all[@]}")

build=build-fuzz
gen=$build/work/generated
if ((build_it)); then
  scripts/deps.sh
  echo "== configure $build (clang, AUTHSTORE_FUZZ=ON)"
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DAUTHSTORE_FUZZ=ON -DAUTHSTORE_WERROR=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUTHSTORE_SHARED=OFF -DAUTHSTORE_BUILD_TESTS=OFF \
    -DAUTHSTORE_BUILD_BENCH=OFF -DAUTHSTORE_BUILD_CLI=OFF -DAUTHSTORE_INSTALL=OFF >/dev/null
  echo "== build $build"
  cmake --build "$build" -j "$(nproc)" --target fuzz_make_seeds "${targets[@]/#/fuzz_}"
  rm -rf "$gen"
  "$build/tests/fuzz/fuzz_make_seeds" "$gen"
fi

# halt_on_error / abort_on_error: the first report ends the run and counts as a crash.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
rows=()
failed=0
for t in "${targets[@]}"; do
  work=$build/work/$t
  mkdir -p "$work/corpus"
  cp -n tests/fuzz/corpus/"$t"/* "$work/corpus/" 2>/dev/null || true
  [ -d "$gen/$t" ] && cp "$gen/$t"/* "$work/corpus/"
  before=$(find "$work" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'leak-*' \
             -o -maxdepth 1 -name 'timeout-*' -o -maxdepth 1 -name 'oom-*' | wc -l)
  if [ -n "$runs" ]; then limit=(-runs="$runs"); else limit=(-max_total_time="$seconds"); fi
  echo "== fuzz $t (${runs:+$runs runs}${runs:-$seconds s})"
  start=$(date +%s)
  rc=0
  "$build/tests/fuzz/fuzz_$t" "${limit[@]}" -print_final_stats=1 -timeout="$timeout" -rss_limit_mb=2048 \
    -max_len=4096 -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1 || rc=$?
  elapsed=$(($(date +%s) - start))
  after=$(find "$work" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'leak-*' \
            -o -maxdepth 1 -name 'timeout-*' -o -maxdepth 1 -name 'oom-*' | wc -l)
  crashes=$((after - before))
  if ((rc != 0 && crashes == 0)); then crashes=1; fi  # died without an artifact: still a failure
  executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  rows+=("$(printf '%-10s %14s %8s %8s' "$t" "${executed:-?}" "$elapsed" "$crashes")")
  if ((crashes)); then
    failed=1
    echo "!! $t failed (exit $rc); last lines of $work/log:"
    tail -40 "$work/log"
  fi
done

echo
printf '%-10s %14s %8s %8s\n' target runs seconds crashes
printf '%s\n' "${rows[@]}"
if ((failed)); then
  echo "== fuzzing found failures (inputs saved under $build/work/<target>/)"
  exit 1
fi
echo "== fuzzing: no failures"
