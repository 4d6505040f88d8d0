#!/usr/bin/env python3
"""A DNS server that never answers, for timeout tests.

    python3 tests/dns/blackhole.py [--owner PID] [--log FILE] [--max-time S]

Binds UDP and TCP on the same free port of 127.0.0.1 and prints that port
on stdout (one line, flushed). UDP queries are read and dropped; TCP
connections are accepted and held open, whatever the client sends, until
the client closes them. With --log, one line per query received:
"EPOCH-SECONDS udp|tcp QNAME QTYPE". Exits on SIGTERM/SIGINT, when the
process --owner is gone (so a killed suite leaves nothing behind), or after
--max-time seconds (default 600).
"""
import argparse
import os
import selectors
import signal
import socket
import sys
import time


def free_pair():
    """UDP and TCP sockets bound to one free port on 127.0.0.1."""
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            t.bind(("127.0.0.1", port))
        except OSError:
            u.close()
            t.close()
            continue
        t.listen(128)
        return u, t, port
    sys.exit("blackhole: no free port")


def qinfo(msg):
    """QNAME and QTYPE of a DNS query, best effort."""
    try:
        i, labels = 12, []
        while msg[i]:
            n = msg[i]
            labels.append(msg[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        qtype = int.from_bytes(msg[i + 1:i + 3], "big")
        return (".".join(labels) or ".") + ".", str(qtype)
    except (IndexError, ValueError):
        return "?", "?"


def serve(a, handle, hold_max=1000):
    """Serve 127.0.0.1 on a free UDP+TCP port until a signal, the
    --owner pid is gone or --max-time passes; print the port first.
    handle(msg, proto) gets each query ("udp" or "tcp") and returns the
    answer to send, or None to send nothing. TCP connections stay open
    until the client closes them (at most hold_max at once)."""
    udp, tcp, port = free_pair()
    udp.setblocking(False)
    tcp.setblocking(False)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    sel = selectors.DefaultSelector()
    sel.register(udp, selectors.EVENT_READ, "udp")
    sel.register(tcp, selectors.EVENT_READ, "listen")
    held = {}  # conn -> bytes received so far

    print(port, flush=True)
    sys.stdout.close()
    os.close(1)

    end = time.monotonic() + a.max_time
    while not stop and time.monotonic() < end:
        if a.owner:
            try:
                os.kill(a.owner, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                pass
        for key, _ in sel.select(timeout=0.5):
            what = key.data
            if what == "udp":
                try:
                    while True:
                        msg, peer = udp.recvfrom(65535)
                        out = handle(msg, "udp")
                        if out:
                            udp.sendto(out, peer)
                except (BlockingIOError, InterruptedError):
                    pass
            elif what == "listen":
                try:
                    conn, _ = tcp.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                if len(held) >= hold_max:
                    conn.close()
                    continue
                conn.setblocking(True)
                conn.settimeout(2)
                held[conn] = b""
                sel.register(conn, selectors.EVENT_READ, "conn")
            else:
                conn = key.fileobj
                try:
                    data = conn.recv(65535)
                except OSError:
                    data = b""
                buf = held[conn] + data
                # Two-byte length prefix per message (RFC 1035 4.2.2).
                while len(buf) >= 2 and len(buf) >= 2 + int.from_bytes(
                        buf[:2], "big"):
                    n = int.from_bytes(buf[:2], "big")
                    out = handle(buf[2:2 + n], "tcp")
                    buf = buf[2 + n:]
                    if out:
                        try:
                            conn.sendall(len(out).to_bytes(2, "big") + out)
                        except OSError:
                            data = b""
                held[conn] = buf
                if not data:
                    sel.unregister(conn)
                    del held[conn]
                    conn.close()
    for conn in list(held):
        conn.close()
    udp.close()
    tcp.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--owner", type=int, help="exit when this pid is gone")
    ap.add_argument("--log", help="append one line per query here")
    ap.add_argument("--max-time", type=float, default=600.0)
    a = ap.parse_args()
    log = open(a.log, "a", buffering=1) if a.log else None

    def note(msg, proto):
        if log:
            name, qtype = qinfo(msg)
            log.write("%.6f %s %s %s\n" % (time.time(), proto, name, qtype))
        return None  # never answer

    serve(a, note)


if __name__ == "__main__":
    main()
