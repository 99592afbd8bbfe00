#!/usr/bin/env bash
# `authstore bench` on a fresh SQLite file with 1, 8 and 64 threads, alternating, and the median
# of each (op, threads) over the repetitions.
#   bench/sqlite/cli_threads.sh [BUILD_DIR] [SECONDS_PER_RUN] [REPETITIONS]
# BUILD_DIR must be a Release build with the CLI (build/src/cli/authstore). Files (database and
# a throwaway key file) go to a fresh directory under BUILD_DIR and are removed at the end.
set -euo pipefail
build=${1:-build-release}
secs=${2:-2}
reps=${3:-3}
bin="$build/src/cli/authstore"
[[ -x $bin ]] || { echo "build $bin first" >&2; exit 2; }
dir=$(mktemp -d "$build/sqlite-cli-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
out="$dir/results.txt"
# A key file for the runs below (the demo makes ./authstore.key; bench on its own stores does not).
(cd "$dir" && "$OLDPWD/$bin" demo --store memory:// >/dev/null)

for ((r = 1; r <= reps; r++)); do
  echo "--- repetition $r"
  for t in 1 8 64; do
    rm -f "$dir"/bench.db*
    "$bin" --key-file "$dir/authstore.key" bench --store "sqlite://$dir/bench.db" --op all --threads "$t" \
      --seconds "$secs" --ops 10000000 --repetitions 1 \
      | awk -v t="$t" '/^(code|rotate|session|reserve) / { print $1, t, $2, $3, $5 }' | tee -a "$out"
  done
done

echo
echo "=== medians of $reps repetitions of <= ${secs}s (op threads ops/s p50us p99us)"
awk '
  { k = $1 " " $2; n[k]++; v[k, n[k]] = $3; a[k, n[k]] = $4; b[k, n[k]] = $5 }
  function median(arr, k, m,   x, i, j, t) {
    for (i = 1; i <= m; i++) x[i] = arr[k, i] + 0
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
    return x[int((m + 1) / 2)]
  }
  END { for (k in n) { split(k, f, " "); one = median(v, f[1] " 1", n[f[1] " 1"])
          printf "%-8s %3s threads %9.0f ops/s  p50 %8.1fus  p99 %9.1fus  %.2fx of 1 thread\n", f[1], f[2],
                 median(v, k, n[k]), median(a, k, n[k]), median(b, k, n[k]), median(v, k, n[k]) / one } }
' "$out" | sort -k1,1 -k2,2n
