#!/usr/bin/env bash
# The Redis backend on a 3-master Redis Cluster, two comparisons in one run:
#   1. authstore (public API, redis+cluster://, 256 operations in flight, users spread over the
#      three masters) versus `redis-benchmark --cluster -c 50 -P 32` sending the very same loaded
#      scripts to the same cluster (its keys spread over every slot of every master);
#   2. authstore on the cluster versus authstore on a standalone server, with the three masters
#      and the standalone server all pinned to the same core: what routing costs.
#
#   bench/redis/run_cluster.sh [BUILD_DIR] [REPETITIONS] [OPS...]   (defaults: build, 3, all below)
#   env N=100000   authstore's operations per run; redis-benchmark sends RB_MULT (4) times as many
#
# redis-benchmark --cluster counts a fixed setup of about 0.25 s inside its measured interval
# (measured here: 10,000 and 100,000 SETs both took 0.31 s of wall time, 1,000,000 took 1.3 s), so
# its runs are made long (RB_MULT x N requests, seconds each): the setup then costs it a few per
# cent, a bias in authstore's favour that the ratios below do not remove.
#
# The cluster is the benchmark's own: three redis-server --cluster-enabled yes on free loopback
# ports (no replicas, no persistence, maxmemory-policy noeviction), created with
# redis-cli --cluster create, all pinned to CPU 0 with the standalone server; every client runs
# pinned to CPU 1 (taskset). Every run starts from FLUSHALL on every node. Repetitions alternate
# which side goes first; the tables report medians. Servers are stopped by pid on exit.
#
# redis-benchmark --cluster puts a hash tag of a slot of the node a client talks to in place of
# "{tag}" in the command (Debian 12's 7.0 keeps one slot per node for the whole run). Which tags it
# uses is read from redis-benchmark itself first: it SETs `probe:{tag}:x` to `{tag}`, and the keys
# it wrote are the tags (checked: the value, an argument, got the same tag as the key; one tag per
# master at least). The prefill then writes the records redis-benchmark will hit under each of those
# tags (the keyspace spread over them), through authstore's Cluster executor. authstore's side
# spreads its users over every slot.
# Generic client tokens (token_*) are left out: by design they all live in one slot (`{g}`,
# docs/redis.md), so they run on one master of a cluster.
set -euo pipefail

build=${1:-build}
reps=${2:-3}
shift $(( $# > 2 ? 2 : $# ))
bench="$build/bench/redis/redis_backend_bench"
[[ -x "$bench" ]] || { echo "build $bench first (ninja -C $build redis_backend_bench)" >&2; exit 2; }
n=${N:-100000}
rb_n=$(( n * ${RB_MULT:-4} ))
max_seconds=${MAX_SECONDS:-1500}
all_ops=(code_issue code_peek code_consume refresh_issue refresh_rotate refresh_peek revoke_subject
         refresh_list jti_store jti_consume session_upsert session_get session_get_all session_delete
         replay_reserve replay_release)
if (( $# > 0 )); then ops=("$@"); else ops=("${all_ops[@]}"); fi

source "$(dirname "$0")/server.sh"
start_redis_server  # the standalone reference, pinned to CPU 0; sets work, port, url, pid

cwork=$(mktemp -d)
cports=()
stop_all() {
  local f
  for f in "$cwork"/node-*.pid; do
    [[ -f "$f" ]] && kill "$(cat "$f")" 2>/dev/null || true
  done
  sleep 0.2
  rm -rf "$cwork"
  stop_redis_server
}
trap stop_all EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start_cluster() {
  local attempt base p ok i
  for attempt in $(seq 20); do
    base=$(( 21000 + (RANDOM * 32768 + RANDOM) % 30000 ))
    ok=1
    for p in "$base" $((base + 1)) $((base + 2)); do
      port_free "$p" && port_free $((p + 10000)) || ok=0
    done
    (( ok )) && break
  done
  (( ok )) || { echo "no free ports for the cluster" >&2; exit 1; }
  cports=("$base" $((base + 1)) $((base + 2)))
  for p in "${cports[@]}"; do
    taskset -c 0 redis-server --bind 127.0.0.1 --port "$p" --cluster-enabled yes \
      --cluster-port $((p + 10000)) --cluster-config-file "nodes-$p.conf" --cluster-node-timeout 5000 \
      --save "" --appendonly no --maxmemory-policy noeviction --daemonize yes \
      --pidfile "$cwork/node-$p.pid" --logfile "$cwork/node-$p.log" --dir "$cwork" >/dev/null
  done
  for p in "${cports[@]}"; do
    for i in $(seq 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  redis-cli --cluster create "${cports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >/dev/null
  for p in "${cports[@]}"; do
    for i in $(seq 100); do
      redis-cli -p "$p" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
      sleep 0.1
    done
  done
}
start_cluster
seeds=$(printf '127.0.0.1:%s,' "${cports[@]}"); seeds=${seeds%,}
curl_="redis+cluster://$seeds"
load_urls=$(printf 'redis://127.0.0.1:%s,' "${cports[@]}"); load_urls=${load_urls%,}
flush_cluster() { local p; for p in "${cports[@]}"; do redis-cli -p "$p" FLUSHALL >/dev/null; done; }

# The tags redis-benchmark --cluster uses, one per slot.
tags="$cwork/tags"
taskset -c 1 redis-benchmark --cluster -h 127.0.0.1 -p "${cports[0]}" -c 50 -P 32 -n 100000 -r 1 \
  SET 'probe:{tag}:x' '{tag}' >/dev/null 2>&1
: > "$tags"
tagports=()  # the port of each line of $tags
for p in "${cports[@]}"; do
  while read -r t; do
    echo "$t" >> "$tags"
    tagports+=("$p")
  done < <(redis-cli -p "$p" --scan --pattern 'probe:*' | sed -e 's/^probe://' -e 's/:x$//')
done
ntags=$(wc -l < "$tags")
probe=$(head -1 "$tags")
[[ $(redis-cli -c -p "${cports[0]}" GET "probe:$probe:x") == "$probe" ]] ||
  { echo "redis-benchmark did not put the tag into the arguments" >&2; exit 1; }
(( ntags >= 3 )) || { echo "redis-benchmark used $ntags tags for 3 masters" >&2; exit 1; }
flush_cluster

declare -A samples commands
add() { samples[$1]+="$2 "; }
rps_of() { tr ' ' '\n' | awk -F= '$1 == "rps" { print $2 }'; }

run_ours() {  # run_ours KEY URL OP
  local key=$1 u=$2 op=$3 out
  out=$(timeout 180 taskset -c 1 "$bench" --mode authstore --url "$u" --op "$op" --requests "$n" \
        --max-seconds 30) || { echo "authstore $op on $u failed: $out" >&2; return; }
  add "$key" "$(rps_of <<<"$out")"
}
run_cluster_ours() { flush_cluster; run_ours "cl_$1" "$curl_" "$1"; }
run_standalone_ours() { redis-cli -p "$port" FLUSHALL >/dev/null; run_ours "sa_$1" "$url" "$1"; }
run_rb() {
  local op=$1 line cmd r out
  flush_cluster
  timeout 300 taskset -c 1 "$bench" --mode prefill --cluster 1 --url "$curl_" --tags "$tags" --op "$op" \
    --requests "$rb_n"
  line=$("$bench" --mode rb --cluster 1 --route '{tag}' --tags "$tags" --load-urls "$load_urls" --url "$curl_" \
         --op "$op" --requests "$rb_n")
  read -ra cmd <<<"$line"
  r=${cmd[0]}
  [[ -n "${commands[$op]:-}" ]] || commands[$op]="redis-benchmark --cluster -c 50 -P 32 -n $rb_n -r $r ${cmd[*]:1}"
  out=$(timeout 120 taskset -c 1 redis-benchmark --cluster -h 127.0.0.1 -p "${cports[0]}" --csv -c 50 -P 32 \
        -n "$rb_n" -r "$r" "${cmd[@]:1}" 2>/dev/null) || { echo "redis-benchmark $op failed" >&2; return; }
  add "rb_$op" "$(tail -1 <<<"$out" | awk -F'","' '{ gsub(/"/, "", $2); print $2 }')"
}

# Refresh rotate, peek and list name keys that must belong together (a token and its family; an
# index and the families it names). redis-benchmark draws each __rand_int__ of a command on its
# own, so its rotate and peek would name a family the token is not in (the script's refusal path)
# and its list would declare no family (the script's retry answer): not the same work. For these
# the reference is the same command stream with one id per command (redis_backend_bench --mode
# pipe: drawn like redis-benchmark's), sent by `redis-cli --pipe` to each master at once, all
# three pinned to CPU 1, timed from the first byte to the last reply. redis-cli --pipe keeps
# every request in flight (no -P bound): a reference at least as fast as -c 50 -P 32. Code issue
# too: two commands per operation (the record's and the tombstone's SET NX PX, one slot).
pipe_ops=" code_issue refresh_rotate refresh_peek refresh_list "
run_pipe() {
  local op=$1 line per ops i pids=() t0 t1 f errs=0
  flush_cluster
  timeout 300 taskset -c 1 "$bench" --mode prefill --cluster 1 --url "$curl_" --tags "$tags" --op "$op" \
    --requests "$rb_n"
  rm -f "$cwork"/pipe-*.resp "$cwork"/pipe-*.out
  line=$(timeout 300 "$bench" --mode pipe --cluster 1 --tags "$tags" --load-urls "$load_urls" --url "$curl_" \
         --op "$op" --requests "$rb_n" --out "$cwork")
  read -r per ops <<<"$line"
  [[ -n "${commands[$op]:-}" ]] ||
    commands[$op]="redis_backend_bench --mode pipe --op $op (one id per command), redis-cli --pipe to each master"
  t0=$(date +%s%N)
  for i in "${!tagports[@]}"; do
    timeout 120 taskset -c 1 redis-cli -p "${tagports[$i]}" --pipe < "$cwork/pipe-$i.resp" \
      > "$cwork/pipe-$i.out" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || errs=1; done
  t1=$(date +%s%N)
  for f in "$cwork"/pipe-*.out; do
    grep -q 'errors: 0,' "$f" || { echo "redis-cli --pipe $op: $(tail -1 "$f")" >&2; errs=1; }
  done
  (( errs == 0 )) || return 0
  add "rb_$op" "$(awk -v n="$ops" -v ns=$(( t1 - t0 )) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')"
}

run_ref() { if [[ $pipe_ops == *" $1 "* ]]; then run_pipe "$1"; else run_rb "$1"; fi; }

start=$SECONDS
for rep in $(seq "$reps"); do
  for op in "${ops[@]}"; do
    if (( SECONDS - start > max_seconds )); then echo "time bound reached, stopping" >&2; break 2; fi
    if (( rep % 2 )); then
      run_cluster_ours "$op"; run_ref "$op"; run_standalone_ours "$op"
    else
      run_standalone_ours "$op"; run_ref "$op"; run_cluster_ours "$op"
    fi
  done
  echo "repetition $rep/$reps done ($(( SECONDS - start )) s)" >&2
done

m() { median <<<"${samples[$1]:-}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.2f", a / b }'; }

echo "N=$n per authstore run, $rb_n per redis-benchmark run, medians of $reps repetitions; 3 masters (no replicas) and the standalone server on CPU 0,"
echo "clients on CPU 1; $(nproc) CPUs; redis-benchmark used $ntags slot tags; $(( SECONDS - start )) s"
printf '| %-16s | %10s | %10s | %5s | %10s | %5s | %-26s | %-26s | %-26s |\n' "operation" "cluster" "rb-cluster" \
  "ratio" "standalone" "ratio" "cluster runs" "redis-benchmark runs" "standalone runs"
for op in "${ops[@]}"; do
  a=$(m "cl_$op"); b=$(m "rb_$op"); c=$(m "sa_$op")
  printf '| %-16s | %10.0f | %10.0f | %5s | %10.0f | %5s | %-26s | %-26s | %-26s |\n' "$op" "${a:-0}" "${b:-0}" \
    "$(ratio "$a" "$b")" "${c:-0}" "$(ratio "$a" "$c")" "${samples[cl_$op]:-}" "${samples[rb_$op]:-}" \
    "${samples[sa_$op]:-}"
done
echo
echo "redis-benchmark commands (also: -h 127.0.0.1 -p PORT --csv; SHA = the backend's loaded script):"
for op in "${ops[@]}"; do
  c=${commands[$op]:-}
  echo "$op: $(perl -pe 's/(([a-z])\2{19,})/"<" . length($1) . "x$2>"/ge' <<<"$c")"
done
