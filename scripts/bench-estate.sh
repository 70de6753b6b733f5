#!/usr/bin/env bash
# scripts/bench-estate.sh - issue 13's conn.log benchmark: Zeek conn.log
# ingest rate against the store-only merge of the same client sightings,
# timed in the same process run (build/tests/bench/bench_estate conn).
#
#   RUNS=5 scripts/bench-estate.sh            # both inputs, RUNS runs each
#   OLD=/path/to/other/build scripts/bench-estate.sh   # interleave a build
#
# Inputs (generated once into $WORK/estate-*, see scripts/gen-estate):
#   week      gen-estate's default week: 4 organisations x 30 hosts,
#             280,223 conn.log lines (the pipeline's start and end weigh)
#   week160   the same week with 160 hosts an organisation: 1,441,558
#             lines, 129 MB (a day of a mid-sized site's sensor)
# Prints each run's line and, per input and build, the median ratio,
# ingest rate and store-only rate (the sightings handed to the store API,
# batch by batch, parsed before the clock starts), and the same for the
# writes alone (every batch built before the clock starts).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
RUNS=${RUNS:-5}
NEW=$PWD/build
[ -x "$NEW/tests/bench/bench_estate" ] || cmake --build build --target bench_estate >/dev/null

input() { # name hosts -> path of the concatenated conn.log
	local d=$WORK/estate-$1
	if [ ! -s "$d.conn.log" ]; then
		rm -rf "$d"
		scripts/gen-estate --hosts "$2" "$d" >/dev/null
		cat "$d"/*/conn.log >"$d.conn.log"
	fi
	echo "$d.conn.log"
}

declare -A LOG
LOG[week]=$(input week 30)
LOG[week160]=$(input week160 160)
builds=("$NEW")
[ -n "${OLD:-}" ] && builds+=("$OLD")
out=$WORK/estate-runs.txt
: >"$out"
for i in $(seq "$RUNS"); do
	for name in week week160; do
		for b in "${builds[@]}"; do
			d=$WORK/estate-db
			rm -rf "$d" && mkdir -p "$d"
			line=$("$b/tests/bench/bench_estate" conn "${LOG[$name]}" "$d" | tail -1)
			echo "$name $b $line" | tee -a "$out"
		done
	done
done
rm -rf "$WORK/estate-db"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
# "conn.log: ingest N records R/s, store-only N records S/s, ratio X; ..."
python3 - "$out" <<'EOF'
import re, statistics, sys
rows = {}
for l in open(sys.argv[1]):
    name, build = l.split()[:2]
    m = re.search(r"ingest \d+ records (\d+)/s, store-only \d+ records (\d+)/s, ratio ([\d.]+)", l)
    w = re.search(r"writes alone \(batches built untimed\) (\d+)/s, ratio ([\d.]+)", l)
    rows.setdefault((name, build), []).append(tuple(float(x) for x in m.groups() + w.groups()))
for (name, build), v in sorted(rows.items()):
    med = lambda k: statistics.median(x[k] for x in v)
    rs = sorted(x[2] for x in v)
    print(f"{name:8} {build}: ratio median {med(2):.2f} (runs {rs[0]:.2f}-{rs[-1]:.2f}), "
          f"ingest {med(0)/1e6:.2f} M/s, store-only {med(1)/1e6:.2f} M/s, {len(v)} runs; "
          f"writes alone {med(3)/1e6:.2f} M/s, ratio median {med(4):.2f}")
EOF
