#!/usr/bin/env bash
# test_ch_sweep.sh INFRAPIVOT - the watch sweep on a real cluster
# (docs/scale-out.md, "The watch sweep"; scripts/cluster.sh: 2 shards x 2
# replicas, ZooKeeper).  A list watches a domain and an IP with a standing
# pivot over resolves and cname; a separate process with its own control
# directory (another node, as far as this one's watchlists know) ingests
# into the cluster; `watchlist sweep` on the watching node must then leave
# the list as LMDB's write hook leaves it on the same data (the export in
# JSON and text, the times of the clock left out); a second sweep must add
# nothing (nothing fed twice), and neither must a second ingest of the
# same lines (LMDB's hook adds nothing then either); a new resolution of
# the watched domain is added by the next sweep, as on LMDB.
#
# Registered with the cluster tests (label clickhouse), only with
# INFRAPIVOT_CLICKHOUSE=1.  SWEEP_CLUSTER_DIR: use the cluster running
# there (started with the same CLUSTER_PORT_BASE) and leave it running.
set -euo pipefail
IP=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/infrapivot-chsweep-XXXXXX")
CL=${SWEEP_CLUSTER_DIR:-$WORK/cluster}
cleanup() {
	[ -n "${SWEEP_CLUSTER_DIR:-}" ] || "$ROOT/scripts/cluster.sh" stop "$CL" || true
	rm -rf "$WORK"
}
trap cleanup EXIT
. "$ROOT/tests/store/ch_cluster_lib.sh"
# a database of its own
URL=$(CLUSTER_DB=sweep_$$ "$ROOT/scripts/cluster.sh" start "$CL" | tail -n 1)
WATCHER=$WORK/ctl-watcher
WRITER=$WORK/ctl-writer
LM=$WORK/lmdb

line() { # NAME TYPE RDATA FIRST LAST COUNT SENSOR
	printf '{"count":%s,"rdata":["%s"],"rrname":"%s","rrtype":"%s","time_first":%s,"time_last":%s,"sensor_id":"%s"}\n' \
		"$6" "$3" "$1" "$2" "$4" "$5" "$7"
}
{
	line evil.example.com A 203.0.113.5 1700000000 1700003600 3 s1
	line evil.example.com A 203.0.113.6 1700001000 1700002000 1 s2
	line www.evil.example.com CNAME evil.example.com 1700000100 1700000200 2 s1
	line shop.example.org A 198.51.100.7 1690000000 1700000000 5 s1
	line other.example.net A 203.0.113.5 1700000000 1700000000 1 s1
	line unrelated.example.net A 192.0.2.1 1700000000 1700000000 1 s1
	line v6.example.net AAAA 2001:db8::7 1700000000 1700000000 1 s3
} >"$WORK/in1.ndjson"
line evil.example.com A 203.0.113.9 1700100000 1700100000 1 s4 >"$WORK/in2.ndjson"

# the list, on both sides
watch_setup() { # STORE
	"$IP" watchlist create w --auto-expand resolves,cname --store "$1" >/dev/null
	"$IP" watchlist add w evil.example.com 198.51.100.7 --reason case --source cli --store "$1" >/dev/null
}
watch_setup "lmdb:$LM"
INFRAPIVOT_CONTROL=$WATCHER watch_setup "$URL"

# the export without what the clock decides (when added, when it expires,
# when generated)
export_of() { # NAME STORE [CONTROL] (the list: $LIST, default w)
	INFRAPIVOT_CONTROL=${3:-$WORK/none} "$IP" watchlist export "${LIST:-w}" --format json --store "$2" |
		python3 -c '
import json, sys
d = json.load(sys.stdin)
d.pop("generated", None)
for e in d["entries"]:
    for k in ("added", "expires"):
        e.pop(k, None)
    for p in e["provenance"]:
        p.pop("at", None)
print(json.dumps(d, sort_keys=True, indent=1))' >"$WORK/$1.json"
	INFRAPIVOT_CONTROL=${3:-$WORK/none} "$IP" watchlist export "${LIST:-w}" --format text --store "$2" |
		sort >"$WORK/$1.txt"
}
same() { # WHAT A B
	cmp -s "$WORK/$2" "$WORK/$3" || { diff "$WORK/$2" "$WORK/$3" | head -40 >&2; fail "$1"; }
}
sweep() { # -> the sweep's JSON summary in $WORK/sweep.json
	INFRAPIVOT_CONTROL=$WATCHER "$IP" watchlist sweep --store "$URL" --json >"$WORK/sweep.json" ||
		fail "sweep: exit $?"
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/sweep.json" "$1"; }

# --- an ingest by another process, with another control directory -------
"$IP" ingest -q --no-progress --store "lmdb:$LM" "$WORK/in1.ndjson" 2>/dev/null
INFRAPIVOT_CONTROL=$WRITER "$IP" ingest -q --no-progress --store "$URL" "$WORK/in1.ndjson" 2>/dev/null
export_of before "$URL" "$WATCHER"
[ "$(wc -l <"$WORK/before.txt")" -eq 2 ] || fail "the writer's ingest reached the watcher's list"
sweep
[ "$(field fed)" -eq 4 ] || fail "first sweep: $(cat "$WORK/sweep.json"), want 4 rows fed"
export_of lm1 "lmdb:$LM"
export_of ch1 "$URL" "$WATCHER"
[ "$(wc -l <"$WORK/lm1.txt")" -eq 6 ] || fail "LMDB's hook added $(wc -l <"$WORK/lm1.txt") - 2, want 4"
same "after the first sweep: the list as LMDB's hook leaves it (JSON)" lm1.json ch1.json
same "after the first sweep: the list as LMDB's hook leaves it (text)" lm1.txt ch1.txt
echo "first sweep: $(cat "$WORK/sweep.json"); the list as on LMDB: $(tr '\n' ' ' <"$WORK/ch1.txt")"

# --- a second sweep feeds nothing again ----------------------------------
sweep
[ "$(field fed)" -eq 0 ] || fail "second sweep fed again: $(cat "$WORK/sweep.json")"
[ "$(field rows)" -eq 4 ] || fail "second sweep: the overlap read no rows: $(cat "$WORK/sweep.json")"
export_of ch2 "$URL" "$WATCHER"
same "a second sweep changes nothing" ch1.json ch2.json

# round WHAT FILE N TAG: FILE ingested into LMDB and, by the writer, into
# the cluster; a sweep feeds N rows and the list is LMDB's
round() {
	"$IP" ingest -q --no-progress --store "lmdb:$LM" "$2" 2>/dev/null
	INFRAPIVOT_CONTROL=$WRITER "$IP" ingest -q --no-progress --store "$URL" "$2" 2>/dev/null
	sweep
	[ "$(field fed)" -eq "$3" ] || fail "$1: $(cat "$WORK/sweep.json"), want $3 fed"
	export_of "lm$4" "lmdb:$LM"
	export_of "ch$4" "$URL" "$WATCHER"
	same "$1: as LMDB (JSON)" "lm$4.json" "ch$4.json"
}
# --- the same lines again (a new batch): fed, nothing new, as on LMDB ------
round "the same lines again" "$WORK/in1.ndjson" 4 3
same "the same lines again: nothing added" ch1.json ch3.json
# --- a new resolution of the watched domain ------------------------------
round "a new resolution" "$WORK/in2.ndjson" 1 4
grep -qx 203.0.113.9 "$WORK/ch4.txt" || fail "203.0.113.9 not added"
sweep
[ "$(field fed)" -eq 0 ] || fail "the last sweep fed again: $(cat "$WORK/sweep.json")"

# --- certificate edges -----------------------------------------------------
FX=$ROOT/tests/fixtures
LEAF_SHA1=e2fb0771ee6fc0d0e324bc863c02b57921257c86   # ecdhe-leaf.pem (*.google.com)
LEAF_SHA256=a97a22b691caf62c1623d14abf8a31ac915f14d87f77d8a37c47eb4785b484ad
cert_setup() { # STORE
	"$IP" watchlist create c --auto-expand serves,sni,san,key --store "$1" >/dev/null
	"$IP" watchlist add c 74.125.224.79 ssl.gstatic.com gstatic.com "$LEAF_SHA256" \
		--reason case --source cli --store "$1" >/dev/null
	"$IP" watchlist create c2 --auto-expand serves --store "$1" >/dev/null
	"$IP" watchlist add c2 "$LEAF_SHA1" --reason case --source cli --store "$1" >/dev/null
}
cert_setup "lmdb:$LM"
INFRAPIVOT_CONTROL=$WATCHER cert_setup "$URL"
both_lists() { # TAG WHAT: both certificate lists as LMDB's
	for l in c c2; do
		LIST=$l export_of "lm$l$1" "lmdb:$LM"
		LIST=$l export_of "ch$l$1" "$URL" "$WATCHER"
		same "$2: list $l as LMDB's (JSON)" "lm$l$1.json" "ch$l$1.json"
		same "$2: list $l as LMDB's (text)" "lm$l$1.txt" "ch$l$1.txt"
	done
}
n=0
for f in "$FX/zeek/certs/ecdhe-leaf.pem" "$FX/zeek/logs-ts/scripts.base.protocols.ssl.ecdhe__ssl.log" \
	"$FX/zeek/logs-ts/scripts.base.protocols.ssl.ecdhe__x509.log" "$FX/suricata/eve-from-zeek-pcaps.json" \
	"$FX/zeek/certs/tls-conn-with-extensions-leaf.pem"; do
	n=$((n + 1))
	"$IP" ingest -q --no-progress --store "lmdb:$LM" "$f" 2>/dev/null
	INFRAPIVOT_CONTROL=$WRITER "$IP" ingest -q --no-progress --store "$URL" "$f" 2>/dev/null
	sweep
	echo "certificates, round $n ($(basename "$f")): $(cat "$WORK/sweep.json")"
	both_lists "$n" "certificates, round $n ($(basename "$f"))"
	if [ $n -eq 2 ]; then
		# the ssl.log's sighting knows only the SHA-256: the SHA-1 the
		# PEM gave the cluster for it is the watched one
		grep -qx 74.125.239.97 "$WORK/chc22.txt" || fail "c2: the sighting by SHA-256 not linked to the SHA-1"
	fi
done
for want in 74.125.224.79 82437e7830614e2500679d121590d25381de1dac google.com ed99b57aa9679feeecbd58221cf3c09549418153e3acc7c2ef35bfd4b05e1e36; do
	grep -qx "$want" "$WORK/chc$n.txt" || fail "list c: $want missing (serves, sni, san, key)"
done
sweep
[ "$(field fed)" -eq 0 ] || fail "the last certificate sweep fed again: $(cat "$WORK/sweep.json")"
both_lists last "a last sweep"
same "a last sweep changes nothing (c)" "chc$n.json" chclast.json
same "a last sweep changes nothing (c2)" "chc2$n.json" chc2last.json
echo "PASS: the watch sweep on the cluster: 4 sweeps, the list as LMDB's at each step; certificates: $n rounds and a last sweep, both lists as LMDB's"
