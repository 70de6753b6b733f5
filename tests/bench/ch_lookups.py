#!/usr/bin/env python3
"""ch_lookups.py - lookup latency over HTTP for scripts/bench-clickhouse.sh.

  ch_lookups.py N CREDENTIALS CH_PORT DB IP_PORT LMDB_PORT DOMAIN ADDR SQLDIR

For a domain and an address, N rounds, one client, keep-alive: each round
GETs /api/v1/lookup/{domain|ip}/X from `infrapivot serve --store
clickhouse://` (IP_PORT) and, when LMDB_PORT is not 0, from `serve --db`
on the LMDB copy; and posts to ClickHouse's HTTP port (CH_PORT, database
DB) the lookup's first SELECT ("direct": the resolutions, the same rows)
and all its SELECTs in sequence ("direct, all"), from SQLDIR/{domain,ip}/
selects.log (tests/bench/ch_capture.py).  Prints p50/p99 in ms of each
and the ratios infrapivot / direct.
"""
import base64
import http.client
import sys
import time
import urllib.parse

N = int(sys.argv[1])
USER, PW = open(sys.argv[2]).read().strip().split(":", 1)
CH, DB, IPP, LMP = int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
DOMAIN, ADDR, SQLDIR = sys.argv[7], sys.argv[8], sys.argv[9]
AUTH = {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (USER, PW)).encode()).decode()}


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


class Client:
    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(self, path, body=None, hdrs=None):
        self.c.request("POST" if body is not None else "GET", path, body=body, headers=hdrs or {})
        r = self.c.getresponse()
        data = r.read()
        if r.status != 200:
            raise SystemExit("HTTP %d from %s: %s" % (r.status, path, data[:300]))
        return data


def run(kind, value):
    # the open's "SELECT 1" (a ping) is not part of the lookup
    sqls = [l.strip() for l in open("%s/%s/selects.log" % (SQLDIR, kind))
            if l.strip() and l.strip() != "SELECT 1"]
    ip, ch = Client(IPP), Client(CH)
    lm = Client(LMP) if LMP else None
    path = "/api/v1/lookup/%s/%s" % (kind, urllib.parse.quote(value, safe=""))
    chpath = "/?database=" + DB
    t = {"infrapivot (clickhouse)": [], "direct": [], "direct, all": [], "infrapivot (lmdb)": []}
    rows = None
    for i in range(N + 10):  # the first 10: warm-up, not measured
        t0 = time.perf_counter()
        body = ip.get(path)
        t1 = time.perf_counter()
        ch.get(chpath, sqls[0].encode(), AUTH)
        t2 = time.perf_counter()
        for q in sqls:
            ch.get(chpath, q.encode(), AUTH)
        t3 = time.perf_counter()
        if lm:
            lbody = lm.get(path)
            t4 = time.perf_counter()
            if rows is None and lbody != body:
                print("  (warning: the LMDB answer differs from the ClickHouse one)")
        if rows is None:
            rows = body.count(b'"rrname"')
        if i < 10:
            continue
        t["infrapivot (clickhouse)"].append((t1 - t0) * 1000)
        t["direct"].append((t2 - t1) * 1000)
        t["direct, all"].append((t3 - t2) * 1000)
        if lm:
            t["infrapivot (lmdb)"].append((t4 - t3) * 1000)
    print("  %s %s: %d SELECTs a lookup (and a SELECT 1 when the store opens), %d results, %d bytes" % (kind, value, len(sqls), rows, len(body)))
    for k, v in t.items():
        if v:
            print("    %-24s p50 %7.2f ms  p99 %7.2f ms" % (k, pct(v, 0.5), pct(v, 0.99)))
    a, d, da = t["infrapivot (clickhouse)"], t["direct"], t["direct, all"]
    print("    infrapivot / direct: p50 %.2f p99 %.2f; infrapivot / direct, all: p50 %.2f p99 %.2f"
          % (pct(a, .5) / pct(d, .5), pct(a, .99) / pct(d, .99), pct(a, .5) / pct(da, .5), pct(a, .99) / pct(da, .99)))


run("domain", DOMAIN)
run("ip", ADDR)
