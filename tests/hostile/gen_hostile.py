#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""gen_hostile.py - hostile mail for the tests/hostile suites.

Writes one set of raw messages (CRLF line ends, built by hand so that
nothing is repaired on the way) into OUTDIR as NAME.eml:

  injection  CR/LF, ESC, NUL, DEL and C1 controls in the subject, the From
             display name, attachment names, user ids and Message-IDs,
             carried in RFC 2047 / RFC 2231 encodings so that they survive
             SMTP and IMAP; one requester per message
  names      attachment names with ../, absolute paths, backslashes, NUL
             (RFC 2231 %00), controls, 1,000-character names; MARKER is put
             into every name so that a file escaping the state directory
             can be found by name
  limits     over-limit and broken messages (12 MiB attachment, 200 parts,
             depth 40, 300 KiB header block, 0 bytes, no final boundary,
             broken base64, binary garbage, 100,000-character subject)
  redos      pathological input for every built-in subject pattern and
             the body's order-number scan
  oversized  one 2 MiB message with a 1.5 MiB attachment (the daemon
             test sets [limits] message_max = 1M)

Usage: gen_hostile.py SET OUTDIR [MARKER]
"""

import base64
import os
import random
import sys
import urllib.parse

CRLF = b"\r\n"


def b_word(text):
    """b_word - one RFC 2047 B encoded word of text (UTF-8)"""
    return b"=?UTF-8?B?" + base64.b64encode(text.encode("utf-8")) + b"?="


def b_words(text, chunk=30):
    """b_words - text as several encoded words (folded header value)"""
    parts = [text[i:i + chunk] for i in range(0, len(text), chunk)] or [""]
    return (CRLF + b" ").join(b_word(p) for p in parts)


def rfc2231(value):
    """rfc2231 - an extended parameter value (UTF-8, all bytes escaped)"""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return b"UTF-8''" + urllib.parse.quote_from_bytes(raw, safe="").encode()


def headers(frm, subject, msgid, extra=b""):
    """headers - a minimal header block (subject already encoded)"""
    return (b"From: " + frm + CRLF +
            b"To: support@example.com" + CRLF +
            b"Subject: " + subject + CRLF +
            b"Message-ID: " + msgid + CRLF +
            b"Date: Sun, 05 Nov 2023 16:23:00 +0800" + CRLF +
            extra +
            b"MIME-Version: 1.0" + CRLF)


def plain(frm, subject, msgid, body=b"hello", extra=b""):
    """plain - a text/plain message"""
    return (headers(frm, subject, msgid, extra) +
            b"Content-Type: text/plain; charset=utf-8" + CRLF +
            b"Content-Transfer-Encoding: 8bit" + CRLF + CRLF + body + CRLF)


def mixed(frm, subject, msgid, parts, boundary=b"=_hostile_b", extra=b"",
          close=True):
    """mixed - multipart/mixed of (header bytes, body bytes) parts"""
    out = (headers(frm, subject, msgid, extra) +
           b"Content-Type: multipart/mixed; boundary=\"" + boundary + b"\"" +
           CRLF + CRLF + b"This is a multi-part message." + CRLF)
    for h, body in parts:
        out += b"--" + boundary + CRLF + h + CRLF + body + CRLF
    if close:
        out += b"--" + boundary + b"--" + CRLF
    return out


def text_part(body=b"see attachment"):
    """text_part - the text/plain body part"""
    return (b"Content-Type: text/plain; charset=utf-8" + CRLF, body)


def att_part(disp_param, data=b"hostile attachment data", ctype_param=b""):
    """att_part - a base64 attachment with the given disposition params"""
    h = (b"Content-Type: application/octet-stream" + ctype_param + CRLF +
         b"Content-Disposition: attachment" + disp_param + CRLF +
         b"Content-Transfer-Encoding: base64" + CRLF)
    return (h, base64.encodebytes(data).replace(b"\n", CRLF))


# Controls every injection message carries somewhere.
EVIL = "\r\nBcc: evil@x.example\r\nX-Injected: yes\r\n\x1b[31m\x07\x00\x7f\u0085\u2028"


def set_injection(marker):
    """set_injection - name -> message"""
    del marker
    m = {}
    # Subject: urgent format whose user id and summary carry the controls.
    m["inj-subject"] = plain(
        b"Alice <alice@example.cn>",
        b_words("[紧急][A123" + EVIL + "]角色数据丢失需恢复" + EVIL),
        b"<inj-subject@hostile.test>")
    # From display name (encoded, and a raw quoted one with a bare CR).
    m["inj-from"] = plain(
        b_words("Bob" + EVIL + "Smith") + b" <bob@example.com>",
        b"Refund request: order #778899",
        b"<inj-from@hostile.test>",
        extra=b"Reply-To: \"Bob\rBcc: evil2@x.example\" <bob@example.com>" +
        CRLF)
    # Attachment names: RFC 2231 and RFC 2047 forms, Content-Type name too.
    m["inj-filename"] = mixed(
        b"Carol <carol@example.com>", b"invoice attached",
        b"<inj-filename@hostile.test>",
        [text_part(),
         att_part(b"; filename*=" + rfc2231("a" + EVIL + "b.pdf")),
         att_part(b"; filename=\"" + b_word("c" + EVIL + "d.png") + b"\""),
         att_part(b"", ctype_param=b"; name=\"" +
                  b_word("e" + EVIL + "f.txt") + b"\"")])
    # User id in an English urgent subject, control in the id itself, and
    # a hostile Message-ID / References (folded, with a Bcc inside).
    m["inj-userid"] = plain(
        b"Dave <dave@example.com>",
        b_words("[urgent][U1\x1b]2\r\nBcc: evil3@x.example] " +
                "account locked" + EVIL),
        b"<inj-userid@hostile.test>",
        extra=b"References: <ref1@hostile.test>" + CRLF +
        b" <ref2\r\nBcc: evil4@x.example>" + CRLF)
    # Raw (unencoded) ESC, BEL and a bare CR in fields the log shows
    # (from=, message_id=): the requester is unusable, so no ack.
    m["inj-logged"] = (
        b"From: \"Eve\x1b[2J\" <\"eve\x1b]0;pwn\x07\"@example.com>" + CRLF +
        b"To: support@example.com" + CRLF +
        b"Subject: log test \x1b[31mred\x07" + CRLF +
        b"Message-ID: <logged\x1b[31m\x07\r-id@hostile.test>" + CRLF + CRLF +
        b"body" + CRLF)
    return m


# Names with the directory-escape tricks; {M} becomes the marker.
NAME_CASES = [
    ("dotdot", b"; filename=\"../../../../../tmp/{M}-dotdot.txt\""),
    ("dotdot-2231", None),  # filled in below: %2e%2e%2f in RFC 2231
    ("absolute", b"; filename=\"/tmp/{M}-absolute.txt\""),
    ("absolute-etc", b"; filename=\"/etc/{M}-cron.d\""),
    ("backslash", b"; filename=\"..\\\\..\\\\..\\\\{M}-backslash.dll\""),
    ("backslash-raw", b"; filename=C:\\Windows\\{M}-raw.exe"),
    ("nul", None),  # RFC 2231 %00
    ("controls", None),  # RFC 2231 %0D%0A%1B%7F and C1
    ("encoded-dotdot", None),  # RFC 2047 ../
    ("only-dots", b"; filename=\"..\""),
    ("only-dot", b"; filename=\".\""),
    ("only-slash", b"; filename=\"/\""),
    ("empty", b"; filename=\"\""),
    ("long-ascii", None),
    ("long-cjk", None),
    ("ctype-name", None),  # Content-Type name with a path
]


def set_names(marker):
    """set_names - one message per trick, plus one holding all of them"""
    mk = marker.encode()
    special = {
        "dotdot-2231": b"; filename*=UTF-8''%2e%2e%2f%2e%2e%2f%2e%2e%2ftmp%2f" +
                       mk + b"-2231.txt",
        "nul": b"; filename*=" + rfc2231(b"evil\x00" + mk +
                                         b"-nul.txt\x00../../x"),
        "controls": b"; filename*=" + rfc2231("ctl\r\n\x1b[2J\x7f\u0085" +
                                              marker + "-ctl\x07.txt"),
        "encoded-dotdot": b"; filename=\"" + b_word("../../../tmp/" + marker +
                                                  "-2047.txt") + b"\"",
        "long-ascii": b"; filename=\"" + mk + b"-" + b"A" * 1000 + b".txt\"",
        "long-cjk": b"; filename*=" + rfc2231(marker + "-" + "长" * 1000 +
                                              ".txt"),
    }
    m = {}
    allparts = [text_part()]
    for i, (name, param) in enumerate(NAME_CASES):
        data = ("content of %s %s" % (name, marker)).encode()
        if name == "ctype-name":
            part = att_part(b"", data, b"; name=\"../../tmp/" + mk +
                            b"-ctype.txt\"")
        else:
            p = special.get(name, param).replace(b"{M}", mk)
            part = att_part(p, data)
        allparts.append(part)
        m["name-%02d-%s" % (i, name)] = mixed(
            b"Namer <namer%d@example.com>" % i,
            b"attachment name test " + name.encode(),
            b"<name-%d-%s@hostile.test>" % (i, mk), [text_part(), part])
    m["name-all"] = mixed(b"Namer <namer-all@example.com>",
                          b"all attachment names", b"<name-all-" + mk +
                          b"@hostile.test>", allparts)
    return m


def nested(depth, leaf):
    """nested - depth levels of multipart/mixed around leaf part bytes"""
    body = leaf
    for d in range(depth, 0, -1):
        b = b"deep%d" % d
        body = (b"Content-Type: multipart/mixed; boundary=\"" + b + b"\"" +
                CRLF + CRLF + b"--" + b + CRLF + body + CRLF +
                b"--" + b + b"--" + CRLF)
    return body


def set_limits(marker):
    """set_limits - over-limit and broken messages"""
    del marker
    rnd = random.Random(20231105)
    frm = b"Limits <limits@example.com>"
    m = {}
    big = rnd.randbytes(256 * 1024) * 48
    m["big-attachment"] = mixed(
        frm, b"12 MiB attachment", b"<big@hostile.test>",
        [text_part(), att_part(b"; filename=\"big.bin\"", big)])
    parts = [text_part()]
    for i in range(199):
        parts.append(att_part(b"; filename=\"part%03d.txt\"" % i,
                              b"part %d" % i))
    m["many-parts"] = mixed(frm, b"200 parts", b"<parts@hostile.test>",
                            parts)
    leaf = (b"Content-Type: application/octet-stream" + CRLF +
            b"Content-Disposition: attachment; filename=\"deep.txt\"" +
            CRLF + CRLF + b"at the bottom" + CRLF)
    inner = nested(40, leaf)
    m["deep-40"] = (headers(frm, b"nesting depth 40", b"<deep@hostile.test>") +
                    inner)
    filler = b"".join(b"X-Filler-%05d: " % i + b"f" * 90 + CRLF
                      for i in range(3200))
    m["header-300k"] = plain(frm, b"header block over 300 KiB",
                             b"<hdr@hostile.test>", extra=filler)
    m["empty-0-bytes"] = b""
    m["no-final-boundary"] = mixed(
        frm, b"missing final boundary", b"<nofinal@hostile.test>",
        [text_part(b"body before the cut"),
         att_part(b"; filename=\"cut.txt\"", b"cut attachment")],
        close=False)
    bad64 = (b"Content-Type: application/pdf" + CRLF +
             b"Content-Disposition: attachment; filename=\"broken.pdf\"" +
             CRLF + b"Content-Transfer-Encoding: base64" + CRLF,
             b"JVBERi0xLjQK!!!!****====\x00\xff\xfe@@@@" + CRLF +
             b"=" * 300 + CRLF + b"QUJD" * 10 + b"=A=B=C")
    m["broken-base64"] = mixed(frm, b"broken base64", b"<b64@hostile.test>",
                               [text_part(), bad64])
    m["binary-garbage"] = rnd.randbytes(65536)
    long_subject = ("长" + "a" * 9) * 10000
    m["subject-100k"] = plain(frm, b_words(long_subject, 40),
                              b"<subj@hostile.test>")
    m["subject-100k-raw"] = plain(frm, b"x" * 100000,
                                  b"<subjraw@hostile.test>")
    return m


def set_redos(marker):
    """set_redos - worst cases for each built-in pattern (rules.c)"""
    del marker
    frm = b"Redos <redos@example.com>"
    ws = " \t" * 500
    subjects = {
        # follow-up: ticket id pattern with near misses
        "follow-up": "CM-" + "20231105-" * 200 + "CM-2023110" * 50,
        # urgent: optional user-id bracket never closed, long blanks
        "urgent": "[紧急]" + ws + "[" + ws + "A" * 32 + ws + "[" * 200,
        "urgent-en": "[ urgent " + " " * 900 + "]" + "[" * 300 + "_-" * 200,
        # refund: label and separators repeated without a value
        "refund": "退票申请" + ws + ":" + "订单号" * 100 + ws + "：" * 200,
        "refund-en": "refund request" + ws + "order no." * 80 + " #" * 200 +
                     "a" * 31 + "-" * 200,
        # inquiry/appeal (zh): category bracket never closed
        "inquiry-zh": "关于" + ws + "[" + "票" * 64 + "的咨询" * 100 +
                      "(订单号:" + "A" * 31 + "-" * 300,
        # inquiry/appeal (en): kind alternations and blanks
        "inquiry-en": "inquiry/appeal/inquiry/" * 40 + ws + "about" + ws +
                      "[" + "x" * 64 + "(" * 300 + "order id" + " " * 300,
        # review: the keyword never completes
        "review": "review" + ws + "reques" * 200 + "复" * 300,
        # the same without blanks (normalisation folds runs of blanks)
        "urgent-brackets": "[紧急]" + "[A" * 1000 + "]" * 3,
        "refund-labels": "退票申请" + "订单号:" * 300 + "A" * 31 + "-",
        "inquiry-kinds": "关于[" + "票" * 60 + "]的" + "咨询/" * 300 + "申诉(",
    }
    m = {}
    for name, subj in subjects.items():
        m["redos-" + name] = plain(frm, b_words(subj, 40),
                                   ("<redos-%s@hostile.test>" % name).encode())
    # The body's order-number scan (64 KiB scanned).
    body = ("订单号" + " " * 40 + ":" + " " * 40 + "A" * 31 + "-" * 2 +
            "order" + " " * 50 + "number" + " #" * 20 + "b" * 33 + " ") * 300
    m["redos-body-orders"] = plain(frm, b"please check my order",
                                   b"<redos-body@hostile.test>",
                                   body=body.encode())
    # Category keywords: long text full of near-miss keyword starts.
    body2 = ("退" + "款x" + "会" + "x积" + "a") * 20000
    m["redos-body-keywords"] = plain(frm, b"question",
                                     b"<redos-kw@hostile.test>",
                                     body=body2.encode())
    return m


def set_oversized(marker):
    """set_oversized - one message over a 1 MiB message_max"""
    rnd = random.Random(7)
    data = rnd.randbytes(1536 * 1024)
    return {"oversized": mixed(
        b"Alice <alice@example.cn>", b"\xe5\xa4\xa7\xe9\x99\x84\xe4\xbb\xb6 "
        b"big attachment " + marker.encode(),
        b"<oversized-" + marker.encode() + b"@hostile.test>",
        [text_part("订单号：SK-20231105 附件太大".encode()),
         att_part(b"; filename=\"scan.bin\"", data)])}


SETS = {
    "injection": set_injection,
    "names": set_names,
    "limits": set_limits,
    "redos": set_redos,
    "oversized": set_oversized,
}


def main(argv):
    """main - write one set"""
    if len(argv) not in (3, 4) or argv[1] not in SETS:
        print(__doc__.splitlines()[-1], file=sys.stderr)
        return 2
    marker = argv[3] if len(argv) == 4 else "hostile"
    os.makedirs(argv[2], exist_ok=True)
    for name, raw in sorted(SETS[argv[1]](marker).items()):
        with open(os.path.join(argv[2], name + ".eml"), "wb") as f:
            f.write(raw)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
