#!/usr/bin/env bash
# test_watch_cli.sh - `infrapivot watchlist` end to end: pivot-to-watchlist
# from the hunt scenario's seed (exactly the non-pruned cluster, each entry
# with its path), standing pivots through `infrapivot ingest` (a watched
# certificate on a new IP joins with auto provenance; on a shared-hosting
# IP it is counted, not added), version deltas across adds, removals and
# expiries with --now, and every export format (exact Zeek header, valid
# Suricata datasets, STIX through the OASIS schemas).
. "$(dirname "$0")/../lib.sh"
: "${MKSCENARIO:?MKSCENARIO must name the pivot_mkscenario tool}"
VALIDATE="$TESTS_DIR/tools/stix-validate"
IP=$INFRAPIVOT
W() { "$IP" watchlist "$@"; }
# Each part's store is a directory, or a cluster database (tests/lib.sh).
# On ClickHouse the standing pivots are the watch sweep's (docs/scale-out.md,
# "The watch sweep"), not the write's: ING ingests, then sweeps there.
swept() {
	on_clickhouse || return 0
	W sweep >"$WORK/sweep.out" 2>&1 || bad "watchlist sweep: $(cat "$WORK/sweep.out")"
}
ING() { "$IP" ingest -q "$@" 2>/dev/null; swept; }

# --- help for every subcommand
"$IP" --help >"$WORK/help" 2>&1
check_grep "top-level help lists watchlist" "^  watchlist " "$WORK/help"
W --help >"$WORK/help" 2>&1
check_eq "watchlist --help exit" "$?" 0
for sub in create list show add remove delete pivot export; do
	check_grep "help describes $sub" "^  $sub " "$WORK/help"
	W "$sub" --help >"$WORK/h2" 2>&1
	check_eq "watchlist $sub --help exit" "$?" 0
	check_grep "watchlist $sub --help" "Usage: infrapivot watchlist" "$WORK/h2"
done
check_rc "unknown subcommand" 2 W frobnicate
check_rc "no subcommand" 2 W

# --- pivot to watchlist on the hunt scenario
test_store DB scn
"$MKSCENARIO" "$DB" >/dev/null || { echo "mkscenario failed"; exit 1; }
SEED=login-verify.duckdns.org
export INFRAPIVOT_DB="$DB"
"$IP" pivot "$SEED" --depth 4 >"$WORK/pivot.json" 2>/dev/null
check "pivot json" test -s "$WORK/pivot.json"
W create hunt --description "scenario cluster" >"$WORK/out" 2>&1
check_eq "create exit" "$?" 0
check_grep "create says created" "created watchlist hunt \(version 1\)" "$WORK/out"
W pivot hunt "$SEED" --depth 4 --dry-run >"$WORK/dry" 2>&1
check_grep "dry run reports" "would add" "$WORK/dry"
W export hunt --format text >"$WORK/t0"
check_eq "dry run adds nothing" "$(wc -l <"$WORK/t0")" 0
W pivot hunt "$SEED" --depth 4 --dry-run --no-affinity --max-cotenant-days 30 >"$WORK/dry2" 2>&1
check_eq "pivot takes the affinity options" "$?" 0
W pivot hunt "$SEED" --max-cotenant-days soon >"$WORK/bad" 2>&1
check_eq "bad --max-cotenant-days: exit" "$?" 2
check_grep "bad --max-cotenant-days: message" "--max-cotenant-days: 'soon' is not a non-negative whole number" "$WORK/bad"
W pivot hunt "$SEED" --depth 4 --reason "incident 42" >"$WORK/out" 2>&1
check_eq "watchlist pivot exit" "$?" 0
check_grep "pivot summary" "hunt: added [0-9]+, refreshed 0, pruned \(not added\) [0-9]+ \(version 2\)" "$WORK/out"
W export hunt >"$WORK/hunt.json"
check "cluster = the pivot's non-pruned nodes, each with its path" python3 - "$WORK/pivot.json" "$WORK/hunt.json" "$SEED" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1])); w = json.load(open(sys.argv[2])); seed = sys.argv[3]
nodes = {n["id"]: n for n in p["nodes"]}
want = {(n["type"], n["value"]): n for n in p["nodes"] if n["pruned"] is None}
got = {(e["type"], e["indicator"]): e for e in w["entries"]}
assert set(got) == set(want), (sorted(set(want) - set(got)), sorted(set(got) - set(want)))
pruned = [(n["type"], n["value"]) for n in p["nodes"] if n["pruned"] is not None]
assert pruned and not (set(pruned) & set(got)), pruned
for key, e in got.items():
    n = want[key]
    assert e["source"] == "pivot from " + seed, e["source"]
    assert e["reason"] == "incident 42"
    prov = e["provenance"]
    assert len(prov) == 1 and prov[0]["note"].startswith("pivot from " + seed), prov
    path = prov[0]["path"]
    assert len(path) == len(n["path"]), (key, path, n["path"])
    cur = seed
    for hop, eid in zip(path, n["path"]):
        edge = p["edges"][eid]
        assert edge["id"] == eid and hop["edge"] == edge["type"], (hop, edge)
        assert hop["from"] == cur, (key, hop, cur)
        assert hop["first_seen"] == edge["first_seen"] and hop["last_seen"] == edge["last_seen"]
        cur = hop["to"]
    assert cur == key[1], (key, path)
assert w["version"] == 2
print(len(got), "entries;", len(pruned), "pruned nodes left out")
EOF
for v in 198.51.100.10 203.0.113.21 203.0.113.25 portal.verify-id.online; do
	check_grep "actor node $v on the list" "\"indicator\":\"$v\"" "$WORK/hunt.json"
done
W pivot hunt "$SEED" --depth 4 >"$WORK/out" 2>&1
check_grep "pivot again refreshes" "hunt: added 0, refreshed [1-9][0-9]*, .* \(version 3\)" "$WORK/out"
W export hunt >"$WORK/hunt2.json"
check "refresh keeps the first provenance and adds the latest" python3 -c '
import json,sys
w=json.load(open(sys.argv[1]))
for e in w["entries"]:
    assert len(e["provenance"]) == 2, e
    assert e["provenance"][0]["note"] != e["provenance"][1]["note"] or True
' "$WORK/hunt2.json"
W show hunt >"$WORK/show" 2>&1
check_grep "show: version" "watchlist hunt  version 3" "$WORK/show"
check_grep "show: path" "login-verify.duckdns.org -resolves-> 198.51.100.10" "$WORK/show"
# each hop in the relationship's own direction, whichever way the walk went
check_grep "show: a domain resolves to the IP" "account-check.example-actor.net -resolves-> 203.0.113.21" "$WORK/show"
check_grep "show: the IP serves the certificate" "203.0.113.21 -serves-> [0-9a-f]{40}" "$WORK/show"
check_grep "show: the alias is a CNAME of the seed" "portal.verify-id.online -cname-> login-verify.duckdns.org" "$WORK/show"
check "show: no hop printed backwards" python3 - "$WORK/show" <<'EOF2'
import re, sys, ipaddress
def kind(v):
    try:
        ipaddress.ip_address(v); return "ip"
    except ValueError:
        return "cert" if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", v) else "domain"
want = {"resolves": ("domain", "ip"), "serves": ("ip", "cert"), "san": ("cert", "domain"),
        "sni": ("domain", "cert"), "cname": ("domain", "domain")}
n = 0
for line in open(sys.argv[1]):
    m = re.match(r"\s+(\S+) -(\w+)-> (\S+)  \(seen", line)
    if m:
        n += 1
        assert (kind(m[1]), kind(m[3])) == want[m[2]], line
assert n > 10, n
EOF2
W show hunt --json >"$WORK/show.json"
check "show --json: src and dst in the relationship's direction" python3 -c '
import json,sys
j=json.load(open(sys.argv[1]))
want={"resolves":("domain","ip"),"serves":("ip","cert"),"san":("cert","domain"),"sni":("domain","cert")}
n=0
for e in j["entries"]:
    for p in e["provenance"]:
        for h in p["path"]:
            t={h["from"]:h["from_type"],h["to"]:h["to_type"]}
            assert {h["src"],h["dst"]}=={h["from"],h["to"]}, h
            if h["edge"] in want:
                assert (t[h["src"]],t[h["dst"]])==want[h["edge"]], h; n+=1
            else:
                assert (h["src"],h["dst"])==("portal.verify-id.online","login-verify.duckdns.org"), h
assert n>10
' "$WORK/show.json"
check "show --json parses" python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["watchlist"]["name"]=="hunt" and j["entries"]' "$WORK/show.json"

# --- exports of the cluster
W export hunt --format zeek >"$WORK/intel.dat"
check_eq "zeek: exact header" "$(head -1 "$WORK/intel.dat")" "$(printf '#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc')"
check "zeek: every row has 4 fields and a known type" python3 - "$WORK/intel.dat" <<'EOF'
import sys, re, ipaddress
rows = open(sys.argv[1]).read().split("\n")
assert rows[-1] == "" and len(rows) > 3
types = set()
for r in rows[1:-1]:
    f = r.split("\t")
    assert len(f) == 4, r
    types.add(f[1])
    if f[1] == "Intel::ADDR": ipaddress.ip_address(f[0])
    elif f[1] == "Intel::CERT_HASH": assert re.fullmatch("[0-9a-f]{40}", f[0]), f[0]
    elif f[1] == "Intel::DOMAIN": assert re.fullmatch(r"[a-z0-9._-]+", f[0]), f[0]
    else: raise AssertionError(f[1])
    assert f[2] == "infrapivot:hunt", f[2]
    assert f[3] and "\t" not in f[3]
assert types == {"Intel::ADDR", "Intel::DOMAIN", "Intel::CERT_HASH"}, types
EOF
for t in ip domain cert; do
	W export hunt --format suricata --type "$t" >"$WORK/ds.$t"
	check_eq "suricata $t exit" "$?" 0
done
check "suricata datasets: addresses, base64 names, base64 colon fingerprints" python3 - "$WORK" <<'EOF'
import sys, base64, ipaddress, re, json
d = sys.argv[1]
w = json.load(open(d + "/hunt.json"))
want = {t: sorted(e["indicator"] for e in w["entries"] if e["type"] == t) for t in ("ip", "domain", "cert")}
ips = open(d + "/ds.ip").read().split()
for a in ips: ipaddress.ip_address(a)
assert sorted(ips) == want["ip"]
names = [base64.b64decode(l, validate=True).decode() for l in open(d + "/ds.domain").read().split()]
assert sorted(names) == want["domain"], names
fps = [base64.b64decode(l, validate=True).decode() for l in open(d + "/ds.cert").read().split()]
for f in fps: assert re.fullmatch("([0-9a-f]{2}:){19}[0-9a-f]{2}", f), f
assert sorted(f.replace(":", "") for f in fps) == want["cert"]
EOF
W export hunt --format suricata >/dev/null 2>"$WORK/err"
check_eq "suricata without --type" "$?" 2
check_grep "suricata needs a type" "give type=ip, domain or cert" "$WORK/err"
W export hunt --format misp >"$WORK/hunt.misp"
check "misp objects conform to their templates" "$TESTS_DIR/tools/misp-check" --seen domain-ip,ip-port "$WORK/hunt.misp"
check "misp: each entry an attribute for sensors, each provenance hop an object" python3 - "$WORK/hunt.misp" "$WORK/hunt2.json" <<'EOF'
import json, sys
e = json.load(open(sys.argv[1]))["Event"]; w = json.load(open(sys.argv[2]))
assert e["info"].startswith("infrapivot watchlist hunt (version "), e["info"]
assert sorted(a["value"] for a in e["Attribute"]) == sorted(x["indicator"] for x in w["entries"])
assert all(a["to_ids"] for a in e["Attribute"])
rel = lambda o: [(a["object_relation"], a["value"]) for a in o["Attribute"]]
want = set()
for x in w["entries"]:
    for h in x["provenance"][-1]["path"]:
        if h["edge"] == "resolves":
            want.add((h["src"], h["dst"], h["first_seen"], h["last_seen"]))
got = {(dict(rel(o))["domain"], dict(rel(o))["ip"], o["first_seen"], o["last_seen"])
       for o in e["Object"] if o["name"] == "domain-ip" and "ip" in dict(rel(o))}
assert want and got == want, want ^ got
assert [o for o in e["Object"] if o["name"] == "ip-port" and o["ObjectReference"][0]["relationship_type"] == "serves"]
EOF
W export hunt --format stix >"$WORK/hunt.stix"
check "stix validates" "$VALIDATE" "$WORK/hunt.stix"
check "stix: one indicator per entry with patterns" python3 - "$WORK/hunt.stix" "$WORK/hunt.json" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1])); w = json.load(open(sys.argv[2]))
objs = b["objects"]
assert len(objs) == len(w["entries"])
pats = {o["pattern"] for o in objs}
for e in w["entries"]:
    if e["type"] == "cert":
        assert "[x509-certificate:hashes.'SHA-1' = '%s']" % e["indicator"] in pats
    elif e["type"] == "domain":
        assert "[domain-name:value = '%s']" % e["indicator"] in pats
    else:
        kind = "ipv6-addr" if ":" in e["indicator"] else "ipv4-addr"
        assert "[%s:value = '%s']" % (kind, e["indicator"]) in pats
for o in objs:
    assert o["valid_until"] > o["valid_from"]
EOF
W export hunt --format text --type ip >"$WORK/ips"
check "text: one IP a line" python3 -c '
import ipaddress,sys
l=open(sys.argv[1]).read().split("\n")
assert l[-1]=="" and len(l)>2
for a in l[:-1]: ipaddress.ip_address(a)
' "$WORK/ips"

# --- standing pivots through `infrapivot ingest`
test_store SP sp
export INFRAPIVOT_DB="$SP"
CERT=abcdefabcdefabcdefabcdefabcdefabcdef0001
CERT_C=$(echo "$CERT" | sed 's/../&:/g; s/:$//' | tr a-f A-F)
{
	echo '{"rrname":"c2.actor.example","rrtype":"A","rdata":"198.51.100.1","time_first":1790000000,"time_last":1790000000}'
	echo "{\"ip\":\"198.51.100.1\",\"port\":443,\"cert_sha1\":\"$CERT\",\"time_first\":1790000000,\"time_last\":1790000000,\"sensor_id\":\"s1\"}"
} >"$WORK/sp0.ndjson"
"$IP" ingest -q "$WORK/sp0.ndjson" 2>/dev/null # before any list: no sweep yet
# the sweep places a row against an entry by the second: the entry is
# added once the clock has passed the second sp0's rows were written in,
# so they are before it (LMDB's hook never links them)
if on_clickhouse; then
	t=$(date +%s)
	while [ "$(date +%s)" = "$t" ]; do sleep 0.05; done
fi
W create standing --auto-expand serves,resolves --auto-ttl-days 7 >/dev/null 2>&1
W add standing "$CERT_C" --reason "actor certificate" >"$WORK/out" 2>&1
check_grep "add a certificate (colon form accepted)" "standing: added 1, refreshed 0 \(version 2\)" "$WORK/out"
echo "{\"ip\":\"198.51.100.2\",\"port\":8443,\"cert_sha1\":\"$CERT\",\"time_first\":1790100000,\"time_last\":1790100500,\"sensor_id\":\"edge-7\"}" >"$WORK/sp1.ndjson"
ING "$WORK/sp1.ndjson"
W export standing >"$WORK/sp.json"
check "the new IP is on the list with auto provenance" python3 - "$WORK/sp.json" "$CERT" <<'EOF'
import json, sys
w = json.load(open(sys.argv[1])); cert = sys.argv[2]
e = [x for x in w["entries"] if x["indicator"] == "198.51.100.2"]
assert len(e) == 1, w
e = e[0]
assert e["type"] == "ip" and e["source"] == "auto", e
note = e["provenance"][0]["note"]
assert note == "auto: serves with %s, seen 2026-09-22T18:08:20Z by edge-7" % cert, note
hop = e["provenance"][0]["path"][-1]
assert hop == {"edge": "serves", "from": cert, "from_type": "cert", "to": "198.51.100.2",
               "to_type": "ip", "first_seen": "2026-09-22T18:00:00Z",
               "last_seen": "2026-09-22T18:08:20Z", "src": "198.51.100.2", "dst": cert,
               "port": 8443}, hop
assert w["version"] == 3
EOF
# a shared-hosting IP: 150 names on it, then the watched certificate
python3 - "$WORK/sp2.ndjson" "$CERT" <<'EOF'
import sys, json
with open(sys.argv[1], "w") as f:
    for i in range(150):
        f.write(json.dumps({"rrname": "site%d.hoster.example" % i, "rrtype": "A", "rdata": "203.0.113.77",
                            "time_first": 1790000000, "time_last": 1790000000}) + "\n")
    f.write(json.dumps({"ip": "203.0.113.77", "port": 443, "cert_sha1": sys.argv[2],
                        "time_first": 1790200000, "time_last": 1790200000, "sensor_id": "edge-7"}) + "\n")
EOF
ING "$WORK/sp2.ndjson"
W export standing --format text >"$WORK/sp.txt"
if grep -q 203.0.113.77 "$WORK/sp.txt"; then bad "shared-hosting IP was added"; else ok; fi
W show standing >"$WORK/show" 2>&1
check_grep "show: counted, not added" "standing pivot  added 1; not added \(noise limits, co-tenants\) 1" "$WORK/show"
check_grep "show: why" "203.0.113.77 \(ip\): shared hosting, 150 names > 100" "$WORK/show"
W list --json >"$WORK/list.json"
check "list --json carries the counters" python3 -c '
import json,sys
l={w["name"]: w for w in json.load(open(sys.argv[1]))["watchlists"]}
sp=l["standing"]["standing_pivot"]
assert sp["added"]==1 and sp["noise_skipped"]==1, sp
assert l["standing"]["auto_expand"]["edges"]==["resolves","serves"], l
assert l["standing"]["auto_expand"]["ttl_days"]==7
' "$WORK/list.json"
# the auto-added IP is generation 1: not expanded further by default
echo '{"rrname":"new.actor.example","rrtype":"A","rdata":"198.51.100.2","time_first":1790300000,"time_last":1790300000}' >"$WORK/sp3.ndjson"
ING "$WORK/sp3.ndjson"
W export standing --format text >"$WORK/sp.txt"
if grep -q new.actor.example "$WORK/sp.txt"; then bad "generation 2 added by default"; else ok; fi
W create standing --auto-generations 2 >/dev/null 2>&1
ING "$WORK/sp3.ndjson"
W export standing --format text >"$WORK/sp.txt"
check_grep "with --auto-generations 2 the chain goes on" "^new.actor.example$" "$WORK/sp.txt"
# follow mode on a Suricata EVE log: the same hook (every write goes through the store)
FP=$(echo "$CERT" | sed 's/../&:/g; s/:$//')
echo "{\"timestamp\":\"2026-09-22T18:00:00.000000+0000\",\"flow_id\":1,\"event_type\":\"tls\",\"src_ip\":\"10.0.0.5\",\"src_port\":50000,\"dest_ip\":\"198.51.100.4\",\"dest_port\":443,\"proto\":\"TCP\",\"tls\":{\"subject\":\"CN=x.example\",\"issuerdn\":\"CN=x.example\",\"fingerprint\":\"$FP\",\"version\":\"TLS 1.2\"}}" >"$WORK/eve.json"
check_rc "follow an EVE log" 0 "$IP" ingest --follow "$WORK/eve.json" --exit-idle 1 --poll 20
swept
check_grep "follow mode: the new IP joined" "^198.51.100.4$" <(W export standing --format text)
# a watched domain resolving to a new IP (resolves)
W add standing c2.actor.example >/dev/null 2>&1
echo '{"rrname":"c2.actor.example","rrtype":"A","rdata":"198.51.100.60","time_first":1790500000,"time_last":1790500000,"sensor_id":"dns-1"}' >"$WORK/sp5.ndjson"
ING "$WORK/sp5.ndjson"
W export standing >"$WORK/sp5.json"
check "watched domain on a new IP: the IP joined" python3 -c '
import json,sys
e=[x for x in json.load(open(sys.argv[1]))["entries"] if x["indicator"]=="198.51.100.60"]
assert len(e)==1 and e[0]["source"]=="auto", e
assert e[0]["provenance"][0]["note"].startswith("auto: resolves with c2.actor.example, seen "), e
assert e[0]["provenance"][0]["note"].endswith(" by dns-1"), e
' "$WORK/sp5.json"
# a list without the rule does not grow
W create quiet >/dev/null 2>&1
W add quiet "$CERT" >/dev/null 2>&1
echo "{\"ip\":\"198.51.100.3\",\"port\":443,\"cert_sha1\":\"$CERT\",\"time_first\":1790400000,\"time_last\":1790400000}" >"$WORK/sp4.ndjson"
ING "$WORK/sp4.ndjson"
check_eq "no rule, no growth" "$(W export quiet --format text)" "$CERT"
check_grep "standing list grew" "^198.51.100.3$" <(W export standing --format text)

# --- versions and deltas across adds, removals and expiries (--now)
test_store SYNC sync
export INFRAPIVOT_DB="$SYNC"
T=1893456000 # 2030-01-01
H=3600
D=86400
W create sync --ttl-days 1 --now $T >/dev/null 2>&1
W add sync a.example b.example --now $T >/dev/null 2>&1
W add sync c.example --ttl-days 10 --now $((T + H)) >/dev/null 2>&1
W remove sync b.example --now $((T + 2 * H)) >"$WORK/out" 2>&1
check_grep "remove summary" "sync: removed 1, not on the list 0 \(version 4\)" "$WORK/out"
W remove sync nothere.example --now $((T + 2 * H)) >/dev/null 2>&1
check_eq "remove of an absent indicator: exit 1" "$?" 1
delta() { W export sync --since-version "$1" --now "$2"; }
j() { python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
check_eq "delta since 2: c added" "$(delta 2 $((T + 3 * H)) | j '[e["indicator"] for e in j["entries"]]')" "['c.example']"
check_eq "delta since 2: b removed" "$(delta 2 $((T + 3 * H)) | j '[(r["indicator"], r["reason"], r["version"]) for r in j["removed"]]')" "[('b.example', 'removed', 4)]"
check_eq "version before the expiry" "$(W export sync --now $((T + D - 1)) | j 'j["version"]')" 4
check_eq "a still there 1 s before" "$(W export sync --format text --now $((T + D - 1)) | tr '\n' ' ')" "a.example c.example "
check_eq "a gone at its expiry, no job run" "$(W export sync --format text --now $((T + D)) | tr '\n' ' ')" "c.example "
check_eq "expiry bumps the version" "$(W export sync --now $((T + D)) | j 'j["version"]')" 5
check_eq "delta since 4: a expired as version 5" "$(delta 4 $((T + 2 * D)) | j '[(r["indicator"], r["reason"], r["version"]) for r in j["removed"]] + [len(j["entries"])]')" "[('a.example', 'expired', 5), 0]"
check_eq "delta since 5: nothing" "$(delta 5 $((T + 2 * D)) | j 'len(j["entries"]) + len(j["removed"])')" 0
W add sync d.example --now $((T + 2 * D)) >"$WORK/out" 2>&1
check_grep "the next write comes after the expiry's number" "version 6" "$WORK/out"
check_eq "delta since 4 after the write: same numbering" "$(delta 4 $((T + 2 * D)) | j '[(r["indicator"], r["version"]) for r in j["removed"]] + [(e["indicator"], e["version"]) for e in j["entries"]]')" "[('a.example', 5), ('d.example', 6)]"
check_eq "stix delta validates" "$(delta 2 $((T + 2 * D)) >/dev/null; W export sync --format stix --since-version 2 --now $((T + 2 * D)) | "$VALIDATE" - | tail -1)" "4 objects, 0 errors"
W export sync --format stix --since-version 2 --now $((T + 2 * D)) >"$WORK/d.stix"
check "stix delta: the removal is revoked" python3 -c '
import json,sys
o={x["name"]: x for x in json.load(open(sys.argv[1]))["objects"]}
assert o["b.example"].get("revoked") is True, o
assert "revoked" not in o["a.example"] and o["a.example"]["valid_until"].startswith("2030-01-02")
' "$WORK/d.stix"
W export sync --format text --since-version 2 >/dev/null 2>"$WORK/err"
check_eq "since-version with text: usage error" "$?" 2
check_grep "since-version names the formats" "json and stix" "$WORK/err"
check_eq "a stale since-version gets the full list" "$(delta 999 $((T + 2 * D)) | j 'j["full"]')" True

# --- errors
check_rc "bad list name" 2 W create 'bad/name'
check_rc "unknown list" 2 W add nope a.example
W add sync 'bad..name' >/dev/null 2>"$WORK/err"
check_eq "bad indicator exit" "$?" 2
check_grep "bad indicator message" "'bad..name' is not a domain, an IP or a certificate hash" "$WORK/err"
check_rc "typed mismatch" 2 W add sync example.com --type ip
check_rc "option that does not apply" 2 W list --reason x
check_rc "bad edge" 2 W create sync --auto-expand serves,bogus
printf 'e1.example\n# comment\n\n192.0.2.55\n' | W add sync - --now $((T + 2 * D)) >"$WORK/out" 2>&1
check_grep "indicators from stdin" "sync: added 2" "$WORK/out"
W delete sync >/dev/null 2>&1
check_eq "delete exit" "$?" 0
check_rc "deleted list is gone" 2 W show sync
W create sync --now $((T + 3 * D)) >/dev/null 2>&1
check "a list made again starts above the old versions" test "$(W export sync --now $((T + 3 * D)) | j 'j["version"]')" -gt 7
finish
