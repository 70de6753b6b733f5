#!/usr/bin/env python3
"""A loopback TCP server that is not (quite) TLS, for the probe tests.
Writes its port to PORTFILE.  Modes:

  --banner   answers every connection with an HTTP error and closes
  --silent   accepts and says nothing (nor closes)
  --hello    reads the ClientHello, sends a fixed well-formed TLS 1.2
             ServerHello (cipher c02f, version 0303, extensions
             renegotiation_info, ALPN "h2", ec_point_formats) and closes
  --alert    reads the ClientHello, sends a fatal handshake_failure alert
  --garbage  reads the ClientHello, sends a handshake record whose lengths
             run far past what is sent"""
import os
import socket
import struct
import sys
import threading

mode, portfile = sys.argv[1], sys.argv[2]


def server_hello():
    exts = bytes.fromhex("ff01000100" "0010000500030268" "32" "000b00020100")
    body = b"\x03\x03" + b"\x11" * 32 + b"\x20" + b"\x22" * 32 + b"\xc0\x2f\x00"
    body += struct.pack(">H", len(exts)) + exts
    hs = b"\x02" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x03" + struct.pack(">H", len(hs)) + hs


TLS_ANSWERS = {
    "--hello": server_hello(),
    "--alert": bytes.fromhex("15030300020228"),
    # a ServerHello header claiming 16 MB and extensions of 65535 bytes
    "--garbage": bytes.fromhex("160303ffff02ffffff0303") + b"\x00" * 32 + b"\x00"
    + b"\xc0\x2f\x00\xff\xff\x00\x10\xff",
}

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
held = []


def read_hello(c):
    # the whole ClientHello: closing with unread bytes would reset the
    # connection and could drop the answer
    hello = b""
    while len(hello) < 5 or len(hello) < 5 + struct.unpack(">H", hello[3:5])[0]:
        chunk = c.recv(4096)
        if not chunk:
            break
        hello += chunk


def serve(c):
    if mode == "--silent":
        held.append(c)
        return
    try:
        if mode == "--banner":
            c.recv(4096)
            c.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        else:
            read_hello(c)
            c.sendall(TLS_ANSWERS[mode])
    except OSError:
        pass
    c.close()


while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
