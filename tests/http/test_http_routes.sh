#!/bin/bash
# Every route of `infrapivot serve`, its error statuses, keep-alive reuse,
# cursors, NDJSON, the DNSDB SAF framing and fences, the CIRCL shapes and
# malformed paths.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/http_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
"$INFRAPIVOT" ingest -q --db "$DB" "$HERE/data.ndjson" "$FIXTURES/cof/circl-sample.ndjson" \
	>/dev/null 2>&1
start_server || exit 1
B=$WORK/body
SHA=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa

# --- health, stats, metrics -------------------------------------------------
check_eq "healthz" "$(status GET "$U/healthz")" 200
check_grep "healthz body" '"status":"ok"' "$B"
check_eq "stats" "$(status GET "$U/api/v1/stats")" 200
check_eq "stats resolutions" "$(jget "$B" "j['resolutions']")" 9
if on_clickhouse; then # no database file: its sizes are null
	check_eq "stats db_bytes on ClickHouse" "$(jget "$B" "j['db_bytes']")" None
else
	check "stats db_bytes" test "$(jget "$B" "j['db_bytes']")" -gt 0
fi
check_eq "stats unknown parameter" "$(status GET "$U/api/v1/stats?x=1")" 400
check_eq "HEAD healthz" "$(curl -s -o /dev/null -w '%{http_code}' -I "$U/healthz")" 200

# --- keep-alive: two URLs in one curl reuse the connection ----------------------
curl -sv -o /dev/null -o /dev/null "$U/healthz" "$U/api/v1/lookup/domain/www.example.com" \
	2>"$WORK/ka.log"
check_grep "keep-alive reuse" "Re-using existing connection" "$WORK/ka.log"
check_eq "no Connection: close on GET" "$(grep -ci '^< Connection: close' "$WORK/ka.log")" 0
# also after an error response
curl -sv -o /dev/null -o /dev/null "$U/nope" "$U/healthz" 2>"$WORK/ka2.log"
check_grep "keep-alive after 404" "Re-using existing connection" "$WORK/ka2.log"

# --- lookups --------------------------------------------------------------------
check_eq "domain lookup" "$(status GET "$U/api/v1/lookup/domain/www.example.com")" 200
check_eq "domain count" "$(jget "$B" "j['count']")" 3
check_eq "domain = CLI" "$(jget "$B" "'\n'.join(json.dumps(r,separators=(',',':')) for r in j['results'])")" \
	"$("$INFRAPIVOT" lookup --db "$DB" domain www.example.com 2>/dev/null)"
check_eq "trailing dot" "$(status GET "$U/api/v1/lookup/domain/www.example.com.")" 200
check_eq "rrtype filter" "$(status GET "$U/api/v1/lookup/domain/www.example.com?rrtype=AAAA")" 200
check_eq "rrtype count" "$(jget "$B" "j['count']")" 1
check_eq "bad rrtype" "$(status GET "$U/api/v1/lookup/domain/www.example.com?rrtype=NOPE")" 400
check_grep "bad rrtype names it" '"message":"rrtype:' "$B"
check_eq "wildcard" "$(status GET "$U/api/v1/lookup/domain/*.example.com")" 200
check_eq "wildcard count" "$(jget "$B" "j['count']")" 5
check_eq "time fence since" "$(status GET "$U/api/v1/lookup/domain/*.example.com?since=2023-01-01")" 200
check_eq "since count" "$(jget "$B" "j['count']")" 3
check_eq "first_before" "$(status GET "$U/api/v1/lookup/domain/*.example.com?first_before=1600000000")" 200
check_eq "first_before count" "$(jget "$B" "j['count']")" 2
check_eq "bad fence" "$(status GET "$U/api/v1/lookup/domain/x.com?last_after=yesterday")" 400
check_grep "bad fence names it" 'last_after' "$B"
check_eq "bad name" "$(status GET "$U/api/v1/lookup/domain/bad..name")" 400
check_eq "ip lookup" "$(status GET "$U/api/v1/lookup/ip/192.0.2.10")" 200
check_eq "ip results (2 rr + 2 sightings)" "$(jget "$B" "j['count']")" 4
check_eq "prefix lookup" "$(status GET "$U/api/v1/lookup/ip/192.0.2.0/24")" 200
check_eq "prefix encoded slash" "$(status GET "$U/api/v1/lookup/ip/192.0.2.0%2F24")" 200
check_eq "prefix wider than /16" "$(status GET "$U/api/v1/lookup/ip/192.0.0.0/8")" 200
check_eq "prefix /8 count (4 rr + 3 sightings)" "$(jget "$B" "j['count']")" 7
check_eq "bad ip" "$(status GET "$U/api/v1/lookup/ip/300.1.1.1")" 400
check_eq "ipv6" "$(status GET "$U/api/v1/lookup/ip/2001:db8::10")" 200
check_eq "ipv6 count" "$(jget "$B" "j['count']")" 1
check_eq "cert lookup" "$(status GET "$U/api/v1/lookup/cert/$SHA")" 200
check_eq "cert first result" "$(jget "$B" "j['results'][0]['type']")" certificate
check_eq "bad hash" "$(status GET "$U/api/v1/lookup/cert/abc")" 400
check_eq "too many path args" "$(status GET "$U/api/v1/lookup/domain/a/b")" 404

# cursor pagination walks every result once
check_eq "page 1" "$(status GET "$U/api/v1/lookup/domain/*.example.com?limit=3")" 200
check_eq "page 1 limited" "$(jget "$B" "j['limited']")" True
CUR=$(jget "$B" "j['next_cursor']")
P1=$(jget "$B" "[r['rrname']+r['rdata'] for r in j['results']]")
check_eq "page 2" "$(status GET "$U/api/v1/lookup/domain/*.example.com?limit=3&cursor=$CUR")" 200
check_eq "page 2 last" "$(jget "$B" "(j['count'], j['limited'], j['next_cursor'])")" "(2, False, None)"
check_eq "cursor of another query" "$(status GET "$U/api/v1/lookup/domain/www.example.com?cursor=$CUR")" 400
check_grep "cursor named" '"message":"cursor:' "$B"
check_eq "garbage cursor" "$(status GET "$U/api/v1/lookup/domain/www.example.com?cursor=zz")" 400
check_eq "cursor and offset" "$(status GET "$U/api/v1/lookup/domain/x.com?cursor=$CUR&offset=1")" 400
check_eq "offset" "$(status GET "$U/api/v1/lookup/domain/*.example.com?offset=3")" 200
check_eq "offset count" "$(jget "$B" "j['count']")" 2

# NDJSON (COF) on Accept
curl -s -D "$WORK/h" -o "$B" -H 'Accept: application/x-ndjson' "$U/api/v1/lookup/domain/www.example.com?limit=2"
check_grep "ndjson content type" "Content-Type: application/x-ndjson" "$WORK/h"
check_grep "ndjson next cursor header" "X-Next-Cursor: " "$WORK/h"
check_eq "ndjson lines" "$(wc -l <"$B")" 2
check_eq "ndjson is COF" "$(head -1 "$B" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rrname"])')" www.example.com

# --- errors -------------------------------------------------------------------------
check_eq "unknown route" "$(status GET "$U/nope")" 404
check_grep "404 json" '"error":\{"code":"not_found"' "$B"
check_eq "unknown api route" "$(status GET "$U/api/v1/lookup/asn/1")" 404
check_eq "wrong method" "$(status DELETE "$U/api/v1/stats")" 405
check_eq "POST on lookup" "$(status POST "$U/api/v1/lookup/domain/x.com" -d x)" 405
check_eq "GET on observations" "$(status GET "$U/api/v1/observations")" 405
curl -s -D "$WORK/h" -o /dev/null -X PUT "$U/healthz"
check_grep "405 has Allow" "Allow: GET, HEAD" "$WORK/h"
check_eq "bad percent-encoding" "$(status GET "$U/api/v1/lookup/domain/www%2")" 400
check_eq "bad percent hex" "$(status GET "$U/api/v1/lookup/domain/%zzexample.com")" 400
check_eq "encoded NUL" "$(status GET "$U/api/v1/lookup/domain/a%00b.com")" 400
check_eq "encoded newline" "$(status GET "$U/api/v1/lookup/domain/a%0ab.com")" 400
check_eq "percent-encoded name ok" "$(status GET "$U/api/v1/lookup/domain/www%2Eexample%2Ecom")" 200
check_eq "bad encoding in parameter" "$(status GET "$U/api/v1/lookup/domain/x.com?limit=%G1")" 400
check_grep "bad param encoding named" '"message":"limit:' "$B"
check_eq "duplicate parameter" "$(status GET "$U/api/v1/lookup/domain/x.com?limit=1&limit=2")" 400
check_eq "empty segment" "$(status GET "$U/api//v1/stats")" 400
check_eq "dot segments" "$(status GET "$U/api/v1/lookup/domain/.." --path-as-is)" 400
check_eq "trailing slash" "$(status GET "$U/api/v1/stats/")" 200
check_eq "utf-8 junk name" "$(status GET "$U/api/v1/lookup/domain/%C3%A9%FF.com")" 400
check "error message is JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$B"
check_eq "negative limit" "$(status GET "$U/api/v1/lookup/domain/x.com?limit=-1")" 400
check_eq "huge limit is capped" "$(status GET "$U/api/v1/lookup/domain/x.com?limit=99999999999")" 200
# a raw request line with junk
python3 - "$PORT" >"$WORK/raw.out" <<'PY'
import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])))
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
print(s.recv(4096).decode(errors="replace"))
PY
check_grep "raw request" "200 OK" "$WORK/raw.out"
for path in '/%' '/%%' '/%2' '/a/%/b' '/api/v1/lookup/domain/%25' '/api/v1/lookup/ip/%5B%5D' \
	'/dnsdb/v2/lookup/rrset/name/%' '/v2pssl/query/%ZZ' '/pdns/query/..'; do
	code=$(status GET "$U$path")
	case $code in 400 | 404) ok ;; *) bad "fuzz path $path: $code" ;; esac
done

# --- DNSDB v2 --------------------------------------------------------------------------
check_eq "ping" "$(status GET "$U/dnsdb/v2/ping")" 200
check_grep "ping body" '"ping":"ok"' "$B"
check_eq "rate_limit" "$(status GET "$U/dnsdb/v2/rate_limit")" 200
check_grep "rate body" '"rate":\{' "$B"
curl -s -D "$WORK/h" -o "$B" -H "X-API-Key: whatever" "$U/dnsdb/v2/lookup/rrset/name/www.example.com.?swclient=dnsdbq&version=2.6"
check_grep "SAF content type" "Content-Type: application/x-ndjson" "$WORK/h"
check_eq "SAF begin" "$(head -1 "$B")" '{"cond":"begin"}'
check_eq "SAF succeeded" "$(tail -1 "$B")" '{"cond":"succeeded"}'
check_eq "rrset objects" "$(grep -c '"obj"' "$B")" 2
check_grep "rrset grouped, rdata array, dots" '"rrname":"www.example.com.","rrtype":"A","bailiwick":"example.com.","rdata":\["192.0.2.10","192.0.2.11"\]' "$B"
check_eq "rrset type" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/www.example.com/AAAA")" 200
check_eq "rrset type objects" "$(grep -c '"obj"' "$B")" 1
check_eq "rrset bailiwick" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/www.example.com/ANY/example.com.")" 200
check_eq "rrset bailiwick objects" "$(grep -c '"obj"' "$B")" 2
check_eq "rrset other bailiwick" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/www.example.com/ANY/com")" 200
check_eq "rrset other bailiwick objects" "$(grep -c '"obj"' "$B")" 0
check_eq "MX rdata dotted" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/example.com/MX")" 200
check_grep "MX dot" '"rdata":\["10 mail.example.com."\]' "$B"
check_eq "CNAME rdata dotted" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/alias.example.net")" 200
check_grep "CNAME dot" '"rdata":\["www.example.com."\]' "$B"
check_eq "rdata name" "$(status GET "$U/dnsdb/v2/lookup/rdata/name/www.example.com.")" 200
check_grep "rdata name result" '"rrname":"alias.example.net.","rrtype":"CNAME","rdata":"www.example.com."' "$B"
check_eq "rdata name type filter" "$(status GET "$U/dnsdb/v2/lookup/rdata/name/mail.example.com/MX")" 200
check_eq "rdata MX objects" "$(grep -c '"obj"' "$B")" 1
check_eq "rdata ip" "$(status GET "$U/dnsdb/v2/lookup/rdata/ip/192.0.2.10")" 200
check_eq "rdata ip objects" "$(grep -c '"obj"' "$B")" 2
check_eq "rdata ip prefix (comma)" "$(status GET "$U/dnsdb/v2/lookup/rdata/ip/192.0.2.0,24")" 200
check_eq "rdata prefix objects" "$(grep -c '"obj"' "$B")" 4
check_eq "rdata ip range unsupported" "$(status GET "$U/dnsdb/v2/lookup/rdata/ip/192.0.2.1-192.0.2.9")" 400
check_eq "limit -> limited" "$(status GET "$U/dnsdb/v2/lookup/rdata/ip/192.0.2.0,24?limit=2")" 200
check_eq "limited objects" "$(grep -c '"obj"' "$B")" 2
check_grep "cond limited" '^\{"cond":"limited","msg":"Result limit reached"\}$' "$B"
check_eq "offset" "$(status GET "$U/dnsdb/v2/lookup/rdata/ip/192.0.2.0,24?offset=3")" 200
check_eq "offset objects" "$(grep -c '"obj"' "$B")" 1
# time fences: epoch and negative (relative) values
check_eq "time_first_after" "$(status GET "$U/dnsdb/v2/lookup/rdata/ip/192.0.2.0,24?time_first_after=1650000000")" 200
check_eq "time_first_after objects" "$(grep -c '"obj"' "$B")" 2
check_eq "time_last_before" "$(status GET "$U/dnsdb/v2/lookup/rdata/ip/192.0.2.0,24?time_last_before=1600003600")" 200
check_eq "time_last_before objects" "$(grep -c '"obj"' "$B")" 2
check_eq "relative fence" "$(status GET "$U/dnsdb/v2/lookup/rdata/ip/192.0.2.0,24?time_last_after=-86400")" 200
check_eq "relative fence objects (all older)" "$(grep -c '"obj"' "$B")" 0
check_eq "relative fence wide" "$(status GET "$U/dnsdb/v2/lookup/rdata/ip/192.0.2.0,24?time_first_before=-86400")" 200
check_eq "relative fence wide objects" "$(grep -c '"obj"' "$B")" 4
check_eq "bad fence" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/x.com?time_first_after=soon")" 400
check_grep "bad fence named" 'time_first_after' "$B"
check_eq "humantime" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/mail.example.com?humantime=true")" 200
check_grep "humantime value" '"time_first":"2020-09-13 12:26:40"' "$B"
check_eq "bad humantime" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/x.com?humantime=maybe")" 400
check_eq "aggr accepted" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/x.com?aggr=false")" 200
check_eq "empty result framing" "$(cat "$B")" '{"cond":"begin"}
{"cond":"succeeded"}'
check_eq "wildcard rrset" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/*.example.com")" 200
check_eq "wildcard objects" "$(grep -c '"obj"' "$B")" 4
check_eq "right-hand wildcard" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/www.example.*")" 200
check_grep "right-hand wildcard rrset" '"rrname":"www.example.com."' "$B"
check_eq "wildcard at both ends" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/*.example.*")" 400
check_eq "summarize" "$(status GET "$U/dnsdb/v2/summarize/rrset/name/*.example.com")" 200
check_grep "summarize obj" '"obj":\{"count":11,"num_results":4,"time_first":1500000000,"time_last":1700003600\}' "$B"
check_eq "summarize max_count" "$(status GET "$U/dnsdb/v2/summarize/rdata/ip/192.0.2.0,24?max_count=4")" 200
check_grep "summarize limited" '"cond":"limited"' "$B"
check_eq "max_count on lookup" "$(status GET "$U/dnsdb/v2/lookup/rdata/ip/192.0.2.10?max_count=4")" 400
check_eq "unknown dnsdb path" "$(status GET "$U/dnsdb/v2/lookup/rrset/raw/0001")" 404
check_eq "bad dnsdb type" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/x.com/BOGUS")" 400
check_eq "bad limit" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/x.com?limit=x")" 400

# --- CIRCL -------------------------------------------------------------------------------
check_eq "pdns name" "$(status GET "$U/pdns/query/www.circl.lu")" 200
check_eq "pdns lines" "$(wc -l <"$B")" 2
check "pdns COF" python3 -c '
import json,sys
for l in open(sys.argv[1]):
    o=json.loads(l); assert {"rrname","rrtype","rdata","time_first","time_last","count"} <= o.keys()' "$B"
check_eq "pdns ip" "$(status GET "$U/pdns/query/192.0.2.10")" 200
check_eq "pdns ip lines" "$(wc -l <"$B")" 2
check_eq "pdns target" "$(status GET "$U/pdns/query/www.example.com")" 200
check_grep "pdns includes CNAME pointing at it" '"rrname":"alias.example.net"' "$B"
check_eq "pdns bad" "$(status GET "$U/pdns/query/bad..x")" 400
check_eq "pssl query" "$(status GET "$U/v2pssl/query/192.0.2.10")" 200
check_eq "pssl query shape" "$(jget "$B" "j['192.0.2.10']['certificates']")" "['$SHA']"
check_eq "pssl subjects" "$(jget "$B" "list(j['192.0.2.10']['subjects']['$SHA'].keys())")" "['values']"
check_eq "pssl prefix" "$(status GET "$U/v2pssl/query/192.0.2.0/24")" 200
check_eq "pssl prefix ips" "$(jget "$B" "sorted(j)")" "['192.0.2.10', '192.0.2.11']"
check_eq "pssl bad ip" "$(status GET "$U/v2pssl/query/nope")" 400
check_eq "cquery" "$(status GET "$U/v2pssl/cquery/$SHA")" 200
check_eq "cquery shape" "$(jget "$B" "(j['certificate'], j['hits'], j['seen'])")" "('$SHA', 2, ['192.0.2.10', '192.0.2.11'])"
check_eq "cquery unseen" "$(status GET "$U/v2pssl/cquery/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")" 200
check_eq "cquery unseen hits" "$(jget "$B" "j['hits']")" 0
check_eq "cquery bad hash" "$(status GET "$U/v2pssl/cquery/xyz")" 400
# known from sightings only: CIRCL's answer for a certificate it does not
# hold (issue 12; the known case is in test_http_clients.sh)
check_eq "cfetch, sightings only" "$(status GET "$U/v2pssl/cfetch/$SHA")" 400
check_grep "cfetch, sightings only: message" '"message":"Not existing certificate' "$B"
check_eq "cfetch unknown" "$(status GET "$U/v2pssl/cfetch/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")" 400

# --- pivot without the engine: 501 (the pivot test covers the engine) --------------------
if ! "$INFRAPIVOT" pivot --help >/dev/null 2>&1; then
	check_eq "pivot without engine" "$(status GET "$U/api/v1/pivot?seed=www.example.com")" 501
fi

# --- metrics (after the traffic above) ---------------------------------------------------
check_eq "metrics" "$(status GET "$U/metrics")" 200
check_grep "requests by route and status" '^infrapivot_http_requests_total\{route="/api/v1/lookup/domain",status="200"\} [0-9]+' "$B"
check_grep "404s counted" '^infrapivot_http_requests_total\{route="other",status="404"\}' "$B"
check_grep "histogram" '^infrapivot_http_request_duration_seconds_bucket\{route="/healthz",le="\+Inf"\}' "$B"
check_grep "histogram count" '^infrapivot_http_request_duration_seconds_count\{route="/dnsdb/v2/lookup"\}' "$B"
! lmdb_only "the database size metric is the LMDB file's" ||
	check_grep "db size" '^infrapivot_db_size_bytes [1-9]' "$B"
check_grep "records ingested" '^infrapivot_ingest_records_total 0' "$B"
curl -s -D "$WORK/h" -o /dev/null "$U/metrics"
check_grep "prometheus content type" "Content-Type: text/plain; version=0.0.4" "$WORK/h"

# --- the OpenAPI description: served as built from docs/openapi.json ------------
SPEC=$TESTS_DIR/../docs/openapi.json
check_eq "openapi.json" "$(status GET "$U/api/v1/openapi.json")" 200
check "openapi.json is docs/openapi.json" cmp -s "$B" "$SPEC"
check_eq "openapi.json: OpenAPI 3.1" "$(jget "$B" "j['openapi']")" 3.1.0
check_eq "openapi.json: unknown parameter" "$(status GET "$U/api/v1/openapi.json?x=1")" 400
# the checker fails a response the description does not give: a status not
# listed, a body missing a required field, an undescribed content type, a
# path no route takes answering 200
mkdir -p "$WORK/neg"
neg() { # DESCRIPTION METHOD PATH STATUS CONTENT-TYPE BODY
	printf 'HTTP/1.1 %s X\r\nContent-Type: %s\r\n\r\n' "$4" "$5" >"$WORK/neg/h"
	printf '%s' "$6" >"$WORK/neg/b"
	printf '%s\t%s\t%s\t0\t%s\n' "$2" "$U$3" "$WORK/neg/h" "$WORK/neg/b" >"$WORK/neg/log"
	/usr/bin/python3 "$TESTS_DIR/tools/openapi-check" "$SPEC" "$WORK/neg/log" >"$WORK/neg/out" 2>&1
	check_eq "openapi-check refuses $1" "$?" 1
}
neg "an undescribed status" GET /api/v1/stats 418 application/json '{"error":{"code":"x","message":"y"}}'
neg "a body missing a field" GET /healthz 200 application/json '{"status":"ok","version":"0.1.0"}'
neg "a wrong field type" GET /api/v1/stats 200 application/json '{"resolutions":"7","certificates":1,"cert_sightings":0,"sensors":0,"db_bytes":1}'
neg "an error without its code" GET /api/v1/stats 400 application/json '{"error":{"message":"y"}}'
neg "an undescribed content type" GET /healthz 200 text/html '<p>ok</p>'
neg "a 200 on a path no route takes" GET /api/v1/nothing 200 application/json '{}'
neg "a bad NDJSON line" GET /dnsdb/v2/lookup/rrset/name/x.com 200 application/x-ndjson '{"cond":"begin"}
{"bogus":1}'
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n' >"$WORK/neg/h"
printf '{"status":"ok","version":"0.1.0","uptime_seconds":3}' >"$WORK/neg/b"
printf 'GET\t%s\t%s\t0\t%s\n' "$U/healthz" "$WORK/neg/h" "$WORK/neg/b" >"$WORK/neg/log"
check "openapi-check accepts a described response" /usr/bin/python3 "$TESTS_DIR/tools/openapi-check" "$SPEC" "$WORK/neg/log"

stop_server
finish
