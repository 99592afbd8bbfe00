#!/usr/bin/env bash
# The operator commands, driven as a user would: the built `authstore` binary against a real SQLite
# file or a real redis-server (started here with a password, on a free loopback port, stopped by
# pid), with a population written by cli_seed (the public API, as an application writes it).
# Checks stdout (tables and --json), exit codes, and that every failure is one line on stderr
# without the URL's password.
# usage: operator_commands.sh sqlite|redis AUTHSTORE_CLI CLI_SEED FIXTURES_DIR WORK_DIR
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cli_test_start "$@"  # $backend $cli $seed $work, $password, a key file $key made by demo

grep -q "every step behaved as expected" demo.out || fail "demo output"
! grep -q "^# HELP" demo.out || fail "demo prints metrics without --metrics"
"$cli" demo --store memory:// --metrics >demo2.out 2>&1 || fail "demo --metrics: $(cat demo2.out)"
grep -q "^# HELP" demo2.out || fail "demo --metrics prints no metrics"
b64() { head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
# The same ring plus key 2, current: key 1 is "about to be removed".
{ grep -v '^current' "$key"; echo "key 2 $(b64)"; echo "current 2"; } >rotated.key
# Only key 2 (key 1 removed): what key 1's records become.
{ grep -v -e '^current' -e '^key 1' rotated.key; } >removed.key
# Another store's ring: a wrong key.
{ echo "route $(b64)"; echo "key 1 $(b64)"; } >wrong.key
chmod 600 rotated.key removed.key wrong.key

if [ "$backend" = redis ]; then
  start_redis
  url="redis://:$password@127.0.0.1:$port?prefix=cli$RANDOM:"
else
  url="sqlite://$work/store.db"
fi

# ---- the population ----
AUTHSTORE_KEY_FILE=$key "$seed" populate "$url" alice >alice.seed || fail "seed alice"
AUTHSTORE_KEY_FILE=$key "$seed" populate "$url" bob >bob.seed || fail "seed bob"
get() { awk -v k="$2" '$1 == k { print $2 }' "$1.seed"; }
ops=(--store "$url" --key-file "$key")

# ---- version and help ----
expect_ok version -- "$cli" --version
grep -q "^authstore [0-9]" version.out || fail "--version: $(cat version.out)"
expect_ok version2 -- "$cli" version
cmp -s version.out version2.out || fail "version and --version differ"
for c in "sessions list" "sessions revoke" "families list" "families revoke" "stats" "keys check"; do
  # shellcheck disable=SC2086
  expect_ok help -- "$cli" help $c
  grep -q "Example:" help.out || fail "help $c has no example"
  # shellcheck disable=SC2086
  expect_ok help2 -- "$cli" $c --help
  grep -q "authstore $c" help2.out || fail "$c --help has no example"
done
expect_error help_unknown "no command 'nope'" -- "$cli" help nope

# ---- memory:// is this process's own (empty) store: the commands run, and say so ----
if [ "$backend" = sqlite ]; then
  expect_ok mem -- "$cli" --store memory:// --key-file "$key" stats
  grep -q "one process's store" mem.out && grep -Eq "^  codes +0" mem.out && grep -q "signing key:  1" mem.out \
    || fail "stats on memory: $(cat mem.out)"
  expect_ok mem2 -- "$cli" --store memory:// --key-file "$key" --json families list --user alice
  [ "$(json 'len(d["families"])' <mem2.out)" = 0 ] || fail "families on memory: $(cat mem2.out)"
fi

# ---- sessions ----
expect_ok sl -- "$cli" "${ops[@]}" --json sessions list --user alice
[ "$(json 'len(d["sessions"])' <sl.out)" = 2 ] || fail "sessions list: $(cat sl.out)"
expect_ok sl2 -- "$cli" sessions list --user alice --type full --type oauth2 "${ops[@]}"
grep -q "^REF" sl2.out || fail "sessions table has no header: $(cat sl2.out)"
grep -q "^3 session(s) of alice" sl2.out || fail "sessions of two types: $(cat sl2.out)"
for id in $(get alice session1) $(get alice session2); do
  ! grep -q -- "$id" sl.out sl2.out || fail "a session id (a secret) was printed"
done
s1=$(get alice session1)
ref=$("$py" -c "import hashlib,sys; print('s-' + hashlib.sha256(sys.argv[1].encode()).hexdigest()[:12])" "$s1")
grep -q -- "$ref" sl2.out || fail "session ref $ref not listed"
expect_ok sr -- "$cli" "${ops[@]}" sessions revoke --user alice --session "$ref"
grep -q "revoked 1 session(s) of alice" sr.out || fail "sessions revoke: $(cat sr.out)"
[ "$(AUTHSTORE_KEY_FILE=$key "$seed" session "$url" alice "$s1")" = not_found ] || fail "revoked session still found"
[ "$(AUTHSTORE_KEY_FILE=$key "$seed" session "$url" alice "$(get alice session2)")" = found ] \
  || fail "the other session went too"
expect_error sr_none "no live session" -- "$cli" "${ops[@]}" sessions revoke --user alice --session s-000000000000
expect_error sr_usage "needs --session REF or --all" -- "$cli" "${ops[@]}" sessions revoke --user alice
expect_ok sra -- "$cli" "${ops[@]}" --json sessions revoke --user alice --all
[ "$(json 'd["revoked_sessions"]' <sra.out)" = 1 ] || fail "sessions revoke --all: $(cat sra.out)"
expect_ok sl3 -- "$cli" "${ops[@]}" --json sessions list --user alice
[ "$(json 'len(d["sessions"])' <sl3.out)" = 0 ] || fail "sessions left after --all"
expect_ok sl4 -- "$cli" "${ops[@]}" --json sessions list --user bob
[ "$(json 'len(d["sessions"])' <sl4.out)" = 2 ] || fail "bob's sessions were touched"

# ---- families ----
expect_ok fl -- "$cli" "${ops[@]}" --json families list --user alice
[ "$(json 'len(d["families"])' <fl.out)" = 3 ] || fail "families list: $(cat fl.out)"
[ "$(json 'sorted(f["client_id"] for f in d["families"])' <fl.out)" = "['client-one', 'client-one', 'client-two']" ] \
  || fail "families clients: $(cat fl.out)"
expect_ok fl2 -- "$cli" "${ops[@]}" families list --user alice
grep -q "^FAMILY" fl2.out && grep -q -- "$(get alice family1)" fl2.out || fail "families table: $(cat fl2.out)"
! grep -q -- "$(get alice token1)" fl.out fl2.out || fail "a refresh token was printed"
peek() { AUTHSTORE_KEY_FILE=$key "$seed" peek "$url" "$(get "$1" "$2")"; }
expect_error fr_other "no active refresh family" -- \
  "$cli" "${ops[@]}" families revoke --user alice --family "$(get bob family1)"
[ "$(peek bob token1)" = active ] || fail "bob's family was revoked through alice"
expect_ok fr -- "$cli" "${ops[@]}" families revoke --user alice --family "$(get alice family2)"
[ "$(peek alice token2)" = revoked ] && [ "$(peek alice token1)" = active ] || fail "families revoke --family"
expect_ok frg -- "$cli" "${ops[@]}" families revoke --user alice --grant grant-xyz
[ "$(peek alice granttoken)" = revoked ] && [ "$(peek alice token1)" = active ] || fail "families revoke --grant"
expect_ok frc -- "$cli" "${ops[@]}" families revoke --user alice --client client-one
[ "$(peek alice token1)" = revoked ] || fail "families revoke --client"
[ "$(peek bob token1)" = active ] || fail "another user's family was revoked"
expect_error fr_usage "needs one of" -- "$cli" "${ops[@]}" families revoke --user bob
expect_ok fra -- "$cli" "${ops[@]}" families revoke --user bob --all
[ "$(peek bob token1)" = revoked ] && [ "$(peek bob token2)" = revoked ] || fail "families revoke --all"
expect_ok fl3 -- "$cli" "${ops[@]}" --json families list --user bob
[ "$(json 'len(d["families"])' <fl3.out)" = 0 ] || fail "families left after --all"

# ---- stats (options before the command this time) ----
expect_ok st -- "$cli" --json --store "$url" --key-file "$key" stats
c() { json "d['counts']['$1']" <st.out; }
[ "$(c codes)" = 2 ] && [ "$(c replay_reservations)" = 2 ] && [ "$(c client_tokens)" = 2 ] \
  || fail "stats counts: $(cat st.out)"
[ "$(c sessions)" = 4 ] || fail "stats sessions (bob's 3, alice's oauth2 one): $(cat st.out)"
# Revoked families are stored state until they expire: counted.
[ "$(c refresh_families)" = 6 ] || fail "stats families: $(cat st.out)"
[ "$(json 'd["key_ring"]["key_ids"]' <st.out)" = "[1]" ] || fail "stats key ring: $(cat st.out)"
[ "$(json 'd["key_ring"]["signing_key_id"]' <st.out)" = 1 ] || fail "stats signing key"
if [ "$backend" = redis ]; then
  for k in redis_version role used_memory_human maxmemory_policy keys_under_prefix number_of_cached_scripts; do
    [ -n "$(json "d['health']['$k']" <st.out)" ] || fail "stats health lacks $k: $(cat st.out)"
  done
  [ "$(json 'd["health"]["role"]' <st.out)" = master ] || fail "role"
  [ "$(json 'd["health"]["maxmemory_policy"]' <st.out)" = noeviction ] || fail "maxmemory_policy"
  [ "$(json 'int(d["health"]["keys_under_prefix"]) > 0' <st.out)" = True ] || fail "keys_under_prefix"
  grep -q "SCAN" st.out || fail "stats does not say what counting cost"
else
  [ "$(json 'd["health"]["schema_version"]' <st.out)" = 2 ] || fail "schema_version: $(cat st.out)"
  [ "$(json 'int(d["health"]["file_bytes"]) > 0' <st.out)" = True ] || fail "file_bytes"
  grep -q "count(\*)" st.out || fail "stats does not say what counting cost"
fi
! grep -q -- "$password" st.out || fail "stats printed the password"
! grep -q "$(awk '$1 == "key" { print $3 }' "$key")" st.out || fail "stats printed key material"
expect_ok st2 -- "$cli" stats --store "$url" --key-file "$key"
grep -q "^counts" st2.out && grep -q "signing key:  1" st2.out || fail "stats table: $(cat st2.out)"

# ---- keys check ----
expect_ok kc -- "$cli" "${ops[@]}" --json keys check
records=$(json 'd["verified"]' <kc.out)
[ "$records" -gt 0 ] && [ "$(json 'd["failed"]' <kc.out)" = 0 ] && [ "$(json 'd["need_retiring_keys"]' <kc.out)" = 0 ] \
  || fail "keys check: $(cat kc.out)"
# Rotation: key 2 signs, key 1 is about to be removed and every record so far needs it.
expect_ok kc2 -- "$cli" --store "$url" --key-file rotated.key --json keys check
[ "$(json 'd["need_retiring_keys"]' <kc2.out)" = "$records" ] || fail "keys check after rotation: $(cat kc2.out)"
# bob's 3 sessions and alice's oauth2 one are walked too.
[ "$(json 'd["by_key"]["1"]["by_kind"]["session"]' <kc2.out)" = 4 ] || fail "keys check sessions: $(cat kc2.out)"
AUTHSTORE_KEY_FILE=$PWD/rotated.key "$seed" populate "$url" carol >carol.seed || fail "seed carol"
expect_ok kc3 -- "$cli" --store "$url" --key-file rotated.key keys check
grep -q "^$records record(s) need a key other than the signing key 2" kc3.out || fail "keys check table: $(cat kc3.out)"
grep -Eq "^1 +retiring +$records +$records " kc3.out || fail "keys check: key 1 row: $(cat kc3.out)"
# Key 1 removed: exactly the records it signed now read as not found (exit 3).
run kc4 -- "$cli" --store "$url" --key-file removed.key --json keys check
[ "$rc" = 3 ] || fail "keys check with records that fail: exit $rc: $(cat kc4.out kc4.err)"
[ "$(json 'd["failed"]' <kc4.out)" = "$records" ] || fail "keys check after removal: $(cat kc4.out)"

# ---- failures: one line on stderr, non-zero exit, no password ----
mkdir nokey && cd nokey || exit 1
expect_error missing_key "no key" -- "$cli" --store "$url" stats
[ ! -e authstore.key ] || fail "an operator command created a key file"
AUTHSTORE_SECRET= expect_error empty_secret "AUTHSTORE_SECRET" -- "$cli" --store "$url" stats
[ ! -e authstore.key ] || fail "an empty AUTHSTORE_SECRET made a key file"
cd ..
expect_error missing_key_file "nokey.key" -- "$cli" --store "$url" --key-file "$PWD/nokey.key" stats
[ ! -e nokey.key ] || fail "a missing --key-file was created"
expect_error wrong_key "key ids" -- "$cli" --store "$url" --key-file wrong.key families list --user alice
expect_error bad_url "url" -- "$cli" --store "redis://:$password@127.0.0.1:notaport" --key-file "$key" stats
expect_error unknown_scheme "url" -- "$cli" --store "nosuch://x" --key-file "$key" stats
expect_error no_store "no store" -- "$cli" --key-file "$key" stats
expect_error missing_db "no database file" -- "$cli" --store "sqlite://$work/none.db" --key-file "$key" stats
[ ! -e "$work/none.db" ] || fail "an operator command created a database"
if [ "$backend" = sqlite ]; then
  # The file an escaped path names is the one the library opens: sqlite://.../my%20store.db is
  # "my store.db" (the existence check once looked for "my%20store.db" and refused).
  for suffix in "" -wal; do
    [ ! -e "$work/store.db$suffix" ] || cp -p "$work/store.db$suffix" "$work/my store.db$suffix"
  done
  expect_ok escaped_path -- "$cli" --store "sqlite://$work/my%20store.db" --key-file "$key" --json stats
  [ ! -e "$work/my%20store.db" ] || fail "escaped_path opened the file named with the escape"
fi
expect_error missing_user "user" -- "$cli" "${ops[@]}" sessions list
if [ "$backend" = redis ]; then
  free=$port
  while ! port_free "$free"; do free=$(( free + 1 )); done
  expect_error unreachable "unavailable" -- "$cli" --store "redis://:$password@127.0.0.1:$free" --key-file "$key" stats
  expect_error wrong_password "permission_denied" -- \
    "$cli" --store "redis://:wrong-$password@127.0.0.1:$port" --key-file "$key" sessions list --user bob
  expect_error no_password "permission_denied" -- "$cli" --store "redis://127.0.0.1:$port" --key-file "$key" stats
fi
echo "ok"
