# tests/store/ch_cluster_lib.sh - what the real-cluster shell tests share
# (test_ch_faults.sh, test_ch_follow_kill.sh).  Source it with ROOT, WORK
# and CL set: it starts a 2x2 cluster in CL (CLUSTER_PORT_BASE from the
# environment, else a free one: cluster.sh refuses a base in use, so it
# tries a few) and sets URL (all four entry points), PW and the store's
# environment.  fail MSG; http N (node N's port); sql NODE QUERY;
# wait_until WHAT COMMAND... (polls within DEADLINE_S, FAULT_TIMEOUT or
# 300 s); totals NODE [local]; expect_of STATS_JSON INPUT.
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

sql() { # NODE QUERY: the answer of one node
	curl -sS --fail-with-body -u "default:$PW" --data-binary "$2" "http://127.0.0.1:$(http "$1")/"
}
DEADLINE_S=${FAULT_TIMEOUT:-300}
wait_until() { # WHAT COMMAND...: poll until it succeeds, within the deadline
	local what=$1 end=$(($(date +%s) + DEADLINE_S))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || fail "timed out waiting for $what"
		sleep 0.2
	done
}

# totals of the cluster through NODE's Distributed tables, or (local) of
# its own replica: records by name, by address, by target, sum of counts
totals() { # NODE [local]
	local sfx=""
	[ "${2:-}" = local ] && sfx=_local
	local q="SELECT (SELECT count() FROM (SELECT 1 FROM infrapivot.rr$sfx GROUP BY rname, rrtype, rdata)),
	(SELECT count() FROM (SELECT 1 FROM infrapivot.rr_addr$sfx GROUP BY addr, rname, rrtype)),
	(SELECT count() FROM (SELECT 1 FROM infrapivot.rr_target$sfx GROUP BY target, rname, rrtype, rdata)),
	(SELECT sum(c) FROM (SELECT sumMerge(cnt) AS c FROM infrapivot.rr$sfx GROUP BY rname, rrtype, rdata))"
	sql "$1" "$q" | tr '\t' ' '
}
# expect_of STATS_JSON INPUT: the LMDB store's records by name, by
# address, by target (stats --json), and the sum of the passivedns input's
# counts (its last field)
expect_of() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
total = sum(int(l.rstrip("\n").split("||")[-1]) for l in open(sys.argv[2]) if l.strip())
print(s["resolutions"], s["address_index"], s["target_index"], total)
EOF
}
