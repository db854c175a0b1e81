#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""check.py - structured checks of the tests/hostile suites.

  controls FILE           exit 1 (and show where) if FILE holds a raw
                          control character other than LF and TAB: C0
                          (CR, ESC, NUL, ...), DEL, or a UTF-8 C1 control
  ackhdr FILE TICKET TO   check one ack as delivered (the header block line
                          by line, the decoded Subject, the decoded body);
                          prints "ok NAME" / "bad NAME: why" lines
  names SHOW.json...      check every attachment name of ticketctl show
                          --json outputs; prints ok/bad lines
  store STATE_DIR         every stored file is content-addressed; prints
                          ok/bad lines
  secret PWFILE USER FILE...  exit 1 (and name the file) if a FILE (or
                          every file under a directory) holds the secret
                          of PWFILE as is, base64 encoded, or in an AUTH
                          PLAIN blob for USER (the secret never appears in
                          this program's argv)

Exit status: 0 when every check passed, 1 otherwise (2: usage).
"""

import base64
import email.header
import hashlib
import json
import os
import re
import sys
import unicodedata

# Fields an ack may carry: ours (daemon/ack.h) plus what LMTP delivery adds.
ACK_FIELDS = {
    "date", "from", "to", "subject", "message-id", "in-reply-to",
    "references", "auto-submitted", "x-auto-response-suppress",
    "mime-version", "content-type", "content-transfer-encoding",
    "return-path", "delivered-to", "received",
}
RAW_CTL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


def is_control(ch):
    """is_control - a character a header value must never show"""
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp") and ch not in "\t"


class Report:
    """Report - ok/bad lines and the exit status"""

    def __init__(self):
        self.failed = False

    def res(self, good, name, why=""):
        """res - one result line"""
        if good:
            print("ok " + name)
        else:
            self.failed = True
            print("bad %s: %s" % (name, why))

    def status(self):
        """status - the exit status"""
        return 1 if self.failed else 0


def cmd_controls(path):
    """cmd_controls - report raw controls in a file"""
    with open(path, "rb") as f:
        data = f.read()
    found = 0
    for n, line in enumerate(data.split(b"\n"), 1):
        if RAW_CTL.search(line):
            found += 1
            if found <= 5:
                print("%s:%d: %r" % (path, n, line[:160]))
    return 1 if found else 0


def decode_value(raw):
    """decode_value - an RFC 2047 header value as text"""
    return str(email.header.make_header(email.header.decode_header(raw)))


def cmd_ackhdr(path, ticket, to):
    """cmd_ackhdr - check one delivered ack"""
    rep = Report()
    with open(path, "rb") as f:
        data = f.read()
    end = data.find(b"\r\n\r\n")
    rep.res(end > 0, "header block ends in CRLF CRLF")
    if end <= 0:
        return rep.status()
    block, body = data[:end + 2], data[end + 4:]
    lines = block.split(b"\r\n")[:-1]
    stray = [ln for ln in lines if b"\r" in ln or b"\n" in ln]
    rep.res(not stray, "no bare CR or LF in the header block",
            repr(stray[:2]))
    bad_bytes = [ln for ln in lines
                 if re.search(rb"[^\x20-\x7e\t]", ln)]
    rep.res(not bad_bytes, "header block is printable ASCII",
            repr(bad_bytes[:2]))
    fields = {}
    unknown = []
    cur = None
    for ln in lines:
        if ln[:1] in (b" ", b"\t") and cur is not None:
            fields[cur][-1] += b" " + ln.strip()
            continue
        m = re.match(rb"([!-9;-~]+):[ \t]?(.*)$", ln)
        if m is None:
            unknown.append(ln)
            continue
        cur = m.group(1).decode().lower()
        fields.setdefault(cur, []).append(m.group(2))
        if cur not in ACK_FIELDS:
            unknown.append(ln)
    rep.res(not unknown, "only the ack's own header fields",
            repr(unknown[:3]))
    rep.res("bcc" not in fields and "x-injected" not in fields,
            "no injected Bcc or X-Injected field")
    for name in ("from", "to", "subject", "message-id"):
        rep.res(len(fields.get(name, [])) == 1,
                "exactly one %s" % name, repr(fields.get(name)))
    to_vals = fields.get("to", [b""])
    rep.res(to_vals[0].strip().decode("latin-1") == to,
            "To is the requester only", repr(to_vals))
    subject = decode_value(fields.get("subject", [b""])[0].decode())
    ctl = [c for c in subject if is_control(c)]
    rep.res(not ctl, "decoded Subject has no control characters", repr(ctl))
    rep.res(subject.startswith("[%s] 已受理 / Received:" % ticket),
            "Subject names the ticket", repr(subject[:80]))
    rep.res("Bcc:" not in subject or "\n" not in subject,
            "Subject holds no header line")
    for name in ("in-reply-to", "references"):
        for v in fields.get(name, []):
            rep.res(b"bcc" not in v.lower() and
                    re.fullmatch(rb"(<[!-;=?-~]+>\s*)+", v.strip()) is not None,
                    "%s holds only message ids" % name, repr(v))
    try:
        text = base64.b64decode(re.sub(rb"\s+", b"", body),
                                validate=True).decode("utf-8")
        good = True
    except (ValueError, UnicodeDecodeError) as e:
        text, good = "", False
        rep.res(False, "body is base64 UTF-8", str(e))
    if good:
        lines = text.replace("\r\n", "\n").split("\n")
        ctl = [c for c in text.replace("\r\n", "\n")
               if is_control(c) and c != "\n"]
        rep.res(not ctl, "decoded body has no stray controls", repr(ctl[:5]))
        inj = [ln for ln in lines
               if re.match(r"(?i)\s*(bcc|x-injected)\s*:", ln)]
        rep.res(not inj, "decoded body has no injected header line",
                repr(inj[:2]))
    return rep.status()


def cmd_names(paths):
    """cmd_names - check the attachment names of show --json outputs"""
    rep = Report()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            t = json.load(f)
        for m in t.get("messages", []):
            for a in m.get("attachments", []):
                n = a.get("filename") or ""
                why = []
                if not n:
                    why.append("empty")
                if "/" in n or "\\" in n:
                    why.append("path separator")
                if n in (".", ".."):
                    why.append("dot name")
                if any(is_control(c) for c in n):
                    why.append("control character")
                if len(n.encode("utf-8")) > 255:
                    why.append("longer than 255 bytes")
                rep.res(not why, "%s attachment %s name %r is sanitised" %
                        (t.get("id"), a.get("number"), n[:40]),
                        ", ".join(why))
    return rep.status()


def cmd_store(state):
    """cmd_store - stored files are only content-addressed"""
    rep = Report()
    odd = []
    n = 0
    for root, _dirs, files in os.walk(state):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, state)
            if re.fullmatch(r"ticketd\.db(-wal|-shm|-journal)?|[^/]*\.lock",
                            rel):
                continue
            m = re.fullmatch(r"(raw|attachments)/([0-9a-f]{2})/([0-9a-f]{64})",
                             rel)
            if m is None or m.group(3)[:2] != m.group(2):
                odd.append(rel)
                continue
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            n += 1
            if digest != m.group(3):
                odd.append(rel + " (content does not match)")
    rep.res(n > 0 and not odd,
            "all %d stored files are content-addressed" % n, repr(odd[:5]))
    return rep.status()


def secret_forms(pw, user):
    """secret_forms - byte strings that would give the secret away"""
    raw = pw.encode("utf-8")
    forms = [raw, base64.b64encode(raw)]
    for authz in (b"", user.encode()):
        forms.append(base64.b64encode(authz + b"\0" + user.encode() +
                                      b"\0" + raw))
    return forms


def cmd_secret(pwfile, user, paths):
    """cmd_secret - search files for the secret in any usual form"""
    with open(pwfile, encoding="utf-8") as f:
        pw = f.read().rstrip("\r\n")
    forms = secret_forms(pw, user)
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, _dirs, names in os.walk(p):
                files += [os.path.join(root, n) for n in names]
        else:
            files.append(p)
    hits = 0
    for path in files:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        for form in forms:
            if form in data:
                hits += 1
                print("%s: holds the secret (form %d)" % (path,
                                                          forms.index(form)))
                break
    return 1 if hits else 0


def main(argv):
    """main - run one check"""
    if len(argv) >= 5 and argv[1] == "secret":
        return cmd_secret(argv[2], argv[3], argv[4:])
    if len(argv) >= 3 and argv[1] == "controls":
        return cmd_controls(argv[2])
    if len(argv) == 5 and argv[1] == "ackhdr":
        return cmd_ackhdr(argv[2], argv[3], argv[4])
    if len(argv) >= 3 and argv[1] == "names":
        return cmd_names(argv[2:])
    if len(argv) == 3 and argv[1] == "store":
        return cmd_store(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
