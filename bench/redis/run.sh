#!/usr/bin/env bash
# Side-by-side: authstore's Redis client vs redis-benchmark, same commands, same server.
#
#   bench/redis/run.sh [BUILD_DIR] [REPETITIONS]     (defaults: build, 5)
#
# redis-server runs pinned on CPU 0, both clients on CPU 1 (taskset). Each repetition runs every
# measurement once, alternating which tool goes first; the table reports medians.
#   throughput: redis-benchmark -c 50 -P 32 (1600 in flight)  vs  256 in flight on one connection
#   latency:    redis-benchmark -c 1 -P 1 p50                  vs  blocking call, one in flight, p50
# Commands: SET key:__rand_int__ xxx / GET key:__rand_int__ (redis-benchmark's defaults, -d 3).
set -euo pipefail

build=${1:-build}
reps=${2:-5}
loadgen="$build/bench/redis/redis_client_loadgen"
[[ -x "$loadgen" ]] || { echo "build $loadgen first (ninja -C $build redis_client_loadgen)" >&2; exit 2; }
n_pipe=${N_PIPE:-300000}
n_lat=${N_LAT:-20000}

source "$(dirname "$0")/server.sh"
start_redis_server

rb() { taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$port" --csv "$@" 2>/dev/null; }
# CSV column of a redis-benchmark test: rb_col TEST COLUMN (2 = rps, 5 = p50 ms)
rb_col() { awk -F'","' -v t="\"$1" -v c="$2" '$1 == t { gsub(/"/, "", $c); print $c }'; }
lg() { taskset -c 1 "$loadgen" --url "$url" "$@"; }
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }

declare -A samples
add() { samples[$1]+="$2 "; }

run_rb() {
  local out
  out=$(rb -c 50 -P 32 -t set,get -n "$n_pipe")
  add rb_set_rps "$(rb_col SET 2 <<<"$out")"
  add rb_get_rps "$(rb_col GET 2 <<<"$out")"
  out=$(rb -c 1 -P 1 -t get -n "$n_lat")
  add rb_get_p50_us "$(awk -v ms="$(rb_col GET 5 <<<"$out")" 'BEGIN { printf "%.1f", ms * 1000 }')"
}
run_ours() {
  local out
  out=$(lg --op set --inflight 256 --requests "$n_pipe")
  add our_set_rps "$(field rps <<<"$out")"; add our_set_cpu_ns "$(field cpu_ns_per_req <<<"$out")"
  add our_set_allocs "$(field allocs_per_req <<<"$out")"
  out=$(lg --op get --inflight 256 --requests "$n_pipe")
  add our_get_rps "$(field rps <<<"$out")"; add our_get_cpu_ns "$(field cpu_ns_per_req <<<"$out")"
  add our_get_allocs "$(field allocs_per_req <<<"$out")"
  out=$(lg --op get --inflight 1 --requests "$n_lat")
  add our_get_p50_us "$(field p50_us <<<"$out")"; add our_lat_allocs "$(field allocs_per_req <<<"$out")"
  # The spin needs CPUs of its own: a thread confined to one CPU does not spin (spin_wait.h).
  out=$(taskset -c 0,1 "$loadgen" --url "$url" --op get --inflight 1 --requests "$n_lat" --spin-us 100)
  add our_get_spin_p50_us "$(field p50_us <<<"$out")"
}

for rep in $(seq "$reps"); do
  if (( rep % 2 )); then run_rb; run_ours; else run_ours; run_rb; fi
  echo "repetition $rep/$reps done" >&2
done

m() { median <<<"${samples[$1]}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "median of $reps repetitions; redis-server on CPU 0, clients on CPU 1; $(nproc) CPUs"
printf '%-44s %12s %12s %8s\n' "measurement" "authstore" "redis-bench" "ratio"
printf '%-44s %12s %12s %8s\n' "SET rps (256 in flight vs -c 50 -P 32)" "$(m our_set_rps)" "$(m rb_set_rps)" "$(ratio "$(m our_set_rps)" "$(m rb_set_rps)")"
printf '%-44s %12s %12s %8s\n' "GET rps (256 in flight vs -c 50 -P 32)" "$(m our_get_rps)" "$(m rb_get_rps)" "$(ratio "$(m our_get_rps)" "$(m rb_get_rps)")"
printf '%-44s %12s %12s %8s\n' "GET p50 us, one in flight (vs -c 1 -P 1)" "$(m our_get_p50_us)" "$(m rb_get_p50_us)" "$(ratio "$(m our_get_p50_us)" "$(m rb_get_p50_us)")"
printf '%-44s %12s %12s %8s\n' "GET p50 us, one in flight, spin 100 us (CPUs 0,1)" "$(m our_get_spin_p50_us)" "$(m rb_get_p50_us)" "$(ratio "$(m our_get_spin_p50_us)" "$(m rb_get_p50_us)")"
echo "client CPU per request (ns): SET $(m our_set_cpu_ns), GET $(m our_get_cpu_ns) (256 in flight, caller + I/O thread)"
echo "allocations per request (operator new): SET $(m our_set_allocs), GET $(m our_get_allocs) pipelined; $(m our_lat_allocs) blocking"
