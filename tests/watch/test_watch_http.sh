#!/usr/bin/env bash
# test_watch_http.sh - the watchlist routes on a real server: create and
# settings, entries, the sensor sync (ETag / If-None-Match -> 304,
# since_version deltas across adds, removals and an expiry between two
# reads), every export format, pivot-to-watchlist, a standing pivot fed by
# POST /api/v1/observations, roles and errors.  The server's clock is
# pinned with `serve --now`, so no step depends on how fast the machine
# is: the expiry is seen by restarting the server 5 s later on that clock.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/http/http_lib.sh"
VALIDATE="$TESTS_DIR/tools/stix-validate"
B=$WORK/body
R=read-token-0123456789abcdef
WR=write-token-0123456789abcdef
cat >"$WORK/tokens" <<TOK
$R read sensor-zeek
$WR write analyst-ann
TOK
chmod 600 "$WORK/tokens"
CERT=abcdefabcdefabcdefabcdefabcdefabcdef0002
cat >"$WORK/data.ndjson" <<EOF
{"rrname":"c2.actor.example","rrtype":"A","rdata":"198.51.100.20","time_first":1790000000,"time_last":1790086400,"sensor_id":"s1"}
{"rrname":"www.actor.example","rrtype":"A","rdata":"198.51.100.20","time_first":1790000000,"time_last":1790086400,"sensor_id":"s1"}
{"ip":"198.51.100.20","port":443,"cert_sha1":"$CERT","time_first":1790000000,"time_last":1790086400,"sensor_id":"s1"}
EOF
"$INFRAPIVOT" ingest -q --db "$DB" "$WORK/data.ndjson" >/dev/null 2>&1
NOW=1893456000 # 2030-01-01: the watchlists' clock, pinned
# On ClickHouse the standing pivots are the watch sweep's (docs/scale-out.md,
# "The watch sweep"), run here by `watchlist sweep` at the server's clock,
# not by the server (--watch-sweep 0).  A pinned clock places no row against
# an entry, so the first sweep runs before the lists are made (a second
# before, on that clock): the rows ingested above stay below its checkpoint.
# A row of the first sweep's own second of the cluster's clock counts as
# written after that sweep began (watch/sweep.c, read_rows: ins >= the
# checkpoint), so the ingest above must end in an earlier second: wait for
# the cluster's clock to pass it (the ingest and the first sweep shared a
# second on an idle machine, and the next sweep fed the rows above).
SW=()
if on_clickhouse; then
	SW=(--watch-sweep 0)
	ch_clock() {
		local hp=${DB#clickhouse://}
		command curl -s -u "$(cat "$INFRAPIVOT_CH_CREDENTIALS")" \
			--data-binary 'SELECT toUInt32(now())' "http://${hp%%/*}/"
	}
	t0=$(ch_clock)
	[[ $t0 =~ ^[0-9]+$ ]] || bad "the cluster's clock: '$t0'"
	for _ in $(seq 1 600); do
		[ "$(ch_clock)" -gt "$t0" ] 2>/dev/null && break
		sleep 0.05
	done
fi
swept() { # NOW
	on_clickhouse || return 0
	"$INFRAPIVOT" watchlist sweep --db "$DB" --now "$1" >"$WORK/sweep.out" 2>&1 ||
		bad "watchlist sweep: $(cat "$WORK/sweep.out")"
}
start_server --tokens "$WORK/tokens" --now "$NOW" "${SW[@]}" || exit 1
swept $((NOW - 1))
RH=(-H "Authorization: Bearer $R")
WH=(-H "X-API-Key: $WR")
L="$U/api/v1/watchlists"
j() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$B" "$1"; }

# --- roles
check_eq "list without a token" "$(status GET "$L")" 401
check_eq "list with read" "$(status GET "$L" "${RH[@]}")" 200
check_eq "read cannot create" "$(status PUT "$L/s1" "${RH[@]}" --data '{}')" 403
check_eq "create with write" "$(status PUT "$L/s1" "${WH[@]}" --data '{"description":"sensor feed","ttl_days":30,"auto_expand":{"edges":["serves","resolves"],"ttl_days":7}}')" 201
check_eq "created settings" "$(j '(j["name"], j["ttl_days"], j["auto_expand"]["edges"], j["auto_expand"]["ttl_days"], j["version"])')" "('s1', 30, ['resolves', 'serves'], 7, 1)"
check_eq "update" "$(status PUT "$L/s1" "${WH[@]}" --data '{"description":"sensor feed v2"}')" 200
check_eq "update keeps the rest" "$(j '(j["description"], j["ttl_days"], j["auto_expand"]["ttl_days"], j["version"])')" "('sensor feed v2', 30, 7, 2)"
check_eq "read cannot add" "$(status POST "$L/s1/entries" "${RH[@]}" --data '[{"indicator":"x.example"}]')" 403

# --- entries, ETag and 304
check_eq "add entries" "$(status POST "$L/s1/entries" "${WH[@]}" --data "[{\"indicator\":\"evil.example\",\"reason\":\"phishing kit\"},{\"indicator\":\"198.51.100.5\",\"type\":\"ip\"},{\"indicator\":\"$CERT\",\"type\":\"cert\",\"ttl_days\":90},{\"indicator\":\"soon.example\",\"expires\":$((NOW + 4))}]")" 200
check_eq "add answer" "$(j '(j["added"], j["refreshed"], j["version"])')" "(4, 0, 3)"
check_eq "get" "$(status GET "$L/s1" "${RH[@]}" -D "$WORK/h")" 200
check_grep "ETag is the version" '^ETag: "3"' "$WORK/h"
check_eq "entries with source = token name" "$(j 'sorted((e["indicator"], e["source"]) for e in j["entries"])')" "[('198.51.100.5', 'analyst-ann'), ('$CERT', 'analyst-ann'), ('evil.example', 'analyst-ann'), ('soon.example', 'analyst-ann')]"
check_eq "json shape" "$(j 'sorted(j["entries"][0])')" "['added', 'expires', 'indicator', 'provenance', 'reason', 'source', 'type']"
rm -f "$B"
check_eq "If-None-Match current: 304" "$(status GET "$L/s1" "${RH[@]}" -H 'If-None-Match: "3"' -D "$WORK/h")" 304
check_eq "304 has no body" "$(cat "$B" 2>/dev/null | wc -c)" 0
check_grep "304 carries the ETag" '^ETag: "3"' "$WORK/h"
check_eq "If-None-Match weak and listed" "$(status GET "$L/s1?format=zeek" "${RH[@]}" -H 'If-None-Match: "1", W/"3"')" 304
check_eq "If-None-Match old: 200" "$(status GET "$L/s1" "${RH[@]}" -H 'If-None-Match: "2"')" 200
check_eq "re-add refreshes" "$(status POST "$L/s1/entries" "${WH[@]}" --data '{"entries":["evil.example"]}')" 200
check_eq "refresh answer" "$(j '(j["added"], j["refreshed"], j["version"])')" "(0, 1, 4)"

# --- removals and deltas
check_eq "remove an entry" "$(status DELETE "$L/s1/entries/198.51.100.5" "${WH[@]}")" 200
check_eq "remove answer" "$(j '(j["removed"], j["version"])')" "('198.51.100.5', 5)"
check_eq "one entry, removed" "$(status GET "$L/s1/entries/198.51.100.5" "${RH[@]}")" 200
check_eq "its state" "$(j '(j["state"], j["version"], j["source"])')" "('removed', 5, 'analyst-ann')"
check_eq "one entry, live" "$(status GET "$L/s1/entries/EVIL.example." "${RH[@]}")" 200
check_eq "its provenance: first and latest" "$(j '(j["state"], len(j["provenance"]), j["reason"])')" "('live', 2, 'phishing kit')"
check_eq "never on the list" "$(status GET "$L/s1/entries/never.example" "${RH[@]}")" 404
check_eq "remove again: 404" "$(status DELETE "$L/s1/entries/198.51.100.5" "${WH[@]}")" 404
check_eq "old ETag now 200" "$(status GET "$L/s1" "${RH[@]}" -H 'If-None-Match: "3"' -D "$WORK/h")" 200
check_grep "new ETag" '^ETag: "5"' "$WORK/h"
check_eq "delta since 3" "$(status GET "$L/s1?since_version=3" "${RH[@]}")" 200
check_eq "delta: the refresh and the removal" "$(j '([e["indicator"] for e in j["entries"]], [(r["indicator"], r["reason"]) for r in j["removed"]], j["full"], j["since_version"])')" "(['evil.example'], [('198.51.100.5', 'removed')], False, 3)"
check_eq "delta since 5: empty" "$(status GET "$L/s1?since_version=5" "${RH[@]}")" 200
check_eq "delta since 5 content" "$(j 'len(j["entries"]) + len(j["removed"])')" 0

# --- an expiry between two reads: no job, the next read sees it.  The
# clock moves by restarting the server on the same database 5 s later.
stop_server
start_server --tokens "$WORK/tokens" --now "$((NOW + 5))" "${SW[@]}" || exit 1
L="$U/api/v1/watchlists" # a fresh port
check_eq "after the expiry, the old ETag gets 200" "$(status GET "$L/s1?format=text" "${RH[@]}" -H 'If-None-Match: "5"' -D "$WORK/h")" 200
check_grep "expiry bumps the ETag" '^ETag: "6"' "$WORK/h"
if grep -q soon.example "$B"; then bad "expired entry still exported"; else ok; fi
check_eq "delta since 5 shows the expiry" "$(status GET "$L/s1?since_version=5" "${RH[@]}")" 200
check_eq "expiry in the delta" "$(j '[(r["indicator"], r["reason"], r["version"]) for r in j["removed"]]')" "[('soon.example', 'expired', 6)]"
check_eq "304 on the new version" "$(status GET "$L/s1" "${RH[@]}" -H 'If-None-Match: "6"')" 304

# --- formats
check_eq "zeek" "$(status GET "$L/s1?format=zeek" "${RH[@]}" -D "$WORK/h")" 200
check_eq "zeek: exact header" "$(head -1 "$B")" "$(printf '#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc')"
check_eq "zeek rows" "$(tail -n +2 "$B" | cut -f1,2,3 | sort | tr '\t\n' '| ')" "$CERT|Intel::CERT_HASH|infrapivot:s1 evil.example|Intel::DOMAIN|infrapivot:s1 "
check_grep "zeek desc is the reason" "	phishing kit$" "$B"
check_grep "zeek content type" "Content-Type: text/plain" "$WORK/h"
check_eq "suricata needs a type" "$(status GET "$L/s1?format=suricata" "${RH[@]}")" 400
check_grep "suricata error names type" '"type' "$B"
check_eq "suricata domain" "$(status GET "$L/s1?format=suricata&type=domain" "${RH[@]}")" 200
check_eq "suricata domain is base64" "$(base64 -d <"$B")" "evil.example"
check_eq "suricata cert" "$(status GET "$L/s1?format=suricata&type=cert" "${RH[@]}")" 200
check_eq "suricata cert is base64 of the colon fingerprint" "$(base64 -d <"$B")" "$(echo "$CERT" | sed 's/../&:/g; s/:$//')"
check_eq "stix" "$(status GET "$L/s1?format=stix" "${RH[@]}" -D "$WORK/h")" 200
check "stix validates" "$VALIDATE" "$B"
check_grep "stix content type" "Content-Type: application/stix\+json" "$WORK/h"
check_eq "misp" "$(status GET "$L/s1?format=misp" "${RH[@]}" -D "$WORK/h")" 200
check "misp objects conform to their templates" "$TESTS_DIR/tools/misp-check" --seen domain-ip,ip-port "$B"
check_grep "misp content type" "Content-Type: application/json" "$WORK/h"
MISP_ATTRS=$(j 'sorted((a["type"], a["value"], a["to_ids"]) for a in j["Event"]["Attribute"])')
status GET "$L/s1" "${RH[@]}" >/dev/null
check_eq "misp: one to_ids attribute per entry" "$MISP_ATTRS" \
	"$(j 'sorted(({"ip":"ip-dst","domain":"domain","cert":"x509-fingerprint-sha1"}[e["type"]], e["indicator"], True) for e in j["entries"])')"
check_eq "misp with since_version: 400" "$(status GET "$L/s1?format=misp&since_version=2" "${RH[@]}")" 400
check_eq "text with since_version: 400" "$(status GET "$L/s1?format=text&since_version=2" "${RH[@]}")" 400
check_eq "bad format" "$(status GET "$L/s1?format=xml" "${RH[@]}")" 400
check_eq "unknown parameter" "$(status GET "$L/s1?colour=red" "${RH[@]}")" 400
check_eq "HEAD" "$(curl -s -o /dev/null -w '%{http_code}' -I "${RH[@]}" "$L/s1")" 200

# --- standing pivot fed by a sensor push
OBS="{\"ip\":\"203.0.113.88\",\"port\":443,\"cert_sha1\":\"$CERT\",\"time_first\":1790200000,\"time_last\":1790200000,\"sensor_id\":\"edge-9\"}"
check_eq "push a sighting" "$(status POST "$U/api/v1/observations" "${WH[@]}" --data-binary "$OBS")" 200
swept $((NOW + 5))
check_eq "get after the push" "$(status GET "$L/s1" "${RH[@]}")" 200
check_eq "the new IP joined with auto provenance" "$(j '[(e["source"], e["provenance"][0]["note"]) for e in j["entries"] if e["indicator"]=="203.0.113.88"]')" "[('auto', 'auto: serves with $CERT, seen 2026-09-23T21:46:40Z by edge-9')]"
check_eq "list counters" "$(status GET "$L" "${RH[@]}")" 200
check_eq "standing pivot counted" "$(j '[w["standing_pivot"]["added"] for w in j["watchlists"] if w["name"]=="s1"]')" "[1]"

# --- pivot to watchlist
check_eq "pivot into a new list" "$(status PUT "$L/p1" "${WH[@]}" --data '{"ttl_days":0}')" 201
check_eq "pivot" "$(status POST "$L/p1/pivot" "${WH[@]}" --data '{"seed":"c2.actor.example","depth":3,"edges":["resolves","serves"],"reason":"case 7"}')" 200
check_eq "pivot added the cluster" "$(j 'sorted(e["indicator"] for e in j["entries"])')" "['198.51.100.20', '203.0.113.88', '$CERT', 'c2.actor.example', 'www.actor.example']"
check_eq "pivot: paths" "$(j '[[h["edge"] for h in e["path"]] for e in j["entries"] if e["indicator"]=="203.0.113.88"]')" "[['resolves', 'serves', 'serves']]"
check_eq "pivot: no expiry with ttl_days 0" "$(j 'set(e["expires"] for e in j["entries"])')" "{None}"
check_eq "pivot list" "$(status GET "$L/p1" "${RH[@]}")" 200
check_eq "pivot entries: source and note" "$(j 'set((e["source"], e["provenance"][0]["note"], e["reason"]) for e in j["entries"])')" "{('pivot from c2.actor.example', 'pivot from c2.actor.example by analyst-ann', 'case 7')}"
check_eq "pivot without seed" "$(status POST "$L/p1/pivot" "${WH[@]}" --data '{"depth":2}')" 400
check_eq "pivot with unknown parameter" "$(status POST "$L/p1/pivot" "${WH[@]}" --data '{"seed":"c2.actor.example","colour":1}')" 400
check_eq "pivot on a missing list" "$(status POST "$L/nope/pivot" "${WH[@]}" --data '{"seed":"c2.actor.example"}')" 404

# --- errors
check_eq "unknown list" "$(status GET "$L/nope" "${RH[@]}")" 404
check_eq "bad list name" "$(status GET "$L/bad%2Fname" "${RH[@]}")" 400
check_eq "bad JSON" "$(status PUT "$L/s2" "${WH[@]}" --data '{bad')" 400
check_eq "unknown setting" "$(status PUT "$L/s2" "${WH[@]}" --data '{"colour":"red"}')" 400
check_grep "unknown setting named" 'colour' "$B"
check_eq "bad edge" "$(status PUT "$L/s2" "${WH[@]}" --data '{"auto_expand":{"edges":["teleport"]}}')" 400
check_eq "expiry in the past" "$(status POST "$L/s1/entries" "${WH[@]}" --data '[{"indicator":"late.example","expires":"2001-01-01"}]')" 400
check_eq "bad indicator" "$(status POST "$L/s1/entries" "${WH[@]}" --data '[{"indicator":"bad..name"}]')" 400
check_grep "bad indicator names the element" 'entries\[0\]' "$B"
check_eq "nothing added on a bad batch" "$(status POST "$L/s1/entries" "${WH[@]}" --data '[{"indicator":"ok.example"},{"indicator":"x","type":"ip"}]')" 400
check_eq "text export" "$(status GET "$L/s1?format=text" "${RH[@]}")" 200
check_eq "ok.example not added" "$(grep -c ok.example "$B")" 0
check_eq "wrong method" "$(status PATCH "$L/s1" "${WH[@]}" -D "$WORK/h")" 405
check_grep "Allow lists the methods" "^Allow: GET, HEAD, PUT, DELETE" "$WORK/h"
check_eq "unknown sub-route" "$(status POST "$L/s1/frobs" "${WH[@]}" --data '[]')" 404
check_eq "delete the list" "$(status DELETE "$L/p1" "${WH[@]}")" 200
check_eq "deleted list is gone" "$(status GET "$L/p1" "${RH[@]}")" 404
stop_server
finish
