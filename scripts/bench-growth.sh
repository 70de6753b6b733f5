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
# Method: consecutive ingests into the same database, each timed on its own:
# lines 1..2M (fresh database), the lines up to N-2M (piped through
# head/tail), N-2M+1..N.  The first and last slices are written to a file
# beforehand, so both read a file and neither waits on a pipe; each slice's
# time includes its process's start and its last commit, which is the
# honest price of ending an ingest there.  The "last 2 M" are thus ingested
# into the database the N-2M lines before them made.  With DATA, one
# database serves every point in turn (a row is what a fresh N-line ingest
# of that prefix would give, without ingesting 2+10+20+50 M lines); without
# it, each N has its own file and database.  Total time is the sum of the
# slices up to N, bytes written the sum of their /proc/PID/io write_bytes
# (scripts/measure.py), peak RSS the largest of them.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES_LIST=${LINES_LIST:-"2 10 20 50"}
FIRST=${FIRST:-2}
MEMORY=${MEMORY:-512}
. scripts/bench-lib.sh
M=${UNIT:-1000000} # lines per unit of LINES_LIST and FIRST
S=$((FIRST * M))
# each point is FIRST or at least twice it, and with DATA (one database for
# all points) at least FIRST past the one before: slices must not overlap
prev=0
for n in $(printf '%s\n' $LINES_LIST | sort -n | uniq); do
	[ "$n" = "$FIRST" ] || [ "$n" -ge $((2 * FIRST)) ] ||
		{ echo "bench-growth: N=$n: each N is FIRST ($FIRST) or at least twice it" >&2; exit 2; }
	[ -z "${DATA:-}" ] || [ "$prev" = 0 ] || [ "$n" -ge $((prev + FIRST)) ] ||
		{ echo "bench-growth: N=$n: with DATA, each N is at least FIRST past the one before" >&2; exit 2; }
	prev=$n
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

# row N: the table row of the point N from $WORK/slices (first slice, ..., last)
row() {
	awk -v s="$S" -v n="$1" -v mem="$MEMORY" -v db="$(stat -c %s "$DB/data.mdb")" '
		{ w[NR] = $1; r = ($2 > r) ? $2 : r; b += $3; t += $1 }
		END {
			f = s / w[1]; l = s / w[NR]
			for (i = 1; i <= NR; i++)
				ws = ws sprintf(" %.1f", w[i])
			printf "%6g %12.0f %12.0f %6.2f %9.1f %10.0f %9.0f %12.0f  %s%s\n", n / 1e6, f, l, l / f, t, b / n, r / 1024, db, ws,
				(r / 1024 > mem) ? "  (RSS over " mem " MiB)" : ""
		}' "$WORK/slices"
}
# curve FILE N...: one fresh database fed FILE's lines up to each N in turn
# (ascending); after each N a row.  Lines 1..S are timed alone, then for
# each N the lines after the previous point up to N-S, then N-S+1..N timed
# alone.  So a row is what an N-line ingest of the same prefix would give.
curve() {
	local f=$1 pos=$S n
	shift
	DB=$WORK/db-growth
	rm -rf "$DB" "$WORK/slices"
	head -n "$S" "$f" >"$WORK/growth-slice.ndjson"
	timed "$WORK/growth-slice.ndjson"
	for n in "$@"; do
		n=$((n * M))
		if [ "$n" -gt "$S" ]; then
			[ $((n - S)) -gt "$pos" ] && head -n $((n - S)) "$f" | tail -n +$((pos + 1)) | timed -
			head -n "$n" "$f" | tail -n "$S" >"$WORK/growth-slice.ndjson"
			timed "$WORK/growth-slice.ndjson"
		fi
		row "$n"
		pos=$n
	done
}

printf '%6s %12s %12s %6s %9s %10s %9s %12s  %s\n' "N (M)" "first/s" "last/s" "ratio" "total s" "bytes/line" "RSS MiB" "db bytes" "slices (s)"
if [ -n "${DATA:-}" ]; then
	read -r -a POINTS <<<"$(printf '%s\n' $LINES_LIST | sort -n | uniq | tr '\n' ' ')"
	data_for $((POINTS[-1] * M)) >/dev/null
	curve "$DATA" "${POINTS[@]}"
else
	for n in $LINES_LIST; do
		curve "$(data_for $((n * M)))" "$n"
	done
fi
rm -f "$WORK/growth-slice.ndjson" "$WORK/slices"
echo "first/last: records/s of the first and last $S lines; ratio target >= 0.5; RSS target <= $MEMORY MiB"
