#!/usr/bin/env bash
# test_ch_faults.sh INFRAPIVOT - fault tests on a real cluster
# (scripts/cluster.sh: 2 shards x 2 replicas, ZooKeeper), through the CLI
# with every node as an entry point (clickhouse://H:P,H:P,H:P,H:P/DB):
#
#  1. an ingest of generated passivedns lines runs from a pipe; once its
#     first rows are visible, one replica of each shard is killed: node2,
#     shard 2's first replica (load_balancing in_order), and node0, the
#     first entry point and shard 1's first replica, frozen (SIGSTOP)
#     until an INSERT of the ingest waits on it, then killed (SIGKILL)
#     under it; so the client's failover between entry points mid-request
#     and the Distributed tables' failover between replicas are needed;
#  2. during the outage lookups keep answering (exit 0); the rest of the
#     input is written and the ingest completes (exit 0, the same lines as
#     an LMDB ingest of the same file); 250 sampled lookups (names and
#     addresses) and the cluster's totals (records by name, address and
#     target, sum of counts) never exceed the LMDB store's: nothing counted
#     twice.  They may fall short: a part the killed replica took before
#     its peer fetched it is missing until it returns (asynchronous
#     replication; the resent INSERT is deduplicated against it);
#  3. the two are restarted (`cluster.sh start`); each replica, read
#     directly, catches up: the same totals on both replicas of a shard,
#     adding up to the LMDB store's and the input's: nothing lost;
#  4. the other two replicas (node1, node3) are killed, so the restarted
#     ones answer alone: the sampled lookups are the LMDB store's again.
#
# Waits are for conditions (rows visible, a process gone, replicas equal),
# each within one deadline, never for a fixed time.  Registered with the
# cluster test (label clickhouse), only with INFRAPIVOT_CLICKHOUSE=1.
set -euo pipefail
IP=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/infrapivot-chfault-XXXXXX")
CL=$WORK/cluster
ING=""
cleanup() {
	exec 7>&- 2>/dev/null || true
	[ -z "$ING" ] || kill "$ING" 2>/dev/null || true
	"$ROOT/scripts/cluster.sh" stop "$CL" || true
	rm -rf "$WORK"
}
trap cleanup EXIT
. "$ROOT/tests/store/ch_cluster_lib.sh"
gone() { ! kill -0 "$1" 2>/dev/null; }
kill_node() { # N: SIGKILL, and wait until the process is gone
	local p
	p=$(cat "$CL/node$1/pid")
	kill -9 "$p"
	wait_until "node$1 to exit" gone "$p"
}

# --- the input, and the LMDB store of it -------------------------------
python3 "$ROOT/scripts/gen-dataset" --lines 30000 --seed 17 --format passivedns >"$WORK/in.pdns"
"$IP" ingest --no-progress --batch 2000 --store "lmdb:$WORK/lmdb" "$WORK/in.pdns" 2>"$WORK/lm.err" ||
	fail "LMDB ingest: $(cat "$WORK/lm.err")"
"$IP" stats --json --db "$WORK/lmdb" >"$WORK/stats.json"
# the expected totals: records by name, by address, by target, and the sum
# of the input's counts (the last field)
expect=$(expect_of "$WORK/stats.json" "$WORK/in.pdns")

# the sample: 200 names (every k-th) and 50 addresses of the LMDB store
"$IP" lookup ip 0.0.0.0/0 --db "$WORK/lmdb" --limit 0 >"$WORK/all" 2>/dev/null
"$IP" lookup ip ::/0 --db "$WORK/lmdb" --limit 0 >>"$WORK/all" 2>/dev/null
python3 - "$WORK/all" "$WORK/in.pdns" >"$WORK/sample" <<'EOF'
import json, sys
addrs = sorted({json.loads(l)["rdata"] for l in open(sys.argv[1]) if l.strip()})
names = sorted({l.split("||")[4].rstrip(".") for l in open(sys.argv[2]) if l.strip()})
for n in names[:: max(1, len(names) // 200)][:200]:
    print("domain", n)
for a in addrs[:: max(1, len(addrs) // 50)][:50]:
    print("ip", a)
EOF
[ "$(wc -l <"$WORK/sample")" -eq 250 ] || fail "the sample is not 250 keys"
lookups() { # STORE OUT: every sampled lookup, each answer in order
	local kind key
	: >"$2"
	while read -r kind key; do
		echo "== $kind $key" >>"$2"
		"$IP" lookup "$kind" "$key" --store "$1" --limit 0 >>"$2" 2>>"$WORK/lookup.err" ||
			fail "lookup $kind $key on $1: exit $? ($(tail -n 2 "$WORK/lookup.err"))"
	done <"$WORK/sample"
}
lookups "lmdb:$WORK/lmdb" "$WORK/want"
[ "$(grep -vc '^==' "$WORK/want")" -ge 250 ] || fail "the sampled lookups found too little"

# --- 1. the ingest, from a pipe; kill node0 and node2 once rows show ------
mkfifo "$WORK/pipe"
"$IP" ingest --no-progress --batch 2000 --store "$URL" - <"$WORK/pipe" >"$WORK/ch.out" 2>"$WORK/ch.err" &
ING=$!
exec 7>"$WORK/pipe"
# more than the reader's 256 KiB chunk, so batches are written before the end
head -n 10000 "$WORK/in.pdns" >&7
visible() { [ "$(sql 1 'SELECT count() FROM infrapivot.rr' 2>/dev/null || echo 0)" -gt 0 ]; }
wait_until "the first rows on the cluster" visible
kill -0 "$ING" 2>/dev/null || fail "the ingest ended before the rest of its input"
# node0 frozen first, so that the ingest's next INSERT is sent to it and
# left unanswered; then killed under that request: the client must send it
# again, under its token, to the next entry point
kill -STOP "$(cat "$CL/node0/pid")"
kill_node 2
tail -n +10001 "$WORK/in.pdns" >&7 &
FEED=$!
exec 7>&-
# a request outstanding on node0: a client's connection to it that sent
# data after it last received any (ss -i: ms since the last send and the
# last receive; a figure left out is 0).  node0 may have read the request
# before it froze, or not: either way it has not answered.
outstanding() {
	ss -Htni state established "( dport = :$(http 0) )" | awk '
		/lastsnd|lastrcv|bytes_sent/ {
			s = 0; r = 0
			if (match($0, /lastsnd:[0-9]+/)) s = substr($0, RSTART + 8, RLENGTH - 8) + 0
			if (match($0, /lastrcv:[0-9]+/)) r = substr($0, RSTART + 8, RLENGTH - 8) + 0
			if (s < r) f = 1
		}
		END { exit !f }'
}
wait_until "an INSERT waiting on the frozen node0" outstanding
kill_node 0

# --- 2. during the outage: lookups answer; the ingest completes ----------
for q in "domain *.com" "ip 0.0.0.0/0"; do
	# shellcheck disable=SC2086
	"$IP" lookup $q --store "$URL" --limit 5 >"$WORK/during" 2>"$WORK/during.err" ||
		fail "lookup $q during the outage: $(cat "$WORK/during.err")"
	[ -s "$WORK/during" ] || fail "lookup $q during the outage: no rows"
done
wait "$FEED"
rc=0
wait "$ING" || rc=$?
ING=""
[ "$rc" -eq 0 ] || fail "ingest during the outage: exit $rc: $(cat "$WORK/ch.err")"
lines() { grep -o '[0-9]* lines read, [0-9]* accepted, [0-9]* rejected' "$1"; }
[ "$(lines "$WORK/ch.err")" = "$(lines "$WORK/lm.err")" ] || fail "the ingests read differently"
# During the outage a part that a killed replica took (and registered, so
# that the resent INSERT was deduplicated) before its peer fetched it is
# missing until that replica returns: ClickHouse replicates
# asynchronously (docs/scale-out.md, "Faults").  A record then merges
# fewer observations: a smaller count and a first/last seen inside
# LMDB's.  What must hold: every answer is a record LMDB has, counted at
# most as often, seen within LMDB's first and last; exactness is checked
# once the replicas are back (3 and 4).
lookups "$URL" "$WORK/got"
python3 - "$WORK/want" "$WORK/got" <<'EOF2' || fail "sampled lookups during the outage exceed LMDB's"
import json, sys
def load(path):
    d, key = {}, None
    for l in open(path):
        if l.startswith("=="):
            key = l.strip()
            continue
        r = json.loads(l)
        seen = (r.pop("count"), r.pop("time_first", None), r.pop("time_last", None))
        d[key + json.dumps(r, sort_keys=True)] = seen
    return d
def within(g, w):  # (count, first, last) of fewer observations
    return (g[0] <= w[0] and (g[1] is None or w[1] is None or g[1] >= w[1]) and
            (g[2] is None or w[2] is None or g[2] <= w[2]))
want, got = load(sys.argv[1]), load(sys.argv[2])
bad = [k for k, g in got.items() if k not in want or not within(g, want[k])]
for k in bad[:5]:
    print("not in LMDB or beyond it:", k, got[k], want.get(k), file=sys.stderr)
missing = sum(1 for k in want if got.get(k) != want[k])
print("during the outage: %d of %d sampled records short of LMDB's count" % (missing, len(want)),
      file=sys.stderr)
sys.exit(1 if bad else 0)
EOF2
during=$(totals 1)
python3 - "$during" "$expect" <<'EOF2' || fail "totals during the outage: $during, above $expect"
import sys
got, want = ([int(x) for x in a.split()] for a in sys.argv[1:3])
sys.exit(0 if len(got) == 4 and all(g <= w for g, w in zip(got, want)) else 1)
EOF2
echo "during the outage: ingest exit 0, lookups answer, totals $during (exact: $expect)" >&2

# --- 3. restart; each replica catches up ---------------------------------
"$ROOT/scripts/cluster.sh" start "$CL" >/dev/null
caught_up() {
	local a b c d
	a=$(totals 0 local) b=$(totals 1 local) c=$(totals 2 local) d=$(totals 3 local)
	[ "$a" = "$b" ] && [ "$c" = "$d" ] || return 1
	# the two shards add up to the whole
	[ "$(echo "$a $c" | awk '{print $1+$5, $2+$6, $3+$7, $4+$8}')" = "$expect" ]
}
wait_until "the restarted replicas to catch up" caught_up
for n in 0 1 2 3; do echo "node$n alone: $(totals "$n" local)" >&2; done

# --- 4. the restarted replicas answer alone -----------------------------
kill_node 1
kill_node 3
lookups "$URL" "$WORK/after"
cmp -s "$WORK/want" "$WORK/after" || {
	{ diff "$WORK/want" "$WORK/after" || true; } | head -20 >&2
	fail "sampled lookups on the restarted replicas differ from LMDB"
}
[ "$(totals 0)" = "$expect" ] || fail "totals on the restarted replicas: $(totals 0)"
echo "test_ch_faults: ok"
