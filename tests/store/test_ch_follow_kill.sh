#!/usr/bin/env bash
# test_ch_follow_kill.sh INFRAPIVOT - the three-step commit on a real
# cluster (scripts/cluster.sh: 2 shards x 2 replicas, ZooKeeper): a sensor
# log grows in three parts while `ingest --follow --store clickhouse://…`
# reads it; after each part the follower is killed with SIGKILL and started
# again: after part 1 as soon as the cluster shows rows it had not sent
# before (wherever it is in its cycle of intent, INSERTs, position); after
# parts 2 and 3 with ZooKeeper frozen (SIGSTOP), once one of its INSERTs
# waits on the cluster with its intent in the control LMDB.  A last run reads to the end (--exit-idle).  The cluster's
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
	[ ! -s "$CL/zk/pid" ] || kill -CONT "$(cat "$CL/zk/pid")" 2>/dev/null || true
	[ -z "$ING" ] || kill -9 "$ING" 2>/dev/null || true
	"$ROOT/scripts/cluster.sh" stop "$CL" || true
	rm -rf "$WORK"
}
trap cleanup EXIT
. "$ROOT/tests/store/ch_cluster_lib.sh"

# --- the input, and a clean LMDB follow of it ---------------------------
python3 "$ROOT/scripts/gen-dataset" --lines 30000 --seed 23 --format passivedns >"$WORK/in.pdns"
"$IP" ingest --store "lmdb:$WORK/lmdb" --follow "$WORK/in.pdns" --exit-idle 1 --poll 20 \
	2>"$WORK/lm.err" || fail "LMDB follow: $(cat "$WORK/lm.err")"
"$IP" stats --json --db "$WORK/lmdb" >"$WORK/stats.json"
expect=$(expect_of "$WORK/stats.json" "$WORK/in.pdns")
# rows inserted so far into rr_in's targets (parts, not merged): grows with
# every INSERT the follower's batches make
rows() { sql 0 "SELECT count() FROM infrapivot.rr" 2>/dev/null || echo 0; }

# an intent in the control LMDB (a batch between steps 1 and 3)
pending() {
	mdb_dump -p -s meta "$INFRAPIVOT_CONTROL" 2>/dev/null | awk '
		/^HEADER=END/ { d = 1; next }
		/^DATA=END/ { d = 0 }
		d { n++; if (n % 2 == 1 && substr($0, 1, 2) == " W") f = 1 }
		END { exit !f }'
}
# an INSERT running on some node (with ZooKeeper frozen, it waits there)
inserting() {
	local n c=0
	for n in 0 1 2 3; do
		c=$((c + $(sql "$n" "SELECT count() FROM system.processes WHERE query LIKE 'INSERT%'" 2>/dev/null || echo 0)))
	done
	[ "$c" -gt 0 ]
}
ZK=$(cat "$CL/zk/pid")

# --- the log grows in three parts; the follower is killed in each -------
# part 1: as soon as the cluster shows rows it had not (wherever the
# follower is in its cycle); parts 2 and 3: with ZooKeeper frozen, once an
# INSERT of the follower waits on the cluster and its intent is in the
# control LMDB (between steps 1 and 3 for certain; the INSERT may still
# complete on the cluster after the follower died)
LOG=$WORK/sensor.log
: >"$LOG"
for part in 1 2 3; do
	sed -n "$(((part - 1) * 10000 + 1)),$((part * 10000))p" "$WORK/in.pdns" >>"$LOG"
	before=$(rows)
	[ "$part" -eq 1 ] || kill -STOP "$ZK"
	"$IP" ingest --store "$URL" --follow "$LOG" --poll 20 >"$WORK/f$part.out" 2>"$WORK/f$part.err" &
	ING=$!
	progressed() { [ "$(rows)" -gt "$before" ] || ! kill -0 "$ING" 2>/dev/null; }
	stuck() { { inserting && pending; } || ! kill -0 "$ING" 2>/dev/null; }
	if [ "$part" -eq 1 ]; then
		wait_until "the follower's rows (part $part)" progressed
	else
		wait_until "an INSERT of the follower waiting (part $part)" stuck
	fi
	kill -0 "$ING" 2>/dev/null || fail "the follower stopped: $(cat "$WORK/f$part.err")"
	kill -9 "$ING"
	rc=0
	wait "$ING" || rc=$?
	ING=""
	[ "$part" -eq 1 ] || { pending || fail "no intent left by the follower killed in step 2"; }
	kill -CONT "$ZK"
	[ "$rc" -eq 137 ] || fail "the follower (part $part) ended with $rc, not by SIGKILL"
	echo "part $part: killed at $(rows) rows (before: $before), intent pending: $(pending && echo yes || echo no)" >&2
done
"$IP" ingest --store "$URL" --follow "$LOG" --exit-idle 1 --poll 20 2>"$WORK/last.err" ||
	fail "the last follow: $(cat "$WORK/last.err")"
exact() { [ "$(totals 0)" = "$expect" ]; }
# the replicas fetch each other's parts asynchronously: wait for them
wait_until "the cluster's totals to be LMDB's ($expect; now $(totals 0))" exact
got=$(totals 0)
[ "$got" = "$expect" ] || fail "totals $got, LMDB $expect"
echo "totals $got = LMDB's after 3 kills" >&2
echo "PASS"
