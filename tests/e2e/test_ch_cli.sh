#!/usr/bin/env bash
# test_ch_cli.sh - the real binary with --store clickhouse://... against the
# stand-in for ClickHouse's HTTP interface (tests/store/ch_fake_server.py) on
# loopback: bad store addresses, an unreachable server, credentials, the
# control directory, DNS and certificate ingest, lookups (names, addresses
# with their certificates, certificates by hash, key and subject) and their
# failures, client sightings and their retention, what is not supported
# yet, --store lmdb:DIR as --db, and migrate
# with its resume.  Default suite; the real
# cluster's parity is tests/store/test_ch_cluster.sh.
. "$(dirname "$0")/../lib.sh"
IP=$INFRAPIVOT
BODIES=$WORK/bodies
mkdir -p "$BODIES"
ch_fake_start "default:s3cret" "$BODIES"
CLEANUP_EXTRA="kill $SRV 2>/dev/null"
export INFRAPIVOT_CH_USER=default INFRAPIVOT_CH_PASSWORD=s3cret
export INFRAPIVOT_CONTROL=$WORK/control
unset INFRAPIVOT_DB INFRAPIVOT_CH_CREDENTIALS
cd "$WORK" || exit 1
# the N-th INSERT body since the last clean-up (the server numbers them on)
nth() { ls "$BODIES" | grep insert- | sort -t- -k2 -n | sed -n "$1p" | sed "s|^|$BODIES/|"; }
# the statements of the INSERTs so far, one a line
queries() { for i in $(ls "$BODIES" | grep query- | sed 's/query-//' | sort -n); do cat "$BODIES/query-$i"; done; }
hexof() { od -An -tx1 -v "$1" | tr -d ' \n'; }

COF=$FIXTURES/cof/circl-sample.ndjson
SSL=$FIXTURES/zeek/logs-ts/scripts.base.protocols.ssl.basic__ssl.log
X509=$FIXTURES/zeek/logs-ts/scripts.base.protocols.ssl.ecdhe__x509.log

# --- bad store addresses: exit 2, the address named, nothing created
for bad in "clickhouse://127.0.0.1/t" "clickhouse://127.0.0.1:0/t" "clickhouse://127.0.0.1:99999/t" \
	"clickhouse://127.0.0.1:$PORT/" "clickhouse://127.0.0.1:$PORT/a-b" "clickhouse://h_st:1/t"; do
	"$IP" lookup domain example.com --store "$bad" >"$WORK/out" 2>"$WORK/err"
	check_eq "bad address $bad: exit status" "$?" 2
	check_grep "... says what a store address is" "not a ClickHouse store address \(clickhouse://HOST:PORT/DATABASE\)" "$WORK/err"
done
"$IP" lookup domain example.com --store ftp://x >/dev/null 2>"$WORK/err"
check_eq "another scheme: exit status" "$?" 2
check_grep "... is no store" "not a store \(lmdb:DIR, DIR or clickhouse://HOST:PORT/DATABASE\): 'ftp://x'" "$WORK/err"
"$IP" ingest --store lmdb: "$COF" >/dev/null 2>"$WORK/err"
check_eq "lmdb: without a directory: exit status" "$?" 2
check_eq "... no control directory made" "$(ls -d "$WORK/control" 2>/dev/null)" ""

# --- an unreachable server: told at open, before any input is read
CLOSED=$(free_port)
"$IP" ingest --store "clickhouse://127.0.0.1:$CLOSED/t" "$COF" >/dev/null 2>"$WORK/err"
check_eq "unreachable server: exit status" "$?" 2
check_grep "... names the address" "cannot open store clickhouse://127.0.0.1:$CLOSED/t: clickhouse 127.0.0.1:$CLOSED: " "$WORK/err"
check_eq "... no control directory made" "$(ls -d "$WORK/control" 2>/dev/null)" ""
check_eq "... nothing sent" "$(ls "$BODIES")" ""
# several entry points: a bad list says what is wrong; all of them down is
# told naming each; a dead first one is passed over
"$IP" lookup domain example.com --store "clickhouse://127.0.0.1:$PORT,,127.0.0.1:$CLOSED/t" \
	>/dev/null 2>"$WORK/err"
check_eq "a list with an empty entry point: exit status" "$?" 2
check_grep "... says so" "HOST:PORT,HOST:PORT/DATABASE\): .*: an empty entry point" "$WORK/err"
CLOSED2=$(free_port)
"$IP" ingest --store "clickhouse://127.0.0.1:$CLOSED,127.0.0.1:$CLOSED2/t" "$COF" >/dev/null 2>"$WORK/err"
check_eq "every entry point down: exit status" "$?" 2
check_grep "... names each" "every entry point is down \(clickhouse 127.0.0.1:$CLOSED: .*; clickhouse 127.0.0.1:$CLOSED2: " "$WORK/err"
check_eq "... no control directory made" "$(ls -d "$WORK/control" 2>/dev/null)" ""
INFRAPIVOT_CONTROL=$WORK/control-list "$IP" lookup domain ok.example.net \
	--store "clickhouse://127.0.0.1:$CLOSED,127.0.0.1:$PORT/t" >"$WORK/out" 2>"$WORK/err"
check_eq "a dead first entry point: exit status" "$?" 0
check_grep "... the next one answers" "ok.example.net" "$WORK/out"

# --- credentials: a wrong password, a missing or malformed file
INFRAPIVOT_CH_PASSWORD=wrong "$IP" lookup domain example.com --store "$S" >/dev/null 2>"$WORK/err"
check_eq "wrong password: exit status" "$?" 2
check_grep "... ClickHouse's message" "Code: 193, e.displayText\(\) = DB::Exception: Wrong password" "$WORK/err"
(
	unset INFRAPIVOT_CH_USER INFRAPIVOT_CH_PASSWORD
	INFRAPIVOT_CH_CREDENTIALS=$WORK/none "$IP" lookup domain example.com --store "$S" >/dev/null 2>"$WORK/err"
	check_eq "missing credentials file: exit status" "$?" 2
	check_grep "... names it" "cannot read $WORK/none: No such file" "$WORK/err"
	echo "no colon here" >"$WORK/cred"
	INFRAPIVOT_CH_CREDENTIALS=$WORK/cred "$IP" lookup domain example.com --store "$S" >/dev/null 2>"$WORK/err"
	check_eq "malformed credentials file: exit status" "$?" 2
	check_grep "... says the form" "$WORK/cred: want one line user:password" "$WORK/err"
	echo "default:s3cret" >"$WORK/cred"
	INFRAPIVOT_CH_CREDENTIALS=$WORK/cred "$IP" lookup domain ok.example.net --store "$S" >"$WORK/out" 2>/dev/null
	check_eq "a good credentials file: exit status" "$?" 0
	finish >/dev/null
) || bad "credentials checks (above)"

# --- ingest: DNS resolutions as RowBinary INSERTs; the first of each token
# fails with 503 and is retried under the same token, byte for byte
rm -f "$BODIES"/insert-*
"$IP" ingest --store "$S" "$COF" 2>"$WORK/err"
check_eq "ingest into ClickHouse: exit status" "$?" 0
check_grep "... the summary" "2 lines read, 2 accepted" "$WORK/err"
check_eq "... one INSERT retried once" "$(ls "$BODIES" | grep -c insert-)" 2
check "... the retry is the same bytes" cmp -s "$BODIES/insert-1" "$BODIES/insert-2"
check "... the rows carry the reversed name" grep -qa "lu.circl.www" "$BODIES/insert-1"
check_eq "... the control directory is made" "$(ls -d "$WORK/control")" "$WORK/control"
# certificates: metadata (cert), the SAN/CN names (name_cert), the key,
# subject and serial indexes (cert_attr), each retried under its token
ingest_fresh() { # FILE: ingest it with no INSERT recorded before
	rm -f "$BODIES"/insert-* "$BODIES"/query-*
	"$IP" --store "$S" ingest "$1" 2>"$WORK/err"
}
ingest_fresh "$X509"
check_eq "ingest of Zeek x509 metadata: exit status" "$?" 0
check_grep "... the summary" "3 lines read, 3 accepted, 0 rejected" "$WORK/err"
check_eq "... metadata, names, attributes, the watch sweep's log, each retried" "$(queries | tr '\n' ' ')" \
	"INSERT INTO cert FORMAT RowBinary INSERT INTO cert FORMAT RowBinary INSERT INTO name_cert FORMAT RowBinary INSERT INTO name_cert FORMAT RowBinary INSERT INTO cert_attr FORMAT RowBinary INSERT INTO cert_attr FORMAT RowBinary INSERT INTO sweep_cert_in (blk, seq, cert, sha256, flags, ip, port, sni, spki, san, names, tf, tl, cnt, sensor) FORMAT RowBinary INSERT INTO sweep_cert_in (blk, seq, cert, sha256, flags, ip, port, sni, spki, san, names, tf, tl, cnt, sensor) FORMAT RowBinary "
check "... the retries are the same bytes" bash -c "cmp -s '$(nth 1)' '$(nth 2)' && cmp -s '$(nth 3)' '$(nth 4)' && cmp -s '$(nth 5)' '$(nth 6)'"
check_grep "... the metadata rows carry the SHA-256" "a97a22b691caf62c1623d14abf8a31ac915f14d87f77d8a37c47eb4785b484ad" <(hexof "$(nth 1)")
check "... the names reversed" grep -qa "com.google.\*" "$(nth 3)"
check "... the subject normalised" grep -qa "C=us,CN=\*.google.com,L=mountain view,O=google inc,ST=california" "$(nth 5)"
# a sighting: written after its certificate; then the client sighting of
# the same line (the pair's state read first, then inserted)
ingest_fresh "$SSL"
check_eq "ingest of a Zeek ssl.log: exit status" "$?" 0
check "... nothing said not recorded" bash -c "! grep -q 'not recorded' '$WORK/err'"
check_grep "... the client sighting counted" "1 client sightings \(1 new client pairs\)" "$WORK/err"
check_eq "... the sighting after the certificate and its SNI name, the watch sweep's log after them, the client last" "$(queries | uniq | tr '\n' ' ')" \
	"INSERT INTO cert FORMAT RowBinary INSERT INTO name_cert FORMAT RowBinary INSERT INTO sight_in FORMAT RowBinary INSERT INTO sweep_cert_in (blk, seq, cert, sha256, flags, ip, port, sni, spki, san, names, tf, tl, cnt, sensor) FORMAT RowBinary INSERT INTO client (blk, pk, dtype, dest, client, sensor, src, ver, first_seen, last_seen, cnt, state) FORMAT RowBinary "
check_grep "... the sighting carries the leaf's SHA-256 (cert_chain_fps)" "a580247a25324adf4add5af648de4ac5798030dfd622f26a5f2280d7528ae244" <(hexof "$(nth 5)")
# --follow: its position in the control LMDB (the three-step commit,
# tests/e2e/test_ch_intent.sh): a restart sends nothing again
n0=$(ls "$BODIES" | grep -c insert-)
"$IP" ingest --store "$S" --follow "$COF" --exit-idle 1 --poll 20 2>"$WORK/err"
check_eq "--follow: exit status" "$?" 0
n1=$(ls "$BODIES" | grep -c insert-)
check "... its rows sent" test "$n1" -gt "$n0"
"$IP" ingest --store "$S" --follow "$COF" --exit-idle 1 --poll 20 2>"$WORK/err"
check_eq "--follow restarted: exit status" "$?" 0
check_eq "... nothing sent again" "$(ls "$BODIES" | grep -c insert-)" "$n1"

# --- client sightings: each batch's pairs are read (one SELECT by
# destination and pk), folded with the LMDB code and inserted at ver + 1
zeek_dns() { # NAME: a Zeek dns.log of one query for NAME by 141.142.220.118
	head -n 8 "$FIXTURES/zeek/logs-ts/opt.basic__dns.log"
	printf '1300475168.5\tCx\t141.142.220.118\t43927\t141.142.2.2\t53\tudp\t1\t-\t%s\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tF\t0\t-\t-\tF\t0\tquery\n' "$1"
}
# the first client row of an INSERT body: ver, first_seen, cnt; with
# "cut": its dtype and the cutoff its ver stands for (a cutoff row's)
client_row() { # BODY [cut]
	python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read()
def s(p):
    n, k = 0, 0
    while True:
        x = b[p]; p += 1; n |= (x & 0x7F) << k; k += 7
        if x < 0x80: return p + n
p = s(17)  # blk, pk, dtype, then dest
p = s(p + 16)  # client, then sensor
ver, first, last, cnt = struct.unpack_from("<QIIQ", b, p + 1)
print(*((b[16], ver ^ (1 << 63)) if sys.argv[2:] == ["cut"] else (ver, first, cnt)))' "$@"
}
last_insert() { nth "$(ls "$BODIES" | grep -c insert-)"; }
zeek_dns clientold.example.com >"$WORK/old.log"
ingest_fresh "$WORK/old.log"
check_eq "a pair the cluster holds: exit status" "$?" 0
check_eq "... its state folded in at the next version (ver first count)" "$(client_row "$(last_insert)")" "2 1300000000 6"
check_grep "... counted as merged, no new pair" "1 client sightings \(0 new client pairs\)" "$WORK/err"
zeek_dns clientnew.example.com >"$WORK/new.log"
ingest_fresh "$WORK/new.log"
check_eq "a new pair: version 1, one contact" "$(client_row "$(last_insert)")" "1 1300475168 1"
zeek_dns clientfail.example.com >"$WORK/fail.log"
ingest_fresh "$WORK/fail.log"
check_eq "the pairs' SELECT failing: exit status" "$?" 2
check_grep "... ClickHouse's message" "Code: 241, e.displayText\(\) = DB::Exception: Memory limit" "$WORK/err"
queries >"$WORK/q"
check "... no client row inserted" bash -c "! grep -q 'INSERT INTO client' '$WORK/q'"
zeek_dns clientbad.example.com >"$WORK/bad.log"
ingest_fresh "$WORK/bad.log"
check_eq "a pair's answer that does not decode: exit status" "$?" 2
check_grep "... corrupt" "corrupt record" "$WORK/err"
queries >"$WORK/q"
check "... no client row inserted" bash -c "! grep -q 'INSERT INTO client' '$WORK/q'"
# a pair retention dropped (the cluster's answer carries the cutoff row):
# started afresh, at a version past its rows and stamped with the cutoff
zeek_dns clientgone.example.com >"$WORK/gone.log"
ingest_fresh "$WORK/gone.log"
check_eq "a pair the cutoff dropped: exit status" "$?" 0
check_eq "... started afresh, its version stamped with the cutoff (ver first count)" \
	"$(client_row "$(last_insert)")" "$(((1300400000 << 32) + 1)) 1300475168 1"
check_grep "... counted as a new pair, as LMDB" "1 client sightings \(1 new client pairs\)" "$WORK/err"

# --- retention (--client-days): the cutoff is the newest last contact on
# the cluster less N days; the stand-in answers the run's queries from
# client-retain ("NEWEST LASTCUT DROPPED")
retain() { # CLIENT_RETAIN: ingest one new pair with --client-days 1
	echo "$1" >"$BODIES/client-retain"
	rm -f "$BODIES"/insert-* "$BODIES"/query-* "$BODIES/alters"
	"$IP" --store "$S" ingest --client-days 1 "$WORK/new.log" 2>"$WORK/err"
}
retain "1300475168 - 2"
check_eq "retention, the first run: exit status" "$?" 0
check_eq "... the cutoff row after the pair's, its ver the cutoff (newest less a day)" \
	"$(client_row "$(last_insert)" cut)" "0 $((1300475168 - 86400))"
check_eq "... the pair's row first, each INSERT into client, each retried" \
	"$(client_row "$(nth 1)" cut | cut -d' ' -f1) $(queries | grep -c '^INSERT INTO client (')" "1 4"
check_grep "... the pairs dropped, as LMDB says it" "2 client pairs not seen for 1 days dropped" "$WORK/err"
check_eq "... their rows deleted on every shard, queued (no wait for a node that is down)" \
	"$(cat "$BODIES/alters")" \
	"$(printf 'ALTER TABLE t.client_local ON CLUSTER infrapivot DELETE WHERE dtype != 0 AND last_seen < %s AND intDiv(ver, 4294967296) < %s\tdistributed_ddl_task_timeout=0' 1300388768 1300388768)"
retain "1300475168 1300388000 0"
check_eq "retention less than a day of data after the last run: exit status" "$?" 0
check_eq "... no cutoff row, no delete (at most one run a day of data, as LMDB)" \
	"$(queries | uniq | wc -l) $(cat "$BODIES/alters" 2>/dev/null | wc -l)" "1 0"
check "... nothing said dropped" bash -c "! grep -q dropped '$WORK/err'"
retain "1300475168 1300300000 0"
check_eq "retention a day later, nothing to drop: exit status" "$?" 0
check_eq "... the cutoff moves" "$(client_row "$(last_insert)" cut)" "0 $((1300475168 - 86400))"
check_eq "... no delete" "$(cat "$BODIES/alters" 2>/dev/null | wc -l)" 0
retain "error"
check_eq "retention failing on the server: exit status" "$?" 2
check_grep "... ClickHouse's message" "Code: 159, e.displayText\(\) = DB::Exception: Timeout exceeded" "$WORK/err"
rm -f "$BODIES/client-retain" "$BODIES/alters"
"$IP" lookup domain clientsdrop.example.com --clients --store "$S" --now @1300500000 >"$WORK/out" 2>"$WORK/err"
check_eq "lookup --clients under a cutoff: exit status" "$?" 0
check "... the pair it dropped left out" bash -c "! grep -q '141.142.220.118' '$WORK/out'"
check_grep "... the pair as old, written after the cutoff, kept" '"client": "10.0.0.2"' "$WORK/out"
check_grep "... the recent pair kept" '"client": "10.0.0.3"' "$WORK/out"
"$IP" lookup domain clients.example.com --clients --store "$S" --now @1300010000 >"$WORK/out" 2>"$WORK/err"
check_eq "lookup --clients: exit status" "$?" 0
check_grep "... the pair that decodes" '"client": "141.142.220.118"' "$WORK/out"
check "... the one that does not is skipped" bash -c "! grep -q '10.0.0.1' '$WORK/out'"
check_grep "... its count" '"count": 3' "$WORK/out"
"$IP" lookup domain clienterr.example.com --clients --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup --clients failing on the server: exit status" "$?" 2
check_grep "... ClickHouse's message" "Code: 159, e.displayText\(\) = DB::Exception: Timeout exceeded" "$WORK/err"
"$IP" lookup domain clientcut.example.com --clients --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup --clients, a row cut short: exit status" "$?" 2
check_grep "... corrupt" "corrupt record" "$WORK/err"
"$IP" lookup domain nobody.example.com --clients --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup --clients of a destination nobody contacted: exit status (as LMDB)" "$?" 0
check_grep "... said" "no client has contacted" "$WORK/err"

# --- lookups
"$IP" lookup domain OK.example.net --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup domain: exit status" "$?" 0
check_eq "... the row as COF" "$(cat "$WORK/out")" '{"rrname":"ok.example.net","rrtype":"A","rdata":"192.0.2.1","time_first":1000,"time_last":2000,"count":7,"bailiwick":"example.net","sensor_id":"s1","sensors":["s1","s2","s3"]}'
"$IP" lookup domain truncated.example.net --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "a row that does not decode: exit status" "$?" 2
check_grep "... corrupt" "corrupt record" "$WORK/err"
"$IP" lookup ip 192.0.2.1 --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup ip: exit status" "$?" 0
check_eq "... the certificate seen on it" "$(cat "$WORK/out")" '{"type":"cert_sighting","ip":"192.0.2.1","port":443,"cert_sha1":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","time_first":1000,"time_last":2000,"count":5,"sni":["www.example.com"],"sensors":["s1"]}'
check_eq "... nothing said on stderr" "$(cat "$WORK/err")" ""
"$IP" lookup ip 192.0.2.66 --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup ip, the certificate query failing: exit status" "$?" 2
check_grep "... ClickHouse's message" "ClickHouse server error: clickhouse: HTTP 500: Code: 159, e.displayText\(\) = DB::Exception: Timeout exceeded" "$WORK/err"
"$IP" lookup ip 192.0.2.67 --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup ip, a sighting that does not decode: exit status" "$?" 2
check_grep "... corrupt" "corrupt record" "$WORK/err"

# --- certificates: by hash (metadata, SNI names, address count, key, then
# the sightings), by key, by subject (normalised), and their failures
BB=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
KEY=abababababababababababababababababababababababababababababababab
CERT_BB='{"type":"certificate","cert_sha1":"'$BB'","cert_sha256":null,"subject":"CN=www.example.com","issuer":"CN=Issuer","serial":"0a","not_before":"1970-01-01T00:01:40Z","not_after":"1970-01-01T00:03:20Z","san_dns":["www.example.com","example.com"],"san_ip":[],"der_stored":true'
SIGHT_BB='{"type":"cert_sighting","ip":"192.0.2.1","port":443,"cert_sha1":"'$BB'","time_first":1000,"time_last":2000,"count":5,"sni":["www.example.com"],"sensors":["s1"]}'
"$IP" lookup cert "$BB" --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup cert: exit status" "$?" 0
check_eq "... metadata then sightings" "$(cat "$WORK/out")" "$CERT_BB"',"sni":["www.example.com"],"ip_count":1,"key_sha256":"'$KEY'"}
'"$SIGHT_BB"
# each read by certificate (metadata, sightings, address count, key) takes
# the rows under the SHA-256 a cert row of the SHA-1 names too: LMDB's
# SHA-256 -> SHA-1 join, resolved when reading (docs/scale-out.md)
: >"$BODIES/selects"
"$IP" lookup cert "$BB" --store "$S" >/dev/null 2>&1
# (a plain IN, so the key answers it: a GLOBAL IN's set is no index on 18.16;
# the subquery's table qualified by the store's database, t)
ALSO="cert IN (SELECT toFixedString(concat(unhex('02'), sha256), 33) FROM t.cert WHERE length(sha256) = 32 AND cert = toFixedString(unhex('01BBBB"
joined() { grep -F "$1toFixedString(unhex('01BBBB" "$BODIES/selects" | grep -cF " OR $ALSO"; }
check_eq "... the metadata (one aggregate: none is no row)" "$(joined "FROM cert WHERE cert = ") $(grep -c "HAVING count() > 0" "$BODIES/selects")" "1 1"
check_eq "... the SNI names and the sightings" "$(joined "FROM sight WHERE cert = ")" 2
check_eq "... the address count" "$(joined "FROM prev_cert_ips WHERE cert = ")" 1
# (the key from cert_key, keyed by certificate: a point read, not a read
# of every key row of cert_attr, keyed by value)
check_eq "... the key" "$(joined "SELECT key FROM cert_key WHERE cert = ")" 1
check_eq "... not from cert_attr" "$(grep -c "FROM cert_attr WHERE attr = 1 AND cert" "$BODIES/selects")" 0
# a SHA-256 resolved to the SHA-1 of a row that knows both by cert_alias's
# key (a point read), not by cert's sha256 column (a read of every row)
: >"$BODIES/selects"
"$IP" lookup cert "$(printf 'cd%.0s' $(seq 32))" --store "$S" >/dev/null 2>&1
check_eq "lookup cert by SHA-256: resolved through cert_alias" \
	"$(grep -cF "SELECT cert FROM cert WHERE cert = toFixedString(unhex('02$(printf 'CD%.0s' $(seq 32))'), 33) OR cert IN (SELECT cert FROM t.cert_alias WHERE alias = toFixedString(unhex('02$(printf 'CD%.0s' $(seq 32))'), 33)) GROUP BY cert ORDER BY cert LIMIT 1" "$BODIES/selects") $(grep -c "sha256 = unhex" "$BODIES/selects")" "1 0"
rm -f "$BODIES/selects"
"$IP" lookup cert "$BB" --store "$S" --since @3000 >"$WORK/out" 2>"$WORK/err"
check_eq "lookup cert with a fence: exit status" "$?" 0
check_eq "... the sightings fenced out, the metadata stays" "$(wc -l <"$WORK/out")" 1
"$IP" lookup key "$KEY" --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup key: exit status" "$?" 0
check_eq "... the certificate" "$(cat "$WORK/out")" "$CERT_BB"',"key_sha256":"'$KEY'","ip_count":1}'
"$IP" lookup subject "O=Example,  cn=www.example.com" --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup subject (another spelling): exit status" "$?" 0
check_eq "... the certificate" "$(cat "$WORK/out")" "$CERT_BB"',"key_sha256":"'$KEY'","ip_count":1}'
# a listing names a certificate by its SHA-1 when cert_alias maps its
# SHA-256 reference (LMDB's join): the aliases of the listing's own rows
# first, its rows grouped by the mapped reference (docs/scale-out.md)
: >"$BODIES/selects"
"$IP" lookup ip 192.0.2.1 --store "$S" >/dev/null 2>&1
"$IP" lookup key "$KEY" --store "$S" >/dev/null 2>&1
"$IP" lookup subject "O=Example,  cn=www.example.com" --store "$S" >/dev/null 2>&1
"$IP" lookup cert --serial 0x0A --store "$S" >/dev/null 2>&1
AL="WITH (SELECT (arrayPushFront(groupArray(toString(a)), ''), arrayPushFront(groupArray(toString(s)), '')) FROM (SELECT alias AS a, min(cert) AS s FROM cert_alias WHERE alias IN (SELECT cert FROM t."
REF=") GROUP BY alias)) AS al SELECT toFixedString(transform(toString(cert), al.1, al.2, toString(cert)), 33) AS ref"
listed() { grep -F "$AL$1" "$BODIES/selects" | grep -F "$REF" | grep -cF "$1$2"; }
check_eq "... listings by address, key, subject and serial: the SHA-1 of an alias" \
	"$(listed "sight_addr WHERE ip >= " "") $(listed "cert_attr WHERE attr = 1 AND value = '$KEY'" " GROUP BY ref ORDER BY ref") $(listed "cert_attr WHERE attr = 2 AND value = " "") $(listed "cert_attr WHERE attr = 3 AND value >= 'A|' AND value < 'A}'" " GROUP BY value, ref ORDER BY value, ref")" \
	"1 1 1 1"
check_grep "... the address's sightings merged by (address, port, reference)" \
	"GROUP BY ip, port, ref ORDER BY ip, ref, port FORMAT RowBinary$" "$BODIES/selects"
rm -f "$BODIES/selects"
"$IP" lookup cert 0000000000000000000000000000000000000000 --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup cert, unknown: exit status" "$?" 0
check_grep "... no results" "no results" "$WORK/err"
"$IP" lookup key "$(printf 'cd%.0s' $(seq 32))" --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup key, unknown: exit status" "$?" 0
check_grep "... no results" "no results" "$WORK/err"
"$IP" lookup cert eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup cert, metadata that does not decode: exit status" "$?" 2
check_grep "... corrupt" "corrupt record" "$WORK/err"
check_eq "... nothing on stdout" "$(cat "$WORK/out")" ""
"$IP" lookup cert 9999999999999999999999999999999999999999 --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup cert, its sightings failing on the server: exit status" "$?" 2
check_grep "... ClickHouse's message, not a later one" "ClickHouse server error: clickhouse: HTTP 500: Code: 241, e.displayText\(\) = DB::Exception: Memory limit \(for query\) exceeded" "$WORK/err"
check_eq "... nothing on stdout" "$(cat "$WORK/out")" ""
for bad in "cert 0123" "cert $(printf 'zz%.0s' $(seq 20))" "key 0123" "subject nodn"; do
	"$IP" lookup $bad --store "$S" >"$WORK/out" 2>"$WORK/err"
	check_eq "lookup $bad: exit status" "$?" 2
	check_grep "... says what is wrong" "is not a" "$WORK/err"
done

# --- pivot: a level's reads are batched (the stand-in answers the seed's
# resolutions only to the batched address query, "addr IN (...)"); a
# batched query failing on the server; fingerprints not supported yet
"$IP" pivot 192.0.2.1 --store "$S" --now @1700000000 --format csv >"$WORK/out" 2>"$WORK/err"
check_eq "pivot: exit status" "$?" 0
check_eq "... the names of the batched query" "$(grep -o '^node,[0-9],[a-z]*,[^,]*' "$WORK/out" | tr '\n' ' ')" \
	"node,0,ip,192.0.2.1 node,1,domain,a.example.net node,2,domain,c.example.net "
# the new nodes' prevalence counts: one batched query for the level's
# names (the stand-in tells a.example.net's 7 IPs only to it), none a node;
# over --max-domain-ips the count makes the name noise
: >"$BODIES/selects"
"$IP" pivot 192.0.2.1 --store "$S" --now @1700000000 --format csv --max-domain-ips 5 >"$WORK/out" 2>"$WORK/err"
check_eq "pivot, counting its queries: exit status" "$?" 0
check_eq "... one batched count query for the names" "$(grep -c 'FROM prev_name_ips PREWHERE rname IN (' "$BODIES/selects")" 1
check_eq "... no count query a name" "$(grep -c 'FROM prev_name_ips WHERE rname = ' "$BODIES/selects")" 0
check_eq "... no count query for the seed alone" "$(grep -c 'FROM prev_ip_names WHERE addr = ' "$BODIES/selects")" 0
check_eq "... the seed's count batched (the level's nodes are all new: none)" "$(grep -c 'FROM prev_ip_names PREWHERE addr IN (' "$BODIES/selects")" 1
check_eq "... one query a kind for the level's edges" "$(grep -c 'FROM rr PREWHERE rname IN (' "$BODIES/selects")" 1
check_grep "... the batched count, over the limit: noise" "^node,1,domain,a.example.net,1,7,cdn_or_fast_flux_name," "$WORK/out"
check_grep "... a name not counted: 0" "^node,2,domain,c.example.net,1,0,," "$WORK/out"
# the nodes' estate (client sightings): one query for the three nodes,
# domains and IPs together, not one a node (issue 17: 3 before)
check_eq "... one client query for all the nodes" "$(grep -c 'FROM client WHERE' "$BODIES/selects")" 1
check_grep "... the names and the address in it" "FROM client WHERE \(dtype = 1 AND dest IN \('net.example.a', 'net.example.c'\)\) OR \(dtype = 2 AND dest IN \('00000000000000000000ffffc0000201'\)\) OR dtype = 0 GROUP BY" "$BODIES/selects"
# (the open's SELECT 1 and, with the first level's reads, the session's
# probe for rows under SHA-256 references among them: store/ch.c)
check_eq "... SELECTs in all, the open's SELECT 1 with them" "$(wc -l <"$BODIES/selects")" 10
check_eq "... the probe once" "$(grep -c "cert >= toFixedString(unhex('02'), 33) AND cert < toFixedString(unhex('03'), 33)" "$BODIES/selects")" 1
# the batched listings by address and by name: read plain, without the
# aliases' WITH clause, which an answer naming SHA-1s only does not need
check_eq "... the certificates by address and by name read plain" \
	"$(grep -cF "SELECT ip AS k, cert AS ref, " "$BODIES/selects") $(grep -cF "SELECT rname AS k, cert AS ref, kind FROM name_cert PREWHERE rname IN (" "$BODIES/selects")" "1 1"
check_eq "... their answers name no SHA-256 reference: no aliased read" "$(grep -c "FROM cert_alias" "$BODIES/selects")" 0
rm -f "$BODIES/selects"
# within a window, the names over --max-domain-ips all time are counted
# again there: one batched resolutions query for both, uncapped, not one
# a name (the stand-in tells their rows only to it): w1's one A row in the
# window is under the limit (its old A row and CNAMEs do not count), w2's
# three are over
: >"$BODIES/selects"
"$IP" pivot 192.0.2.11 --store "$S" --now @1700000000 --since @1698000000 --depth 1 --max-domain-ips 2 --format csv >"$WORK/out-win" 2>"$WORK/err"
check_eq "pivot within a window, names over the limit: exit status" "$?" 0
check_eq "... one batched recount for both names, without a cap" "$(grep -c "FROM rr PREWHERE rname IN ('net.example.w1', 'net.example.w2') GROUP BY .* FORMAT RowBinary$" "$BODIES/selects") $(grep -c "FROM rr PREWHERE rname IN ('net.example.w1', 'net.example.w2') .*LIMIT" "$BODIES/selects")" "1 0"
check_eq "... none a name" "$(grep -c 'FROM rr WHERE rname = ' "$BODIES/selects")" 0
check_grep "... one A row in the window: not noise there, its degree all time" "^node,1,domain,w1.example.net,1,7,," "$WORK/out-win"
check_grep "... three: noise" "^node,2,domain,w2.example.net,1,9,cdn_or_fast_flux_name," "$WORK/out-win"
# a level deeper the names' level reads (capped) hold all their rows: the
# recount counts those, no query of its own
: >"$BODIES/selects"
"$IP" pivot 192.0.2.11 --store "$S" --now @1700000000 --since @1698000000 --depth 2 --max-domain-ips 2 --format csv >"$WORK/out-win2" 2>"$WORK/err"
check_eq "pivot within a window a level deeper: exit status" "$?" 0
check_eq "... the names' level read, capped, and no recount query" "$(grep -c "FROM rr PREWHERE rname IN ('net.example.w1', 'net.example.w2') .*LIMIT 217 BY k FORMAT RowBinary$" "$BODIES/selects") $(grep -F "FROM rr PREWHERE rname IN ('net.example.w1', 'net.example.w2')" "$BODIES/selects" | grep -vc " LIMIT ")" "1 0"
check_eq "... the same judgement" "$(grep -c -e '^node,1,domain,w1.example.net,1,7,,' -e '^node,2,domain,w2.example.net,1,9,cdn_or_fast_flux_name,' "$WORK/out-win2")" 2
check_grep "... w1 walked: its CNAME" "^node,[0-9],domain,a.example.org,2," "$WORK/out-win2"
rm -f "$BODIES/selects"
"$IP" pivot 192.0.2.12 --store "$S" --now @1700000000 --since @1698000000 --depth 1 --max-domain-ips 2 --format csv >"$WORK/out-win" 2>"$WORK/err"
check_eq "pivot within a window, the recount failing: exit status" "$?" 2
check_grep "... ClickHouse's message" "infrapivot pivot: ClickHouse server error: clickhouse: HTTP 500: Code: 241, e.displayText\(\) = DB::Exception: Memory limit \(for query\) exceeded" "$WORK/err"
check_eq "... nothing on stdout" "$(cat "$WORK/out-win")" ""
# the nodes' client read in flight with the last level's counts, not a
# round trip after the walk (pivot_run_after; the stand-in holds each
# until the other arrives)
rm -f "$BODIES/together-log"
printf '%s\n' "FROM prev_name_ips PREWHERE rname IN (" "FROM client WHERE (dtype = 1 AND dest IN ('net.example.a'" >"$BODIES/together"
"$IP" pivot 192.0.2.1 --store "$S" --now @1700000000 --format csv --max-domain-ips 5 --depth 1 >"$WORK/out1" 2>"$WORK/err"
check_eq "pivot at depth 1: exit status" "$?" 0
check_eq "... the estate's client read in flight with the last level's counts" "$(cat "$BODIES/together-log" | tr '\n' ' ')" "together together "
check_grep "... the count still makes the name noise" "^node,1,domain,a.example.net,1,7,cdn_or_fast_flux_name," "$WORK/out1"
rm -f "$BODIES/together"
# an answer naming a certificate by a SHA-256 reference is read again with
# the chunk's aliases first, and cert_alias's SHA-1 names it
: >"$BODIES/selects"
"$IP" pivot 192.0.2.10 --store "$S" --now @1700000000 --depth 1 --format csv >"$WORK/out-alias" 2>"$WORK/err"
check_eq "pivot to a certificate an alias names: exit status" "$?" 0
check_eq "... the listing read plain, then with its aliases" \
	"$(grep -F "FROM sight_addr PREWHERE ip IN (toFixedString(unhex('00000000000000000000FFFFC000020A'" "$BODIES/selects" | grep -cF "${AL}sight_addr PREWHERE ip IN (") $(grep -cF "SELECT ip AS k, cert AS ref, " "$BODIES/selects")" "1 1"
check_grep "... the certificate named by its SHA-1" "^node,1,cert,a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9," "$WORK/out-alias"
check "... not by the SHA-256" bash -c "! grep -q 'a2a2a2a2' '$WORK/out-alias'"
rm -f "$BODIES/selects"
cp "$WORK/out" "$WORK/out-seq"
# a level's independent reads go out at once (the read-ahead): the seed's
# resolutions by address are in flight with its sightings by address, and
# with its own count, since the seed is never pruned (the stand-in holds
# each until the others arrive, 10 s at most)
rm -f "$BODIES/together-log"
printf '%s\n' "FROM rr_addr PREWHERE addr IN (" "FROM sight_addr PREWHERE ip IN (" "FROM prev_ip_names PREWHERE addr IN (" >"$BODIES/together"
"$IP" pivot 192.0.2.1 --store "$S" --now @1700000000 --format csv --max-domain-ips 5 >"$WORK/out" 2>"$WORK/err"
check_eq "pivot with its level's reads at once: exit status" "$?" 0
check_eq "... the seed's two address reads and its count in flight together" "$(cat "$BODIES/together-log" | tr '\n' ' ')" "together together together "
check_eq "... the same output" "$(cmp "$WORK/out-seq" "$WORK/out" && echo same)" same
# the new certificates' metadata: one batched query for the level's two
# (the stand-in describes them only to it), none a certificate
: >"$BODIES/selects"
"$IP" pivot 192.0.2.7 --store "$S" --now @1700000000 --depth 1 >"$WORK/out" 2>"$WORK/err"
check_eq "pivot to two certificates: exit status" "$?" 0
check_grep "... the first one's subject, from the batched query" '"subject": "CN=one.example.org"' "$WORK/out"
check_grep "... the second one's" '"subject": "CN=two.example.org"' "$WORK/out"
check_eq "... one metadata query for both" "$(grep -c 'FROM cert PREWHERE cert IN (toF' "$BODIES/selects")" 1
check_eq "... none a certificate" "$(grep -c 'FROM cert WHERE cert = ' "$BODIES/selects")" 0
# 8 before the batched metadata (one a certificate, no probe); 2 of the
# 10 are the alias checks of the counts and the metadata, 1 the probe
check_eq "... SELECTs in all (8 before: one a certificate)" "$(wc -l <"$BODIES/selects")" 10
rm -f "$BODIES/selects"
cp "$WORK/out" "$WORK/out-seq"
# their metadata goes out with their counts, not a round trip after them
# (the stand-in holds each until the other arrives, 10 s at most)
rm -f "$BODIES/together-log"
# (and the metadata's alias check: store/ch_batch.c, certs_aliased)
printf '%s\n' "FROM prev_cert_ips PREWHERE cert IN (toF" "FROM cert PREWHERE cert IN (toF" \
	"SELECT 1 FROM cert PREWHERE cert IN (SELECT toFixedString(concat(unhex('02'), sha256), 33) FROM t.cert WHERE length(sha256) = 32 AND cert IN (toF" >"$BODIES/together"
"$IP" pivot 192.0.2.7 --store "$S" --now @1700000000 --depth 1 >"$WORK/out" 2>"$WORK/err"
check_eq "pivot, the certificates' counts and metadata at once: exit status" "$?" 0
check_eq "... in flight together, the metadata's alias check with them" "$(cat "$BODIES/together-log" | tr '\n' ' ')" "together together together "
check_eq "... the same output" "$(cmp "$WORK/out-seq" "$WORK/out" && echo same)" same
# a level deeper the walk follows their keys: read with the counts too,
# and not again when the level is expanded
: >"$BODIES/selects"
rm -f "$BODIES/together-log"
printf '%s\n' "FROM prev_cert_ips PREWHERE cert IN (toF" "FROM cert_key PREWHERE (cert IN (toF" >"$BODIES/together"
"$IP" pivot 192.0.2.7 --store "$S" --now @1700000000 --depth 2 >"$WORK/out" 2>"$WORK/err"
check_eq "pivot a level deeper: exit status" "$?" 0
check_eq "... the certificates' keys in flight with their counts" "$(cat "$BODIES/together-log" | tr '\n' ' ')" "together together "
check_eq "... one key query for both, by certificate" "$(grep -c ' AS k, min(key) FROM cert_key PREWHERE (cert IN (toF' "$BODIES/selects") $(grep -c 'FROM cert_attr' "$BODIES/selects")" "1 0"
check_eq "... its alias check on the same table" "$(grep -c "^SELECT 1 FROM cert_key PREWHERE (cert IN (SELECT toFixedString(concat(unhex('02'), sha256), 33) FROM t.cert WHERE length(sha256) = 32 AND cert IN (toF.*)))) LIMIT 1 FORMAT RowBinary$" "$BODIES/selects")" 1
check_grep "... the first one's subject" '"subject": "CN=one.example.org"' "$WORK/out"
rm -f "$BODIES/selects" "$BODIES/together"
cp "$WORK/out" "$WORK/out-deeper"
# the values of conditions go as escaped String literals ('\x01\x71...'),
# not as toFixedString(unhex('..')) calls, which 18.16 analyses one by one
# (store/ch_rr.c, ch_sql_fixed; the stand-in reads them back in the old
# spelling for its tables: the raw form is selects-raw)
: >"$BODIES/selects-raw"
"$IP" pivot 192.0.2.7 --store "$S" --now @1700000000 --depth 2 >"$WORK/out" 2>"$WORK/err"
check_eq "pivot with escaped key literals: exit status, the same output" "$? $(cmp "$WORK/out-deeper" "$WORK/out" && echo same)" "0 same"
# (the address's resolutions and its names' count; the certificates'
# count, metadata and keys)
check_eq "... addresses and certificates as escaped literals" \
	"$(grep -cF "PREWHERE addr IN ('\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFF\xC0\x00\x02\x07')" "$BODIES/selects-raw") $(grep -cF "PREWHERE cert IN ('\x01\x71" "$BODIES/selects-raw")" "2 3"
check_eq "... no value a function call" "$(grep -c "unhex('0[0-9A-F][0-9A-F][0-9A-F]" "$BODIES/selects-raw")" 0
rm -f "$BODIES/selects-raw"
# the session's probe for rows under SHA-256 references (store/ch.c): the
# stand-in finds some by default, and the reads by certificate are checked
# for aliases; a store with none needs no check, and the output is the
# same; a probe that fails leaves it unknown: checked, as with some
checks() { grep -c "^SELECT 1 FROM .* IN (SELECT toFixedString(concat(unhex('02'), sha256), 33)" "$BODIES/selects"; }
for mode in some none fail; do
	echo "$mode" >"$BODIES/s256"
	: >"$BODIES/selects"
	"$IP" pivot 192.0.2.7 --store "$S" --now @1700000000 --depth 2 >"$WORK/out-s256" 2>"$WORK/err"
	check_eq "pivot, the probe finding $mode: exit status" "$?" 0
	check_eq "... the same output" "$(cmp "$WORK/out-deeper" "$WORK/out-s256" && echo same)" same
	check_eq "... the probe once" "$(grep -c "cert >= toFixedString(unhex('02'), 33) AND cert < toFixedString(unhex('03'), 33)" "$BODIES/selects")" 1
	eval "checks_$mode=$(checks)"
done
check_eq "... alias checks: some, none, a failed probe" "$checks_some $checks_none $checks_fail" "4 0 4"
rm -f "$BODIES/s256" "$BODIES/selects"
# the probe goes out with the seed's reads, not a round trip of its own
rm -f "$BODIES/together-log"
printf '%s\n' "FROM rr_addr PREWHERE addr IN (toFixedString(unhex('00000000000000000000FFFFC0000207'" "cert >= toFixedString(unhex('02'), 33)" >"$BODIES/together"
"$IP" pivot 192.0.2.7 --store "$S" --now @1700000000 --depth 2 >"$WORK/out-s256" 2>"$WORK/err"
check_eq "pivot, its probe: exit status" "$?" 0
check_eq "... in flight with the seed's reads" "$(cat "$BODIES/together-log" | tr '\n' ' ')" "together together "
rm -f "$BODIES/together"
# and the level's edges (the certificates' sightings) go out with its
# counts too, before its noise is known, not a round trip after them
rm -f "$BODIES/together-log"
: >"$BODIES/selects"
printf '%s\n' "FROM prev_cert_ips PREWHERE cert IN (toFixedString(unhex('0171" "FROM sight PREWHERE cert IN (toFixedString(unhex('0171" >"$BODIES/together"
"$IP" pivot 192.0.2.7 --store "$S" --now @1700000000 --depth 2 >"$WORK/out" 2>"$WORK/err"
check_eq "pivot, a level's counts and edges at once: exit status" "$?" 0
check_eq "... in flight together" "$(cat "$BODIES/together-log" | tr '\n' ' ')" "together together "
check_eq "... the same output" "$(cmp "$WORK/out-deeper" "$WORK/out" && echo same)" same
check_eq "... the sightings read capped at twice the largest noise limit and 16, plus the row that tells a cut" "$(grep -c "FROM sight PREWHERE cert IN (toFixedString(unhex('0171.* LIMIT 217 BY k FORMAT RowBinary$" "$BODIES/selects")" 1
rm -f "$BODIES/together" "$BODIES/selects"
"$IP" pivot 192.0.2.8 --store "$S" --now @1700000000 --depth 1 >"$WORK/out" 2>"$WORK/err"
check_eq "pivot, the batched metadata query failing: exit status" "$?" 2
check_grep "... ClickHouse's message" "infrapivot pivot: ClickHouse server error: clickhouse: HTTP 500: Code: 159, e.displayText\(\) = DB::Exception: Timeout exceeded" "$WORK/err"
check_eq "... nothing on stdout" "$(cat "$WORK/out")" ""
"$IP" pivot 192.0.2.5 --store "$S" --format csv >"$WORK/out" 2>"$WORK/err"
check_eq "pivot, the batched count query failing: exit status" "$?" 2
check_grep "... ClickHouse's message" "infrapivot pivot: ClickHouse server error: clickhouse: HTTP 500: Code: 159, e.displayText\(\) = DB::Exception: Timeout exceeded" "$WORK/err"
check_eq "... nothing on stdout" "$(cat "$WORK/out")" ""
"$IP" pivot "$BB" --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "pivot, the batched sightings query failing: exit status" "$?" 2
check_grep "... ClickHouse's message" "infrapivot pivot: ClickHouse server error: clickhouse: HTTP 500: Code: 241" "$WORK/err"
check_eq "... nothing on stdout" "$(cat "$WORK/out")" ""
# the SNI dating of a domain's certificates (issue 17): the level's
# certificates named by SNI counted in one batched query and their
# sightings read in one more, not two queries a certificate (6 before for
# these three); the one over --max-cert-ips read alone, as far as the scan
# cap (the stand-in answers each only to the query the code should send)
: >"$BODIES/selects"
"$IP" pivot sni.example.org --store "$S" --now @1700000000 --depth 1 --format csv >"$WORK/out" 2>"$WORK/err"
check_eq "pivot to three SNI certificates: exit status" "$?" 0
check_grep "... the first dated by the batched sightings" "^edge,0,sni,,,,,0,1,sni.example.org,6161616161616161616161616161616161616161,,5,1970-01-01T00:16:40Z,1970-01-01T00:33:20Z" "$WORK/out"
check_grep "... the second (its other SNI name passed over)" "^edge,1,sni,,,,,0,2,sni.example.org,6262626262626262626262626262626262626262,,5," "$WORK/out"
check_grep "... the one over the limit: noise, dated by its own read" "^edge,2,sni,,,,,0,3,sni.example.org,6363636363636363636363636363636363636363,,5," "$WORK/out"
check_grep "... its count from the batched query" "^node,3,cert,6363636363636363636363636363636363636363,1,100000,cdn_or_default_cert," "$WORK/out"
check_eq "... no count query a certificate" "$(grep -c 'FROM prev_cert_ips WHERE cert = ' "$BODIES/selects")" 0
check_eq "... one batched sightings query for the two, read plain" "$(grep -c "^SELECT cert AS k, k, .* FROM sight PREWHERE cert IN (toFixedString(unhex('0161[0-9]*'), 33), toFixedString(unhex('0162[0-9]*'), 33)) GROUP BY" "$BODIES/selects")" 1
check_eq "... its alias check (the stand-in finds rows under their SHA-256 references)" "$(grep -c "^SELECT 1 FROM sight PREWHERE cert IN (SELECT toFixedString(concat(unhex('02'), sha256), 33) FROM t.cert WHERE length(sha256) = 32 AND cert IN (toFixedString(unhex('0161[0-9]*'), 33), toFixedString(unhex('0162[0-9]*'), 33))) LIMIT 1 FORMAT RowBinary$" "$BODIES/selects")" 1
check_eq "... the one over the limit alone" "$(grep -c 'FROM sight WHERE cert = ' "$BODIES/selects")" 1
check_eq "... the chunk's SHA-256 aliases resolved in it (LMDB's join), their rows keyed by the SHA-1" "$(grep -F "FROM sight PREWHERE cert IN (" "$BODIES/selects" | grep -F "WITH (SELECT (arrayPushFront(groupArray(toString(r)), ''), arrayPushFront(groupArray(toString(x)), '')) FROM (SELECT toFixedString(concat(unhex('02'), sha256), 33) AS r, cert AS x FROM cert WHERE length(sha256) = 32 AND cert IN (toFixedString(unhex('0161" | grep -F ") OR cert IN (SELECT toFixedString(concat(unhex('02'), sha256), 33) FROM t.cert WHERE length(sha256) = 32 AND cert IN (toFixedString(unhex('0161" | grep -cF ")) GROUP BY k, ip, port")" 1
check_eq "... the new certificate nodes counted by it too: one count query" "$(grep -c 'FROM prev_cert_ips PREWHERE cert IN (toF' "$BODIES/selects")" 1
# 5 of the 15: the alias checks of the sightings, the counts and the
# metadata, the sightings read again with their aliases, and the probe
check_eq "... SELECTs in all, the open's SELECT 1 with them" "$(wc -l <"$BODIES/selects")" 15
cp "$WORK/out" "$WORK/out-sni"
# each read of the dating in flight with its alias check, not a round trip
# after it (they depend on the names' certificates, so the level's
# read-ahead cannot send them; the stand-in holds each of a pair until the
# other arrives, 10 s at most)
for pair in "prev_cert_ips:the count" "sight:the sightings"; do
	rm -f "$BODIES/together-log"
	printf '%s\n' "FROM ${pair%%:*} PREWHERE cert IN (toFixedString(unhex('0161" "SELECT 1 FROM ${pair%%:*} PREWHERE cert IN (SELECT" >"$BODIES/together"
	: >"$BODIES/selects"
	"$IP" pivot sni.example.org --store "$S" --now @1700000000 --depth 1 --format csv >"$WORK/out" 2>"$WORK/err"
	check_eq "pivot, the SNI dating's reads with their checks: exit status" "$?" 0
	check_eq "... ${pair#*:} and its alias check in flight together" "$(cat "$BODIES/together-log" | tr '\n' ' ')" "together together "
	check_eq "... the same output" "$(cmp "$WORK/out-sni" "$WORK/out" && echo same)" same
	check_eq "... the same SELECTs" "$(wc -l <"$BODIES/selects")" 15
	rm -f "$BODIES/together"
done
# a level deeper: the certificates' own sightings (their serves and SNI
# edges) are the ones the dating read, not read again
: >"$BODIES/selects"
"$IP" pivot sni.example.org --store "$S" --now @1700000000 --depth 2 --format csv >"$WORK/out" 2>"$WORK/err"
check_eq "pivot to three SNI certificates, depth 2: exit status" "$?" 0
check_grep "... the first certificate's address, from the dating's read" "^edge,3,serves,,,,,4,1,192.0.2.1,6161616161616161616161616161616161616161,443,5," "$WORK/out"
check_grep "... the second's" "^edge,4,serves,,,,,5,2,192.0.2.2,6262626262626262626262626262626262626262,8443,5," "$WORK/out"
check_grep "... and its other SNI name" "^edge,5,sni,,,,,6,2,other.example.com,6262626262626262626262626262626262626262,,5," "$WORK/out"
check_eq "... one batched sightings query in all (the dating's): plain, then aliased" "$(grep -c '^SELECT cert AS k, k, .* FROM sight PREWHERE cert IN (' "$BODIES/selects") $(grep -c '^WITH .* FROM sight PREWHERE cert IN (' "$BODIES/selects")" "1 1"
check_eq "... one batched certificate count in all" "$(grep -c 'FROM prev_cert_ips PREWHERE cert IN (toF' "$BODIES/selects")" 1
# 6 of the 19: the alias checks of the sightings, the counts, the metadata
# and the keys, the sightings read again with their aliases, and the probe
check_eq "... SELECTs in all" "$(wc -l <"$BODIES/selects")" 19
rm -f "$BODIES/selects"
for bad in "snifail:the batched sightings failing:Code: 241, e.displayText\(\) = DB::Exception: Memory limit" \
	"snibad:the batched sightings cut short:corrupt record" \
	"snicount:the batched count failing:Code: 159, e.displayText\(\) = DB::Exception: Timeout exceeded" \
	"snicut:the batched count cut short:corrupt record"; do
	"$IP" pivot "${bad%%:*}.example.org" --store "$S" --now @1700000000 --depth 1 >"$WORK/out" 2>"$WORK/err"
	rc=$? what=${bad#*:}
	check_eq "pivot, SNI dating, ${what%%:*}: exit status" "$rc" 2
	check_grep "... says so" "^infrapivot pivot: .*${what#*:}" "$WORK/err"
	check_eq "... nothing on stdout" "$(cat "$WORK/out")" ""
done
"$IP" pivot 192.0.2.1 --edges all --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "pivot --edges all (fingerprints of an address): exit status" "$?" 0
"$IP" pivot 192.0.2.68 --edges all --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "pivot --edges all, the fingerprints query failing: exit status" "$?" 2
check_grep "... ClickHouse's message" "Code: 241, e.displayText\(\) = DB::Exception: Memory limit" "$WORK/err"

# --- fingerprints: written into fp_in under the batch token, read by hash
printf '%s\n' '{"timestamp":"2026-10-20T10:00:00Z","event_type":"tls","dest_ip":"198.51.100.3","dest_port":8443,"tls":{"ja3s":{"hash":"15AF977CE25DE452B96AFFA2ADDB1036"}}}' >"$WORK/ja3s.json"
ingest_fresh "$WORK/ja3s.json"
check_eq "ingest of a JA3S: exit status" "$?" 0
check "... nothing said not recorded" bash -c "! grep -q 'not recorded' '$WORK/err'"
check_eq "... one INSERT, retried" "$(queries | tr '\n' ' ')" "INSERT INTO fp_in FORMAT RowBinary INSERT INTO fp_in FORMAT RowBinary "
check "... the retry is the same bytes" cmp -s "$(nth 1)" "$(nth 2)"
check "... the hash normalised" grep -qa "15af977ce25de452b96affa2addb1036" "$(nth 1)"
check_grep "... the address and port" "00000000000000000000ffffc6336403fb20" <(hexof "$(nth 1)")
"$IP" lookup jarm 07D14D16D21D21D07C42D41D00041D24A458A375EEF0C576D23A7BAB9A9FB1 --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup jarm: exit status" "$?" 0
check_grep "... the address it was seen on" '"ip":"192.0.2.1","port":443.*"count":4' "$WORK/out"
"$IP" lookup ja3s eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup ja3s, the server failing: exit status" "$?" 2
check_grep "... ClickHouse's message" "Code: 159, e.displayText\(\) = DB::Exception: Timeout exceeded" "$WORK/err"
"$IP" lookup ja3s ffffffffffffffffffffffffffffffff --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup ja3s, a row cut short: exit status" "$?" 2
check_grep "... corrupt" "corrupt record" "$WORK/err"

# --- what the ClickHouse store does not do yet: exit 2, saying what
unsup() { # DESCRIPTION WHAT ARGS...
	local d=$1 what=$2
	shift 2
	"$IP" "$@" --store "$S" >"$WORK/out" 2>"$WORK/err"
	check_eq "$d: exit status" "$?" 2
	check_grep "$d: says what" "not supported on the ClickHouse store yet: $what" "$WORK/err"
	check_eq "$d: nothing on stdout" "$(cat "$WORK/out")" ""
}
# certificates by serial: the range of the serial's rows in cert_attr (normalised:
# leading zeros dropped, upper case)
"$IP" lookup cert --serial 0x0A --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "lookup cert --serial: exit status" "$?" 0
check_grep "... the certificate of the serial's row" '"cert_sha1":"(bb){20}"' "$WORK/out"
check_rc "lookup cert --serial, not hex" 2 "$IP" lookup cert --serial 0xZZ --store "$S"
# a right-hand wildcard: the names beginning with the head, in the forward
# index's order (store/ch_rr.c)
: >"$BODIES/selects"
"$IP" lookup domain 'Update.*' --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "right-hand wildcard: exit status" "$?" 0
check_grep "... the stand-in's row" '^\{"rrname":"update.example.net","rrtype":"A","rdata":"192.0.2.1",.*"count":2' "$WORK/out"
check_grep "... one query of the names beginning with the head, in forward order" \
	"WHERE substring\(rrname, 1, 7\) = 'update.' GROUP BY .* ORDER BY replaceAll\(rrname, '.', '\\\\0'\)" "$BODIES/selects"
rm -f "$BODIES/selects"
check_rc "right-hand wildcard, a wildcard at both ends" 2 "$IP" lookup domain '*.update.*' --store "$S"
# stats: LMDB's counts, each the distinct keys of its table on the cluster,
# in one query; the sizes of a database file are null (table: "-")
: >"$BODIES/selects"
"$IP" stats --json --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "stats --json: exit status" "$?" 0
check_eq "... the stand-in's counts in LMDB's members and order, sizes null" \
	"$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$WORK/out")" \
	'{"resolutions": 101, "address_index": 102, "target_index": 103, "certificates": 106, "cert_sightings": 104, "ip_cert_index": 105, "name_cert_index": 107, "sha256_aliases": 108, "sensors": 109, "db_bytes": null, "used_bytes": null, "map_bytes": null}'
check_eq "... one query (beside the open's SELECT 1)" "$(grep -vc '^SELECT 1$' "$BODIES/selects")" 1
check_grep "... resolutions by LMDB's key, finalised" "^SELECT \(SELECT count\(\) FROM \(SELECT 1 FROM rr GROUP BY rname, rrtype, rdata\)\), " "$BODIES/selects"
check_grep "... the address index by address and owner" "FROM rr_addr GROUP BY addr, rname\)" "$BODIES/selects"
check_eq "... certificates, sightings and name entries by the SHA-1 of an alias" \
	"$(grep -o "SELECT count() FROM (WITH (SELECT (arrayPushFront(groupArray(toString(a)), ''), arrayPushFront(groupArray(toString(s)), '')) FROM (SELECT alias AS a, min(cert) AS s FROM cert_alias GROUP BY alias)) AS al SELECT toFixedString(transform(toString(cert), al.1, al.2, toString(cert)), 33) AS ref FROM [a-z_]* GROUP BY [a-z, ]*)" "$BODIES/selects" | sed 's/.* FROM //' | tr '\n' ';')" \
	"sight GROUP BY ref, ip, port);sight_addr GROUP BY ip, port, ref);name_cert GROUP BY rname, ref, kind);"
check_grep "... and the certificates counted so" "AS al SELECT uniqExact\(toFixedString\(transform\(toString\(cert\), al.1, al.2, toString\(cert\)\), 33\)\) FROM cert\)" "$BODIES/selects"
check_grep "... sensors from the merged states" "arrayJoin\(finalizeAggregation\(sensors\)\) AS s FROM sight UNION ALL SELECT sensor AS s FROM client\) WHERE s != ''\) FORMAT RowBinary$" "$BODIES/selects"
rm -f "$BODIES/selects"
"$IP" stats --store "$S" >"$WORK/out" 2>"$WORK/err"
check_eq "stats (table): exit status" "$?" 0
check_eq "... a line a member, a size as -" "$(tr -s ' ' <"$WORK/out" | tr '\n' '|')" \
	"resolutions 101|address_index 102|target_index 103|certificates 106|cert_sightings 104|ip_cert_index 105|name_cert_index 107|sha256_aliases 108|sensors 109|db_bytes -|used_bytes -|map_bytes -|"
for mode in error cut long; do
	echo "$mode" >"$BODIES/stats-mode"
	"$IP" stats --json --store "$S" >"$WORK/out" 2>"$WORK/err"
	check_eq "stats, the answer $mode: exit status" "$?" 2
	check_eq "... nothing on stdout" "$(cat "$WORK/out")" ""
	if [ "$mode" = error ]; then
		check_grep "... ClickHouse's message" "^infrapivot stats: .*Code: 159, .*Timeout exceeded" "$WORK/err"
	else
		check_grep "... an answer that does not decode" "^infrapivot stats: corrupt record" "$WORK/err"
	fi
done
rm -f "$BODIES/stats-mode"
unsup "compact" "compact" compact "$WORK/copy"
"$IP" probe --store "$S" 127.0.0.1:1 >"$WORK/out" 2>"$WORK/err"
check_eq "probe of a closed port: exit status (as on LMDB)" "$?" 2
check_grep "... tried, not refused" "connect: Connection refused" "$WORK/err"
"$IP" pull --store "$S" --checkpoint feed1 "http://127.0.0.1:$CLOSED/feed" >"$WORK/out" 2>"$WORK/err"
check_eq "pull --checkpoint from a closed port: exit status" "$?" 2
check "... fetched, no longer refused (the three-step commit)" \
	sh -c '! grep -q "not supported" "$0"' "$WORK/err"
# the control plane stays in the local LMDB and works
"$IP" watchlist list --store "$S" >"$WORK/out" 2>&1
check_eq "watchlist list on the control LMDB: exit status" "$?" 0

# --- serve: the same lookups over HTTP; a partial IP lookup says so, an
# unsupported call is 501
# a service on the stand-in; $1: its INFRAPIVOT_CH_PROBE_KEEP_MS (empty: the default)
serve_keeping() {
	HPORT=$(free_port)
	INFRAPIVOT_CH_PROBE_KEEP_MS=$1 "$IP" serve --store "$S" --listen "127.0.0.1:$HPORT" --threads 2 2>"$WORK/serve.log" &
	HTTP_PID=$!
	CLEANUP_EXTRA="kill $SRV $HTTP_PID 2>/dev/null"
	H=http://127.0.0.1:$HPORT
	for _ in $(seq 1 1200); do
		curl -s -o /dev/null "$H/healthz" && break
		kill -0 "$HTTP_PID" 2>/dev/null || break
		sleep 0.05
	done
}
serve_keeping ""
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Accept: application/x-ndjson' "$H/api/v1/lookup/domain/ok.example.net")
check_eq "HTTP lookup domain: status" "$code" 200
check_grep "... the row" '"rrname":"ok.example.net".*"sensors":\["s1","s2","s3"\]' "$WORK/body"
code=$(curl -s -D "$WORK/hdr" -o "$WORK/body" -w '%{http_code}' -H 'Accept: application/x-ndjson' "$H/api/v1/lookup/ip/192.0.2.1")
check_eq "HTTP lookup ip: status" "$code" 200
check_eq "... the certificate seen on it" "$(cat "$WORK/body")" "$SIGHT_BB"
check "... not partial" bash -c "! grep -qi '^X-Infrapivot-Partial' '$WORK/hdr'"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Accept: application/x-ndjson' "$H/api/v1/lookup/cert/$BB")
check_eq "HTTP lookup cert: status" "$code" 200
check_eq "... metadata and sightings" "$(head -c 60 "$WORK/body")|$(wc -l <"$WORK/body")" '{"type":"certificate","cert_sha1":"bbbbbbbbbbbbbbbbbbbbbbbbb|2'
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$H/api/v1/lookup/cert/9999999999999999999999999999999999999999")
check_eq "HTTP lookup cert, the server failing: status 502" "$code" 502
check_grep "... ClickHouse's message" "Memory limit \(for query\) exceeded" "$WORK/body"
# CIRCL passive SSL: an address's certificates with their subjects (the
# metadata read inside the sightings' walk), a certificate's addresses
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$H/v2pssl/query/192.0.2.1")
check_eq "HTTP pssl query: status" "$code" 200
check_grep "... the certificate and its subject" '"192.0.2.1":.*"'$BB'".*"CN=www.example.com"' "$WORK/body"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$H/v2pssl/cquery/$BB")
check_eq "HTTP pssl cquery: status" "$code" 200
check_grep "... the address seen" '"192.0.2.1"' "$WORK/body"
for q in query/192.0.2.66 cquery/9999999999999999999999999999999999999999; do
	code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$H/v2pssl/$q")
	check_eq "HTTP pssl $q, the server failing: status 502" "$code" 502
	check_grep "... ClickHouse's message" "Code: (159|241)" "$WORK/body"
done
code=$(curl -s -D "$WORK/hdr" -o "$WORK/body" -w '%{http_code}' "$H/api/v1/stats")
check_eq "HTTP stats: status" "$code" 200
check_grep "... the counts, sizes null" '^\{"resolutions":101,"address_index":102,.*"sensors":109,"db_bytes":null,"used_bytes":null,"map_bytes":null\}' "$WORK/body"
printf 'GET\t%s\t%s\t0\t%s\n' "$H/api/v1/stats" "$WORK/hdr" "$WORK/body" >"$WORK/oalog"
check "... as docs/openapi.json describes it" /usr/bin/python3 "$TESTS_DIR/tools/openapi-check" \
	"$TESTS_DIR/../docs/openapi.json" "$WORK/oalog"
echo error >"$BODIES/stats-mode"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$H/api/v1/stats")
check_eq "HTTP stats, the server failing: status 502" "$code" 502
check_grep "... bad_gateway with ClickHouse's message" '"bad_gateway".*Code: 159' "$WORK/body"
rm -f "$BODIES/stats-mode"
code=$(curl -s -o /dev/null -w '%{http_code}' "$H/metrics")
check_eq "HTTP metrics: status" "$code" 200
curl -s "$H/metrics" >"$WORK/body"
check "... no database size on a cluster" bash -c "! grep -q '^infrapivot_db_' '$WORK/body'"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$H/api/v1/lookup/domain/update.*")
check_eq "HTTP lookup of a right-hand wildcard: status 200" "$code" 200
check_grep "... the stand-in's row" '"rrname":"update.example.net"' "$WORK/body"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$H/api/v1/lookup/jarm/07d14d16d21d21d07c42d41d00041d24a458a375eef0c576d23a7bab9a9fb1")
check_eq "HTTP lookup jarm: status" "$code" 200
check_grep "... the address it was seen on" '"ip":"192.0.2.1","port":443' "$WORK/body"
# a push: the resolution and the certificate sighting written
printf '%s\n' '{"rrname":"push.example.org","rrtype":"A","rdata":"192.0.2.77","time_first":1700000000,"time_last":1700000100,"count":1}' \
	'{"ip":"192.0.2.77","port":443,"cert_sha1":"00112233445566778899aabbccddeeff00112233","time_first":1700000000,"time_last":1700000000,"count":1}' >"$WORK/push"
before=$(ls "$BODIES" | grep -c insert-)
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/x-ndjson' --data-binary @"$WORK/push" "$H/api/v1/observations")
check_eq "HTTP push: status" "$code" 200
check "... nothing counted as not recorded" bash -c "! grep -q not_recorded '$WORK/body'"
check "... the resolution sent" grep -qa "org.example.push" "$(nth "$((before + 1))")"
check_grep "... the certificate sighting sent" "00112233445566778899aabbccddeeff00112233" <(hexof "$(nth "$((before + 5))")")
kill -TERM "$HTTP_PID"
wait "$HTTP_PID"
check_eq "serve exits 0 after SIGTERM" "$?" 0
CLEANUP_EXTRA="kill $SRV 2>/dev/null"

# --- the probe's answer kept (docs/scale-out.md, "The probe's answer
# kept"): a service's pivots send no probe while the last answer is recent
# (here within an hour), a push through the service makes the next one
# probe again, and with INFRAPIVOT_CH_PROBE_KEEP_MS=0 every pivot probes
probes() { grep -c "cert >= toFixedString(unhex('02'), 33) AND cert < toFixedString(unhex('03'), 33)" "$BODIES/selects"; }
serve_stop() {
	kill -TERM "$HTTP_PID"
	wait "$HTTP_PID"
	check_eq "... serve exits 0 after SIGTERM" "$?" 0
	CLEANUP_EXTRA="kill $SRV 2>/dev/null"
}
# the same graph as the CLI's (out-deeper: the stand-in's probe finds rows)
"$IP" pivot 192.0.2.7 --store "$S" --now @1700000000 --depth 2 --format json >"$WORK/out-cli" 2>"$WORK/err"
check_eq "pivot as JSON on the CLI: exit status" "$?" 0
pivot_http() { curl -s -o "$WORK/body-$1" -w '%{http_code}' "$H/api/v1/pivot?seed=192.0.2.7&depth=2&now=1700000000"; }
serve_keeping 3600000
: >"$BODIES/selects"
check_eq "kept probe answer: two pivots over HTTP, status" "$(pivot_http 1) $(pivot_http 2)" "200 200"
check_eq "... the probe sent once" "$(probes)" 1
graph_of() { python3 -c 'import json,sys; g=json.load(open(sys.argv[1])); print(json.dumps([g["nodes"], g["edges"]], sort_keys=True))' "$1"; }
check_eq "... a graph of several nodes" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["nodes"]) > 2)' "$WORK/body-1")" True
check_eq "... both the CLI's graph" "$(graph_of "$WORK/body-1" | cmp - <(graph_of "$WORK/out-cli") && graph_of "$WORK/body-2" | cmp - <(graph_of "$WORK/out-cli") && echo same)" same
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/x-ndjson' --data-binary @"$WORK/push" "$H/api/v1/observations")
check_eq "... a push through the service: status" "$code" 200
: >"$BODIES/selects"
check_eq "... the pivot after it: status" "$(pivot_http 3)" 200
check_eq "... probes again" "$(probes)" 1
check_eq "... and the one after that does not" "$(pivot_http 4) $(probes)" "200 1"
serve_stop
serve_keeping 0
: >"$BODIES/selects"
check_eq "INFRAPIVOT_CH_PROBE_KEEP_MS=0: two pivots, status" "$(pivot_http 1) $(pivot_http 2)" "200 200"
check_eq "... each probes" "$(probes)" 2
serve_stop
rm -f "$BODIES/selects"
for bad in abc -1 86400001 ' 5'; do
	INFRAPIVOT_CH_PROBE_KEEP_MS=$bad "$IP" pivot 192.0.2.7 --store "$S" --now @1700000000 --depth 2 >"$WORK/out" 2>"$WORK/err"
	check_eq "INFRAPIVOT_CH_PROBE_KEEP_MS='$bad': exit status" "$?" 2
	check_grep "... the variable named" "INFRAPIVOT_CH_PROBE_KEEP_MS: not a number of milliseconds" "$WORK/err"
done

# --- the control directory serves one store address
"$IP" lookup domain ok.example.net --store "clickhouse://127.0.0.1:$PORT/other" >/dev/null 2>"$WORK/err"
check_eq "control directory of another address: exit status" "$?" 2
check_grep "... says whose it is" "control directory $WORK/control belongs to $S, not clickhouse://127.0.0.1:$PORT/other" "$WORK/err"
INFRAPIVOT_CONTROL=$WORK/control2 "$IP" lookup domain ok.example.net --store "clickhouse://127.0.0.1:$PORT/other" >/dev/null 2>&1
check_eq "... another INFRAPIVOT_CONTROL serves it" "$?" 0

# --- --store lmdb:DIR is --db DIR
"$IP" ingest --store "lmdb:$WORK/db" "$COF" 2>/dev/null
check_eq "ingest --store lmdb:DIR" "$?" 0
"$IP" lookup domain '*.circl.lu' --db "$WORK/db" >"$WORK/a" 2>/dev/null
"$IP" --store "lmdb:$WORK/db" lookup domain '*.circl.lu' >"$WORK/b" 2>/dev/null
check "... the same store as --db DIR" cmp -s "$WORK/a" "$WORK/b"
check_eq "... with the records" "$(wc -l <"$WORK/a")" 2
"$IP" stats --store "$WORK/db" --json >"$WORK/a" 2>/dev/null
check_eq "--store DIR (no scheme) is LMDB" "$?" 0

# --- migrate: argument errors
check_rc "migrate without --to" 2 "$IP" migrate --from "lmdb:$WORK/db"
check_rc "migrate into LMDB" 2 "$IP" migrate --from "lmdb:$WORK/db" --to "lmdb:$WORK/db2"
check_rc "migrate from ClickHouse" 2 "$IP" migrate --from "$S" --to "$S"
"$IP" migrate --from "lmdb:$WORK/nothing" --to "$S" 2>"$WORK/err"
check_eq "migrate from a missing store: exit status" "$?" 2
check_grep "... names the directory" "no database at $WORK/nothing \(create one" "$WORK/err"
check_eq "... creates none" "$(ls -d "$WORK/nothing" 2>/dev/null)" ""

# --- migrate: a copy that fails half way resumes where it stopped, the
# chunk in flight sent again as the same bytes (the same token: the cluster
# drops it), and a finished copy sends nothing
python3 "$TESTS_DIR/../scripts/gen-dataset" --lines 50000 --seed 3 --format passivedns >"$WORK/gen.pdns"
"$IP" ingest --db "$WORK/big" "$WORK/gen.pdns" 2>/dev/null
check_eq "a source store of 10000 resolutions (no certificates)" "$?" 0
rm -f "$BODIES"/insert-*
echo 1 >"$BODIES/fail-after"
"$IP" migrate --from "lmdb:$WORK/big" --to "$S" 2>"$WORK/err"
check_eq "migrate, the server failing after one chunk: exit status" "$?" 2
check_grep "... says to run it again" "run it again to resume" "$WORK/err"
n1=$(ls "$BODIES" | grep -c insert-)
check_eq "... chunk 1 twice (503, retry), chunk 2 three times" "$n1" 5
rm -f "$BODIES/fail-after"
"$IP" migrate --from "lmdb:$WORK/big" --to "$S" 2>"$WORK/err"
check_eq "migrate again: exit status" "$?" 0
check_grep "... resumed, one chunk left" "in 1 chunk into $S \(resumed\)" "$WORK/err"
check_eq "... two INSERTs: its 503 and retry" "$(ls "$BODIES" | grep -c insert-)" 7
check "... the same bytes as its failed attempts" cmp -s "$(nth 3)" "$(nth 6)"
check "... and its retry" cmp -s "$(nth 3)" "$(nth 7)"
check "... not the first chunk" bash -c "! cmp -s '$(nth 1)' '$(nth 6)'"
"$IP" migrate --from "$WORK/big" --to "$S" 2>"$WORK/err"
check_eq "migrate a third time: exit status" "$?" 0
check_grep "... nothing to do" "already copied into $S" "$WORK/err"
check_eq "... nothing sent" "$(ls "$BODIES" | grep -c insert-)" 7

# --- migrate of certificates, fingerprints and client sightings: each kind a
# phase with its own checkpoint; a run failing in the certificate phase
# resumes there, the resolutions not sent again
python3 "$TESTS_DIR/../scripts/gen-dataset" --lines 1000 --seed 5 --format cof >"$WORK/certs.cof"
printf '%s\n' '{"timestamp":"2026-10-20T10:00:00Z","event_type":"tls","src_ip":"10.0.0.5","src_port":40000,"dest_ip":"198.51.100.3","dest_port":8443,"proto":"TCP","tls":{"sni":"fp.example.org","ja3s":{"hash":"15af977ce25de452b96affa2addb1036"}}}' >"$WORK/certs.json"
"$IP" ingest --db "$WORK/certs" --client-days 36500 "$WORK/certs.cof" "$WORK/certs.json" 2>/dev/null
check_eq "a source store with certificates, a fingerprint and a client pair" "$?" 0
rm -f "$BODIES"/insert-* "$BODIES"/query-*
echo 1 >"$BODIES/fail-after"
"$IP" migrate --from "lmdb:$WORK/certs" --to "$S" 2>"$WORK/err"
check_eq "migrate, the server failing after the resolutions: exit status" "$?" 2
check_grep "... says to run it again" "run it again to resume" "$WORK/err"
check_eq "... the resolutions (503, retry), then the certificates' metadata (3 attempts)" \
	"$(queries | sed 's/ FORMAT.*//' | tr '\n' '|')" \
	"INSERT INTO rr_in|INSERT INTO rr_in|INSERT INTO cert|INSERT INTO cert|INSERT INTO cert|"
failed=$(nth 3)
rm -f "$BODIES/fail-after"
"$IP" migrate --from "lmdb:$WORK/certs" --to "$S" 2>"$WORK/err"
check_eq "migrate again: exit status" "$?" 0
check_grep "... resumed: no resolution, the certificates, sightings, fingerprint, client pair" \
	"migrate: 0 resolutions, [1-9][0-9]* certificates, [1-9][0-9]* certificate sightings, 1 fingerprint sightings and [1-9][0-9]* client pairs as .* \(resumed\)" "$WORK/err"
queries | sed -n '6,$p' >"$WORK/resumed"
check "... no resolution sent again" bash -c "! grep -q 'INSERT INTO rr_in' '$WORK/resumed'"
check "... the metadata as the same bytes as its failed attempts" cmp -s "$failed" "$(nth 6)"
check_grep "... the sightings after the metadata" "INSERT INTO sight_in" <(queries | sed -n '7,$p')
check_grep "... the fingerprint" "INSERT INTO fp_in" <(queries)
check_grep "... the client pair" "INSERT INTO client \(blk, pk, dtype, dest, client, sensor, src, ver," <(queries)
cq=$(grep -l "INSERT INTO client" "$BODIES"/query-* | head -n 1)
check_eq "... at version 0, its state as LMDB holds it" "$(python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read()
def s(i):
    n, sh = 0, 0
    while True:
        c = b[i]; i += 1; n |= (c & 0x7F) << sh; sh += 7
        if c < 0x80: return i + n, b[i:i + n]
i, dest = s(17)
i, sensor = s(i + 16)
ver, first, last, cnt = struct.unpack_from("<QIIQ", b, i + 1)
print(dest.decode(), sensor.decode(), ver, cnt)' "${cq/query-/insert-}")" "org.example.fp  0 1"
n2=$(ls "$BODIES" | grep -c insert-)
"$IP" migrate --from "lmdb:$WORK/certs" --to "$S" 2>"$WORK/err"
check_grep "a third time: nothing to do" "already copied into $S" "$WORK/err"
check_eq "... nothing sent" "$(ls "$BODIES" | grep -c insert-)" "$n2"

finish
