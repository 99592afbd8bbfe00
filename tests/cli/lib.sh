# Shared by the CLI test scripts (operator_commands.sh, migrate.sh): checks of a command's exit
# code and output, and a password-protected redis-server on a free loopback port (stopped by pid:
# the caller's EXIT trap calls stop_pidfiles 'redis.pid'). Needs $work, $password and lib.sh of
# tests/fixtures/redis sourced first.
fail() { echo "FAIL: $*"; exit 1; }
# json EXPR < FILE: evaluates a Python expression over the parsed document `d`. The system's
# interpreter when there is one (a version manager's shim costs ~0.5 s a call).
py=$(command -v /usr/bin/python3 || command -v python3)
json() { "$py" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# run NAME -- command...: runs it, stdout to NAME.out, stderr to NAME.err, exit code in $rc.
run() {
  local name=$1
  shift 2
  "$@" >"$name.out" 2>"$name.err"
  rc=$?
}
expect_ok() { run "$@"; [ "$rc" = 0 ] || fail "$1: exit $rc: $(cat "$1.err")"; }
# expect_error NAME PATTERN -- command...: non-zero exit, exactly one line on stderr matching
# PATTERN, nothing of the password on either stream.
expect_error() {
  local name=$1 pattern=$2
  shift 2
  run "$name" "$@"
  [ "$rc" != 0 ] || fail "$name: exit 0, expected an error"
  [ "$(wc -l <"$name.err")" = 1 ] || fail "$name: stderr is not one line: $(cat "$name.err")"
  grep -q -- "$pattern" "$name.err" || fail "$name: stderr lacks '$pattern': $(cat "$name.err")"
  ! grep -q -- "$password" "$name.out" "$name.err" || fail "$name: the password was printed"
}

# start_redis: starts redis-server with --requirepass "$password" in $work; sets $port, $redis_pid.
start_redis() {
  for attempt in $(seq 20); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_free "$port" || continue
    redis-server --bind 127.0.0.1 --port "$port" --requirepass "$password" --save "" --appendonly no \
      --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log" --dir "$work" >/dev/null 2>&1 || continue
    for i in $(seq 50); do
      if [[ -s "$work/redis.pid" ]] && ! port_free "$port"; then break 2; fi
      sleep 0.1
    done
  done
  [[ -s "$work/redis.pid" ]] || fail "could not start redis-server (see $work/redis.log)"
  redis_pid=$(cat "$work/redis.pid")
}
