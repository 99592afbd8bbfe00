#!/usr/bin/env bash
# Soak: mixed load on each backend for a bounded time, sampling memory, file descriptors, threads
# and the backend's rows / keys every 10 s; fails if any series grows more than 5 % over the second
# half of a run, if any operation has an unexpected outcome, or (Redis) if a key has no TTL.
#
#   scripts/soak.sh [--seconds 300] [--backends "memory sqlite redis"] [--out DIR] [--plot FILE.svg]
#
# Default: 5 minutes per backend (300 s); 30 minutes on demand with --seconds 1800. Loopback only:
# the Redis run starts its own redis-server on a free loopback port and stops it by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=300
backends="memory sqlite redis"
out=""
plot=""
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --backends) backends=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --plot) plot=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--backends \"memory sqlite redis\"] [--out DIR] [--plot FILE.svg]" >&2; exit 2 ;;
  esac
done
scripts/deps.sh
build=${AUTHSTORE_SOAK_BUILD:-build-soak}  # an existing build dir may be given
[[ -f "$build/CMakeCache.txt" ]] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUTHSTORE_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target authstore_soak >/dev/null
work=$(mktemp -d /tmp/authstore-soak.XXXXXX)
out=${out:-$work}
mkdir -p "$out"
redis_pid=""
cleanup() {
  if [[ -n "$redis_pid" ]] && kill -0 "$redis_pid" 2>/dev/null; then kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true; fi
  rm -rf "$work/db"
}
trap cleanup EXIT
mkdir -p "$work/db"
export AUTHSTORE_SECRET=${AUTHSTORE_SECRET:-soak-secret-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')}
status=0
for b in $backends; do
  case $b in
    memory) url="memory://" ;;
    sqlite) url="sqlite://$work/db/soak.db" ;;
    redis)
      port=$((20000 + RANDOM % 20000))
      redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --maxmemory-policy noeviction \
        --dir "$work/db" >"$out/redis.log" 2>&1 &
      redis_pid=$!
      for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
      url="redis://127.0.0.1:$port?prefix=soak:" ;;
    *) echo "unknown backend $b" >&2; exit 2 ;;
  esac
  echo "== soak $b for ${seconds}s ($url)"
  if ! "$build/tests/soak/authstore_soak" --store "$url" --seconds "$seconds" --sample 10 \
       --csv "$out/$b.csv" | tee "$out/$b.txt"; then
    status=1
  fi
  if [[ $b == redis ]]; then
    echo "   redis used_memory: $(redis-cli -p "$port" info memory | grep '^used_memory:' | tr -d '\r')"
    kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true; redis_pid=""
  fi
done
if [[ -n "$plot" ]]; then
  python3 scripts/soak_plot.py "$plot" "$out"/*.csv
  echo "plot: $plot"
fi
echo "results: $out"
exit $status
