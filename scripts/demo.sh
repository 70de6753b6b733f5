#!/usr/bin/env bash
# scripts/demo.sh - install, build, load sample data and show what
# infrapivot does: lookups, then (when built with the service) the HTTP
# service on 127.0.0.1:8080 answering a pivot; it ends by printing the
# address of the analyst's page.  Ctrl-C stops the service.
#   DEMO_DB=./demo-data  PORT=8080  scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
IP=$PWD/build/service/infrapivot
export INFRAPIVOT_DB=${DEMO_DB:-$PWD/demo-data}
PORT=${PORT:-8080}
rm -rf "$INFRAPIVOT_DB"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "ingest: a synthetic hunt (times relative to now) and real sensor samples"
scripts/demo-data/make-hunt.py >"${TMPDIR:-/tmp}/infrapivot-hunt.ndjson"
"$IP" ingest --sensor demo "${TMPDIR:-/tmp}/infrapivot-hunt.ndjson" tests/fixtures/cof/circl-sample.ndjson
for f in tests/fixtures/zeek/logs-ts tests/fixtures/suricata tests/fixtures/passivedns; do
	[ -e "$f" ] && { "$IP" ingest "$f" || true; }
done

step "ingest: three days of four organisations' Zeek dns/ssl/conn logs (scripts/gen-estate),
with the hunt's domain planted as a beacon on 6 hosts of one organisation"
EST=${TMPDIR:-/tmp}/infrapivot-estate
rm -rf "$EST"
scripts/gen-estate "$EST" --hosts 16 --days 3 --start $(($(date +%s) - 3 * 86400)) \
	--beacon update-check.duckdns.org=185.243.112.17
for d in "$EST"/*/; do
	"$IP" ingest -q --sensor "$(basename "$d")" "$d"dns.log "$d"ssl.log "$d"conn.log 2>/dev/null
done
python3 -c "import json,sys; [print(s, o) for s, o in json.load(open(sys.argv[1]))['sensors'].items()]" \
	"$EST/truth.json" | while read -r s o; do "$IP" sensor set "$s" --org "$o"; done

step "stats"
"$IP" stats

step "lookup domain update-check.duckdns.org (first/last seen, counts, sensors)"
"$IP" lookup domain update-check.duckdns.org --format table

step "lookup ip 185.243.112.17: names and the certificate it serves"
"$IP" lookup ip 185.243.112.17 --format table

step "lookup cert 3f1a5e8c9b2d4f6071829304a5b6c7d8e9f0a1b2: every IP that served it"
"$IP" lookup cert 3f1a5e8c9b2d4f6071829304a5b6c7d8e9f0a1b2 --format table

step "which of our hosts talk to it: lookup domain update-check.duckdns.org --clients"
"$IP" lookup domain update-check.duckdns.org --clients --format table

step "beacons: destinations ranked as command-and-control beacons"
"$IP" beacons --format table --limit 10
"$IP" beacons --limit 1 | python3 -c 'import json,sys; b=json.load(sys.stdin)[0]
print("\n%s: score %.2f" % (b["destination"], b["score"])); [print("  -", r) for r in b["reasons"]]'

if "$IP" pivot --help >/dev/null 2>&1; then
	step "pivot from the beacon domain, last 30 days (noise pruned, with reasons)"
	"$IP" pivot update-check.duckdns.org --since -30d --depth 4 --format table
fi

if "$IP" serve --help >/dev/null 2>&1; then
	step "serve on http://127.0.0.1:$PORT (Ctrl-C to stop)"
	"$IP" serve --listen "127.0.0.1:$PORT" &
	SERVER=$!
	trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT INT TERM
	for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
	echo "\$ curl 'http://127.0.0.1:$PORT/api/v1/pivot?seed=update-check.duckdns.org&depth=3&since=-30d'"
	curl -fsS "http://127.0.0.1:$PORT/api/v1/pivot?seed=update-check.duckdns.org&depth=3&since=-30d" |
		python3 -c 'import json,sys; r=json.load(sys.stdin)
for n in r["nodes"]:
    print("%-6s %-45s depth %d  last seen %3s days ago  %s" % (n["type"], n["value"], n["depth"], n.get("age_days"), ("PRUNED: " + n["pruned"]) if n.get("pruned") else ""))'
	echo
	echo "Try: curl 'http://127.0.0.1:$PORT/api/v1/lookup/domain/*.duckdns.org'"
	echo "     curl 'http://127.0.0.1:$PORT/api/v1/pivot?seed=update-check.duckdns.org&format=dot' | dot -Tsvg > pivot.svg"
	echo
	echo "The analyst's page: http://127.0.0.1:$PORT/?seed=update-check.duckdns.org"
	wait $SERVER
fi
