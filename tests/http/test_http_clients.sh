#!/bin/bash
# Real DNSDB and CIRCL clients against `infrapivot serve --tokens` on a
# loopback port (issue 12, client compatibility): dnsdbq (Debian package)
# through its DNSDB_SERVER / CIRCL_SERVER settings, the HTTP calls PyPDNS and
# PyPSSL make (circl_clients.py, Debian's python3-requests) and curl.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/http_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
if ! command -v dnsdbq >/dev/null || ! "$PY" -c 'import requests' 2>/dev/null; then
	echo "SKIP: needs dnsdbq and python3-requests (scripts/setup.sh installs them)" >&2
	exit 77
fi
B=$WORK/body
TOK=tok-read-0123456789abcdef
WTOK=tok-write-0123456789abcdef
printf '%s read analyst\n%s write sensor\n' "$TOK" "$WTOK" >"$WORK/tokens"
chmod 600 "$WORK/tokens"

# --- data: resolutions, a certificate with SANs, one known from sightings only --
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj '/O=Evil Corp/CN=c2.example' \
	-addext 'subjectAltName=DNS:c2.example,DNS:www.c2.example,IP:198.51.100.7' 2>/dev/null
CSHA=$(openssl x509 -in "$WORK/cert.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' |
	tr A-F a-f)
ONLY=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
"$PY" - "$WORK/cert.pem" "$ONLY" >"$WORK/certs.ndjson" <<'EOF'
import json, sys
pem = open(sys.argv[1]).read()
print(json.dumps({"ip": "198.51.100.7", "port": 443, "cert_pem": pem,
                  "time_first": 1700000000, "time_last": 1700003600, "count": 2}))
print(json.dumps({"ip": "198.51.100.8", "port": 443, "cert_sha1": sys.argv[2],
                  "time_first": 1700000000, "time_last": 1700003600, "count": 1}))
EOF
"$INFRAPIVOT" ingest -q --db "$DB" "$HERE/clients.ndjson" "$WORK/certs.ndjson" >/dev/null 2>&1
check_eq "ingest" "$?" 0
start_server --tokens "$WORK/tokens" || exit 1

export DNSDBQ_CONFIG_FILE=/dev/null DNSDB_SERVER="$U" DNSDB_API_KEY="$TOK"
# dnsdbq -j: one JSON object a line; dq prints the field EXPR of each
dq() { dnsdbq -u dnsdb2 -j "$@" 2>"$WORK/dq.err"; }
field() { "$PY" -c 'import json,sys
for l in sys.stdin:
    j=json.loads(l); print(eval(sys.argv[1]))' "$1"; }
circl() { "$PY" "$HERE/circl_clients.py" "$U" analyst "$TOK" "$@" 2>"$WORK/py.err"; }
# http_lib.sh's jget with Debian's python (the one on PATH may start slowly)
jget() { "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# --- 1. DNSDB booleans: t/f/true/false/1/0; aggr=f un-aggregated; humantime ----
dq -r update-check.duckdns.org >"$WORK/rocks"
check_eq "dnsdbq rocks: one rrset of two records" "$(field "len(j['rdata'])" <"$WORK/rocks")" 2
dq -g -r update-check.duckdns.org >"$WORK/gravel"
check_eq "dnsdbq -g (aggr=f) succeeds" "$(cat "$WORK/dq.err")" ""
check_eq "dnsdbq -g: a row per record" "$(field "j['rdata']" <"$WORK/gravel" | tr '\n' ' ')" \
	"['203.0.113.5'] ['203.0.113.6'] "
for v in f F false 0; do
	check_eq "aggr=$v" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/update-check.duckdns.org?aggr=$v" -H "X-API-Key: $TOK")" 200
	check_eq "aggr=$v rows" "$(grep -c '"obj"' "$B")" 2
done
for v in t T true 1; do
	check_eq "aggr=$v" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/update-check.duckdns.org?aggr=$v" -H "X-API-Key: $TOK")" 200
	check_eq "aggr=$v rows" "$(grep -c '"obj"' "$B")" 1
done
check_eq "aggr=f summarize counts rows" "$(status GET "$U/dnsdb/v2/summarize/rrset/name/update-check.duckdns.org?aggr=f" -H "X-API-Key: $TOK")" 200
check_grep "aggr=f num_results" '"num_results":2' "$B"
check_eq "humantime=t" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/update-check.duckdns.org?humantime=t&aggr=f" -H "X-API-Key: $TOK")" 200
check_grep "humantime=t time_first" '"time_first":"2023-11-14 22:13:20"' "$B"
check_eq "humantime=f" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/update-check.duckdns.org?humantime=f" -H "X-API-Key: $TOK")" 200
check_grep "humantime=f epoch" '"time_first":1700000000' "$B"
check_eq "aggr=yes refused" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/x.example?aggr=yes" -H "X-API-Key: $TOK")" 400
check_grep "aggr=yes names it" '"message":"aggr: .yes. is not a boolean' "$B"
check_eq "humantime=2 refused" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/x.example?humantime=2" -H "X-API-Key: $TOK")" 400

# --- 2. HTTP Basic: the password is the token ---------------------------------
check_eq "PyPDNS basic_auth" "$(circl status /pdns/query/example.org)" 200
check_eq "PyPDNS basic_auth, wrong token" \
	"$("$PY" "$HERE/circl_clients.py" "$U" analyst wrong-token-0123456789 status /pdns/query/example.org)" 401
CIRCL_AUTH="analyst:$TOK" CIRCL_SERVER="$U/pdns/query" dnsdbq -u circl -j -r example.org \
	>"$WORK/circl" 2>"$WORK/circl.err"
check_eq "dnsdbq -u circl: no error" "$(cat "$WORK/circl.err")" ""
check_eq "dnsdbq -u circl: the name's records" "$(field "j['rrtype']" <"$WORK/circl" | sort | tr '\n' ' ')" "A MX NS "
CIRCL_AUTH="analyst:nope-0123456789abcdef" CIRCL_SERVER="$U/pdns/query" dnsdbq -u circl -j \
	-r example.org >/dev/null 2>"$WORK/circl.err"
check_grep "dnsdbq -u circl, wrong token: 401" "401" "$WORK/circl.err"
check_eq "curl -u" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/example.org" -u "anyone:$TOK")" 200
check_eq "Basic, empty user" "$(status GET "$U/pdns/query/example.org" -u ":$TOK")" 200
check_eq "Basic, token as user" "$(status GET "$U/pdns/query/example.org" -u "$TOK:")" 401
check_eq "Basic without a colon" "$(status GET "$U/pdns/query/example.org" -H "Authorization: Basic $(printf %s "$TOK" | base64)")" 401
check_eq "Basic, bad base64" "$(status GET "$U/pdns/query/example.org" -H 'Authorization: Basic !!!')" 401
check_eq "Basic, too long" "$(status GET "$U/pdns/query/example.org" -H "Authorization: Basic $(head -c 3000 /dev/zero | tr '\0' a | base64 -w0)")" 401
check_eq "Bearer still" "$(status GET "$U/pdns/query/example.org" -H "Authorization: Bearer $TOK")" 200
check_eq "X-API-Key still" "$(status GET "$U/pdns/query/example.org" -H "X-API-Key: $TOK")" 200
check_eq "other scheme" "$(status GET "$U/pdns/query/example.org" -H "Authorization: Digest $TOK")" 401
# PyPDNS(auth_token=TOKEN) sends the token alone as the Authorization value
check_eq "PyPDNS auth_token" "$(AUTH_TOKEN=1 circl status /pdns/query/example.org)" 200
check_eq "PyPDNS auth_token, wrong" "$(status GET "$U/pdns/query/example.org" -H "Authorization: nope-0123456789abcdef")" 401

# --- 3. cfetch: CIRCL's fields for known certificates, CIRCL's answer otherwise ---
circl fetch_cert "$CSHA" >"$WORK/cf"
check_eq "PyPSSL fetch_cert: no exception" "$(cat "$WORK/py.err")" ""
check_eq "cfetch subjectAltName as CIRCL" "$(jget "$WORK/cf" "j['info']['extension']['subjectAltName']")" \
	"DNS:c2.example, DNS:www.c2.example, IP Address:198.51.100.7"
check_eq "cfetch keeps san_dns" "$(jget "$WORK/cf" "j['info']['san_dns']")" "['c2.example', 'www.c2.example']"
check_eq "cfetch fingerprint" "$(jget "$WORK/cf" "j['info']['fingerprint'].lower()")" "$CSHA"
check_grep "cfetch subject" '"subject": "[^"]*CN=c2.example' "$WORK/cf"
check_grep "cfetch pem" 'BEGIN CERTIFICATE' "$WORK/cf"
check_eq "cfetch (curl)" "$(status GET "$U/v2pssl/cfetch/$CSHA" -H "X-API-Key: $TOK")" 200
check_eq "cfetch (curl) subjectAltName" "$(jget "$B" "j['info']['extension'].get('subjectAltName')")" \
	"DNS:c2.example, DNS:www.c2.example, IP Address:198.51.100.7"
check_eq "cfetch (curl), sightings only" "$(status GET "$U/v2pssl/cfetch/$ONLY" -H "X-API-Key: $TOK")" 400
circl fetch_cert "$ONLY" >"$WORK/cf"
check_eq "PyPSSL fetch_cert, sightings only: no KeyError" "$(cat "$WORK/py.err")" ""
check_eq "cfetch, sightings only: CIRCL's 400" "$(jget "$WORK/cf" "j['status']")" 400
check_grep "cfetch, sightings only: message" 'Not existing certificate' "$WORK/cf"
circl fetch_cert cccccccccccccccccccccccccccccccccccccccc >"$WORK/cf"
check_eq "cfetch, unknown: CIRCL's 400" "$(jget "$WORK/cf" "j['status']")" 400
check_eq "cfetch, bad hash" "$(status GET "$U/v2pssl/cfetch/xyz" -H "X-API-Key: $TOK")" 400

# --- 4. dribble headers: filter, pagination --------------------------------------
circl rfc_query example.org NS >"$WORK/ns"
check_eq "rfc_query filter_rrtype=NS" "$(field "j['rrtype']" <"$WORK/ns" | tr '\n' ' ')" "NS "
circl rfc_query example.org "A,MX" >"$WORK/amx"
check_eq "filter of two types" "$(field "j['rrtype']" <"$WORK/amx" | sort | tr '\n' ' ')" "A MX "
circl rfc_query cdn-sync.ddns.net >"$WORK/all"
PAGE=2 circl iter_query cdn-sync.ddns.net >"$WORK/paged"
check_eq "iter_query pages of 2" "$(tail -1 "$WORK/paged")" "pages 2"
check_eq "iter_query = rfc_query" "$(sed '$d' "$WORK/paged" | sort)" "$(sort "$WORK/all")"
check_eq "iter_query: 4 records" "$(sed '$d' "$WORK/paged" | wc -l)" 4
PAGE=1 circl iter_query cdn-sync.ddns.net CNAME >"$WORK/paged"
check_eq "iter_query filtered, pages of 1" "$(sed '$d' "$WORK/paged" | field "j['rrname']" | tr '\n' ' ')" "x.example.org y.example.org "
check_eq "iter_query filtered: 2 pages" "$(tail -1 "$WORK/paged")" "pages 2"
curl -s -D "$WORK/h" -o "$B" -H "X-API-Key: $TOK" -H 'dribble-paginate-count: 1' "$U/pdns/query/cdn-sync.ddns.net"
CUR=$(sed -n 's/^x-dribble-cursor: *\([0-9]*\).*/\1/ip' "$WORK/h")
check_grep "x-dribble-cursor header" '^x-dribble-cursor: [0-9]+' "$WORK/h"
check_eq "cursor of another query" "$(status GET "$U/pdns/query/example.org" -H "X-API-Key: $TOK" -H 'dribble-paginate-count: 1' -H "dribble-paginate-cursor: $CUR")" 400
check_eq "cursor with another filter" "$(status GET "$U/pdns/query/cdn-sync.ddns.net" -H "X-API-Key: $TOK" -H 'dribble-filter-rrtype: NS' -H "dribble-paginate-cursor: $CUR")" 400
check_eq "bad filter type" "$(status GET "$U/pdns/query/example.org" -H "X-API-Key: $TOK" -H 'dribble-filter-rrtype: NOPE')" 400
check_grep "bad filter named" 'dribble-filter-rrtype' "$B"
check_eq "empty filter" "$(status GET "$U/pdns/query/example.org" -H "X-API-Key: $TOK" -H 'dribble-filter-rrtype: ,')" 400
check_eq "bad count" "$(status GET "$U/pdns/query/example.org" -H "X-API-Key: $TOK" -H 'dribble-paginate-count: ten')" 400
check_eq "bad cursor" "$(status GET "$U/pdns/query/example.org" -H "X-API-Key: $TOK" -H 'dribble-paginate-cursor: -1')" 400
check_eq "disable-active-query accepted" "$(status GET "$U/pdns/query/example.org" -H "X-API-Key: $TOK" -H 'dribble-disable-active-query: 1')" 200
check_eq "no paging header: no cursor" "$(curl -s -D - -o /dev/null -H "X-API-Key: $TOK" "$U/pdns/query/cdn-sync.ddns.net?limit=1" | grep -ci x-dribble-cursor)" 0

# --- 5. right-hand and rdata wildcards -------------------------------------------
dq -r 'update-check.*' >"$WORK/rhs"
check_eq "dnsdbq -r 'update-check.*'" "$(field "j['rrname']" <"$WORK/rhs" | tr '\n' ' ')" \
	"update-check.duckdns.org. update-check.example.net. "
dq -r 'update-check.*/A' >"$WORK/rhs"
check_eq "dnsdbq -r 'update-check.*/A'" "$(wc -l <"$WORK/rhs")" 2
dq -r 'update-check.duckdns.*' >"$WORK/rhs"
check_eq "two labels then *" "$(field "j['rrname']" <"$WORK/rhs")" "update-check.duckdns.org."
dq -r 'update-check.*' -l 1 >"$WORK/rhs"
check_eq "right-hand with a limit" "$(wc -l <"$WORK/rhs")" 1
dq -n '*.ddns.net' >"$WORK/lhs"
check_eq "dnsdbq -n '*.ddns.net'" "$(field "j['rdata']" <"$WORK/lhs" | sort | tr '\n' ' ')" \
	"10 mail.ddns.net. cdn-sync.ddns.net. cdn-sync.ddns.net. ns1.ddns.net. "
dq -n 'ddns.net.*' >"$WORK/rn"
check_eq "dnsdbq -n 'ddns.net.*'" "$(field "j['rrname'] + ' ' + j['rdata']" <"$WORK/rn")" \
	"login.example.org. ddns.net.attacker.example."
check_eq "native lookup update-check.*" "$(status GET "$U/api/v1/lookup/domain/update-check.*" -H "X-API-Key: $TOK")" 200
check_eq "native count" "$(jget "$B" "j['count']")" 3
for bad in 'a.*.b' '*.x.*' '*' '.*' 'x..*'; do
	check_eq "wildcard '$bad' refused" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/$bad" -H "X-API-Key: $TOK")" 400
done
# the index is kept by every write: names of a later ingest are found too
printf '%s\n' '{"rrname":"update-check.late.example","rrtype":"A","rdata":"198.51.100.99","time_first":1700000000,"time_last":1700000001,"count":1}' \
	'{"rrname":"late.example","rrtype":"CNAME","rdata":"ddns.net.late.example","time_first":1700000000,"time_last":1700000001,"count":1}' \
	>"$WORK/late.ndjson"
check_eq "push later names" "$(status POST "$U/api/v1/observations" -H "Authorization: Bearer $WTOK" --data-binary @"$WORK/late.ndjson")" 200
check_eq "pushed" "$(jget "$B" "j['records']")" 2
dq -r 'update-check.*' >"$WORK/rhs"
check_eq "right-hand finds a later name" "$(field "j['rrname']" <"$WORK/rhs" | tr '\n' ' ')" \
	"update-check.duckdns.org. update-check.example.net. update-check.late.example. "
dq -n 'ddns.net.*' >"$WORK/rn"
check_eq "rdata right-hand finds a later target" "$(wc -l <"$WORK/rn")" 2

# --- 6. prefixes wider than /16 and /48, with limit and cursor -----------------
dq -i 10.0.0.0/8 >"$WORK/wide"
check_eq "dnsdbq -i 10.0.0.0/8" "$(field "j['rdata']" <"$WORK/wide" | tr '\n' ' ')" \
	"10.1.0.1 10.20.30.40 10.200.0.1 "
dq -i 10.0.0.0/8 -l 2 >"$WORK/wide"
check_eq "dnsdbq -i 10.0.0.0/8 -l 2" "$(wc -l <"$WORK/wide")" 2
dq -i 2001:db8::/32 >"$WORK/wide"
check_eq "dnsdbq -i 2001:db8::/32" "$(wc -l <"$WORK/wide")" 2
check_eq "native /8 page 1" "$(status GET "$U/api/v1/lookup/ip/10.0.0.0/8?limit=2" -H "X-API-Key: $TOK")" 200
check_eq "native /8 page 1 limited" "$(jget "$B" "(j['count'], j['limited'])")" "(2, True)"
CUR=$(jget "$B" "j['next_cursor']")
check_eq "native /8 page 2" "$(status GET "$U/api/v1/lookup/ip/10.0.0.0/8?limit=2&cursor=$CUR" -H "X-API-Key: $TOK")" 200
check_eq "native /8 page 2 last" "$(jget "$B" "([r['rdata'] for r in j['results']], j['limited'])")" "(['10.200.0.1'], False)"
check_eq "native ::/0" "$(status GET "$U/api/v1/lookup/ip/::/0?limit=1" -H "X-API-Key: $TOK")" 200
check_eq "native ::/0 limited" "$(jget "$B" "j['limited']")" True
check_eq "prefix length over 32" "$(status GET "$U/api/v1/lookup/ip/10.0.0.0/33" -H "X-API-Key: $TOK")" 400
check_eq "pssl query /8" "$(status GET "$U/v2pssl/query/198.0.0.0/8" -H "X-API-Key: $TOK")" 200
check_eq "pssl query /8 addresses" "$(jget "$B" "sorted(j)")" "['198.51.100.7', '198.51.100.8']"

stop_server
finish
