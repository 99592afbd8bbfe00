#!/usr/bin/env bash
# The Node addon's cost (issue 15's benchmark), every figure against its reference in the same run:
#   (a) promise round trip: `await codes.peek(code)` of one code on memory://, one at a time
#       (bench.js peek-memory), minus the same C++ asynchronous call (stores_bench BM_CodePeekAsync;
#       its callback runs inline on memory). BM_CodePeek (the blocking call) is printed beside it.
#   (b) 256 in flight on Redis: codes.peek from Node (bench.js peek-redis) vs the C++ async API
#       (redis_backend_bench --mode authstore --op code_peek), the same operation, 256 in flight.
#   (c) oidc-provider's token endpoint: refresh_token grants per second (C keep-alive connections
#       in flight, each its own refresh-token chain, from the provider's own process) with
#       authstore's adapter (`adapterFor`) vs oidc-provider's example Redis adapter over ioredis
#       (bench/node/ioredis_adapter.js), same redis-server.
#
#   bench/node/run.sh BUILD_DIR [REPETITIONS]     (defaults: build, 5)
#   env N=50000     Redis peeks per run (b)
#       M=1000000   memory peeks per run (a)
#       T=3000      token requests per run (c)
#       C=32        token requests in flight (c): C authorizations before each run
#       OIDC_ALG=ES256   the ID token's signature (c); RS256 makes RSA signing dominate
#       MAX_SECONDS=600  no repetition starts after this; every run is also bounded (timeout)
#
# redis-server of its own pinned to CPU 0 (bench/redis/server.sh: free loopback port, no
# persistence, noeviction, stopped by its pid), every client (node, C++) pinned to CPU 1;
# repetitions alternate the order (authstore-node, C++, ... then C++, authstore-node, ...); each
# Redis run starts from FLUSHALL; medians reported, every run printed.
set -euo pipefail
build=${1:-build}
reps=${2:-5}
n=${N:-50000}
m=${M:-1000000}
t=${T:-3000}
c=${C:-32}
max_seconds=${MAX_SECONDS:-600}
here=$(cd "$(dirname "$0")" && pwd)
stores_bench="$build/bench/stores/stores_bench"
backend_bench="$build/bench/redis/redis_backend_bench"
addon="$build/bindings/node/authstore.node"
for b in "$stores_bench" "$backend_bench" "$addon"; do
  [[ -e "$b" ]] || { echo "build $b first (cmake --build $build)" >&2; exit 2; }
done
[[ -d "$here/../../bindings/node/node_modules/ioredis" ]] ||
  { echo "bindings/node/node_modules lacks ioredis: configure $build again (it runs npm ci)" >&2; exit 2; }
export AUTHSTORE_NODE_ADDON=$(cd "$(dirname "$addon")" && pwd)/authstore.node
# bench.js prints its figure as the last line of stdout (oidc-provider prints notices before it).
js() { local out; out=$(timeout 300 taskset -c 1 node "$here/bench.js" "$@") || return 0; tail -n 1 <<<"$out"; }

source "$here/../redis/server.sh"
start_redis_server
cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }

declare -A samples
add() { if [[ -n "$2" ]]; then samples[$1]+="$2 "; else echo "$1: a run failed (no figure)" >&2; fi; }

cpp_peek() {
  local out
  out=$(timeout 180 taskset -c 1 "$stores_bench" --benchmark_filter='^BM_CodePeek(Async)?/' \
        --benchmark_format=csv --benchmark_min_time=1 2>/dev/null) || out=
  # csv: name,iterations,real_time,cpu_time,time_unit,... (ns unless time_unit says otherwise)
  ns() { awk -F, -v b="\"$1/" 'index($1, b) == 1 { t = $3; u = $5 } END { if (u ~ /us/) t *= 1000; print t }' <<<"$out"; }
  add cpp_async "$(ns BM_CodePeekAsync)"
  add cpp_sync "$(ns BM_CodePeek)"
}
node_peek() { add node_peek "$(js peek-memory "$m")"; }
cpp_redis() {
  local out
  cli FLUSHALL >/dev/null
  out=$(timeout 180 taskset -c 1 "$backend_bench" --mode authstore --url "$url" --op code_peek --requests "$n" \
        --inflight 256 --max-seconds 30) || out=
  add cpp_redis "$(tr ' ' '\n' <<<"$out" | awk -F= '$1 == "rps" { print $2 }')"
}
node_redis() { cli FLUSHALL >/dev/null; add node_redis "$(js peek-redis "$url" "$n" 256)"; }
oidc_authstore() { cli FLUSHALL >/dev/null; add oidc_authstore "$(js oidc "$url" authstore "$t" "$c")"; }
oidc_ioredis() { cli FLUSHALL >/dev/null; add oidc_ioredis "$(js oidc "$url" ioredis "$t" "$c")"; }

start=$SECONDS
for rep in $(seq "$reps"); do
  if (( SECONDS - start > max_seconds )); then echo "time bound reached, stopping" >&2; break; fi
  if (( rep % 2 )); then
    seq_=(node_peek cpp_peek node_redis cpp_redis oidc_authstore oidc_ioredis)
  else
    seq_=(cpp_peek node_peek cpp_redis node_redis oidc_ioredis oidc_authstore)
  fi
  for f in "${seq_[@]}"; do "$f"; done
  echo "repetition $rep/$reps done ($(( SECONDS - start )) s)" >&2
done

med() { median <<<"${samples[$1]:-}"; }
ca=$(med cpp_async); cs=$(med cpp_sync); np=$(med node_peek)
cr=$(med cpp_redis); nr=$(med node_redis); oa=$(med oidc_authstore); oi=$(med oidc_ioredis)
# fmt FORMAT EXPRESSION A B: the expression of a and b, or "-" when either is missing.
fmt() { awk -v a="$3" -v b="$4" "BEGIN { if (a == \"\" || b == \"\") print \"-\"; else printf \"$1\", $2 }"; }
ns() { fmt '%.1f ns' a "$1" 0; }
rps() { fmt '%.0f /s' a "$1" 0; }
row() { printf '| %-52s | %12s | %-44s |\n' "$@"; }
echo "medians of $reps alternated repetitions; redis-server on CPU 0, clients on CPU 1; $(nproc) CPUs; $(( SECONDS - start )) s"
modver() { node -p "require('$here/../../bindings/node/node_modules/$1/package.json').version"; }
echo "node $(node --version), ioredis $(modver ioredis), oidc-provider $(modver oidc-provider);" \
     "N=$n M=$m T=$t C=$c OIDC_ALG=${OIDC_ALG:-ES256}"
row "measure" "median" "runs"
row "C++ codes().peek_async, memory (BM_CodePeekAsync)" "$(ns "$ca")" "${samples[cpp_async]:-}"
row "C++ codes().peek, memory (BM_CodePeek)" "$(ns "$cs")" "${samples[cpp_sync]:-}"
row "Node await codes.peek, memory" "$(ns "$np")" "${samples[node_peek]:-}"
row "(a) Node overhead per call (vs peek_async)" "$(fmt '%.1f ns' 'a - b' "$np" "$ca")" "target <= 3000 ns"
row "C++ peek async, Redis, 256 in flight" "$(rps "$cr")" "${samples[cpp_redis]:-}"
row "Node codes.peek, Redis, 256 in flight" "$(rps "$nr")" "${samples[node_redis]:-}"
row "(b) Node / C++ on Redis" "$(fmt '%.2fx' 'a / b' "$nr" "$cr")" "target >= 0.5x"
row "oidc-provider refresh grants, authstore adapter" "$(rps "$oa")" "${samples[oidc_authstore]:-}"
row "oidc-provider refresh grants, ioredis example" "$(rps "$oi")" "${samples[oidc_ioredis]:-}"
row "(c) authstore / ioredis example adapter" "$(fmt '%.2fx' 'a / b' "$oa" "$oi")" "-"
