#!/usr/bin/env bash
# Runs the bare SQLite program and authstore's SQLite benchmark side by side on the same disk,
# alternating repetitions, and prints the median of each configuration.
#   bench/sqlite/run.sh [BUILD_DIR] [SECONDS_PER_RUN] [REPETITIONS]
# BUILD_DIR must be a Release build (cmake -DCMAKE_BUILD_TYPE=Release). Do not run it while
# a build runs on the machine. Files go to a fresh directory under BUILD_DIR (same disk).
set -euo pipefail
build=${1:-build-release}
secs=${2:-1}
reps=${3:-3}
bare="$build/bench/sqlite/bare_sqlite"
mine="$build/bench/sqlite/authstore_sqlite_bench"
[[ -x $bare && -x $mine ]] || { echo "build $bare and $mine first" >&2; exit 2; }
dir=$(mktemp -d "$build/sqlite-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
out="$dir/results.txt"

one() {  # program op threads procs
  local prog=$1 op=$2 threads=$3 procs=$4 bin
  bin=$([[ $prog == bare ]] && echo "$bare" || echo "$mine")
  "$bin" --op="$op" --path="$dir/$prog-$op.db" --threads="$threads" --procs="$procs" --seconds="$secs" \
    | tee -a "$out"
}

for ((r = 1; r <= reps; r++)); do
  echo "--- repetition $r"
  one bare floor 1 1
  for op in codes refresh sessions replay; do
    for t in 1 8 64; do
      one bare "$op" "$t" 1
      one authstore "$op" "$t" 1
    done
  done
  for op in codes refresh sessions replay; do
    for p in 2 4; do
      one bare "$op" 1 "$p"
      one authstore "$op" 1 "$p"
    done
  done
done

echo
echo "=== medians of $reps repetitions of ${secs}s (units/s; p50 / p99 latency of one unit)"
awk '
  { key = $1 " " $2 " " $3 " " $4
    for (i = 5; i <= NF; i++) {
      split($i, kv, "="); if (kv[1] == "units/s") u = kv[2]
      if (kv[1] == "p50") p50 = kv[2]; if (kv[1] == "p99") p99 = kv[2]
    }
    if ($5 ~ /^p50/) { }  # layout: units/s=    N (space after =)
    n[key]++; vals[key, n[key]] = u; l50[key, n[key]] = p50; l99[key, n[key]] = p99 }
  function median(arr, k, m,   a, i, j, t) {
    for (i = 1; i <= m; i++) a[i] = arr[k, i] + 0
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((m + 1) / 2)]
  }
  END { for (k in n) printf "%-55s %9.0f units/s  p50 %8.1fus  p99 %9.1fus\n", k, median(vals, k, n[k]), median(l50, k, n[k]), median(l99, k, n[k]) }
' <(sed -E 's/= +/=/g; s/us / /g; s/us$//' "$out") | sort
