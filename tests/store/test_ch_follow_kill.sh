#!/usr/bin/env bash
# test_ch_follow_kill.sh INFRAPIVOT - the three-step commit on a real
# cluster (scripts/cluster.sh: 2 shards x 2 replicas, ZooKeeper): a sensor
# log grows in three parts while `ingest --follow --store clickhouse://…`
# reads it; after each part, as soon as the cluster shows rows the
# follower had not sent before (progress, wherever it is in its cycle of
# intent, INSERTs, position), the follower is killed with SIGKILL and
# started again.  A last run reads to the end (--exit-idle).  The cluster's
# totals (records by name, by address, by target, and the sum of counts)
# must then equal those of a clean LMDB follow of the same file: no line
# lost, none counted twice.
#
# Waits are for conditions (rows visible, a process gone, totals), each
# within one deadline, never for a fixed time.  Registered with the cluster
# tests (label clickhouse), only with INFRAPIVOT_CLICKHOUSE=1.
set -euo pipefail
IP=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/infrapivot-chkill-XXXXXX")
CL=$WORK/cluster
ING=""
cleanup() {
	[ -z "$ING" ] || kill -9 "$ING" 2>/dev/null || true
	"$ROOT/scripts/cluster.sh" stop "$CL" || true
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

started=""
fixed=${CLUSTER_PORT_BASE:-}
for _ in 1 2 3 4 5; do
	export CLUSTER_PORT_BASE=${fixed:-$((30000 + (RANDOM % 300) * 100))}
	if "$ROOT/scripts/cluster.sh" start "$CL" >/dev/null; then
		started=1
		break
	fi
	"$ROOT/scripts/cluster.sh" stop "$CL" || true
done
[ -n "$started" ] || fail "cluster did not start"
http() { echo $((CLUSTER_PORT_BASE + 10 + 10 * $1)); }
URL="clickhouse://127.0.0.1:$(http 0),127.0.0.1:$(http 1),127.0.0.1:$(http 2),127.0.0.1:$(http 3)/infrapivot"
PW=$(cut -d: -f2- "$CL/credentials")
export INFRAPIVOT_CH_CREDENTIALS=$CL/credentials INFRAPIVOT_CONTROL=$WORK/control
unset INFRAPIVOT_DB INFRAPIVOT_CH_USER INFRAPIVOT_CH_PASSWORD
sql() { curl -sS --fail-with-body -u "default:$PW" --data-binary "$2" "http://127.0.0.1:$(http "$1")/"; }
DEADLINE_S=${FAULT_TIMEOUT:-300}
wait_until() { # WHAT COMMAND...: poll until it succeeds, within the deadline
	local what=$1 end=$(($(date +%s) + DEADLINE_S))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || fail "timed out waiting for $what"
		sleep 0.2
	done
}

# --- the input, and a clean LMDB follow of it ---------------------------
python3 "$ROOT/scripts/gen-dataset" --lines 30000 --seed 23 --format passivedns >"$WORK/in.pdns"
"$IP" ingest --store "lmdb:$WORK/lmdb" --follow "$WORK/in.pdns" --exit-idle 1 --poll 20 \
	2>"$WORK/lm.err" || fail "LMDB follow: $(cat "$WORK/lm.err")"
"$IP" stats --json --db "$WORK/lmdb" >"$WORK/stats.json"
expect=$(python3 - "$WORK/stats.json" "$WORK/in.pdns" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
total = sum(int(l.rstrip("\n").split("||")[-1]) for l in open(sys.argv[2]) if l.strip())
print(s["resolutions"], s["address_index"], s["target_index"], total)
EOF
)
totals() { # through node0's Distributed tables
	local q="SELECT (SELECT count() FROM (SELECT 1 FROM infrapivot.rr GROUP BY rname, rrtype, rdata)),
	(SELECT count() FROM (SELECT 1 FROM infrapivot.rr_addr GROUP BY addr, rname, rrtype)),
	(SELECT count() FROM (SELECT 1 FROM infrapivot.rr_target GROUP BY target, rname, rrtype, rdata)),
	(SELECT sum(c) FROM (SELECT sumMerge(cnt) AS c FROM infrapivot.rr GROUP BY rname, rrtype, rdata))"
	sql 0 "$q" | tr '\t' ' '
}
# rows inserted so far into rr_in's targets (parts, not merged): grows with
# every INSERT the follower's batches make
rows() { sql 0 "SELECT count() FROM infrapivot.rr" 2>/dev/null || echo 0; }

# --- the log grows in three parts; the follower is killed after progress -
LOG=$WORK/sensor.log
: >"$LOG"
for part in 1 2 3; do
	sed -n "$(((part - 1) * 10000 + 1)),$((part * 10000))p" "$WORK/in.pdns" >>"$LOG"
	before=$(rows)
	"$IP" ingest --store "$URL" --follow "$LOG" --poll 20 >"$WORK/f$part.out" 2>"$WORK/f$part.err" &
	ING=$!
	progressed() { [ "$(rows)" -gt "$before" ] || ! kill -0 "$ING" 2>/dev/null; }
	wait_until "the follower's rows (part $part)" progressed
	kill -0 "$ING" 2>/dev/null || fail "the follower stopped: $(cat "$WORK/f$part.err")"
	kill -9 "$ING"
	rc=0
	wait "$ING" || rc=$?
	ING=""
	[ "$rc" -eq 137 ] || fail "the follower (part $part) ended with $rc, not by SIGKILL"
	echo "part $part: killed at $(rows) rows (before: $before)" >&2
done
"$IP" ingest --store "$URL" --follow "$LOG" --exit-idle 1 --poll 20 2>"$WORK/last.err" ||
	fail "the last follow: $(cat "$WORK/last.err")"
exact() { [ "$(totals)" = "$expect" ]; }
# the replicas fetch each other's parts asynchronously: wait for them
wait_until "the cluster's totals to be LMDB's ($expect; now $(totals))" exact
got=$(totals)
[ "$got" = "$expect" ] || fail "totals $got, LMDB $expect"
echo "totals $got = LMDB's after 3 kills" >&2
echo "PASS"
