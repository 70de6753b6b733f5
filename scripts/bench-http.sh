#!/bin/bash
# bench-http.sh - wrk against `infrapivot serve` and, in the same run, a
# minimal libmicrohttpd handler returning a body of the same size.
#
#   scripts/bench-http.sh [--db DIR] [--build DIR] [--observations N]
#                         [--duration 10s] [--connections 64] [--threads N]
#                         [--domain NAME]
#
# Without --db (or when DIR holds no database) a database of N synthetic
# observations (default 2000000) is generated in DIR (default
# /tmp/infrapivot-bench-db): 400k domains with 4 A records each into a
# 10.0.0.0/12 pool (so an IP carries several names), plus certificate
# sightings on 400k of those addresses.
#
# With --db pointing at another database (e.g. the one scripts/bench-ingest.sh
# leaves in /tmp/infrapivot-bench/db), --domain names the domain to query.
# Prints requests/s and p99 latency for: a domain lookup, an IP lookup, a
# depth-2 pivot (when the build has the pivot engine) and the fixed-body
# baseline, and the ratio domain lookup / baseline (target >= 0.6).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
DB=/tmp/infrapivot-bench-db
N=2000000
DUR=10s
CONNS=64
THREADS=$(nproc)
DOMAIN=d4242.bench.example
while [ $# -gt 0 ]; do
	case $1 in
	--db) DB=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--observations) N=$2; shift 2 ;;
	--duration) DUR=$2; shift 2 ;;
	--connections) CONNS=$2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--domain) DOMAIN=$2; shift 2 ;;
	-h | --help) sed -n '2,23p' "$0"; exit 0 ;;
	*) echo "bench-http.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
IP=$BUILD/service/infrapivot
FIXED=$BUILD/tests/bench/mhd_fixed
for x in "$IP" "$FIXED"; do
	[ -x "$x" ] || { echo "bench-http.sh: $x missing (cmake --build $BUILD)" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "bench-http.sh: wrk not installed" >&2; exit 2; }

if [ ! -e "$DB/data.mdb" ]; then
	echo "generating $N observations into $DB ..." >&2
	mkdir -p "$DB"
	python3 - "$N" <<'PY' | "$IP" ingest --db "$DB" --no-progress -q - >&2
import json, sys
n = int(sys.argv[1])
doms = max(1, (n * 4 // 5) // 4)          # 4/5 of the lines: 4 A records per domain
out = sys.stdout
line = 0
t0 = 1690000000
for d in range(doms):
    for k in range(4):
        ipn = (d * 7 + k * 104729) % (1 << 20)
        ip = "10.%d.%d.%d" % (ipn >> 16, (ipn >> 8) & 255, ipn & 255)
        out.write('{"rrname":"d%d.bench.example","rrtype":"A","rdata":"%s","time_first":%d,"time_last":%d,"count":%d}\n'
                  % (d, ip, t0 + d, t0 + d + 86400 * (1 + k), 1 + k))
        line += 1
rest = n - line
for i in range(rest):
    ipn = (i * 7) % (1 << 20)
    ip = "10.%d.%d.%d" % (ipn >> 16, (ipn >> 8) & 255, ipn & 255)
    sha = "%040x" % (i % 50000 + 1)
    out.write('{"ip":"%s","port":443,"cert_sha1":"%s","time_first":%d,"time_last":%d,"count":1,"sni":"d%d.bench.example"}\n'
              % (ip, sha, t0 + i, t0 + i + 3600, i % doms))
PY
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
FPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$IP" serve --db "$DB" --listen "127.0.0.1:$PORT" --threads "$THREADS" 2>/dev/null &
SRV=$!
trap 'kill $SRV ${FIX:-} 2>/dev/null || true' EXIT
U="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -s -o /dev/null "$U/healthz" && break; sleep 0.1; done

DOMAIN_URL="$U/api/v1/lookup/domain/$DOMAIN"
PIVOT_URL="$U/api/v1/pivot?seed=$DOMAIN&depth=2"
ADDR=$(curl -s "$DOMAIN_URL" | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["rdata"])')
IP_URL="$U/api/v1/lookup/ip/$ADDR"
SIZE=$(curl -s "$DOMAIN_URL" | wc -c)
"$FIXED" "$FPORT" "$SIZE" "$THREADS" &
FIX=$!
sleep 0.3

run() { # run NAME URL
	local out
	out=$(wrk -t2 -c"$CONNS" -d"$DUR" --latency "$2" 2>&1)
	local rps p99 errs
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	errs=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
	printf '%-16s %12s req/s   p99 %-10s %s\n' "$1" "$rps" "$p99" "$errs"
	echo "$rps" >"/tmp/bench-http.$1.$$"
}
echo "wrk -t2 -c$CONNS -d$DUR; server threads $THREADS; domain body $SIZE bytes, ip body $(curl -s "$IP_URL" | wc -c) bytes"
run fixed-body "http://127.0.0.1:$FPORT/"
run domain-lookup "$DOMAIN_URL"
run ip-lookup "$IP_URL"
if [ "$(curl -s -o /dev/null -w '%{http_code}' "$PIVOT_URL")" = 200 ]; then
	run pivot-depth2 "$PIVOT_URL"
else
	echo "pivot-depth2     (no pivot engine in this build)"
fi
python3 - "/tmp/bench-http.domain-lookup.$$" "/tmp/bench-http.fixed-body.$$" <<'PY'
import sys
d = float(open(sys.argv[1]).read()); f = float(open(sys.argv[2]).read())
print("domain lookup / fixed body = %.2f (target >= 0.60)" % (d / f))
PY
rm -f /tmp/bench-http.*.$$
