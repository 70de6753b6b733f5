#!/usr/bin/env bash
# test_ch_cluster_cli.sh INFRAPIVOT CLUSTER_DIR WORK - the CLI on a real
# cluster (run by test_ch_cluster.sh once the cluster is up): the same
# inputs ingested into lmdb:DIR and into clickhouse://... must give the same
# `lookup` output, byte for byte, for names, *.zone wildcards, addresses and
# CIDRs with and without fences and types (with the certificates seen on
# them), certificates by hash (SHA-1 and SHA-256, with and without a fence),
# by key and by subject; and `migrate` must copy an LMDB store so that its
# lookups of resolutions are the same again, and a repeat of a copy whose
# checkpoint was lost is dropped by the cluster (block tokens), not counted
# twice (migrate copies resolutions only: those comparisons leave the
# certificate lines out).
#
# Certificates come from Zeek's ssl and x509 logs and Suricata's TLS events
# (sightings, metadata, SNI) and, alone in a store of their own, two PEM
# certificates (DER: keys).  Not mixed: a certificate first known by its
# SHA-256 and later with both hashes is joined under its SHA-1 on LMDB and
# not yet on the cluster (docs/scale-out.md, Status).
# The one known difference besides: a record seen by several sensors lists them
# sorted on ClickHouse and in the order met on LMDB (docs/scale-out.md).  The
# fixtures have one sensor a record and are compared raw; the generated
# data, with several, compares with "sensors" sorted and "sensor_id" its
# first.
set -euo pipefail
IP=$1
CL=$2
WORK=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FX=$ROOT/tests/fixtures
export INFRAPIVOT_CH_CREDENTIALS=$CL/credentials
unset INFRAPIVOT_DB INFRAPIVOT_CH_USER INFRAPIVOT_CH_PASSWORD
fail() { echo "FAIL: $*" >&2; exit 1; }

# a new database of the cluster for each (the process id keeps a second
# run on the same cluster from finding the first one's rows)
db_url() { CLUSTER_DB=${1}_$$ "$ROOT/scripts/cluster.sh" start "$CL" | tail -n 1; }

# ingest FILES into an LMDB directory and a new cluster database; both
# must accept the same lines (exit 0, or 1 for rejects or, on the cluster,
# the client sightings of TLS logs)
ingest_both() { # NAME FILES...
	local name=$1
	shift
	local url
	url=$(db_url "$name")
	local rc=0
	INFRAPIVOT_CONTROL=$WORK/ctl-$name "$IP" ingest -q --no-progress --store "$url" "$@" \
		2>"$WORK/$name.ch.err" || rc=$?
	[ "$rc" -le 1 ] || { cat "$WORK/$name.ch.err" >&2; fail "ingest into $url: exit $rc"; }
	rc=0
	"$IP" ingest -q --no-progress --store "lmdb:$WORK/$name" "$@" 2>"$WORK/$name.lm.err" || rc=$?
	[ "$rc" -le 1 ] || { cat "$WORK/$name.lm.err" >&2; fail "ingest into LMDB: exit $rc"; }
	# the same lines read, accepted and rejected
	[ "$(grep -o '[0-9]* lines read, [0-9]* accepted, [0-9]* rejected' "$WORK/$name.ch.err")" = \
		"$(grep -o '[0-9]* lines read, [0-9]* accepted, [0-9]* rejected' "$WORK/$name.lm.err")" ] ||
		fail "$name: the two ingests read differently"
	echo "$url"
}

# The queries: every name (A/AAAA owners and everything under each TLD and
# zone seen), each zone as *.zone, each address alone and its /24 or /48,
# /16, the whole of both families; some with a fence or a type.  One query
# a line: KIND VALUE [OPTIONS].
queries() { # LMDB_DIR MAX_NAMES
	"$IP" lookup ip 0.0.0.0/0 --db "$1" --limit 0 2>/dev/null >"$WORK/q.all" || true
	"$IP" lookup ip ::/0 --db "$1" --limit 0 2>/dev/null >>"$WORK/q.all" || true
	python3 - "$WORK/q.all" "$2" "$IP" "$1" <<'EOF'
import json, subprocess, sys
path, maxn, ip, db = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = [json.loads(l) for l in open(path) if l.strip()]
rows = [r for r in rows if "rrname" in r]
tlds = sorted({r["rrname"].rsplit(".", 1)[-1] for r in rows} | {"com", "net", "org", "lu", "edu"})
names, zones = set(), set()
for t in tlds:
    out = subprocess.run([ip, "lookup", "domain", "*." + t, "--db", db, "--limit", "0"],
                         capture_output=True, text=True).stdout
    for l in out.splitlines():
        n = json.loads(l)["rrname"]
        names.add(n)
        labels = n.split(".")
        for i in range(1, len(labels) - 1):
            zones.add(".".join(labels[i:]))
names, zones = sorted(names), sorted(zones)
step = max(1, len(names) // maxn)
times = sorted(r["time_first"] for r in rows) or [0]
mid = times[len(times) // 2]
q = []
for i, n in enumerate(names[::step]):
    q.append("domain %s" % n)
    if i % 5 == 0:
        q.append("domain %s --since @%d" % (n, mid))
        q.append("domain %s --rrtype A" % n)
for i, z in enumerate(zones[:: max(1, len(zones) // maxn)]):
    q.append("domain *.%s" % z)
    if i % 4 == 0:
        q.append("domain *.%s --until @%d --rrtype CNAME" % (z, mid))
for t in tlds:
    q.append("domain *.%s" % t)
addrs = sorted({r["rdata"] for r in rows})
for i, a in enumerate(addrs[:: max(1, len(addrs) // maxn)]):
    q.append("ip %s" % a)
    if ":" in a:
        q.append("ip %s/48" % a)
    else:
        q.append("ip %s/24" % a)
        if i % 3 == 0:
            q.append("ip %s/16 --first-after @%d" % (a, mid))
q += ["ip 0.0.0.0/0", "ip ::/0", "ip 0.0.0.0/0 --last-before @%d" % mid]
print("\n".join(q))
EOF
}

# The SHA-1s and SHA-256s input files name (Zeek's hex, Suricata's
# colon-separated), one a line.
hashes_in() { # FILES...
	grep -ohE '\b[0-9a-f]{40}\b|\b[0-9a-f]{64}\b|\b([0-9a-f]{2}:){19}[0-9a-f]{2}\b' "$@" |
		tr -d : | sort -u
}

# The certificate queries: each hash of HASHES, and again with a fence
# when it has sightings; the subject and key of each certificate the LMDB
# store knows.  Fields separated by tabs (a subject has spaces).
cert_queries() { # LMDB_DIR HASHES
	python3 - "$2" "$IP" "$1" <<'EOF'
import json, subprocess, sys
path, ip, db = sys.argv[1:]
q, subjects, keys = [], set(), set()
for h in open(path).read().split():
    q.append("cert\t%s" % h)
    out = subprocess.run([ip, "lookup", "cert", h, "--db", db, "--limit", "0"],
                         capture_output=True, text=True).stdout
    last = []
    for l in out.splitlines():
        o = json.loads(l)
        if o.get("type") == "certificate":
            if o.get("subject"):
                subjects.add(o["subject"])
            if o.get("key_sha256"):
                keys.add(o["key_sha256"])
        if o.get("type") == "cert_sighting":
            last.append(o["time_last"])
    if last:
        q.append("cert\t%s\t--since\t@%d" % (h, max(last)))
q += ["subject\t%s" % s for s in sorted(subjects)]
q += ["key\t%s" % k for k in sorted(keys)]
print("\n".join(q))
EOF
}

# Run the queries (fields split at tabs when a line has one, else at
# spaces) on a store; their stdout one after another, each preceded by the
# query, into OUT.  With resolutions_only, certificate lines are left out.
run_queries() { # STORE CONTROL QUERIES OUT [resolutions_only]
	local line q keep='^'
	[ "${5:-}" != resolutions_only ] || keep='^{"rrname"'
	: >"$4"
	while IFS= read -r line; do
		if [[ $line == *$'\t'* ]]; then
			IFS=$'\t' read -r -a q <<<"$line"
		else
			read -r -a q <<<"$line"
		fi
		echo "## ${q[*]}" >>"$4"
		INFRAPIVOT_CONTROL=$2 "$IP" lookup "${q[@]}" --limit 0 --store "$1" \
			>"$WORK/one" 2>/dev/null || fail "lookup ${q[*]} on $1 failed"
		grep "$keep" "$WORK/one" >>"$4" || true
	done <"$3"
}

sorted_sensors() { # FILE: "sensors" sorted, "sensor_id" its first
	python3 -c '
import json, sys
for l in open(sys.argv[1]):
    if l.startswith("## "):
        print(l, end=""); continue
    o = json.loads(l)
    if "sensors" in o:
        o["sensors"] = sorted(o["sensors"])
    if "sensor_id" in o:
        o["sensor_id"] = o["sensors"][0]
    print(json.dumps(o))' "$1"
}

compare() { # WHAT A B [sorted]
	local a=$2 b=$3
	if [ "${4:-}" = sorted ]; then
		sorted_sensors "$2" >"$2.s"
		sorted_sensors "$3" >"$3.s"
		a=$2.s b=$3.s
	fi
	if ! cmp -s "$a" "$b"; then
		diff "$a" "$b" | head -20 >&2
		fail "$1: lookups differ"
	fi
	local nq nr nc
	nq=$(grep -c '^## ' "$a")
	nr=$(grep -vc '^## ' "$a")
	nc=$(grep -c '"type": *"cert' "$a" || true)
	[ "$nr" -gt 0 ] || fail "$1: no results at all"
	echo "test_ch_cluster_cli: $1: $nq lookups, $nr result lines identical ($nc of certificates)"
}

# --- the fixtures: one sensor a record, compared raw
FIXTURES=("$FX/cof/circl-sample.ndjson" "$FX/passivedns/passivedns-sample.log"
	"$FX/zeek/logs-ts/opt.basic__dns.log" "$FX/zeek/logs-ts/scripts.base.protocols.dns.binds__dns.log"
	"$FX/zeek/logs-ts/scripts.base.protocols.dns.duplicate-reponses__dns.log"
	"$FX/suricata/eve-from-zeek-pcaps.json"
	"$FX/zeek/logs-ts/scripts.base.protocols.ssl.basic__ssl.log"
	"$FX/zeek/logs-ts/scripts.base.protocols.ssl.basic__x509.log"
	"$FX/zeek/logs-ts/scripts.base.protocols.ssl.ecdhe__ssl.log"
	"$FX/zeek/logs-ts/scripts.base.protocols.ssl.ecdhe__x509.log")
url1=$(ingest_both clifx "${FIXTURES[@]}")
queries "$WORK/clifx" 400 >"$WORK/q1"
run_queries "lmdb:$WORK/clifx" "" "$WORK/q1" "$WORK/r1.lm"
run_queries "$url1" "$WORK/ctl-clifx" "$WORK/q1" "$WORK/r1.ch"
compare "fixtures, ingest" "$WORK/r1.lm" "$WORK/r1.ch"
[ "$(grep -c '"type":"cert_sighting"' "$WORK/r1.lm")" -gt 0 ] || fail "no certificate seen on an address"
hashes_in "${FIXTURES[@]}" >"$WORK/h1"
cert_queries "$WORK/clifx" "$WORK/h1" >"$WORK/q1c"
[ "$(grep -c '^subject' "$WORK/q1c")" -gt 0 ] || fail "the fixtures gave no certificate subjects"
run_queries "lmdb:$WORK/clifx" "" "$WORK/q1c" "$WORK/r1c.lm"
run_queries "$url1" "$WORK/ctl-clifx" "$WORK/q1c" "$WORK/r1c.ch"
compare "fixtures, certificates" "$WORK/r1c.lm" "$WORK/r1c.ch"

# --- two PEM certificates alone: both hashes, the DER, keys
PEMS=("$FX/zeek/certs/ecdhe-leaf.pem" "$FX/zeek/certs/tls-conn-with-extensions-leaf.pem")
url0=$(ingest_both clipem "${PEMS[@]}")
for p in "${PEMS[@]}"; do
	openssl x509 -in "$p" -outform DER | sha1sum | cut -c1-40
	openssl x509 -in "$p" -outform DER | sha256sum | cut -c1-64
done | sort -u >"$WORK/h0"
cert_queries "$WORK/clipem" "$WORK/h0" >"$WORK/q0"
[ "$(grep -c '^key' "$WORK/q0")" -gt 0 ] || fail "the PEMs gave no keys"
run_queries "lmdb:$WORK/clipem" "" "$WORK/q0" "$WORK/r0.lm"
run_queries "$url0" "$WORK/ctl-clipem" "$WORK/q0" "$WORK/r0.ch"
compare "PEM certificates" "$WORK/r0.lm" "$WORK/r0.ch"

# --- pivots: from every address a certificate was seen on, every
# certificate hash, 20 names and 10 addresses of resolutions (JSON), and
# from the first three in every other format.  The largest time budget
# (600 s: the cluster answers slower, and a budget hit would cut the graphs
# differently) and a pinned clock (age_days).
pivot_seeds() { # LMDB_RESULTS HASHES
	python3 - "$1" "$2" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if not l.startswith("## ")]
ips = sorted({r["ip"] for r in rows if r.get("type") == "cert_sighting"})
names = sorted({r["rrname"] for r in rows if "rrname" in r})
addrs = sorted({r["rdata"] for r in rows if r.get("rrtype") in ("A", "AAAA")})
hashes = open(sys.argv[2]).read().split()
seeds = ips + hashes + names[:: max(1, len(names) // 20)][:20] + addrs[:: max(1, len(addrs) // 10)][:10]
print("\n".join(dict.fromkeys(seeds)))
EOF
}
run_pivots() { # STORE CONTROL SEEDS OUT
	local seed fmt n=0
	: >"$4"
	while read -r seed; do
		for fmt in json dot stix table csv; do
			[ "$fmt" = json ] || [ "$n" -lt 3 ] || continue
			echo "## pivot $seed --format $fmt" >>"$4"
			INFRAPIVOT_CONTROL=$2 "$IP" pivot "$seed" --store "$1" --format "$fmt" \
				--max-ms 600000 --now @1700000000 >>"$4" 2>/dev/null ||
				fail "pivot $seed on $1 failed"
		done
		n=$((n + 1))
	done <"$3"
}
pivot_seeds "$WORK/r1.lm" "$WORK/h1" >"$WORK/s1"
cat "$WORK/h0" >>"$WORK/s1"
head -n 3 "$WORK/h0" >"$WORK/s0"
run_pivots "lmdb:$WORK/clifx" "" "$WORK/s1" "$WORK/p1.lm"
run_pivots "$url1" "$WORK/ctl-clifx" "$WORK/s1" "$WORK/p1.ch"
run_pivots "lmdb:$WORK/clipem" "" "$WORK/s0" "$WORK/p0.lm"
run_pivots "$url0" "$WORK/ctl-clipem" "$WORK/s0" "$WORK/p0.ch"
cat "$WORK/p0.lm" >>"$WORK/p1.lm"
cat "$WORK/p0.ch" >>"$WORK/p1.ch"
if ! cmp -s "$WORK/p1.lm" "$WORK/p1.ch"; then
	diff "$WORK/p1.lm" "$WORK/p1.ch" | head -20 >&2
	fail "pivots differ"
fi
np=$(grep -c '^## ' "$WORK/p1.lm")
nn=$(grep -c '^      "depth": [1-9]' "$WORK/p1.lm" || true)
[ "$nn" -gt 0 ] || fail "the pivots found nothing beyond their seeds"
echo "test_ch_cluster_cli: pivots: $np pivots (JSON, DOT, STIX, table, CSV), $(wc -c <"$WORK/p1.lm") bytes identical, $nn JSON nodes beyond the seeds"

# --- generated data with several sensors a record
python3 "$ROOT/scripts/gen-dataset" --lines 3000 --seed 11 --format cof >"$WORK/gen.cof"
url2=$(ingest_both cligen "${FIXTURES[@]}" "$WORK/gen.cof")
queries "$WORK/cligen" 40 >"$WORK/q2"
run_queries "lmdb:$WORK/cligen" "" "$WORK/q2" "$WORK/r2.lm"
run_queries "$url2" "$WORK/ctl-cligen" "$WORK/q2" "$WORK/r2.ch"
compare "fixtures and 3000 generated lines, ingest" "$WORK/r2.lm" "$WORK/r2.ch" sorted

# --- migrate: the fixtures store, then the generated one
url3=$(db_url climig)
INFRAPIVOT_CONTROL=$WORK/ctl-mig "$IP" migrate --from "lmdb:$WORK/clifx" --to "$url3" 2>"$WORK/mig.err" ||
	{ cat "$WORK/mig.err" >&2; fail "migrate"; }
run_queries "lmdb:$WORK/clifx" "" "$WORK/q1" "$WORK/r1r.lm" resolutions_only
run_queries "$url3" "$WORK/ctl-mig" "$WORK/q1" "$WORK/r3.ch" resolutions_only
compare "fixtures, migrate" "$WORK/r1r.lm" "$WORK/r3.ch"
url4=$(db_url climig2)
INFRAPIVOT_CONTROL=$WORK/ctl-mig2 "$IP" migrate --from "$WORK/cligen" --to "$url4" 2>"$WORK/mig.err" ||
	{ cat "$WORK/mig.err" >&2; fail "migrate"; }
run_queries "lmdb:$WORK/cligen" "" "$WORK/q2" "$WORK/r2r.lm" resolutions_only
run_queries "$url4" "$WORK/ctl-mig2" "$WORK/q2" "$WORK/r4.ch" resolutions_only
compare "fixtures and generated, migrate" "$WORK/r2r.lm" "$WORK/r4.ch" sorted
# again: the checkpoint says done, nothing is sent
INFRAPIVOT_CONTROL=$WORK/ctl-mig2 "$IP" migrate --from "$WORK/cligen" --to "$url4" 2>"$WORK/mig.err"
grep -q "already copied" "$WORK/mig.err" || fail "a second migrate did not see the checkpoint"
# the checkpoint lost: every chunk is sent again under the same token, and
# the replicated tables drop it
INFRAPIVOT_CONTROL=$WORK/ctl-mig2-lost "$IP" migrate --from "$WORK/cligen" --to "$url4" 2>"$WORK/mig.err" ||
	{ cat "$WORK/mig.err" >&2; fail "migrate without checkpoint"; }
grep -q "rows in" "$WORK/mig.err" || fail "migrate without checkpoint sent nothing"
run_queries "$url4" "$WORK/ctl-mig2" "$WORK/q2" "$WORK/r5.ch" resolutions_only
compare "a repeated migrate, deduplicated" "$WORK/r2r.lm" "$WORK/r5.ch" sorted
echo "test_ch_cluster_cli: ok"
