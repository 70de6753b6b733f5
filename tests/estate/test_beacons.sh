#!/bin/bash
# test_beacons.sh [zeek|eve] - scripts/gen-estate's week of several
# organisations, ingested from Zeek logs (or EVE): the planted beacons
# rank above every decoy with the right counts and periods; lookup
# --clients, sensor organisations and --no-clients work.
. "$(dirname "$0")/../lib.sh"
MODE=${1:-zeek}
ROOT=$(cd "$TESTS_DIR/.." && pwd)
DB="$WORK/db"
GEN=(python3 "$ROOT/scripts/gen-estate" "$WORK/data" --seed 7 --hosts 20)
[ "$MODE" = eve ] && GEN+=(--eve)
check "gen-estate" "${GEN[@]}"
NOW=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['now'])" "$WORK/data/truth.json")
for d in "$WORK"/data/*/; do
	s=$(basename "$d")
	if [ "$MODE" = eve ]; then
		check "ingest $s" "$INFRAPIVOT" ingest --db "$DB" -q "$d"eve.json
	else
		check "ingest $s" "$INFRAPIVOT" ingest --db "$DB" -q --sensor "$s" "$d"dns.log "$d"ssl.log "$d"conn.log
	fi
done 2>"$WORK/ingest.err"
check_grep "client sightings reported" 'client sightings \([0-9]+ new client pairs\)' "$WORK/ingest.err"
python3 -c "import json,sys; [print(s, o) for s, o in json.load(open(sys.argv[1]))['sensors'].items()]" \
	"$WORK/data/truth.json" >"$WORK/orgs"
while read -r s o; do
	check "sensor set $s" "$INFRAPIVOT" sensor set "$s" --org "$o" --db "$DB"
done <"$WORK/orgs"
"$INFRAPIVOT" sensor list --db "$DB" >"$WORK/sensors"
check_grep "sensor list shows organisations" '^acme-s2	acme$' "$WORK/sensors"

"$INFRAPIVOT" beacons --db "$DB" --now "$NOW" --min-score 0 --limit 200 >"$WORK/beacons.json"
check "planted beacons rank above every decoy ($MODE)" \
	python3 "$TESTS_DIR/estate/check_beacons.py" "$WORK/data/truth.json" "$WORK/beacons.json"

# the organisation filter and the table
"$INFRAPIVOT" beacons --db "$DB" --now "$NOW" --org globex --format table >"$WORK/globex"
check_grep "--org globex keeps its IP beacon" '185\.220\.101\.47 +ip' "$WORK/globex"
if grep -q 'sync-telemetry' "$WORK/globex"; then bad "--org globex shows acme's beacon"; else ok; fi

# lookup --clients
"$INFRAPIVOT" lookup domain cdn-update.sync-telemetry.com --clients --db "$DB" --now "$NOW" >"$WORK/clients.json"
check_eq "lookup --clients hosts" "$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['hosts'], d['orgs'], len(d['clients']))" "$WORK/clients.json")" "6 1 6"
check_grep "lookup --clients names the org" '"org": "acme"' "$WORK/clients.json"
"$INFRAPIVOT" lookup ip 10.99.99.99 --clients --db "$DB" 2>"$WORK/none.err"
check_grep "lookup --clients of an unknown IP" 'no client has contacted' "$WORK/none.err"

# pivot nodes carry what the estate knows (JSON, DOT, STIX)
"$INFRAPIVOT" pivot --db "$DB" cdn-update.sync-telemetry.com >"$WORK/pivot.json"
check_eq "pivot node estate" "$(python3 -c "import json,sys; n=json.load(open(sys.argv[1]))['nodes'][0]['estate']; print(n['hosts'], n['orgs'], abs(n['beacon']['period_s'] - 900) < 90)" "$WORK/pivot.json")" "6 1 True"
"$INFRAPIVOT" pivot --db "$DB" --format dot cdn-update.sync-telemetry.com >"$WORK/pivot.dot"
check_grep "DOT label names the estate" 'estate: 6 hosts, 1 orgs, beacon' "$WORK/pivot.dot"
"$INFRAPIVOT" pivot --db "$DB" --format table cdn-update.sync-telemetry.com >"$WORK/pivot.txt"
check_grep "table notes name the estate" 'seed; estate: 6 hosts, 1 orgs, beacon' "$WORK/pivot.txt"
"$INFRAPIVOT" pivot --db "$DB" --format stix cdn-update.sync-telemetry.com >"$WORK/pivot.stix"
check_grep "STIX custom property" '"x_infrapivot_estate"' "$WORK/pivot.stix"
check "STIX with estate validates" python3 "$TESTS_DIR/tools/stix-validate" "$WORK/pivot.stix"

# internal destinations are recorded but are no candidates
if grep -q '"10\.1\.255\.10"' "$WORK/beacons.json"; then bad "internal server ranked"; else ok; fi
"$INFRAPIVOT" beacons --db "$DB" --now "$NOW" --include-internal --min-score 0 --limit 500 >"$WORK/all.json"
check_grep "--include-internal shows internal polling" '"destination": "10\.1\.255\.10"' "$WORK/all.json"

# HTTP: clients, beacons, sensors; setting an organisation needs admin
if [ "$MODE" = zeek ]; then
	. "$TESTS_DIR/http/http_lib.sh"
	printf 'read-token-0123456789abcdef read\nadmin-token-0123456789abcdef admin\n' >"$WORK/tokens"
	chmod 600 "$WORK/tokens"
	start_server --tokens "$WORK/tokens" || exit 1
	RH=(-H "Authorization: Bearer read-token-0123456789abcdef")
	AH=(-H "Authorization: Bearer admin-token-0123456789abcdef")
	check_eq "GET clients" "$(status GET "$U/api/v1/clients/domain/cdn-update.sync-telemetry.com?now=$NOW" "${RH[@]}")" 200
	check_eq "clients hosts/orgs" "$(jget "$WORK/body" "j['hosts'], j['orgs']")" "(6, 1)"
	check_eq "GET beacons" "$(status GET "$U/api/v1/beacons?now=$NOW&min_score=0&limit=200" "${RH[@]}")" 200
	check "HTTP beacons rank the planted ones first" \
		python3 "$TESTS_DIR/estate/check_beacons.py" "$WORK/data/truth.json" "$WORK/body"
	check_eq "beacons: bad parameter" "$(status GET "$U/api/v1/beacons?bogus=1" "${RH[@]}")" 400
	check_eq "GET sensors" "$(status GET "$U/api/v1/sensors" "${RH[@]}")" 200
	check_eq "PUT sensor org with a read token" "$(status PUT "$U/api/v1/sensors/acme-s2?org=other" "${RH[@]}")" 403
	check_eq "PUT sensor org as admin" "$(status PUT "$U/api/v1/sensors/acme-s2?org=acme" "${AH[@]}")" 200
	stop_server
fi

# --no-clients records none
first=$(ls -d "$WORK"/data/*/ | head -1)
if [ "$MODE" = eve ]; then f="$first"eve.json; else f="$first"conn.log; fi
"$INFRAPIVOT" ingest --db "$WORK/db2" -q --no-clients "$f" 2>"$WORK/nc.err"
if grep -q 'client sightings' "$WORK/nc.err"; then bad "--no-clients still records"; else ok; fi
finish
