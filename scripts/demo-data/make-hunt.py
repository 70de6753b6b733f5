#!/usr/bin/env python3
"""A small, self-contained hunt for the demo, with times relative to now.

A beacon domain on a free-DNS zone resolves to an IP that serves a
self-signed certificate; five more IPs served the same certificate over the
last week and host more actor domains.  Around it: a shared-hosting IP with
many unrelated names, a CDN certificate on many IPs, and year-old sightings.
Writes observation lines (COF and certificate sightings) to stdout.
"""
import json
import sys
import time

now = int(time.time())
day = 86400
out = []


def dns(name, rtype, rdata, first, last, count=1, sensor="zeek-dmz"):
    out.append({"rrname": name, "rrtype": rtype, "rdata": rdata, "time_first": first,
                "time_last": last, "count": count, "sensor_id": sensor})


def cert(ip, sha1, first, last, sni=None, count=1, sensor="suricata-edge", port=443):
    o = {"ip": ip, "port": port, "cert_sha1": sha1, "time_first": first, "time_last": last,
         "count": count, "sensor_id": sensor}
    if sni:
        o["sni"] = sni
    out.append(o)


ACTOR_CERT = "3f1a5e8c9b2d4f6071829304a5b6c7d8e9f0a1b2"
CDN_CERT = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
# the seed: a beacon domain on a dynamic-DNS zone
dns("update-check.duckdns.org", "A", "185.243.112.17", now - 9 * day, now - 1 * day, 41)
cert("185.243.112.17", ACTOR_CERT, now - 9 * day, now - 1 * day, sni="update-check.duckdns.org", count=12)
# the same self-signed certificate on five more IPs over the last week
actor_ips = ["45.137.21.9", "91.215.85.142", "194.87.31.66", "2a0e:97c0:3e3:2f::12", "103.76.228.5"]
actor_domains = ["cdn-sync.ddns.net", "api-telemetry.hopto.org", "static-files.servehttp.com",
                 "login-portal.duckdns.org", "mail-relay.zapto.org"]
for k, ip in enumerate(actor_ips):
    cert(ip, ACTOR_CERT, now - (7 - k) * day, now - (k % 3) * day, count=3 + k)
    dns(actor_domains[k], "AAAA" if ":" in ip else "A", ip, now - (8 - k) * day, now - (k % 3) * day, 5 + k)
dns("www.cdn-sync.ddns.net", "CNAME", "cdn-sync.ddns.net", now - 5 * day, now - 2 * day, 3)
# noise: a shared-hosting IP with many names, one of them an actor domain
for k in range(150):
    dns("shop%03d.example-hosting.com" % k, "A", "198.51.100.80", now - 200 * day, now - 3 * day, 2)
dns("login-portal.duckdns.org", "A", "198.51.100.80", now - 4 * day, now - 2 * day, 2)
# noise: a CDN certificate on many IPs, also seen on an actor IP
for k in range(60):
    cert("203.0.113.%d" % (k + 1), CDN_CERT, now - 30 * day, now - 1 * day, count=100)
cert("45.137.21.9", CDN_CERT, now - 3 * day, now - 2 * day)
# stale: a year-old resolution of the beacon domain
dns("update-check.duckdns.org", "A", "192.0.2.200", now - 400 * day, now - 370 * day, 7)
for o in out:
    sys.stdout.write(json.dumps(o, separators=(",", ":")) + "\n")
