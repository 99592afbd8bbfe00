#!/usr/bin/env bash
# The Python module's cost (issue 14's benchmark), every figure against its reference in the same run:
#   1. per-call overhead: sync codes.peek of one code on memory:// from Python (bench.py peek-memory)
#      minus the same C++ call (stores_bench BM_CodePeek);
#   2. 256 in flight on Redis: codes.peek_async from asyncio (bench.py peek-redis) vs the C++ async
#      API (redis_backend_bench --mode authstore --op code_peek) vs Debian's python3-redis asyncio
#      client sending authstore's exact command (captured by redis_backend_bench --mode rb) with 256
#      tasks in flight (bench.py redis-py).
#
#   bench/python/run.sh [BUILD_DIR] [REPETITIONS]     (defaults: build, 5)
#   env N=50000 (Redis operations per run), M=1000000 (memory peeks per run)
#
# redis-server of its own pinned to CPU 0 (bench/redis/server.sh), every client pinned to CPU 1;
# repetitions alternate the order; medians reported. Bounded: every run has a timeout, the whole
# script stops starting runs after MAX_SECONDS (default 600).
set -euo pipefail
build=${1:-build}
reps=${2:-5}
n=${N:-50000}
m=${M:-1000000}
max_seconds=${MAX_SECONDS:-600}
here=$(cd "$(dirname "$0")" && pwd)
stores_bench="$build/bench/stores/stores_bench"
backend_bench="$build/bench/redis/redis_backend_bench"
for b in "$stores_bench" "$backend_bench" "$build/python/authstore"; do
  [[ -e "$b" ]] || { echo "build $b first (cmake --build $build)" >&2; exit 2; }
done
if ! /usr/bin/python3 -c 'import redis.asyncio' 2>/dev/null; then
  echo "installing Debian's python3-redis (the comparison client)" >&2
  SUDO=""; [[ "$(id -u)" == 0 ]] || SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends python3-redis >/dev/null
fi
export PYTHONPATH="$build/python"
py() { timeout 180 taskset -c 1 /usr/bin/python3 "$here/bench.py" "$@"; }

source "$here/../redis/server.sh"
start_redis_server
cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }

declare -A samples
add() { samples[$1]+="$2 "; }

cpp_peek() {
  local out
  out=$(timeout 180 taskset -c 1 "$stores_bench" --benchmark_filter='^BM_CodePeek/' --benchmark_format=csv \
        --benchmark_min_time=1 2>/dev/null)
  # csv: name,iterations,real_time,cpu_time,time_unit,...
  add cpp_peek "$(awk -F, '/BM_CodePeek/ { t = $3; u = $5 } END { if (u == "\"us\"" || u == "us") t *= 1000; print t }' <<<"$out")"
}
py_peek() { add py_peek "$(py peek-memory "$m")"; }
cpp_redis() {
  local out
  cli FLUSHALL >/dev/null
  out=$(timeout 180 taskset -c 1 "$backend_bench" --mode authstore --url "$url" --op code_peek --requests "$n" \
        --max-seconds 30)
  add cpp_redis "$(tr ' ' '\n' <<<"$out" | awk -F= '$1 == "rps" { print $2 }')"
}
py_redis() { cli FLUSHALL >/dev/null; add py_redis "$(py peek-redis "$url?prefix=py:" "$n" 256)"; }
redispy() {
  local line cmd
  cli FLUSHALL >/dev/null
  timeout 180 taskset -c 1 "$backend_bench" --mode prefill --url "$url" --op code_peek --requests "$n"
  line=$("$backend_bench" --mode rb --url "$url" --op code_peek --requests "$n")
  read -ra cmd <<<"$line"
  command_line="${cmd[*]:1}"
  add redispy "$(py redis-py "$url" "$n" 256 "${cmd[0]}" "${cmd[@]:1}")"
}

start=$SECONDS
order=(cpp_peek py_peek cpp_redis py_redis redispy)
for rep in $(seq "$reps"); do
  if (( SECONDS - start > max_seconds )); then echo "time bound reached, stopping" >&2; break; fi
  if (( rep % 2 )); then seq_=("${order[@]}"); else seq_=(redispy py_redis cpp_redis py_peek cpp_peek); fi
  for f in "${seq_[@]}"; do "$f"; done
  echo "repetition $rep/$reps done ($(( SECONDS - start )) s)" >&2
done

med() { median <<<"${samples[$1]:-}"; }
cp=$(med cpp_peek); pp=$(med py_peek); cr=$(med cpp_redis); pr=$(med py_redis); rp=$(med redispy)
echo "medians of $reps alternated repetitions; redis-server on CPU 0, clients on CPU 1; $(nproc) CPUs; $(( SECONDS - start )) s"
echo "python: $(/usr/bin/python3 --version 2>&1), redis-py $(/usr/bin/python3 -c 'import redis; print(redis.__version__)')"
printf '| %-44s | %12s | %-40s |\n' "measure" "median" "runs"
printf '| %-44s | %9.1f ns | %-40s |\n' "C++ codes().peek, memory (BM_CodePeek)" "$cp" "${samples[cpp_peek]}"
printf '| %-44s | %9.1f ns | %-40s |\n' "Python codes.peek, memory" "$pp" "${samples[py_peek]}"
printf '| %-44s | %9.1f ns | %-40s |\n' "Python overhead per call" "$(awk -v a="$pp" -v b="$cp" 'BEGIN { print a - b }')" "-"
printf '| %-44s | %8.0f /s | %-40s |\n' "C++ peek async, Redis, 256 in flight" "$cr" "${samples[cpp_redis]}"
printf '| %-44s | %8.0f /s | %-40s |\n' "Python peek_async, Redis, 256 in flight" "$pr" "${samples[py_redis]}"
printf '| %-44s | %8.0f /s | %-40s |\n' "python3-redis asyncio, same command, 256" "$rp" "${samples[redispy]}"
echo "Python / C++ on Redis: $(awk -v a="$pr" -v b="$cr" 'BEGIN { printf "%.2f", a / b }')x;" \
     "Python / python3-redis: $(awk -v a="$pr" -v b="$rp" 'BEGIN { printf "%.2f", a / b }')x"
echo "python3-redis command: $command_line"
