#!/usr/bin/env bash
# `authstore bench`, driven as a user would: the built binary on a temporary SQLite file, a named
# one, and a real redis-server (started here with a password on a free loopback port, stopped by
# pid). Tiny counts. Checks the table, --json, --plot (well-formed SVG), --in-flight, the
# redis-benchmark comparison, the refusals (non-loopback server, non-empty prefix), that what the
# bench made is removed, and that a run whose operations fail (the server stopped mid-run) exits
# non-zero saying why.
# usage: bench.sh sqlite|redis AUTHSTORE_CLI FIXTURES_DIR WORK_DIR
set -uo pipefail
backend=$1 cli=$2 fixtures=$3 work=$4
rm -rf "$work"
mkdir -p "$work/tmp"
cd "$work" || exit 1
unset AUTHSTORE_SECRET AUTHSTORE_KEY_FILE AUTHSTORE_STORE AUTHSTORE_ALLOW_INSECURE_KEY_FILE
export TMPDIR=$work/tmp
dir=$work  # for lib.sh
# shellcheck source=../fixtures/redis/lib.sh
source "$fixtures/lib.sh"

fail() { echo "FAIL: $*"; exit 1; }
py=$(command -v /usr/bin/python3 || command -v python3)
json() { "$py" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
run() {
  local name=$1
  shift 2
  "$@" >"$name.out" 2>"$name.err"
  rc=$?
}
expect_ok() { run "$@"; [ "$rc" = 0 ] || fail "$1: exit $rc: $(cat "$1.out" "$1.err")"; }
# check_result FILE.json OPS N: every op of the run made N successful operations, none failed, and
# the percentiles are ordered.
check_result() {
  local f=$1 n=$2
  [ "$(json "$f" 'd["passed"]')" = True ] || fail "$f: not passed: $(cat "$f")"
  [ "$(json "$f" 'all(o["ok"] == '"$n"' and o["failed"] == 0 for o in d["operations"])')" = True ] \
    || fail "$f: ok/failed: $(cat "$f")"
  [ "$(json "$f" 'all((lambda l: 0 < l["p50"] <= l["p90"] <= l["p99"] <= l["p99.9"] <= l["max"])(o["latency_us"]) for o in d["operations"])')" = True ] \
    || fail "$f: percentiles: $(cat "$f")"
  [ "$(json "$f" 'all(o["latency_us"]["count"] == o["ok"] for o in d["operations"])')" = True ] \
    || fail "$f: histogram count != successful operations"
}
# A well-formed SVG with a labelled percentile axis and one line per operation.
check_svg() {
  "$py" - "$1" "$2" <<'PY' || fail "svg $1"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
lines = root.findall(ns + "polyline")
assert len(lines) == int(sys.argv[2]), len(lines)
texts = " ".join(t.text or "" for t in root.iter(ns + "text"))
for want in ("percentile", "latency", "99%", "99.9%"):
    assert want in texts, want
# Each line stays inside the frame and never falls: latency does not decrease with the percentile.
frame = [r for r in root.findall(ns + "rect") if r.get("fill") == "none"][0]
x0, y0 = float(frame.get("x")), float(frame.get("y"))
x1, y1 = x0 + float(frame.get("width")), y0 + float(frame.get("height"))
for line in lines:
    pts = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    assert len(pts) > 10, len(pts)
    for (xa, ya), (xb, yb) in zip(pts, pts[1:]):
        assert x0 - 0.01 <= xa <= xb <= x1 + 0.01 and y0 - 0.01 <= yb <= ya + 1e-6 <= y1 + 0.01, (xa, ya, xb, yb)
PY
}

if [ "$backend" = sqlite ]; then
  # ---- default: a temporary SQLite file and a throwaway key, both gone afterwards ----
  expect_ok all -- "$cli" bench --op all --ops 200 --seconds 5 --repetitions 1 --json all.json --plot all.svg
  grep -Eq "^op +ops/s +p50 us +p90 us +p99 us +p99.9 us +max us +ok +failed" all.out || fail "header: $(cat all.out)"
  for op in code rotate session reserve; do grep -Eq "^$op +[0-9]+ " all.out || fail "no row for $op: $(cat all.out)"; done
  grep -q "a temporary SQLite file" all.out || fail "the store is not named: $(cat all.out)"
  grep -q "^cleanup: removed $TMPDIR/authstore-bench\." all.out || fail "cleanup line: $(cat all.out)"
  [ -z "$(ls -A "$TMPDIR")" ] || fail "temporary files left: $(ls -A "$TMPDIR")"
  [ ! -e authstore.key ] || fail "bench made a key file for its own store"
  check_result all.json 200
  [ "$(json all.json 'len(d["operations"])')" = 4 ] || fail "json ops"
  [ "$(json all.json 'd["backend"]')" = sqlite ] || fail "json backend"
  check_svg all.svg 4
  # The progress line: only on a terminal (script(1) gives one), never in a pipe.
  ! grep -q "ops/s, .* errors" all.err || fail "progress line without a terminal"
  if command -v script >/dev/null; then
    script -qec "'$cli' bench --op reserve --ops 300000 --seconds 1 --repetitions 1" /dev/null >tty.out 2>&1 </dev/null
    grep -q "reserve run 1/1: [0-9]* ops, [0-9]* ops/s, 0 errors" tty.out || fail "no progress line on a terminal: $(head -c 600 tty.out)"
  fi

  # ---- threads x in flight, repetitions; the count bound holds across threads ----
  expect_ok inflight -- "$cli" bench --op code --threads 2 --in-flight 4 --ops 100 --repetitions 2 --json inflight.json
  check_result inflight.json 200
  [ "$(json inflight.json 'len(d["operations"][0]["runs"]) == 2 and d["in_flight"] == 4 and d["threads"] == 2')" = True ] \
    || fail "runs / in_flight: $(cat inflight.json)"
  grep -q "2 thread(s) x 4 in flight" inflight.out || fail "$(cat inflight.out)"
  # ---- the time bound ----
  expect_ok timed -- "$cli" bench --op reserve --ops 100000000 --seconds 0.3 --repetitions 1 --json timed.json
  [ "$(json timed.json 'd["operations"][0]["runs"][0]["seconds"] < 3')" = True ] || fail "time bound: $(cat timed.json)"

  # ---- a file the user names: kept, with its key (./authstore.key, made on the first run) ----
  expect_ok named -- "$cli" bench --store "sqlite://$work/named.db" --op session --ops 20 --repetitions 1
  [ -s named.db ] && [ -s authstore.key ] || fail "the named store or its key file is missing"
  mv authstore.key named.key
  grep -q "a file you named" named.out || fail "$(cat named.out)"

  # ---- failures: a store that cannot grow fails its writes (a file size limit, ulimit -f, that the
  # WAL outgrows after a few transactions: what a full disk does): exit 1, and why ----
  mkdir ro && cp named.db named.key ro/
  run ro -- bash -c 'trap "" XFSZ; ulimit -f 64; exec "$@"' _ "$cli" --key-file "$work/ro/named.key" \
    bench --store "sqlite://$work/ro/named.db" --op reserve --ops 50 --repetitions 1 --json ro.json
  [ "$rc" = 1 ] || fail "a run whose operations fail exited $rc: $(cat ro.out ro.err)"
  grep -q "error: the run failed: reserve: .* operations failed (.*more than 1 %); first: " ro.err || fail "why: $(cat ro.err)"
  # Throughput counts the successful operations only (the few before the limit).
  "$py" - ro.json <<'PY' || fail "throughput counted failed operations: $(cat ro.json)"
import json, sys
o = json.load(open(sys.argv[1]))["operations"][0]
assert o["ok"] + o["failed"] == 50 and o["failed"] > 25, o
run = o["runs"][0]
assert abs(o["ops_per_sec"] - run["ok"] / run["seconds"]) <= 1e-6 * max(1, o["ops_per_sec"]), o
assert o["latency_us"]["count"] == o["ok"], o
PY
  grep -q "^errors reserve: " ro.out || fail "no errors line: $(cat ro.out)"
  [ "$(json ro.json 'd["passed"]')" = False ] || fail "json passed"
  [ "$(json ro.json 'sum(d["operations"][0]["errors_by_status"].values()) == d["operations"][0]["failed"] > 0')" = True ] \
    || fail "json errors: $(cat ro.json)"
  [ -n "$(json ro.json 'd["operations"][0]["first_error"]')" ] || fail "json first_error"
  # --vs-redis-benchmark needs a Redis store.
  run vs -- "$cli" bench --op reserve --ops 10 --repetitions 1 --vs-redis-benchmark
  grep -q "no reference: the store is not redis://" vs.out || fail "vs-redis-benchmark on SQLite: $(cat vs.out vs.err)"
  echo ok
  exit 0
fi

# ---------------------------------------------------------------------------------------- Redis
password="pw-$RANDOM-s3cr3t"
cleanup() { stop_pidfiles 'redis.pid'; }
trap cleanup EXIT
start_password_server "$password" || fail "could not start redis-server (see $work/redis.log)"
rcli() { REDISCLI_AUTH=$password redis-cli -h 127.0.0.1 -p "$port" "$@"; }
url="redis://:$password@127.0.0.1:$port"
no_password() { ! grep -q -- "$password" "$@" || fail "the password was printed in $*"; }

# ---- its own prefix; every key it made removed ----
expect_ok all -- "$cli" bench --store "$url" --op all --threads 2 --in-flight 8 --ops 300 --repetitions 1 \
  --json all.json --plot all.svg
check_result all.json 300
check_svg all.svg 4
grep -q "prefix 'authstore-bench:'" all.out || fail "prefix not named: $(cat all.out)"
grep -Eq "^cleanup: removed [1-9][0-9]* key\(s\) under 'authstore-bench:'" all.out || fail "cleanup: $(cat all.out)"
[ "$(rcli DBSIZE)" = 0 ] || fail "keys left: $(rcli --scan | head)"
no_password all.out all.err all.json

# ---- vs redis-benchmark: the captured commands, the ratio; rotate and session cannot be replayed ----
if command -v redis-benchmark >/dev/null; then
  expect_ok vs -- "$cli" bench --store "$url" --op all --threads 1 --in-flight 4 --ops 2000 --repetitions 1 \
    --vs-redis-benchmark --json vs.json
  grep -q "^vs redis-benchmark (same server, -c 1 -P 4" vs.out || fail "no comparison: $(cat vs.out)"
  grep -Eq "^reserve +[0-9]+ +[0-9]+ +[0-9.]+$" vs.out || fail "no reserve ratio: $(cat vs.out)"
  grep -Eq "^code +[0-9]+ +[0-9]+ +[0-9.]+$" vs.out || fail "no code ratio: $(cat vs.out)"
  grep -Eq "^rotate .*no reference: .*belong together" vs.out || fail "rotate: $(cat vs.out)"
  [ "$(json vs.json '[o["redis_benchmark"]["available"] for o in d["operations"]]')" = "[True, False, False, True]" ] \
    || fail "availability: $(cat vs.json)"
  # Captured: the reserve command names the bench's prefix and the replay key, with the id drawn.
  [ "$(json vs.json 'all("authstore-bench:jr:" in c and "__rand_int__" in c and "-P 4" in c for c in d["operations"][3]["redis_benchmark"]["commands"])')" = True ] \
    || fail "reserve command: $(json vs.json 'd["operations"][3]["redis_benchmark"]')"
  [ "$(json vs.json 'len(d["operations"][0]["redis_benchmark"]["commands"])')" = 3 ] || fail "code: three commands (SET record NX, SET tombstone NX, GETDEL)"
  [ "$(json vs.json 'd["operations"][3]["redis_benchmark"]["ratio"] > 0')" = True ] || fail "ratio"
  no_password vs.out vs.err vs.json
  [ "$(rcli DBSIZE)" = 0 ] || fail "keys left after the comparison: $(rcli --scan | head)"
  ! grep -q "taskset" vs.out || fail "redis-benchmark pinned without being asked"
  if command -v taskset >/dev/null; then
    expect_ok pinned -- "$cli" bench --store "$url" --op reserve --ops 200 --repetitions 1 --vs-redis-benchmark \
      --redis-benchmark-cpus 0
    grep -q "^  [0-9]*/s: taskset -c 0 redis-benchmark " pinned.out || fail "--redis-benchmark-cpus: $(cat pinned.out)"
  fi
fi

# ---- refusals ----
rcli SET mine:precious 1 >/dev/null
run nonempty -- "$cli" bench --store "$url?prefix=mine:" --op reserve --ops 10 --repetitions 1
[ "$rc" != 0 ] || fail "a non-empty prefix was accepted"
grep -q "1 key(s) already exist under the prefix 'mine:'" nonempty.err && [ "$(wc -l <nonempty.err)" = 1 ] \
  || fail "non-empty prefix: $(cat nonempty.err)"
[ "$(rcli DBSIZE)" = 1 ] || fail "a refused bench wrote"
expect_ok yes -- "$cli" bench --store "$url?prefix=mine:" --op code --ops 20 --repetitions 1 --yes
[ "$(rcli GET mine:precious)" = 1 ] && [ "$(rcli DBSIZE)" = 1 ] || fail "--yes: $(rcli --scan | head)"
grep -q "1 key(s) that were there stay" yes.out || fail "$(cat yes.out)"
run remote -- "$cli" bench --store "redis://:$password@192.0.2.10:$port" --op reserve --ops 10
[ "$rc" != 0 ] && grep -q "not a loopback address" remote.err || fail "non-loopback: $rc $(cat remote.err)"
# redis-benchmark loads a loopback server only, --yes or not (refused before any connection).
run remote_vs -- "$cli" bench --store "redis://:$password@192.0.2.10:$port" --op reserve --ops 10 --yes --vs-redis-benchmark
[ "$rc" != 0 ] && grep -q "loopback servers only" remote_vs.err || fail "vs-redis-benchmark non-loopback: $rc $(cat remote_vs.err)"
no_password remote.err nonempty.err remote_vs.err

# ---- the server stops mid-run: the failures are counted apart, the run exits 1 and says why ----
"$cli" bench --store "$url" --op reserve --ops 100000000 --seconds 4 --repetitions 1 --json dead.json \
  >dead.out 2>dead.err &
bench_pid=$!
# Once the timed run has written (reservations under the bench's prefix; bounded wait), stop the server.
for i in $(seq 100); do
  [ "$(rcli DBSIZE 2>/dev/null || echo 0)" -gt 10 ] && break
  sleep 0.05
done
stop_pidfiles 'redis.pid'
wait "$bench_pid"
rc=$?
[ "$rc" = 1 ] || fail "a run with failed operations exited $rc: $(cat dead.out dead.err)"
grep -q "error: the run failed: reserve: .* operations failed (.*more than 1 %); first: unavailable" dead.err \
  || fail "why: $(cat dead.err)"
[ "$(json dead.json 'd["operations"][0]["ok"] > 0 and d["operations"][0]["errors_by_status"].get("unavailable", 0) > 0')" = True ] \
  || fail "json: $(cat dead.json)"
no_password dead.out dead.err dead.json
echo ok
