#!/usr/bin/env bash
# scripts/bench-follow.sh - follow-mode throughput against plain ingest of
# the same file, same run (a benchmark script, not a timed test).
#
# For each FORMAT (default "passivedns cof"; scripts/gen-dataset, LINES
# observations, default 500,000) it runs RUNS times (default 3), each into
# a fresh database and with default options:
#   plain:  infrapivot ingest FILE
#   follow: infrapivot ingest --follow FILE --exit-idle 1
# and prints the medians of lines/s and their ratio (follow / plain).
# A follower has no end of input: it stops 1 s (--exit-idle) after its
# last read, found at its next poll (200 ms by default); that second is
# taken off its time, the poll is not (at most 0.2 s against it).
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-500000}
RUNS=${RUNS:-3}
FORMATS=${FORMATS:-passivedns cof}
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/infrapivot-bench}
mkdir -p "$WORK"
IP=$PWD/build/service/infrapivot
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

for fmt in $FORMATS; do
	DATA=$WORK/follow-$fmt-$LINES.txt
	[ -s "$DATA" ] || scripts/gen-dataset --lines "$LINES" --format "$fmt" >"$DATA"
	n=$(wc -l <"$DATA")
	plain=() follow=()
	for _ in $(seq "$RUNS"); do
		rm -rf "$WORK/fdb"
		t0=$(now)
		"$IP" ingest --no-progress -q --db "$WORK/fdb" "$DATA" 2>/dev/null || true
		t1=$(now)
		plain+=("$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')")
		rm -rf "$WORK/fdb"
		t0=$(now)
		"$IP" ingest -q --db "$WORK/fdb" --follow "$DATA" --exit-idle 1 2>/dev/null || true
		t1=$(now)
		follow+=("$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a - 1) }')")
	done
	p=$(printf '%s\n' "${plain[@]}" | median)
	f=$(printf '%s\n' "${follow[@]}" | median)
	echo "$fmt: $n lines; plain ${plain[*]} lines/s (median $p); follow ${follow[*]} (median $f);" \
		"follow/plain $(awk -v f="$f" -v p="$p" 'BEGIN { printf "%.2f", f / p }')"
done
