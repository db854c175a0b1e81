#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""proxy.py - an IMAP-aware TCP proxy that injects faults for ticketd's tests.

Listens on 127.0.0.1:--listen and relays each connection to 127.0.0.1:
--upstream (plain IMAP), following IMAP framing in both directions (lines,
{n} literals) so that it can act on commands and tagged responses.  Faults
come from the control file DIR/proxy.ctl, re-read at every event; one
directive per line, consumed when it has fired:

  cut-bytes N          the next connection whose server->client data reaches
                       N bytes is cut there (both sides closed)
  cut-literal [MIN]    cut in the middle of the next server literal of at
                       least MIN bytes (default 1000): half is forwarded
  rewrite CMD ST [K]   the next K (default 1) commands starting with CMD
                       (e.g. "UID MOVE", case-insensitive; spaces as '_')
                       go to the server, but their tagged OK reaches the
                       client as ST (NO or BAD)
  refuse CMD ST [K]    the next K such commands are not forwarded; the
                       proxy answers them with ST itself
  throttle BPS         (stays) server->client at most BPS bytes a second

Every connection, command name, literal, fault and close is logged to
DIR/proxy.log, flushed per line, so tests can wait for "cmd ... UID FETCH".
Stops on SIGTERM.
"""

import argparse
import os
import re
import signal
import socket
import sys
import threading
import time

LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


class Control:
    """Control - the directives in DIR/proxy.ctl and the log"""

    def __init__(self, d):
        self.path = os.path.join(d, "proxy.ctl")
        self.lock = threading.Lock()
        self.log_f = open(os.path.join(d, "proxy.log"), "a",
                          encoding="utf-8")

    def log(self, text):
        """log - one line"""
        with self.lock:
            self.log_f.write("%.3f %s\n" % (time.time(), text))
            self.log_f.flush()

    def _read(self):
        try:
            with open(self.path, encoding="utf-8") as f:
                return [ln.split() for ln in f.read().splitlines()
                        if ln.strip()]
        except OSError:
            return []

    def _write(self, rows):
        tmp = self.path + ".proxy"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("".join(" ".join(r) + "\n" for r in rows))
        os.replace(tmp, self.path)

    def peek(self, name):
        """peek - arguments of the first NAME directive, or None"""
        with self.lock:
            for r in self._read():
                if r[0] == name:
                    return r[1:]
        return None

    def take(self, name, match=None):
        """take - consume one use of the first NAME directive whose
        arguments satisfy match; its arguments, or None"""
        with self.lock:
            rows = self._read()
            for i, r in enumerate(rows):
                if r[0] != name or (match is not None and not match(r[1:])):
                    continue
                args = r[1:]
                if name in ("rewrite", "refuse"):
                    left = int(args[2]) if len(args) > 2 else 1
                    if left > 1:
                        rows[i] = [name, args[0], args[1], str(left - 1)]
                    else:
                        del rows[i]
                else:
                    del rows[i]
                self._write(rows)
                return args
        return None


class Conn:
    """Conn - one proxied connection"""

    def __init__(self, ctl, n, client, upstream):
        self.ctl = ctl
        self.n = n
        self.client = client
        # A small receive window: the server cannot park a whole large
        # response in our buffers, so a server dying mid-response shows.
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        self.server.connect(("127.0.0.1", upstream))
        self.client_lock = threading.Lock()
        self.rewrites = {}  # tag -> status
        self.closed = threading.Event()
        self.s2c_bytes = 0

    def close(self, why):
        """close - shut both sides once"""
        if self.closed.is_set():
            return
        self.closed.set()
        self.ctl.log("close c%d %s" % (self.n, why))
        for s in (self.client, self.server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def to_client(self, data):
        """to_client - send, honouring throttle"""
        bps = self.ctl.peek("throttle")
        with self.client_lock:
            if not bps:
                self.client.sendall(data)
                return
            rate = max(1, int(bps[0]))
            step = max(1, rate // 20)
            for k in range(0, len(data), step):
                self.client.sendall(data[k:k + step])
                time.sleep(len(data[k:k + step]) / rate)

    def c2s(self):
        """c2s - client to server: watch command lines"""
        buf = b""
        lit = 0
        cont = False
        try:
            while not self.closed.is_set():
                data = self.client.recv(65536)
                if not data:
                    break
                buf += data
                out = b""
                while buf:
                    if lit:
                        k = min(lit, len(buf))
                        out += buf[:k]
                        buf = buf[k:]
                        lit -= k
                        continue
                    e = buf.find(b"\r\n")
                    if e < 0:
                        break
                    line = buf[:e + 2]
                    buf = buf[e + 2:]
                    m = LITERAL.search(line)
                    if not cont and self.command(line):
                        pass  # refused: not forwarded
                    else:
                        out += line
                    cont = m is not None
                    if m:
                        lit = int(m.group(1))
                if out:
                    self.server.sendall(out)
        except OSError:
            pass
        self.close("client side ended")

    def command(self, line):
        """command - log a command; True when the proxy answers it"""
        words = line.decode("utf-8", "replace").split()
        if len(words) < 2:
            return False
        tag = words[0]
        name = " ".join(words[1:3]).upper() if words[1].upper() == "UID" \
            else words[1].upper()
        self.ctl.log("cmd c%d %s %s" % (self.n, tag, name))

        def match(args):
            return name.startswith(args[0].replace("_", " ").upper())

        ref = self.ctl.take("refuse", match)
        if ref:
            self.ctl.log("refuse c%d %s %s %s" % (self.n, tag, name, ref[1]))
            self.to_client(("%s %s [proxy] refused\r\n" %
                            (tag, ref[1].upper())).encode())
            return True
        rew = self.ctl.take("rewrite", match)
        if rew:
            self.rewrites[tag] = rew[1].upper()
        return False

    def s2c(self):
        """s2c - server to client: literals, tagged responses, cuts"""
        buf = b""
        lit = 0
        try:
            while not self.closed.is_set():
                data = self.server.recv(65536)
                if not data:
                    break
                buf += data
                out = b""
                while buf:
                    if lit:
                        k = min(lit, len(buf))
                        out += buf[:k]
                        buf = buf[k:]
                        lit -= k
                        continue
                    e = buf.find(b"\r\n")
                    if e < 0:
                        break
                    line = buf[:e + 2]
                    buf = buf[e + 2:]
                    line = self.response(line)
                    m = LITERAL.search(line)
                    if m:
                        lit = int(m.group(1))
                        mn = self.ctl.peek("cut-literal")
                        if mn is not None and lit >= (int(mn[0]) if mn
                                                      else 1000) and \
                                self.ctl.take("cut-literal") is not None:
                            half = lit // 2
                            while len(buf) < half:
                                more = self.server.recv(65536)
                                if not more:
                                    break
                                buf += more
                            self.to_client(out + line + buf[:half])
                            self.ctl.log("cut c%d literal %d after %d" %
                                         (self.n, lit, half))
                            self.close("cut in literal")
                            return
                    out += line
                if out:
                    out = self.cut_bytes(out)
                    if out is None:
                        return
                    self.to_client(out)
        except OSError:
            pass
        self.close("server side ended")

    def cut_bytes(self, out):
        """cut_bytes - apply a cut-bytes directive to out; None: cut"""
        cb = self.ctl.peek("cut-bytes")
        if cb and self.s2c_bytes + len(out) >= int(cb[0]) and \
                self.ctl.take("cut-bytes") is not None:
            k = max(0, int(cb[0]) - self.s2c_bytes)
            self.to_client(out[:k])
            self.ctl.log("cut c%d after %d bytes" % (self.n, int(cb[0])))
            self.close("cut after bytes")
            return None
        self.s2c_bytes += len(out)
        return out

    def response(self, line):
        """response - rewrite the tagged OK of a marked command"""
        words = line.split(b" ", 2)
        if len(words) >= 2 and words[1].upper() == b"OK":
            tag = words[0].decode("utf-8", "replace")
            st = self.rewrites.pop(tag, None)
            if st:
                self.ctl.log("rewrite c%d %s OK -> %s" % (self.n, tag, st))
                return ("%s %s [proxy] rewritten\r\n" % (tag, st)).encode()
        return line


def main():
    """main - accept and relay until SIGTERM"""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--dir", required=True)
    args = ap.parse_args()
    ctl = Control(args.dir)
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.listen))
    lsock.listen(16)
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    ctl.log("listening %d -> %d" % (args.listen, args.upstream))
    n = 0
    while True:
        client, _ = lsock.accept()
        n += 1
        try:
            c = Conn(ctl, n, client, args.upstream)
        except OSError as e:
            ctl.log("open c%d failed: %s" % (n, e))
            client.close()
            continue
        ctl.log("open c%d" % n)
        threading.Thread(target=c.c2s, daemon=True).start()
        threading.Thread(target=c.s2c, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
