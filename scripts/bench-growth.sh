#!/usr/bin/env bash
# scripts/bench-growth.sh - the ingest growth curve (a benchmark, not a test).
#
# For each N of LINES_LIST (millions of lines, default "2 10 20 50"), ingests
# the first N lines of DATA into a fresh database and reports the rate of its
# first 2 M lines and of its last 2 M lines, their ratio (target >= 0.5),
# the total time, bytes written per input line and peak RSS (target: within
# MEMORY MiB, default 512, the default of ingest --memory).
#
# Data: without DATA, each N ingests its own `scripts/gen-dataset --lines N`
# file ($BENCH_DIR/cof-N.ndjson, the name bench-ingest.sh uses; generated
# when missing): the shape the README's 2 M and 20 M figures come from, N/5
# unique resolutions, the first N/5 lines all new ones.  With DATA=FILE,
# each N uses the first N lines of FILE (`head -n`), so every point is a
# prefix of the same stream; note that a prefix of a big gen-dataset file is
# not the smaller gen-dataset file: the first 10 M lines of a 50 M file are
# all new resolutions.  FIRST (default 2) sets the "2 M" of the first and
# last slice, in millions too.  INGEST_OPTS adds options to every ingest.
#
# Method: each N is ingested as up to three consecutive ingests into the same
# database, each timed on its own: lines 1..2M (fresh database), 2M+1..N-2M
# (piped through head/tail), N-2M+1..N.  The first and last slices are
# written to files beforehand, so both read a file and neither waits on a
# pipe; each slice's time includes its process's start and its last commit,
# which is the honest price of ending an ingest there.  The "last 2 M" are
# thus ingested into the database the N-2M lines before them made.  Total
# time is the sum of the three, bytes written the sum of their /proc/PID/io
# write_bytes (scripts/measure.py), peak RSS the largest of the three.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES_LIST=${LINES_LIST:-"2 10 20 50"}
FIRST=${FIRST:-2}
MEMORY=${MEMORY:-512}
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/infrapivot-bench}
mkdir -p "$WORK"
[ -x build/service/infrapivot ] || scripts/setup.sh >/dev/null
IP=$PWD/build/service/infrapivot
MEASURE=$PWD/scripts/measure.py
read -r -a OPTS <<<"${INGEST_OPTS:-}"
M=1000000
S=$((FIRST * M))
for n in $LINES_LIST; do
	[ "$n" = "$FIRST" ] || [ "$n" -ge $((2 * FIRST)) ] ||
		{ echo "bench-growth: N=$n: each N is FIRST ($FIRST) or at least twice it (the slices must not overlap)" >&2; exit 2; }
done
# data_for N: the file whose first N lines make the point N
data_for() {
	local f=${DATA:-$WORK/cof-$1.ndjson} have
	if [ -z "${DATA:-}" ] && [ ! -s "$f" ]; then
		echo "generating $1 lines into $f..." >&2
		scripts/gen-dataset --lines "$1" >"$f"
	fi
	have=$(head -n "$1" "$f" | wc -l)
	[ "$have" -ge "$1" ] || { echo "bench-growth: $f has $have lines, $1 needed" >&2; exit 2; }
	echo "$f"
}
echo "data: ${DATA:-gen-dataset --lines N, one file per N}; ingest options: ${OPTS[*]:-none}; load: $(cut -d' ' -f1-3 /proc/loadavg)"

# timed FILE|-: ingest into $DB, append "wall rss write_bytes" to $WORK/slices
timed() {
	local out
	out=$("$MEASURE" "$IP" ingest --no-progress -q "${OPTS[@]}" --db "$DB" "$1" 2>&1)
	echo "$out" | tail -1 | awk '{print $1, $2, $4}' >>"$WORK/slices"
	echo "$out" | tail -1 | awk '$3 > 1 {exit 1}' || { echo "bench-growth: ingest failed: $out" >&2; exit 2; }
}

printf '%6s %12s %12s %6s %9s %10s %9s %12s\n' "N (M)" "first/s" "last/s" "ratio" "total s" "bytes/line" "RSS MiB" "db bytes"
for n in $LINES_LIST; do
	N=$((n * M))
	F=$(data_for "$N")
	head -n "$S" "$F" >"$WORK/growth-first.ndjson"
	DB=$WORK/db-growth
	rm -rf "$DB" "$WORK/slices"
	timed "$WORK/growth-first.ndjson"
	if [ "$N" -gt "$S" ]; then
		[ "$N" -gt $((2 * S)) ] && head -n $((N - S)) "$F" | tail -n +$((S + 1)) | timed -
		head -n "$N" "$F" | tail -n "$S" >"$WORK/growth-last.ndjson"
		timed "$WORK/growth-last.ndjson"
	fi
	# slices: first, [middle], [last]; with N = FIRST the first is the last
	awk -v s="$S" -v n="$N" -v mem="$MEMORY" -v db="$(stat -c %s "$DB/data.mdb")" '
		{ w[NR] = $1; r = ($2 > r) ? $2 : r; b += $3; t += $1 }
		END {
			f = s / w[1]; l = s / w[NR]
			printf "%6d %12.0f %12.0f %6.2f %9.1f %10.0f %9.0f %12d%s\n", n / 1e6, f, l, l / f, t, b / n, r / 1024, db,
				(r / 1024 > mem) ? "  (RSS over " mem " MiB)" : ""
		}' "$WORK/slices"
done
rm -f "$WORK/growth-first.ndjson" "$WORK/growth-last.ndjson"
echo "first/last: records/s of the first and last $FIRST M lines; ratio target >= 0.5; RSS target <= $MEMORY MiB"
