#!/usr/bin/env bash
# End-to-end: the COF sample and certificate sighting lines through
# `infrapivot ingest`, then lookups, stats, compact, exit statuses and
# every bad-input path of the foundation.  On the store INFRAPIVOT_TEST_STORE
# names too (tests/lib.sh); the extra stores of the input checks (gzip,
# stdin, overlong lines, dry run) stay directories.
. "$(dirname "$0")/../lib.sh"
test_store INFRAPIVOT_DB db
export INFRAPIVOT_DB
IP=$INFRAPIVOT

# --- help for every command
check "top-level --help" "$IP" --help >/dev/null
for cmd in ingest lookup stats compact; do
	"$IP" "$cmd" --help >"$WORK/help" 2>&1
	check_eq "$cmd --help exit" "$?" 0
	check_grep "$cmd --help shows usage" "Usage: infrapivot $cmd" "$WORK/help"
done
check_rc "unknown command" 2 "$IP" frobnicate

# --- COF sample
"$IP" ingest "$FIXTURES/cof/circl-sample.ndjson" 2>"$WORK/err"
check_eq "COF sample ingests cleanly" "$?" 0
check_grep "summary line" "2 lines read, 2 accepted, 0 rejected" "$WORK/err"
"$IP" lookup domain www.circl.lu >"$WORK/out" 2>"$WORK/err"
check_eq "two CNAMEs for www.circl.lu" "$(wc -l <"$WORK/out")" 2
check_grep "cpa.circl.lu with its count" '"rdata":"cpa.circl.lu".*"count":1909' "$WORK/out"
check_grep "results are COF" '"rrname":"www.circl.lu","rrtype":"CNAME"' "$WORK/out"
check_eq "stderr stays clean on results" "$(cat "$WORK/err")" ""
"$IP" lookup domain 'WWW.CIRCL.LU.' >"$WORK/out2" 2>/dev/null
check "lookup normalises the query" cmp -s "$WORK/out" "$WORK/out2"

# --- a mixed observations file: resolutions, sightings, a PEM certificate,
# and bad lines between good ones
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
	-days 30 -subj "/CN=c2.bad-actor.example" \
	-addext "subjectAltName=DNS:c2.bad-actor.example,DNS:cdn.bad-actor.example,IP:203.0.113.5" \
	2>/dev/null
SHA1=$(openssl x509 -in "$WORK/cert.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr A-F a-f)
SHA256=$(openssl x509 -in "$WORK/cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
PEM_JSON=$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$WORK/cert.pem")
cat >"$WORK/obs.ndjson" <<EOT
{"rrname":"c2.bad-actor.example.","rrtype":"A","rdata":"203.0.113.5","time_first":1700000000,"time_last":1700086400,"count":3,"sensor_id":"s1"}
{"rrname":"C2.Bad-Actor.Example","rrtype":"A","rdata":["203.0.113.5","203.0.113.6"],"time_first":1699000000,"time_last":1700000100,"sensor_id":"s2"}
{"rrname":"www.bad-actor.example","rrtype":"CNAME","rdata":"c2.bad-actor.example.","time_first":1700000000,"time_last":1700000000}
{"rrname":"v6.bad-actor.example","rrtype":"AAAA","rdata":"2001:0db8:0000:0000:0000:0000:0000:0005","time_first":1700000000,"time_last":1700000000}
{"ip":"203.0.113.5","port":443,"cert_sha1":"$(echo "$SHA1" | sed 's/../&:/g; s/:$//' | tr a-f A-F)","time_first":1700000000,"time_last":1700086400,"count":3,"sni":"c2.bad-actor.example.","sensor_id":"s1"}
{"ip":"203.0.113.7","port":8443,"cert_sha256":"$SHA256","time_first":1700100000,"time_last":1700200000}
not json at all
{"rrname":"bad..name","rrtype":"A","rdata":"192.0.2.1","time_first":1,"time_last":2}
{"rrname":"x.example","rrtype":"A","rdata":"192.0.2.300","time_first":1,"time_last":2}
{"rrname":"x.example","rrtype":"A","rdata":"192.0.2.3","time_first":5,"time_last":2}
{"rrname":"x.example","rrtype":"BOGUS","rdata":"x","time_first":1,"time_last":2}
{"ip":"203.0.113.9","port":443,"cert_sha1":"abc","time_first":1,"time_last":2}
{"ip":"not-an-ip","port":443,"cert_sha1":"$SHA1","time_first":1,"time_last":2}
{"ip":"203.0.113.9","port":70000,"cert_sha1":"$SHA1","time_first":1,"time_last":2}
{"cert_pem":$PEM_JSON,"cert_sha1":"0000000000000000000000000000000000000000"}
{"rrname":"x.example","rrtype":"A","time_first":1,"time_last":2}
{"cert_pem":$PEM_JSON}
{"rrname":"late.bad-actor.example","rrtype":"A","rdata":"203.0.113.6","time_first":1700000000,"time_last":1700000000}
EOT
"$IP" ingest --sensor cli-test --rejects "$WORK/rejects.ndjson" "$WORK/obs.ndjson" >"$WORK/out" 2>"$WORK/err"
check_eq "rejects give exit status 1" "$?" 1
check_grep "summary counts" "18 lines read, 8 accepted, 10 rejected" "$WORK/err"
check_grep "reject names file and line" "obs.ndjson:7: rejected: not JSON" "$WORK/err"
check_grep "bad name reason" "obs.ndjson:8: rejected: rrname bad..name: invalid domain name" "$WORK/err"
check_grep "bad address reason" "obs.ndjson:9: rejected: rdata 192.0.2.300 is not valid A rdata" "$WORK/err"
check_grep "time order reason" "obs.ndjson:10: rejected: time_first is after time_last" "$WORK/err"
check_grep "bad type reason" "obs.ndjson:11: rejected: rrtype is not a known type" "$WORK/err"
check_grep "bad hash reason" "obs.ndjson:12: rejected: cert_sha1 is not 40 hex digits" "$WORK/err"
check_grep "bad ip reason" "obs.ndjson:13: rejected: ip is not a valid" "$WORK/err"
check_grep "bad port reason" "obs.ndjson:14: rejected: port is not an integer 1-65535" "$WORK/err"
check_grep "hash mismatch reason" "obs.ndjson:15: rejected: cert_sha1 does not match the certificate" "$WORK/err"
check_grep "missing field reason" "obs.ndjson:16: rejected: missing rdata" "$WORK/err"
check_eq "stdout carries nothing on ingest" "$(cat "$WORK/out")" ""
check_eq "all rejects in the rejects file" "$(wc -l <"$WORK/rejects.ndjson")" 10
check "rejects file is NDJSON with input, line, reason" python3 -c '
import json,sys
for l in open(sys.argv[1]):
    o=json.loads(l); assert set(o)=={"input","line","reason","text"}, o
' "$WORK/rejects.ndjson"

# the good lines around the bad ones are kept
"$IP" lookup domain c2.bad-actor.example >"$WORK/out" 2>/dev/null
check_eq "two addresses for c2" "$(wc -l <"$WORK/out")" 2
check_grep "merged counts and times" '"rdata":"203.0.113.5","time_first":1699000000,"time_last":1700086400,"count":4' "$WORK/out"
check_grep "sensors kept" '"sensors":\["s1","s2"\]' "$WORK/out"
"$IP" lookup domain late.bad-actor.example >"$WORK/out" 2>/dev/null
check_grep "line after the bad ones kept, default sensor applied" '"sensor_id":"cli-test"' "$WORK/out"
"$IP" lookup domain '*.bad-actor.example' >"$WORK/out" 2>/dev/null
check_eq "wildcard finds the names under the zone" "$(wc -l <"$WORK/out")" 5
"$IP" lookup domain v6.bad-actor.example >"$WORK/out" 2>/dev/null
check_grep "IPv6 printed per RFC 5952" '"rdata":"2001:db8::5"' "$WORK/out"

# ip lookups: names and certificates
"$IP" lookup ip 203.0.113.5 >"$WORK/out" 2>/dev/null
check_grep "names on the ip" '"rrname":"c2.bad-actor.example"' "$WORK/out"
check_grep "certificate on the ip" "\"type\":\"cert_sighting\",\"ip\":\"203.0.113.5\",\"port\":443,\"cert_sha1\":\"$SHA1\"" "$WORK/out"
check_grep "sni normalised" '"sni":\["c2.bad-actor.example"\]' "$WORK/out"
"$IP" lookup ip 203.0.113.0/24 >"$WORK/out" 2>/dev/null
check_eq "prefix lookup: 3 resolutions + 2 sightings" "$(wc -l <"$WORK/out")" 5
"$IP" lookup ip 203.0.113.0/24 --last-after 1700050000 >"$WORK/out" 2>/dev/null
check_eq "last-after fence" "$(wc -l <"$WORK/out")" 3
"$IP" lookup ip 203.0.113.0/24 --since 2023-11-16 --until 2023-11-17T23:59:59Z >"$WORK/out" 2>/dev/null
check_eq "since/until window" "$(wc -l <"$WORK/out")" 1
check_grep "window keeps the 8443 sighting" '"port":8443' "$WORK/out"
"$IP" lookup ip 203.0.113.0/24 --first-before 1699500000 >"$WORK/out" 2>/dev/null
check_eq "first-before fence" "$(wc -l <"$WORK/out")" 2
"$IP" lookup ip 203.0.113.0/24 --first-after 1700000000 --last-before 1700000000 >"$WORK/out" 2>/dev/null
check_eq "first-after + last-before fences" "$(wc -l <"$WORK/out")" 1

# cert lookups by either hash, SHA-256 joined to SHA-1 by the PEM line
"$IP" lookup cert "$SHA256" >"$WORK/out" 2>/dev/null
check_grep "metadata by SHA-256" "\"cert_sha1\":\"$SHA1\",\"cert_sha256\":\"$SHA256\"" "$WORK/out"
check_grep "subject parsed" '"subject":"CN = c2.bad-actor.example"|"subject":"CN=c2.bad-actor.example"' "$WORK/out"
check_grep "SAN names" '"san_dns":\["c2.bad-actor.example","cdn.bad-actor.example"\]' "$WORK/out"
check_grep "SAN ip" '"san_ip":\["203.0.113.5"\]' "$WORK/out"
# (on ClickHouse the join is resolved when reading by certificate:
# docs/scale-out.md, "The SHA-256 -> SHA-1 join")
check_grep "ip count" '"ip_count":2' "$WORK/out"
check_grep "SHA-256-only sighting joined" '"ip":"203.0.113.7","port":8443' "$WORK/out"
"$IP" lookup cert "$(echo "$SHA1" | tr a-f A-F)" >"$WORK/out2" 2>/dev/null
check "same answer by upper-case SHA-1" cmp -s "$WORK/out" "$WORK/out2"
"$IP" lookup cert "$SHA1" --format table >"$WORK/out" 2>/dev/null
check_grep "table shows ip:port" "203.0.113.5:443" "$WORK/out"

# --- limits
"$IP" lookup ip 203.0.113.0/24 --limit 2 >"$WORK/out" 2>"$WORK/err"
check_eq "limit cuts results" "$(wc -l <"$WORK/out")" 2
check_grep "limit is reported on stderr" "limit of 2 results reached" "$WORK/err"
"$IP" lookup ip 203.0.113.0/24 --limit 2 --offset 2 >"$WORK/out" 2>/dev/null
check_eq "offset pages on" "$(wc -l <"$WORK/out")" 2

# --- bad queries are clear errors with exit status 2
"$IP" lookup domain 'bad..name' >"$WORK/out" 2>"$WORK/err"
check_eq "bad name exit" "$?" 2
check_grep "bad name message" "not a valid domain name" "$WORK/err"
check_rc "bad ip" 2 "$IP" lookup ip 300.1.1.1
# a prefix wider than /16 is served like a narrower one (issue 12)
check_rc "wide prefix served" 0 "$IP" lookup ip 10.0.0.0/8
check_rc "prefix longer than 32" 2 "$IP" lookup ip 10.0.0.0/33
check_rc "bad hash" 2 "$IP" lookup cert 1234
check_rc "bad time" 2 "$IP" lookup domain x.example --since yesterday
check_rc "bad kind" 2 "$IP" lookup asn 1234
"$IP" lookup domain nothing.example >"$WORK/out" 2>"$WORK/err"
check_eq "no results is not an error" "$?" 0
check_grep "no results said on stderr" "no results" "$WORK/err"

# --- unreadable input: exit 2, others still ingested
"$IP" ingest "$WORK/missing.ndjson" "$FIXTURES/cof/circl-sample.ndjson" 2>"$WORK/err"
check_eq "unreadable input gives 2" "$?" 2
check_grep "unreadable input named" "cannot read .*missing.ndjson" "$WORK/err"
check_rc "unknown format" 2 "$IP" ingest --format nope "$WORK/obs.ndjson"

# --- a dry run checks input and writes nothing, not even a database
"$IP" ingest --dry-run --db "$WORK/dry" "$WORK/obs.ndjson" >/dev/null 2>"$WORK/err"
check_eq "dry run exit status still tells rejects" "$?" 1
check_grep "dry run reports rejects" "obs.ndjson:7: rejected: not JSON" "$WORK/err"
check "dry run created no database" test ! -e "$WORK/dry"
check_rc "dry run and follow refused together" 2 "$IP" ingest --dry-run --follow "$WORK/obs.ndjson"

# --- gzip and stdin
gzip -c "$FIXTURES/cof/circl-sample.ndjson" >"$WORK/sample.ndjson.gz"
INFRAPIVOT_DB="$WORK/db2" "$IP" ingest "$WORK/sample.ndjson.gz" 2>/dev/null
check_eq "gzip input" "$?" 0
INFRAPIVOT_DB="$WORK/db3" "$IP" ingest - <"$FIXTURES/cof/circl-sample.ndjson" 2>"$WORK/err"
check_grep "stdin input" "2 accepted" "$WORK/err"

# --- overlong line
python3 -c 'print("{\"rrname\":\"" + "a"*5000 + "\"}"); print("{\"rrname\":\"ok.example\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.1\",\"time_first\":1,\"time_last\":2}")' >"$WORK/long.ndjson"
INFRAPIVOT_DB="$WORK/db4" "$IP" ingest --max-line 1024 "$WORK/long.ndjson" 2>"$WORK/err"
check_eq "overlong line exit" "$?" 1
check_grep "overlong reason" "long.ndjson:1: rejected: line longer than 1024 bytes" "$WORK/err"
check_grep "line after overlong kept" "1 accepted" "$WORK/err"

# --- stats (the SHA-256-only certificate joined to its SHA-1 on both
# stores; on ClickHouse there is no database file: docs/scale-out.md) and
# compact
"$IP" stats --json >"$WORK/stats" 2>/dev/null
check "stats is JSON with counts" python3 -c '
import json,sys; s=json.load(open(sys.argv[1])); ch=sys.argv[2]=="ch"
assert s["resolutions"]==7, s; assert s["certificates"]==1, s
assert s["cert_sightings"]==2, s; assert s["sha256_aliases"]==1, s; assert s["sensors"]==3, s
assert s["db_bytes"] is None if ch else s["db_bytes"]>0, s
' "$WORK/stats" "$(on_clickhouse && echo ch || echo lmdb)"
if lmdb_only "compact reads and copies the LMDB files"; then
	"$IP" compact "$WORK/compacted" 2>"$WORK/err"
	check_eq "compact" "$?" 0
	check_rc "compact refuses to overwrite" 2 "$IP" compact "$WORK/compacted"
	for q in "domain *.bad-actor.example" "domain www.circl.lu" "ip 203.0.113.0/24" "cert $SHA256"; do
		# shellcheck disable=SC2086
		"$IP" lookup $q >"$WORK/a" 2>/dev/null
		# shellcheck disable=SC2086
		INFRAPIVOT_DB="$WORK/compacted" "$IP" lookup $q >"$WORK/b" 2>/dev/null
		check "compacted copy answers '$q' the same" cmp -s "$WORK/a" "$WORK/b"
	done
	check "compacted answers are not empty" test -s "$WORK/b"
	"$IP" compact --copy "$WORK/copied" 2>"$WORK/err"
	check_eq "compact --copy" "$?" 0
	INFRAPIVOT_DB="$WORK/copied" "$IP" lookup domain www.circl.lu >"$WORK/out" 2>/dev/null
	check_eq "page copy answers" "$(wc -l <"$WORK/out")" 2
	INFRAPIVOT_DB="$WORK/compacted" "$IP" stats --json >"$WORK/stats2" 2>/dev/null
	check "compacted copy has every record" same_stats "$WORK/stats" "$WORK/stats2"
	INFRAPIVOT_DB="$WORK/none" "$IP" stats 2>"$WORK/err"
	check_grep "missing database is a clear error" "no database at|cannot open database" "$WORK/err"
fi

finish
