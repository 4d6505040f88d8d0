#!/usr/bin/env python3
"""A scripted SMTP/LMTP server for the delivery tests (stdlib only).

Listens on 127.0.0.1 (port written to --port-file) or a unix socket
(--unix PATH). Every message accepted after the final dot is saved as
OUT/NNNNNN.json: the envelope (sender, the recipients it was accepted
for), the message as received on the wire (dot-stuffed, base64) and
unstuffed (base64). Rules from --rules FILE (JSON list) change replies:

  {"on": "mail"|"rcpt"|"data"|"final", "match": "TEXT", "reply": "550 ...",
   "times": N}
  {"on": "data"|"final", "match": "TEXT", "action": "close"|"silent"|
   "overlong"|"endless"|"garbage"}

"mail"/"rcpt" match the address, "data" the DATA command (by any
recipient of the transaction), "final" the message text (for LMTP, per
recipient: the match is tried against "RCPT MESSAGE"). --tls-cert offers STARTTLS (and records "tls" per message). --delay
waits between saving a message and saying 250 (the window a
crash test aims at). "times" limits a
rule to its first N uses (a state file in OUT keeps the count across
restarts of the client). "data"+"close" closes the connection halfway
through the message.
"""
import argparse
import base64
import json
import os
import socket
import socketserver
import ssl
import sys
import threading

lock = threading.Lock()
seq = [0]


def load_rules(path):
    if not path:
        return []
    with open(path) as f:
        return json.load(f)


class Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def out(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def rule(self, on, text):
        srv = self.server
        for i, r in enumerate(srv.rules):
            if r["on"] != on or r["match"] not in text:
                continue
            with lock:
                used = srv.used.get(i, 0)
                if "times" in r and used >= r["times"]:
                    continue
                srv.used[i] = used + 1
            return r
        return None

    def act(self, r):
        """Run a hostile action; True when the session must end."""
        a = r.get("action")
        if a == "close":
            return True
        if a == "silent":
            threading.Event().wait(3600)
            return True
        if a == "overlong":
            self.wfile.write(b"250 " + b"x" * 100000 + b"\r\n")
            self.wfile.flush()
            threading.Event().wait(3600)
            return True
        if a == "endless":
            try:
                while True:
                    self.wfile.write(b"250-" + b"y" * 70 + b"\r\n")
            except OSError:
                return True
        if a == "garbage":
            self.wfile.write(b"hello there\r\n")
            self.wfile.flush()
            threading.Event().wait(3600)
            return True
        self.out(r["reply"])
        return False

    def save(self, mail_from, rcpts, wire, data):
        tls = isinstance(self.connection, ssl.SSLSocket)
        with lock:
            seq[0] += 1
            n = seq[0]
        doc = {"mail_from": mail_from, "rcpts": rcpts, "tls": tls,
               "wire": base64.b64encode(wire).decode(),
               "data": base64.b64encode(data).decode()}
        path = os.path.join(self.server.outdir, "%06d-%d.json" %
                            (n, os.getpid()))
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f)
        os.rename(path + ".tmp", path)

    def handle(self):
        srv = self.server
        if not srv.lmtp_unix:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lmtp = srv.lmtp
        self.out("220 test ESMTP")
        mail_from, rcpts = None, []
        tls_on = False
        while True:
            try:
                line = self.rfile.readline(4096)
            except (OSError, ssl.SSLError):
                return
            if not line:
                return
            cmd = line.rstrip(b"\r\n").decode("utf-8", "replace")
            up = cmd.upper()
            if up.startswith("EHLO") or up.startswith("LHLO"):
                ext = ["test"]
                if srv.pipelining:
                    ext.append("PIPELINING")
                ext += ["8BITMIME"]
                if srv.smtputf8:
                    ext.append("SMTPUTF8")
                if srv.tls and not tls_on:
                    ext.append("STARTTLS")
                for i, e in enumerate(ext):
                    self.out("250%s%s" % (" " if i == len(ext) - 1 else "-", e))
            elif up.startswith("MAIL FROM:"):
                addr = cmd[10:].split(">")[0].lstrip("<")
                r = self.rule("mail", addr)
                if r:
                    if self.act(r):
                        return
                    continue
                mail_from, rcpts = addr, []
                srv.log.append(("MAIL", cmd))
                self.out("250 ok")
            elif up.startswith("RCPT TO:"):
                addr = cmd[8:].split(">")[0].lstrip("<")
                if mail_from is None:
                    self.out("503 need MAIL")
                    continue
                r = self.rule("rcpt", addr)
                if r:
                    if self.act(r):
                        return
                    continue
                rcpts.append(addr)
                self.out("250 ok")
            elif up == "DATA":
                if not rcpts:
                    self.out("554 no valid recipients")
                    continue
                r = self.rule("data", " ".join(rcpts))
                if r and "reply" in r:
                    self.act(r)
                    mail_from, rcpts = None, []
                    continue
                self.out("354 go")
                wire = b""
                while True:
                    l = self.rfile.readline(1 << 20)
                    if not l:
                        return
                    wire += l
                    if l == b".\r\n":
                        break
                    if r and r.get("action") and len(wire) > 100:
                        if self.act(r):
                            return
                        r = None
                body = wire[:-3]
                lines = body.split(b"\r\n")
                data = b"\r\n".join(x[1:] if x.startswith(b".") else x
                                    for x in lines)
                text = data.decode("utf-8", "replace")
                if lmtp:
                    got = []
                    for rc in rcpts:
                        r = self.rule("final", rc + " " + text)
                        if r:
                            if self.act(r):
                                return
                        else:
                            got.append(rc)
                            self.out("250 ok " + rc)
                    if got:
                        self.save(mail_from, got, wire, data)
                else:
                    r = self.rule("final", text)
                    if r:
                        if self.act(r):
                            return
                    else:
                        self.save(mail_from, rcpts, wire, data)
                        if srv.delay:
                            threading.Event().wait(srv.delay)
                        self.out("250 ok queued")
                mail_from, rcpts = None, []
            elif up == "STARTTLS" and srv.tls and not tls_on:
                # The injected reply shares the 220's write, as an
                # attacker's would share its packet.
                self.wfile.write(b"220 go ahead\r\n" + (
                    b"250 injected before the handshake\r\n"
                    if srv.tls_inject else b""))
                self.wfile.flush()
                c = srv.tls.wrap_socket(self.connection, server_side=True)
                self.connection = c
                self.rfile = c.makefile("rb")
                self.wfile = c.makefile("wb")
                tls_on, mail_from, rcpts = True, None, []
            elif up == "RSET":
                mail_from, rcpts = None, []
                self.out("250 ok")
            elif up == "QUIT":
                self.out("221 bye")
                return
            elif up == "NOOP":
                self.out("250 ok")
            else:
                self.out("500 what")


class TCP(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Unix(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file")
    ap.add_argument("--unix")
    ap.add_argument("--out", required=True)
    ap.add_argument("--rules")
    ap.add_argument("--lmtp", action="store_true")
    ap.add_argument("--no-pipelining", action="store_true")
    ap.add_argument("--smtputf8", action="store_true")
    ap.add_argument("--tls-cert", help="offer STARTTLS with this PEM "
                    "(certificate and key)")
    ap.add_argument("--tls-inject", action="store_true",
                    help="send a reply after the 220 to STARTTLS, in clear")
    ap.add_argument("--delay", type=float, default=0,
                    help="seconds between saving a message and the 250")
    a = ap.parse_args()
    if a.unix:
        srv = Unix(a.unix, Handler)
    else:
        srv = TCP(("127.0.0.1", 0), Handler)
    srv.rules = load_rules(a.rules)
    srv.used = {}
    srv.log = []
    srv.outdir = a.out
    srv.lmtp = a.lmtp
    srv.lmtp_unix = bool(a.unix)
    srv.pipelining = not a.no_pipelining
    srv.smtputf8 = a.smtputf8
    srv.delay = a.delay
    srv.tls = None
    srv.tls_inject = a.tls_inject
    if a.tls_cert:
        srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.tls.load_cert_chain(a.tls_cert)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
