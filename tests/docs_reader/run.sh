#!/usr/bin/env bash
# Writes a store with the real CLI (demo + a few sessions), then reads every record back with
# reader.py, which knows only docs/. usage: run.sh AUTHSTORE_CLI WORK_DIR
set -euo pipefail
cli=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
cd "$work"
unset AUTHSTORE_SECRET AUTHSTORE_KEY_FILE
# No key configured: the demo creates ./authstore.key (mode 0600) on first run, as the README says.
"$cli" demo --store "sqlite://$work/store.db" --no-metrics >/dev/null || { echo "demo failed"; exit 1; }
[ "$(stat -c %a authstore.key)" = 600 ] || { echo "key file is not mode 0600"; exit 1; }
"$cli" --key-file "$work/authstore.key" bench --store "sqlite://$work/store.db" --op session --ops 20 --repetitions 1 >/dev/null
"$cli" --key-file "$work/authstore.key" bench --store "sqlite://$work/store.db" --op code --ops 20 --repetitions 1 >/dev/null
python=/usr/bin/python3
[ -x "$python" ] || python=python3
exec "$python" "$here/reader.py" "$work/authstore.key" "$work/store.db"
