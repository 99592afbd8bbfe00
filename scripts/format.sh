#!/usr/bin/env bash
# clang-format (Debian 12's clang-format-14, the root .clang-format) over every C/C++ file the
# repository tracks. `scripts/format.sh` rewrites them; `scripts/format.sh --check` changes nothing
# and fails, naming the first lines, when a file is not formatted (scripts/test.sh runs it first).
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=$(command -v clang-format-14 || command -v clang-format)
mapfile -t files < <(git ls-files '*.cc' '*.h' '*.cpp' '*.hpp')
if [ "${1:-}" = --check ]; then
  if ! out=$("$fmt" --dry-run --Werror "${files[@]}" 2>&1); then
    echo "$out" | head -20
    echo "format: some files are not clang-formatted: run scripts/format.sh"
    exit 1
  fi
  echo "format: ${#files[@]} files formatted"
else
  "$fmt" -i "${files[@]}"
fi
