#!/usr/bin/env bash
# test_ch_cluster_estate.sh INFRAPIVOT CLUSTER_DIR WORK - the estate's client
# sightings on a real cluster (run by test_ch_cluster.sh once the cluster is
# up): the same sensor logs ingested into lmdb:DIR and into clickhouse://...
# must give the same `beacons` (JSON and table, with --org and
# --include-internal), `lookup domain|ip X --clients` (JSON and table) and
# pivots with their nodes' estate member (JSON, DOT, table), byte for byte.
#
# scripts/gen-estate's sensors are ingested in small batches (--batch), so
# that most pairs are merged across many writes (the gap from one batch's
# last contact to the next one's first), then one sensor's conn.log is
# replayed (every contact out of order: counted, no gap).  The Zeek
# fixtures' dns and ssl logs are compared the same way.  Then server
# fingerprints: generated EVE TLS events with JA3S hashes (and resolutions
# of their SNI names), ingested in two halves, compared by `lookup ja3s`
# (JSON, table, a fence) and pivots over fingerprint edges (--edges all).
set -euo pipefail
IP=$1
CL=$2
WORK=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FX=$ROOT/tests/fixtures
export INFRAPIVOT_CH_CREDENTIALS=$CL/credentials
unset INFRAPIVOT_DB INFRAPIVOT_CH_USER INFRAPIVOT_CH_PASSWORD
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$ROOT/tests/store/ch_stats_lib.sh"
db_url() { CLUSTER_DB=${1}_$$ "$ROOT/scripts/cluster.sh" start "$CL" | tail -n 1; }

# ingest_both NAME URL ARGS...: the same ingest into both stores, exit 0
ingest_both() {
	local name=$1 url=$2
	shift 2
	INFRAPIVOT_CONTROL=$WORK/ctl-$name "$IP" ingest -q --no-progress --store "$url" "$@" \
		2>"$WORK/$name.ch.err" || { cat "$WORK/$name.ch.err" >&2; fail "ingest into $url"; }
	"$IP" ingest -q --no-progress --store "lmdb:$WORK/$name" "$@" 2>"$WORK/$name.lm.err" ||
		{ cat "$WORK/$name.lm.err" >&2; fail "ingest into LMDB"; }
	local a b
	# (none with --no-clients)
	a=$(grep -o '[0-9]* client sightings ([0-9]* new client pairs)' "$WORK/$name.ch.err" || true)
	b=$(grep -o '[0-9]* client sightings ([0-9]* new client pairs)' "$WORK/$name.lm.err" || true)
	[ "$a" = "$b" ] || fail "$name: client sightings counted '$a' and '$b'"
	if grep -q "not supported on the ClickHouse store" "$WORK/$name.ch.err"; then
		fail "$name: not recorded on the cluster"
	fi
}

# run NAME URL OUT ARGS...: one command on both stores, its stdout (and
# its exit status) into OUT.lm and OUT.ch
run() {
	local name=$1 url=$2 out=$3 rc
	shift 3
	rc=0
	"$IP" "$@" --store "lmdb:$WORK/$name" >>"$out.lm" 2>/dev/null || rc=$?
	echo "## exit $rc: $*" >>"$out.lm"
	rc=0
	INFRAPIVOT_CONTROL=$WORK/ctl-$name "$IP" "$@" --store "$url" >>"$out.ch" 2>/dev/null || rc=$?
	echo "## exit $rc: $*" >>"$out.ch"
}

compare() { # WHAT OUT
	if ! cmp -s "$2.lm" "$2.ch"; then
		diff "$2.lm" "$2.ch" | head -20 >&2
		fail "$1: the stores differ"
	fi
	local n ok
	n=$(grep -c '^## exit' "$2.lm")
	ok=$(grep -c '^## exit 0' "$2.lm")
	[ "$ok" -gt 0 ] || fail "$1: every command failed"
	echo "test_ch_cluster_estate: $1: $n commands ($ok answered), $(wc -c <"$2.lm") bytes identical"
}

# destinations `beacons --include-internal` lists, one a line: KIND VALUE;
# the first 40 (the best scores) and 80 more spread over the rest
dests() { # BEACONS_JSON
	python3 -c '
import json, sys
ds = json.load(open(sys.argv[1]))
ds = ds[:40] + ds[40::max(1, (len(ds) - 40) // 80)]
for d in ds:
    print(d["type"], d["destination"])' "$1"
}

# the destinations of Zeek dns and ssl logs (query; server_name, else
# id.resp_h), one a line: KIND VALUE
log_dests() { # LOGS...
	python3 -c '
import sys
out = set()
for path in sys.argv[1:]:
    cols = []
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if line.startswith("#fields"):
            cols = f[1:]
            continue
        if line.startswith("#") or not cols:
            continue
        row = dict(zip(cols, f))
        q, sni, resp = row.get("query", "-"), row.get("server_name", "-"), row.get("id.resp_h", "-")
        if q not in ("-", ""):
            out.add("domain " + q)
        elif sni not in ("-", "", "(empty)"):
            out.add("domain " + sni)
        elif "server_name" in row:
            out.add("ip " + resp)
print("\n".join(sorted(out)))' "$@"
}

# the comparisons over one store pair (EXTRA: more destinations, KIND VALUE)
compare_estate() { # NAME URL NOW LABEL [EXTRA]
	local name=$1 url=$2 now=$3 out=$WORK/$1.$4
	rm -f "$out".*
	run "$name" "$url" "$out" beacons --now "$now" --min-score 0 --limit 200 --format json
	run "$name" "$url" "$out" beacons --now "$now" --format table
	run "$name" "$url" "$out" beacons --now "$now" --org acme --format json
	run "$name" "$url" "$out" beacons --now "$now" --include-internal --min-score 0 --limit 2000 \
		--format json
	"$IP" beacons --store "lmdb:$WORK/$name" --now "$now" --include-internal --min-score 0 \
		--limit 2000 --format json >"$WORK/$name.all"
	local kind value n=0
	while read -r kind value; do
		run "$name" "$url" "$out" lookup "$kind" "$value" --clients --now "$now"
		if [ $((n % 5)) -eq 0 ]; then
			run "$name" "$url" "$out" lookup "$kind" "$value" --clients --now "$now" --format table
			run "$name" "$url" "$out" lookup "$kind" "$value" --clients --now "$now" \
				--since "@$((now - 86400))"
			run "$name" "$url" "$out" pivot "$value" --now "$now" --max-ms 600000
		fi
		if [ $((n % 25)) -eq 0 ]; then
			run "$name" "$url" "$out" pivot "$value" --now "$now" --max-ms 600000 --format dot
			run "$name" "$url" "$out" pivot "$value" --now "$now" --max-ms 600000 --format table
		fi
		n=$((n + 1))
	done < <(dests "$WORK/$name.all"; cat "${5:-/dev/null}")
	[ "$n" -gt 0 ] || fail "$name: no destinations"
	run "$name" "$url" "$out" lookup ip 10.99.99.99 --clients
	compare "$name, $4 ($n destinations)" "$out"
}

# --- gen-estate: 3 days of five sensors in four organisations
python3 "$ROOT/scripts/gen-estate" "$WORK/est" --seed 7 --hosts 20 --days 3 >/dev/null
NOW=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['now'])" "$WORK/est/truth.json")
url=$(db_url est)
for d in "$WORK"/est/*/; do
	s=$(basename "$d")
	ingest_both est "$url" --sensor "$s" --batch 3000 "$d"dns.log "$d"ssl.log "$d"conn.log
done
python3 -c "import json,sys; [print(s, o) for s, o in json.load(open(sys.argv[1]))['sensors'].items()]" \
	"$WORK/est/truth.json" | while read -r s o; do
	"$IP" sensor set "$s" --org "$o" --db "$WORK/est"
	INFRAPIVOT_CONTROL=$WORK/ctl-est "$IP" sensor set "$s" --org "$o" --store "$url"
done
compare_estate est "$url" "$NOW" ingest
compare_stats "gen-estate" "$WORK/est" "$url" "$WORK/ctl-est"
grep -q '"hosts": 6' "$WORK/est.ingest.lm" || fail "gen-estate: the planted beacon's 6 hosts not seen"
# a replay: every contact of acme-s1's conn.log again, older than the last
ingest_both est "$url" --sensor acme-s1 --batch 3000 "$WORK/est/acme-s1/conn.log"
compare_estate est "$url" "$NOW" replay

# --- the Zeek fixtures' DNS and TLS logs (clients of names and addresses)
url2=$(db_url estfx)
# (they span years: --client-days keeps LMDB from dropping old pairs, which
# the cluster does not do yet, docs/estate.md)
ingest_both estfx "$url2" --sensor fx --client-days 36500 "$FX"/zeek/logs-ts/*__dns.log \
	"$FX"/zeek/logs-ts/*__ssl.log
# their few contacts score under beacons' floor: every destination of the
# logs is looked up too
log_dests "$FX"/zeek/logs-ts/*__dns.log "$FX"/zeek/logs-ts/*__ssl.log >"$WORK/fx.dests"
[ "$(wc -l <"$WORK/fx.dests")" -gt 5 ] || fail "fixtures: no destinations in the logs"
compare_estate estfx "$url2" 1700000000 fixtures "$WORK/fx.dests"
# --- server fingerprints: 300 TLS events, 5 JA3S hashes on 30 addresses
python3 - "$WORK/fp" <<'EOF'
import json, random, sys
r = random.Random(5)
hashes = ["%032x" % r.getrandbits(128) for _ in range(5)]
tls, dns = [], []
for i in range(300):
    ip = "198.51.100.%d" % r.randint(1, 30)
    name = "h%d.example.org" % r.randint(1, 12)
    ts = "2026-10-%02dT%02d:%02d:00Z" % (r.randint(1, 28), r.randint(0, 23), r.randint(0, 59))
    tls.append({"timestamp": ts, "event_type": "tls", "src_ip": "10.0.0.%d" % r.randint(1, 9),
                "src_port": 40000 + i, "dest_ip": ip, "dest_port": r.choice([443, 8443]), "proto": "TCP",
                "tls": {"sni": name, "ja3s": {"hash": r.choice(hashes), "string": "771,49199,65281"}}})
    dns.append({"rrname": name, "rrtype": "A", "rdata": ip, "time_first": 1790000000 + i,
                "time_last": 1790000000 + i * 7, "count": 1 + i % 3})
for part in (0, 1):
    with open("%s%d.json" % (sys.argv[1], part), "w") as f:
        for e in tls[part::2]:
            f.write(json.dumps(e) + "\n")
with open(sys.argv[1] + ".cof", "w") as f:
    for d in dns:
        f.write(json.dumps(d) + "\n")
with open(sys.argv[1] + ".hashes", "w") as f:
    f.write("\n".join(hashes) + "\n")
EOF
url3=$(db_url estfp)
ingest_both estfp "$url3" --no-clients "$WORK/fp.cof" "$WORK/fp0.json"
ingest_both estfp "$url3" --no-clients "$WORK/fp1.json"
out=$WORK/estfp.fp
rm -f "$out".*
while read -r h; do
	run estfp "$url3" "$out" lookup ja3s "$h" --limit 0
	run estfp "$url3" "$out" lookup ja3s "$h" --limit 0 --format table
	run estfp "$url3" "$out" lookup ja3s "$h" --limit 0 --since 2026-10-15
	run estfp "$url3" "$out" pivot "$h" --type ja3s --edges all --now @1800000000 --max-ms 600000
done <"$WORK/fp.hashes"
for ip in 198.51.100.1 198.51.100.7 198.51.100.20; do
	run estfp "$url3" "$out" pivot "$ip" --edges all --now @1800000000 --max-ms 600000
	run estfp "$url3" "$out" pivot "$ip" --edges all --now @1800000000 --max-ms 600000 --format dot
done
run estfp "$url3" "$out" pivot h3.example.org --edges all --depth 3 --now @1800000000 --max-ms 600000
grep -q 'ja3s' "$out.lm" || fail "fingerprints: no ja3s in the answers"
compare "fingerprints" "$out"
echo "test_ch_cluster_estate: ok"
