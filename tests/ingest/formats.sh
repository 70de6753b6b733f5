#!/bin/bash
# Sensor formats end to end: every fixture with exact counts, what lookups
# return afterwards, auto-detection, gzip, certificate files, bad input.
. "$(dirname "$0")/../lib.sh"
IP=$(realpath "$INFRAPIVOT")
Z=$FIXTURES/zeek
TAB=$(printf '\t')

# The stores whose records are looked up are each a directory or a cluster
# database (tests/lib.sh's test_store, made where first used: the last one
# made is the one its control directory serves); those that only count
# what a parser accepts and rejects stay directories.

# summary FILE... -> "lines accepted rejected skipped records" (fresh db)
summary() {
	local db; db=$(mktemp -d "$WORK/db-XXXXXX")
	"$IP" ingest -q --db "$db" "$@" >"$WORK/last.out" 2>&1
	if grep -qE 'Sanitizer|runtime error' "$WORK/last.out"; then
		bad "sanitizer report for $*"
		cat "$WORK/last.out" >&2
	fi
	sed -nE <"$WORK/last.out" \
		's/^ingest: ([0-9]+) lines read, ([0-9]+) accepted, ([0-9]+) rejected, ([0-9]+) skipped; ([0-9]+) records.*/\1 \2 \3 \4 \5/p'
}
expect() { # FILE "lines acc rej skip records" [FORMAT]
	local f=$1 want=$2 fmt=${3:-}
	check_eq "$(basename "$f") (auto)" "$(summary "$f")" "$want"
	if [ -n "$fmt" ]; then
		check_eq "$(basename "$f") (--format $fmt)" "$(summary --format "$fmt" "$f")" "$want"
	fi
}

# ---- every fixture, exact counts; auto-detection agrees with --format
expect "$Z/logs-ts/opt.basic__dns.log" "34 6 0 28 13" zeek
expect "$Z/logs-ts/scripts.base.protocols.dns.binds__dns.log" "1 0 0 1 0" zeek
expect "$Z/logs-ts/scripts.base.protocols.dns.duplicate-reponses__dns.log" "2 2 0 0 6" zeek
expect "$Z/logs-ts/scripts.base.protocols.ssl.basic__ssl.log" "1 1 0 0 1" zeek
expect "$Z/logs-ts/scripts.base.protocols.ssl.basic__x509.log" "2 2 0 0 2" zeek
expect "$Z/logs-ts/scripts.base.protocols.ssl.ecdhe__ssl.log" "1 1 0 0 1" zeek
expect "$Z/logs-ts/scripts.base.protocols.ssl.ecdhe__x509.log" "3 3 0 0 3" zeek
expect "$Z/logs/opt.basic__dns.log" "34 0 34 0 0" zeek
expect "$Z/logs/scripts.base.protocols.dns.binds__dns.log" "1 0 1 0 0" zeek
expect "$Z/logs/scripts.base.protocols.dns.duplicate-reponses__dns.log" "2 0 2 0 0" zeek
expect "$Z/logs/scripts.base.protocols.ssl.basic__ssl.log" "1 0 1 0 0" zeek
expect "$Z/logs/scripts.base.protocols.ssl.basic__x509.log" "2 0 2 0 0" zeek
expect "$Z/logs/scripts.base.protocols.ssl.ecdhe__ssl.log" "1 0 1 0 0" zeek
expect "$Z/logs/scripts.base.protocols.ssl.ecdhe__x509.log" "3 0 3 0 0" zeek
expect "$Z/logs/scripts.policy.frameworks.intel.seen.certs__intel-all.log" "7 0 7 0 0" zeek
expect "$FIXTURES/suricata/eve-from-zeek-pcaps.json" "27 18 0 9 29" eve
expect "$FIXTURES/passivedns/passivedns-sample.log" "7 7 0 0 7" passivedns
expect "$FIXTURES/passivedns/passivedns-nxdomain.log" "1 0 0 1 0" passivedns
expect "$Z/certs/tls-conn-with-extensions-leaf.pem" "1 1 0 0 1" x509
expect "$Z/certs/ecdhe-leaf.pem" "1 1 0 0 1" x509
expect "$FIXTURES/cof/circl-sample.ndjson" "2 2 0 0 2" observations

# masked timestamps: each data line rejected with its file, line and why
"$IP" ingest --db "$WORK/masked" "$Z/logs/scripts.base.protocols.ssl.basic__ssl.log" \
	--rejects "$WORK/masked.rej" 2>"$WORK/masked.err"
check_grep "masked ts reason on stderr" \
	'basic__ssl.log:10: rejected: ts XXXXXXXXXX.XXXXXX is masked' "$WORK/masked.err"
check_grep "masked ts in the rejects file" '"line":10,"reason":"ts XXXXXXXXXX.XXXXXX is masked' \
	"$WORK/masked.rej"

# ---- lookups after ingesting everything (a directory walk, mixed formats)
test_store DB all
"$IP" ingest -q --db "$DB" "$Z/logs-ts" "$FIXTURES/suricata" "$FIXTURES/passivedns" \
	>/dev/null 2>&1
check_rc "directory of mixed formats: no rejects" 0 \
	"$IP" ingest -q --db "$WORK/all2" "$Z/logs-ts" "$FIXTURES/suricata" "$FIXTURES/passivedns"
L() { "$IP" lookup --db "$DB" "$@" 2>/dev/null; }
L cert 82437e7830614e2500679d121590d25381de1dac >"$WORK/c1"
check_grep "EVE: 8243 served by 74.125.224.79:443" '"ip":"74.125.224.79","port":443' "$WORK/c1"
check_grep "EVE: SNI ssl.gstatic.com" '"sni":\["ssl.gstatic.com"\]' "$WORK/c1"
check_grep "EVE: subject" '"subject":"CN=\*.gstatic.com, O=Google Inc' "$WORK/c1"
check_grep "EVE: serial without colons" '"serial":"36F5DA5300000000505E"' "$WORK/c1"
L cert a580247a25324adf4add5af648de4ac5798030dfd622f26a5f2280d7528ae244 >"$WORK/c2"
check_grep "Zeek ssl.log SHA-256 sighting" '"ip":"74.125.224.79","port":443' "$WORK/c2"
check_grep "Zeek x509.log SAN" '"san_dns":\["\*.gstatic.com","gstatic.com","\*.metric.gstatic.com"\]' "$WORK/c2"
L domain upload.wikimedia.org >"$WORK/d1"
check_grep "Zeek+EVE CNAME" '"rrname":"upload.wikimedia.org","rrtype":"CNAME","rdata":"upload.pmtpa.wikimedia.org"' "$WORK/d1"
check_grep "Zeek: address of the query name" '"rrname":"upload.wikimedia.org","rrtype":"A","rdata":"208.80.152.3"' "$WORK/d1"
L domain upload.pmtpa.wikimedia.org >"$WORK/d2"
check_grep "EVE: address of its owner" '"rrtype":"A","rdata":"208.80.152.3"' "$WORK/d2"
L domain www-cmu.andrew.cmu.edu >"$WORK/d3"
check_grep "Zeek CNAME chain, RRSIG skipped" '"rdata":"www-cmu-2.andrew.cmu.edu"' "$WORK/d3"
check_eq "RRSIG not recorded" "$(L domain www.cmu.edu | grep -c RRSIG)" 0
check_eq "mDNS answers without qtype not recorded" "$(L domain gemini._sftp-ssh._tcp.local | wc -l)" 0
L ip 2a00:1450:4001:c01::63 >"$WORK/i1"
check_grep "passivedns AAAA" '"rrname":"ipv6.google.com".*"count":2' "$WORK/i1"
check_grep "passivedns MX" '"rdata":"10 mx1.example.org"' <(L domain mail.example.org)
check_eq "passivedns NXDOMAIN not recorded" "$(L domain no-such-host.example | wc -l)" 0

# the Zeek SHA-256 finds the SHA-1 certificate once both are known
"$IP" ingest -q --db "$DB" "$Z/certs/tls-conn-with-extensions-leaf.pem" >/dev/null 2>&1
L cert a580247a25324adf4add5af648de4ac5798030dfd622f26a5f2280d7528ae244 >"$WORK/c3"
check_grep "SHA-256 resolves to the SHA-1 cert" '"cert_sha1":"82437e7830614e2500679d121590d25381de1dac"' "$WORK/c3"
check_grep "...with its sighting" '"type":"cert_sighting","ip":"74.125.224.79","port":443' "$WORK/c3"
# and in the other order: certificate first, then Zeek
test_store DB2 order2
"$IP" ingest -q --db "$DB2" "$Z/certs" >/dev/null 2>&1
"$IP" ingest -q --db "$DB2" "$Z/logs-ts/scripts.base.protocols.ssl.basic__ssl.log" >/dev/null 2>&1
"$IP" lookup --db "$DB2" cert 82437e7830614e2500679d121590d25381de1dac >"$WORK/c4" 2>&1
check_grep "cert then Zeek: SHA-1 lookup sees the Zeek sighting" '"ip":"74.125.224.79","port":443' "$WORK/c4"

# ---- gzip
gzip -c "$Z/logs-ts/opt.basic__dns.log" >"$WORK/dns.log.gz"
expect "$WORK/dns.log.gz" "34 6 0 28 13"
gzip -c "$FIXTURES/suricata/eve-from-zeek-pcaps.json" >"$WORK/eve.json.gz"
expect "$WORK/eve.json.gz" "27 18 0 9 29"

# ---- certificate files: bundle, DER, --ip/--port at mtime
cat "$Z/certs/"*.pem >"$WORK/bundle.pem"
touch -d '2024-01-02T03:04:05Z' "$WORK/bundle.pem"
test_store CDB cdb
"$IP" ingest -q --db "$CDB" --ip 192.0.2.7 --port 8443 "$WORK/bundle.pem" 2>"$WORK/cdb.err"
check_grep "bundle: two certificates" 'ingest: 2 lines read, 2 accepted' "$WORK/cdb.err"
"$IP" lookup --db "$CDB" ip 192.0.2.7 >"$WORK/cdb.out" 2>&1
check_grep "--ip sighting of the bundle (1)" '"port":8443,"cert_sha1":"82437e7830614e2500679d121590d25381de1dac","time_first":1704164645' "$WORK/cdb.out"
check_grep "--ip sighting of the bundle (2)" '"cert_sha1":"e2fb0771ee6fc0d0e324bc863c02b57921257c86"' "$WORK/cdb.out"
openssl x509 -in "$Z/certs/ecdhe-leaf.pem" -outform DER -out "$WORK/leaf.der" 2>/dev/null
expect "$WORK/leaf.der" "1 1 0 0 1" x509
printf -- '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n' >"$WORK/bad.pem"
cat "$Z/certs/ecdhe-leaf.pem" >>"$WORK/bad.pem"
expect "$WORK/bad.pem" "2 1 1 0 1"
printf -- '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' >"$WORK/key.pem"
expect "$WORK/key.pem" "1 0 1 0 0"
mkdir "$WORK/certdir" && cp "$Z/certs/"*.pem "$WORK/leaf.der" "$WORK/certdir/"
gzip -c "$Z/certs/ecdhe-leaf.pem" >"$WORK/certdir/z.pem.gz"
expect "$WORK/certdir" "4 4 0 0 4"

# ---- passivedns options and JSON
sed 's/||/;/g' "$FIXTURES/passivedns/passivedns-sample.log" >"$WORK/semi.log"
check_eq "--passivedns-delimiter" "$(summary --format passivedns --passivedns-delimiter ';' "$WORK/semi.log")" "7 7 0 0 7"
printf '1322849924.408856||x.example.com.||A||192.0.2.9\n' >"$WORK/few.log"
check_eq "--passivedns-fields SMQTA" "$(summary --passivedns-fields SMQTA "$WORK/few.log")" "1 1 0 0 1"
check_eq "default fields on a 4-field line" "$(summary "$WORK/few.log")" "1 0 1 0 0"
check_rc "bad --passivedns-fields" 2 "$IP" ingest --db "$WORK/x" --passivedns-fields 'Q?' "$WORK/few.log"
cat >"$WORK/pdns.json" <<'J'
{"timestamp_s":1322849924,"timestamp_ms":408856,"client":"10.1.1.1","server":"8.8.8.8","class":"IN","query":"j.example.com.","type":"A","answer":"192.0.2.44","ttl":60,"count":4}
{"timestamp_s":1322849924,"timestamp_ms":408856,"client":"10.1.1.1","server":"8.8.8.8","class":"IN","query":"nx.example.com.","type":"A","answer":"NXDOMAIN","ttl":0,"count":1}
J
check_eq "passivedns JSON" "$(summary "$WORK/pdns.json")" "2 1 0 1 1"

# ---- EVE: v1, v3, other events, resumed TLS, expanded IPv6
cat >"$WORK/eve.json" <<'J'
{"timestamp":"2024-05-01T10:00:00.000000+0000","event_type":"dns","src_ip":"10.0.0.1","dest_ip":"10.0.0.53","dns":{"type":"answer","id":1,"rrname":"v1.example.com","rrtype":"A","ttl":60,"rdata":"192.0.2.1","rcode":"NOERROR"}}
{"timestamp":"2024-05-01T10:00:00.000000+0000","event_type":"dns","dns":{"type":"query","id":1,"rrname":"v1.example.com","rrtype":"A"}}
{"timestamp":"2024-05-01T10:00:01.000000+0000","event_type":"dns","dns":{"version":3,"type":"response","id":2,"rcode":"NOERROR","queries":[{"rrname":"v3.example.com","rrtype":"AAAA"}],"answers":[{"rrname":"v3.example.com","rrtype":"AAAA","ttl":60,"rdata":"2001:0db8:0000:0000:0000:0000:0000:0001"}]}}
{"timestamp":"2024-05-01T10:00:01.000000+0000","event_type":"dns","dns":{"version":3,"type":"request","id":2,"queries":[{"rrname":"v3.example.com","rrtype":"AAAA"}]}}
{"timestamp":"2024-05-01T10:00:02.000000+0000","event_type":"dns","dns":{"version":2,"type":"answer","rrname":"g.example.com","rrtype":"A","rcode":"NOERROR","grouped":{"A":["192.0.2.5"],"CNAME":["g2.example.com"]}}}
{"timestamp":"2024-05-01T10:00:03.000000+0000","event_type":"alert","alert":{"signature":"x"}}
{"timestamp":"2024-05-01T10:00:03.000000+0000","event_type":"tls","dest_ip":"2001:0db8:0000:0000:0000:0000:0000:00ff","dest_port":443,"tls":{"sni":"v6.example.com.","version":"TLS 1.3","fingerprint":"aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd"}}
{"timestamp":"2024-05-01T10:00:03.000000+0000","event_type":"tls","dest_ip":"192.0.2.8","dest_port":443,"tls":{"sni":"resumed.example.com","version":"TLS 1.2"}}
this is not json
{"timestamp":"2024-05-01T10:00:04.000000+0000","event_type":"tls","dest_ip":"999.1.1.1","dest_port":443,"tls":{"fingerprint":"aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd"}}
J
check_eq "EVE variants" "$(summary "$WORK/eve.json")" "10 4 2 4 5"
test_store EVEDB evedb
"$IP" ingest --db "$EVEDB" "$WORK/eve.json" 2>"$WORK/eve.err" >/dev/null
check_grep "EVE non-JSON reject" 'eve.json:9: rejected: not JSON' "$WORK/eve.err"
check_grep "EVE bad IP reject" 'eve.json:10: rejected: dest_ip 999.1.1.1 is not an IP address' "$WORK/eve.err"
"$IP" lookup --db "$EVEDB" ip 2001:db8::ff >"$WORK/eve6" 2>&1
check_grep "expanded IPv6 normalised, SNI trailing dot dropped" '"ip":"2001:db8::ff","port":443.*"sni":\["v6.example.com"\]' "$WORK/eve6"
check_grep "EVE v3 AAAA" '"rdata":"2001:db8::1"' <("$IP" lookup --db "$EVEDB" domain v3.example.com)
check_grep "EVE grouped CNAME" '"rdata":"g2.example.com"' <("$IP" lookup --db "$EVEDB" domain g.example.com)

# ---- Zeek: JSON writer, any field order, escapes, bad lines, pre-4.2 join
cat >"$WORK/zj.log" <<'J'
{"ts":1700000000.123456,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"proto":"udp","query":"zj.example.com","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","answers":["zj-cdn.example.net","192.0.2.77","TXT 3 abc"],"TTLs":[60.0,60.0,60.0],"rejected":false}
{"ts":1700000001.0,"uid":"C2","id.orig_h":"10.0.0.1","id.orig_p":1234,"id.resp_h":"192.0.2.80","id.resp_p":443,"server_name":"zj.example.com","cert_chain_fps":["a97a22b691caf62c1623d14abf8a31ac915f14d87f77d8a37c47eb4785b484ad"]}
{"ts":"2023-11-14T22:13:22.000000Z","uid":"C3","id.orig_h":"10.0.0.1","id.orig_p":1234,"id.resp_h":"192.0.2.81","id.resp_p":443,"server_name":"zj.example.com","resumed":true}
J
check_eq "Zeek JSON writer" "$(summary "$WORK/zj.log")" "3 2 0 1 3"
test_store ZJDB zjdb
check_grep "Zeek JSON: A of the query" '"rdata":"192.0.2.77"' <("$IP" lookup --db "$ZJDB" domain zj.example.com 2>/dev/null; "$IP" ingest -q --db "$ZJDB" "$WORK/zj.log" 2>/dev/null; "$IP" lookup --db "$ZJDB" domain zj.example.com)
{
	printf '#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n'
	printf '#fields\tanswers\tquery\trcode\tqtype\tts\trejected\n'
	printf '#types\tvector[string]\tstring\tcount\tcount\ttime\tbool\n'
	printf 'a\\x2cb.example.com,192.0.2.1\tesc.example.com\t0\t1\t1700000000.5\tF\n'
	printf '192.0.2.2\tesc.example.com\t0\t1\t1700000000.5\n'
	printf '192.0.2.3\tesc.example.com\t0\t1\tyesterday\tF\n'
	printf '192.0.2.4\tesc.example.com\t0\t1\t1700000000.5\tT\n'
	printf '192.0.2.5\tesc.example.com\t3\t1\t1700000000.5\tF\n'
	printf '(empty)\tesc.example.com\t0\t1\t1700000000.5\tF\n'
	printf '192.0.2.6\tesc.example.com\t0\t1\t1700000000.5\tF\n'
	printf '#close\t2024-01-01-00-00-00\n'
} >"$WORK/zt.log"
check_eq "Zeek TSV: field order, bad lines" "$(summary "$WORK/zt.log")" "7 2 2 3 2"
test_store ZTDB ztdb
"$IP" ingest --db "$ZTDB" "$WORK/zt.log" 2>"$WORK/zt.err" >/dev/null
check_grep "field count mismatch" 'zt.log:9: rejected: 5 fields where #fields declares 6' "$WORK/zt.err"
check_grep "malformed ts" "zt.log:10: rejected: ts 'yesterday' is not an epoch time" "$WORK/zt.err"
# \x2c is a comma inside one answer, not a separator: "a,b.example.com"
# is no host name, so it is other rdata (counted), and nothing is split
check_grep "escaped set separator is not split" '1 answers not recorded' "$WORK/zt.err"
check_eq "escaped: no CNAME to b.example.com" "$("$IP" lookup --db "$ZTDB" domain esc.example.com 2>/dev/null | grep -c CNAME)" 0
printf '1700000000\tx.example.com\n' >"$WORK/nohdr.log"
check_eq "data before #fields" "$(summary --format zeek "$WORK/nohdr.log")" "1 0 1 0 0"

# pre-4.2: ssl.log names certificates by file id; x509.log has id (and here
# no fingerprint: files.log gives the sha1)
{
	printf '#separator \\x09\n#path\tssl\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tserver_name\tcert_chain_fuids\tclient_cert_chain_fuids\n'
	printf '1400000000.1\tC1\t10.0.0.1\t5555\t198.51.100.9\t443\told.example.com\tFuidLeaf1,FuidCA1\t(empty)\n'
	printf '1400000100.1\tC2\t10.0.0.1\t5556\t198.51.100.9\t443\told.example.com\tFuidLeaf2\t(empty)\n'
} >"$WORK/1-ssl.log"
{
	printf '#separator \\x09\n#path\tx509\n#fields\tts\tid\tcertificate.version\tcertificate.serial\tcertificate.subject\tcertificate.issuer\tcertificate.not_valid_before\tcertificate.not_valid_after\tsan.dns\tsan.ip\n'
	printf '1400000000.1\tFuidLeaf1\t3\t0A\tCN=old.example.com\tCN=Old CA\t1300000000.0\t1500000000.0\told.example.com,www.old.example.com\t198.51.100.9\n'
} >"$WORK/2-x509.log"
{
	printf '#separator \\x09\n#path\tfiles\n#fields\tts\tfuid\tmime_type\tmd5\tsha1\tsha256\n'
	printf '1400000000.1\tFuidLeaf1\tapplication/x-x509-user-cert\t-\t1111111111111111111111111111111111111111\t-\n'
	printf '1400000100.1\tFuidLeaf2\tapplication/x-x509-user-cert\t-\t1111111111111111111111111111111111111111\t-\n'
} >"$WORK/3-files.log"
mkdir "$WORK/old" && cp "$WORK/1-ssl.log" "$WORK/2-x509.log" "$WORK/3-files.log" "$WORK/old/"
test_store OLDDB olddb
"$IP" ingest -q --db "$OLDDB" "$WORK/old" 2>"$WORK/old.err"
check_grep "pre-4.2 join counts" 'ingest: 5 lines read, 5 accepted, 0 rejected, 0 skipped; 3 records' "$WORK/old.err"
"$IP" lookup --db "$OLDDB" cert 1111111111111111111111111111111111111111 >"$WORK/old.out" 2>&1
check_grep "pre-4.2 join: sighting" '"ip":"198.51.100.9","port":443.*"time_first":1400000000,"time_last":1400000100,"count":2' "$WORK/old.out"
check_grep "pre-4.2 join: metadata" '"subject":"CN=old.example.com".*"san_ip":\["198.51.100.9"\]' "$WORK/old.out"

# ---- overlong line: rejected with the limit in the reason, neighbours kept
{
	head -1 "$FIXTURES/passivedns/passivedns-sample.log"
	python3 -c 'print("1322849924.1||" + "a" * 5000)'
	sed -n 2p "$FIXTURES/passivedns/passivedns-sample.log"
} >"$WORK/long.log"
"$IP" ingest --db "$WORK/longdb" --max-line 4096 "$WORK/long.log" 2>"$WORK/long.err" >/dev/null
check_grep "overlong reason" 'long.log:2: rejected: line longer than 4096 bytes' "$WORK/long.err"
check_grep "overlong neighbours kept" 'ingest: 3 lines read, 2 accepted, 1 rejected' "$WORK/long.err"
printf '1322849924.408856||10.1.1.300||8.8.8.8||IN||bad.example.com.||A||192.0.2.1||60||1\n' >"$WORK/badip.log"
"$IP" ingest --db "$WORK/bipdb" "$WORK/badip.log" 2>"$WORK/badip.err" >/dev/null
check_grep "passivedns bad IP" 'badip.log:1: rejected: client 10.1.1.300 is not an IP address' "$WORK/badip.err"

finish
