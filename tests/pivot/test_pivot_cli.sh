# test_pivot_cli.sh - `infrapivot pivot` end to end on the hunt scenario:
# every output format, DOT rendered by Graphviz without a warning, the STIX
# bundle validated against the OASIS schemas, byte-identical reruns, and a
# clear message for every bad parameter.
. "$(dirname "$0")/../lib.sh"
: "${MKSCENARIO:?MKSCENARIO must name the pivot_mkscenario tool}"

test_store DB db # a directory, or a cluster database (tests/lib.sh)
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

# the renderings of a Google-like certificate: a long subject with the CN
# last, wildcard SAN names; and a resolution seen in one second
GS=$WORK/gs
mkdir -p "$GS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$GS/k.pem" \
	-out "$GS/c.pem" -days 365 -addext "subjectAltName=DNS:*.gstatic.com,DNS:gstatic.com,DNS:*.metric.gstatic.com" \
	-subj "/C=US/ST=California/L=Mountain View/O=Google Inc/OU=A Rather Long Organisational Unit Name/CN=*.gstatic.com" \
	2>"$GS/openssl.err" || { cat "$GS/openssl.err"; bad "openssl req failed"; }
touch -d 2026-10-20T00:00:00Z "$GS/c.pem" # the sighting's time
"$INFRAPIVOT" ingest -q --db "$GS/db" --format x509 --ip 192.0.2.77 "$GS/c.pem" >/dev/null 2>&1
cat >"$GS/dns.ndjson" <<'EOF2'
{"rrname":"gstatic.com","rrtype":"A","rdata":"192.0.2.77","time_first":1790000000,"time_last":1790086400}
{"rrname":"once.gstatic-cdn.example","rrtype":"A","rdata":"192.0.2.77","time_first":1790000000,"time_last":1790000000}
EOF2
"$INFRAPIVOT" ingest -q --db "$GS/db" "$GS/dns.ndjson" >/dev/null 2>&1
GP() { "$INFRAPIVOT" pivot --db "$GS/db" --now 2026-11-01 192.0.2.77 "$@"; }
GP --format dot >"$GS/g.dot" 2>/dev/null
check_grep "dot: the CN first, then the rest of the subject" 'CN=\*\.gstatic\.com, C=US, ST=California, L=Mountain View, O=Google Inc, OU=A Rat\.\.\.' "$GS/g.dot"
check_grep "dot: a legend" 'subgraph cluster_legend' "$GS/g.dot"
for k in 'legend_domain \[shape=ellipse' 'legend_ip \[shape=box' 'legend_cert \[shape=note' \
	'legend_seed .*fillcolor=gold' 'legend_pruned .*style=dashed' 'legend_seed -> legend_pruned .*style=dashed'; do
	check_grep "dot legend: $k" "$k" "$GS/g.dot"
done
if command -v dot >/dev/null; then
	dot -Tsvg -o "$GS/g.svg" "$GS/g.dot" 2>"$GS/dot.err"
	check_eq "dot (legend, long subject): no warnings" "$(cat "$GS/dot.err")" ""
	check_grep "dot: the legend is drawn" '>legend<' "$GS/g.svg"
fi
GP --format stix >"$GS/s.json" 2>/dev/null
GP --format json >"$GS/p.json" 2>/dev/null
check "stix (wildcard names) validates" "$VALIDATE" "$GS/s.json"
check "stix: wildcards are not domain-name objects; a grouping by infrapivot; resolves-to times" \
	python3 - "$GS/s.json" "$GS/p.json" "$WORK/s.json" <<'EOF2'
import json, sys
b = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2]))
objs = b["objects"]
by_type = lambda t: [o for o in objs if o["type"] == t]
# RFC 1034: no wildcard in a domain-name
assert all("*" not in o["value"] for o in by_type("domain-name")), by_type("domain-name")
assert {o["value"] for o in by_type("domain-name")} == {"gstatic.com", "once.gstatic-cdn.example"}
wild = by_type("x-infrapivot-wildcard-name")
assert sorted(o["value"] for o in wild) == ["*.gstatic.com", "*.metric.gstatic.com"], wild
cert = by_type("x509-certificate")[0]
assert sorted(cert["x_infrapivot_wildcard_names"]) == ["*.gstatic.com", "*.metric.gstatic.com"]
rels = by_type("relationship")
for w in wild:
    assert [r for r in rels if r["source_ref"] == cert["id"] and r["target_ref"] == w["id"]], w
# seen once: stop_time one second after start_time
once = [r for r in rels if r["relationship_type"] == "resolves-to" and
        r["source_ref"] == [o for o in by_type("domain-name") if o["value"].startswith("once")][0]["id"]][0]
assert (once["start_time"], once["stop_time"]) == ("2026-09-21T14:13:20Z", "2026-09-21T14:13:21Z"), once
for f in sys.argv[1], sys.argv[3]:
    objs = json.load(open(f))["objects"]
    by_type = lambda t: [o for o in objs if o["type"] == t]
    ident = by_type("identity")
    assert len(ident) == 1 and ident[0]["name"] == "infrapivot" and ident[0]["identity_class"] == "system"
    groups = by_type("grouping")
    assert len(groups) == 1, groups
    g = groups[0]
    assert g["context"] == "suspicious-activity" and g["created_by_ref"] == ident[0]["id"], g
    others = {o["id"] for o in objs if o["type"] not in ("identity", "grouping")}
    assert set(g["object_refs"]) == others and len(g["object_refs"]) == len(others), g
    rels = by_type("relationship")
    assert rels and all(r["created_by_ref"] == ident[0]["id"] for r in rels)
    res = [r for r in rels if r["relationship_type"] == "resolves-to"]
    assert res and all(r["stop_time"] > r["start_time"] for r in res), res
# the times are the edges' first and last seen
edges = {(e["first_seen"], e["last_seen"]) for e in p["edges"] if e["type"] == "resolves"}
assert ("2026-09-21T14:13:20Z", "2026-09-22T14:13:20Z") in edges, edges
b1 = json.load(open(sys.argv[1]))["objects"]
assert [r for r in b1 if r["type"] == "relationship" and r.get("start_time") == "2026-09-21T14:13:20Z"
        and r.get("stop_time") == "2026-09-22T14:13:20Z"]
EOF2

# MISP: an event of MISP's standard objects, each as its template wants
MISPCHECK="$TESTS_DIR/tools/misp-check"
P "$SEED" --depth 4 --format misp >"$WORK/m.json" 2>/dev/null
P "$SEED" --depth 4 --format misp >"$WORK/m2.json" 2>/dev/null
check "misp is byte-identical" cmp -s "$WORK/m.json" "$WORK/m2.json"
check "misp: objects conform to the misp-objects templates" "$MISPCHECK" --seen domain-ip,ip-port "$WORK/m.json"
GP --format misp >"$GS/m.json" 2>/dev/null
check "misp (wildcards): objects conform" "$MISPCHECK" --seen domain-ip,ip-port "$GS/m.json"
# the certificate's key is a node (issue 15): in the DOT legend, and in
# MISP an event attribute saying what it is (no standard object has one)
check_grep "dot legend: the key kind when the graph has a key" 'legend_key \[shape=hexagon' "$GS/g.dot"
check "misp: the key as a text attribute with its meaning" python3 -c '
import json, sys
ev = json.load(open(sys.argv[1]))["Event"]
keys = [a for a in ev["Attribute"] if "SubjectPublicKeyInfo" in a.get("comment", "")]
assert len(keys) == 1 and keys[0]["type"] == "text" and len(keys[0]["value"]) == 64, keys
assert not [o for o in ev["Object"] if any(len(a["value"]) == 64 and a["object_relation"] == "domain" for a in o["Attribute"])]
' "$GS/m.json"
check "misp: one object per resolution and TLS sighting, x509 per certificate" python3 - "$WORK/m.json" "$WORK/a.json" "$GS/m.json" <<'EOF2'
import json, sys
e = json.load(open(sys.argv[1]))["Event"]; p = json.load(open(sys.argv[2]))
assert e["info"] == "infrapivot: pivot from domain login-verify.duckdns.org, depth 4", e["info"]
objs = e["Object"]
by = lambda n: [o for o in objs if o["name"] == n]
rel = lambda o: [(a["object_relation"], a["value"]) for a in o["Attribute"]]
nodes = {n["id"]: n for n in p["nodes"]}
res = {(nodes[x["src"]]["value"], nodes[x["dst"]]["value"], x["first_seen"], x["last_seen"])
       for x in p["edges"] if x["type"] == "resolves"}
got = set()
for o in by("domain-ip"):
    r = dict((k, v) for k, v in rel(o) if k in ("domain", "ip"))
    if "ip" in r:
        got.add((r["domain"], r["ip"], o["first_seen"], o["last_seen"]))
assert got == res, (got ^ res)
certs = {n["sha1"]: n for n in p["nodes"] if n["type"] == "cert"}
x509 = {dict(rel(o))["x509-fingerprint-sha1"]: o for o in by("x509")}
assert set(x509) == set(certs)
serves = [x for x in p["edges"] if x["type"] == "serves"]
ipport = by("ip-port")
assert len(ipport) == len(serves)
for x in serves:
    ip, cert = nodes[x["src"]]["value"], nodes[x["dst"]]["sha1"]
    o = [o for o in ipport if ("ip", ip) in rel(o) and ("dst-port", str(x["port"])) in rel(o)]
    assert len(o) == 1, (ip, x)
    refs = o[0]["ObjectReference"]
    assert [(r["referenced_uuid"], r["relationship_type"]) for r in refs] == [(x509[cert]["uuid"], "serves")]
# the wildcard certificate: names in dns_names, wildcards in its text
g = json.load(open(sys.argv[3]))["Event"]
x = [o for o in g["Object"] if o["name"] == "x509"][0]
r = rel(x)
assert ("dns_names", "gstatic.com") in r and not [v for k, v in r if k == "dns_names" and "*" in v], r
assert ("text", "wildcard names: *.gstatic.com, *.metric.gstatic.com") in r, r
EOF2
# the checker catches what it should: a relation the template lacks, a
# missing required one, a relationship type MISP does not know
check "misp-check finds broken objects" python3 - "$WORK/m.json" "$MISPCHECK" <<'EOF2'
import json, subprocess, sys
good = json.load(open(sys.argv[1]))
def fails(mutate):
    ev = json.loads(json.dumps(good)); mutate(ev["Event"]["Object"])
    p = subprocess.run([sys.argv[2], "-"], input=json.dumps(ev), text=True, capture_output=True)
    return p.returncode == 1
o = lambda objs, n: [x for x in objs if x["name"] == n][0]
assert not fails(lambda objs: None)
assert fails(lambda objs: o(objs, "domain-ip")["Attribute"][0].update(object_relation="domain-name"))
assert fails(lambda objs: o(objs, "domain-ip").update(Attribute=[a for a in o(objs, "domain-ip")["Attribute"] if a["object_relation"] not in ("domain", "ip")]))
assert fails(lambda objs: o(objs, "ip-port")["ObjectReference"][0].update(relationship_type="hosts-cert"))
assert fails(lambda objs: o(objs, "x509").update(template_version="1"))
assert fails(lambda objs: o(objs, "x509")["Attribute"][0].update(type="sha1"))
EOF2
P nothing-here.example --format misp >"$WORK/m0.json" 2>/dev/null
check_eq "misp: a lone seed is an attribute" "$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["Event"]; print([(a["type"],a["value"]) for a in e["Attribute"]], e["Object"])' "$WORK/m0.json")" "[('domain', 'nothing-here.example')] []"

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
bad_param "bad format" "--format xml: expected json|dot|stix|table|csv|misp" --db "$DB" --format xml "$SEED"
bad_param "unknown option" 'infrapivot pivot: unknown option --colour' --db "$DB" --colour red "$SEED"
bad_param "no database" 'no database at' --db "$WORK/none" "$SEED"

# an unknown seed is not an error
P nothing-here.example >"$WORK/n.json" 2>"$WORK/n.err"
check_eq "unknown seed: exit 0" "$?" 0
check_grep "unknown seed: message" 'nothing is linked to nothing-here.example' "$WORK/n.err"

finish
