# test_pivot_cli.sh - `infrapivot pivot` end to end on the hunt scenario:
# every output format, DOT rendered by Graphviz without a warning, the STIX
# bundle validated against the OASIS schemas, byte-identical reruns, and a
# clear message for every bad parameter.
. "$(dirname "$0")/../lib.sh"
: "${MKSCENARIO:?MKSCENARIO must name the pivot_mkscenario tool}"

DB="$WORK/db"
"$MKSCENARIO" "$DB" >/dev/null || { echo "mkscenario failed"; exit 1; }
SEED=login-verify.duckdns.org
P() { "$INFRAPIVOT" pivot --db "$DB" --now 2026-11-01 "$@"; }

# JSON, twice, byte-identical
check "json" P "$SEED" --depth 4 >"$WORK/a.json" 2>"$WORK/a.err"
P "$SEED" --depth 4 >"$WORK/b.json" 2>/dev/null
check "json is byte-identical" cmp -s "$WORK/a.json" "$WORK/b.json"
check "json parses" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/a.json"
check_eq "json: node count" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["nodes"]))' "$WORK/a.json")" 24
check_grep "json: shared hosting pruned" '"pruned": "shared_hosting"' "$WORK/a.json"
check_grep "json: CDN certificate pruned" '"pruned": "cdn_or_default_cert"' "$WORK/a.json"
check_grep "json: truncated false" '"truncated": false' "$WORK/a.json"
check_eq "json: no message on stderr" "$(cat "$WORK/a.err")" ""

# a window drops the stale sightings
P "$SEED" --depth 4 --since -30d >"$WORK/w.json" 2>/dev/null
check "window: json" test -s "$WORK/w.json"
if grep -q '"192.0.2.200"' "$WORK/w.json"; then bad "window: stale IP still there"; else ok; fi
check_grep "window: since in params" '"since": "2026-10-02T00:00:00Z"' "$WORK/w.json"

# DOT renders without a warning
P "$SEED" --depth 4 --format dot >"$WORK/g.dot" 2>/dev/null
P "$SEED" --depth 4 --format dot >"$WORK/g2.dot" 2>/dev/null
check "dot is byte-identical" cmp -s "$WORK/g.dot" "$WORK/g2.dot"
if command -v dot >/dev/null; then
	check "dot -Tsvg renders" dot -Tsvg -o "$WORK/g.svg" "$WORK/g.dot" 2>"$WORK/dot.err"
	check_eq "dot: no warnings" "$(cat "$WORK/dot.err")" ""
	check_grep "dot: svg written" '<svg' "$WORK/g.svg"
	# a truncated graph and a lone seed render too
	P "$SEED" --depth 4 --max-nodes 3 --format dot 2>/dev/null | dot -Tsvg -o /dev/null 2>"$WORK/dot2.err"
	check_eq "dot (truncated): no warnings" "$(cat "$WORK/dot2.err")" ""
	P nothing-here.example --format dot 2>/dev/null | dot -Tsvg -o /dev/null 2>"$WORK/dot3.err"
	check_eq "dot (lone seed): no warnings" "$(cat "$WORK/dot3.err")" ""
else
	bad "graphviz dot is not installed"
fi

# STIX validates against the schemas
VALIDATE="$TESTS_DIR/tools/stix-validate"
P "$SEED" --depth 4 --format stix >"$WORK/s.json" 2>/dev/null
P "$SEED" --depth 4 --format stix >"$WORK/s2.json" 2>/dev/null
check "stix is byte-identical" cmp -s "$WORK/s.json" "$WORK/s2.json"
check "stix validates" "$VALIDATE" "$WORK/s.json"
check_grep "stix: ipv6-addr" '"type": "ipv6-addr"' "$WORK/s.json"
check_grep "stix: resolves_to_refs" '"resolves_to_refs"' "$WORK/s.json"
# ids as STIX 2.1 section 2.9 computes them (Python's uuid5 over canonical JSON)
X509_ID=$(python3 -c 'import uuid,json,hashlib
ns=uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
c={"hashes":{"SHA-1":hashlib.sha1(b"actor-cert").hexdigest()},"serial_number":"1a2b3c"}
print("x509-certificate--%s" % uuid.uuid5(ns, json.dumps(c, separators=(",",":"), sort_keys=True)))')
check_grep "stix: x509-certificate id per the spec" "\"id\": \"$X509_ID\"" "$WORK/s.json"
IP_ID=$(python3 -c 'import uuid
print("ipv6-addr--%s" % uuid.uuid5(uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7"), "{\"value\":\"2001:db8::23\"}"))')
check_grep "stix: ipv6-addr id per the spec" "\"id\": \"$IP_ID\"" "$WORK/s.json"
P 198.51.100.10 --depth 2 --since -30d --format stix >"$WORK/s3.json" 2>/dev/null
P "$SEED" --depth 4 --max-nodes 4 --format stix >"$WORK/s4.json" 2>/dev/null
# one validator run for both (the schemas take seconds to load)
python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); b["objects"]+=json.load(open(sys.argv[2]))["objects"]; json.dump(b,open(sys.argv[3],"w"))' \
	"$WORK/s3.json" "$WORK/s4.json" "$WORK/s34.json"
check "stix (ip seed with a window; truncated) validates" "$VALIDATE" "$WORK/s34.json"

# table
check "table" P "$SEED" --depth 4 --format table >"$WORK/t.txt" 2>/dev/null
check_grep "table: depth sections" '^depth 4$' "$WORK/t.txt"
check_grep "table: pruned reason" 'PRUNED cdn_or_default_cert \(served on 2001 IPs > max_cert_ips 50\)' "$WORK/t.txt"

# budgets say so on stderr, exit 0
P "$SEED" --depth 4 --max-nodes 5 >"$WORK/tr.json" 2>"$WORK/tr.err"
check_eq "truncated: exit 0" "$?" 0
check_grep "truncated: in json" '"truncated_by": "max_nodes"' "$WORK/tr.json"
check_grep "truncated: message" 'truncated: the max_nodes budget was reached \(raise --max-nodes\)' "$WORK/tr.err"

# help
check "help" "$INFRAPIVOT" pivot --help >"$WORK/help.txt"
for opt in --type --depth --since --until --edges --max-ip-domains --max-cert-ips \
	--max-domain-ips --max-san --max-nodes --max-ms --format --db; do
	check_grep "help mentions $opt" "$opt" "$WORK/help.txt"
done
check_grep "main help lists pivot" '^  pivot ' <("$INFRAPIVOT" --help)

# every bad parameter: exit 2 and a message naming it
bad_param() { # DESCRIPTION PATTERN ARGS...
	local d=$1 pat=$2
	shift 2
	"$INFRAPIVOT" pivot "$@" >"$WORK/bad.out" 2>"$WORK/bad.err"
	check_eq "$d: exit status" "$?" 2
	check_grep "$d: message" "$pat" "$WORK/bad.err"
	check_eq "$d: nothing on stdout" "$(cat "$WORK/bad.out")" ""
}
bad_param "no seed" 'no SEED given' --db "$DB"
bad_param "two seeds" 'one SEED only' --db "$DB" a.example b.example
bad_param "bad seed" "seed: 'bad\.\.name' is not a domain name, an IP address, or a certificate" --db "$DB" bad..name
bad_param "bad ip seed" "seed: 'example.com' is not an IPv4 or IPv6 address" --db "$DB" --type ip example.com
bad_param "bad cert seed" "seed: 'abc' is not a certificate SHA-1 or SHA-256" --db "$DB" --type cert abc
bad_param "bad type" "--type: 'url' is not domain, ip, cert, key, subject, jarm, ja3s or auto" --db "$DB" --type url "$SEED"
bad_param "depth too big" '--depth: 7 is out of range \(0 to 6\)' --db "$DB" --depth 7 "$SEED"
bad_param "depth not a number" "--depth: 'x' is not a non-negative whole number" --db "$DB" --depth x "$SEED"
bad_param "bad since" "--since: 'yesterday' is not a time" --db "$DB" --since yesterday "$SEED"
bad_param "bad until" "--until: '2026-02-30x' is not a time" --db "$DB" --until 2026-02-30x "$SEED"
bad_param "empty window" 'since \(2026-02-01T00:00:00Z\) is after until \(2026-01-01T00:00:00Z\)' --db "$DB" --since 2026-02-01 --until 2026-01-01 "$SEED"
bad_param "bad edges" "--edges: unknown edge type 'dns'" --db "$DB" --edges resolves,dns "$SEED"
bad_param "bad max-ip-domains" "--max-ip-domains: '-5' is not a non-negative whole number" --db "$DB" --max-ip-domains -5 "$SEED"
bad_param "bad max-cert-ips" "--max-cert-ips: 'many' is not a non-negative whole number" --db "$DB" --max-cert-ips many "$SEED"
bad_param "bad max-domain-ips" "--max-domain-ips: '1.5' is not a non-negative whole number" --db "$DB" --max-domain-ips 1.5 "$SEED"
bad_param "bad max-san" "--max-san: '' is not a non-negative whole number" --db "$DB" --max-san "" "$SEED"
bad_param "max-nodes over the cap" '--max-nodes: 20000 is out of range \(1 to 10000\)' --db "$DB" --max-nodes 20000 "$SEED"
bad_param "max-nodes zero" '--max-nodes: 0 is out of range \(1 to 10000\)' --db "$DB" --max-nodes 0 "$SEED"
bad_param "max-ms zero" '--max-ms: 0 is out of range' --db "$DB" --max-ms 0 "$SEED"
bad_param "bad now" "--now: 'later' is not a time" --db "$DB" --now later "$SEED"
bad_param "bad format" "--format: 'xml' is not json, dot, stix or table" --db "$DB" --format xml "$SEED"
bad_param "unknown option" 'Try `infrapivot pivot --help`' --db "$DB" --colour red "$SEED"
bad_param "no database" 'no database at' --db "$WORK/none" "$SEED"

# an unknown seed is not an error
P nothing-here.example >"$WORK/n.json" 2>"$WORK/n.err"
check_eq "unknown seed: exit 0" "$?" 0
check_grep "unknown seed: message" 'nothing is linked to nothing-here.example' "$WORK/n.err"

finish
