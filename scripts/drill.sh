#!/usr/bin/env bash
# The fault drill, long form: every fault of docs/reliability.md under a bigger load, one table row
# per fault (calls, max call time vs deadline, errors by code, recovery time, acknowledged writes
# lost). CI runs the short form (ctest -L drill). Loopback only; the drill starts and stops (by pid)
# its own redis-server and proxy.
#
#   scripts/drill.sh [--short] [--only SUBSTRING] [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
build=${AUTHSTORE_DRILL_BUILD:-build-drill}  # an existing build dir may be given
[[ -f "$build/CMakeCache.txt" ]] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUTHSTORE_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target authstore_drill >/dev/null
exec "$build/tests/drill/authstore_drill" "$@"
