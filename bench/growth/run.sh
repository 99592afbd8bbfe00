#!/usr/bin/env bash
# Growth (issue 17, target 5; docs/performance.md "Growth"): each backend's operations in a small
# vs a big store, logout everywhere by the families a user holds, listing by list length.
#
#   bench/growth/run.sh BUILD_DIR [REPS] [N_BIG]     (defaults: build, 5, 10000000)
#   env N_SMALL=1000          live records in the small store
#       OPS=20000             operations per timing (memory: OPS*10)
#       REDIS_INFLIGHT=256    calls outstanding on Redis (1 = one at a time); memory/SQLite: 1
#       SQLITE_FILL_THREADS=16  threads filling SQLite (its group commit shares their transactions)
#       BACKENDS="memory sqlite redis"
#       LIST_SIZES=10,100,1000,10000  LOGOUT_FAMILIES=10,10000  PARTS=hot,logout,list
#       SQLITE_DIR=/path      SQLite: keep the two files in this directory (created if missing, never
#                             removed) and pass --reuse: the first run fills them and records the fill
#                             (small.db.growth-fill, big.db.growth-fill), later runs with the same N_SMALL
#                             and N_BIG time them without filling (growth_bench.cc says what is checked)
#       SQLITE_QUERY=cache_size_kib=65536   URL options added to both SQLite stores (docs/sqlite.md)
#
# growth_bench fills both stores through the public API (spread over codes, refresh families,
# sessions, replay reservations, client tokens), then times each operation on the small store and
# on the big one, alternating, and prints markdown tables with big/small ratios (medians of REPS).
#   memory:  two memory:// stores in one process.
#   SQLite:  two fresh files in a temporary directory under BUILD_DIR (same disk), removed after;
#            or, with SQLITE_DIR, the files kept there (filled once, reused by later runs).
#   Redis:   a redis-server of its own (bench/redis/server.sh: free loopback port, no persistence,
#            noeviction) pinned to CPU 0, the small store in database 1 and the big one in
#            database 2 (each database has its own keyspace tables); growth_bench pinned to CPU 1.
# Each run is bounded by `timeout`. Prints the fill time, the client's peak RSS, Redis's memory and
# the SQLite file size.
set -euo pipefail

build=${1:-build}
reps=${2:-5}
n_big=${3:-10000000}
n_small=${N_SMALL:-1000}
ops=${OPS:-20000}
redis_inflight=${REDIS_INFLIGHT:-256}
sqlite_fill_threads=${SQLITE_FILL_THREADS:-16}
backends=${BACKENDS:-memory sqlite redis}
list_sizes=${LIST_SIZES:-10,100,1000,10000}
logout_families=${LOGOUT_FAMILIES:-10,10000}
parts=${PARTS:-hot,logout,list}
bench="$build/bench/growth/growth_bench"
[[ -x "$bench" ]] || { echo "build $bench first (cmake --build $build --target growth_bench)" >&2; exit 2; }
limit=${RUN_SECONDS:-5400}  # each backend's run

common=(--n-small "$n_small" --n-big "$n_big" --reps "$reps" --list-sizes "$list_sizes"
        --logout-families "$logout_families" --parts "$parts" --max-seconds "$limit")

echo "# growth_bench: N_small=$n_small N_big=$n_big, $reps repetitions, $(nproc) CPUs, $(date -u +%FT%TZ)"
for backend in $backends; do
  echo
  echo "## $backend"
  case $backend in
    memory)
      start=$SECONDS
      timeout "$limit" "$bench" --small memory:// --big memory:// --ops $(( ops * 10 )) --inflight 1 \
        --fill-threads 2 "${common[@]}"
      echo "($(( SECONDS - start )) s)"
      ;;
    sqlite)
      query=${SQLITE_QUERY:+?$SQLITE_QUERY}
      if [[ -n ${SQLITE_DIR:-} ]]; then
        dir=$SQLITE_DIR
        mkdir -p "$dir"
        keep=(--reuse)
      else
        dir=$(mktemp -d "$build/growth-bench.XXXXXX")
        keep=()
      fi
      start=$SECONDS
      timeout "$limit" "$bench" --small "sqlite://$dir/small.db$query" --big "sqlite://$dir/big.db$query" \
        --ops "$ops" --inflight 1 --fill-threads "$sqlite_fill_threads" --fill-inflight 1 ${keep[@]+"${keep[@]}"} \
        "${common[@]}" || { [[ -n ${SQLITE_DIR:-} ]] || rm -rf "$dir"; exit 1; }
      echo "($(( SECONDS - start )) s; files: $(du -sh "$dir/small.db" | cut -f1) small, $(du -sh "$dir/big.db" | cut -f1) big, WAL $(du -sh "$dir/big.db-wal" 2>/dev/null | cut -f1))"
      [[ -n ${SQLITE_DIR:-} ]] || rm -rf "$dir"
      ;;
    redis)
      (
        source "$(dirname "$0")/../redis/server.sh"
        start_redis_server
        start=$SECONDS
        timeout "$limit" taskset -c 1 "$bench" --small "$url/1?prefix=g:" --big "$url/2?prefix=g:" --ops "$ops" \
          --inflight "$redis_inflight" --fill-threads 1 --fill-inflight 512 "${common[@]}"
        info=$(redis-cli -h 127.0.0.1 -p "$port" info memory | tr -d '\r')
        keys=$(redis-cli -h 127.0.0.1 -p "$port" info keyspace | tr -d '\r' | grep '^db' | tr '\n' ' ')
        echo "($(( SECONDS - start )) s; redis $(grep '^used_memory_human:' <<<"$info" | cut -d: -f2) used, peak $(grep '^used_memory_peak_human:' <<<"$info" | cut -d: -f2); $keys)"
      )
      ;;
    *) echo "unknown backend $backend (memory sqlite redis)" >&2; exit 2 ;;
  esac
done
