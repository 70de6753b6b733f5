#!/bin/bash
# GET /api/v1/pivot: same graph as `infrapivot pivot`, DOT and STIX,
# parameter errors, server-side caps.  Skipped (77) in builds without the
# pivot engine.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/http_lib.sh"
if ! "$INFRAPIVOT" pivot --help >/dev/null 2>&1; then
	echo "SKIP: this build has no pivot engine"
	exit 77
fi
HERE=$(cd "$(dirname "$0")" && pwd)
"$INFRAPIVOT" ingest -q --db "$DB" "$HERE/data.ndjson" >/dev/null 2>&1
# an actor name on a VPS whose other tenant has been there 600 days
cat >"$WORK/cotenant.ndjson" <<'NDJSON'
{"rrname":"actor.http.test","rrtype":"A","rdata":"203.0.113.77","time_first":1780000000,"time_last":1780500000,"count":3}
{"rrname":"tenant.http.test","rrtype":"A","rdata":"203.0.113.77","time_first":1728160000,"time_last":1780500000,"count":90}
NDJSON
"$INFRAPIVOT" ingest -q --db "$DB" "$WORK/cotenant.ndjson" >/dev/null 2>&1
B=$WORK/body
start_server --pivot-max-nodes 3 || exit 1

# same graph as the CLI (within the server's caps)
check_eq "pivot" "$(status GET "$U/api/v1/pivot?seed=www.example.com&depth=2&max_nodes=3")" 200
"$INFRAPIVOT" pivot --db "$DB" www.example.com --depth 2 --max-nodes 3 >"$WORK/cli.json" 2>/dev/null
check_eq "same nodes and edges as the CLI" \
	"$(jget "$B" "json.dumps([j['nodes'], j['edges'], j['truncated']], sort_keys=True)")" \
	"$(jget "$WORK/cli.json" "json.dumps([j['nodes'], j['edges'], j['truncated']], sort_keys=True)")"
check_eq "max_nodes capped by the server" "$(status GET "$U/api/v1/pivot?seed=www.example.com&depth=2&max_nodes=9999")" 200
check "capped node count" [ "$(jget "$B" "len(j['nodes'])")" -le 3 ]
curl -s -D "$WORK/h" -o "$B" "$U/api/v1/pivot?seed=192.0.2.10&depth=2&format=dot"
check_grep "dot content type" "Content-Type: text/vnd.graphviz" "$WORK/h"
check_grep "dot body" "graph" "$B"
check_eq "stix" "$(status GET "$U/api/v1/pivot?seed=192.0.2.10&format=stix")" 200
check_eq "stix bundle" "$(jget "$B" "j['type']")" bundle
check_eq "misp" "$(status GET "$U/api/v1/pivot?seed=192.0.2.10&format=misp" -D "$WORK/h")" 200
check_grep "misp content type" "Content-Type: application/json" "$WORK/h"
check "misp objects conform to their templates" "$TESTS_DIR/tools/misp-check" --seen domain-ip,ip-port "$B"
check_eq "misp: the pivot's event" "$(jget "$B" "j['Event']['info']")" "infrapivot: pivot from ip 192.0.2.10, depth 3"
check_eq "missing seed" "$(status GET "$U/api/v1/pivot?depth=2")" 400
check_grep "seed named" '"message":"seed:' "$B"
check_eq "bad depth" "$(status GET "$U/api/v1/pivot?seed=www.example.com&depth=99")" 400
check_grep "depth named" 'depth' "$B"
check_eq "bad edges" "$(status GET "$U/api/v1/pivot?seed=www.example.com&edges=teleport")" 400
check_eq "bad format" "$(status GET "$U/api/v1/pivot?seed=www.example.com&format=svg")" 400
check_eq "unknown parameter" "$(status GET "$U/api/v1/pivot?seed=www.example.com&color=red")" 400
check_grep "unknown named" '"message":"color:' "$B"
check_eq "bad seed" "$(status GET "$U/api/v1/pivot?seed=not..valid")" 400

# temporal affinity: on by default, a threshold, switched off
TENANT="[n['pruned'] for n in j['nodes'] if n['value'] == 'tenant.http.test']"
check_eq "affinity" "$(status GET "$U/api/v1/pivot?seed=actor.http.test&depth=2")" 200
check_eq "affinity: the co-tenant is pruned" "$(jget "$B" "$TENANT")" "['co_tenant']"
check_grep "affinity: the reason" '"pruned_detail":"co-tenant: on 203.0.113.77 since 2024-10-05, 600 days before the path arrived"' "$B"
check_eq "max_cotenant_days" "$(status GET "$U/api/v1/pivot?seed=actor.http.test&depth=2&max_cotenant_days=600")" 200
check_eq "max_cotenant_days: 600 is not more than 600" "$(jget "$B" "$TENANT")" "[None]"
check_eq "max_cotenant_days: in params" "$(jget "$B" "j['params']['max_cotenant_days']")" 600
check_eq "no_affinity" "$(status GET "$U/api/v1/pivot?seed=actor.http.test&depth=2&no_affinity=1")" 200
check_eq "no_affinity: followed" "$(jget "$B" "$TENANT")" "[None]"
check_eq "no_affinity: in params" "$(jget "$B" "j['params']['affinity']")" False
check_eq "bare no_affinity" "$(status GET "$U/api/v1/pivot?seed=actor.http.test&depth=2&no_affinity")" 200
check_eq "bare no_affinity: followed" "$(jget "$B" "$TENANT")" "[None]"
check_eq "dot with a co-tenant" "$(status GET "$U/api/v1/pivot?seed=actor.http.test&depth=2&format=dot")" 200
check_grep "dot: co-tenant style" 'darkorange3' "$B"
check_eq "bad max_cotenant_days" "$(status GET "$U/api/v1/pivot?seed=actor.http.test&max_cotenant_days=soon")" 400
check_grep "max_cotenant_days named" '"message":"max_cotenant_days: .soon. is not a non-negative whole number' "$B"
check_eq "max_cotenant_days too big" "$(status GET "$U/api/v1/pivot?seed=actor.http.test&max_cotenant_days=99999")" 400
check_grep "max_cotenant_days range" 'out of range \(0 to 36500\)' "$B"
check_eq "bad no_affinity" "$(status GET "$U/api/v1/pivot?seed=actor.http.test&no_affinity=maybe")" 400
check_grep "no_affinity named" '"message":"no_affinity: .maybe. is not 1, true, 0 or false' "$B"
stop_server
finish
