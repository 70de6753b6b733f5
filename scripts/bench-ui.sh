#!/usr/bin/env bash
# scripts/bench-ui.sh - how long the analyst's page takes to show a
# 500-node pivot in headless Chromium (1280x800), median of N runs.
#
#   scripts/bench-ui.sh [--build DIR] [--runs N]
#
# Makes a database whose depth-2 pivot from bench-seed.example has exactly
# 500 nodes (the seed, 9 addresses, 490 names on them; no pruning), starts
# `infrapivot serve` on a free loopback port, and for each run loads the page
# afresh, searches the seed and waits for the page to report the graph drawn.
# Prints, per run and as medians:
#   total  - from the search to the graph laid out and drawn (the API call,
#            JSON parse, adding the elements, the layout, the next frame)
#   layout - the same without the API call
# and then checks the graph answers a click (the node panel opens).
# Target: total <= 1500 ms (issue 14).  Needs chromium, chromium-driver and
# python3-selenium (scripts/setup.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
RUNS=5
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	*) echo "usage: $0 [--build DIR] [--runs N]" >&2; exit 2 ;;
	esac
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/infrapivot-bench-ui-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
python3 - >"$WORK/data.ndjson" <<'PY'
import json
t = 1790000000
def rr(name, ip):
    print(json.dumps({"rrname": name, "rrtype": "A", "rdata": ip, "time_first": t,
                      "time_last": t + 86400, "count": 3, "sensor_id": "bench"}))
for k in range(9):
    ip = "10.9.0.%d" % (k + 1)
    rr("bench-seed.example", ip)
    for j in range(58 if k == 8 else 54):
        rr("n%d-%d.bench.example" % (k, j), ip)
PY
"$BUILD/service/infrapivot" ingest -q --db "$WORK/db" "$WORK/data.ndjson" 2>/dev/null
ROOT=$ROOT INFRAPIVOT=$BUILD/service/infrapivot DB=$WORK/db RUNS=$RUNS LOG=$WORK/server.log \
	/usr/bin/python3 "$ROOT/tests/ui/bench_ui.py"
