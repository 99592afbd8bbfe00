#!/usr/bin/env bash
# Regenerates the upgrade fixture (tests/fixtures/upgrade/) with a make_fixture binary.
#
#   tests/upgrade/regenerate.sh MAKE_FIXTURE COMMIT [OUT_DIR]
#
# MAKE_FIXTURE must be built from COMMIT, the authstore whose formats the fixture is to hold (see
# make_fixture.cc: the committed fixture is 69d27db's). Writes, in OUT_DIR (default: the fixture
# directory of this tree), after removing what is there:
#   authstore.key         key file: route, key 1, key 2, current 2 (records of both key ids)
#   secret.txt            the AUTHSTORE_SECRET of the "secret" variant (one key, no route line)
#   v1.db, v1-secret.db   SQLite stores (checkpointed: no -wal / -shm beside them)
#   v1-redis.txt          Redis keys under prefix "up1:" (key-file variant)
#   v1-secret-redis.txt   Redis keys under the default prefix "authstore:" (secret variant)
#   tokens.txt            what was issued, per store: sections [sqlite] [sqlite-secret] [redis]
#                         [redis-secret] of "name value" lines
# A redis-server is started on a random free loopback port and stopped by its pid.
set -euo pipefail

mk=$(realpath "${1:?usage: regenerate.sh MAKE_FIXTURE COMMIT [OUT_DIR]}")
commit=${2:?usage: regenerate.sh MAKE_FIXTURE COMMIT [OUT_DIR]}
out=$(realpath -m "${3:-$(dirname "$0")/../fixtures/upgrade}")
mkdir -p "$out"
rm -f "$out"/authstore.key "$out"/secret.txt "$out"/v1*.db* "$out"/v1*-redis.txt "$out"/tokens.txt

work=$(mktemp -d)
redis_pid=
cleanup() {
  if [[ -n "$redis_pid" ]]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for attempt in $(seq 20); do
  port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
  port_free "$port" || continue
  redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --daemonize no \
    --dir "$work" --logfile "$work/redis.log" &
  redis_pid=$!
  for i in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; redis_pid=
done
[[ -n "$redis_pid" ]] || { echo "regenerate.sh: could not start redis-server" >&2; exit 1; }

# 48 characters of base64url (36 random bytes).
head -c 36 /dev/urandom | base64 | tr '+/' '-_' > "$out/secret.txt"

tokens="$out/tokens.txt"
{
  echo "# authstore upgrade fixture: what tests/upgrade/make_fixture.cc issued, built at $commit,"
  echo "# written by tests/upgrade/regenerate.sh on $(date -u +%Y-%m-%d). Sections: [sqlite] v1.db,"
  echo "# [sqlite-secret] v1-secret.db, [redis] v1-redis.txt, [redis-secret] v1-secret-redis.txt."
} > "$tokens"

"$mk" write "sqlite://$out/v1.db" "$out/authstore.key" sqlite "$tokens"
"$mk" write "redis://127.0.0.1:$port?prefix=up1:" "$out/authstore.key" redis "$tokens"
AUTHSTORE_SECRET=$(cat "$out/secret.txt") "$mk" write "sqlite://$out/v1-secret.db" env sqlite-secret "$tokens"
AUTHSTORE_SECRET=$(cat "$out/secret.txt") "$mk" write "redis://127.0.0.1:$port" env redis-secret "$tokens"

"$mk" dump-redis "$port" "up1:" "$out/v1-redis.txt"
"$mk" dump-redis "$port" "authstore:" "$out/v1-secret-redis.txt"

# Fold any WAL into the database file, so that each store is one file.
for db in "$out/v1.db" "$out/v1-secret.db"; do
  sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
  rm -f "$db-wal" "$db-shm"
  [[ "$(sqlite3 "$db" 'PRAGMA integrity_check;')" == ok ]]
  rm -f "$db-wal" "$db-shm"
done
chmod 0600 "$out/authstore.key" "$out/secret.txt"
echo "regenerate.sh: fixture written to $out"
