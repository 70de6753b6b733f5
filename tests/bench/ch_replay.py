#!/usr/bin/env python3
"""ch_replay.py - replay captured INSERT bodies over ClickHouse's HTTP
interface, one POST per INSERT as `infrapivot ingest` sent them, on one
keep-alive connection (scripts/bench-clickhouse.sh, the "http" kind: what
the HTTP interface costs for infrapivot's INSERTs, without infrapivot).

  ch_replay.py CREDENTIALS PORT DATABASE CAPDIR

CAPDIR is tests/bench/ch_capture.py's output: for each table of
CAPDIR/order, TABLE.bin (the bodies, one after another), TABLE.lens (the
length of each) and TABLE.sql (the statement, then the settings).  The
tables are replayed in the order of CAPDIR/order; a refused INSERT stops
with its message.
"""
import base64
import http.client
import os
import sys
import urllib.parse

CRED, PORT, DB, CAP = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
auth = "Basic " + base64.b64encode(open(CRED).readline().strip().encode()).decode()
conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=3600)
for table in open(os.path.join(CAP, "order")).read().split():
    sql, settings = open(os.path.join(CAP, table + ".sql")).read().split("\n")[:2]
    path = "/?database=%s&query=%s%s" % (DB, urllib.parse.quote(sql), "&" + settings if settings else "")
    with open(os.path.join(CAP, table + ".bin"), "rb") as f:
        for n in open(os.path.join(CAP, table + ".lens")).read().split():
            body = f.read(int(n))
            conn.request("POST", path, body=body, headers={"Authorization": auth})
            r = conn.getresponse()
            data = r.read()
            if r.status != 200:
                sys.exit("ch_replay: %s: HTTP %d: %s" % (table, r.status, data[:400]))
