#!/usr/bin/env python3
"""Raw HTTP clients the reliability tests need (curl cannot misbehave).

  rawhttp.py send PORT HEX          send the bytes (hex), print the status code
  rawhttp.py abort PORT PATH FILE N  POST FILE with its full Content-Length
                                    (and extra headers from $RAW_HEADERS, ';'-separated),
                                    send only its first N bytes, then close
  rawhttp.py slow PORT SRC N EVERY MAX
                                    N connections from address SRC, each
                                    sending one header byte every EVERY s;
                                    ends when all are closed by the server or
                                    after MAX s; prints "open=K lived=S" (K
                                    still open at the end, S the longest a
                                    connection lived)
"""
import socket
import sys
import time


def status_of(data):
    line = data.split(b"\r\n", 1)[0].split()
    return line[1].decode() if len(line) > 1 else "none"


def send(port, hexbytes):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    s.sendall(bytes.fromhex(hexbytes))
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    print(status_of(data))


def abort(port, path, fname, n):
    body = open(fname, "rb").read()
    import os
    extra = "".join(h.strip() + "\r\n" for h in os.environ.get("RAW_HEADERS", "").split(";") if h.strip())
    head = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n" % (path, len(body), extra)).encode()
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    s.sendall(head + body[: int(n)])
    s.shutdown(socket.SHUT_WR)
    s.close()


def slow(port, src, n, every, maxs):
    n, every, maxs = int(n), float(every), float(maxs)
    conns, born = [], []
    t0 = time.monotonic()
    for _ in range(n):
        s = socket.socket()
        s.bind((src, 0))
        try:
            s.connect(("127.0.0.1", int(port)))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            s.setblocking(False)
            conns.append(s)
            born.append(time.monotonic())
        except OSError:
            s.close()
    lived = 0.0
    while conns and time.monotonic() - t0 < maxs:
        time.sleep(every)
        alive, alive_born = [], []
        for s, b in zip(conns, born):
            closed = False
            try:
                if s.recv(4096) == b"":
                    closed = True
            except BlockingIOError:
                pass
            except OSError:
                closed = True
            if not closed:
                try:
                    s.send(b"a")
                except OSError:
                    closed = True
            if closed:
                lived = max(lived, time.monotonic() - b)
                s.close()
            else:
                alive.append(s)
                alive_born.append(b)
        conns, born = alive, alive_born
    print("open=%d lived=%.1f" % (len(conns), lived))


if __name__ == "__main__":
    {"send": send, "abort": abort, "slow": slow}[sys.argv[1]](*sys.argv[2:])
