#!/usr/bin/env python3
"""A loopback TCP server that is not TLS: with --banner it answers every
connection with an HTTP error and closes; with --silent it accepts and
says nothing.  Writes its port to PORTFILE."""
import socket
import sys
import threading
import time

mode, portfile = sys.argv[1], sys.argv[2]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
held = []


def serve(c):
    if mode == "--banner":
        try:
            c.recv(4096)
            c.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass
        c.close()
    else:
        held.append(c)


while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
