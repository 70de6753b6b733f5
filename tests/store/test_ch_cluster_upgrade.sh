#!/usr/bin/env bash
# test_ch_cluster_upgrade.sh INFRAPIVOT CLUSTER_DIR WORK - a database made
# before the view-filled tables (cert_alias, cert_key: schema.sql) on a real
# cluster (run by test_ch_cluster.sh once the cluster is up).  Their views
# see only rows inserted after them, so `cluster.sh start` fills each once
# from the rows already there (docs/scale-out.md, "A certificate's keys").
# The database's views and tables are dropped on every node (the schema of
# before), certificates written, and then: the readers say the table is
# missing; start fills both, the key and the SHA-256 sighting are found
# through them; a second start fills nothing; a new certificate's key
# lands through the view.
set -euo pipefail
IP=$1
CL=$2
WORK=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export INFRAPIVOT_CH_CREDENTIALS=$CL/credentials INFRAPIVOT_CONTROL=$WORK/control
unset INFRAPIVOT_DB INFRAPIVOT_CH_USER INFRAPIVOT_CH_PASSWORD
fail() {
	echo "FAIL: upgrade: $*" >&2
	exit 1
}
mkdir -p "$WORK"
cd "$WORK"
DB=upgrade_$$
start() { CLUSTER_DB=$DB "$ROOT/scripts/cluster.sh" start "$CL" 2>"$WORK/start.err" | tail -n 1; }
url=$(start)
PW=$(cut -d: -f2- "$CL/credentials")
sql() { # NODE QUERY
	curl -sS --fail-with-body -u "default:$PW" --data-binary "$2" \
		"http://127.0.0.1:$((CLUSTER_PORT_BASE + 10 + 10 * $1))/"
}
# the schema of before: no cert_alias, no cert_key (views first, as they
# insert into the tables)
for i in 0 1 2 3; do
	for t in cert_alias_mv cert_key_mv cert_alias cert_key cert_alias_local cert_key_local; do
		sql "$i" "DROP TABLE IF EXISTS $DB.$t" >/dev/null
	done
done

# a certificate seen by its SHA-256 alone, then its PEM (both hashes, the
# key); a re-issue under the same key later
openssl req -x509 -newkey rsa:2048 -nodes -keyout a.key -subj "/CN=upgrade.example.org" \
	-set_serial 0x0a -days 30 -out a0.pem 2>/dev/null
openssl req -x509 -key a.key -subj "/CN=upgrade.example.org" -set_serial 0x0b -days 60 \
	-out a1.pem 2>/dev/null
fp() { openssl x509 -in "$1" -noout -fingerprint "-$2" | sed 's/.*=//; s/://g' | tr A-F a-f; }
A0=$(fp a0.pem sha1)
A1=$(fp a1.pem sha1)
KEY=$(openssl x509 -in a0.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)
printf '{"ip":"198.51.100.20","port":443,"cert_sha256":"%s","time_first":1700000000,"time_last":1700000100,"count":2}\n' \
	"$(fp a0.pem sha256)" >s256.json
ing() { "$IP" ingest -q --no-progress --store "$url" "$@" 2>>"$WORK/ing.err" || fail "ingest $*: exit $?"; }
ing --format observations s256.json
ing --ip 198.51.100.21 a0.pem

# readers before the fill: the missing table named
if "$IP" lookup cert "$A0" --store "$url" >out 2>err; then fail "lookup cert read a missing cert_key"; fi
grep -q "cert_key" err || { cat err >&2; fail "no word of cert_key: $(cat err)"; }

url2=$(start)
[ "$url2" = "$url" ] || fail "start said $url2"
grep -q "cluster: cert_key filled from the existing cert_attr rows of $DB" start.err ||
	{ cat start.err >&2; fail "cert_key not filled"; }
grep -q "cluster: cert_alias filled from the existing cert rows of $DB" start.err ||
	{ cat start.err >&2; fail "cert_alias not filled"; }
"$IP" lookup cert "$A0" --store "$url" >out 2>err || { cat err >&2; fail "lookup cert after the fill"; }
grep -q "\"key_sha256\":\"$KEY\"" out || fail "the key not found: $(cat out)"
# the SHA-256's sighting listed by the SHA-1 (cert_alias), the PEM's too
"$IP" lookup ip 198.51.100.20 --store "$url" >out 2>err || { cat err >&2; fail "lookup ip"; }
grep -q "\"cert_sha1\":\"$A0\"" out || fail "the SHA-256 sighting not named by its SHA-1: $(cat out)"
# a pivot from the address reaches the certificate and its key
"$IP" pivot 198.51.100.20 --store "$url" --depth 2 --format json >out 2>err ||
	{ cat err >&2; fail "pivot"; }
grep -q "\"$KEY\"" out || fail "the pivot did not reach the key"

# a second start fills nothing again
start >/dev/null
if grep -q "filled" start.err; then fail "a second start filled again: $(cat start.err)"; fi
# the view takes a new certificate's key
ing --ip 198.51.100.22 a1.pem
"$IP" lookup cert "$A1" --store "$url" >out 2>err || { cat err >&2; fail "lookup cert of the re-issue"; }
grep -q "\"key_sha256\":\"$KEY\"" out || fail "the re-issue's key not found: $(cat out)"
[ "$(sql 0 "SELECT count() FROM $DB.cert_key WHERE key = '$KEY'")" -ge 2 ] ||
	fail "cert_key does not hold both certificates"
CLUSTER_DB=$DB "$ROOT/scripts/cluster.sh" drop "$CL"
echo "test_ch_cluster_upgrade: ok"
