#!/usr/bin/env bash
# test_cert_alias.sh - a certificate first stored by its SHA-256 alone (a
# sighting, Zeek x509.log metadata), then seen with both hashes (a PEM, a
# sighting by SHA-1), then by its SHA-256 again: every listing names it
# once, by its SHA-1, with the SHA-256's sightings merged in (LMDB's
# join, store/cert.c; on ClickHouse the cert_alias table,
# docs/scale-out.md "The SHA-256 -> SHA-1 join").  The same answers on both
# stores (both_stores: tests/lib.sh).
. "$(dirname "$0")/../lib.sh"
test_store INFRAPIVOT_DB db
export INFRAPIVOT_DB
IP=$INFRAPIVOT

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
	-days 30 -subj "/CN=alias.example.org/O=Alias Test" -set_serial 0x1234ABCD \
	-addext "subjectAltName=DNS:alias.example.org,DNS:www.alias.example.org" 2>/dev/null
fp() { openssl x509 -in "$WORK/cert.pem" -noout -fingerprint "-$1" | sed 's/.*=//; s/://g' | tr A-F a-f; }
SHA1=$(fp sha1)
SHA256=$(fp sha256)
KEY=$(openssl x509 -in "$WORK/cert.pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)
DN="O=Alias Test,CN=alias.example.org"
PEM_JSON=$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$WORK/cert.pem")

# 1. by SHA-256 alone: two sightings, and the metadata of x509.log
cat >"$WORK/s1.ndjson" <<EOT
{"rrname":"alias.example.org","rrtype":"A","rdata":"198.51.100.10","time_first":1700000000,"time_last":1700000500,"count":2,"sensor_id":"s1"}
{"ip":"198.51.100.10","port":443,"cert_sha256":"$SHA256","time_first":1700000000,"time_last":1700000100,"count":2,"sni":"alias.example.org","sensor_id":"s1"}
{"ip":"198.51.100.11","port":8443,"cert_sha256":"$SHA256","time_first":1700000200,"time_last":1700000300,"count":1,"sensor_id":"s2"}
EOT
{
	printf '#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tx509\n'
	printf '#fields\tts\tfingerprint\tcertificate.serial\tcertificate.subject\tcertificate.issuer\tsan.dns\tsan.ip\n'
	printf '#types\ttime\tstring\tstring\tstring\tstring\tvector[string]\tvector[addr]\n'
	printf '1700000000.000000\t%s\t1234ABCD\t%s\t%s\talias.example.org,www.alias.example.org\t-\n' \
		"$SHA256" "$DN" "$DN"
} >"$WORK/x509.log"
# 2. both hashes (the PEM), and a sighting by SHA-1 on the same ip:port
cat >"$WORK/s2.ndjson" <<EOT
{"cert_pem":$PEM_JSON}
{"ip":"198.51.100.10","port":443,"cert_sha1":"$SHA1","time_first":1699000000,"time_last":1700000050,"count":3,"sni":"www.alias.example.org","sensor_id":"s3"}
EOT
# 3. by SHA-256 alone again (LMDB writes it under the SHA-1 now)
cat >"$WORK/s3.ndjson" <<EOT
{"ip":"198.51.100.10","port":443,"cert_sha256":"$SHA256","time_first":1700000400,"time_last":1700000600,"count":4,"sensor_id":"s4"}
EOT
for f in s1.ndjson x509.log s2.ndjson s3.ndjson; do
	"$IP" ingest "$WORK/$f" 2>"$WORK/err"
	check_eq "ingest $f" "$?" 0
done

# --- lookup ip: one sighting per ip:port, named by the SHA-1, merged
SIGHT10="{\"type\":\"cert_sighting\",\"ip\":\"198.51.100.10\",\"port\":443,\"cert_sha1\":\"$SHA1\",\"time_first\":1699000000,\"time_last\":1700000600,\"count\":9,\"sni\":[\"alias.example.org\",\"www.alias.example.org\"],\"sensors\":[\"s1\",\"s3\",\"s4\"]}"
SIGHT11="{\"type\":\"cert_sighting\",\"ip\":\"198.51.100.11\",\"port\":8443,\"cert_sha1\":\"$SHA1\",\"time_first\":1700000200,\"time_last\":1700000300,\"count\":1,\"sni\":[],\"sensors\":[\"s2\"]}"
"$IP" lookup ip 198.51.100.10 >"$WORK/out" 2>/dev/null
check_eq "lookup ip: the address's one certificate, merged, by SHA-1" \
	"$(grep cert_sighting "$WORK/out")" "$SIGHT10"
"$IP" lookup ip 198.51.100.0/24 >"$WORK/out" 2>/dev/null
check_eq "lookup ip prefix: a sighting per ip:port" "$(grep cert_sighting "$WORK/out")" \
	"$SIGHT10"$'\n'"$SIGHT11"
check_eq "... no SHA-256 reference listed" "$(grep -c cert_sha256 "$WORK/out")" 0

# --- lookup cert by key, subject, serial: the certificate once, by SHA-1
certs_of() { python3 -c '
import json,sys
print(" ".join("%s/%s" % (o.get("cert_sha1"), o.get("ip_count")) for o in map(json.loads, open(sys.argv[1]))))
' "$WORK/out"; }
"$IP" lookup key "$KEY" >"$WORK/out" 2>/dev/null
check_eq "lookup key: one certificate, by SHA-1" "$(certs_of)" "$SHA1/2"
"$IP" lookup subject "$DN" >"$WORK/out" 2>/dev/null
check_eq "lookup subject: one certificate, by SHA-1" "$(certs_of)" "$SHA1/2"
"$IP" lookup cert --serial 1234abcd >"$WORK/out" 2>/dev/null
check_eq "lookup cert --serial: one certificate, by SHA-1" "$(certs_of)" "$SHA1/2"
"$IP" lookup cert "$SHA256" >"$WORK/out" 2>/dev/null
check_eq "lookup cert by SHA-256: the sightings merged" "$(grep cert_sighting "$WORK/out")" \
	"$SIGHT10"$'\n'"$SIGHT11"

# --- pivots (the batched reads by address and by name): one certificate
# node, the SHA-1, first seen when the SHA-1's sighting was
# node and the counts of its edges (serves, sni: the merged sightings)
cert_nodes() { python3 -c '
import json,sys
g=json.load(open(sys.argv[1]))
certs={n["id"]: n for n in g["nodes"] if n["type"] == "cert"}
print(" ".join("%s@%s" % (n["value"], n["first_seen"]) for n in certs.values()))
print(" ".join(sorted("%s/%s" % (e["type"], e["count"]) for e in g["edges"]
                      if e["type"] in ("serves", "sni") and (e["src"] in certs or e["dst"] in certs))))
' "$WORK/out"; }
for seed in 198.51.100.10 alias.example.org; do
	"$IP" pivot "$seed" --now 1700100000 >"$WORK/out" 2>/dev/null
	check_eq "pivot from $seed: the certificate once, by SHA-1, its edges merged" \
		"$(cert_nodes)" "$SHA1@2023-11-03T08:26:40Z"$'\n'"serves/1 serves/9 sni/9 sni/9"
done

# --- stats: one certificate, its sightings and name entries once
"$IP" stats --json >"$WORK/stats" 2>/dev/null
check "stats count the certificate once" python3 -c '
import json,sys; s=json.load(open(sys.argv[1]))
want={"certificates":1,"cert_sightings":2,"ip_cert_index":2,"name_cert_index":4,"sha256_aliases":1}
assert {k: s[k] for k in want} == want, s
' "$WORK/stats"

finish
