# Sourced by run.sh and run_backend.sh: a redis-server of the benchmark's own, and medians.
#
# start_redis_server: starts redis-server pinned to CPU 0 on a free loopback port (no persistence,
# maxmemory-policy noeviction, pidfile in a temporary directory) and sets `port`, `url`, `pid`
# and `work`. The EXIT trap stops it by its pid and removes the directory.
work=
pid=
stop_redis_server() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [[ -n "$work" ]]; then rm -rf "$work"; fi
}
start_redis_server() {
  work=$(mktemp -d)
  trap stop_redis_server EXIT
  local attempt i
  for attempt in $(seq 20); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    taskset -c 0 redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
      --maxmemory-policy noeviction --pidfile "$work/redis.pid" \
      --daemonize no --logfile "$work/redis.log" --dir "$work" &
    pid=$!
    for i in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break 2; sleep 0.1; done
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=
  done
  [[ -n "$pid" ]] || { echo "could not start redis-server" >&2; exit 1; }
  url="redis://127.0.0.1:$port"
}

# The median of the numbers on stdin (separated by spaces or newlines); nothing for none.
median() {
  tr ' ' '\n' | grep -v '^$' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
