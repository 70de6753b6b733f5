#!/usr/bin/env bash
# test_ch_cluster_migrate.sh INFRAPIVOT CLUSTER_DIR WORK - `migrate` of
# everything an LMDB store holds on a real cluster (run by test_ch_cluster.sh
# once the cluster is up): one LMDB store built from the fixtures (COF,
# passivedns, Zeek DNS, TLS and x509 logs, Suricata EVE, two PEM
# certificates), gen-estate's sensors and generated JA3S events is copied
# into a new database, and lookups of names, addresses, certificates (hash,
# subject, key), fingerprints and clients, `beacons`, pivots and `stats`
# must be the LMDB store's, byte for byte; again after a migrate whose
# checkpoint was lost (every chunk sent again: the cluster drops them).
# Unlike an ingest into both stores, the copy starts from LMDB's merged
# state, so a certificate LMDB joined from its SHA-256 to its SHA-1 is
# joined on the cluster too.
set -euo pipefail
IP=$1
CL=$2
WORK=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FX=$ROOT/tests/fixtures
export INFRAPIVOT_CH_CREDENTIALS=$CL/credentials
unset INFRAPIVOT_DB INFRAPIVOT_CH_USER INFRAPIVOT_CH_PASSWORD
. "$ROOT/tests/store/ch_cli_lib.sh"
mkdir -p "$WORK"
SRC=$WORK/src
# (--client-days: the inputs span years; no client pair is dropped)
ing() {
	"$IP" ingest -q --no-progress --store "lmdb:$SRC" --client-days 36500 "$@" \
		2>>"$WORK/src.err" || [ $? -le 1 ]
}

# --- the source store
FIXTURES=("$FX/cof/circl-sample.ndjson" "$FX/passivedns/passivedns-sample.log"
	"$FX"/zeek/logs-ts/*__dns.log "$FX/suricata/eve-from-zeek-pcaps.json"
	"$FX"/zeek/logs-ts/*__ssl.log "$FX"/zeek/logs-ts/*__x509.log
	"$FX/zeek/certs/ecdhe-leaf.pem" "$FX/zeek/certs/tls-conn-with-extensions-leaf.pem")
ing --sensor fx "${FIXTURES[@]}"
python3 "$ROOT/scripts/gen-estate" "$WORK/est" --seed 7 --hosts 16 --days 2 >/dev/null
NOW=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['now'])" "$WORK/est/truth.json")
for d in "$WORK"/est/*/; do
	ing --sensor "$(basename "$d")" --batch 3000 "$d"dns.log "$d"ssl.log "$d"conn.log
done
python3 - "$WORK/fp" <<'EOF'
import json, random, sys
r = random.Random(9)
hashes = ["%032x" % r.getrandbits(128) for _ in range(3)]
with open(sys.argv[1] + ".json", "w") as f:
    for i in range(60):
        f.write(json.dumps({"timestamp": "2026-10-%02dT10:%02d:00Z" % (1 + i % 28, i % 60),
                            "event_type": "tls", "src_ip": "10.0.0.%d" % (1 + i % 5), "src_port": 40000 + i,
                            "dest_ip": "198.51.100.%d" % r.randint(1, 12), "dest_port": 443, "proto": "TCP",
                            "tls": {"sni": "fp%d.example.org" % (i % 4), "ja3s": {"hash": r.choice(hashes)}}}) + "\n")
with open(sys.argv[1] + ".hashes", "w") as f:
    f.write("\n".join(hashes) + "\n")
EOF
ing --sensor fp "$WORK/fp.json"

# --- migrate into a new database
url=$(db_url mig)
INFRAPIVOT_CONTROL=$WORK/ctl-mig "$IP" migrate --from "lmdb:$SRC" --to "$url" 2>"$WORK/mig.err" ||
	{ cat "$WORK/mig.err" >&2; fail "migrate"; }
cat "$WORK/mig.err"
grep -qE "[1-9][0-9]* certificates, [1-9][0-9]* certificate sightings, [1-9][0-9]* fingerprint sightings and [1-9][0-9]* client pairs" \
	"$WORK/mig.err" || fail "migrate copied no certificate, fingerprint or client pair"

# --- the queries: names, addresses, certificates, fingerprints, clients
queries "$SRC" 20 >"$WORK/q"
{
	hashes_in "${FIXTURES[@]}"
	for p in "$FX/zeek/certs/ecdhe-leaf.pem" "$FX/zeek/certs/tls-conn-with-extensions-leaf.pem"; do
		openssl x509 -in "$p" -outform DER | sha1sum | cut -c1-40
		openssl x509 -in "$p" -outform DER | sha256sum | cut -c1-64
	done
} | sort -u >"$WORK/h"
cert_queries "$SRC" "$WORK/h" >>"$WORK/q"
sed 's/^/ja3s /' "$WORK/fp.hashes" >>"$WORK/q"
"$IP" beacons --store "lmdb:$SRC" --now "$NOW" --include-internal --min-score 0 --limit 2000 \
	--format json >"$WORK/all"
python3 -c '
import json, sys
ds = json.load(open(sys.argv[1]))
for d in ds[:30] + ds[30::max(1, (len(ds) - 30) // 30)]:
    print(d["type"], d["destination"], "--clients --now @" + sys.argv[2])' "$WORK/all" "$NOW" >>"$WORK/q"
[ "$(grep -c -- --clients "$WORK/q")" -gt 10 ] || fail "no client destinations"

check_copy() { # WHAT CONTROL QUERIES
	run_queries "lmdb:$SRC" "" "$3" "$WORK/r.lm"
	run_queries "$url" "$2" "$3" "$WORK/r.ch"
	compare "$1" "$WORK/r.lm" "$WORK/r.ch"
	local a out
	for out in lm ch; do
		: >"$WORK/b.$out"
	done
	for a in "--min-score 0 --limit 200 --format json" "--format table" "--org acme --format json"; do
		# shellcheck disable=SC2086
		"$IP" beacons --store "lmdb:$SRC" --now "$NOW" $a >>"$WORK/b.lm"
		# shellcheck disable=SC2086
		INFRAPIVOT_CONTROL=$2 "$IP" beacons --store "$url" --now "$NOW" $a >>"$WORK/b.ch"
	done
	cmp -s "$WORK/b.lm" "$WORK/b.ch" || { diff "$WORK/b.lm" "$WORK/b.ch" | head >&2; fail "$1: beacons differ"; }
	head -n 3 "$WORK/fp.hashes" | sed 's/$/ --type ja3s --edges all/' >"$WORK/s"
	grep -o '"rrname":"[^"]*"' "$WORK/r.lm" | cut -d'"' -f4 | sort -u | head -n 4 >>"$WORK/s"
	PIVOT_NOW=$NOW run_pivots "lmdb:$SRC" "" "$WORK/s" "$WORK/p.lm"
	PIVOT_NOW=$NOW run_pivots "$url" "$2" "$WORK/s" "$WORK/p.ch"
	cmp -s "$WORK/p.lm" "$WORK/p.ch" || { diff "$WORK/p.lm" "$WORK/p.ch" | head >&2; fail "$1: pivots differ"; }
	echo "test_ch_cluster_migrate: $1: beacons $(wc -c <"$WORK/b.lm") bytes, $(grep -c '^## ' "$WORK/p.lm") pivots $(wc -c <"$WORK/p.lm") bytes identical"
	compare_stats "$1" "$SRC" "$url" "$2"
}
check_copy "migrate" "$WORK/ctl-mig" "$WORK/q"
grep -q '"type":"cert_sighting"' "$WORK/r.lm" || fail "no certificate sighting compared"
grep -q '"ja3s"' "$WORK/r.lm" || fail "no fingerprint compared"
grep -q '"client"' "$WORK/r.lm" || fail "no client compared"

# --- again: the checkpoints say done; lost, every chunk is sent again
# under the same token and dropped
INFRAPIVOT_CONTROL=$WORK/ctl-mig "$IP" migrate --from "lmdb:$SRC" --to "$url" 2>"$WORK/mig.err"
grep -q "already copied" "$WORK/mig.err" || fail "a second migrate did not see the checkpoints"
INFRAPIVOT_CONTROL=$WORK/ctl-mig-lost "$IP" migrate --from "lmdb:$SRC" --to "$url" 2>"$WORK/mig.err" ||
	{ cat "$WORK/mig.err" >&2; fail "migrate without checkpoint"; }
grep -q "rows in" "$WORK/mig.err" || fail "migrate without checkpoint sent nothing"
# (one query in four: a count doubled shows in any of them)
awk 'NR % 4 == 1' "$WORK/q" >"$WORK/q4"
check_copy "a repeated migrate, deduplicated" "$WORK/ctl-mig" "$WORK/q4"
echo "test_ch_cluster_migrate: ok"
