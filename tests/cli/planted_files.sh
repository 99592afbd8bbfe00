#!/usr/bin/env bash
# The CLI must not use a key file or a database someone else planted in its working directory
# (group/other access, another owner, a symlink), nor fall back to creating a key when
# AUTHSTORE_SECRET is set but empty; what it creates itself is mode 0600 (WAL and SHM included).
# usage: planted_files.sh AUTHSTORE_CLI WORK_DIR
set -uo pipefail
cli=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
unset AUTHSTORE_SECRET AUTHSTORE_KEY_FILE AUTHSTORE_ALLOW_INSECURE_KEY_FILE
fail() { echo "FAIL: $*"; exit 1; }
# expect_refused WHAT PATTERN -- command...
expect_refused() {
  local what=$1 pattern=$2
  shift 2
  local out
  if out=$("$@" 2>&1); then fail "$what: accepted"; fi
  grep -q -- "$pattern" <<<"$out" || fail "$what: message lacks '$pattern': $out"
}

# 1. A clean first run creates a private key file and a private database.
mkdir clean && (cd clean && "$cli" demo --store "sqlite://$work/clean/demo.db" --no-metrics >/dev/null) \
  || fail "clean demo run"
for f in clean/authstore.key clean/demo.db clean/demo.db-wal clean/demo.db-shm; do
  [ ! -e "$f" ] || [ "$(stat -c %a "$f")" = 600 ] || fail "$f is mode $(stat -c %a "$f"), not 600"
done

# 2. A planted, world-readable key file is refused, not used.
mkdir key && cp clean/authstore.key key/ && chmod 666 key/authstore.key
(cd key && expect_refused "planted key file" "refusing key file" \
  "$cli" demo --store "sqlite://$work/key/demo.db" --no-metrics)
# ... also through a symlink, even a private one.
mkdir link && ln -s "$work/clean/authstore.key" link/authstore.key
(cd link && expect_refused "symlinked key file" "symbolic link" \
  "$cli" demo --store "sqlite://$work/link/demo.db" --no-metrics)
# ... and owned by another user (needs root to give it away).
if [ "$(id -u)" = 0 ]; then
  mkdir owner && cp clean/authstore.key owner/ && chown 4242:4242 owner/authstore.key
  (cd owner && expect_refused "foreign key file" "owned by uid 4242" \
    "$cli" demo --store "sqlite://$work/owner/demo.db" --no-metrics)
fi

# 3. A planted database (or WAL) is refused before it is opened.
mkdir db && cp clean/authstore.key db/
: >db/demo.db && chmod 666 db/demo.db
(cd db && expect_refused "planted database" "refusing store file" \
  "$cli" demo --store "sqlite://$work/db/demo.db" --no-metrics)
rm db/demo.db && : >db/demo.db-wal && chmod 644 db/demo.db-wal
(cd db && expect_refused "planted WAL" "demo.db-wal" \
  "$cli" demo --store "sqlite://$work/db/demo.db" --no-metrics)

# 3b. The same when the URL spells the path with percent-escapes: the file the library opens
# ("planted db.db", decoded) is the one checked, not the raw "planted%20db.db".
rm db/demo.db-wal && : >"db/planted db.db" && chmod 666 "db/planted db.db"
(cd db && expect_refused "planted database behind a percent-escape" "refusing store file" \
  "$cli" demo --store "sqlite://$work/db/planted%20db.db" --no-metrics)

# 4. An empty AUTHSTORE_SECRET is an error; no key file is created instead.
mkdir empty
(cd empty && AUTHSTORE_SECRET= expect_refused "empty AUTHSTORE_SECRET" "AUTHSTORE_SECRET" \
  "$cli" demo --store memory:// --no-metrics)
[ ! -e empty/authstore.key ] || fail "a key file was created although AUTHSTORE_SECRET was set"
echo "ok"
