#!/usr/bin/env bash
# scripts/bench-pivot-keys.sh - issue 15's pivot benchmark (a script, not a
# timed test): depth-3 pivots on the benchmark dataset with today's default
# edges (resolves,cname,serves,san,sni) against every edge (key, subject and
# fingerprint added), in the same run, alternating RUNS times (default 3),
# and the ratio of the median p99s (target <= 1.5).
#
# The dataset is scripts/gen-dataset's (LINES, default 2,000,000), ingested
# into a fresh database, then given keys and fingerprints by
# tests/bench/keys_augment.c (re-issue clusters, a hoster key, stock and
# rare JARM/JA3S) so that the new edges have something to walk.
# BUILD: the build directory (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-2000000}
RUNS=${RUNS:-3}
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/infrapivot-bench}
mkdir -p "$WORK"
BUILD=${BUILD:-$PWD/build}
IP=$BUILD/service/infrapivot
for t in "$IP" "$BUILD/tests/bench/bench_pivot" "$BUILD/tests/bench/bench_keys_augment"; do
	[ -x "$t" ] || { echo "build first: $t is missing" >&2; exit 2; }
done
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

DATA=$WORK/cof-$LINES.ndjson
SEEDS=$WORK/seeds-$LINES.txt
[ -s "$DATA" ] || scripts/gen-dataset --lines "$LINES" >"$DATA"
[ -s "$SEEDS" ] || scripts/gen-dataset --lines "$LINES" --seeds-out "$SEEDS" >/dev/null
DB=$WORK/db-keys
rm -rf "$DB"
"$IP" ingest --no-progress -q --db "$DB" "$DATA"
"$BUILD/tests/bench/bench_keys_augment" "$DB" "$DATA"
OLD=resolves,cname,serves,san,sni
NEW=all
old=() new=()
p99() { "$BUILD/tests/bench/bench_pivot" "$DB" "$SEEDS" 1000 "$1" | awk '/^depth 3/ {print; exit}'; }
for r in $(seq "$RUNS"); do
	a=$(p99 "$OLD")
	b=$(p99 "$NEW")
	echo "run $r: today's default ($OLD): $a"
	echo "run $r: every edge ($NEW):       $b"
	old+=("$(echo "$a" | sed 's/.*p99 \([0-9.]*\) ms.*/\1/')")
	new+=("$(echo "$b" | sed 's/.*p99 \([0-9.]*\) ms.*/\1/')")
done
O=$(printf '%s\n' "${old[@]}" | median)
N=$(printf '%s\n' "${new[@]}" | median)
echo "median depth-3 p99: today's default $O ms, every edge $N ms, ratio $(awk -v a="$N" -v b="$O" 'BEGIN {printf "%.2f", a / b}') (target <= 1.5)"
