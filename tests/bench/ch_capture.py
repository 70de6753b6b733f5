#!/usr/bin/env python3
"""ch_capture.py - a recording stand-in for ClickHouse's HTTP interface,
used by scripts/bench-clickhouse.sh to obtain the exact INSERT bodies
`infrapivot ingest --store clickhouse://...` sends, once, outside any
timing.

  ch_capture.py PORT UPSTREAM_PORT OUTDIR

Listens on 127.0.0.1:PORT.  A request whose query is an INSERT is not
forwarded: its body (RowBinary rows) is appended to OUTDIR/TABLE.bin and
its length (a line) to OUTDIR/TABLE.lens, so that the INSERTs can be
told apart again, its statement and settings to OUTDIR/TABLE.sql (first
one only), and it
answers 200 with an empty body, as ClickHouse does.  Every other request
(/ping, SELECTs) is forwarded to 127.0.0.1:UPSTREAM_PORT with its
headers (the credentials) and its answer relayed, its SQL appended to
OUTDIR/selects.log (one a line) and the monotonic times it was sent
upstream and answered to OUTDIR/times.log.  OUTDIR/order lists
the tables in the order of their first INSERT.  Stops on SIGTERM.

  ch_capture.py --rounds OUTDIR

prints the number of round trips in OUTDIR/times.log: requests in flight
together (each sent before the ones in flight were all answered) count
as one.
"""
import http.client
import http.server
import os
import re
import signal
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
SEEN = []


def record(query, settings, body):
    m = re.match(r"\s*INSERT\s+INTO\s+([A-Za-z0-9_.]+)", query, re.I)
    table = m.group(1) if m else "unknown"
    with LOCK:
        if table not in SEEN:
            SEEN.append(table)
            with open(os.path.join(OUT, table + ".sql"), "w") as f:
                f.write(query + "\n" + settings + "\n")
            with open(os.path.join(OUT, "order"), "a") as f:
                f.write(table + "\n")
        with open(os.path.join(OUT, table + ".bin"), "ab") as f:
            f.write(body)
        with open(os.path.join(OUT, table + ".lens"), "a") as f:
            f.write("%d\n" % len(body))


class Server(http.server.ThreadingHTTPServer):
    # the listen backlog: a pivot's read-ahead opens a dozen connections
    # at once, and the default 5 drops the rest's SYNs, which the client
    # sends again a second later (a gap in times.log that is not the
    # pivot's)
    request_queue_size = 128


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        u = urllib.parse.urlsplit(self.path)
        params = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
        query = dict(params).get("query", "")
        if query.lstrip().upper().startswith("INSERT"):
            settings = "&".join("%s=%s" % kv for kv in params if kv[0] not in ("query", "database"))
            record(query, settings, body)
            return self.reply(200, b"")
        with LOCK, open(os.path.join(OUT, "selects.log"), "a") as f:
            f.write((query or body.decode("utf-8", "replace")).replace("\n", " ") + "\n")
        conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=600)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
        t0 = time.monotonic()
        conn.request(self.command, self.path, body=body if n else None, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        t1 = time.monotonic()
        conn.close()
        with LOCK, open(os.path.join(OUT, "times.log"), "a") as f:
            f.write("%.6f %.6f\n" % (t0, t1))
        self.reply(r.status, data, r.getheader("Content-Type") or "text/plain")

    do_GET = handle_any
    do_POST = handle_any


def rounds(out):
    spans = sorted(tuple(map(float, l.split())) for l in open(os.path.join(out, "times.log")))
    n, end = 0, None
    for t0, t1 in spans:
        if end is None or t0 > end:
            n, end = n + 1, t1
        else:
            end = max(end, t1)
    return n


def main():
    global PORT, UPSTREAM, OUT
    if sys.argv[1] == "--rounds":
        print(rounds(sys.argv[2]))
        return
    PORT, UPSTREAM, OUT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(OUT, exist_ok=True)
    srv = Server(("127.0.0.1", PORT), Handler)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever()


if __name__ == "__main__":
    main()
