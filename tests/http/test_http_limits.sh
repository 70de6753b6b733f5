#!/bin/bash
# Body limit (413 without reading the body), slow clients, header and URL
# limits, the connection limit and the cap on limit=.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/http_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
"$INFRAPIVOT" ingest -q --db "$DB" "$HERE/data.ndjson" >/dev/null 2>&1
B=$WORK/body
start_server --max-body 2K --timeout 3 --max-header 8K --max-limit 2 --max-connections 6 || exit 1

# 413 from Content-Length: refused before the body is read
head -c 3000000 /dev/zero | tr '\0' 'x' >"$WORK/big"
check_eq "413 by Content-Length" "$(status POST "$U/api/v1/observations" --data-binary @"$WORK/big")" 413
check_grep "413 json" '"code":"payload_too_large"' "$B"
curl -sv -o /dev/null --data-binary @"$WORK/big" "$U/api/v1/observations" 2>"$WORK/v.log"
check_eq "body not requested (no 100 Continue)" "$(grep -c '< HTTP/1.1 100' "$WORK/v.log")" 0
# 413 for a chunked body that grows past the limit: lines before it are committed
python3 - "$WORK/chunked" <<'PY'
import json,sys
with open(sys.argv[1],"w") as f:
    for i in range(40):
        f.write(json.dumps({"rrname":"c%d.chunked.example"%i,"rrtype":"A","rdata":"198.51.100.%d"%(i+1),
                            "time_first":1700000000,"time_last":1700000001})+"\n")
PY
check_eq "413 chunked" "$(status POST "$U/api/v1/observations" -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/chunked")" 413
A=$(jget "$B" "j['accepted']")
check "some lines before the limit accepted" [ "$A" -gt 5 ] && [ "$A" -lt 40 ]
check_eq "they are committed" "$(curl -s "$U/api/v1/lookup/domain/*.chunked.example?limit=0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')" 2
check_eq "under the limit is fine" "$(status POST "$U/api/v1/observations" --data-binary "$(head -3 "$WORK/chunked")")" 200

# limit= is capped by --max-limit
check_eq "limit capped" "$(status GET "$U/api/v1/lookup/domain/www.example.com?limit=1000")" 200
check_eq "capped count" "$(jget "$B" "(j['count'], j['limited'])")" "(2, True)"

# URL and header limits
LONG=$(head -c 5000 /dev/zero | tr '\0' 'a')
code=$(status GET "$U/api/v1/lookup/domain/$LONG")
case $code in 414 | 431) ok ;; *) bad "long URL: $code" ;; esac
code=$(status GET "$U/healthz" -H "X-Big: $(head -c 10000 /dev/zero | tr '\0' 'b')")
case $code in 413 | 431) ok ;; *) bad "big header: $code" ;; esac
check_eq "server fine after" "$(status GET "$U/healthz")" 200

# a slow client is dropped after --timeout and holds no worker meanwhile
python3 - "$PORT" >"$WORK/slow" 2>&1 <<'PY'
import socket, sys, time, urllib.request
port = int(sys.argv[1])
slow = socket.create_connection(("127.0.0.1", port))
slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")   # never finished
t0 = time.time()
# other clients are served meanwhile
for _ in range(5):
    urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=2).read()
served = time.time() - t0
print("others served in %.2fs" % served)
slow.settimeout(15)
try:
    data = slow.recv(100)
except Exception as e:
    data = b"error " + str(e).encode()
closed = time.time() - t0
print("slow closed after %.1fs: %r" % (closed, data))
# the property: the others did not wait for the slow one to be dropped
print("others before the slow one was dropped: %s" % (served < closed - 0.5))
PY
check_grep "others served while one is slow" "others before the slow one was dropped: True" "$WORK/slow"
check_grep "slow client closed after --timeout" "slow closed after ([3-8])\.[0-9]s: b''" "$WORK/slow"

# the connection limit: with --max-connections held by idle clients, a
# further client waits (libmicrohttpd stops accepting: back pressure,
# the kernel's backlog holds it) and is served once a slot frees
python3 - "$PORT" >"$WORK/conns" 2>&1 <<'PY'
import socket, sys, time, urllib.request
port = int(sys.argv[1])
url = "http://127.0.0.1:%d/healthz" % port
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
time.sleep(0.3)
try:
    urllib.request.urlopen(url, timeout=1).read()
    print("over the limit: served at once")
except Exception as e:
    print("over the limit: waited (%s)" % type(e).__name__)
for s in held:
    s.close()
time.sleep(0.3)
t0 = time.time()
urllib.request.urlopen(url, timeout=5).read()
print("after the slots freed: served in %.1fs" % (time.time() - t0))
PY
check_grep "a client over the connection limit waits" "over the limit: waited" "$WORK/conns"
check_grep "served once slots free" "after the slots freed: served in [0-2]\\." "$WORK/conns"
check_eq "serves again after" "$(status GET "$U/healthz")" 200
# SIGINT stops it as cleanly as SIGTERM
kill -INT "$SRV_PID"
wait "$SRV_PID"
check_eq "exit status after SIGINT" "$?" 0
SRV_PID=
check_grep "says it stopped" "stopped" "$WORK/server.log"
finish
