# shellcheck shell=bash
# Shared by the CLI test scripts (operator_commands.sh, migrate.sh): their prologue, a Redis
# server with a password, and checks of a command's exit code and output.
fail() { echo "FAIL: $*"; exit 1; }

# cli_test_start BACKEND CLI SEED FIXTURES_DIR WORK_DIR (the scripts' own arguments): sets $backend
# $cli $seed $fixtures $work, starts in an empty $work with no AUTHSTORE_* variable set, loads the
# Redis fixture helpers (tests/fixtures/redis/lib.sh, whose $dir is $work), picks $password, and on
# exit stops the server start_redis started (by pid). Then makes a key file, $key, with the one
# command allowed to make one (demo: operator commands never do); demo's output is in demo.out.
# shellcheck disable=SC2034  # $backend $seed $key: used by the scripts that source this file
cli_test_start() {
  backend=$1 cli=$2 seed=$3 fixtures=$4 work=$5
  rm -rf "$work"
  mkdir -p "$work"
  cd "$work" || exit 1
  unset AUTHSTORE_SECRET AUTHSTORE_KEY_FILE AUTHSTORE_STORE AUTHSTORE_ALLOW_INSECURE_KEY_FILE
  dir=$work
  # shellcheck source=../fixtures/redis/lib.sh
  source "$fixtures/lib.sh"
  password="pw-$RANDOM-s3cr3t"
  redis_pid=""
  trap 'if [ -n "$redis_pid" ]; then stop_pidfiles redis.pid; fi' EXIT
  "$cli" demo --store memory:// >demo.out 2>&1 || fail "demo: $(cat demo.out)"
  [ -f authstore.key ] || fail "demo made no key file"
  key=$PWD/authstore.key
}
# start_redis: a redis-server requiring $password on a free loopback port ($port), stopped on exit.
start_redis() {
  start_password_server "$password" || fail "could not start redis-server (see $work/redis.log)"
  redis_pid=$(cat "$work/redis.pid")
}

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
# PATTERN, nothing of $password on either stream.
expect_error() {
  local name=$1 pattern=$2
  shift 2
  run "$name" "$@"
  [ "$rc" != 0 ] || fail "$name: exit 0, expected an error"
  [ "$(wc -l <"$name.err")" = 1 ] || fail "$name: stderr is not one line: $(cat "$name.err")"
  grep -q -- "$pattern" "$name.err" || fail "$name: stderr lacks '$pattern': $(cat "$name.err")"
  ! grep -q -- "$password" "$name.out" "$name.err" || fail "$name: the password was printed"
}
