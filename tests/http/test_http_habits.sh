#!/bin/bash
# Analysts' habits over HTTP (issue 12): format=csv / Accept: text/csv and
# format=table for lookups, pivots and watchlist exports (checked with curl
# and Python's csv module); internationalised names; times never guessed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/http_lib.sh"
cat >"$WORK/data.ndjson" <<'EOT'
{"rrname":"www.text.example","rrtype":"A","rdata":"192.0.2.10","time_first":1700000000,"time_last":1700086400,"count":3}
{"rrname":"www.text.example","rrtype":"TXT","rdata":"=HYPERLINK(\"http://x\"), \"quoted\"","time_first":1700000000,"time_last":1700000000,"count":1}
{"rrname":"xn--bcher-kva.example","rrtype":"A","rdata":"192.0.2.10","time_first":1700000000,"time_last":1700000000,"count":1}
EOT
"$INFRAPIVOT" ingest -q --db "$DB" "$WORK/data.ndjson" >/dev/null 2>&1
"$INFRAPIVOT" watchlist create --db "$DB" w >/dev/null 2>&1
"$INFRAPIVOT" watchlist add --db "$DB" w www.text.example --reason '@risk, "a"' >/dev/null 2>&1
B=$WORK/body
start_server || exit 1
# csvq FILE EXPR: a Python expression over the records r of the CSV file
# (read with Python's csv module, RFC 4180 dialect).
csvq() { python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline=""))); print(eval(sys.argv[2]))' "$1" "$2"; }

# --- lookups
curl -s -D "$WORK/h" -o "$B" "$U/api/v1/lookup/domain/www.text.example?format=csv"
check_grep "lookup csv: 200" "^HTTP/1.1 200" "$WORK/h"
check_grep "lookup csv: Content-Type text/csv" "^Content-Type: text/csv; charset=utf-8; header=present" "$WORK/h"
check_eq "lookup csv: header row" "$(head -1 "$B" | tr -d '\r' | cut -d, -f1-7)" "kind,time_first,time_last,count,rrname,rrtype,rdata"
check_eq "lookup csv: CRLF line ends" "$(grep -c $'\r$' "$B")" 3
check_eq "lookup csv: two records and the header" "$(csvq "$B" 'len(r)')" 3
check_eq "lookup csv: a formula is neutralised, quotes kept" \
	"$(csvq "$B" '[x for x in r if x[5] == "TXT"][0][6]')" "'=HYPERLINK(\"http://x\"), \"quoted\""
check_eq "lookup csv: ISO times" "$(csvq "$B" 'r[1][1]')" "2023-11-14T22:13:20Z"
curl -s -D "$WORK/h" -o "$B" -H 'Accept: text/csv' "$U/api/v1/lookup/domain/www.text.example"
check_grep "Accept: text/csv gives CSV" "^Content-Type: text/csv" "$WORK/h"
check_grep "... with the header" "^kind,time_first" "$B"
curl -s -D "$WORK/h" -o "$B" "$U/api/v1/lookup/domain/none.text.example?format=csv"
check_eq "an empty lookup is a CSV with its header" "$(tr -d '\r' <"$B" | cut -d, -f1)" kind
curl -s -D "$WORK/h" -o "$B" "$U/api/v1/lookup/ip/192.0.2.10?format=table"
check_grep "lookup table: text/plain" "^Content-Type: text/plain" "$WORK/h"
check_grep "lookup table: the CLI's table header" "^first seen +last seen +count +rrname" "$B"
"$INFRAPIVOT" lookup --db "$DB" ip 192.0.2.10 --format table >"$WORK/cli" 2>/dev/null
check "lookup table: same as the CLI" cmp -s "$B" "$WORK/cli"
check_eq "format=xml refused" "$(status GET "$U/api/v1/lookup/domain/www.text.example?format=xml")" 400
check_grep "... saying what is expected" "format.*'xml': expected json\|table\|csv" "$B"
check_eq "json stays the default" "$(status GET "$U/api/v1/lookup/domain/www.text.example")" 200
check_grep "... json" '^\{"query"' "$B"

# --- pivots
curl -s -D "$WORK/h" -o "$B" "$U/api/v1/pivot?seed=www.text.example&format=csv"
check_grep "pivot csv: text/csv" "^Content-Type: text/csv" "$WORK/h"
check_eq "pivot csv: header" "$(csvq "$B" '",".join(r[0][:4])')" "record,id,type,value"
check_eq "pivot csv: nodes and edges" "$(csvq "$B" 'sorted(set(x[0] for x in r[1:]))')" "['edge', 'node']"
"$INFRAPIVOT" pivot --db "$DB" www.text.example --format csv >"$WORK/cli" 2>/dev/null
check "pivot csv: same as the CLI" cmp -s "$B" "$WORK/cli"
curl -s -D "$WORK/h" -o "$B" -H 'Accept: text/csv' "$U/api/v1/pivot?seed=www.text.example"
check_grep "pivot: Accept text/csv" "^Content-Type: text/csv" "$WORK/h"
curl -s -D "$WORK/h" -o "$B" "$U/api/v1/pivot?seed=www.text.example&format=table"
check_grep "pivot table: text/plain" "^Content-Type: text/plain" "$WORK/h"
"$INFRAPIVOT" pivot --db "$DB" www.text.example --format table >"$WORK/cli" 2>/dev/null
check "pivot table: same as the CLI" cmp -s "$B" "$WORK/cli"
check_eq "pivot format=xml refused" "$(status GET "$U/api/v1/pivot?seed=www.text.example&format=xml")" 400

# --- watchlist exports
curl -s -D "$WORK/h" -o "$B" "$U/api/v1/watchlists/w?format=csv"
check_grep "watchlist csv: text/csv" "^Content-Type: text/csv" "$WORK/h"
check_eq "watchlist csv: header" "$(csvq "$B" '",".join(r[0][:6])')" "indicator,type,added,expires,source,reason"
check_eq "watchlist csv: the entry, its reason neutralised" "$(csvq "$B" '" ".join(r[1][i] for i in (0, 1, 5))')" \
	"www.text.example domain '@risk, \"a\""
"$INFRAPIVOT" watchlist export --db "$DB" w --format csv >"$WORK/cli" 2>/dev/null
check "watchlist csv: same as the CLI" cmp -s "$B" "$WORK/cli"
curl -s -D "$WORK/h" -o "$B" -H 'Accept: text/csv' "$U/api/v1/watchlists/w"
check_grep "watchlist: Accept text/csv" "^Content-Type: text/csv" "$WORK/h"
check_eq "watchlist csv with since_version refused" "$(status GET "$U/api/v1/watchlists/w?format=csv&since_version=1")" 400

# --- internationalised names in paths, parameters and watchlist entries
check_eq "lookup of a U-label name" "$(status GET "$U/api/v1/lookup/domain/b%C3%BCcher.example")" 200
check_grep "... answers for its A-label form" '"rrname":"xn--bcher-kva.example"' "$B"
check_eq "a name IDNA forbids" "$(status GET "$U/api/v1/lookup/domain/a%E2%98%83b.example")" 400
check_grep "... says so" "is not a valid internationalised domain name" "$B"
check_eq "pivot seed with U-labels" "$(status GET "$U/api/v1/pivot?seed=b%C3%BCcher.example")" 200
check_eq "... seeds the A-label name" "$(jget "$B" "j['nodes'][0]['value']")" "xn--bcher-kva.example"
check_eq "pivot: a bad IDN seed" "$(status GET "$U/api/v1/pivot?seed=a%E2%98%83b.example")" 400
check_grep "... names the parameter" '"message":"seed: ' "$B"
# the DNSDB and CIRCL routes take U-labels too (wildcard ends kept)
check_eq "dnsdb: a U-label name" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/b%C3%BCcher.example")" 200
check_grep "... answers for its A-label form" 'xn--bcher-kva\.example' "$B"
check_eq "dnsdb: a U-label right-hand wildcard" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/b%C3%BCcher.*")" 200
check_grep "... finds the A-label name" 'xn--bcher-kva\.example' "$B"
check_eq "dnsdb: a name IDNA forbids" "$(status GET "$U/dnsdb/v2/lookup/rrset/name/a%E2%98%83b.example")" 400
check_grep "... says so" "is not a valid internationalised domain name" "$B"
check_eq "circl: a U-label name" "$(status GET "$U/pdns/query/b%C3%BCcher.example")" 200
check_grep "... answers for its A-label form" 'xn--bcher-kva\.example' "$B"
check_eq "circl: a name IDNA forbids" "$(status GET "$U/pdns/query/a%E2%98%83b.example")" 400
check_eq "watchlist entries with U-labels" \
	"$(status POST "$U/api/v1/watchlists/w/entries" -H 'Content-Type: application/json' -d '[{"indicator":"bücher.example","type":"domain"}]')" 200
check_eq "... stored as the A-label" "$(status GET "$U/api/v1/watchlists/w/entries/xn--bcher-kva.example")" 200
check_eq "... and found by the U-label" "$(status GET "$U/api/v1/watchlists/w/entries/b%C3%BCcher.example")" 200
check_eq "a bad IDN entry" \
	"$(status POST "$U/api/v1/watchlists/w/entries" -H 'Content-Type: application/json' -d '[{"indicator":"a☃b.example","type":"domain"}]')" 400
check_grep "... names the entry" "entries\[0\]: indicator 'a☃b.example' is not a valid internationalised" "$B"

# --- times: never guessed, the same parser as the CLI
check_eq "an all-digit date-like time" "$(status GET "$U/api/v1/lookup/domain/www.text.example?last_after=20231114")" 400
check_grep "... says how to write it" "write 2023-11-14 for the date, @20231114 for epoch seconds" "$B"
check_eq "compound relative time" "$(status GET "$U/api/v1/lookup/domain/www.text.example?last_before=-1d12h")" 200
check_eq "ISO date" "$(status GET "$U/api/v1/lookup/domain/www.text.example?first_after=2023-11-14")" 200
check_eq "... selects" "$(jget "$B" "j['count']")" 2

stop_server
finish
