#!/usr/bin/env python3
"""jarm_ref.py HOST PORT [SNI|-] - an independent JARM implementation for the
tests, with the Python standard library only (socket, struct, hashlib, os).

Written for this test from the published description of the method
(Salesforce JARM, BSD-3: ten ClientHellos, "cipher|version|alpn|extensions"
per answer, 62-character fuzzy hash) and its reference implementation's
behaviour, and on purpose *not* from infrapivot's C code (ingest/jarm.c):
it builds the hellos from a table of named probe settings and parses the
answers at the reference's fixed offsets (byte 43 = session id length, the
cipher after it, ...) with Python's forgiving slicing, where the C code
walks the ServerHello's own length fields.  Both must give the same
fingerprint for the same server.

Prints two lines: the raw JARM and the fingerprint.
"""
import hashlib
import os
import socket
import struct
import sys

# -- the ten probes: (version, cipher list, cipher order, grease, alpn list,
#    supported_versions, order of the alpn/supported_versions lists)
PROBES = [
    ("1.2", "ALL", "FORWARD", False, "APLN", "1.2", "REVERSE"),
    ("1.2", "ALL", "REVERSE", False, "APLN", "1.2", "FORWARD"),
    ("1.2", "ALL", "TOP_HALF", False, "APLN", None, "FORWARD"),
    ("1.2", "ALL", "BOTTOM_HALF", False, "RARE_APLN", None, "FORWARD"),
    ("1.2", "ALL", "MIDDLE_OUT", True, "RARE_APLN", None, "REVERSE"),
    ("1.1", "ALL", "FORWARD", False, "APLN", None, "FORWARD"),
    ("1.3", "ALL", "FORWARD", False, "APLN", "1.3", "REVERSE"),
    ("1.3", "ALL", "REVERSE", False, "APLN", "1.3", "FORWARD"),
    ("1.3", "NO1.3", "FORWARD", False, "APLN", "1.3", "FORWARD"),
    ("1.3", "ALL", "MIDDLE_OUT", True, "APLN", "1.3", "REVERSE"),
]

SUITES = bytes.fromhex(
    "0016 0033 0067 c09e c0a2 009e 0039 006b c09f c0a3 009f 0045 00be 0088 00c4"
    " 009a c008 c009 c023 c0ac c0ae c02b c00a c024 c0ad c0af c02c c072 c073 cca9"
    " 1302 1301 cc14 c007 c012 c013 c027 c02f c014 c028 c030 c060 c061 c076 c077"
    " cca8 1305 1304 1303 cc13 c011 000a 002f 003c c09c c0a0 009c 0035 003d c09d"
    " c0a1 009d 0041 00ba 0084 00c0 0007 0004 0005")
SUITES = [SUITES[i:i + 2] for i in range(0, len(SUITES), 2)]

# the fuzzy hash's cipher positions
RANKED = ("0004 0005 0007 000a 0016 002f 0033 0035 0039 003c 003d 0041 0045 0067"
          " 006b 0084 0088 009a 009c 009d 009e 009f 00ba 00be 00c0 00c4 c007 c008"
          " c009 c00a c011 c012 c013 c014 c023 c024 c027 c028 c02b c02c c02f c030"
          " c060 c061 c072 c073 c076 c077 c09c c09d c09e c09f c0a0 c0a1 c0a2 c0a3"
          " c0ac c0ad c0ae c0af cc13 cc14 cca8 cca9 1301 1302 1303 1304 1305").split()


def lp(s):
    return bytes([len(s)]) + s


# the reference's list has no comma between spdy/3 and h2: one entry
ALPN = [lp(b"http/0.9"), lp(b"http/1.0"), lp(b"http/1.1"), lp(b"spdy/1"),
        lp(b"spdy/2"), lp(b"spdy/3") + lp(b"h2"), lp(b"h2c"), lp(b"hq")]
RARE_ALPN = [lp(b"http/0.9"), lp(b"http/1.0"), lp(b"spdy/1"), lp(b"spdy/2"),
             lp(b"spdy/3"), lp(b"h2c"), lp(b"hq")]


def reorder(items, how):
    n = len(items)
    half = n // 2
    if how == "FORWARD":
        return list(items)
    if how == "REVERSE":
        return list(reversed(items))
    if how == "BOTTOM_HALF":
        return items[half + (n % 2):]
    if how == "TOP_HALF":
        # the middle one (odd lengths), then the lower half backwards
        first = [items[half]] if n % 2 else []
        return first + list(reversed(items[:half]))
    assert how == "MIDDLE_OUT"
    out = [items[half]] if n % 2 else []
    lo, hi = (half - 1, half + 1) if n % 2 else (half - 1, half)
    while hi < n:
        out += [items[hi], items[lo]]
        hi += 1
        lo -= 1
    return out


def grease():
    b = (os.urandom(1)[0] & 0xF0) | 0x0A
    return bytes([b, b])


def ext(code, body):
    return struct.pack(">HH", code, len(body)) + body


def client_hello(probe, sni):
    version, suites, order, use_grease, alpn, sv, lists = probe
    record_v, hello_v = {"1.1": (b"\x03\x02", b"\x03\x02"), "1.2": (b"\x03\x03", b"\x03\x03"),
                         "1.3": (b"\x03\x01", b"\x03\x03")}[version]
    offer = [s for s in SUITES if suites == "ALL" or s[0] != 0x13]
    offer = reorder(offer, order)
    if use_grease:
        offer = [grease()] + offer
    exts = b""
    if use_grease:
        exts += grease() + b"\x00\x00"
    if sni is not None:
        name = sni.encode()
        exts += ext(0, struct.pack(">HBH", len(name) + 3, 0, len(name)) + name)
    exts += ext(0x17, b"")                      # extended_master_secret
    exts += ext(0x01, b"\x01")                  # max_fragment_length 512
    exts += ext(0xFF01, b"\x00")                # renegotiation_info
    exts += ext(0x0A, struct.pack(">5H", 8, 0x1D, 0x17, 0x18, 0x19))
    exts += ext(0x0B, b"\x01\x00")              # ec_point_formats
    exts += ext(0x23, b"")                      # session_ticket
    names = b"".join(reorder(ALPN if alpn == "APLN" else RARE_ALPN, lists))
    exts += ext(0x10, struct.pack(">H", len(names)) + names)
    algs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0201]
    exts += ext(0x0D, struct.pack(">H", 2 * len(algs)) + struct.pack(">9H", *algs))
    share = (grease() + b"\x00\x01\x00" if use_grease else b"") + \
        struct.pack(">HH", 0x1D, 32) + os.urandom(32)
    exts += ext(0x33, struct.pack(">H", len(share)) + share)
    exts += ext(0x2D, b"\x01\x01")              # psk_key_exchange_modes
    if sv is not None:
        vs = [b"\x03\x01", b"\x03\x02", b"\x03\x03"] + ([b"\x03\x04"] if sv == "1.3" else [])
        vs = (grease() if use_grease else b"") + b"".join(reorder(vs, lists))
        exts += ext(0x2B, bytes([len(vs)]) + vs)
    body = hello_v + os.urandom(32) + b"\x20" + os.urandom(32)
    body += struct.pack(">H", 2 * len(offer)) + b"".join(offer) + b"\x01\x00"
    body += struct.pack(">H", len(exts)) + exts
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16" + record_v + struct.pack(">H", len(hs)) + hs


class Timeout(Exception):
    pass


def exchange(host, port, hello, timeout):
    """The first record of the answer (at most 1484 bytes); b"" when the
    connection failed; Timeout when nothing came in time."""
    try:
        s = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise Timeout()
    except OSError:
        return b""
    data = b""
    try:
        s.sendall(hello)
        while len(data) < 1484:
            if len(data) >= 5 and len(data) >= 5 + struct.unpack(">H", data[3:5])[0]:
                break
            if data and data[0] != 0x16:
                break
            chunk = s.recv(1484 - len(data))
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        if not data:
            raise Timeout()
    except OSError:
        pass
    finally:
        s.close()
    return data[:1484]


def answer_text(d):
    """The reference's reading of one answer, at fixed offsets."""
    try:
        if d[0] != 22 or d[5] != 2:
            return "|||"
        sid = d[43]
        cipher = d[sid + 44:sid + 46].hex()
        version = d[9:11].hex()
        if len(cipher) != 4 or int(version[3]) > 5:
            return "|||"
        return cipher + "|" + version + "|" + extensions_text(d, sid)
    except (IndexError, ValueError, struct.error):
        return "|||"


def extensions_text(d, sid):
    try:
        if d[sid + 47] == 11:
            return "|||"
    except IndexError:
        return "|||"
    if d[sid + 50:sid + 53] == b"\x0e\xac\x0b" or d[82:85] == b"\x0f\xf0\x0b":
        return "|||"
    pos = sid + 49
    stop = pos + struct.unpack(">H", d[sid + 47:sid + 49])[0]
    kinds, alpn = [], ""
    while pos < stop - 1:
        kind = d[pos:pos + 2].hex()
        size = struct.unpack(">H", d[pos + 2:pos + 4])[0]
        value = d[pos + 4:pos + 4 + size]
        if kind == "0010" and "0010" not in kinds:
            if size == 0:
                raise ValueError("empty alpn")
            alpn = value[3:].decode("ascii")
        kinds.append(kind)
        pos += 4 + size
    return alpn + "|" + "-".join(kinds)


def fuzzy(raw):
    if raw == ",".join(["|||"] * 10):
        return "0" * 62
    out, tail = "", ""
    for a in raw.split(","):
        f = a.split("|")
        out += "%02x" % ((RANKED.index(f[0]) + 1 if f[0] in RANKED else len(RANKED) + 1)
                         if f[0] else 0)
        out += "abcdef"[int(f[1][3])] if f[1] else "0"
        tail += f[2] + f[3]
    return out + hashlib.sha256(tail.encode()).hexdigest()[:32]


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    sni = sys.argv[3] if len(sys.argv) > 3 else host  # "-": none
    sni = None if sni == "-" else sni
    answers = []
    for p in PROBES:
        try:
            answers.append(answer_text(exchange(host, port, client_hello(p, sni), 10)))
        except Timeout:
            answers = ["|||"] * 10
            break
    raw = ",".join(answers)
    print(raw)
    print(fuzzy(raw))


if __name__ == "__main__":
    main()
