#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""oracle.py - what Python's email package says a message contains.

For each file: the decoded Subject and the attachment list, using the same
definition as SPEC §6 and parser/parser.h.  A MIME leaf is an attachment
when it has Content-Disposition: attachment, a filename (Content-Disposition
filename or Content-Type name, in any encoding Python decodes), or is not
text/*; a message/* part is one attachment and is not descended into.  The
list is in depth-first document order.  Filenames are sanitised the way
parser.h promises (controls and path parts removed, at most 255 bytes,
empty -> "attachment-N", N counted from 1 among the attachments).

usage: oracle.py FILE...   (prints a JSON array, one object per file)
"""

import email
import email.policy
import hashlib
import json
import re
import sys
from email.parser import BytesParser

FILENAME_MAX = 255  # parser/limits.h PARSER_FILENAME_MAX

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def decode_raw8(raw):
    """SPEC §2 for raw 8-bit header bytes: UTF-8 if valid, else GB18030."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", "replace")


def header_text(msg, name):
    """a header decoded by policy.default; raw 8-bit bytes that are not
    UTF-8 are read as GB18030 first (Python would give U+FFFD)."""
    for k, v in msg.raw_items():
        if k.lower() != name:
            continue
        raw = v.encode("ascii", "surrogateescape") if isinstance(v, str) \
            else str(v).encode("utf-8")
        if any(c >= 0x80 for c in raw):
            text = decode_raw8(raw)
            text = "".join(text.replace("\r", "").split("\n"))
            return str(email.policy.default.header_factory(name, text))
        return str(msg[name])
    return ""


def fold_ws(s):
    """collapse whitespace runs to one space and trim (how subjects are
    compared: folding is the parser's business, not the decoding's)."""
    return " ".join(s.split())


def sanitise_filename(name):
    """parser.h: no path, no controls (TAB becomes a space, as in
    common/utf8.h), whitespace runs folded, at most FILENAME_MAX bytes."""
    if name is None:
        return ""
    name = _CONTROLS.sub("", str(name).replace("\t", " "))
    name = re.split(r"[/\\]", name)[-1]
    name = " ".join(name.split())
    if name in (".", ".."):
        name = ""
    raw = name.encode("utf-8", "surrogatepass")
    if len(raw) > FILENAME_MAX:
        raw = raw[:FILENAME_MAX]
        name = raw.decode("utf-8", "ignore")
    return name


def is_garbled(s):
    """whether a decoded string holds U+FFFD or lone surrogates."""
    return s is not None and any(
        c == "\ufffd" or "\ud800" <= c <= "\udfff" for c in s)


def get_filename(part):
    """part.get_filename(), None when the parameters are too broken."""
    try:
        return part.get_filename()
    except Exception:  # noqa: BLE001 - malformed params: no name
        return None


def part_filename(part, legacy):
    """the filename as Python decodes it: Content-Disposition filename,
    else Content-Type name (RFC 2231 and RFC 2047 both handled).

    policy.default decodes each RFC 2231 continuation section on its own,
    so a multibyte character split across sections comes out garbled; the
    compat32 parser joins the sections as bytes first (as RFC 2231 says).
    When the default result is garbled and compat32's is not, use that."""
    name = get_filename(part)
    if is_garbled(name) and legacy is not None:
        alt = get_filename(legacy)
        if alt is not None and not is_garbled(alt):
            name = alt
    if name is not None and "=?" in name:
        name = str(email.policy.default.header_factory("x-name", name))
    return name


def is_attachment(part, ctype, name):
    """SPEC §6 attachment rule for a leaf."""
    if ctype.startswith("message/"):
        return True
    if part.get_content_disposition() == "attachment":
        return True
    if name:
        return True
    return not ctype.startswith("text/")


def walk(part, legacy, out, is_root):
    """collect attachments depth-first; legacy is the same part as the
    compat32 parser sees it (or None)."""
    ctype = part.get_content_type()
    if ctype.startswith("message/") and not is_root:
        leaf(part, legacy, ctype, out, True)
        return
    if part.is_multipart() and ctype.startswith("multipart/"):
        subs = part.get_payload()
        lsubs = legacy.get_payload() if legacy is not None and \
            legacy.is_multipart() else []
        if len(lsubs) != len(subs):
            lsubs = [None] * len(subs)
        for sub, lsub in zip(subs, lsubs):
            walk(sub, lsub, out, False)
        return
    if is_root and ctype.startswith("message/"):
        # A top-level message/rfc822 body is the whole attachment too.
        leaf(part, legacy, ctype, out, True)
        return
    if is_root and not ctype.startswith("text/"):
        leaf(part, legacy, ctype, out, False)
        return
    if not is_root:
        leaf(part, legacy, ctype, out, False)


def leaf(part, legacy, ctype, out, is_message):
    """one leaf: record it when it is an attachment."""
    name = part_filename(part, legacy)
    if not is_attachment(part, ctype, name):
        return
    fname = sanitise_filename(name)
    if fname == "":
        fname = "attachment-%d" % (len(out) + 1)
    att = {"filename": fname, "content_type": ctype, "is_message":
           is_message}
    if is_message:
        att["size"] = None
        att["sha256"] = None
    else:
        data = part.get_payload(decode=True)
        if data is None:
            data = b""
        att["size"] = len(data)
        att["sha256"] = hashlib.sha256(data).hexdigest()
    out.append(att)


def oracle(path):
    """the expected parse of one file."""
    with open(path, "rb") as f:
        raw = f.read()
    msg = BytesParser(policy=email.policy.default).parsebytes(raw)
    legacy = BytesParser(policy=email.policy.compat32).parsebytes(raw)
    atts = []
    walk(msg, legacy, atts, True)
    return {"file": path, "subject": fold_ws(header_text(msg, "subject")),
            "attachments": atts}


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: oracle.py FILE...\n")
        return 2
    json.dump([oracle(p) for p in argv[1:]], sys.stdout, ensure_ascii=False,
              indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
