#!/usr/bin/env bash
# test_ch_cluster_cli.sh INFRAPIVOT CLUSTER_DIR WORK - the CLI on a real
# cluster (run by test_ch_cluster.sh once the cluster is up): the same
# inputs ingested into lmdb:DIR and into clickhouse://... must give the same
# `lookup` output, byte for byte, for names, *.zone wildcards, addresses and
# CIDRs with and without fences and types (with the certificates seen on
# them), certificates by hash (SHA-1 and SHA-256, with and without a fence),
# by key and by subject, and `stats`; and `migrate` must copy an LMDB store so that its
# lookups of resolutions are the same again, and a repeat of a copy whose
# checkpoint was lost is dropped by the cluster (block tokens), not counted
# twice (these comparisons leave the certificate lines out, as when migrate
# copied resolutions only; test_ch_cluster_migrate.sh compares everything it
# copies now).
#
# Certificates come from Zeek's ssl and x509 logs and Suricata's TLS events
# (sightings, metadata, SNI) and, alone in a store of their own, two PEM
# certificates (DER: keys); then both mixed, where a certificate first
# known by its SHA-256 and later with both hashes is joined under its SHA-1
# on LMDB: its lookups by hash are compared there (docs/scale-out.md).
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
. "$ROOT/tests/store/ch_cli_lib.sh"

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
compare_stats "fixtures, ingest" "$WORK/clifx" "$url1" "$WORK/ctl-clifx"
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
compare_stats "PEM certificates" "$WORK/clipem" "$url0" "$WORK/ctl-clipem"

# --- the fixtures and the PEMs mixed: Zeek's ssl.log names the leaf of
# tls-conn-with-extensions by its SHA-256 alone, the PEM by both hashes, so
# LMDB joins the first under the SHA-1 (cert.c, cert_join); the cluster
# resolves the SHA-256 when it reads by certificate (ch_where_cert) and
# names it by the SHA-1 in every listing (cert_alias).  Compared: every
# lookup of the fixtures' queries (addresses with their certificates,
# names), each certificate by each hash, key and subject, with and without
# a fence, stats, and pivots from the joined certificate's hashes and
# addresses (docs/scale-out.md, "The SHA-256 -> SHA-1 join").
url5=$(ingest_both clijoin "${FIXTURES[@]}" "${PEMS[@]}")
sort -u "$WORK/h1" "$WORK/h0" >"$WORK/h5"
{
	queries "$WORK/clijoin" 400
	cert_queries "$WORK/clijoin" "$WORK/h5"
} >"$WORK/q5"
run_queries "lmdb:$WORK/clijoin" "" "$WORK/q5" "$WORK/r5.lm"
run_queries "$url5" "$WORK/ctl-clijoin" "$WORK/q5" "$WORK/r5.ch"
# the case is there: the ssl.log's SHA-256 answers the SHA-1 and its sighting
grep -A2 "^## cert a580247a25324adf4add5af648de4ac5798030dfd622f26a5f2280d7528ae244$" "$WORK/r5.lm" |
	grep -q '"cert_sha1":"82437e7830614e2500679d121590d25381de1dac"' ||
	fail "the mixed inputs did not join the SHA-256 on LMDB"
grep -q '"type":"cert_sighting"' "$WORK/r5.lm" || fail "no sighting in the mixed lookups"
compare "fixtures and PEMs mixed, every lookup (the SHA-256 -> SHA-1 join)" \
	"$WORK/r5.lm" "$WORK/r5.ch"
compare_stats "fixtures and PEMs mixed" "$WORK/clijoin" "$url5" "$WORK/ctl-clijoin"
# pivots from the joined certificate (both hashes) and the addresses it
# was seen on
{
	echo 82437e7830614e2500679d121590d25381de1dac
	echo a580247a25324adf4add5af648de4ac5798030dfd622f26a5f2280d7528ae244
	"$IP" lookup cert 82437e7830614e2500679d121590d25381de1dac --db "$WORK/clijoin" 2>/dev/null |
		python3 -c 'import json,sys; [print(o["ip"]) for o in map(json.loads, sys.stdin) if "ip" in o]'
} | awk '!seen[$0]++' >"$WORK/s5"
[ "$(wc -l <"$WORK/s5")" -gt 2 ] || fail "the joined certificate was seen on no address"
run_pivots "lmdb:$WORK/clijoin" "" "$WORK/s5" "$WORK/p5.lm"
run_pivots "$url5" "$WORK/ctl-clijoin" "$WORK/s5" "$WORK/p5.ch"
if ! cmp -s "$WORK/p5.lm" "$WORK/p5.ch"; then
	diff "$WORK/p5.lm" "$WORK/p5.ch" | head -20 >&2
	fail "pivots on the mixed inputs differ"
fi

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
echo "test_ch_cluster_cli: pivots: $np pivots (JSON, DOT, STIX, table, CSV, MISP), $(wc -c <"$WORK/p1.lm") bytes identical, $nn JSON nodes beyond the seeds"

# --- generated data with several sensors a record
python3 "$ROOT/scripts/gen-dataset" --lines 3000 --seed 11 --format cof >"$WORK/gen.cof"
url2=$(ingest_both cligen "${FIXTURES[@]}" "$WORK/gen.cof")
queries "$WORK/cligen" 40 >"$WORK/q2"
run_queries "lmdb:$WORK/cligen" "" "$WORK/q2" "$WORK/r2.lm"
run_queries "$url2" "$WORK/ctl-cligen" "$WORK/q2" "$WORK/r2.ch"
compare "fixtures and 3000 generated lines, ingest" "$WORK/r2.lm" "$WORK/r2.ch" sorted
compare_stats "fixtures and 3000 generated lines, ingest" "$WORK/cligen" "$url2" "$WORK/ctl-cligen"

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
