# Shared by the CLI test scripts (operator_commands.sh, migrate.sh): checks of a command's exit
# code and output. Needs $password set (expect_error checks it is never printed).
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
