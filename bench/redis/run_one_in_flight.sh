#!/usr/bin/env bash
# One request in flight (issue 17, target 3): authstore's blocking calls vs redis-benchmark -c 1 -P 1.
#
#   bench/redis/run_one_in_flight.sh [BUILD_DIR] [REPETITIONS] [SPIN_US]     (defaults: build, 5, 200)
#
# redis-server runs pinned on CPU 0; redis-benchmark and the default mode on CPU 1 (taskset). The
# low-latency mode (URL spin_us=SPIN_US) runs twice: on CPU 1 (caller and I/O thread share it) and
# unpinned (taskset -c 0,1: they can spread over the CPUs, as the mode needs). Each repetition runs
# every measurement once, rotating which goes first; the table reports medians and each figure's
# ratio to redis-benchmark's requests per second in the same repetitions.
# Operation: code peek (one GET of a prefilled code's record) against `redis-benchmark -t get`.
set -euo pipefail

build=${1:-build}
reps=${2:-5}
spin=${3:-200}
bench="$build/bench/redis/redis_backend_bench"
[[ -x "$bench" ]] || { echo "build $bench first (ninja -C $build redis_backend_bench)" >&2; exit 2; }
n=${N_ONE:-20000}

source "$(dirname "$0")/server.sh"
start_redis_server

declare -A samples
add() { samples[$1]+="$2 "; }
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
rb() {
  taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$port" --csv -c 1 -P 1 -t get -n "$n" 2>/dev/null |
    awk -F'","' '$1 == "\"GET" { gsub(/"/, "", $2); print $2 }'
}
ours() {  # CPUS URL_EXTRA
  taskset -c "$1" "$bench" --mode authstore --url "$url$2" --op code_peek --blocking 1 --requests "$n" | field rps
}
run() {
  case $1 in
    rb) add rb "$(rb)" ;;
    default) add default "$(ours 1 "")" ;;
    spin1) add spin1 "$(ours 1 "?spin_us=$spin")" ;;
    spin01) add spin01 "$(ours 0,1 "?spin_us=$spin")" ;;
  esac
}

order=(rb default spin1 spin01)
for rep in $(seq "$reps"); do
  for k in $(seq 0 3); do run "${order[$(( (k + rep) % 4 ))]}"; done
  echo "repetition $rep/$reps done" >&2
done

m() { median <<<"${samples[$1]}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "median of $reps repetitions, $n requests each; redis-server on CPU 0; $(nproc) CPUs"
printf '%-58s %10s %8s\n' "measurement (requests/s, one in flight)" "rps" "ratio"
printf '%-58s %10s %8s\n' "redis-benchmark -c 1 -P 1 -t get (CPU 1)" "$(m rb)" "1.00"
printf '%-58s %10s %8s\n' "code peek, blocking, default (CPU 1)" "$(m default)" "$(ratio "$(m default)" "$(m rb)")"
printf '%-58s %10s %8s\n' "code peek, blocking, spin_us=$spin (CPU 1)" "$(m spin1)" "$(ratio "$(m spin1)" "$(m rb)")"
printf '%-58s %10s %8s\n' "code peek, blocking, spin_us=$spin (CPUs 0,1)" "$(m spin01)" "$(ratio "$(m spin01)" "$(m rb)")"
