#!/usr/bin/env bash
# clang-tidy on the C++ sources changed since BASE (the checks: .clang-tidy at the root).
#   scripts/tidy.sh [BASE]     BASE: a commit; default origin/main, or HEAD~1 where there is none
# Checks the .cc files that differ between the merge base of BASE and HEAD and the working tree
# (committed, staged, unstaged and untracked), with the flags of build/compile_commands.json
# (CMAKE_EXPORT_COMPILE_COMMANDS; AUTHSTORE_BUILD_DIR names another build tree). A changed file that
# no target compiles (a bench or fuzz file of a build that leaves it out) is skipped, and said.
# Exit 0: no warning; 1: a warning (every warning is an error); 2: no compile database or clang-tidy.
# Each file's time is printed: 2-17 s a file on these machines when quiet (12 files: 98 s), several
# times that while a build runs.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
tidy=${CLANG_TIDY:-clang-tidy-14}
build=${AUTHSTORE_BUILD_DIR:-build}
db=$build/compile_commands.json
command -v "$tidy" >/dev/null || { echo "tidy: $tidy not found (scripts/deps.sh installs clang-tidy)" >&2; exit 2; }
[ -f "$db" ] || { echo "tidy: no $db: configure first (cmake -S . -B $build ...)" >&2; exit 2; }

base=${1:-}
if [ -z "$base" ]; then
  if git rev-parse -q --verify origin/main >/dev/null; then base=origin/main; else base=HEAD~1; fi
fi
since=$(git merge-base "$base" HEAD) || { echo "tidy: no merge base of $base and HEAD" >&2; exit 2; }

mapfile -t files < <({ git diff --name-only --diff-filter=ACMR "$since" -- '*.cc'
                       git ls-files --others --exclude-standard -- '*.cc'; } | sort -u)
# Warnings in headers count for the headers changed too (and only for them: a changed .cc is not
# held to account for an old header it includes).
mapfile -t headers < <({ git diff --name-only --diff-filter=ACMR "$since" -- '*.h'
                         git ls-files --others --exclude-standard -- '*.h'; } | sort -u)
header_filter='^$'
if ((${#headers[@]})); then
  header_filter="^$PWD/($(printf '%s\n' "${headers[@]}" | sed 's/[.+]/\\&/g' | paste -sd '|'))\$"
fi
if ((${#files[@]} == 0)); then
  echo "tidy: no .cc file changed since $base ($since)"
  exit 0
fi

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { print b - a }'; }
failed=()
skipped=()
total_start=$(date +%s.%N)
for f in "${files[@]}"; do
  if ! grep -qF "\"file\": \"$PWD/$f\"" "$db"; then
    skipped+=("$f")
    continue
  fi
  start=$(date +%s.%N)
  # -Wno-unknown-warning-option: the database holds g++'s flags, a few of which clang does not know.
  if nice -n 19 "$tidy" -p "$build" --quiet --warnings-as-errors='*' --header-filter="$header_filter" \
       --extra-arg=-Wno-unknown-warning-option "$f" >"$build/tidy.out" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$f")
    grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Error while processing' \
      "$build/tidy.out" >&2
  fi
  printf 'tidy: %-60s %s (%.1f s)\n' "$f" "$status" "$(elapsed "$start")"
done
printf 'tidy: %d file(s) in %.0f s' $((${#files[@]} - ${#skipped[@]})) "$(elapsed "$total_start")"
((${#skipped[@]})) && printf '; skipped (not in %s): %s' "$db" "${skipped[*]}"
echo
if ((${#failed[@]})); then
  echo "tidy: warnings in ${failed[*]}" >&2
  exit 1
fi
