#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gen_corpus.py - write the differential-test corpus into a directory.

Deterministic (fixed seed) and stdlib only.  Every message is assembled as
raw bytes from templates, so the wire form is exactly what we want to test:
Chinese and English subjects as UTF-8 B/Q, GBK, GB2312, GB18030 and Big5
encoded words or raw 8-bit UTF-8; attachments of 1 B to 200 KiB of random
bytes with base64, quoted-printable, 7bit and 8bit transfer encodings; names
in every style of SPEC §6; nested multipart/mixed, alternative and related;
message/rfc822 attachments; HTML-only mail.

usage: gen_corpus.py DIR [COUNT]
"""

import base64
import os
import random
import sys

SEED = 20231105
DEFAULT_COUNT = 96

# (text, charset) of subjects; charsets as mail clients label them.  Only
# characters the labelled charset really has, so Python and iconv agree.
SUBJECTS = [
    ("[紧急][A123456]角色数据丢失需恢复", "utf-8"),
    ("【加急】【A123456】账号被盗", "gbk"),
    ("退票申请:订单号123456", "gb2312"),
    ("退票申请：订单号：SK-88123", "gb18030"),
    ("Refund request: order no. 123456", "us-ascii"),
    ("关于[票务]的咨询/申诉(订单号/场次号:884213)", "gbk"),
    ("关于【会员积分】的申诉（订单号：A1B2C3）", "utf-8"),
    ("Re: [CM-20231105-001] 补充截图", "utf-8"),
    ("回复：[CM-20231105-002] 复议申请", "gb2312"),
    ("转发: 充值未到账 payment missing", "gbk"),
    ("關於【會員積分】的諮詢", "big5"),
    ("退票申請：訂單號 778899", "big5"),
    ("影厅座位问题 seat problem, hall 3", "gb18030"),
    ("Fwd: 广告合作 partnership", "utf-8"),
    ("[urgent][user_42] complaint about 放映", "utf-8"),
    ("登录失败 cannot login", "gb2312"),
    ("复核：版权侵权投诉", "gbk"),
    ("设备音画不同步", "gb18030"),
    ("游戏进度恢复 data loss ㊣", "gb18030"),
    ("Plain English subject about my order #A1B2-C3", "us-ascii"),
]

TEXTS = [
    "您好：\n我在贵影院购买的电影票需要退票，订单号：123456。\n谢谢！\n",
    "Hello,\nI was charged twice for order no. 778899. Please refund.\n",
    "客服你好，\n我的账号被盗了，登录不上。用户ID A123456。\n"
    "Please help, this is urgent.\n",
    "附件是截图。场次号：884213，影厅 5 号，座位 7 排 8 号。\n",
    "会员积分没有到账，订单编号 SK-88123。\nThanks,\n张三\n",
]

NAMES = [
    "截图.png", "退票凭证-订单123456.pdf", "report 2023-11.xlsx",
    "照片 001.jpg", "发票.pdf", "log.txt", "订单截图（补充）.zip",
    "very long name " + "长文件名" * 12 + ".docx", "a.b.c.tar.gz",
    "会员积分明细.csv", "screenshot.PNG", "录音 2023年11月5日.mp3",
    "two  spaces   here.txt",
    # over PARSER_FILENAME_MAX (255 bytes): cut on a character boundary
    "超长附件名" * 20 + ".pdf",
]

TYPES = [
    "image/png", "application/pdf", "application/octet-stream",
    "image/jpeg", "application/zip", "audio/mpeg",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
]

CRLF = b"\r\n"


def b64_lines(data, width=76):
    """base64 body in lines of width, each ending in CRLF."""
    s = base64.b64encode(data)
    return b"".join(s[i:i + width] + CRLF for i in range(0, len(s), width))


def casing(rnd, word):
    """a header name or token as clients spell it: usual, lower, upper."""
    return rnd.choice([word, word, word.lower(), word.upper()])


def qp_body(data):
    """quoted-printable that encodes every CR and LF, with soft breaks
    only, so the decoded bytes are exact (no line-end conversion)."""
    out = []
    line = b""
    for c in data:
        if (33 <= c <= 126 and c != 61) or (c == 32):
            tok = bytes([c])
        else:
            tok = b"=%02X" % c
        if len(line) + len(tok) > 75:
            out.append(line + b"=" + CRLF)
            line = b""
        line += tok
    # A trailing space must not end a line.
    if line.endswith(b" "):
        line = line[:-1] + b"=20"
    out.append(line + CRLF)
    return b"".join(out)


def ew_b(text, cs):
    """one RFC 2047 B word."""
    return (b"=?" + cs.encode() + b"?B?" + base64.b64encode(text.encode(cs))
            + b"?=")


def ew_q(text, cs):
    """one RFC 2047 Q word."""
    enc = []
    for c in text.encode(cs):
        if c == 32:
            enc.append(b"_")
        elif 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122:
            enc.append(bytes([c]))
        else:
            enc.append(b"=%02X" % c)
    return b"=?" + cs.encode() + b"?Q?" + b"".join(enc) + b"?="


def chunks_by_char(text, cs, max_bytes):
    """split text into pieces of at most max_bytes encoded bytes, on
    character boundaries."""
    pieces, cur = [], ""
    for ch in text:
        if cur and len((cur + ch).encode(cs)) > max_bytes:
            pieces.append(cur)
            cur = ""
        cur += ch
    if cur:
        pieces.append(cur)
    return pieces


def encode_subject(rnd, text, cs):
    """the Subject value in one of several wire forms."""
    if cs == "us-ascii":
        return text.encode()
    style = rnd.choice(["b", "q", "split-b", "split-bytes", "mixed", "raw"])
    if style == "raw" and cs == "utf-8":
        return text.encode("utf-8")
    if style == "b" or style == "raw":
        return ew_b(text, cs)
    if style == "q":
        return ew_q(text, cs)
    if style == "split-b":
        words = [ew_b(p, cs) for p in chunks_by_char(text, cs, 12)]
        return (CRLF + b" ").join(words)
    if style == "split-bytes":
        # Cut the encoded bytes mid-character: decoders must join the
        # words before converting (RFC 2047 §5 forbids this; clients do it).
        raw = text.encode(cs)
        cut = len(raw) // 2 + 1
        w1 = b"=?" + cs.encode() + b"?B?" + base64.b64encode(raw[:cut]) + b"?="
        w2 = b"=?" + cs.encode() + b"?B?" + base64.b64encode(raw[cut:]) + b"?="
        return w1 + CRLF + b" " + w2
    # ASCII prefix, then encoded words.
    prefix = rnd.choice(["Re: ", "RE: ", "Fwd: ", "FW: "])
    return prefix.encode() + ew_b(text, cs)


def pct(raw):
    """RFC 2231 percent encoding of bytes."""
    ok = (b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
          b"!#$&+-.^_`|~")
    return "".join(chr(c) if c in ok else "%%%02X" % c for c in raw).encode()


def name_params(rnd, style, name):
    """(Content-Type params, Content-Disposition value or None) for a name
    in one of the SPEC §6 styles."""
    if style == "rfc2231":
        cs = rnd.choice(["utf-8", "gbk", "gb18030"])
        v = b"filename*=" + cs.encode() + b"''" + pct(name.encode(cs))
        return b"", b"attachment;" + CRLF + b" " + v
    if style == "rfc2231-cont":
        cs = rnd.choice(["utf-8", "gbk"])
        enc = pct(name.encode(cs))
        parts, i = [], 0
        while i < len(enc):
            n = rnd.randint(8, 30)
            # never cut a %XX escape
            while i + n < len(enc) and b"%" in enc[i + n - 2:i + n]:
                n += 1
            parts.append(enc[i:i + n])
            i += n
        sec = [b"filename*0*=" + cs.encode() + b"'zh-cn'" + parts[0]]
        for k, p in enumerate(parts[1:], 1):
            sec.append(b"filename*%d*=" % k + p)
        if rnd.random() < 0.5:
            sec = [sec[0]] + list(reversed(sec[1:]))
        ct = b""
        if rnd.random() < 0.5:
            ct = b";" + CRLF + b" name=\"" + name.encode("ascii", "replace") \
                + b"\""
        return ct, b"attachment;" + CRLF + b" " + (b";" + CRLF + b" ").join(
            sec)
    if style == "quoted":
        return b"", b"attachment; filename=\"" + name.encode() + b"\""
    if style == "rfc2047":
        cs = rnd.choice(["gb2312", "utf-8", "gbk", "gb18030"])
        try:
            name.encode(cs)
        except UnicodeEncodeError:
            cs = "gb18030"
        enc = rnd.choice([ew_b, ew_q])
        w = b" ".join(enc(p, cs) for p in chunks_by_char(name, cs, 30))
        return (b";" + CRLF + b"\tname=\"" + w + b"\"",
                b"attachment;" + CRLF + b"\tfilename=\"" + w + b"\"")
    if style == "ct-name":
        return b"; name=\"" + name.encode() + b"\"", None
    if style == "ct-name-2231":
        return b"; name*=UTF-8''" + pct(name.encode()), None
    if style == "none-attachment":
        return b"", b"attachment"
    if style == "none-inline":
        return b"", b"inline" if rnd.random() < 0.5 else None
    raise ValueError(style)


NAME_STYLES = ["rfc2231", "rfc2231-cont", "quoted", "rfc2047", "ct-name",
               "ct-name-2231", "none-attachment", "none-inline"]


def rand_size(rnd):
    """1 B .. 200 KiB, log-uniform."""
    return max(1, min(200 * 1024, int(2 ** rnd.uniform(0, 17.6))))


def text_part(text, cs, cte):
    """a text/plain leaf that is the body, not an attachment."""
    raw = text.replace("\n", "\r\n").encode(cs)
    h = b"Content-Type: text/plain; charset=" + cs.encode() + CRLF
    if cte == "base64":
        return h + b"Content-Transfer-Encoding: base64" + CRLF + CRLF + \
            b64_lines(raw)
    if cte == "quoted-printable":
        return h + b"Content-Transfer-Encoding: quoted-printable" + CRLF + \
            CRLF + qp_body(raw)
    return h + b"Content-Transfer-Encoding: 8bit" + CRLF + CRLF + raw


def html_part(text, cs):
    """a text/html leaf."""
    body = "<html><body>" + "".join(
        "<p>%s</p>" % line for line in text.splitlines()) + "</body></html>"
    return (b"Content-Type: text/html; charset=" + cs.encode() + CRLF +
            b"Content-Transfer-Encoding: base64" + CRLF + CRLF +
            b64_lines(body.encode(cs)))


def attachment_part(rnd, style=None, cte=None):
    """a random attachment leaf."""
    style = style or rnd.choice(NAME_STYLES)
    name = rnd.choice(NAMES)
    ctype = rnd.choice(TYPES)
    if rnd.random() < 0.08:
        name = rnd.choice(["../../etc/" + name, "C:\\Users\\me\\" + name,
                           "dir/sub/" + name])
    cte = cte or rnd.choice(["base64", "base64", "base64",
                             "quoted-printable", "7bit", "8bit"])
    if cte == "7bit":
        # printable ASCII lines, CRLF separated
        n = rand_size(rnd) // 2 + 1
        lines = []
        while n > 0:
            k = min(n, rnd.randint(1, 76))
            lines.append(bytes(rnd.randint(32, 126) for _ in range(k)))
            n -= k
        data = CRLF.join(lines)
        ctype = "text/plain" if style not in ("none-inline",) else \
            "application/octet-stream"
        if style == "none-inline":
            style = "none-attachment"
    elif cte == "8bit":
        data = "".join(rnd.choice(TEXTS) for _ in range(
            rnd.randint(1, 20))).replace("\n", "\r\n").encode()
        ctype = "text/csv" if style not in ("none-inline",) else \
            "application/octet-stream"
        if style == "none-inline":
            style = "none-attachment"
    else:
        data = rnd.randbytes(rand_size(rnd))
    if style == "none-inline" and ctype.startswith("text/"):
        ctype = "image/png"
    ctp, disp = name_params(rnd, style, name)
    h = casing(rnd, "Content-Type").encode() + b": " + \
        casing(rnd, ctype).encode() + ctp + CRLF
    if disp is not None:
        h += casing(rnd, "Content-Disposition").encode() + b": " + disp + \
            CRLF
    if style == "none-inline":
        h += b"Content-ID: <part%d@example.cn>" % rnd.randrange(10 ** 6) + \
            CRLF
    h += casing(rnd, "Content-Transfer-Encoding").encode() + b": " + \
        casing(rnd, cte).encode() + CRLF + CRLF
    if cte == "base64":
        # Line widths seen in the wild; small parts sometimes unwrapped.
        width = rnd.choice([76, 76, 72, 64, 60])
        if len(data) < 600 and rnd.random() < 0.3:
            width = 1000
        return h + b64_lines(data, width)
    if cte == "quoted-printable":
        return h + qp_body(data)
    return h + data + CRLF


def multipart(kind, parts, boundary, extra=b""):
    """a multipart entity (with its Content-Type header)."""
    out = (b"Content-Type: multipart/" + kind.encode() + b";" + CRLF +
           b"\tboundary=\"" + boundary + b"\"" + extra + CRLF + CRLF)
    if kind == "mixed":
        out += b"This is a multi-part message in MIME format." + CRLF
    for p in parts:
        out += CRLF + b"--" + boundary + CRLF + p
        if p.endswith(CRLF):
            out = out[:-2]
    return out + CRLF + b"--" + boundary + b"--" + CRLF


class Gen:
    """state for one message: boundaries must be unique in it."""

    def __init__(self, rnd, idx):
        self.rnd = rnd
        self.idx = idx
        self.nb = 0

    def boundary(self):
        self.nb += 1
        return (b"----=_NextPart_%03d_%04X_%08X.%d" % (
            self.idx, self.rnd.randrange(1 << 16),
            self.rnd.randrange(1 << 32), self.nb))

    def headers(self, subject):
        rnd = self.rnd
        text, cs = subject
        name = rnd.choice(["张三", "李四", "Wang Wu", "客户"])
        try:
            fromname = ew_b(name, "gbk") if rnd.random() < 0.5 else \
                ew_b(name, "utf-8")
        except UnicodeEncodeError:
            fromname = name.encode()
        return (b"Return-Path: <user%d@example.cn>" % self.idx + CRLF +
                b"From: " + fromname + b" <user%d@example.cn>" % self.idx +
                CRLF + b"To: support@example.com" + CRLF +
                b"Date: Sun, 05 Nov 2023 16:%02d:00 +0800" % (self.idx % 60)
                + CRLF + b"Message-ID: <gen%d.%d@example.cn>" % (
                    self.idx, rnd.randrange(10 ** 9)) + CRLF +
                b"Subject: " + encode_subject(rnd, text, cs) + CRLF +
                b"MIME-Version: 1.0" + CRLF + b"X-Mailer: gen_corpus" + CRLF)

    def body_alt(self):
        rnd = self.rnd
        text = rnd.choice(TEXTS)
        cs = rnd.choice(["utf-8", "gbk", "gb18030"])
        return multipart("alternative", [
            text_part(text, cs, rnd.choice(["base64", "quoted-printable",
                                            "8bit"])),
            html_part(text, cs)], self.boundary())

    def related(self):
        rnd = self.rnd
        parts = [html_part(rnd.choice(TEXTS), "utf-8")]
        for _ in range(rnd.randint(1, 3)):
            parts.append(attachment_part(rnd, style="none-inline",
                                         cte="base64"))
        return multipart("related", parts, self.boundary(),
                         b"; type=\"text/html\"")

    def inner_message(self, depth):
        """a message/rfc822 attachment; its own parts must not count."""
        rnd = self.rnd
        inner = self.headers(rnd.choice(SUBJECTS))
        parts = [text_part(rnd.choice(TEXTS), "utf-8", "base64")]
        for _ in range(rnd.randint(0, 2)):
            parts.append(attachment_part(rnd))
        if depth < 1 and rnd.random() < 0.3:
            parts.append(self.inner_message(depth + 1))
        inner += multipart("mixed", parts, self.boundary())
        h = b"Content-Type: message/rfc822" + CRLF
        r = rnd.random()
        if r < 0.4:
            h += b"Content-Disposition: attachment; filename=\"" + \
                "原邮件.eml".encode() + b"\"" + CRLF
        elif r < 0.7:
            h += b"Content-Disposition: attachment" + CRLF
        return h + CRLF + inner

    def message(self):
        rnd = self.rnd
        kind = self.idx % 8
        head = self.headers(SUBJECTS[self.idx % len(SUBJECTS)])
        text = rnd.choice(TEXTS)
        cs = rnd.choice(["utf-8", "gbk", "gb18030", "gb2312"])
        try:
            text.encode(cs)
        except UnicodeEncodeError:
            cs = "gb18030"
        if kind == 0:
            # plain text only, no attachments
            return head + text_part(text, cs, rnd.choice(
                ["base64", "quoted-printable", "8bit"]))
        if kind == 1:
            # HTML only
            return head + html_part(text, cs)
        parts = []
        if kind == 2:
            parts.append(text_part(text, cs, "8bit"))
            for _ in range(rnd.randint(1, 4)):
                parts.append(attachment_part(rnd))
            return head + multipart("mixed", parts, self.boundary())
        if kind == 3:
            parts.append(self.body_alt())
            for _ in range(rnd.randint(1, 3)):
                parts.append(attachment_part(rnd))
            return head + multipart("mixed", parts, self.boundary())
        if kind == 4:
            alt = multipart("alternative", [
                text_part(text, cs, "base64"), self.related()],
                self.boundary())
            parts = [alt, attachment_part(rnd)]
            return head + multipart("mixed", parts, self.boundary())
        if kind == 5:
            parts = [text_part(text, cs, "quoted-printable"),
                     self.inner_message(0)]
            if rnd.random() < 0.5:
                parts.append(attachment_part(rnd))
            return head + multipart("mixed", parts, self.boundary())
        if kind == 6:
            # nested mixed: mixed(text, mixed(att, mixed(att)), att)
            inner = multipart("mixed", [attachment_part(rnd)],
                              self.boundary())
            mid = multipart("mixed", [attachment_part(rnd), inner],
                            self.boundary())
            parts = [text_part(text, cs, "base64"), mid,
                     attachment_part(rnd)]
            return head + multipart("mixed", parts, self.boundary())
        # one of each name style in one message
        parts = [text_part(text, cs, "8bit")]
        for st in NAME_STYLES:
            parts.append(attachment_part(rnd, style=st))
        return head + multipart("mixed", parts, self.boundary())


def main(argv):
    if len(argv) < 2 or len(argv) > 3:
        sys.stderr.write("usage: gen_corpus.py DIR [COUNT]\n")
        return 2
    out = argv[1]
    count = int(argv[2]) if len(argv) == 3 else DEFAULT_COUNT
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(SEED)
    for i in range(count):
        data = Gen(rnd, i).message()
        # A few messages with bare LF line ends, as local delivery writes.
        if i % 16 == 9:
            data = data.replace(CRLF, b"\n")
        with open(os.path.join(out, "gen-%03d.eml" % i), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
