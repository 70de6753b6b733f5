#!/bin/bash
# test_pull.sh - `infrapivot pull` against a loopback feed server (HTTP and
# HTTPS): authentication, checkpoints, retries, truncation, limits.
. "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
IP=$INFRAPIVOT
F=$WORK/feeds
mkdir -p "$F"
PIDS=""
CLEANUP_EXTRA='for p in $PIDS; do kill $p 2>/dev/null; done'

# start_server PORTFILE [ARGS...]: runs feed_server.py, waits for its port
# and sets PORT (not in $(...): the server would hold the pipe open)
start_server() {
	local pf=$1; shift
	python3 "$HERE/feed_server.py" --root "$F" --port-file "$pf" "$@" \
		> "$pf.log" 2>&1 &
	PIDS="$PIDS $!"
	for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
	PORT=$(cat "$pf")
}
# total count of a name's resolutions in database $1
count_of() { "$IP" lookup --db "$1" domain "$2" 2>/dev/null |
	python3 -c 'import sys,json; print(sum(json.loads(l)["count"] for l in sys.stdin))'; }
resolutions() { "$IP" stats --db "$1" 2>/dev/null | awk '$1=="resolutions"{print $2}'; }
requests() { grep -c -- "^$1" "$F/requests.log" || true; }

cat > "$F/cof.ndjson" <<'J'
{"rrname":"a.feed.test","rrtype":"A","rdata":"192.0.2.1","time_first":1000,"time_last":1000,"count":3}
{"rrname":"b.feed.test","rrtype":"A","rdata":"192.0.2.2","time_first":1500,"time_last":2000,"count":5}
{"rrname":"c.feed.test","rrtype":"CNAME","rdata":"b.feed.test","time_first":2500,"time_last":3000,"count":7}
J
cat > "$F/saf.ndjson" <<'J'
{"cond":"begin"}
{"obj":{"count":10,"time_first":1700000000,"time_last":1700001000,"rrname":"www.saf.test.","rrtype":"A","bailiwick":"saf.test.","rdata":["198.51.100.1","198.51.100.2"]}}
{"obj":{"count":4,"zone_time_first":1700000500,"zone_time_last":1700002000,"rrname":"saf.test.","rrtype":"NS","bailiwick":"test.","rdata":"ns1.saf.test."}}
{"cond":"succeeded"}
J
head -3 "$F/saf.ndjson" > "$F/saf_trunc.ndjson"
{ head -2 "$F/saf.ndjson"; echo '{"cond":"limited","msg":"Result limit reached"}'; } > "$F/saf_limited.ndjson"
printf '%s\n' '{"cond":"begin"}' '{"cond":"failed","msg":"Query timed out"}' > "$F/saf_failed.ndjson"
cat > "$F/bad.ndjson" <<'J'
{"rrname":"ok1.feed.test","rrtype":"A","rdata":"192.0.2.10","time_first":1000,"time_last":1000}
{"rrname":"bad.feed.test","rrtype":"A","rdata":"not-an-ip","time_first":1000,"time_last":1000}
{"rrname":"ok2.feed.test","rrtype":"A","rdata":"192.0.2.11","time_first":1000,"time_last":1000}
this is not json
J
python3 -c '
for i in range(2000):
    print("{\"rrname\":\"n%d.big.test\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.3\",\"time_first\":1000,\"time_last\":1000}" % i)' > "$F/big.ndjson"

start_server "$WORK/port"
P=$PORT
U=http://127.0.0.1:$P
check "server up" test -n "$P"

check_rc "pull --help" 0 "$IP" pull --help
"$IP" pull --help > "$WORK/help" 2>&1
check_grep "help lists --token-file" "--token-file" "$WORK/help"
check_grep "help lists --checkpoint" "--checkpoint" "$WORK/help"
check_rc "no URL" 2 "$IP" pull
check_rc "not http" 2 "$IP" pull ftp://127.0.0.1/x

# --- plain COF pull
check_rc "open COF pull" 0 "$IP" pull --db "$WORK/db1" "$U/open/cof.ndjson"
check_eq "a count" "$(count_of "$WORK/db1" a.feed.test)" 3
check_eq "c count" "$(count_of "$WORK/db1" c.feed.test)" 7

# --- API key
"$IP" pull --db "$WORK/db2" --retries 0 "$U/key/cof.ndjson" 2> "$WORK/err"
check_eq "key missing: exit 2" $? 2
check_grep "key missing: clear message" "HTTP 401.*invalid API key; nothing recorded" "$WORK/err"
check_eq "key missing: nothing recorded" "$(resolutions "$WORK/db2")" 0
check_rc "wrong key" 2 "$IP" pull --db "$WORK/db2" -H 'X-API-Key: nope' "$U/key/cof.ndjson"
check_rc "right key header" 0 "$IP" pull --db "$WORK/db2" -H 'X-API-Key: secret-key' "$U/key/cof.ndjson"
check_eq "key pull recorded once" "$(count_of "$WORK/db2" b.feed.test)" 5
printf 'secret-key\n' > "$WORK/bare.key"; chmod 600 "$WORK/bare.key"
printf 'X-API-Key: secret-key\n' > "$WORK/header.key"; chmod 600 "$WORK/header.key"
check_rc "token file, bare key" 0 "$IP" pull --db "$WORK/db3" --token-file "$WORK/bare.key" "$U/key/cof.ndjson"
check_rc "token file, header line" 0 "$IP" pull --db "$WORK/db4" --token-file "$WORK/header.key" "$U/key/cof.ndjson"
check_eq "token file pull" "$(count_of "$WORK/db4" c.feed.test)" 7

# --- basic auth
check_rc "basic: none" 2 "$IP" pull --db "$WORK/db5" "$U/basic/cof.ndjson"
check_rc "basic: wrong" 2 "$IP" pull --db "$WORK/db5" --user alice:nope "$U/basic/cof.ndjson"
check_eq "basic failures record nothing" "$(resolutions "$WORK/db5")" 0
check_rc "basic: right" 0 "$IP" pull --db "$WORK/db5" --user alice:wonderland "$U/basic/cof.ndjson"
check_eq "basic pull" "$(count_of "$WORK/db5" a.feed.test)" 3

# --- SAF and checkpoints
cp "$F/saf.ndjson" "$F/saf_cp.ndjson"
check_rc "SAF pull 1" 0 "$IP" pull --db "$WORK/db6" --format saf --checkpoint dnsdb "$U/open/saf_cp.ndjson"
check_eq "SAF rrset: 2 A records of count 10" "$(count_of "$WORK/db6" www.saf.test)" 20
check_eq "SAF zone_time NS" "$(count_of "$WORK/db6" saf.test)" 4
# new data arrives on the server
{ head -3 "$F/saf.ndjson"
  echo '{"obj":{"count":6,"time_first":1700003000,"time_last":1700004000,"rrname":"new.saf.test.","rrtype":"A","rdata":["203.0.113.9"]}}'
  echo '{"cond":"succeeded"}'; } > "$F/saf_cp.ndjson"
"$IP" pull --db "$WORK/db6" --checkpoint dnsdb "$U/open/saf_cp.ndjson" 2> "$WORK/err"
check_eq "SAF pull 2 (auto-detected)" $? 0
check_grep "second pull asks only for newer records" "saf_cp.ndjson\?time_last_after=1700002000 200" "$F/requests.log"
check_grep "summary shows the checkpoint moving" "checkpoint 1700002000 -> 1700004000" "$WORK/err"
check_eq "old records not counted twice" "$(count_of "$WORK/db6" www.saf.test)" 20
check_eq "new record" "$(count_of "$WORK/db6" new.saf.test)" 6
check_rc "SAF pull 3: nothing new" 0 "$IP" pull --db "$WORK/db6" --checkpoint dnsdb "$U/open/saf_cp.ndjson"
check_eq "still exact" "$(count_of "$WORK/db6" new.saf.test)" 6
check_grep "third pull from the new checkpoint" "saf_cp.ndjson\?time_last_after=1700004000 200" "$F/requests.log"
# --since-param
check_rc "since-param" 0 "$IP" pull --db "$WORK/db6" --checkpoint dnsdb --since-param after "$U/open/saf_cp.ndjson"
check_grep "custom since parameter" "saf_cp.ndjson\?after=1700004000 200" "$F/requests.log"
check_eq "a server ignoring the parameter sends everything again: counted again (documented)" "$(count_of "$WORK/db6" new.saf.test)" 12

# --- truncated, limited, failed SAF
"$IP" pull --db "$WORK/db7" --retries 0 "$U/open/saf_trunc.ndjson" 2> "$WORK/err"
check_eq "truncated SAF: exit 2" $? 2
check_grep "truncated SAF: message" "SAF stream truncated.*nothing recorded" "$WORK/err"
check_eq "truncated SAF: nothing recorded" "$(resolutions "$WORK/db7")" 0
"$IP" pull --db "$WORK/db7" --retries 1 --backoff 0.05 --checkpoint t "$U/open/saf_trunc.ndjson" 2> "$WORK/err"
check_eq "truncated SAF is retried, then fails" "$(requests /open/saf_trunc.ndjson)" 3
check_eq "truncated SAF: checkpoint not set" "$(resolutions "$WORK/db7")" 0
{ echo; cat "$F/saf_trunc.ndjson"; } > "$F/saf_trunc2.ndjson"
"$IP" pull --db "$WORK/db7" --retries 0 "$U/open/saf_trunc2.ndjson" 2> "$WORK/err"
check_eq "truncated SAF after a blank line, format auto: exit 2" $? 2
check_grep "truncated SAF detected with --format auto" "SAF stream truncated" "$WORK/err"
check_eq "truncated SAF, auto: nothing recorded" "$(resolutions "$WORK/db7")" 0
"$IP" pull --db "$WORK/db7" "$U/open/saf_limited.ndjson" 2> "$WORK/err"
check_eq "limited SAF: exit 1" $? 1
check_grep "limited SAF: reported" "limited the results: Result limit reached" "$WORK/err"
check_eq "limited SAF: records kept" "$(count_of "$WORK/db7" www.saf.test)" 20
"$IP" pull --db "$WORK/db8" --format saf "$U/open/saf_failed.ndjson" 2> "$WORK/err"
check_eq "failed SAF: exit 2" $? 2
check_grep "failed SAF: message" "query failed: Query timed out" "$WORK/err"
check_eq "failed SAF: one attempt" "$(requests /open/saf_failed.ndjson)" 1
"$IP" pull --db "$WORK/db8" --retries 0 "$U/short/cof.ndjson" 2> "$WORK/err"
check_eq "connection closed early: exit 2" $? 2
check_grep "connection closed early: message" "nothing recorded" "$WORK/err"
check_eq "connection closed early: nothing recorded" "$(resolutions "$WORK/db8")" 0

# --- retries
"$IP" pull --db "$WORK/db9" --backoff 0.05 "$U/flaky503/2/cof.ndjson" 2> "$WORK/err"
check_eq "503 twice then 200: exit 0" $? 0
check_eq "503: three attempts" "$(requests /flaky503/2/cof.ndjson)" 3
check_grep "503: retry reported" "retry 2 of 3" "$WORK/err"
check_eq "503: counted once" "$(count_of "$WORK/db9" c.feed.test)" 7
check_rc "503 beyond --retries" 2 "$IP" pull --db "$WORK/db10" --retries 1 --backoff 0.05 "$U/flaky503/5/cof.ndjson"
check_eq "503 beyond retries: two attempts" "$(requests /flaky503/5/cof.ndjson)" 2
check_eq "503 beyond retries: nothing recorded" "$(resolutions "$WORK/db10")" 0
t0=$(date +%s.%N)
"$IP" pull --db "$WORK/db11" --backoff 0.01 "$U/flaky429/1/cof.ndjson" 2> "$WORK/err"
check_eq "429 then 200: exit 0" $? 0
t1=$(date +%s.%N)
check "429: waited Retry-After (1 s), not --backoff" python3 -c "import sys; sys.exit(0 if $t1 - $t0 >= 0.95 else 1)"
check_grep "429: wait reported" "retry 1 of 3 in 1.0 s" "$WORK/err"
check_eq "429: two attempts" "$(requests /flaky429/1/cof.ndjson)" 2
check_eq "429: counted once" "$(count_of "$WORK/db11" a.feed.test)" 3
"$IP" pull --db "$WORK/db11" "$U/status/404" 2> "$WORK/err"
check_eq "404: exit 2" $? 2
check_eq "404: not retried" "$(requests /status/404)" 1
check_grep "404: clear message" "HTTP 404: status 404 for you; nothing recorded" "$WORK/err"
check_rc "500: retried then fails" 2 "$IP" pull --db "$WORK/db11" --retries 2 --backoff 0.01 "$U/status/500"
check_eq "500: three attempts" "$(requests /status/500)" 3
port2=$(free_port)
"$IP" pull --db "$WORK/db11" --retries 0 "http://127.0.0.1:$port2/x" 2> "$WORK/err"
check_eq "connection refused: exit 2" $? 2
check_grep "connection refused: message" "127.0.0.1.*(refused|Couldn't connect|Failed to connect)" "$WORK/err"

# --- --max-bytes, bad lines
"$IP" pull --db "$WORK/db12" --max-bytes 10K "$U/open/big.ndjson" 2> "$WORK/err"
check_eq "max-bytes: exit 2" $? 2
check_grep "max-bytes: message" "larger than --max-bytes 10240; nothing recorded" "$WORK/err"
check_eq "max-bytes: nothing recorded" "$(resolutions "$WORK/db12")" 0
check_rc "max-bytes: enough" 0 "$IP" pull --db "$WORK/db12" --max-bytes 1M "$U/open/big.ndjson"
check_eq "max-bytes: all 2000" "$(resolutions "$WORK/db12")" 2000
"$IP" pull --db "$WORK/db13" --rejects "$WORK/rej" "$U/open/bad.ndjson" 2> "$WORK/err"
check_eq "bad lines: exit 1" $? 1
check_grep "bad line 2 reported" "bad.ndjson:2: rejected: rdata not-an-ip" "$WORK/err"
check_grep "bad line 4 reported" "bad.ndjson:4: rejected: not JSON" "$WORK/err"
check_grep "rejects file has line numbers" '"line":4' "$WORK/rej"
check_eq "bad lines: the good ones recorded" "$(resolutions "$WORK/db13")" 2

# --- --interval / --count with a checkpoint: the second round fetches nothing new
"$IP" pull --db "$WORK/db14" --checkpoint loop --interval 0.2 --count 2 "$U/open/cof.ndjson" 2> "$WORK/err"
check_eq "interval: exit 0" $? 0
check_grep "interval: round 2 uses the checkpoint" "/open/cof.ndjson\?time_last_after=3000 200" "$F/requests.log"
check_eq "interval: counted once" "$(count_of "$WORK/db14" c.feed.test)" 7

# --- SIGTERM ends an --interval loop between pulls, promptly and cleanly
: > "$WORK/err17"
"$IP" pull --db "$WORK/db17" --checkpoint sig --interval 60 "$U/open/cof.ndjson" 2> "$WORK/err17" &
lp=$!
for _ in $(seq 100); do grep -q "^pull: HTTP 200" "$WORK/err17" && break; sleep 0.05; done
t0=$(date +%s)
kill -TERM $lp
wait $lp
check_eq "SIGTERM during --interval: exit status of the last pull" $? 0
check "SIGTERM: stopped within 2 s" test $(( $(date +%s) - t0 )) -le 2
check_eq "SIGTERM: first pull recorded" "$(count_of "$WORK/db17" c.feed.test)" 7

# --- HTTPS: verification on by default, --cacert, --insecure
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/srv.key" -out "$WORK/srv.pem" -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
start_server "$WORK/port-tls" --cert "$WORK/srv.pem" --key "$WORK/srv.key"
PS=$PORT
US=https://127.0.0.1:$PS
"$IP" pull --db "$WORK/db15" "$US/open/cof.ndjson" 2> "$WORK/err"
check_eq "https self-signed, default: exit 2" $? 2
check "https verification failure is not retried" sh -c "! grep -q retry '$WORK/err'"
check_grep "https: certificate problem named" "[Cc]ertificate" "$WORK/err"
check_eq "https unverified: nothing recorded" "$(resolutions "$WORK/db15")" 0
check_rc "https --cacert" 0 "$IP" pull --db "$WORK/db15" --cacert "$WORK/srv.pem" -H 'X-API-Key: secret-key' "$US/key/saf.ndjson"
check_eq "https --cacert records" "$(count_of "$WORK/db15" www.saf.test)" 20
check_rc "https --insecure" 0 "$IP" pull --db "$WORK/db16" --insecure "$US/open/cof.ndjson"
check_eq "https --insecure records" "$(count_of "$WORK/db16" b.feed.test)" 5

finish
