#!/usr/bin/env python3
"""A stand-in for ClickHouse's HTTP interface on 127.0.0.1, for test_ch's
default-suite half (tests/store/test_ch_fake.sh): it answers as 18.16 does
(/ping, errors as "Code: N, e.displayText() = ..." with a non-200 status),
serves hand-made RowBinary rows, good and truncated, and records each INSERT
body in BODIES_DIR.  The first INSERT of a token fails with 503, to make the
client retry.  While BODIES_DIR/fail-after exists, holding N, N more
INSERTs succeed and every one after fails with 500 (a server that went
away mid-copy).
Prints its port on the first line of stdout.

  ch_fake_server.py USER:PASSWORD BODIES_DIR
"""
import base64
import http.server
import os
import struct
import sys
import urllib.parse

CRED, BODIES = sys.argv[1], sys.argv[2]
seen_tokens = set()
inserts = 0


def rb_str(s):
    b = s.encode()
    out = bytearray()
    n = len(b)
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if n == 0:
            break
    return bytes(out) + b


def row(name, rdata, sensors, count):
    addr = bytes(10) + b"\xff\xff" + bytes([192, 0, 2, 1])
    out = rb_str(name) + struct.pack("<H", 1) + rb_str(rdata) + addr
    out += struct.pack("<IIQ", 1000, 2000, count)
    out += bytes([len(sensors)]) + b"".join(rb_str(s) for s in sensors)
    return out + rb_str("example.net")


ROWS = {
    "'net.example.ok'": row("ok.example.net", "192.0.2.1", ["s2", "s1", "s3"], 7),
    "'net.example.two'": row("two.example.net", "192.0.2.1", ["a"], 1) * 2,
    "'net.example.truncated'": row("truncated.example.net", "192.0.2.1", ["s1"], 1)[:-5],
    "'net.example.absurd'": rb_str("absurd.example.net")[:1] + b"\xff" * 12,
}


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/ping":
            return self.reply(200, b"Ok.\n")
        return self.reply(404, b"Code: 0, not here\n")

    def authorised(self):
        want = "Basic " + base64.b64encode(CRED.encode()).decode()
        return self.headers.get("Authorization") == want

    def do_POST(self):
        global inserts
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("query", [""])[0]
        if not q:  # a statement without rows comes as the body
            q = body.decode(errors="replace")
        if not self.authorised():
            return self.reply(500, b"Code: 193, e.displayText() = DB::Exception: Wrong password for user default, e.what() = DB::Exception\n")
        if "no_such_table" in q:
            return self.reply(404, b"Code: 60, e.displayText() = DB::Exception: Table t.no_such_table doesn't exist., e.what() = DB::Exception\nsecond line\n")
        if q.startswith("SELECT big"):
            return self.reply(200, b"x" * 10000)
        if q.startswith("INSERT"):
            token = body[:8]
            inserts += 1
            with open(os.path.join(BODIES, "insert-%d" % inserts), "wb") as f:
                f.write(body)
            fail_after = os.path.join(BODIES, "fail-after")
            left = int(open(fail_after).read()) if os.path.exists(fail_after) else None
            if left is not None and left <= 0:
                return self.reply(500, b"Code: 999, e.displayText() = DB::Exception: Cannot allocate block number in ZooKeeper: Coordination::Exception: Connection loss\n")
            if token not in seen_tokens:
                seen_tokens.add(token)
                return self.reply(503, b"Code: 242, e.displayText() = DB::Exception: Table is in readonly mode\n")
            if left is not None:
                with open(fail_after, "w") as f:
                    f.write(str(left - 1))
            return self.reply(200, b"")
        for key, rows in ROWS.items():
            if key in q:
                return self.reply(200, rows)
        return self.reply(200, b"")


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
