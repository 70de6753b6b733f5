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
trap 'rm -rf "$WORK"; [ -n "${CLEANUP_EXTRA:-}" ] && eval "$CLEANUP_EXTRA"' EXIT

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
finish() { echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ] && [ "$PASS" -gt 0 ]; exit $?; }
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
