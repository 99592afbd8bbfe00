#!/usr/bin/env bash
# Every store operation of the Redis backend: authstore (public API, 256 operations in flight)
# versus redis-benchmark (-c 50 -P 32) sending the very same loaded script, side by side.
#
#   bench/redis/run_backend.sh [BUILD_DIR] [REPETITIONS] [OPS...]   (defaults: build, 5, all)
#   env N=50000   operations per run (token_list: N/20)
#
# A redis-server of its own (free loopback port, --save "" --appendonly no, maxmemory-policy
# noeviction, pidfile) runs pinned to CPU 0; every client runs pinned to CPU 1 (taskset). Each
# run starts from FLUSHALL. Repetitions alternate which tool goes first; the table reports
# medians. Every run is bounded in count (N) and time (timeout); the whole script stops starting
# runs after MAX_SECONDS (default 780).
#   authstore:        redis_backend_bench --mode authstore: prepares what the operation hits (untimed),
#                     then N calls of the *_async API with 256 outstanding.
#   redis-benchmark:  redis_backend_bench --mode prefill writes the records it hits through the same
#                     scripts; --mode rb SCRIPT LOADs the backend's exact script source and prints the
#                     command: taskset -c 1 redis-benchmark -c 50 -P 32 -n N -r <keyspace> <command>.
set -euo pipefail

build=${1:-build}
reps=${2:-5}
shift $(( $# > 2 ? 2 : $# ))
bench="$build/bench/redis/redis_backend_bench"
[[ -x "$bench" ]] || { echo "build $bench first (ninja -C $build redis_backend_bench)" >&2; exit 2; }
n=${N:-50000}
max_seconds=${MAX_SECONDS:-780}
all_ops=(code_issue code_peek code_consume refresh_issue refresh_rotate refresh_peek revoke_subject
         refresh_list jti_store jti_consume session_upsert session_get session_get_all session_delete
         replay_reserve replay_release token_save token_get token_take token_list)
if (( $# > 0 )); then ops=("$@"); else ops=("${all_ops[@]}"); fi

source "$(dirname "$0")/server.sh"
start_redis_server
cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }

declare -A samples
add() { samples[$1]+="$2 "; }
ops_of() { if [[ $1 == token_list ]]; then echo $(( n / 20 )); else echo "$n"; fi; }

run_ours() {
  local op=$1 out rps
  cli FLUSHALL >/dev/null
  out=$(timeout 180 taskset -c 1 "$bench" --mode authstore --url "$url" --op "$op" \
        --requests "$(ops_of "$op")" --max-seconds 30) || { echo "authstore $op failed: $out" >&2; return; }
  rps=$(tr ' ' '\n' <<<"$out" | awk -F= '$1 == "rps" { print $2 }')
  add "ours_$op" "$rps"
}
run_rb() {
  local op=$1 line cmd r out rps m
  m=$(ops_of "$op")
  cli FLUSHALL >/dev/null
  timeout 180 taskset -c 1 "$bench" --mode prefill --url "$url" --op "$op" --requests "$m"
  line=$("$bench" --mode rb --url "$url" --op "$op" --requests "$m")
  read -ra cmd <<<"$line"
  r=${cmd[0]}
  [[ -n "${commands[$op]:-}" ]] || commands[$op]="redis-benchmark -c 50 -P 32 -n $m -r $r ${cmd[*]:1}"
  out=$(timeout 120 taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$port" --csv -c 50 -P 32 -n "$m" -r "$r" \
        "${cmd[@]:1}" 2>/dev/null) || { echo "redis-benchmark $op failed" >&2; return; }
  rps=$(tail -1 <<<"$out" | awk -F'","' '{ gsub(/"/, "", $2); print $2 }')
  add "rb_$op" "$rps"
}
declare -A commands
# Refresh rotate, peek and list name keys that must belong together (a token and its family; an
# index and the families it names): redis-benchmark draws each __rand_int__ of a command on its
# own and cannot send them (see run_cluster.sh). Their reference: the same command stream, one id
# per command (redis_backend_bench --mode pipe), sent by `redis-cli --pipe` (every request in
# flight), pinned to CPU 1, timed from the first byte to the last reply. Code issue too: it sends
# two commands per operation (SET NX PX of the record, then of the tombstone: docs/redis.md,
# "Codes"), which redis-benchmark cannot pair; `--mode rb --op code_issue` prints the first.
pipe_ops=" code_issue refresh_rotate refresh_peek refresh_list "
pipe_dir=$(mktemp -d)
trap 'rm -rf "$pipe_dir"; stop_redis_server' EXIT
run_pipe() {
  local op=$1 m line per count t0 t1
  m=$(ops_of "$op")
  cli FLUSHALL >/dev/null
  timeout 180 taskset -c 1 "$bench" --mode prefill --url "$url" --op "$op" --requests "$m"
  line=$(timeout 180 "$bench" --mode pipe --url "$url" --op "$op" --requests "$m" --out "$pipe_dir")
  read -r per count <<<"$line"
  [[ -n "${commands[$op]:-}" ]] ||
    commands[$op]="redis_backend_bench --mode pipe --op $op (one id per command; $per command(s) per operation) | redis-cli --pipe"
  t0=$(date +%s%N)
  timeout 120 taskset -c 1 redis-cli -h 127.0.0.1 -p "$port" --pipe < "$pipe_dir/pipe-0.resp" > "$pipe_dir/out" 2>&1 ||
    { echo "redis-cli --pipe $op failed: $(tail -1 "$pipe_dir/out")" >&2; return; }
  t1=$(date +%s%N)
  grep -q 'errors: 0,' "$pipe_dir/out" || { echo "redis-cli --pipe $op: $(tail -1 "$pipe_dir/out")" >&2; return; }
  add "rb_$op" "$(awk -v n="$count" -v ns=$(( t1 - t0 )) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')"
}
run_ref() { if [[ $pipe_ops == *" $1 "* ]]; then run_pipe "$1"; else run_rb "$1"; fi; }

start=$SECONDS
for rep in $(seq "$reps"); do
  for op in "${ops[@]}"; do
    if (( SECONDS - start > max_seconds )); then echo "time bound reached, stopping" >&2; break 2; fi
    if (( rep % 2 )); then run_ours "$op"; run_ref "$op"; else run_ref "$op"; run_ours "$op"; fi
  done
  echo "repetition $rep/$reps done ($(( SECONDS - start )) s)" >&2
done

m() { median <<<"${samples[$1]:-}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.2f", a / b }'; }

echo "N=$n per run, medians of $reps repetitions; redis-server on CPU 0, clients on CPU 1; $(nproc) CPUs; $(( SECONDS - start )) s"
printf '| %-16s | %10s | %10s | %5s | %-40s | %-40s |\n' "operation" "authstore" "redis-bm" "ratio" "authstore runs" "redis-benchmark runs"
for op in "${ops[@]}"; do
  a=$(m "ours_$op"); b=$(m "rb_$op")
  printf '| %-16s | %10.0f | %10.0f | %5s | %-40s | %-40s |\n' "$op" "${a:-0}" "${b:-0}" "$(ratio "$a" "$b")" \
    "${samples[ours_$op]:-}" "${samples[rb_$op]:-}"
done
echo
echo "redis-benchmark commands (also: -h 127.0.0.1 -p PORT --csv; SHA = the backend's loaded script):"
for op in "${ops[@]}"; do
  c=${commands[$op]:-}
  # Long blobs shortened for reading: <470xc> stands for 470 copies of c.
  echo "$op: $(perl -pe 's/(([a-z])\2{19,})/"<" . length($1) . "x$2>"/ge' <<<"$c")"
done
