#!/usr/bin/env python3
"""A stand-in for ClickHouse's HTTP interface on 127.0.0.1, for test_ch's
default-suite half (tests/store/test_ch_fake.sh): it answers as 18.16 does
(/ping, errors as "Code: N, e.displayText() = ..." with a non-200 status),
serves hand-made RowBinary rows, good and truncated, and records each INSERT
body in BODIES_DIR (insert-N, its statement in query-N).  The first INSERT of a token fails with 503, to make the
client retry.  While BODIES_DIR/fail-after exists, holding N, N more
INSERTs succeed and every one after fails with 500 (a server that went
away mid-copy).  While BODIES_DIR/selects exists, each SELECT (a WITH ...
SELECT too) is appended to it, one a line (to count a command's queries).  BODIES_DIR/stats-mode shapes the answer
to `stats` (H.stats).
Prints its port on the first line of stdout.

  ch_fake_server.py USER:PASSWORD BODIES_DIR [drop]

With "dedup", a replicated cluster's insert path for the three-step commit
(store/ch_intent.c): an INSERT whose statement and body were seen before is
dropped (block deduplication; answered 200), another is applied: its rr_in
rows' counts are added up by (name, type, rdata).  GET /totals answers them,
sorted, "NAME TYPE RDATA COUNT" a line; GET /stats "applied N deduplicated
M".  Faults, read from BODIES_DIR at each applied INSERT:
kill-after (N): after the N-th applied INSERT, the process whose pid is in
BODIES_DIR/pid is killed (SIGKILL) before the answer (the data is in, the
writer never learns it); fail-after (N): INSERTs after the N-th applied
one fail with 500, applied or not (new ones are applied: the answer was
lost), until the file is removed.

With "drop", an entry point that dies mid-request (the client's failover,
store/ch.c): each request is recorded in BODIES_DIR/req-N (its query, a
newline, its body), then an INSERT or /ping gets no answer at all (the
connection closes) and a SELECT gets the status and half of a body.
"""
import base64
import hashlib
import http.server
import os
import re
import signal
import struct
import sys
import threading
import urllib.parse

CRED, BODIES = sys.argv[1], sys.argv[2]
seen_tokens = set()
inserts = 0


def rb_str(s):
    b = s if isinstance(s, bytes) else s.encode()
    return varint(len(b)) + b


def row(name, rdata, sensors, count):
    addr = bytes(10) + b"\xff\xff" + bytes([192, 0, 2, 1])
    out = rb_str(name) + struct.pack("<H", 1) + rb_str(rdata) + addr
    out += struct.pack("<IIQ", 1000, 2000, count)
    out += bytes([len(sensors)]) + b"".join(rb_str(s) for s in sensors)
    return out + rb_str("example.net")


def arr(strs):
    return varint(len(strs)) + b"".join(rb_str(x) for x in strs)


def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if n == 0:
            return bytes(out)


V4 = bytes(10) + b"\xff\xff"
REF_AA = b"\x01" + b"\xaa" * 20 + bytes(12)
REF_71 = b"\x01" + b"\x71" * 20 + bytes(12)
REF_A9 = b"\x01" + b"\xa9" * 20 + bytes(12)
S256_A9 = b"\x02" + b"\xa2" * 32
REF_72 = b"\x01" + b"\x72" * 20 + bytes(12)
REF_73 = b"\x01" + b"\x73" * 20 + bytes(12)
# certificates seen with SNI names (the pivot's SNI dating, issue 17)
REF_SNI = {o: b"\x01" + bytes([o]) * 20 + bytes(12) for o in range(0x61, 0x68)}


def sight(ref, last_octet, port, sensors, snis):
    out = ref + V4 + bytes([192, 0, 2, last_octet]) + struct.pack("<H", port)
    return out + struct.pack("<IIQ", 1000, 2000, 5) + arr(sensors) + arr(snis)


def sni_names(name, octets):
    """A batched name_cert answer: name seen as SNI with these certificates."""
    return b"".join(rb_str(name) + REF_SNI[o] + b"\x02" for o in octets)


def sni_counts(pairs):
    """A batched prev_cert_ips answer: (octet, count), in key order."""
    return b"".join(REF_SNI[o] + struct.pack("<Q", n) for o, n in pairs)


def cert(sha1, subject, sans, der, ver):
    out = rb_str(sha1) + rb_str("") + rb_str(subject) + rb_str("CN=Issuer") + rb_str("0a")
    return out + struct.pack("<qq", 100, 200) + arr(sans) + arr([]) + rb_str(der) + bytes([ver])


def addr_row(last_octet, name):
    return V4 + bytes([192, 0, 2, last_octet]) + row(name, "192.0.2.%d" % last_octet, ["s"], 1)


# client sightings (store/ch_client.c): a pair's state (CLIVAL: format 1,
# first, last, hours, count, repeats, out of order, three empty
# histograms) and the row of the client table's SELECT list
def clival(first, last, count):
    return b"\x01" + struct.pack("<II", first, last) + b"\x01\x00\x00" + bytes([count, 0, 0]) + bytes(3)


def client_row(dest, client, sensor, src, state, ver, dtype=1):
    return bytes([dtype]) + rb_str(dest) + client + rb_str(sensor) + bytes([src]) + rb_str(state) + struct.pack("<Q", ver)


CLIENT_218 = V4 + bytes([141, 142, 220, 118])
# retention (store/ch_client_cut.c): the cutoff row (dtype 0, its ver the
# cutoff with the sign bit flipped) and a pair's ver stamped with it
CUT = 1300400000


def cut_row(cut):
    return client_row("", bytes(16), "", 0, b"", cut ^ (1 << 63), dtype=0)


def retention(q):
    """The retention run's three queries, answered from
    BODIES_DIR/client-retain ("NEWEST LASTCUT DROPPED", LASTCUT "-" for
    none; "error": the first query fails); None for any other query."""
    path = os.path.join(BODIES, "client-retain")
    if not os.path.exists(path):
        return None
    mode = open(path).read().split()
    keys = ["SELECT toUInt64(max(last_seen)) FROM client", "SELECT max(ver) FROM client WHERE dtype = 0",
            "SELECT count() FROM (SELECT argMax(last_seen, ver)"]
    for i, key in enumerate(keys):
        if key not in q:
            continue
        if mode[0] == "error":
            return 500, b"Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 5.0 seconds, e.what() = DB::Exception\n"
        v = mode[i]
        return 200, struct.pack("<Q", 0 if v == "-" else int(v) ^ (1 << 63) if i == 1 else int(v))
    return None

# the alias check of a read by certificate (store/ch_batch.c, certs_aliased)
# and the chunks whose SHA-256 references it finds rows under: the SNI
# dating's sightings of 0x61 and 0x62, read again with their aliases
ALIAS_CHECK = "cert IN (SELECT toFixedString(concat(unhex('02'), sha256), 33) FROM t.cert WHERE length(sha256) = 32 AND cert IN ("
ALIASED = ["SELECT 1 FROM sight PREWHERE " + ALIAS_CHECK + "toFixedString(unhex('0161"]

# certificates, targets, prevalence, batches (store/ch_cert*.c, ch_target.c,
# ch_batch.c); keys are parts of the queries those functions send
MORE = {
    "FROM sight WHERE cert = toFixedString(unhex('01AAAA": sight(REF_AA, 1, 443, ["s2", "", "s1"], ["com.example.www"]) + sight(REF_AA, 2, 8443, [], []),
    "FROM sight WHERE cert = toFixedString(unhex('01ABAB": sight(REF_AA, 1, 443, ["s1"], [])[:-3],
    "FROM sight WHERE cert = toFixedString(unhex('01ACAC": sight(b"\x09" + REF_AA[1:], 1, 443, [], []),
    "FROM prev_cert_ips WHERE cert = toFixedString(unhex('01AAAA": struct.pack("<Q", 42),
    "FROM prev_cert_ips WHERE cert = toFixedString(unhex('01ABAB": b"\x01\x02\x03",
    "FROM cert WHERE cert = toFixedString(unhex('01BBBB": cert(b"\xbb" * 20, "CN=www.example.com", ["www.example.com", "example.com"], b"\x30\x03\x02\x01\x00", 2),
    "FROM cert WHERE cert = toFixedString(unhex('01DDDD": cert(b"\xdd" * 5, "CN=x", [], "", 1),
    "FROM cert WHERE cert = toFixedString(unhex('01EEEE": cert(b"\xee" * 20, "CN=x", [], "", 1) + b"\x00",
    "FROM name_cert WHERE rname = 'com.example.ok'": REF_AA + b"\x01" + REF_AA + b"\x02",
    "FROM name_cert WHERE rname = 'com.example.bad'": b"\x05" + REF_AA[1:] + b"\x01",
    "FROM rr_target WHERE target = 'net.example.ok'": row("www.example.org", "ok.example.net", ["t"], 3),
    "FROM rr_target WHERE target = 'net.example.big'": b"x" * 10000,
    "FROM rr_target WHERE length(target) > 11 AND substring(target, length(target) - 10) = '.example.ok'": row("www.example.org", "ok.example.com", ["t"], 4),
    "FROM cert WHERE cert = toFixedString(unhex('02CDCD": REF_AA,
    # the SNI dating of a domain's certificates (pivot/prefetch.c): the
    # certificates sni.example.org was seen with as SNI, 61 and 62 dated by
    # one batched sightings query, 63 over max_cert_ips read alone; the
    # batched sightings failing on the server (64) or not decoding (65);
    # the batched count failing (66) or not decoding (67)
    "FROM name_cert PREWHERE rname IN ('org.example.sni')": sni_names("org.example.sni", [0x61, 0x62, 0x63]),
    "FROM name_cert PREWHERE rname IN ('org.example.snifail')": sni_names("org.example.snifail", [0x64]),
    "FROM name_cert PREWHERE rname IN ('org.example.snibad')": sni_names("org.example.snibad", [0x65]),
    "FROM name_cert PREWHERE rname IN ('org.example.snicount')": sni_names("org.example.snicount", [0x66]),
    "FROM name_cert PREWHERE rname IN ('org.example.snicut')": sni_names("org.example.snicut", [0x67]),
    "FROM prev_cert_ips PREWHERE cert IN (toFixedString(unhex('0161": sni_counts([(0x61, 1), (0x62, 2), (0x63, 100000)]),
    "FROM prev_cert_ips PREWHERE cert IN (toFixedString(unhex('0164": sni_counts([(0x64, 1)]),
    "FROM prev_cert_ips PREWHERE cert IN (toFixedString(unhex('0165": sni_counts([(0x65, 1)]),
    "FROM prev_cert_ips PREWHERE cert IN (toFixedString(unhex('0167": sni_counts([(0x67, 1)])[:-3],
    "FROM sight WHERE cert = toFixedString(unhex('016363": sight(REF_SNI[0x63], 3, 443, [], ["org.example.sni"]),
    "FROM name_cert PREWHERE rname IN (": rb_str("com.example.ok") + REF_AA + b"\x01" + rb_str("com.example.ok") + REF_AA + b"\x02",
    "FROM prev_ip_names PREWHERE addr IN (": V4 + bytes([192, 0, 2, 1]) + struct.pack("<Q", 42),
    # (192.0.2.7's and .8's certificates, below: not counted)
    "FROM prev_cert_ips PREWHERE cert IN (toFixedString(unhex('0171": b"",
    "FROM prev_cert_ips PREWHERE cert IN (toFixedString(unhex('0173": b"",
    "FROM prev_cert_ips PREWHERE cert IN (": REF_AA + b"\x01\x02",
    # the writer's SELECT of a batch's pairs (tests/e2e/test_ch_cli.sh)
    "FROM client WHERE dest IN ('com.example.clientold')": client_row("com.example.clientold", CLIENT_218, "", 1, clival(1300000000, 1300000100, 5), 1),
    "FROM client WHERE dest IN ('com.example.clientbad')": client_row("com.example.clientbad", CLIENT_218, "", 1, b"", 1)[:-4],
    # a pair retention dropped (its row older than the cutoff and written
    # before it): the writer starts it afresh past its version
    "FROM client WHERE dest IN ('com.example.clientgone')": client_row("com.example.clientgone", CLIENT_218, "", 1, clival(1300000000, 1300000100, 5), 3) + cut_row(CUT),
    # lookup --clients under a cutoff: a pair it dropped (skipped), one as
    # old but written after it (kept until the next run), a recent one
    "FROM client WHERE dtype = 1 AND dest = 'com.example.clientsdrop'": cut_row(CUT) + client_row("com.example.clientsdrop", CLIENT_218, "s1", 1, clival(1300000000, 1300000100, 3), 1) + client_row("com.example.clientsdrop", V4 + bytes([10, 0, 0, 2]), "s1", 1, clival(1300000000, 1300000100, 4), (CUT << 32) + 1) + client_row("com.example.clientsdrop", V4 + bytes([10, 0, 0, 3]), "s1", 1, clival(1300000000, 1300450000, 5), 2),
    # lookup --clients: two pairs; one whose state does not decode (skipped,
    # as the LMDB store skips it); a row cut short
    "FROM client WHERE dtype = 1 AND dest = 'com.example.clients'": client_row("com.example.clients", CLIENT_218, "s1", 1, clival(1300000000, 1300003600, 3), 2) + client_row("com.example.clients", V4 + bytes([10, 0, 0, 1]), "s1", 1, b"\x02", 1),
    "FROM client WHERE dtype = 1 AND dest = 'com.example.clientcut'": client_row("com.example.clientcut", CLIENT_218, "s1", 1, clival(1, 2, 3), 2)[:-3],
    # fingerprints (store/ch_fp.c): a JARM seen on 192.0.2.1:443; a JA3S
    # whose row is cut short
    "FROM fp WHERE fptype = 1 AND hash = '07d14d16d21d21d07c42d41d00041d24a458a375eef0c576d23a7bab9a9fb1'": b"\x01" + rb_str("07d14d16d21d21d07c42d41d00041d24a458a375eef0c576d23a7bab9a9fb1") + V4 + bytes([192, 0, 2, 1]) + struct.pack("<HIIQ", 443, 1000, 2000, 4),
    "FROM fp WHERE fptype = 2 AND hash = 'ffffffffffffffffffffffffffffffff'": b"\x02" + rb_str("f" * 32) + V4[:5],
    "C0000209": addr_row(2, "b.example.net") + addr_row(1, "a.example.net"),
    # the pivot's batched counts (tests/e2e/test_ch_cli.sh): a.example.net
    # on 7 IPs, told only by the batched query; 192.0.2.5's one name,
    # whose batched count fails (ERRORS)
    "FROM prev_name_ips PREWHERE rname IN ('net.example.a'": rb_str("net.example.a") + struct.pack("<Q", 7),
    "FROM rr_addr PREWHERE addr IN (toFixedString(unhex('00000000000000000000FFFFC0000205'": addr_row(5, "prevfail.example.net"),
    # the new certificates' metadata, one batched query (issue 17): 192.0.2.7
    # was served the certificates 71.. and 72.., which the batched query
    # describes; 192.0.2.8 the certificate 73.., whose batched query fails
    # (ERRORS)
    "FROM rr_addr PREWHERE addr IN (toFixedString(unhex('00000000000000000000FFFFC0000207'": b"",
    "FROM rr_addr PREWHERE addr IN (toFixedString(unhex('00000000000000000000FFFFC0000208'": b"",
    "FROM sight_addr PREWHERE ip IN (toFixedString(unhex('00000000000000000000FFFFC0000207'": V4 + bytes([192, 0, 2, 7]) + sight(REF_71, 7, 443, ["s1"], []) + V4 + bytes([192, 0, 2, 7]) + sight(REF_72, 7, 443, ["s1"], []),
    "FROM sight_addr PREWHERE ip IN (toFixedString(unhex('00000000000000000000FFFFC0000208'": V4 + bytes([192, 0, 2, 8]) + sight(REF_73, 8, 443, ["s1"], []),
    "FROM cert PREWHERE cert IN (toFixedString(unhex('01717171": REF_71 + cert(b"\x71" * 20, "CN=one.example.org", ["one.example.org"], "", 2) + REF_72 + cert(b"\x72" * 20, "CN=two.example.org", ["two.example.org", "www.two.example.org"], "", 2),
    "FROM rr_addr PREWHERE addr IN (": addr_row(1, "a.example.net") + addr_row(1, "c.example.net") + addr_row(2, "b.example.net"),
}
# the CLI's certificate lookups (tests/e2e/test_ch_cli.sh): a certificate
# resolved, its metadata, key, sightings and address count; one whose
# metadata does not decode (EE), one whose sightings fail on the server (CC);
# certificates by key and by subject; an address's certificates.  Checked
# before MORE: a resolution's query contains MORE's metadata keys.
REF_BB = b"\x01" + b"\xbb" * 20 + bytes(12)
KEY_AB = "ab" * 32
CLI = {
    "SELECT cert FROM cert WHERE cert = toFixedString(unhex('01BBBB": REF_BB,
    "SELECT cert FROM cert WHERE cert = toFixedString(unhex('01EEEE": b"\x01" + b"\xee" * 20 + bytes(12),
    "SELECT cert FROM cert WHERE cert = toFixedString(unhex('019999": b"\x01" + b"\x99" * 20 + bytes(12),
    "FROM cert WHERE cert = toFixedString(unhex('019999": cert(b"\x99" * 20, "CN=n.example.com", [], "", 1),
    "FROM sight WHERE cert = toFixedString(unhex('01BBBB": sight(REF_BB, 1, 443, ["s1"], ["com.example.www"]),
    "FROM cert_key WHERE cert = toFixedString(unhex('01BBBB": rb_str(KEY_AB),
    "FROM prev_cert_ips WHERE cert = toFixedString(unhex('01BBBB": struct.pack("<Q", 1),
    "FROM cert_key WHERE cert = toFixedString(unhex('01EEEE": rb_str("ab" * 31 + "zz"),
    "FROM cert_key WHERE cert = toFixedString(unhex('01DDDD": rb_str(KEY_AB) * 2,
    "FROM cert_attr WHERE attr = 1 AND value = '%s'" % KEY_AB: REF_BB,
    "FROM cert_attr WHERE attr = 2 AND value = 'CN=www.example.com,O=example'": REF_BB,
    "FROM cert_attr WHERE attr = 3 AND value >= 'A|' AND value < 'A}' GROUP BY value, ref ORDER BY value, ref": REF_BB,
    "FROM sight_addr WHERE ip >= toFixedString(unhex('00000000000000000000FFFFC0000201'": sight(REF_BB, 1, 443, ["s1"], ["com.example.www"]),
    "FROM sight_addr WHERE ip >= toFixedString(unhex('00000000000000000000FFFFC0000243'": sight(REF_BB, 67, 443, [], [])[:-2],
}
# a window's recount (pivot/graph.c, recount_new): a resolution row with
# its own type and times (no sensor, no bailiwick); keyed by a name (trow)
def wrow(name, rtype, rdata, tf, tl):
    out = rb_str(name) + struct.pack("<H", rtype) + rb_str(rdata)
    return out + V4 + bytes([192, 0, 2, 11]) + struct.pack("<IIQ", tf, tl, 1) + bytes([0]) + rb_str("")


def trow(k, name, rtype, rdata, tf, tl):
    return rb_str(k) + wrow(name, rtype, rdata, tf, tl)


W_IN, W_OLD = (1699000000, 1699900000), (1500000000, 1500001000)
# checked before ERRORS (whose batched sightings key is every other one's)
FIRST = {
    # 192.0.2.11's names w1 and w2, over --max-domain-ips 2 all time (7
    # and 9 addresses), counted again within the window by one batched
    # query: w1 has one A row there (an old A row and two CNAMEs do not
    # count), w2 three; 192.0.2.12's wf, over its limit, whose recount
    # fails (ERRORS)
    "FROM rr_addr PREWHERE addr IN (toFixedString(unhex('00000000000000000000FFFFC000020B'": V4 + bytes([192, 0, 2, 11]) + wrow("w1.example.net", 1, "192.0.2.11", *W_IN) + V4 + bytes([192, 0, 2, 11]) + wrow("w2.example.net", 1, "192.0.2.11", *W_IN),
    "FROM rr_addr PREWHERE addr IN (toFixedString(unhex('00000000000000000000FFFFC000020C'": V4 + bytes([192, 0, 2, 12]) + wrow("wf.example.net", 1, "192.0.2.12", *W_IN),
    "FROM prev_name_ips PREWHERE rname IN ('net.example.w1', 'net.example.w2')": rb_str("net.example.w1") + struct.pack("<Q", 7) + rb_str("net.example.w2") + struct.pack("<Q", 9),
    "FROM prev_name_ips PREWHERE rname IN ('net.example.wf')": rb_str("net.example.wf") + struct.pack("<Q", 9),
    "FROM rr PREWHERE rname IN ('net.example.w1', 'net.example.w2')": trow("net.example.w1", "w1.example.net", 1, "192.0.2.11", *W_IN) + trow("net.example.w1", "w1.example.net", 1, "192.0.2.99", *W_OLD) + trow("net.example.w1", "w1.example.net", 5, "a.example.org", *W_IN) + trow("net.example.w1", "w1.example.net", 5, "b.example.org", *W_IN) + b"".join(trow("net.example.w2", "w2.example.net", 1, "192.0.2.%d" % o, *W_IN) for o in (11, 21, 31)),
    # a listing read plain whose answer names a certificate by a SHA-256
    # reference is read again with its aliases (store/ch_batch.c): 192.0.2.10
    # was served the SHA-256 reference S256_A9, which cert_alias maps to
    # REF_A9 (the aliased form's answer), seen on one address
    "alias IN (SELECT cert FROM t.sight_addr PREWHERE ip IN (toFixedString(unhex('00000000000000000000FFFFC000020A'": V4 + bytes([192, 0, 2, 10]) + sight(REF_A9, 10, 443, ["s1"], []),
    "FROM prev_cert_ips PREWHERE cert IN (toFixedString(unhex('01A9A9": REF_A9 + struct.pack("<Q", 1),
    "SELECT ip AS k, cert AS ref, ip, port, minMerge(tf), maxMerge(tl), sumMerge(cnt), arrayFilter(x -> x != '', groupUniqArrayMerge(sensors)), arrayFilter(x -> x != '', groupUniqArrayMerge(snis)) FROM sight_addr PREWHERE ip IN (toFixedString(unhex('00000000000000000000FFFFC000020A'": V4 + bytes([192, 0, 2, 10]) + sight(S256_A9, 10, 443, ["s1"], []),
    "FROM sight PREWHERE cert IN (toFixedString(unhex('0161": REF_SNI[0x61] + sight(REF_SNI[0x61], 1, 443, [], ["org.example.sni"]) + REF_SNI[0x62] + sight(REF_SNI[0x62], 2, 8443, ["s1"], ["com.example.other", "org.example.sni"]),
    # certificate BB as a seed: its count and metadata, read batched with
    # the seed's edges (pivot_measure_new); its sightings fail (ERRORS)
    "FROM prev_cert_ips PREWHERE cert IN (toFixedString(unhex('01BBBB": REF_BB + struct.pack("<Q", 1),
    "FROM cert PREWHERE cert IN (toFixedString(unhex('01BBBB": REF_BB + cert(b"\xbb" * 20, "CN=www.example.com", ["www.example.com", "example.com"], b"\x30\x03\x02\x01\x00", 2),
    # 192.0.2.7's two certificates a level deeper: no other sightings
    "FROM sight PREWHERE cert IN (toFixedString(unhex('0171": b"",
    "FROM sight PREWHERE cert IN (toFixedString(unhex('0165": REF_SNI[0x65] + sight(REF_SNI[0x65], 5, 443, [], ["org.example.snibad"])[:-4],
}
ERRORS = {
    "FROM rr PREWHERE rname IN ('net.example.wf')": b"Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded, e.what() = DB::Exception\n",
    "FROM sight PREWHERE cert IN (toFixedString(unhex('0164": b"Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded, e.what() = DB::Exception\n",
    "FROM prev_cert_ips PREWHERE cert IN (toFixedString(unhex('0166": b"Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 5.0 seconds, e.what() = DB::Exception\n",
    "FROM sight WHERE cert = toFixedString(unhex('019999": b"Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded, e.what() = DB::Exception\n",
    "FROM sight_addr WHERE ip >= toFixedString(unhex('00000000000000000000FFFFC0000242'": b"Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 5.0 seconds, e.what() = DB::Exception\n",
    "FROM name_cert WHERE rname = 'com.example.err'": b"Code: 47, e.displayText() = DB::Exception: Unknown identifier: rname, e.what() = DB::Exception\n",
    "FROM prev_name_ips PREWHERE rname IN ('net.example.prevfail'": b"Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 5.0 seconds, e.what() = DB::Exception\n",
    "FROM client WHERE dest IN ('com.example.clientfail')": b"Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded, e.what() = DB::Exception\n",
    "FROM client WHERE dtype = 1 AND dest = 'com.example.clienterr'": b"Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 5.0 seconds, e.what() = DB::Exception\n",
    "FROM fp WHERE fptype = 2 AND hash = 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee'": b"Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 5.0 seconds, e.what() = DB::Exception\n",
    "FROM fp_addr WHERE ip >= toFixedString(unhex('00000000000000000000FFFFC0000244'": b"Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded, e.what() = DB::Exception\n",
    "FROM cert PREWHERE cert IN (toFixedString(unhex('01737373": b"Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 5.0 seconds, e.what() = DB::Exception\n",
    "FROM sight PREWHERE cert IN (": b"Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded, e.what() = DB::Exception\n",
}

# the watch sweep (store/ch_sweep.c; tests/e2e/test_ch_sweep.sh): rows of
# sweep_rr by the watched name the query asks for.  evil.example.com: its
# A row twice (a retry that landed in two seconds: same batch, same row)
# and a CNAME to it; cut.example.com: a row cut short; fail.example.com:
# the server fails.  Rows are answered within the query's window (ins >=
# toDateTime(N)).  The clock: BODIES/clock (default 1700000000), or an
# error while BODIES/clock-fail exists.
def sweep_row(ins, blk, name, rtype, rdata, addr, sensor):
    out = struct.pack("<IQ", ins, blk) + rb_str(name) + struct.pack("<H", rtype) + rb_str(rdata)
    return out + addr + struct.pack("<IIQ", 1700000000, 1700003600, 2) + rb_str(sensor)


SWEEP_A = sweep_row(1699999990, 7, "evil.example.com", 1, "203.0.113.5", V4 + bytes([203, 0, 113, 5]), "s1")
SWEEP = {
    "'late.example.com'": (200, [sweep_row(1699999992, 10, "late.example.com", 1, "203.0.113.77", V4 + bytes([203, 0, 113, 77]), "s1")]),
    "'fail.example.com'": (500, b"Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 5.0 seconds, e.what() = DB::Exception\n"),
    "'cut.example.com'": (200, SWEEP_A[:-3]),
    "'evil.example.com'": (200, [SWEEP_A, struct.pack("<I", 1699999995) + SWEEP_A[4:],
                                 sweep_row(1699999991, 8, "www.evil.example.com", 5, "evil.example.com", bytes(16), "s1")]),
}


# the certificate log (sweep_cert), by the watched address or certificate
# the query names: 198.51.100.20 saw certificate BB (SNI www.example.com,
# key AB.., SAN www.example.com and example.com) twice (a retry in two
# seconds); certificate BB's metadata row with its key came later; the
# others fail: the server's error, a row cut short, unknown flags, a
# reference of no kind, a SHA-256 of 5 bytes, SAN names past 2048 bytes.
def cert_row(ins, ip_octet, flags=7, ref=None, sha256=b"", san=b"www.example.com\0example.com", port=443, sni="www.example.com"):
    ip = V4 + bytes([198, 51, 100, ip_octet]) if ip_octet else bytes(16)
    out = struct.pack("<IQI", ins, 9, 0) + (ref or REF_BB_SWEEP) + rb_str(sha256) + bytes([flags]) + ip
    out += struct.pack("<H", port) + rb_str(sni) + bytes.fromhex("ab" * 32) + rb_str(san)
    return out + struct.pack("<IIQ", 1700000000, 1700003600, 2) + rb_str("s1")


REF_BB_SWEEP = b"\x01" + b"\xbb" * 20 + bytes(12)
CERT_ROW = cert_row(1699999990, 20)
SWEEP_CERT = {
    "FFFFC6336414'": (200, [CERT_ROW, struct.pack("<I", 1699999995) + CERT_ROW[4:]]),
    "FFFFC6336415'": (500, b"Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 5.0 seconds, e.what() = DB::Exception\n"),
    "FFFFC6336416'": (200, CERT_ROW[:-3]),
    "FFFFC6336417'": (200, cert_row(1699999990, 23, flags=9)),
    "FFFFC6336418'": (200, cert_row(1699999990, 24, ref=b"\x09" + REF_BB_SWEEP[1:])),
    "FFFFC6336419'": (200, cert_row(1699999990, 25, sha256=b"\x01" * 5)),
    "FFFFC633641A'": (200, cert_row(1699999990, 26, san=b"a" * 2049)),
    "01BBBBBBBB": (200, [cert_row(1700000050, 0, flags=6, port=0, sni="")]),
}


def window(rows, q):
    """The rows of a list inside the query's window: ins >= since (and <
    until when the query has an end)."""
    since = int(q.split("ins >= toDateTime(")[1].split(")")[0])
    until = int(q.split("ins < toDateTime(")[1].split(")")[0]) if "ins < toDateTime(" in q else 1 << 32
    return b"".join(r for r in rows if since <= struct.unpack("<I", r[:4])[0] < until)


def sweep_answer(q):
    if "toUInt32(now())" in q:
        if os.path.exists(os.path.join(BODIES, "clock-fail")):
            return 500, b"Code: 999, e.displayText() = DB::Exception: Connection loss\n"
        clock = os.path.join(BODIES, "clock")
        return 200, struct.pack("<Q", int(open(clock).read()) if os.path.exists(clock) else 1700000000)
    out = b""
    for key, (status, rows) in (SWEEP_CERT if "FROM sweep_cert" in q else SWEEP).items():
        if key in q and status != 200:
            return status, rows
        if key in q:  # a list: the rows inside the window
            out += window(rows, q) if isinstance(rows, list) else rows
    return 200, out


ROWS = {
    "'net.example.ok'": row("ok.example.net", "192.0.2.1", ["s2", "s1", "s3"], 7),
    "'net.example.two'": row("two.example.net", "192.0.2.1", ["a"], 1) * 2,
    "'net.example.truncated'": row("truncated.example.net", "192.0.2.1", ["s1"], 1)[:-5],
    "'net.example.absurd'": rb_str("absurd.example.net")[:1] + b"\xff" * 12,
    # a right-hand wildcard (store/ch_rr.c): names beginning with "update."
    "substring(rrname, 1, 7) = 'update.'": row("update.example.net", "192.0.2.1", ["s1"], 2),
}


rendezvous = {}  # pattern -> arrived
rendezvous_cv = threading.Condition()



# A condition's FixedString value comes as an escaped String literal
# ('\x01\xBB...': store/ch_rr.c, ch_sql_fixed); the tables above and the
# tests' checks of the SQL spell it toFixedString(unhex('01BB...'), n), as
# a SELECT's column still is, so each is read back in that spelling first
# (the literal as sent: BODIES/selects-raw).
FIXED_LIT = re.compile(r"'((?:\\x[0-9A-F]{2})+)'")


def fixed_spelled(q):
    def one(m):
        h = m.group(1).replace("\\x", "")
        return "toFixedString(unhex('%s'), %d)" % (h, len(h) // 2)
    return FIXED_LIT.sub(one, q)


class concurrent:
    """A SELECT.  While BODIES_DIR/together holds patterns (one a line), a
    SELECT containing one of them waits (10 s at most) until a SELECT
    containing each of the others has arrived, then appends "together" (it
    was answered with all of them in flight) or "alone" to
    BODIES_DIR/together-log; the file is removed once all have arrived.
    Reads sent one after another log "alone" then "together"; sent at once
    (the read-ahead: store/ch.c), "together" twice."""

    def __init__(self, q):
        self.q = q

    def __enter__(self):
        path = os.path.join(BODIES, "together")
        with rendezvous_cv:
            if os.path.exists(path) and not rendezvous:
                for line in open(path).read().splitlines():
                    if line:
                        rendezvous[line] = False
            mine = [p for p in rendezvous if p in self.q]
            if not mine:
                return
            for p in mine:
                rendezvous[p] = True
            rendezvous_cv.notify_all()
            met = rendezvous_cv.wait_for(lambda: all(rendezvous.values()), timeout=10)
            with open(os.path.join(BODIES, "together-log"), "a") as f:
                f.write("together\n" if met else "alone\n")
            if met and os.path.exists(path):
                os.unlink(path)

    def __exit__(self, *a):
        with rendezvous_cv:
            if rendezvous and all(rendezvous.values()) and not os.path.exists(
                    os.path.join(BODIES, "together")):
                rendezvous.clear()


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
        raw = os.path.join(BODIES, "selects-raw")
        if q.startswith(("SELECT", "WITH")) and os.path.exists(raw):
            with open(raw, "a") as f:  # as sent, one a line
                f.write(q.replace("\n", " ") + "\n")
        q = fixed_spelled(q)
        selects = os.path.join(BODIES, "selects")
        if q.startswith(("SELECT", "WITH")) and os.path.exists(selects):
            with open(selects, "a") as f:  # the queries, one a line
                f.write(q.replace("\n", " ") + "\n")
        if q.startswith(("SELECT", "WITH")):
            with concurrent(q):
                return self.answer(q, body)
        return self.answer(q, body)

    def answer(self, q, body):
        global inserts
        if "no_such_table" in q:
            return self.reply(404, b"Code: 60, e.displayText() = DB::Exception: Table t.no_such_table doesn't exist., e.what() = DB::Exception\nsecond line\n")
        if q.startswith("SELECT big"):
            return self.reply(200, b"x" * 10000)
        if q.startswith("INSERT"):
            token = body[:8]
            inserts += 1
            with open(os.path.join(BODIES, "insert-%d" % inserts), "wb") as f:
                f.write(body)
            with open(os.path.join(BODIES, "query-%d" % inserts), "w") as f:
                f.write(q + "\n")
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
        if "toUInt32(now())" in q or "FROM sweep_rr" in q or "FROM sweep_cert" in q:
            return self.reply(*sweep_answer(q))
        if q.startswith("ALTER"):  # with the request's settings
            params = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            with open(os.path.join(BODIES, "alters"), "a") as f:
                f.write(q + "\t" + ",".join("%s=%s" % (k, v[0]) for k, v in sorted(params.items()) if k not in ("query", "database")) + "\n")
            return self.reply(200, b"")
        answer = retention(q)
        if answer is not None:
            return self.reply(*answer)
        if "SELECT count() FROM (SELECT 1 FROM rr GROUP BY" in q:
            return self.stats()
        if "cert >= toFixedString(unhex('02'), 33) AND cert < toFixedString(unhex('03'), 33)" in q:
            # a session's probe for rows under SHA-256 references
            # (store/ch.c, s256_probe): some (a reference), unless
            # BODIES_DIR/s256 says "none" (no row) or "fail" (an error)
            path = os.path.join(BODIES, "s256")
            mode = open(path).read().strip() if os.path.exists(path) else "some"
            if mode == "fail":
                return self.reply(500, b"Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 5.0 seconds, e.what() = DB::Exception\n")
            return self.reply(200, b"" if mode == "none" else REF_AA)
        if q.startswith("SELECT 1 FROM ") and ALIAS_CHECK in q:
            # a read by certificate's alias check (store/ch_batch.c,
            # certs_aliased): a row for the chunks of ALIASED, none else
            return self.reply(200, b"\x01" if any(k in q for k in ALIASED) else b"")
        for key, rows in FIRST.items():
            if key in q:
                return self.reply(200, rows)
        for key, msg in ERRORS.items():
            if key in q:
                return self.reply(500, msg)
        for key, rows in CLI.items():
            if key in q:
                return self.reply(200, rows)
        for key, rows in MORE.items():
            if key in q:
                return self.reply(200, rows)
        for key, rows in ROWS.items():
            if key in q:
                return self.reply(200, rows)
        return self.reply(200, b"")


    def stats(self):
        """store_ch_stats's one query (store/ch_admin.c): nine counts, 101
        to 109 in the order asked; BODIES_DIR/stats-mode makes it fail
        ("error"), cut its answer short ("cut") or add a byte ("long")."""
        path = os.path.join(BODIES, "stats-mode")
        mode = open(path).read().strip() if os.path.exists(path) else "ok"
        if mode == "error":
            return self.reply(500, b"Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 5.0 seconds, e.what() = DB::Exception\n")
        rows = struct.pack("<9Q", *range(101, 110))
        return self.reply(200, rows[:-3] if mode == "cut" else rows + b"\x00" if mode == "long" else rows)


class Drop(http.server.BaseHTTPRequestHandler):
    requests = 0

    def log_message(self, *a):
        pass

    def record(self, body):
        Drop.requests += 1
        with open(os.path.join(BODIES, "req-%d" % Drop.requests), "wb") as f:
            f.write(self.path.encode() + b"\n" + body)

    def do_GET(self):
        self.record(b"")
        self.close_connection = True

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.record(body)
        self.close_connection = True
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("query", [""])[0]
        if q.startswith("INSERT"):
            return
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.write(b"\x0e" + b"ok.example.net")


FAIL = b"Code: 999, e.displayText() = DB::Exception: Connection loss\n"


class Dedup(H):
    seen = set()
    totals = {}
    applied = 0
    deduped = 0
    lock = threading.Lock()

    def do_GET(self):
        if self.path == "/totals":
            lines = ["%s %d %s %d\n" % (k[0], k[1], k[2], v) for k, v in sorted(Dedup.totals.items())]
            return self.reply(200, "".join(lines).encode())
        if self.path == "/stats":
            return self.reply(200, b"applied %d deduplicated %d\n" % (Dedup.applied, Dedup.deduped))
        return self.reply(200, b"Ok.\n")

    def apply(self, body):
        r = RowReader(body)
        while not r.done():
            r.u(8)
            r.s()
            name = r.s()
            rtype = r.u(2)
            rdata = r.s()
            r.raw(16)
            r.s()
            r.s()
            r.u(4)
            r.u(4)
            cnt = r.u(8)
            r.s()
            key = (name, rtype, rdata)
            Dedup.totals[key] = Dedup.totals.get(key, 0) + cnt

    def fault(self, name):
        path = os.path.join(BODIES, name)
        return int(open(path).read().split()[0]) if os.path.exists(path) else None

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("query", [""])[0]
        if not q.startswith("INSERT"):
            return self.reply(200, b"1\n" if (q or body.decode(errors="replace")).startswith("SELECT 1") else b"")
        with Dedup.lock:
            h = hashlib.sha256(q.encode() + b"\0" + body).digest()
            fail = self.fault("fail-after")
            failing = fail is not None and Dedup.applied >= fail
            if h in Dedup.seen:
                Dedup.deduped += 1
                return self.reply(500 if failing else 200, FAIL if failing else b"")
            Dedup.seen.add(h)
            if q.startswith("INSERT INTO rr_in"):
                self.apply(body)
            Dedup.applied += 1
            kill = self.fault("kill-after")
            if kill is not None and Dedup.applied == kill:
                os.kill(int(open(os.path.join(BODIES, "pid")).read()), signal.SIGKILL)
                return
            if fail is not None and Dedup.applied > fail:
                return self.reply(500, FAIL)
        return self.reply(200, b"")


class RowReader:
    def __init__(self, b):
        self.b, self.i = b, 0

    def done(self):
        return self.i >= len(self.b)

    def raw(self, n):
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def u(self, n):
        return int.from_bytes(self.raw(n), "little")

    def s(self):
        n, shift = 0, 0
        while True:
            c = self.raw(1)[0]
            n |= (c & 0x7F) << shift
            shift += 7
            if c < 0x80:
                break
        return self.raw(n).decode()


if len(sys.argv) > 3 and sys.argv[3] == "drop":
    H = Drop
if len(sys.argv) > 3 and sys.argv[3] == "dedup":
    H = Dedup
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # a pivot's read-ahead connects a dozen at once


srv = Server(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
