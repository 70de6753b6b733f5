# test_pivot_affinity_cli.sh - temporal affinity through `infrapivot pivot` on
# the planted clusters beside co-tenants (mkscenario --cotenant): the
# options, every output format saying which nodes are co-tenants and why,
# --explain, and a clear message for every bad value.
. "$(dirname "$0")/../lib.sh"
: "${MKSCENARIO:?MKSCENARIO must name the pivot_mkscenario tool}"

test_store DB db # a directory, or a cluster database (tests/lib.sh)
"$MKSCENARIO" --cotenant "$DB" >/dev/null || { echo "mkscenario failed"; exit 1; }
P() { "$INFRAPIVOT" pivot --db "$DB" --now 2026-11-01 "$@"; }
count() { # PRUNED-REASON FILE: nodes pruned for that reason
	python3 -c 'import json,sys; print(sum(1 for n in json.load(open(sys.argv[2]))["nodes"] if n["pruned"] == sys.argv[1]))' "$1" "$2"
}

check "json" P a0-0.actor.test >"$WORK/on.json"
check_eq "json: co-tenants pruned" "$(count co_tenant "$WORK/on.json")" 14
check_grep "json: the reason" '"pruned_detail": "co-tenant: on 172.16.0.1 since 2025-06-04, 500 days before the path arrived"' "$WORK/on.json"
check_grep "json: params say affinity" '"affinity": true' "$WORK/on.json"
check_grep "json: params say the threshold" '"max_cotenant_days": 180' "$WORK/on.json"
check "no-affinity" P a0-0.actor.test --no-affinity >"$WORK/off.json"
check_eq "no-affinity: nothing co-tenant" "$(count co_tenant "$WORK/off.json")" 0
check_grep "no-affinity: params" '"affinity": false' "$WORK/off.json"
check_grep "no-affinity: a co-tenant's own IP is walked" '"value": "172.17.0.1"' "$WORK/off.json"
# both directions: sister names 3 days apart are the same tenant ...
P a0-1.actor.test --edges resolves >"$WORK/sis.json"
check_eq "sister (older) kept" "$(count co_tenant "$WORK/sis.json")" 10
check_eq "sister: a0-0 not pruned" "$(python3 -c 'import json,sys; print([n["pruned"] for n in json.load(open(sys.argv[1]))["nodes"] if n["value"] == "a0-0.actor.test"])' "$WORK/sis.json")" "[None]"
# ... unless the threshold is under their gap
P a0-1.actor.test --edges resolves --max-cotenant-days 2 >"$WORK/sis2.json"
check_grep "threshold 2: the older sister is a co-tenant" '3 days before the path arrived' "$WORK/sis2.json"
# from the IP and the certificate too
P 172.16.0.1 >"$WORK/ip.json"
check_eq "IP seed: co-tenants pruned" "$(count co_tenant "$WORK/ip.json")" 14
CERT=$(python3 -c 'import hashlib; print(hashlib.sha1(b"actor-cert-0").hexdigest())')
P "$CERT" >"$WORK/cert.json"
check_eq "cert seed: co-tenants pruned" "$(count co_tenant "$WORK/cert.json")" 14

# table, DOT (a distinct style, renders without a warning), STIX
P a0-0.actor.test --format table >"$WORK/t.txt"
check_grep "table: reason" 'PRUNED co_tenant \(co-tenant: on 172.16.0.1 since 2025-06-04, 500 days' "$WORK/t.txt"
P a0-0.actor.test --format dot >"$WORK/g.dot"
check_grep "dot: co-tenant style" 'pruned: co_tenant.*color=darkorange3' "$WORK/g.dot"
if command -v dot >/dev/null; then
	check "dot -Tsvg renders" dot -Tsvg -o "$WORK/g.svg" "$WORK/g.dot" 2>"$WORK/dot.err"
	check_eq "dot: no warnings" "$(cat "$WORK/dot.err")" ""
else
	bad "graphviz dot is not installed"
fi
P a0-0.actor.test --format stix >"$WORK/s.json"
check_grep "stix: pruned reason" '"x_infrapivot_pruned": "co_tenant"' "$WORK/s.json"
check_grep "stix: pruned detail" '"x_infrapivot_pruned_detail": "co-tenant: on 172.16.0.1' "$WORK/s.json"
check "stix validates" "$TESTS_DIR/tools/stix-validate" "$WORK/s.json"

# --explain
P a0-0.actor.test --explain shop00.tenant0.test >"$WORK/x.txt" 2>"$WORK/x.err"
check_eq "explain: exit 0" "$?" 0
check_grep "explain: the path" 'a0-0.actor.test -> 172.16.0.1: resolves, seen 2026-10-17 to 2026-10-31' "$WORK/x.txt"
check_grep "explain: the arrival" 'the path arrived at 172.16.0.1 on 2026-10-17' "$WORK/x.txt"
check_grep "explain: the rule" 'first seen 500 days before the path arrived: > max_cotenant_days 180, a co-tenant' "$WORK/x.txt"
check_grep "explain: the decision" '^decision: pruned co_tenant' "$WORK/x.txt"
P a0-0.actor.test --explain a0-1.actor.test >"$WORK/x2.txt"
check_grep "explain: a sister is kept" '^decision: kept' "$WORK/x2.txt"
P a0-0.actor.test --explain nothing.example >"$WORK/x3.txt" 2>"$WORK/x3.err"
check_eq "explain: absent node exits 1" "$?" 1
check_grep "explain: absent node message" "'nothing.example' is not in the result of this pivot" "$WORK/x3.err"
check_eq "explain: absent node, nothing on stdout" "$(cat "$WORK/x3.txt")" ""

# help and bad values: exit 2 and a message naming the option
"$INFRAPIVOT" pivot --help >"$WORK/help.txt"
for opt in --max-cotenant-days --no-affinity --explain; do
	check_grep "help mentions $opt" "$opt" "$WORK/help.txt"
done
bad_param() { # DESCRIPTION PATTERN ARGS...
	local d=$1 pat=$2
	shift 2
	"$INFRAPIVOT" pivot --db "$DB" "$@" >"$WORK/bad.out" 2>"$WORK/bad.err"
	check_eq "$d: exit status" "$?" 2
	check_grep "$d: message" "$pat" "$WORK/bad.err"
	check_eq "$d: nothing on stdout" "$(cat "$WORK/bad.out")" ""
}
bad_param "threshold not a number" "--max-cotenant-days: 'x' is not a non-negative whole number" --max-cotenant-days x a0-0.actor.test
bad_param "threshold negative" "--max-cotenant-days: '-3' is not a non-negative whole number" --max-cotenant-days -3 a0-0.actor.test
bad_param "threshold too big" '--max-cotenant-days: 40000 is out of range \(0 to 36500\)' --max-cotenant-days 40000 a0-0.actor.test
bad_param "explain without a node" '--explain needs a value' a0-0.actor.test --explain
bad_param "no-affinity takes no value" '--no-affinity takes no value' --no-affinity=1 a0-0.actor.test
"$MKSCENARIO" --bogus "$WORK/x" >/dev/null 2>"$WORK/mk.err"
check_eq "mkscenario: bad usage" "$?" 2
check_grep "mkscenario: usage" 'usage: mkscenario \[--cotenant\] DIR' "$WORK/mk.err"

finish
