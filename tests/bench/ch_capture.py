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
OUTDIR/selects.log (one a line).  OUTDIR/order lists
the tables in the order of their first INSERT.  Stops on SIGTERM.
"""
import http.client
import http.server
import os
import re
import signal
import sys
import threading
import urllib.parse

PORT, UPSTREAM, OUT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
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
        conn.request(self.command, self.path, body=body if n else None, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        self.reply(r.status, data, r.getheader("Content-Type") or "text/plain")

    do_GET = handle_any
    do_POST = handle_any


def main():
    os.makedirs(OUT, exist_ok=True)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever()


if __name__ == "__main__":
    main()
