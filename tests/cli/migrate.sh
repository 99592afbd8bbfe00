#!/usr/bin/env bash
# `authstore migrate`, driven as an operator would: the built binary, a real SQLite file as the
# source, a SQLite file or a real redis-server (started here with a password on a free loopback
# port, stopped by pid) as the target, a population written by cli_seed (the public API). Checks
# output, --json, exit codes, that the source is fenced (an application's write is refused), that
# tokens work on the target, and that every failure is one line without the URL's password.
# usage: migrate.sh sqlite|redis AUTHSTORE_CLI CLI_SEED FIXTURES_DIR WORK_DIR
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cli_test_start "$@"  # $backend $cli $seed $work, $password, a key file $key
src="sqlite://$work/source.db"

if [ "$backend" = redis ]; then
  start_redis
  dst="redis://:$password@127.0.0.1:$port?prefix=mig$RANDOM:"
  bad_dst="redis://:wrong-$password@127.0.0.1:$port?prefix=mig:"
else
  dst="sqlite://$work/target.db"
  bad_dst="sqlite://$work/no-such-dir/target.db"
fi

AUTHSTORE_KEY_FILE=$key "$seed" populate "$src" alice >alice.seed || fail "seed alice"
get() { awk -v k="$2" '$1 == k { print $2 }' "$1.seed"; }
token1=$(get alice token1)
[ -n "$token1" ] || fail "no token1 in the seed output"

# ---- failures: one line each, a non-zero exit, never the password ----
expect_error nokey "no key" -- "$cli" migrate --from "$src" --to "$dst"
expect_error noto "needs --to" -- "$cli" migrate --from "$src" --key-file "$key"
[ "$rc" = 2 ] || fail "noto: exit $rc, expected 2"
expect_error nofrom "no database file" -- "$cli" migrate --from "sqlite://$work/missing.db" --to "$dst" --key-file "$key"
expect_error badtarget "target" -- "$cli" migrate --from "$src" --to "$bad_dst" --key-file "$key"
{ echo "route $(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  echo "key 1 $(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"; } >wrong.key
chmod 600 wrong.key
expect_error wrongkey "another secret" -- "$cli" migrate --from "$src" --to "$dst" --key-file "$PWD/wrong.key"
# None of these fenced the source or wrote the target.
AUTHSTORE_KEY_FILE=$key "$seed" populate "$src" bob >bob.seed || fail "the source was fenced by a failed run"

# ---- a dry run writes nothing ----
expect_ok dry -- "$cli" migrate --from "$src" --to "$dst" --key-file "$key" --dry-run
grep -q "^dry run sqlite" dry.out || fail "dry run header: $(cat dry.out)"
[ "$backend" = redis ] || [ ! -e "$work/target.db" ] || fail "the dry run created the target file"
AUTHSTORE_KEY_FILE=$key "$seed" populate "$src" carol >carol.seed || fail "the dry run fenced the source"
if [ "$backend" = sqlite ]; then
  # An escaped source path names the file the library opens: sqlite://.../my%20source.db is
  # "my source.db" (the existence check once looked for "my%20source.db" and refused).
  for suffix in "" -wal; do
    [ ! -e "$work/source.db$suffix" ] || cp -p "$work/source.db$suffix" "$work/my source.db$suffix"
  done
  expect_ok dry_escaped -- "$cli" migrate --from "sqlite://$work/my%20source.db" --to "$dst" --key-file "$key" --dry-run
  grep -q "^dry run sqlite" dry_escaped.out || fail "dry run of an escaped path: $(cat dry_escaped.out)"
fi

# ---- the migration ----
expect_ok migrate -- "$cli" migrate --from "$src" --to "$dst" --key-file "$key" --verify --json \
  --resume "$work/migrate.state"
[ "$(json 'd["verified"]' <migrate.out)" = True ] || fail "not verified: $(cat migrate.out)"
[ "$(json 'd["source_fenced"]' <migrate.out)" = True ] || fail "source not fenced"
[ "$(json 'd["copied"] > 20' <migrate.out)" = True ] || fail "too few rows copied: $(cat migrate.out)"
[ "$(json 'd["unreadable"]' <migrate.out)" = 0 ] || fail "unreadable rows"
! grep -q -- "$password" migrate.out migrate.err || fail "the password was printed"

# The source refuses an application's write; reads still work.
if AUTHSTORE_KEY_FILE=$key "$seed" populate "$src" dave >dave.seed 2>dave.err; then
  fail "a write to the fenced source succeeded"
fi
grep -q "failed_precondition" dave.err || fail "the fenced source's refusal: $(cat dave.err)"
[ "$(AUTHSTORE_KEY_FILE=$key "$seed" peek "$src" "$token1")" = active ] || fail "read on the fenced source"
# The target answers for every token as the source did.
for who in alice bob carol; do
  for item in token1 token2 granttoken; do
    t=$(get "$who" "$item")
    a=$(AUTHSTORE_KEY_FILE=$key "$seed" peek "$src" "$t")
    b=$(AUTHSTORE_KEY_FILE=$key "$seed" peek "$dst" "$t")
    [ "$a" = "$b" ] || fail "$who $item: source $a, target $b"
  done
  s=$(get "$who" session1)
  [ "$(AUTHSTORE_KEY_FILE=$key "$seed" session "$dst" "$who" "$s")" = found ] || fail "$who's session on the target"
done

# A second run into the same target is refused (it holds records); the table output for people.
expect_error again "holds records" -- "$cli" migrate --from "$src" --to "$dst" --key-file "$key"
expect_ok verify -- "$cli" migrate --verify-only --from "$src" --to "$dst" --key-file "$key"
grep -q "^refresh_families " verify.out || fail "verify table: $(cat verify.out)"
grep -q "mismatched 0" verify.out || fail "verify: $(cat verify.out)"

if [ "$backend" = redis ]; then
  # And back to SQLite: a Redis source cannot be fenced; refused unless the writers are stopped.
  expect_error backnofence "fence" -- "$cli" migrate --from "$dst" --to "sqlite://$work/back.db" --key-file "$key"
  expect_ok back -- "$cli" migrate --from "$dst" --to "sqlite://$work/back.db" --key-file "$key" \
    --source-stopped --verify --json
  [ "$(json 'd["verified"]' <back.out)" = True ] || fail "back: not verified: $(cat back.out)"
  [ "$(json 'd["source_fenced"]' <back.out)" = False ] || fail "back: a Redis source reported fenced"
  t=$(get alice token1)
  [ "$(AUTHSTORE_KEY_FILE=$key "$seed" peek "sqlite://$work/back.db" "$t")" = active ] || fail "back: token1"
fi

# A change on the target after the cutover is a difference (exit 3).
AUTHSTORE_KEY_FILE=$key "$seed" populate "$dst" erin >erin.seed || fail "write to the target"
run verify2 -- "$cli" migrate --verify-only --from "$src" --to "$dst" --key-file "$key"
[ "$rc" = 3 ] || fail "verify after a change: exit $rc, expected 3"

# Lifting the fence makes the source writable again.
expect_ok lift -- "$cli" migrate --lift-fence --from "$src" --key-file "$key"
AUTHSTORE_KEY_FILE=$key "$seed" populate "$src" frank >frank.seed || fail "the source is still fenced"
echo "PASS migrate ($backend)"
