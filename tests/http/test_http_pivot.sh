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
stop_server
finish
