#!/usr/bin/env bash
# Model-based checking on demand (issue 12; docs/reliability.md, "Model-based checking"):
# plays seeded random operation sequences on the reference model (tests/model) and on real stores,
# and prints a table of sequences / operations / differences per backend. A difference prints the
# seed, the backend and the shortest sequence found that shows it; the exit status is then 1.
#
#   scripts/model-check.sh [--sequences N] [--seed S] [--backend memory|sqlite|redis|redis_cluster|all]
#                          [--length L] [--build-dir DIR] [--trace]
#
# Defaults: 2000 sequences per backend, seed = the current time (printed), all backends.
# Builds model_check (ccache when available) in DIR (default build-model-check). For Redis it
# starts one redis-server on a free loopback port (no persistence) and stops it by pid on exit; for
# redis_cluster (not part of "all") a 6-node cluster (tests/fixtures/redis/redis-cluster.sh, about
# 3-15 s to start), stopped by pid on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sequences=2000
seed=$(date +%s)
backend=all
build="$root/build-model-check"
extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --sequences) sequences=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --length) extra+=(--length "$2"); shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --trace) extra+=(--trace); shift ;;
    *) echo "usage: $0 [--sequences N] [--seed S] [--backend memory|sqlite|redis|redis_cluster|all] [--length L] [--build-dir DIR] [--trace]" >&2
       exit 2 ;;
  esac
done

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
  generator=()
  if command -v ninja >/dev/null; then generator=(-G Ninja); fi
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DAUTHSTORE_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
fi
cmake --build "$build" --target model_check -j2 >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/authstore-model-check-XXXXXX")
redis_pid=""
cluster_script="$root/tests/fixtures/redis/redis-cluster.sh"
cleanup() {
  if [[ -d "$work/cluster" ]]; then "$cluster_script" stop "$work/cluster" >/dev/null 2>&1 || true; fi
  if [[ -n "$redis_pid" ]] && kill -0 "$redis_pid" 2>/dev/null; then
    kill "$redis_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

args=(--sequences "$sequences" --seed "$seed" --backend "$backend" --dir "$work" "${extra[@]}")
if [[ $backend == all || $backend == redis ]]; then
  command -v redis-server >/dev/null || { echo "redis-server not found" >&2; exit 2; }
  port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
  for _ in $(seq 20); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_free "$port" || continue
    redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --daemonize yes \
      --pidfile "$work/redis.pid" --logfile "$work/redis.log" --dir "$work" >/dev/null 2>&1 || continue
    for _ in $(seq 50); do
      [[ -s "$work/redis.pid" ]] && ! port_free "$port" && break
      sleep 0.1
    done
    if [[ -s "$work/redis.pid" ]]; then redis_pid=$(cat "$work/redis.pid"); break; fi
  done
  [[ -n "$redis_pid" ]] || { echo "could not start redis-server" >&2; exit 2; }
  args+=(--redis-port "$port")
fi
if [[ $backend == redis_cluster ]]; then
  "$cluster_script" start "$work/cluster" >/dev/null || { echo "could not start the cluster" >&2; exit 2; }
  seeds=$(sed -n 's/^REDIS_CLUSTER_SEEDS="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$work/cluster/cluster.env")
  args+=(--redis-cluster-seeds "$seeds")
fi
echo "model-check: seed $seed, $sequences sequences per backend ($backend)"
"$build/tests/model/model_check" "${args[@]}"
