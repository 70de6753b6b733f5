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
# fixtures' dns and ssl logs are compared the same way.  Retention
# (--client-days 30) over three ingests: the same pairs dropped and kept
# (lookups, beacons, pivots and the HTTP routes), the dropped rows deleted
# on the cluster, and a dropped pair's row put back left out.  Then server
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

# --- retention (--client-days 30): pairs last seen more than 30 days
# before the newest contact are dropped, at most once per day of data; a
# pair written after a run stays, however old, until the next one.  EVE
# flows and DNS queries of one sensor in three ingests; after each, the
# answers of both stores (lookups, beacons, pivots, HTTP) and what the
# ingest said it dropped must be the same.
flow() { # SRC DEST TIME
	printf '{"timestamp":"%s","event_type":"flow","src_ip":"%s","dest_ip":"%s","flow":{"bytes_toserver":100,"bytes_toclient":1000,"start":"%s"}}\n' "$3" "$1" "$2" "$3"
}
dnsq() { # SRC NAME TIME
	printf '{"timestamp":"%s","event_type":"dns","src_ip":"%s","src_port":5353,"dest_ip":"192.0.2.53","dest_port":53,"proto":"UDP","dns":{"type":"query","id":1,"rrname":"%s","rrtype":"A"}}\n' "$3" "$1" "$2"
}
# 1: newest 12-20, cutoff 11-20: the 11-01 pairs go (198.51.100.10 by
# .9, old.example.com), the rest stay (198.51.100.10 by .7 seen 11-25,
# .11 seen again 12-20)
{
	flow 10.2.0.9 198.51.100.10 2023-11-01T00:00:00+0000
	flow 10.2.0.9 198.51.100.11 2023-11-01T00:00:00+0000
	flow 10.2.0.9 198.51.100.11 2023-12-20T00:00:00+0000
	flow 10.2.0.7 198.51.100.10 2023-11-25T00:00:00+0000
	dnsq 10.2.0.9 old.example.com 2023-11-01T00:00:00+0000
	dnsq 10.2.0.9 recent.example.com 2023-12-19T00:00:00+0000
} >"$WORK/ret1.json"
# 2: an old contact replayed (a new pair, kept) and half a day more: no run
{
	flow 10.2.0.9 198.51.100.10 2023-11-02T00:00:00+0000
	flow 10.2.0.8 198.51.100.12 2023-12-20T12:00:00+0000
} >"$WORK/ret2.json"
# 3: two days on (cutoff 11-22): the replayed pair goes, .7's stays
flow 10.2.0.8 198.51.100.12 2023-12-22T00:00:00+0000 >"$WORK/ret3.json"
RNOW=1703300000
url4=$(db_url estret)
CRED=$(cat "$CL/credentials")
chq() { # QUERY [SETTINGS]: the answer of the store's entry node
	local hp=${url4#clickhouse://}
	curl -sS --fail-with-body -u "$CRED" --data-binary "$1" "http://${hp%%/*}/?database=${hp#*/}${2:-}"
}
# http_both: the HTTP routes of both stores into OUT.lm and OUT.ch
http_both() { # OUT
	local st out=$1 port pid sfx d u
	for st in "lmdb:$WORK/estret" "$url4"; do
		sfx=ch
		[ "${st#lmdb:}" != "$st" ] && sfx=lm
		port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
		INFRAPIVOT_CONTROL=$WORK/ctl-estret "$IP" serve --store "$st" --listen "127.0.0.1:$port" \
			--threads 2 2>>"$WORK/estret.serve.log" &
		pid=$!
		until curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; do
			kill -0 "$pid" 2>/dev/null || fail "serve $st did not start"
			sleep 0.1
		done
		for d in clients/ip/198.51.100.10 clients/ip/198.51.100.11 clients/ip/198.51.100.12 \
			clients/domain/old.example.com clients/domain/recent.example.com \
			"beacons?min_score=0&include_internal=true"; do
			case $d in
			*\?*) u="$d&now=$RNOW" ;;
			*) u="$d?now=$RNOW" ;;
			esac
			curl -sS -w '\n## exit 0: HTTP %{http_code} GET '"$u"'\n' \
				"http://127.0.0.1:$port/api/v1/$u" >>"$out.$sfx"
		done
		kill "$pid"
		wait "$pid" || true
	done
}
for part in 1 2 3; do
	ingest_both estret "$url4" --sensor ret --client-days 30 "$WORK/ret$part.json"
	a=$(grep 'not seen for' "$WORK/estret.ch.err" || true)
	b=$(grep 'not seen for' "$WORK/estret.lm.err" || true)
	[ "$a" = "$b" ] || fail "retention $part: the cluster said '$a', LMDB '$b'"
	echo "test_ch_cluster_estate: retention $part: '${b:-nothing dropped}' on both"
	out=$WORK/estret.$part
	rm -f "$out".*
	for d in "ip 198.51.100.10" "ip 198.51.100.11" "ip 198.51.100.12" "domain old.example.com" \
		"domain recent.example.com"; do
		# shellcheck disable=SC2086
		run estret "$url4" "$out" lookup $d --clients --now "@$RNOW"
		# shellcheck disable=SC2086
		run estret "$url4" "$out" lookup $d --clients --now "@$RNOW" --format table
	done
	run estret "$url4" "$out" beacons --now "@$RNOW" --include-internal --min-score 0 --format json
	run estret "$url4" "$out" pivot 198.51.100.10 --now "@$RNOW" --max-ms 600000
	run estret "$url4" "$out" pivot recent.example.com --now "@$RNOW" --max-ms 600000 --format dot
	compare "retention $part" "$out"
	http_both "$out.http"
	compare "retention $part over HTTP" "$out.http"
	cp "$out.lm" "$WORK/estret.last"
done
[ "$(grep -c '10.2.0.9' "$WORK/estret.1.lm")" -gt 0 ] || fail "retention: no pair of 10.2.0.9"
clients_of() { # OUT DEST: the clients lookup --clients listed for DEST (JSON)
	python3 - "$@" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
for block in text.split("## exit")[:-1]:
    block = block[block.find("{"):] if "{" in block else ""
    try:
        j = json.loads(block)
    except ValueError:
        continue
    if j.get("destination") == sys.argv[2]:
        print(" ".join(c["client"] for c in j["clients"]))
        break
PY
}
got=$(clients_of "$WORK/estret.1.lm" 198.51.100.10; clients_of "$WORK/estret.1.lm" old.example.com
	clients_of "$WORK/estret.2.lm" 198.51.100.10; clients_of "$WORK/estret.3.lm" 198.51.100.10)
[ "$got" = "$(printf '10.2.0.7\n10.2.0.7 10.2.0.9\n10.2.0.7')" ] ||
	fail "retention: the pairs kept are not the expected ones: $got"
grep -q 'not seen for 30 days dropped' "$WORK/estret.lm.err" || fail "retention 3: nothing dropped"
# the dropped pairs' rows are deleted on every shard (the mutations run in
# the background: polled, not timed)
gone() { [ "$(chq "SELECT count() FROM client WHERE dtype != 0 AND last_seen < toUInt32(toDateTime('2023-11-22 00:00:00', 'UTC'))")" = 0 ]; }
end=$(($(date +%s) + 120))
until gone; do
	[ "$(date +%s)" -lt "$end" ] || fail "retention: the dropped rows are still on the cluster"
	sleep 0.2
done
echo "test_ch_cluster_estate: retention: the dropped pairs' rows deleted on the cluster"
# answers do not wait for the deletion: a row of a dropped pair as the
# first ingest wrote it (version 1, last seen 11-01), put back as if its
# shard had not run the mutation yet, is left out all the same
ghost=$(python3 -c 'import struct; t = 1698796800
print((b"\x01" + struct.pack("<II", t, t) + b"\x01\x00\x00" + bytes([1, 0, 0]) + bytes(3)).hex())')
chq "INSERT INTO client (blk, pk, dtype, dest, client, sensor, src, ver, first_seen, last_seen, cnt, state)
	SELECT 1, 0, 2, '00000000000000000000ffffc633640a', toFixedString(unhex('00000000000000000000ffff0a020009'), 16),
	'ret', 5, 1, 1698796800, 1698796800, 1, unhex('$ghost')" "&insert_distributed_sync=1"
[ "$(chq "SELECT count() FROM client WHERE dest = '00000000000000000000ffffc633640a' AND sensor = 'ret' AND last_seen = 1698796800")" = 1 ] ||
	fail "retention: the old row was not put back"
out=$WORK/estret.ghost
rm -f "$out".*
run estret "$url4" "$out" lookup ip 198.51.100.10 --clients --now "@$RNOW"
run estret "$url4" "$out" beacons --now "@$RNOW" --include-internal --min-score 0 --format json
run estret "$url4" "$out" pivot 198.51.100.10 --now "@$RNOW" --max-ms 600000
compare "retention, a dropped pair's row not deleted yet" "$out"

# --- the Zeek fixtures' DNS and TLS logs (clients of names and addresses)
url2=$(db_url estfx)
# (they span years: --client-days keeps both stores from dropping old
# pairs, which would leave little to compare)
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
