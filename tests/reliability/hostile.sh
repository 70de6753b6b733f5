#!/bin/bash
# Hostile clients and bad input: slowloris next to a normal client, a raw
# NUL in the request target, HTTP/1.1 without Host, bodies past the
# global cap, aborted and retried pushes (Idempotency-Key), a truncated
# gzip input, a NUL in a passivedns line, a noise limit of 0.
# --long: more slow connections and bigger pushes.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/rel_lib.sh"
RAW=$(dirname "$0")/rawhttp.py
SLOW=40 PUSH=20000
[ "$LONG" = 1 ] && SLOW=300 PUSH=200000
DB=$WORK/db
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
SRV_PID=
CLEANUP_EXTRA='[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null'
# fewer connections than slow clients: without a cap per address they
# would take every one
"$IP" serve --db "$DB" --listen "127.0.0.1:$PORT" --threads 2 --max-connections 32 \
	--max-per-ip 12 --request-timeout 3 --max-buffered-bodies 1M 2>>"$WORK/server.log" &
SRV_PID=$!
wait_for 10 curl -sf -o /dev/null "$U/healthz" || { cat "$WORK/server.log"; exit 1; }

# ---- slowloris from 127.0.0.2 while a normal client (127.0.0.1) asks
python3 "$RAW" slow "$PORT" 127.0.0.2 "$SLOW" 0.3 30 >"$WORK/slow.out" &
SLOWPID=$!
okn=0 badn=0
while kill -0 "$SLOWPID" 2>/dev/null; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$U/healthz")
	if [ "$code" = 200 ]; then okn=$((okn + 1)); else badn=$((badn + 1)); fi
done
wait "$SLOWPID"
check "slowloris: the normal client was served" test "$okn" -ge 3
check_eq "slowloris: no request of the normal client failed" "$badn" 0
read -r open lived <<<"$(cat "$WORK/slow.out")"
check_eq "slowloris: every slow connection was closed" "$open" "open=0"
# the request deadline (3 s) and the reaper's tick, with room for a busy machine
check "slowloris: none lived much past --request-timeout ($lived)" \
	awk -v l="${lived#lived=}" 'BEGIN { exit !(l < 8) }'
curl -s "$U/metrics" >"$WORK/metrics"
check_grep "slowloris: counted" '^infrapivot_http_requests_timed_out_total [1-9]' "$WORK/metrics"

# ---- raw NUL in the target, Host
hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
req_nul=$(hexof 'GET /api/v1/lookup/domain/x')00$(hexof $'junk HTTP/1.1\r\nHost: a\r\n\r\n')
check_eq "a raw NUL in the path: 400" "$(python3 "$RAW" send "$PORT" "$req_nul")" 400
req_ok=$(hexof $'GET /api/v1/lookup/domain/x.example HTTP/1.1\r\nHost: a\r\n\r\n')
check_eq "the same path without NUL: answered" "$(python3 "$RAW" send "$PORT" "$req_ok")" 200
req_q=$(hexof 'GET /healthz?a=b')00$(hexof $'c HTTP/1.1\r\nHost: a\r\n\r\n')
check_eq "a raw NUL in the query: 400" "$(python3 "$RAW" send "$PORT" "$req_q")" 400
check_eq "HTTP/1.1 without Host: 400" \
	"$(python3 "$RAW" send "$PORT" "$(hexof $'GET /healthz HTTP/1.1\r\n\r\n')")" 400
check_eq "HTTP/1.0 without Host: fine" \
	"$(python3 "$RAW" send "$PORT" "$(hexof $'GET /healthz HTTP/1.0\r\n\r\n')")" 200

# ---- buffered bodies past --max-buffered-bodies (1M): 503 + Retry-After
big=$WORK/big.json
python3 -c 'import json; print(json.dumps({"description": "x" * (2 << 20)}))' >"$big"
code=$(curl -s -D "$WORK/h" -o "$WORK/b" -w '%{http_code}' -X PUT --data-binary @"$big" \
	"$U/api/v1/watchlists/w1")
check_eq "a body over the global cap: 503" "$code" 503
check_grep "503: Retry-After" '^Retry-After: 1' "$WORK/h"
check_grep "503: a JSON error" '"code": *"busy"' "$WORK/b"
code=$(curl -s -D "$WORK/h" -o "$WORK/b" -w '%{http_code}' -X PUT -H 'Transfer-Encoding: chunked' \
	--data-binary @"$big" "$U/api/v1/watchlists/w1")
check_eq "a chunked body growing over the cap: 503" "$code" 503
check_grep "chunked 503: Retry-After" '^Retry-After: 1' "$WORK/h"
code=$(curl -s -o "$WORK/b" -w '%{http_code}' -X PUT --data-binary '{"description":"small"}' \
	"$U/api/v1/watchlists/w1")
check_eq "a small body after them: served (the cap was given back)" "$code" 201

# ---- pushes safe to retry
cof_lines "$PUSH" 7 >"$WORK/push.json"
push() { curl -s -o "$WORK/push.out" -w '%{http_code}' "$@" --data-binary @"$WORK/push.json" \
	"$U/api/v1/observations"; }
check_eq "push with a key" "$(push -H 'Idempotency-Key: k1')" 200
check_eq "push: counted" "$(state "$DB")" "$PUSH $PUSH"
check_eq "retry of a committed push: 200" "$(push -H 'Idempotency-Key: k1')" 200
check_grep "retry: answered from the record" '"replayed": *true' "$WORK/push.out"
check_grep "retry: the first answer's counts" "\"accepted\": *$PUSH" "$WORK/push.out"
check_eq "retry: nothing counted twice" "$(state "$DB")" "$PUSH $PUSH"
check_eq "a key with a space: 400" "$(push -H 'Idempotency-Key: a b')" 400

# an aborted push (60% of the body, then the client goes), then its retry
size=$(stat -c %s "$WORK/push.json")
awk -v t0=$T0 '{ gsub("f.example.com", "g.example.com"); print }' "$WORK/push.json" >"$WORK/push2.json"
gstate() { "$IP" lookup --db "$DB" domain g.example.com 2>/dev/null |
	sed -nE 's/.*"time_last":([0-9]+).*"count":([0-9]+).*/\2 \1/p' |
	awk -v t0=$T0 '{ print $1, $2 - t0; f = 1 } END { if (!f) print "0 0" }'; }
RAW_HEADERS='Idempotency-Key: k2' python3 "$RAW" abort "$PORT" /api/v1/observations \
	"$WORK/push2.json" $((size * 6 / 10))
# the server commits what it parsed of the aborted body; wait until that
# request is over (in flight: only the metrics request itself)
free_key() { curl -s "$U/metrics" | grep -q '^infrapivot_http_requests_in_flight 1$'; }
partial() { read -r c l <<<"$(gstate)"; [ "$c" -gt 0 ] && [ "$c" = "$l" ]; }
check "aborted push: a prefix was committed" wait_for 20 partial
wait_for 20 free_key
code=$(curl -s -o "$WORK/push.out" -w '%{http_code}' -H 'Idempotency-Key: k2' \
	--data-binary @"$WORK/push2.json" "$U/api/v1/observations")
check_eq "retry of the aborted push: 200" "$code" 200
check_grep "retry: resumed after the committed lines" '"resumed_after_line": *[1-9]' "$WORK/push.out"
check_grep "retry: the whole body's counts" "\"accepted\": *$PUSH" "$WORK/push.out"
check_eq "aborted + retried: every line once" "$(gstate)" "$PUSH $PUSH"
kill "$SRV_PID"
wait "$SRV_PID"
SRV_PID=

# ---- a truncated gzip input: reported, exit 2; the lines before are kept
cof_lines 20000 3 | gzip >"$WORK/full.gz"
head -c $(($(stat -c %s "$WORK/full.gz") / 2)) "$WORK/full.gz" >"$WORK/cut.gz"
"$IP" ingest --db "$WORK/gz" "$WORK/cut.gz" 2>"$WORK/gz.err"
check_eq "truncated gzip: exit 2" "$?" 2
check_grep "truncated gzip: names the file" "cut.gz: the compressed input is cut" "$WORK/gz.err"
read -r c l <<<"$(state "$WORK/gz")"
check "truncated gzip: the lines before are kept" test "$c" -gt 0 -a "$c" = "$l"

# ---- a NUL in a passivedns line: that line rejected (file:line), the others kept
PD=$WORK/nul.pdns
{
	echo '1322849924.408856||10.1.1.1||8.8.8.8||IN||a.example.com.||A||192.0.2.7||60||1'
	printf '1322849924.408856||10.1.1.1||8.8.8.8||IN||n.example.com.||TXT||ab\0cd||60||1\n'
	echo '1322849924.408856||10.1.1.1||8.8.8.8||IN||b.example.com.||A||192.0.2.7||60||1'
	echo '1322849924.408856||10.1.1.1||8.8.8.8||IN||c.example.com.||A||192.0.2.7||60||1'
} >"$PD"
"$IP" ingest --db "$WORK/pd" "$PD" 2>"$WORK/pd.err"
check_eq "NUL in rdata: exit 1 (a rejected line)" "$?" 1
check_grep "NUL in rdata: file:line" "nul.pdns:2: rejected: a NUL byte" "$WORK/pd.err"
check_grep "NUL in rdata: the good lines kept" "3 accepted, 1 rejected" "$WORK/pd.err"
out=$("$IP" lookup --db "$WORK/pd" domain n.example.com 2>/dev/null)
check_eq "NUL in rdata: nothing of that line recorded" "$out" ""

# ---- a noise limit of 0 switches it off (CLI and HTTP)
nodes() { grep -c '"value": *"c.example.com"'; }
check_eq "max-ip-domains 1: the shared IP pruned" \
	"$("$IP" pivot --db "$WORK/pd" --max-ip-domains 1 a.example.com | nodes)" 0
check_eq "max-ip-domains 0: no limit" \
	"$("$IP" pivot --db "$WORK/pd" --max-ip-domains 0 a.example.com | nodes)" 1
PORT=$(free_port)
"$IP" serve --db "$WORK/pd" --listen "127.0.0.1:$PORT" --threads 2 2>>"$WORK/server.log" &
SRV_PID=$!
wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"
curl -s "http://127.0.0.1:$PORT/api/v1/pivot?seed=a.example.com&max_ip_domains=0" >"$WORK/pv"
check_grep "HTTP max_ip_domains=0: no limit" '"value": *"c.example.com"' "$WORK/pv"
kill "$SRV_PID"
wait "$SRV_PID"
SRV_PID=
finish
