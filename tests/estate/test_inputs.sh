#!/bin/bash
# test_inputs.sh - client sightings from real Zeek fixtures, Zeek conn.log
# (TSV and JSON) and EVE flow events, with malformed lines reported by
# file:line and reason while the good lines are kept; retention.
. "$(dirname "$0")/../lib.sh"
DB="$WORK/db"
L="$FIXTURES/zeek/logs-ts"

# real Zeek logs: dns.log queries and ssl.log SNI name their clients
# (the traces are a year apart: keep every pair)
check "ingest real dns/ssl logs" "$INFRAPIVOT" ingest --db "$DB" -q --sensor lab --client-days 36500 \
	"$L/scripts.base.protocols.dns.duplicate-reponses__dns.log" \
	"$L/scripts.base.protocols.ssl.basic__ssl.log" "$L/scripts.base.protocols.ssl.basic__x509.log"
"$INFRAPIVOT" lookup domain www.cmu.edu --clients --db "$DB" --format table >"$WORK/cmu"
check_grep "dns.log client of www.cmu.edu" '^55\.247\.223\.174 +lab +lab ' "$WORK/cmu"
"$INFRAPIVOT" lookup domain ssl.gstatic.com --clients --db "$DB" >"$WORK/gs.json"
check_grep "ssl.log SNI client" '"client": "192\.168\.1\.105"' "$WORK/gs.json"
check_grep "ssl.log source named" '"sni"' "$WORK/gs.json"

# conn.log, TSV: good lines kept, bad ones reported with file:line and reason
cat >"$WORK/conn.log" <<'LOG'
#separator \x09
#set_separator	,
#empty_field	(empty)
#unset_field	-
#path	conn
#fields	ts	uid	id.orig_h	id.orig_p	id.resp_h	id.resp_p	proto	service	duration	orig_bytes	resp_bytes	conn_state
#types	time	string	addr	port	addr	port	enum	string	interval	count	count	string
1700000000.000000	C1	10.0.0.5	5000	203.0.113.9	443	tcp	ssl	1.0	300	200	SF
1700000900.000000	C2	10.0.0.5	5001	203.0.113.9	443	tcp	ssl	1.0	abc	200	SF
1700001800.000000	C3	10.0.0.5	5002	not-an-ip	443	tcp	ssl	1.0	300	200	SF
1700002700.000000	C4	10.0.0.5	5003	203.0.113.9	443	tcp	-	-	-	-	S0
1700003600.000000	C5	10.0.0.5	5004	203.0.113.9
xx	C6	10.0.0.5	5005	203.0.113.9	443	tcp	ssl	1.0	300	200	SF
1700004500.000000	C7	10.0.0.5	5006	203.0.113.9	443	tcp	ssl	1.0	310	190	SF
LOG
"$INFRAPIVOT" ingest --db "$DB" --sensor lab "$WORK/conn.log" 2>"$WORK/conn.err"
check_grep "bad byte count by file:line" 'conn\.log:9: .*orig_bytes .abc. is not a byte count' "$WORK/conn.err"
check_grep "bad address by file:line" 'conn\.log:10: .*id\.resp_h .not-an-ip. is not an IP address' "$WORK/conn.err"
check_grep "short line by file:line" 'conn\.log:12: .*fields where #fields declares 12' "$WORK/conn.err"
check_grep "bad ts by file:line" 'conn\.log:13: .*ts' "$WORK/conn.err"
check_grep "good lines kept" '7 lines read, 3 accepted, 4 rejected' "$WORK/conn.err"
"$INFRAPIVOT" lookup ip 203.0.113.9 --clients --db "$DB" >"$WORK/ip.json"
check_eq "conn.log contacts counted" "$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['clients'][0]['count'], d['clients'][0]['bytes_out_median'] is not None)" "$WORK/ip.json")" "3 True"

# conn.log, JSON writer
printf '%s\n' '{"ts":1700000000.5,"uid":"C9","id.orig_h":"10.0.0.6","id.orig_p":5000,"id.resp_h":"198.51.100.77","id.resp_p":443,"proto":"tcp","duration":1.0,"orig_bytes":100,"resp_bytes":50,"conn_state":"SF"}' \
	'{"ts":1700000600.5,"uid":"C8","id.orig_h":"10.0.0.6","id.orig_p":5001,"id.resp_h":"198.51.100.77","id.resp_p":443,"proto":"tcp","conn_state":"S0"}' >"$WORK/conn.json"
check "ingest JSON conn.log" "$INFRAPIVOT" ingest --db "$DB" -q --sensor lab "$WORK/conn.json"
"$INFRAPIVOT" lookup ip 198.51.100.77 --clients --db "$DB" >"$WORK/j.json"
check_grep "JSON conn.log client" '"client": "10\.0\.0\.6"' "$WORK/j.json"

# EVE flow events
printf '%s\n' '{"timestamp":"2023-11-14T22:13:30.000000+0000","event_type":"flow","host":"ids1","src_ip":"10.2.0.9","src_port":1,"dest_ip":"192.0.2.200","dest_port":443,"proto":"TCP","flow":{"bytes_toserver":700,"bytes_toclient":900,"start":"2023-11-14T22:13:20.000000+0000"}}' \
	'{"timestamp":"2023-11-14T22:13:30.000000+0000","event_type":"flow","src_ip":"10.2.0.9","dest_ip":"192.0.2.200","flow":{"bytes_toserver":"many","start":"2023-11-14T22:13:20.000000+0000"}}' \
	'{"timestamp":"2023-11-14T22:13:30.000000+0000","event_type":"flow","src_ip":"10.2.0.9","dest_ip":"192.0.2.200"}' >"$WORK/eve.json"
"$INFRAPIVOT" ingest --db "$DB" "$WORK/eve.json" 2>"$WORK/eve.err"
check_grep "EVE flow bad bytes" 'eve\.json:2: .*bytes_toserver is not a byte count' "$WORK/eve.err"
check_grep "EVE flow without flow" 'eve\.json:3: .*without a flow object' "$WORK/eve.err"
"$INFRAPIVOT" lookup ip 192.0.2.200 --clients --db "$DB" >"$WORK/f.json"
check_grep "EVE flow sensor from host" '"sensor": "ids1"' "$WORK/f.json"

# organisations default to the sensor; retention drops old pairs
check_grep "default organisation is the sensor" '"org": "ids1"' "$WORK/f.json"
printf '%s\n' '{"timestamp":"2023-12-30T00:00:00+0000","event_type":"flow","src_ip":"10.2.0.9","dest_ip":"192.0.2.201","flow":{"bytes_toserver":1,"bytes_toclient":1,"start":"2023-12-30T00:00:00+0000"}}' >"$WORK/late.json"
"$INFRAPIVOT" ingest --db "$DB" --client-days 30 "$WORK/late.json" 2>"$WORK/late.err"
check_grep "retention drops pairs older than 30 days" 'client pairs not seen for 30 days dropped' "$WORK/late.err"
"$INFRAPIVOT" lookup ip 203.0.113.9 --clients --db "$DB" 2>"$WORK/gone.err"
check_grep "dropped pair is gone" 'no client has contacted' "$WORK/gone.err"
# the table is scanned at most once per day of data: a pair that fell
# behind the cutoff later the same day stays until the data moves a day on
flow() { # SRC DEST TIME
	printf '{"timestamp":"%s","event_type":"flow","src_ip":"%s","dest_ip":"%s","flow":{"bytes_toserver":1,"bytes_toclient":1,"start":"%s"}}\n' "$3" "$1" "$2" "$3"
}
{ flow 10.2.0.9 192.0.2.202 2023-11-20T00:00:00+0000; flow 10.2.0.9 192.0.2.201 2023-12-30T12:00:00+0000; } >"$WORK/same-day.json"
"$INFRAPIVOT" ingest --db "$DB" --client-days 30 "$WORK/same-day.json" 2>"$WORK/same-day.err"
check "no rescan within a day of data" bash -c "! grep -q dropped \"\$1\"" _ "$WORK/same-day.err"
check "old pair kept until the next scan" bash -c "\"\$@\" >/dev/null" _ "$INFRAPIVOT" lookup ip 192.0.2.202 --clients --db "$DB"
flow 10.2.0.9 192.0.2.201 2023-12-31T00:00:01+0000 >"$WORK/next-day.json"
"$INFRAPIVOT" ingest --db "$DB" --client-days 30 "$WORK/next-day.json" 2>"$WORK/next-day.err"
check_grep "a day later the table is scanned" '1 client pairs not seen for 30 days dropped' "$WORK/next-day.err"
"$INFRAPIVOT" lookup ip 192.0.2.202 --clients --db "$DB" 2>"$WORK/gone2.err"
check_grep "old pair dropped by that scan" 'no client has contacted' "$WORK/gone2.err"
check_rc "--client-days 0 refused" 2 "$INFRAPIVOT" ingest --db "$DB" --client-days 0 "$WORK/late.json"
finish
