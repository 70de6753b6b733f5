# test_keys_cli.sh - issue 15 end to end with real certificates made by
# openssl: the SPKI SHA-256 computed at ingest (PEM files, cert_pem lines,
# EVE tls.certificate) equals openssl's own, a re-issued certificate is found
# through `key`, EVE/Zeek JA3S land as fingerprints, the lookups (CLI and
# HTTP on a real server), the STIX bundle with the new nodes validates, and
# every bad input is refused with a clear message.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/http/http_lib.sh"

cd "$WORK" || exit 1
# one key, two certificates (the re-issue: new serial, new hash); another key
openssl req -x509 -newkey rsa:2048 -nodes -keyout a.key -subj "/O=Acme Widgets/CN=Acme Server" \
	-set_serial 0x0a -days 30 -out a0.pem 2>/dev/null
openssl req -x509 -key a.key -subj "/O=Acme Widgets/CN=Acme Server" -set_serial 0x0b \
	-days 60 -out a1.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout b.key -subj "/CN=Other" -set_serial 0x0a \
	-days 30 -out b0.pem 2>/dev/null
spki() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -c1-64; }
sha1() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
b64() { openssl x509 -in "$1" -outform der | base64 -w0; }
KA=$(spki a0.pem)
check_eq "the re-issue keeps the key" "$(spki a1.pem)" "$KA"
A0=$(sha1 a0.pem)
A1=$(sha1 a1.pem)
B0=$(sha1 b0.pem)

I() { "$INFRAPIVOT" ingest --db "$DB" "$@" >"$WORK/ing.out" 2>"$WORK/ing.err" && ! grep -q ": rejected:" "$WORK/ing.err"; }
check "ingest a PEM file with a sighting" I --ip 198.51.100.1 a0.pem
JA3S=15af977ce25de452b96affa2addb1036
cat >eve.json <<EOF
{"timestamp":"2026-10-20T10:00:00Z","event_type":"tls","dest_ip":"198.51.100.2","dest_port":443,"tls":{"fingerprint":"$A1","sni":"acme.example","ja3s":{"hash":"$JA3S","string":"771,49199,65281"},"certificate":"$(b64 a1.pem)"}}
{"timestamp":"2026-10-21T10:00:00Z","event_type":"tls","dest_ip":"198.51.100.3","dest_port":8443,"tls":{"ja3s":{"hash":"$(echo $JA3S | tr a-f A-F)"}}}
EOF
check "ingest EVE with tls.certificate and ja3s" I --format eve eve.json
printf '{"ip":"198.51.100.4","port":443,"time_first":1792483200,"time_last":1792483200,"cert_pem":%s}\n' \
	"$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' b0.pem)" >obs.json
check "ingest a cert_pem line" I --format observations obs.json
cat >ssl.log <<EOF
#separator \x09
#path	ssl
#fields	ts	id.orig_h	id.resp_h	id.resp_p	server_name	cert_chain_fps	ja3s
#types	time	addr	addr	port	string	vector[string]	string
1792483200.0	10.0.0.5	198.51.100.5	443	-	-	$JA3S
EOF
check "ingest Zeek ssl.log with ja3s" I --format zeek ssl.log

# bad inputs: each line rejected with its reason, nothing else lost
cat >bad.json <<EOF
{"timestamp":"2026-10-20T10:00:00Z","event_type":"tls","dest_ip":"198.51.100.9","dest_port":443,"tls":{"ja3s":{"hash":"nothex"}}}
{"timestamp":"2026-10-20T10:00:00Z","event_type":"tls","dest_ip":"198.51.100.9","dest_port":443,"tls":{"fingerprint":"$B0","certificate":"$(b64 a1.pem)"}}
{"timestamp":"2026-10-20T10:00:00Z","event_type":"tls","dest_ip":"198.51.100.9","dest_port":443,"tls":{"fingerprint":"$A1","certificate":"bm90IGEgY2VydA=="}}
{"timestamp":"2026-10-20T10:00:00Z","event_type":"tls","dest_ip":"198.51.100.9","dest_port":443,"tls":{"fingerprint":"$A1","chain":[7]}}
{"timestamp":"2026-10-20T10:00:00Z","event_type":"tls","dest_ip":"198.51.100.9","dest_port":443,"tls":{"ja3s":{"hash":"$JA3S"}}}
EOF
I --format eve bad.json
check_grep "bad ja3s rejected" 'bad.json:1: rejected: ja3s nothex is not a ja3s fingerprint \(32 hex digits\)' "$WORK/ing.err"
check_grep "mismatched tls.certificate rejected" 'bad.json:2: rejected: tls.certificate does not match tls.fingerprint' "$WORK/ing.err"
check_grep "bad tls.certificate rejected" 'bad.json:3: rejected: tls.certificate: ' "$WORK/ing.err"
check_grep "bad tls.chain rejected" 'bad.json:4: rejected: tls.chain\[0\] is not a string' "$WORK/ing.err"
if grep -q 'bad.json:5' "$WORK/ing.err"; then bad "the good line was rejected"; else ok; fi

L() { "$INFRAPIVOT" lookup --db "$DB" "$@" 2>"$WORK/l.err"; }
# key: both certificates, each with openssl's SPKI SHA-256
L key "$KA" >k.out
check_eq "lookup key: two certificates" "$(wc -l <k.out)" 2
check_grep "lookup key: the re-issue" "\"cert_sha1\":\"$A1\"" k.out
check_eq "lookup key: key_sha256 as openssl computes it" \
	"$(python3 -c 'import json,sys; print({json.loads(l)["key_sha256"] for l in open(sys.argv[1])} == {sys.argv[2]})' k.out "$KA")" True
L cert "$A0" >c.out
check_grep "lookup cert shows the key" "\"key_sha256\":\"$KA\"" c.out
# serial, with and without the issuer
L cert --serial 0A >s.out
check_eq "lookup cert --serial: two issuers" "$(wc -l <s.out)" 2
L cert --serial 00:0a --issuer 'CN=Acme Server, O=Acme Widgets' >s2.out
check_eq "lookup cert --serial --issuer: one" "$(wc -l <s2.out)" 1
check_grep "lookup cert --serial --issuer: the right one" "\"cert_sha1\":\"$A0\"" s2.out
# subject in another spelling
L subject '/o=ACME widgets/cn=acme  server' >sub.out
check_eq "lookup subject: both" "$(wc -l <sub.out)" 2
# ja3s from EVE (both cases) and Zeek
L ja3s "$JA3S" >j.out
check_eq "lookup ja3s: four ip:port" "$(wc -l <j.out)" 4
check_grep "lookup ja3s: Zeek's" '"ip":"198.51.100.5","port":443' j.out
check_grep "lookup ja3s: EVE's resumed session" '"ip":"198.51.100.3","port":8443' j.out
L ja3s "$JA3S" --format table >jt.out
check_grep "lookup ja3s: table" '198.51.100.3:8443 +ja3s 15af977ce25de452b96affa2addb1036' jt.out
# bad lookups
check_rc "lookup key: bad" 2 L key abc
check_grep "lookup key: message" "is not a public key SHA-256" "$WORK/l.err"
check_rc "lookup jarm: bad" 2 L jarm "$JA3S"
check_grep "lookup jarm: message" "is not a jarm fingerprint \(62 hex digits\)" "$WORK/l.err"
check_rc "lookup subject: bad" 2 L subject 'no equals sign'
check_rc "lookup --serial: not hex" 2 L cert --serial xyz
check_rc "lookup --issuer alone" 2 L cert "$A0" --issuer CN=x
check_grep "lookup --issuer alone: message" "--issuer needs --serial" "$WORK/l.err"
check_rc "lookup --serial on ip" 2 L ip --serial 0a
check_rc "lookup ja4" 2 L ja4 abc
check_grep "lookup ja4: message" "unknown lookup 'ja4'" "$WORK/l.err"

# pivot: from the first certificate to the re-issue and its IP through key
P() { "$INFRAPIVOT" pivot --db "$DB" --now 2026-11-01 "$@"; }
P "$A0" >p.json 2>/dev/null
check_grep "pivot: the key node" "\"type\": \"key\", \"value\": \"$KA\"|\"value\": \"$KA\"" p.json
check_grep "pivot: the re-issue" "\"value\": \"$A1\"" p.json
check_grep "pivot: its IP" '"value": "198.51.100.2"' p.json
P "$A0" --edges resolves,cname,serves,san,sni >p2.json 2>/dev/null
if grep -q '"198.51.100.2"' p2.json; then bad "pivot without key reached the re-issue"; else ok; fi
P "$A0" --edges all --depth 4 --format stix >s.json 2>/dev/null
check_grep "stix: key" '"type": "x-infrapivot-public-key"' s.json
check_grep "stix: ja3s" '"type": "x-infrapivot-ja3s"' s.json
check_grep "stix: subject" '"type": "x-infrapivot-subject"' s.json
check "stix with the new nodes validates" "$TESTS_DIR/tools/stix-validate" s.json
P "$A0" --edges all --format dot >g.dot 2>/dev/null
if command -v dot >/dev/null; then
	check "dot with the new nodes renders" dot -Tsvg -o g.svg g.dot
fi
P "$A0" --edges key,bogus >/dev/null 2>p.err
check_grep "pivot: bad edge" "unknown edge type 'bogus'" p.err
P "$A0" --max-key-certs 1 >p3.json 2>/dev/null
check_grep "pivot: --max-key-certs prunes" '"pruned": "shared_key"' p3.json

# HTTP
start_server || exit 1
H() { status GET "$U/api/v1/lookup/$1"; }
check_eq "http key: 200" "$(H "key/$KA")" 200
check_eq "http key: two" "$(jget "$WORK/body" 'j["count"]')" 2
check_eq "http subject: 200" "$(H "subject/%2FO%3DAcme%20Widgets%2FCN%3DAcme%20Server")" 200
check_eq "http subject: two" "$(jget "$WORK/body" 'j["count"]')" 2
check_eq "http serial+issuer: 200" "$(H "serial/0a?issuer=CN%3DOther")" 200
check_eq "http serial+issuer: b0" "$(jget "$WORK/body" 'j["results"][0]["cert_sha1"]')" "$B0"
check_eq "http ja3s: 200" "$(H "ja3s/$JA3S?limit=2")" 200
check_eq "http ja3s: limited" "$(jget "$WORK/body" 'j["limited"]')" True
check_eq "http jarm: bad 400" "$(H "jarm/$JA3S")" 400
check_grep "http jarm: message" 'is not a jarm fingerprint' "$WORK/body"
check_eq "http key: bad 400" "$(H "key/zz")" 400
check_eq "http serial: unknown parameter 400" "$(H "serial/0a?issuer=CN%3Dx&bogus=1")" 400
check_eq "http pivot with fingerprint edges: 200" \
	"$(status GET "$U/api/v1/pivot?seed=198.51.100.2&edges=serves,key,fingerprint")" 200
check_eq "http pivot: the ja3s node" "$(jget "$WORK/body" '[n["value"] for n in j["nodes"] if n["type"]=="ja3s"]')" "['$JA3S']"
stop_server
# Zeek x509.log with policy/protocols/ssl/log-certs-base64: the `cert`
# column gives the certificate itself, so its key; a bad one, or one that
# is not the certificate `fingerprint` names, rejects its line
openssl req -x509 -newkey rsa:2048 -nodes -keyout z.key -subj "/CN=Zeek Logged" -set_serial 0x0c \
	-days 30 -out z0.pem 2>/dev/null
ZK=$(spki z0.pem)
ZS256=$(openssl x509 -in z0.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
{
	printf '#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tx509\n'
	printf '#fields\tts\tfingerprint\tcertificate.serial\tcertificate.subject\tcertificate.issuer\tcert\n'
	printf '#types\ttime\tstring\tstring\tstring\tstring\tstring\n'
	printf '1790000000.0\t%s\t0C\tCN=Zeek Logged\tCN=Zeek Logged\t%s\n' "$ZS256" "$(b64 z0.pem)"
	printf '1790000001.0\t%s\t0A\tCN=x\tCN=x\tnot-base64!\n' "$ZS256"
	printf '1790000002.0\t%s\t0A\tCN=x\tCN=x\t%s\n' "$ZS256" "$(b64 b0.pem)"
} >x509.log
"$INFRAPIVOT" ingest --db "$DB" --format zeek x509.log >/dev/null 2>"$WORK/zx.err"
check_grep "zeek x509: a bad cert column rejected" 'x509.log:9: rejected: cert: not a base64 DER' "$WORK/zx.err"
check_grep "zeek x509: another certificate than fingerprint names rejected" 'x509.log:10: rejected: cert: the certificate is not the one fingerprint names' "$WORK/zx.err"
L key "$ZK" >zk.out
check_grep "zeek x509: the logged certificate found by its key" "\"key_sha256\":\"$ZK\"" zk.out
check_grep "... with its SHA-1 from the DER" "\"cert_sha1\":\"$(sha1 z0.pem)\"" zk.out

finish
