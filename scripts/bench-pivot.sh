#!/usr/bin/env bash
# scripts/bench-pivot.sh - pivot latency with temporal affinity on and off
# in the same run (a script, not a timed test).
#
# Generates the benchmark dataset (scripts/gen-dataset, LINES observations,
# default 2,000,000) twice: as it is, and with --cotenants (each planted
# cluster's first IP also carries 10-90 long-lived names of other
# tenants); ingests each into its own database and runs
# tests/bench/pivot_bench in "both" mode: depth-2 and depth-3 pivots from
# 1,000 seeds (planted actor clusters and popular names), each pivot with
# affinity off and on, alternating which goes first; prints p50/p99 of
# both and their ratio (on / off).
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-2000000}
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/infrapivot-bench-pivot}
mkdir -p "$WORK"
[ -x build/tests/bench/bench_pivot ] || { echo "build first (cmake --build build)" >&2; exit 2; }
IP=$PWD/build/service/infrapivot

for set in plain cotenants; do
	flag=()
	[ "$set" = cotenants ] && flag=(--cotenants)
	DATA=$WORK/cof-$LINES-$set.ndjson
	SEEDS=$WORK/seeds-$LINES.txt
	[ -s "$DATA" ] || scripts/gen-dataset --lines "$LINES" "${flag[@]}" --seeds-out "$SEEDS" >"$DATA"
	if [ ! -d "$WORK/db-$set" ]; then
		"$IP" ingest --no-progress -q --db "$WORK/db-$set" "$DATA"
	fi
	echo "dataset $set ($LINES lines$([ "$set" = cotenants ] && echo ", co-tenants beside the 50 planted clusters")):"
	build/tests/bench/bench_pivot "$WORK/db-$set" "$SEEDS" 1000 both | sed 's/^/  /'
done
echo "(target: affinity on within 1.2x of off at p99)"
