#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""loop_partner.py - the other side of a mail loop with ticketd.

Four partners write to support@example.com (by IMAP APPEND into its INBOX,
which the daemon watches) and answer every ack that reaches their own test
mailbox, the way real loop makers do:

  alice  an out-of-office auto-responder (Auto-Submitted: auto-replied),
         every other reply threaded to the ack and quoting its subject
  bob    a naive responder: no Auto-Submitted, no threading, the ticket id
         stripped from the subject (only the rate limit can stop it)
  carol  a mailbox that bounces: every ack to carol is answered by a DSN
         from MAILER-DAEMON naming the ack's Message-ID, and carol (or a
         forger) keeps sending new requests
  list   a mailing list (list@example.com) that a requester put in
         Reply-To: every ack to the list is echoed back to support@ with
         List-Id (and mostly Precedence: list), From the list or from
         support@, threaded or not

Phase 1 sends the first requests and waits for the first ack of each
partner.  Phase 2 runs ROUNDS rounds: each round every partner answers the
acks that arrived since the last round, or, when none did, answers its
latest ack again (so the pressure lasts all the rounds).  Prints one line
per partner "NAME acks=N sent=N" and "rounds=N sent=N".

Usage: loop_partner.py --port P --password PW [--rounds 100] [--pause S]
Exit status: 0, 1 on an IMAP failure or when a first ack never came.
"""

import argparse
import email
import email.header
import email.policy
import imaplib
import re
import sys
import time

SUPPORT = "support@example.com"
TICKET_RE = re.compile(r"\[([A-Z]+-\d{8}-\d{3,})\]")


def decode(v):
    """decode - an RFC 2047 header value as text"""
    return str(email.header.make_header(email.header.decode_header(v or "")))


class Box:
    """Box - one logged-in IMAP connection"""

    def __init__(self, port, user, password):
        self.conn = imaplib.IMAP4("127.0.0.1", port, timeout=30)
        self.conn.login(user, password)
        self.last_uid = 0

    def new_messages(self):
        """new_messages - (Message-ID, subject) of mail since last call"""
        typ, _ = self.conn.select("INBOX", readonly=True)
        if typ != "OK":
            raise imaplib.IMAP4.error("SELECT failed")
        typ, data = self.conn.uid("SEARCH", None,
                                  "UID %d:*" % (self.last_uid + 1))
        uids = [int(u) for u in data[0].split()] if data and data[0] else []
        out = []
        for uid in sorted(u for u in uids if u > self.last_uid):
            typ, data = self.conn.uid("FETCH", str(uid),
                                      "(BODY.PEEK[HEADER])")
            raw = b"".join(x[1] for x in data if isinstance(x, tuple))
            m = email.message_from_bytes(raw, policy=email.policy.compat32)
            out.append((m.get("Message-ID", "").strip(),
                        decode(m.get("Subject"))))
            self.last_uid = uid
        return out

    def append(self, raw):
        """append - APPEND raw to INBOX"""
        typ, data = self.conn.append("INBOX", None, None, raw)
        if typ != "OK":
            raise imaplib.IMAP4.error("APPEND: %r" % data)

    def close(self):
        """close - log out, quietly"""
        try:
            self.conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def msg(headers, body="loop"):
    """msg - raw bytes of a small UTF-8 text message"""
    lines = ["%s: %s" % (k, v) for k, v in headers]
    lines += ["MIME-Version: 1.0",
              "Content-Type: text/plain; charset=utf-8",
              "Content-Transfer-Encoding: 8bit", "", body, ""]
    return "\r\n".join(lines).encode("utf-8")


def enc(text):
    """enc - an encoded word for non-ASCII text"""
    return email.header.Header(text, "utf-8").encode()


class Partner:
    """Partner - base: counts acks and replies"""

    name = "?"
    addr = "?"

    def __init__(self, box, support):
        self.box = box
        self.support = support
        self.acks = []
        self.sent = 0
        self.seq = 0

    def mid(self):
        """mid - a fresh Message-ID"""
        self.seq += 1
        return "<loop-%s-%d-%d@partner.test>" % (self.name, self.seq,
                                                  int(time.time() * 1000))

    def send(self, raw):
        """send - deliver one message to support@"""
        self.support.append(raw)
        self.sent += 1

    def first(self):
        """first - the first request (overridden)"""
        raise NotImplementedError

    def reply(self, ack_mid, ack_subject, n):
        """reply - the loop answer to one ack (overridden)"""
        raise NotImplementedError

    def poll(self):
        """poll - new acks in the partner's mailbox"""
        new = self.box.new_messages()
        self.acks += new
        return new


class OutOfOffice(Partner):
    """OutOfOffice - an RFC 3834 auto-responder"""

    name, addr = "alice", "alice@example.cn"

    def first(self):
        self.send(msg([("From", "Alice <%s>" % self.addr),
                       ("To", SUPPORT),
                       ("Subject", enc("[紧急][A123456]角色数据丢失需恢复")),
                       ("Message-ID", self.mid())]))

    def reply(self, ack_mid, ack_subject, n):
        hdr = [("From", "Alice <%s>" % self.addr), ("To", SUPPORT),
               ("Message-ID", self.mid()),
               ("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes")]
        if n % 2:
            hdr += [("Subject", enc("Automatic reply: " + ack_subject)),
                    ("In-Reply-To", ack_mid), ("References", ack_mid)]
        else:
            hdr += [("Subject", "Out of office until Monday")]
        self.send(msg(hdr, "I am out of the office."))


class Naive(Partner):
    """Naive - replies to everything, marks nothing"""

    name, addr = "bob", "bob@example.com"

    def first(self):
        self.send(msg([("From", "Bob <%s>" % self.addr), ("To", SUPPORT),
                       ("Subject", "Cannot log in to my account"),
                       ("Message-ID", self.mid())]))

    def reply(self, ack_mid, ack_subject, n):
        del ack_mid
        subject = TICKET_RE.sub("", ack_subject).strip()
        self.send(msg([("From", "Bob <%s>" % self.addr), ("To", SUPPORT),
                       ("Subject", enc("Re: %s (%d)" % (subject, n))),
                       ("Message-ID", self.mid())],
                      "Thanks for your message. (%d)" % n))


class Bouncer(Partner):
    """Bouncer - every ack bounces; requests keep coming"""

    name, addr = "carol", "carol@example.com"

    def request(self, n):
        """request - a new, genuine-looking request from carol"""
        self.send(msg([("From", "Carol <%s>" % self.addr), ("To", SUPPORT),
                       ("Subject", enc("关于[会员积分]的咨询 %d" % n)),
                       ("Message-ID", self.mid())]))

    def first(self):
        self.request(0)

    def reply(self, ack_mid, ack_subject, n):
        b = "dsn-%d-%d" % (n, self.seq)
        dsn = "\r\n".join([
            "From: Mail Delivery System <MAILER-DAEMON@example.com>",
            "To: %s" % SUPPORT,
            "Subject: Undelivered Mail Returned to Sender",
            "Message-ID: %s" % self.mid(),
            "Auto-Submitted: auto-replied",
            "MIME-Version: 1.0",
            "Content-Type: multipart/report; report-type=delivery-status;"
            " boundary=\"%s\"" % b,
            "",
            "--" + b,
            "Content-Type: text/plain",
            "",
            "Delivery to %s failed permanently." % self.addr,
            "--" + b,
            "Content-Type: message/delivery-status",
            "",
            "Reporting-MTA: dns; mx.example.com",
            "",
            "Final-Recipient: rfc822; %s" % self.addr,
            "Action: failed",
            "Status: 5.1.1",
            "Diagnostic-Code: smtp; 550 5.1.1 user unknown",
            "",
            "--" + b,
            "Content-Type: text/rfc822-headers",
            "",
            "From: %s" % SUPPORT,
            "To: %s" % self.addr,
            "Subject: %s" % enc(ack_subject),
            "Message-ID: %s" % ack_mid,
            "",
            "--%s--" % b, ""])
        self.send(dsn.encode("utf-8"))
        self.request(n)


class MailingList(Partner):
    """MailingList - echoes what it gets to its members (support@ too)"""

    name, addr = "list", "list@example.com"

    def first(self):
        self.send(msg([("From", "Dave <dave@example.org>"), ("To", SUPPORT),
                       ("Cc", self.addr), ("Reply-To", self.addr),
                       ("Subject", "Inquiry about [points]"),
                       ("Message-ID", self.mid())]))

    def reply(self, ack_mid, ack_subject, n):
        hdr = [("To", self.addr), ("Message-ID", self.mid()),
               ("List-Id", "Dev list <dev.example.com>"),
               ("List-Post", "<mailto:%s>" % self.addr)]
        if n % 3 != 0:
            hdr.append(("Precedence", "list"))
        bare = TICKET_RE.sub("", ack_subject).strip()
        if n % 3 == 1:
            # threaded, From the list, replies to us
            hdr += [("From", "%s <%s>" % (enc("樱花影院客服 via Dev"),
                                          self.addr)),
                    ("Reply-To", SUPPORT),
                    ("Subject", enc("[dev] " + ack_subject)),
                    ("In-Reply-To", ack_mid)]
        elif n % 3 == 2:
            # the list keeps our From
            hdr += [("From", "%s <%s>" % (enc("樱花影院客服"), SUPPORT)),
                    ("Subject", enc("[dev] " + bare))]
        else:
            # From the list, nothing to thread by, only List-Id
            hdr += [("From", "Dev list <%s>" % self.addr),
                    ("Subject", enc("[dev] %s %d" % (bare, n)))]
        self.send(msg(hdr, "Echo of a list post. (%d)" % n))


def main(argv):
    """main - the two phases"""
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--pause", type=float, default=0.05)
    ap.add_argument("--first-timeout", type=float, default=30)
    args = ap.parse_args(argv)
    boxes = []
    try:
        support = Box(args.port, SUPPORT, args.password)
        boxes.append(support)
        partners = []
        for cls in (OutOfOffice, Naive, Bouncer, MailingList):
            b = Box(args.port, cls.addr, args.password)
            boxes.append(b)
            partners.append(cls(b, support))
        for p in partners:
            p.first()
        deadline = time.monotonic() + args.first_timeout
        while not all(p.acks for p in partners):
            for p in partners:
                p.poll()
            if time.monotonic() > deadline:
                print("first acks missing: %s" % " ".join(
                    p.name for p in partners if not p.acks), file=sys.stderr)
                return 1
            time.sleep(0.1)
        for p in partners:
            p.reply(p.acks[0][0], p.acks[0][1], 0)
        for n in range(1, args.rounds):
            for p in partners:
                new = p.poll()
                for mid, subject in new or [p.acks[-1]]:
                    p.reply(mid, subject, n)
            time.sleep(args.pause)
        for p in partners:
            p.poll()
            print("%s acks=%d sent=%d" % (p.name, len(p.acks), p.sent))
        print("rounds=%d sent=%d" % (args.rounds,
                                     sum(p.sent for p in partners)))
        return 0
    except (OSError, imaplib.IMAP4.error) as e:
        print("loop_partner.py: %s" % e, file=sys.stderr)
        return 1
    finally:
        for b in boxes:
            b.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
