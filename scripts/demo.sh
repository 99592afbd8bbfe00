#!/usr/bin/env bash
# The README's first command: install what is needed, build, and run the demo on the embedded
# default store (SQLite file ./authstore-demo.db, key file ./authstore.key created on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUTHSTORE_BUILD_TESTS=OFF -DAUTHSTORE_BUILD_BENCH=OFF >/dev/null
cmake --build build --target authstore_cli
exec build/src/cli/authstore demo "$@"
