#!/usr/bin/env bash
# test_ch_cluster.sh TEST_CH INFRAPIVOT MKSCENARIO - the ClickHouse store against a real cluster:
# scripts/cluster.sh starts 2 shards x 2 replicas and ZooKeeper on loopback
# in a temporary directory; test_ch writes the COF and passivedns fixtures
# and a generated COF file, and the certificate fixtures, to LMDB and to the
# cluster and compares lookups (tests/store/test_ch_parity.h,
# test_ch_certs.h).  Registered only with INFRAPIVOT_CLICKHOUSE=1
# (docs/scale-out.md, "Tests").  Also checks that `start` is idempotent,
# that `drop` drops the one database named, and that `stop` leaves none of
# its processes, and that `optimize` merges the parts and changes no answer.
# Then the CLI's parity
# (test_ch_cluster_cli.sh): ingest, lookup and migrate on both stores; and
# the pivot scenarios and generated shapes (test_ch_cluster_scenarios.sh):
# lookups, pivots and watchlist exports on both stores; the estate's
# client sightings (test_ch_cluster_estate.sh); `migrate` of everything
# (test_ch_cluster_migrate.sh); a database made before the view-filled
# tables, filled by `start` (test_ch_cluster_upgrade.sh).
set -euo pipefail
TEST_CH=$1
INFRAPIVOT=$2
MKSCENARIO=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/infrapivot-ch-XXXXXX")
CL=$WORK/cluster
cleanup() {
	"$ROOT/scripts/cluster.sh" stop "$CL" || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# a free base port: cluster.sh refuses one in use, so try a few
started=""
for _ in 1 2 3 4 5; do
	export CLUSTER_PORT_BASE=$((30000 + (RANDOM % 300) * 100))
	if url=$("$ROOT/scripts/cluster.sh" start "$CL" | tail -n 1); then
		started=1
		break
	fi
	"$ROOT/scripts/cluster.sh" stop "$CL" || true
done
[ -n "$started" ] || { echo "FAIL: cluster did not start" >&2; exit 1; }
case "$url" in
clickhouse://127.0.0.1:*/infrapivot) ;;
*) echo "FAIL: last line is not the store address: $url" >&2; exit 1 ;;
esac

# idempotent: a second start finds the servers running and the schema there
url2=$("$ROOT/scripts/cluster.sh" start "$CL" | tail -n 1)
[ "$url2" = "$url" ] || { echo "FAIL: second start said $url2" >&2; exit 1; }

# drop: a database start made is gone from every node after it (the tests'
# databases, tests/lib.sh); without CLUSTER_DB, or with a name that is not
# one, it refuses and drops nothing
dbs_named() {
	local i n=0
	for i in 0 1 2 3; do
		n=$((n + $(curl -sS -u "$(cat "$CL/credentials")" --data-binary \
			"SELECT count() FROM system.databases WHERE name = '$1'" \
			"http://127.0.0.1:$((CLUSTER_PORT_BASE + 10 + 10 * i))/")))
	done
	echo "$n"
}
CLUSTER_DB=dropme "$ROOT/scripts/cluster.sh" start "$CL" >/dev/null 2>"$WORK/err" ||
	{ cat "$WORK/err" >&2; echo "FAIL: start with CLUSTER_DB=dropme" >&2; exit 1; }
[ "$(dbs_named dropme)" = 4 ] || { echo "FAIL: dropme not made on the four nodes" >&2; exit 1; }
if "$ROOT/scripts/cluster.sh" drop "$CL" 2>"$WORK/err"; then
	echo "FAIL: drop without CLUSTER_DB succeeded" >&2
	exit 1
fi
grep -q "name the database in CLUSTER_DB" "$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
if CLUSTER_DB="dropme; DROP DATABASE infrapivot" "$ROOT/scripts/cluster.sh" drop "$CL" 2>"$WORK/err"; then
	echo "FAIL: drop took a statement for a name" >&2
	exit 1
fi
grep -q "not a database name" "$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
[ "$(dbs_named dropme)" = 4 ] && [ "$(dbs_named infrapivot)" = 4 ] ||
	{ echo "FAIL: a refused drop dropped something" >&2; exit 1; }
CLUSTER_DB=dropme "$ROOT/scripts/cluster.sh" drop "$CL"
[ "$(dbs_named dropme)" = 0 ] || { echo "FAIL: dropme still on a node after drop" >&2; exit 1; }
[ "$(dbs_named infrapivot)" = 4 ] || { echo "FAIL: drop took infrapivot too" >&2; exit 1; }

python3 "$ROOT/scripts/gen-dataset" --lines 3000 --seed 7 --format cof >"$WORK/gen.cof"
# certificates: the generated COF's sightings, Suricata's TLS events, Zeek's
# ssl and x509 logs and two PEM certificates (DER, so keys and subjects); the
# timed ssl.log names the leaf of the second PEM by SHA-256 alone, so LMDB
# joins it to the PEM's SHA-1 (compared by reference: test_ch_certs.h)
F=$ROOT/tests/fixtures
INFRAPIVOT_CH_URL=$url INFRAPIVOT_CH_CREDENTIALS=$CL/credentials \
	"$TEST_CH" "$F/cof/circl-sample.ndjson" "$F/passivedns/passivedns-sample.log" \
	"$WORK/gen.cof" "$F/suricata/eve-from-zeek-pcaps.json" \
	"$F/zeek/logs/scripts.base.protocols.ssl.basic__ssl.log" \
	"$F/zeek/logs/scripts.base.protocols.ssl.basic__x509.log" \
	"$F/zeek/logs-ts/scripts.base.protocols.ssl.basic__ssl.log" \
	"$F/zeek/certs/ecdhe-leaf.pem" "$F/zeek/certs/tls-conn-with-extensions-leaf.pem"

# optimize: the parity run's inserts left several parts a table; after it
# every table has one part a partition on every node (each replica waited
# for), and the store answers the same
parts_max() {
	local i
	for i in 0 1 2 3; do
		curl -sS -u "$(cat "$CL/credentials")" --data-binary "SELECT max(c) FROM (SELECT
			count() AS c FROM system.parts WHERE database = 'infrapivot' AND active
			GROUP BY table, partition)" "http://127.0.0.1:$((CLUSTER_PORT_BASE + 10 + 10 * i))/"
	done | sort -n | tail -n 1
}
st() {
	INFRAPIVOT_CH_CREDENTIALS=$CL/credentials INFRAPIVOT_CONTROL=$WORK/ctl-optimize \
		"$INFRAPIVOT" stats --store "$url"
}
[ "$(parts_max)" -gt 1 ] || { echo "FAIL: optimize: nothing to merge" >&2; exit 1; }
st >"$WORK/stats-before"
CLUSTER_DB=infrapivot "$ROOT/scripts/cluster.sh" optimize "$CL" 2>"$WORK/err" ||
	{ cat "$WORK/err" >&2; echo "FAIL: optimize" >&2; exit 1; }
[ "$(parts_max)" = 1 ] || { echo "FAIL: optimize left $(parts_max) parts in a partition" >&2; exit 1; }
st | cmp - "$WORK/stats-before" || { echo "FAIL: optimize changed stats" >&2; exit 1; }
if CLUSTER_DB=nosuch "$ROOT/scripts/cluster.sh" optimize "$CL" 2>"$WORK/err"; then
	echo "FAIL: optimize of a missing database succeeded" >&2
	exit 1
fi
grep -q "optimize: no database nosuch" "$WORK/err" || { cat "$WORK/err" >&2; exit 1; }

mkdir -p "$WORK/cli"
bash "$ROOT/tests/store/test_ch_cluster_cli.sh" "$INFRAPIVOT" "$CL" "$WORK/cli"
mkdir -p "$WORK/scn"
bash "$ROOT/tests/store/test_ch_cluster_scenarios.sh" "$INFRAPIVOT" "$MKSCENARIO" "$CL" "$WORK/scn"
mkdir -p "$WORK/estate"
bash "$ROOT/tests/store/test_ch_cluster_estate.sh" "$INFRAPIVOT" "$CL" "$WORK/estate"
bash "$ROOT/tests/store/test_ch_cluster_migrate.sh" "$INFRAPIVOT" "$CL" "$WORK/migrate"
bash "$ROOT/tests/store/test_ch_cluster_upgrade.sh" "$INFRAPIVOT" "$CL" "$WORK/upgrade"

# a wrong password is refused with ClickHouse's message, not taken for data
if INFRAPIVOT_CH_URL=$url INFRAPIVOT_CH_USER=default INFRAPIVOT_CH_PASSWORD=wrong \
	"$TEST_CH" "$ROOT/tests/fixtures/cof/circl-sample.ndjson" 2>"$WORK/err"; then
	echo "FAIL: a wrong password was accepted" >&2
	exit 1
fi
grep -q "HTTP 401\|HTTP 500\|Code: 193\|Code: 192" "$WORK/err" || { cat "$WORK/err" >&2; echo "FAIL: no server message" >&2; exit 1; }

pids=$(cat "$CL"/*/pid)
"$ROOT/scripts/cluster.sh" stop "$CL"
for p in $pids; do
	if kill -0 "$p" 2>/dev/null; then echo "FAIL: pid $p still runs after stop" >&2; exit 1; fi
done
echo "test_ch_cluster: ok"
