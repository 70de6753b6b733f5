#!/usr/bin/env bash
# scripts/bench-ingest.sh - ingest benchmark (a script, not a timed test).
#
# For each key shape of SHAPES (default "popular random"), generates a
# deterministic COF dataset (scripts/gen-dataset --keys SHAPE: LINES
# observations, default 2,000,000; popular: about LINES/5 unique
# resolutions, power-law name and IP popularity, certificate sightings;
# random: names drawn at random over LINES/5 names, two random IPv4
# addresses each, about 675 k unique resolutions for 2 M lines), then
# measures in the same run, RUNS times each (default 3), and prints each
# run and the medians:
#   - jansson parse-only lines/s of the same file (tests/bench/parse_only)
#   - ingest records/s into a fresh database, and its ratio to parse-only
#     (the ratio of each run, and the ratio of the medians)
#   - bytes written per input line: /proc/PID/io write_bytes of the ingest
#     process, read by scripts/measure.py after it exits, before it is reaped
#   - peak RSS of the ingest
# INGEST_OPTS adds options to every ingest (e.g. INGEST_OPTS="--memory 512M").
# Then, on the popular shape's database:
#   - bytes on disk per unique resolution after `infrapivot compact`
#     (and after `compact --copy`, the pages as ingest left them)
# With SENSORS=1 it also ingests the same dataset rendered as a Zeek
# dns.log, a Suricata EVE file and passivedns lines, beside the store-only
# upsert rate of the same records (tests/bench/store_only).
# It then times depth-2 and depth-3 pivots from 1,000 seeds (planted actor
# clusters and popular names) in process: p50/p99 (tests/bench/pivot_bench).
# LARGE=N additionally checks peak RSS for an N-line ingest (e.g. 20000000).
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-2000000}
RUNS=${RUNS:-3}
. scripts/bench-lib.sh

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

[ ${#OPTS[@]} -gt 0 ] && echo "ingest options: ${OPTS[*]}"
# last MEASURE-OUTPUT FIELD: field N of measure.py's last line
last() { echo "$1" | tail -1 | awk -v f="$2" '{print $f}'; }

# bench_shape SHAPE TARGET DB: the runs on that shape's dataset, then medians
bench_shape() {
	local shape=$1 target=$2 db=$3 data r out wall
	data=$WORK/cof-$LINES.ndjson
	[ "$shape" = popular ] || data=$WORK/cof-$shape-$LINES.ndjson
	[ -s "$data" ] || { echo "generating $LINES observations ($shape keys)..." >&2; scripts/gen-dataset --keys "$shape" --lines "$LINES" >"$data"; }
	echo "dataset ($shape keys): $data ($(du -h "$data" | cut -f1), $LINES lines)"
	local parse_rates=() ingest_rates=() rss=() wpl=()
	for r in $(seq "$RUNS"); do
		parse_rates+=("$(build/tests/bench/bench_parse_only "$data" | awk '{print $3}')")
		rm -rf "$db"
		out=$("$MEASURE" "$IP" ingest --no-progress -q "${OPTS[@]}" --db "$db" "$data" 2>&1)
		wall=$(last "$out" 1)
		rss+=("$(last "$out" 2)")
		wpl+=("$(awk -v w="$(last "$out" 4)" -v n="$LINES" 'BEGIN {printf "%.0f", w / n}')")
		ingest_rates+=("$(awk -v n="$LINES" -v t="$wall" 'BEGIN {printf "%.0f", n / t}')")
		echo "run $r ($shape): parse-only ${parse_rates[-1]} lines/s, ingest ${ingest_rates[-1]} records/s (wall ${wall}s)," \
			"ratio $(awk -v a="${ingest_rates[-1]}" -v b="${parse_rates[-1]}" 'BEGIN {printf "%.2f", a / b}')," \
			"written ${wpl[-1]} bytes/line, peak RSS ${rss[-1]} KiB"
	done
	P=$(printf '%s\n' "${parse_rates[@]}" | median)
	I=$(printf '%s\n' "${ingest_rates[@]}" | median)
	R=$(printf '%s\n' "${rss[@]}" | median)
	W=$(printf '%s\n' "${wpl[@]}" | median)
	echo
	echo "$shape keys:"
	echo "median parse-only:      $P lines/s"
	echo "median ingest:          $I records/s"
	echo "ratio ingest/parse:     $(awk -v a="$I" -v b="$P" 'BEGIN {printf "%.2f", a / b}')   (target >= $target)"
	echo "median written:         $W bytes per input line (/proc/PID/io write_bytes; target <= 1024 on random keys)"
	echo "median peak RSS:        $((R / 1024)) MiB   (target < 200 MiB)"
	echo "database:               $(stat -c %s "$db/data.mdb") bytes ($("$IP" stats --json --db "$db" | python3 -c 'import json,sys; print(json.load(sys.stdin)["resolutions"])') resolutions)"
	echo
}
for shape in ${SHAPES:-popular random}; do
	case $shape in
	popular) bench_shape popular 0.90 "$WORK/db" ;;
	random) bench_shape random 0.5 "$WORK/db-random" ;;
	*) echo "bench-ingest: unknown shape '$shape' (popular, random)" >&2; exit 2 ;;
	esac
done
# the rest measures the popular shape's database
case " ${SHAPES:-popular} " in *" popular "*) ;; *) exit 0 ;; esac
DATA=$WORK/cof-$LINES.ndjson
rm -rf "$WORK/compact"
"$IP" compact --db "$WORK/db" "$WORK/compact"
UNIQUE=$("$IP" stats --json --db "$WORK/db" | python3 -c 'import json,sys; print(json.load(sys.stdin)["resolutions"])')
BYTES=$(stat -c %s "$WORK/compact/data.mdb")
echo "popular keys, after compaction:"
echo "unique resolutions:     $UNIQUE"
echo "compacted database:     $BYTES bytes = $(awk -v a="$BYTES" -v b="$UNIQUE" 'BEGIN {printf "%.1f", a / b}') bytes per unique resolution (target <= 150, all indexes and certificates included)"
rm -rf "$WORK/copy"
"$IP" compact --copy --db "$WORK/db" "$WORK/copy"
CBYTES=$(stat -c %s "$WORK/copy/data.mdb")
echo "page copy (--copy):     $CBYTES bytes = $(awk -v a="$CBYTES" -v b="$UNIQUE" 'BEGIN {printf "%.1f", a / b}') bytes per unique resolution (pages as ingest left them)"

if [ "${SENSORS:-0}" = 1 ]; then
	echo
	so=()
	for r in $(seq "$RUNS"); do
		rm -rf "$WORK/db-so"
		so+=("$(build/tests/bench/bench_store_only "$DATA" "$WORK/db-so" | awk '{print $3}')")
	done
	SO=$(printf '%s\n' "${so[@]}" | median)
	echo "median store-only upsert: $SO records/s"
	for fmt in zeek eve passivedns; do
		F=$WORK/$fmt-$LINES.log
		[ -s "$F" ] || scripts/gen-dataset --lines "$LINES" --format "$fmt" >"$F"
		rates=()
		for r in $(seq "$RUNS"); do
			rm -rf "$WORK/db-$fmt"
			out=$("$MEASURE" "$IP" ingest --no-progress -q "${OPTS[@]}" --db "$WORK/db-$fmt" "$F" 2>&1)
			wall=$(echo "$out" | tail -1 | awk '{print $1}')
			rates+=("$(awk -v n="$LINES" -v t="$wall" 'BEGIN {printf "%.0f", n / t}')")
		done
		M=$(printf '%s\n' "${rates[@]}" | median)
		line="median $fmt ingest: $M records/s = $(awk -v a="$M" -v b="$SO" 'BEGIN {printf "%.2f", a / b}') x store-only"
		if [ "$fmt" = eve ]; then
			pe=()
			for r in $(seq "$RUNS"); do pe+=("$(build/tests/bench/bench_parse_only "$F" | awk '{print $3}')"); done
			PE=$(printf '%s\n' "${pe[@]}" | median)
			line="$line, $(awk -v a="$M" -v b="$PE" 'BEGIN {printf "%.2f", a / b}') x jansson parse-only ($PE lines/s)"
		fi
		echo "$line"
	done
fi

if [ -x build/tests/bench/bench_pivot ]; then
	echo
	SEEDS=$WORK/seeds-$LINES.txt
	[ -s "$SEEDS" ] || scripts/gen-dataset --lines "$LINES" --seeds-out "$SEEDS" >/dev/null
	echo "pivots from $(wc -l <"$SEEDS") seeds (planted actor clusters and popular names), in process:"
	build/tests/bench/bench_pivot "$WORK/db" "$SEEDS" 1000 | sed 's/^/  /'
	echo "  (targets: depth 2 p99 <= 5 ms, depth 3 p99 <= 50 ms)"
fi

if [ -n "${LARGE:-}" ]; then
	BIG=$WORK/cof-$LARGE.ndjson
	[ -s "$BIG" ] || scripts/gen-dataset --lines "$LARGE" >"$BIG"
	rm -rf "$WORK/db-large"
	out=$("$MEASURE" "$IP" ingest --no-progress -q "${OPTS[@]}" --db "$WORK/db-large" "$BIG" 2>&1)
	echo "large ($LARGE lines): wall $(echo "$out" | tail -1 | awk '{print $1}') s, peak RSS $(( $(echo "$out" | tail -1 | awk '{print $2}') / 1024 )) MiB"
	rm -rf "$WORK/db-large"
fi
