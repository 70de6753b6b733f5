# tests/lib.sh - shared by the shell integration tests.
#   . "$(dirname "$0")/../lib.sh"
# Needs INFRAPIVOT (the binary) in the environment (CTest sets it).
set -u
PASS=0
FAIL=0
: "${INFRAPIVOT:?INFRAPIVOT must name the infrapivot binary}"
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIXTURES="$TESTS_DIR/fixtures"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/infrapivot-it-XXXXXX")
# a passing test's cluster databases are dropped (drop_test_stores below);
# a failing test's stay for reading, named on its last line
trap 'rc=$?; rm -rf "$WORK"; [ -z "${CLEANUP_EXTRA:-}" ] || eval "$CLEANUP_EXTRA"; [ "$rc" != 0 ] || drop_test_stores' EXIT

ok() { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*" >&2; }
# check DESCRIPTION COMMAND...: the command must succeed
check() { local d=$1; shift; if "$@"; then ok; else bad "$d"; fi; }
# check_eq DESCRIPTION ACTUAL EXPECTED
check_eq() { if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }
# check_rc DESCRIPTION EXPECTED_RC COMMAND...
check_rc() { local d=$1 want=$2; shift 2; "$@" >/dev/null 2>&1; local rc=$?; check_eq "$d (exit status)" "$rc" "$want"; }
# check_grep DESCRIPTION PATTERN FILE
check_grep() { if grep -qE -- "$2" "$3"; then ok; else bad "$1: /$2/ not in $3"; sed 's/^/  | /' "$3" | head -20 >&2; fi; }
finish() { finish_status; }
# finish_status: the counts (and, on ClickHouse, the skipped parts and the
# store), exit 0 only when something passed and nothing failed
finish_status() {
	echo "$PASS passed, $FAIL failed${SKIPPED:+, $SKIPPED parts skipped on ClickHouse}${TEST_STORE_CH:+ ($TEST_STORE_CH)}"
	[ "$FAIL" -eq 0 ] && [ "$PASS" -gt 0 ]
	exit $?
}
# A free loopback TCP port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# wait_port PORT: until something accepts on 127.0.0.1:PORT (10 s at most)
wait_port() {
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
# field FILE KEY [N]: KEY of the N-th JSON line of FILE ("null" when absent)
field() { python3 -c 'import sys,json
lines=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]
v=lines[int(sys.argv[3]) if len(sys.argv)>3 else 0].get(sys.argv[2])
print("null" if v is None else v)' "$@"; }
# same_stats A B [MIN]: two `stats --json` files agree on every count (the
# byte sizes aside), and A has more than MIN resolutions (default -1)
same_stats() { python3 -c '
import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
assert a["resolutions"] > int(sys.argv[3]), a
for k in a:
    if not k.endswith("bytes"): assert a[k]==b[k], (k, a[k], b[k])
' "$1" "$2" "${3:--1}"; }

# --- the store under test: LMDB directories (default) or a ClickHouse cluster
# INFRAPIVOT_TEST_STORE=clickhouse://127.0.0.1:PORT/PREFIX with
# INFRAPIVOT_TEST_CLUSTER=DIR (the directory scripts/cluster.sh started the
# cluster in; `scripts/test.sh --clickhouse` sets both) runs the
# parameterised tests against that cluster: each test_store call makes a new
# database PREFIX_NAME_PID there (empty, as a new directory is).
on_clickhouse() { [ -n "${INFRAPIVOT_TEST_STORE:-}" ]; }
# cluster_base URL: the CLUSTER_PORT_BASE of a cluster.sh cluster whose
# first node URL names (node0's HTTP port is BASE+10).
cluster_base() {
	local hp=${1#clickhouse://}
	hp=${hp%%/*}
	echo $((${hp##*:} - 10))
}
# test_store VAR NAME: VAR is set to the store address for NAME: $WORK/NAME,
# or a new database of the cluster, whose control directory
# ($WORK/ctl-NAME) is exported as INFRAPIVOT_CONTROL, and the cluster's
# credentials as INFRAPIVOT_CH_CREDENTIALS.  A test may make several (a
# new NAME each): the control directory is bound to one database, so each
# call exports its own, and a test that goes back to an earlier store sets
# INFRAPIVOT_CONTROL=$WORK/ctl-NAME again itself.
test_store() {
	if ! on_clickhouse; then
		printf -v "$1" '%s' "$WORK/$2"
		return 0
	fi
	[ ! -e "$WORK/ctl-$2" ] || { echo "test_store: $2 made twice" >&2; exit 1; }
	local url=$INFRAPIVOT_TEST_STORE cl=${INFRAPIVOT_TEST_CLUSTER:?INFRAPIVOT_TEST_CLUSTER must name the cluster directory}
	local made
	made=$(CLUSTER_PORT_BASE=$(cluster_base "$url") CLUSTER_DB="${url##*/}_${2}_$$" \
		"$TESTS_DIR/../scripts/cluster.sh" start "$cl" 2>"$WORK/cluster.err" | tail -n 1)
	case $made in
	clickhouse://*) ;;
	*) cat "$WORK/cluster.err" >&2; echo "test_store: no cluster database for $2" >&2; exit 1 ;;
	esac
	mkdir -p "$WORK/ctl-$2"
	TEST_STORE_CH=${TEST_STORE_CH:+$TEST_STORE_CH }$made
	export INFRAPIVOT_CONTROL=$WORK/ctl-$2 INFRAPIVOT_CH_CREDENTIALS=$cl/credentials
	printf -v "$1" '%s' "$made"
	echo "store under test: $made" >&2
}
# The databases test_store made, dropped on every node of the cluster
# (a kept development cluster would gather them: 17 replicated tables each,
# whose background threads load ZooKeeper).
drop_test_stores() {
	local url
	for url in ${TEST_STORE_CH:-}; do
		CLUSTER_PORT_BASE=$(cluster_base "$url") CLUSTER_DB=${url##*/} \
			"$TESTS_DIR/../scripts/cluster.sh" drop "$INFRAPIVOT_TEST_CLUSTER" 2>/dev/null ||
			echo "test_store: $url not dropped" >&2
	done
}
# lmdb_only REASON: true on LMDB; on ClickHouse false, after printing the
# skip and its reason:  if lmdb_only "stats reads LMDB's tables"; then ... fi
lmdb_only() {
	on_clickhouse || return 0
	SKIPPED=$((${SKIPPED:-0} + 1))
	echo "SKIP on ClickHouse: $*" >&2
	return 1
}
# lmdb_only_test REASON: the whole test is LMDB's: on ClickHouse it prints
# why and exits 77 (CTest's skip status for these tests).
lmdb_only_test() {
	on_clickhouse || return 0
	echo "SKIP on ClickHouse: $*" >&2
	exit 77
}
# ch_fake_start CRED BODIES [MODE]: the stand-in for ClickHouse's HTTP
# interface (tests/store/ch_fake_server.py) in the background; sets SRV
# (its pid), PORT and S (clickhouse://127.0.0.1:PORT/t)
ch_fake_start() {
	exec 4< <(exec python3 "$TESTS_DIR/store/ch_fake_server.py" "$@")
	SRV=$!
	read -r -t 60 PORT <&4 || { echo "FAIL: the fake server did not start" >&2; exit 1; }
	S=clickhouse://127.0.0.1:$PORT/t
}
