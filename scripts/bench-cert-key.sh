#!/usr/bin/env bash
# scripts/bench-cert-key.sh - a pivot level's keys read by certificate on a
# cluster (a script, not a timed test; docs/scale-out.md, "A certificate's
# keys"): the batched read of 50 certificates' keys from cert_key (keyed by
# certificate) against the same read from cert_attr (keyed by attribute and
# value: the whole attr = 1 range), the SQL infrapivot sent before, on one
# database holding CERTS key rows (default 2,000,000), RUNS times each
# (default 7), alternated; medians of the wall time, and the rows each read
# (system.query_log).
# CLUSTER_DIR (default $BENCH_DIR/cluster) and CLUSTER_PORT_BASE are passed
# to scripts/cluster.sh, which is started (idempotent); the database
# (CLUSTER_DB, default bench_certkey) is made afresh and dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
CERTS=${CERTS:-2000000}
RUNS=${RUNS:-7}
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/infrapivot-bench}
CLDIR=${CLUSTER_DIR:-$WORK/cluster}
DB=${CLUSTER_DB:-bench_certkey}
mkdir -p "$WORK"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
url=$(CLUSTER_DB=$DB scripts/cluster.sh start "$CLDIR" 2>/dev/null | tail -n 1)
PORT=$(echo "$url" | sed 's|clickhouse://127.0.0.1:\([0-9]*\)/.*|\1|')
PW=$(cut -d: -f2- "$CLDIR/credentials")
q() { # QUERY [SETTINGS]: the answer
	curl -sS --fail-with-body -u "default:$PW" --data-binary "$1" \
		"http://127.0.0.1:$PORT/?database=$DB${2:+&$2}"
}
t() { # QUERY: the wall time in ms
	curl -sS --fail-with-body -o /dev/null -w '%{time_total}\n' -u "default:$PW" \
		--data-binary "$1" "http://127.0.0.1:$PORT/?database=$DB&log_queries=1" |
		awk '{printf "%.1f\n", $1 * 1000}'
}
CLUSTER_DB=$DB scripts/cluster.sh drop "$CLDIR" >/dev/null 2>&1
CLUSTER_DB=$DB scripts/cluster.sh start "$CLDIR" >/dev/null 2>&1
# key rows as ingest writes them (cert_attr, attr 1; the view fills cert_key)
q "INSERT INTO cert_attr SELECT 1, lower(hex(SHA256(toString(number)))),
	toFixedString(concat(unhex('01'), substring(SHA256(concat('c', toString(number))), 1, 20),
	unhex('000000000000000000000000')), 33) FROM numbers($CERTS)" insert_distributed_sync=1
[ "$(q "SELECT count() FROM cert_key")" = "$CERTS" ] || { echo "cert_key was not filled" >&2; exit 1; }
# 50 of them, spread over the key space, as literals (as infrapivot sends them)
L=$(q "SELECT arrayStringConcat(groupArray(concat('toFixedString(unhex(''', hex(cert), '''), 33)')), ', ')
	FROM (SELECT cert FROM cert_key WHERE cityHash64(cert) % $((CERTS / 100)) = 0 LIMIT 50)
	FORMAT TabSeparatedRaw")
OLD="SELECT cert AS k, min(value) FROM cert_attr PREWHERE attr = 1 AND (cert IN ($L)) GROUP BY k ORDER BY k"
NEW="SELECT cert AS k, min(key) FROM cert_key PREWHERE (cert IN ($L)) GROUP BY k ORDER BY k"
[ "$(q "$OLD" | md5sum)" = "$(q "$NEW" | md5sum)" ] || { echo "the two reads differ" >&2; exit 1; }
echo "$CERTS certificates with a key; $(q "SELECT count() FROM ($NEW)") keys read a query"
old=() new=()
T0=$(date +%s)
for _ in $(seq "$RUNS"); do
	old+=("$(t "$OLD")")
	new+=("$(t "$NEW")")
done
q "SYSTEM FLUSH LOGS" >/dev/null
rows() { q "SELECT median(read_rows) FROM system.query_log WHERE type = 2 AND is_initial_query
	AND query LIKE '%FROM $1 PREWHERE%' AND query NOT LIKE '%query_log%' AND event_time >= toDateTime($T0)"; }
echo "cert_attr (before): median $(printf '%s\n' "${old[@]}" | median) ms, $(rows cert_attr) rows read"
echo "cert_key (now):     median $(printf '%s\n' "${new[@]}" | median) ms, $(rows cert_key) rows read"
CLUSTER_DB=$DB scripts/cluster.sh drop "$CLDIR" >/dev/null 2>&1
