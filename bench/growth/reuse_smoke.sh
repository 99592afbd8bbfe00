#!/usr/bin/env bash
# growth_bench --reuse end to end on SQLite, tiny counts (ctest growth_bench.reuse_smoke; its
# figures mean nothing): a first run fills two new files and records the fill, a second run reuses
# them (no fill; the rotation sample recorded by the first run's rotations still rotates), and
# runs whose arguments or files do not match the record are refused without touching the files.
#   bench/growth/reuse_smoke.sh GROWTH_BENCH WORK_DIR
set -euo pipefail
bench=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
small="sqlite://$work/small.db"
big="sqlite://$work/big.db?cache_size_kib=4096"
args=(--n-small 100 --ops 40 --reps 1 --list-sizes 10 --logout-families 10,20 --max-seconds 60
      --fill-threads 2 --fill-inflight 1)
fail() { echo "reuse_smoke: $*" >&2; exit 1; }

out=$("$bench" --small "$small" --big "$big" "${args[@]}" --n-big 1000 --reuse) || fail "first run failed: $out"
grep -q '^fill small' <<<"$out" || fail "first run did not fill: $out"
[[ -f $work/small.db.growth-fill && -f $work/big.db.growth-fill ]] || fail "no fill record written"
grep -q '^timed_runs 1$' "$work/big.db.growth-fill" || fail "timed_runs not 1 after the first run"
[[ $(stat -c %a "$work/big.db.growth-fill") == 600 ]] || fail "the record (it holds tokens) is not mode 0600"

out=$("$bench" --small "$small" --big "$big" "${args[@]}" --n-big 1000 --reuse) || fail "second run failed: $out"
grep -q '^fill ' <<<"$out" && fail "second run filled again: $out"
grep -q '^reuse big ' <<<"$out" || fail "second run did not say it reuses: $out"
grep -q '| refresh rotate |' <<<"$out" || fail "second run did not time rotation: $out"
grep -q '^timed_runs 2$' "$work/big.db.growth-fill" || fail "timed_runs not 2 after the second run"

# Refusals: other n, no --reuse, a record whose sample is spent but whose n is wrong, a database
# without a record. Each exits 1 with the record's or the file's name.
refused() {  # expected-text, then growth_bench arguments
  local want=$1
  shift
  local err
  if err=$("$bench" "$@" 2>&1); then fail "not refused: $*"; fi
  grep -q -- "$want" <<<"$err" || fail "refusal of '$*' does not say '$want': $err"
}
refused "holds n=1000 records, this run asks for 2000" --small "$small" --big "$big" "${args[@]}" --n-big 2000 --reuse
refused "pass --reuse to time it again" --small "$small" --big "$big" "${args[@]}" --n-big 1000
refused "needs sqlite:// stores" --small memory:// --big memory:// "${args[@]}" --n-big 1000 --reuse
cp "$work/small.db" "$work/other.db"
refused "has no record of a fill" --small "sqlite://$work/other.db" --big "$big" "${args[@]}" --n-big 1000 --reuse
mv "$work/small.db.growth-fill" "$work/other.db.growth-fill"
refused "is not the file that was filled" --small "sqlite://$work/other.db" --big "$big" "${args[@]}" --n-big 1000 --reuse
mv "$work/other.db.growth-fill" "$work/small.db.growth-fill"

# A run that died while rotating leaves the sample spent: the next run issues a fresh one.
sed -i 's/^sample ready$/sample spent/' "$work/small.db.growth-fill"
out=$("$bench" --small "$small" --big "$big" "${args[@]}" --n-big 1000 --reuse) || fail "run after a spent sample failed: $out"
grep -q 'issued a fresh one of 20 families' <<<"$out" || fail "spent sample not replaced: $out"
rm -rf "$work"
echo "reuse_smoke: ok"
