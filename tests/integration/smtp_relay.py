#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""smtp_relay.py - the real SMTP server of ticketd's integration tests.

An aiosmtpd server (Debian's python3-aiosmtpd, so run it with /usr/bin/python3)
on 127.0.0.1 that hands each accepted message to Dovecot over LMTP, one LMTP
transaction per recipient, and answers with Dovecot's verdict.  Recipients
are checked against Dovecot at RCPT time, so unknown users get Dovecot's 550.
AUTH PLAIN/LOGIN is offered (also without TLS) and checked against the test
users, but mail without AUTH is accepted too.  STARTTLS is offered on the
plain port; --smtps-port adds an implicit-TLS listener.

Fault control: the file DIR/smtp.mode is read on every command.
  tempfail       451 to RCPT (and to DATA)
  permfail       550 to RCPT (and to DATA)
  tempfail-data  RCPT accepted, 451 to DATA
  permfail-data  RCPT accepted, 554 to DATA
Anything else, or no file, is normal operation.  "Down" is stopping the
process (servers_stop_smtp).  Each accepted message is logged as one line of
DIR/smtp.log and saved as DIR/smtp/NNNN.eml; diagnostics go to stderr.
"""

import argparse
import asyncio
import email.parser
import email.policy
import logging
import os
import signal
import smtplib
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

LOG = logging.getLogger("smtp_relay")


def parse_args():
    """parse_args - command line of the relay"""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="servers directory")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True, help="plain SMTP")
    ap.add_argument("--smtps-port", type=int, default=0,
                    help="implicit TLS (0: none)")
    ap.add_argument("--lmtp", required=True, help="LMTP unix socket")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--users", required=True,
                    help="Dovecot passwd-file with {PLAIN} passwords")
    return ap.parse_args()


def load_users(path):
    """load_users - user -> plain password from a Dovecot passwd-file"""
    users = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 2 and fields[1].startswith("{PLAIN}"):
                    users[fields[0]] = fields[1][len("{PLAIN}"):]
    except OSError as e:
        LOG.error("cannot read users file %s: %s", path, e)
    return users


class Relay:
    """Relay - aiosmtpd handler delivering through Dovecot LMTP"""

    def __init__(self, args):
        self.dir = args.dir
        self.lmtp_socket = args.lmtp
        self.users_file = args.users
        self.seq = self._last_seq()

    def _last_seq(self):
        """_last_seq - highest NNNN.eml already saved (restarts go on)"""
        last = 0
        try:
            for name in os.listdir(os.path.join(self.dir, "smtp")):
                if name.endswith(".eml") and name[:-4].isdigit():
                    last = max(last, int(name[:-4]))
        except OSError:
            pass
        return last

    def mode(self):
        """mode - current fault mode from DIR/smtp.mode ("" = normal)"""
        try:
            with open(os.path.join(self.dir, "smtp.mode"),
                      encoding="ascii") as f:
                return f.read().strip()
        except (OSError, UnicodeDecodeError):
            return ""

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        """authenticate - aiosmtpd authenticator for PLAIN and LOGIN"""
        del server, session, envelope
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            users = load_users(self.users_file)
            if login in users and users[login] == password:
                LOG.info("auth ok mechanism=%s user=%s", mechanism, login)
                return AuthResult(success=True, auth_data=login)
            LOG.info("auth failed mechanism=%s user=%s", mechanism, login)
        return AuthResult(success=False, handled=False,
                          message="535 5.7.8 Authentication credentials "
                                  "invalid")

    def _lmtp_rcpt(self, mail_from, rcpt):
        """_lmtp_rcpt - ask Dovecot whether it would accept RCPT"""
        try:
            with smtplib.LMTP(self.lmtp_socket, timeout=10) as lmtp:
                lmtp.ehlo_or_helo_if_needed()
                code, msg = lmtp.mail(mail_from or "")
                if code == 250:
                    code, msg = lmtp.rcpt(rcpt)
                return code, msg.decode("utf-8", "replace")
        except (OSError, smtplib.SMTPException) as e:
            return 451, "4.4.0 LMTP unavailable: %s" % e

    def _lmtp_deliver(self, mail_from, rcpt, data):
        """_lmtp_deliver - deliver one copy; return (code, text)"""
        try:
            with smtplib.LMTP(self.lmtp_socket, timeout=30) as lmtp:
                lmtp.sendmail(mail_from or "", [rcpt], data)
            return 250, "2.0.0 delivered"
        except smtplib.SMTPRecipientsRefused as e:
            code, msg = e.recipients[rcpt]
            return code, msg.decode("utf-8", "replace")
        except smtplib.SMTPResponseException as e:
            return e.smtp_code, e.smtp_error.decode("utf-8", "replace")
        except (OSError, smtplib.SMTPException) as e:
            return 451, "4.4.0 LMTP delivery failed: %s" % e

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        """handle_RCPT - apply the fault mode, then ask Dovecot"""
        del server
        mode = self.mode()
        if mode == "tempfail":
            LOG.info("rcpt=%s rejected: mode tempfail", address)
            return "451 4.3.0 Temporary failure (test mode tempfail)"
        if mode == "permfail":
            LOG.info("rcpt=%s rejected: mode permfail", address)
            return "550 5.7.1 Rejected (test mode permfail)"
        loop = session.loop
        code, msg = await loop.run_in_executor(
            None, self._lmtp_rcpt, envelope.mail_from, address)
        if code != 250:
            LOG.info("rcpt=%s rejected by LMTP: %d %s", address, code, msg)
            return "%d %s" % (code, msg)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        """handle_DATA - deliver to every recipient, save and log"""
        mode = self.mode()
        if mode in ("tempfail", "tempfail-data"):
            LOG.info("data rejected: mode %s", mode)
            return "451 4.3.0 Temporary failure (test mode %s)" % mode
        if mode in ("permfail", "permfail-data"):
            LOG.info("data rejected: mode %s", mode)
            return "554 5.6.0 Rejected (test mode %s)" % mode
        data = envelope.original_content or envelope.content or b""
        loop = session.loop
        for rcpt in envelope.rcpt_tos:
            code, msg = await loop.run_in_executor(
                None, self._lmtp_deliver, envelope.mail_from, rcpt, data)
            if code != 250:
                LOG.info("data to=%s failed: %d %s", rcpt, code, msg)
                return "%d %s" % (code, msg)
        self.seq += 1
        tls = session.ssl is not None or \
            server.transport.get_extra_info("ssl_object") is not None
        self._save(session, envelope, data, tls)
        return "250 2.0.0 OK queued as %04d" % self.seq

    def _save(self, session, envelope, data, tls):
        """_save - DIR/smtp/NNNN.eml and one DIR/smtp.log line"""
        path = os.path.join(self.dir, "smtp", "%04d.eml" % self.seq)
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.rename(path + ".tmp", path)
        hdrs = email.parser.BytesHeaderParser(
            policy=email.policy.compat32).parsebytes(data)
        msgid = str(hdrs.get("Message-ID", "")).strip()
        msgid = "".join(c for c in msgid if c.isprintable() and c != " ")
        line = "%s n=%04d from=<%s> to=%s size=%d auth=%s tls=%s " \
               "message_id=%s result=250\n" % (
                   time.strftime("%Y-%m-%dT%H:%M:%S"), self.seq,
                   envelope.mail_from or "",
                   ",".join("<%s>" % r for r in envelope.rcpt_tos),
                   len(data),
                   session.auth_data if session.authenticated else "-",
                   "yes" if tls else "no", msgid or "-")
        with open(os.path.join(self.dir, "smtp.log"), "a",
                  encoding="utf-8") as f:
            f.write(line)
        LOG.info("accepted %s", line.strip())


async def serve(args):
    """serve - run the listeners until SIGTERM or SIGINT"""
    loop = asyncio.get_running_loop()
    relay = Relay(args)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)

    def factory(tls_context):
        """factory - one SMTP protocol object per connection"""
        return SMTP(relay, hostname="localhost", tls_context=tls_context,
                    auth_require_tls=False,
                    authenticator=relay.authenticate,
                    enable_SMTPUTF8=True, loop=loop)

    servers = [await loop.create_server(lambda: factory(ctx), args.host,
                                        args.port)]
    if args.smtps_port:
        servers.append(await loop.create_server(lambda: factory(None),
                                                args.host, args.smtps_port,
                                                ssl=ctx))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    LOG.info("listening on %s:%d (smtps %d), lmtp %s", args.host, args.port,
             args.smtps_port, args.lmtp)
    await stop.wait()
    for srv in servers:
        srv.close()
    LOG.info("stopped")


def main():
    """main - entry point"""
    args = parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s")
    # aiosmtpd's own logger is chatty (and warns about deprecated fields).
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    try:
        asyncio.run(serve(args))
    except OSError as e:
        LOG.error("cannot listen: %s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
