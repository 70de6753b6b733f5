#!/usr/bin/env python3
"""Loopback feed server for the pull tests.

Serves the NDJSON files of --root under paths that choose the behaviour:
  /open/NAME               no authentication
  /key/NAME                needs the header X-API-Key: --api-key (else 401)
  /basic/NAME              needs basic auth --basic USER:PASS (else 401)
  /flaky503/N/NAME         503 for the first N requests of this path, then NAME
  /flaky429/N/NAME         429 with Retry-After: 1 for the first N requests
  /short/NAME              announces a longer Content-Length and closes early
  /status/CODE             answers CODE with a short body
With ?time_last_after=T only records whose time_last (or obj.time_last,
or zone_time_last) is > T are served; {"cond":...} lines always are.
Every request is appended to ROOT/requests.log as "PATH?QUERY STATUS AUTH".
Binds 127.0.0.1 on port 0 and writes the port to --port-file.
"""
import argparse
import base64
import http.server
import json
import os
import ssl
import sys
import threading
import urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("--root", required=True)
ap.add_argument("--port-file", required=True)
ap.add_argument("--api-key", default="secret-key")
ap.add_argument("--basic", default="alice:wonderland")
ap.add_argument("--cert")
ap.add_argument("--key")
args = ap.parse_args()

counts = {}
lock = threading.Lock()


def record_time_last(line):
    try:
        o = json.loads(line)
    except ValueError:
        return None
    if not isinstance(o, dict):
        return None
    if "cond" in o:
        return None
    if isinstance(o.get("obj"), dict):
        o = o["obj"]
    for k in ("time_last", "zone_time_last"):
        if isinstance(o.get(k), int):
            return o[k]
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):
        pass

    def log_req(self, status):
        with open(os.path.join(args.root, "requests.log"), "a") as f:
            auth = "key" if self.headers.get("X-API-Key") else ""
            if self.headers.get("Authorization"):
                auth += "basic"
            f.write("%s %d %s\n" % (self.path, status, auth or "-"))

    def send_simple(self, code, body, extra=()):
        self.log_req(code)
        data = body.encode()
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        parts = u.path.strip("/").split("/")
        mode = parts[0]
        with lock:
            counts[u.path] = counts.get(u.path, 0) + 1
            n = counts[u.path]
        if mode == "status":
            return self.send_simple(int(parts[1]), "status %s for you\n" % parts[1])
        if mode == "key":
            if self.headers.get("X-API-Key") != args.api_key:
                return self.send_simple(401, "Error: invalid API key\n")
        elif mode == "basic":
            want = "Basic " + base64.b64encode(args.basic.encode()).decode()
            if self.headers.get("Authorization") != want:
                return self.send_simple(401, "Unauthorized\n",
                                        [("WWW-Authenticate", 'Basic realm="pdns"')])
        elif mode in ("flaky503", "flaky429"):
            fails = int(parts[1])
            parts = parts[1:]
            if n <= fails:
                if mode == "flaky503":
                    return self.send_simple(503, "try later\n")
                return self.send_simple(429, "slow down\n", [("Retry-After", "1")])
        elif mode not in ("open", "short"):
            return self.send_simple(404, "no such path\n")
        path = os.path.join(args.root, parts[-1])
        if not os.path.isfile(path):
            return self.send_simple(404, "no such feed\n")
        since = int(q["time_last_after"][0]) if "time_last_after" in q else None
        out = []
        with open(path, "rb") as f:
            for line in f:
                if since is not None:
                    t = record_time_last(line)
                    if t is not None and t <= since:
                        continue
                out.append(line)
        data = b"".join(out)
        self.log_req(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        if mode == "short":
            self.send_header("Content-Length", str(len(data) + 100))
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if args.cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
tmp = args.port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, args.port_file)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    pass
