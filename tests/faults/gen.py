#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""gen.py - make a mailbox's worth of varied support mail for the fault tests.

Writes N raw messages (CRLF, as Dovecot hands them back) into OUT/NNNNNN.eml
in the order they are to be appended, and OUT/manifest.json describing each
one and the outcome ticketd must reach: new tickets (several subject formats,
charsets, HTML, attachments, some shared between messages), auto-replies (a
ticket without an ack), follow-ups by In-Reply-To, unparseable garbage (a
quarantine record) and re-deliveries (the same bytes again, later: a
duplicate).  The same --seed gives the same mail.

  gen.py make --n N --out DIR [--seed S] [--users A,B,...] [--tag T]
              [--auto F] [--followup F] [--garbage K] [--dups F]
              [--no-msgid F]   (fraction of new tickets without Message-ID)
              [--pad BYTES]    (an extra attachment that size in each)
  gen.py append --dir DIR --port P [--user U] [--folder F] [--from I]
              [--to J] [--max-inbox M] [--jobs K]
                                          APPEND manifest entries [I, J)
  gen.py drop --dir DIR --maildir M [--from I] [--to J] [--max-inbox M]
                                          deliver them into a Maildir
"""

import argparse
import base64
import hashlib
import imaplib
import json
import os
import random
import sys
import threading
import time

SHARED_BLOBS = 5


def enc_word(text, charset):
    """enc_word - one RFC 2047 B-encoded word in charset"""
    return "=?%s?B?%s?=" % (charset,
                            base64.b64encode(text.encode(charset)).decode())


def subject_for(rng, i, order):
    """subject_for - (plain subject, expected-format hint) of message i"""
    k = rng.randrange(9)
    if k == 0:
        return "[紧急][A%06d]角色数据丢失需恢复" % i
    if k == 1:
        return "【加急】【U%05d】账号被盗 登录不了" % i
    if k == 2:
        return "退票申请:订单号%s" % order
    if k == 3:
        return "Refund request: order no. %s" % order
    if k == 4:
        return "关于[票务]的咨询(订单号:%s)" % order
    if k == 5:
        return "关于【会员积分】的申诉（订单号：%s）" % order
    if k == 6:
        return "复议申请 第%d号" % i
    if k == 7:
        return "Question about seat %d in hall %d" % (i, rng.randrange(9))
    return "充值未到账 %d" % i


def header_subject(rng, subject):
    """header_subject - the Subject header value in some encoding"""
    k = rng.randrange(4)
    if k == 0 or subject.isascii():
        return subject if subject.isascii() else enc_word(subject, "UTF-8")
    if k == 1:
        try:
            return enc_word(subject, "GBK")
        except UnicodeEncodeError:
            return enc_word(subject, "UTF-8")
    if k == 2:
        return enc_word(subject, "UTF-8")
    return subject  # raw 8-bit UTF-8


def text_body(rng, i):
    """text_body - a few lines of Chinese and English"""
    lines = ["您好，", "我在第%d场遇到问题，请尽快处理。" % i,
             "Thanks, user %d." % i]
    lines += ["补充说明 %d-%d" % (i, k) for k in range(rng.randrange(4))]
    return "\r\n".join(lines) + "\r\n"


def wrap64(data):
    """wrap64 - base64 in 76-column lines"""
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[k:k + 76] for k in range(0, len(s), 76)) + "\r\n"


def body_part(rng, i, blobs, pad=0):
    """body_part - (content headers, body) of one of several shapes;
    pad > 0: multipart with an extra attachment of pad random bytes"""
    k = rng.randrange(6)
    if pad > 0:
        k = max(k, 3)
    text = text_body(rng, i)
    if k == 0:
        return ("Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n", text)
    if k == 1:
        return ("Content-Type: text/plain; charset=gb18030\r\n"
                "Content-Transfer-Encoding: base64\r\n",
                wrap64(text.encode("gb18030")))
    if k == 2:
        html = "<html><body><p>%s</p></body></html>\r\n" % \
            text.replace("\r\n", "<br>")
        return ("Content-Type: text/html; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n", html)
    # multipart/mixed with one or two attachments
    bnd = "b%d_%d" % (i, rng.randrange(1 << 30))
    parts = ["--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
             "Content-Transfer-Encoding: 8bit\r\n\r\n%s" % (bnd, text)]
    for n in range(1 + (k == 5)):
        if rng.random() < 0.3:
            data = blobs[rng.randrange(len(blobs))]
        else:
            data = rng.randbytes(rng.randrange(100, 4000))
        if rng.random() < 0.5:
            disp = "attachment; filename*=UTF-8''%E6%88%AA%E5%9B%BE" \
                   "-{}.png".format(n)
        else:
            disp = 'attachment; filename="%s"' % enc_word(
                "订单截图%d.jpg" % n, "GBK")
        parts.append("--%s\r\nContent-Type: application/octet-stream\r\n"
                     "Content-Disposition: %s\r\n"
                     "Content-Transfer-Encoding: base64\r\n\r\n%s" %
                     (bnd, disp, wrap64(data)))
    if pad > 0:
        parts.append("--%s\r\nContent-Type: application/octet-stream\r\n"
                     "Content-Disposition: attachment; filename=\"pad.bin\"\r\n"
                     "Content-Transfer-Encoding: base64\r\n\r\n%s" %
                     (bnd, wrap64(rng.randbytes(pad))))
    return ('Content-Type: multipart/mixed; boundary="%s"\r\n' % bnd,
            "".join(parts) + "--%s--\r\n" % bnd)


def message(frm, subject_hdr, msgid, extra, ctype, body):
    """message - raw bytes of one message"""
    hdr = ("From: %s\r\nTo: support@example.com\r\nSubject: %s\r\n"
           "Date: Sun, 05 Nov 2023 16:23:00 +0800\r\n%s"
           "%sMIME-Version: 1.0\r\n%s\r\n" %
           (frm, subject_hdr,
            "Message-ID: %s\r\n" % msgid if msgid else "", extra, ctype))
    return (hdr + body).encode("utf-8")


def make(args):
    """make - write the messages and the manifest"""
    rng = random.Random(args.seed)
    users = [u for u in args.users.split(",") if u]
    blobs = [rng.randbytes(rng.randrange(200, 3000))
             for _ in range(SHARED_BLOBS)]
    n_dup_copies = int(args.n * args.dups)
    n_unique = args.n - n_dup_copies
    n_garbage = args.garbage
    uniq = []  # (kind, bytes, message_id, from, orig index)
    normals = []
    first = min(10, n_unique // 3)
    garbage = set(rng.sample(range(first, n_unique),
                             min(n_garbage, n_unique - first)))
    for i in range(n_unique):
        user = users[i % len(users)]
        frm = "User %d <%s>" % (i, user)
        msgid = "<%s-%d@gen.test>" % (args.tag, i)
        order = "SK%s%06d" % (args.tag[:4].upper(), i)
        r = rng.random()
        if i in garbage:
            raw = b"\x01\x02garbage %d %s \xff\xfe\r\n\r\n" % (
                i, args.tag.encode())
            uniq.append(("garbage", raw, None, user, None))
            continue
        if r < args.auto:
            extra = "Auto-Submitted: auto-replied\r\n" if rng.random() < .7 \
                else "Precedence: bulk\r\n"
            subj = "Automatic reply: 不在办公室 %d" % i
            ctype, body = ("Content-Type: text/plain; charset=utf-8\r\n",
                           "I am away. %d\r\n" % i)
            raw = message(frm, header_subject(rng, subj), msgid, extra,
                          ctype, body)
            uniq.append(("auto", raw, msgid, user, None))
            continue
        if r < args.auto + args.followup and normals:
            j = normals[rng.randrange(len(normals))]
            omid, ouser = uniq[j][2], uniq[j][3]
            frm = "User %d <%s>" % (i, ouser)
            extra = "In-Reply-To: %s\r\nReferences: %s\r\n" % (omid, omid)
            subj = "Re: 补充材料 %d" % i
            ctype, body = body_part(rng, i, blobs, args.pad)
            raw = message(frm, header_subject(rng, subj), msgid, extra,
                          ctype, body)
            uniq.append(("followup", raw, msgid, ouser, j))
            continue
        subj = subject_for(rng, i, order)
        ctype, body = body_part(rng, i, blobs, args.pad)
        if rng.random() < args.no_msgid:
            msgid = None
        raw = message(frm, header_subject(rng, subj), msgid, "", ctype, body)
        if msgid is not None:
            normals.append(len(uniq))
        uniq.append(("normal", raw, msgid, user, None))
    # Order: the unique messages in sequence, each re-delivery inserted at
    # a random later position; a few messages are re-delivered twice.
    order_list = [(k, 0) for k in range(len(uniq))]
    cands = [k for k in normals] + \
        [k for k in range(len(uniq)) if uniq[k][0] == "auto"]
    rng.shuffle(cands)
    copies = {}
    left = n_dup_copies
    for k in cands:
        if left <= 0:
            break
        c = 2 if left >= 2 and rng.random() < 0.25 else 1
        copies[k] = c
        left -= c
    for k, c in copies.items():
        for cno in range(1, c + 1):
            pos = next(p for p, e in enumerate(order_list) if e == (k, 0))
            at = rng.randrange(pos + 1, len(order_list) + 1)
            order_list.insert(at, (k, cno))
    os.makedirs(args.out, exist_ok=True)
    entries = []
    for seq, (k, cno) in enumerate(order_list):
        kind, raw, msgid, user, orig = uniq[k]
        name = "%06d.eml" % seq
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(raw)
        entries.append({"file": name, "tag": args.tag, "index": k,
                        "copy": cno,
                        "kind": kind, "message_id": msgid, "user": user,
                        "orig": orig, "size": len(raw),
                        "sha256": hashlib.sha256(raw).hexdigest()})
    kinds = [u[0] for u in uniq]
    summary = {
        "appended": len(entries),
        "unique": len(uniq),
        "duplicates": len(entries) - len(uniq),
        "garbage": kinds.count("garbage"),
        "auto": kinds.count("auto"),
        "followup": kinds.count("followup"),
        "normal": kinds.count("normal"),
        "tickets": kinds.count("normal") + kinds.count("auto"),
        "acks": kinds.count("normal"),
        "quarantine_copies": sum(1 for e in entries
                                 if e["kind"] == "garbage"),
    }
    with open(os.path.join(args.out, "manifest.json"), "w",
              encoding="utf-8") as f:
        json.dump({"summary": summary, "users": users,
                   "entries": entries}, f)
    print(json.dumps(summary))
    return 0


def inbox_count(conn, folder):
    """inbox_count - messages in folder (STATUS, no SELECT)"""
    typ, data = conn.status('"%s"' % folder, "(MESSAGES)")
    if typ != "OK":
        raise imaplib.IMAP4.error("STATUS %s: %r" % (folder, data))
    return int(data[0].split(b"MESSAGES ")[1].split(b")")[0])


def append(args):
    """append - APPEND manifest entries [from, to) over --jobs connections;
    UIDs follow the manifest order to within a few places"""
    with open(os.path.join(args.dir, "manifest.json"), encoding="utf-8") as f:
        entries = json.load(f)["entries"]
    to = len(entries) if args.to < 0 else min(args.to, len(entries))
    todo = entries[args.start:to]
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "error": None}

    def login():
        """login - a fresh logged-in connection"""
        conn = imaplib.IMAP4("127.0.0.1", args.port, timeout=60)
        conn.login(args.user, args.password)
        return conn

    def worker():
        """worker - one connection taking the next entry in turn"""
        try:
            conn = login()
            while True:
                with lock:
                    k = state["next"]
                    if k >= len(todo) or state["error"]:
                        break
                    state["next"] = k + 1
                if args.max_inbox > 0 and k % 100 == 0:
                    while inbox_count(conn, args.folder) >= args.max_inbox:
                        time.sleep(0.2)
                with open(os.path.join(args.dir, todo[k]["file"]),
                          "rb") as f:
                    raw = f.read()
                for _ in range(10):
                    typ, data = conn.append('"%s"' % args.folder, None,
                                            None, raw)
                    # Dovecot, just after the folder was deleted and
                    # created again, may refuse a session that knew the
                    # old one: "Mailbox was deleted under us".  Log in
                    # again and retry.
                    if typ == "OK" or b"deleted under us" not in \
                            b" ".join(x for x in data if x):
                        break
                    conn.logout()
                    time.sleep(0.5)
                    conn = login()
                if typ != "OK":
                    raise imaplib.IMAP4.error("APPEND %s: %r" %
                                              (todo[k]["file"], data))
                with lock:
                    state["done"] += 1
            conn.logout()
        except (OSError, imaplib.IMAP4.error) as e:
            with lock:
                state["error"] = str(e)

    threads = [threading.Thread(target=worker) for _ in range(args.jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if state["error"]:
        print("gen.py: append: %s" % state["error"], file=sys.stderr)
        return 1
    print(state["done"])
    return 0


def drop(args):
    """drop - deliver manifest entries [from, to) straight into a Maildir
    (as an MDA does: tmp/ then rename into new/), named so that Dovecot
    gives them UIDs in manifest order; owned like the Maildir"""
    with open(os.path.join(args.dir, "manifest.json"), encoding="utf-8") as f:
        entries = json.load(f)["entries"]
    to = len(entries) if args.to < 0 else min(args.to, len(entries))
    st = os.stat(args.maildir)
    base = int(time.time()) - 86400
    pid = os.getpid()
    n = 0
    for k in range(args.start, to):
        if args.max_inbox > 0 and n % 100 == 0:
            while len(os.listdir(os.path.join(args.maildir, "new"))) + \
                    len(os.listdir(os.path.join(args.maildir, "cur"))) \
                    >= args.max_inbox:
                time.sleep(0.2)
        name = "%d.M%06dP%d.gen%d" % (base + k // 1000000, k % 1000000,
                                      pid, k)
        tmp = os.path.join(args.maildir, "tmp", name)
        with open(os.path.join(args.dir, entries[k]["file"]), "rb") as f:
            raw = f.read()
        with open(tmp, "wb") as f:
            f.write(raw)
        os.chown(tmp, st.st_uid, st.st_gid)
        os.rename(tmp, os.path.join(args.maildir, "new", name))
        n += 1
    print(n)
    return 0


def main(argv):
    """main - one sub-command"""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("make")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tag", default="g")
    p.add_argument("--users", default="alice@example.cn,bob@example.com")
    p.add_argument("--auto", type=float, default=0.10)
    p.add_argument("--followup", type=float, default=0.05)
    p.add_argument("--garbage", type=int, default=5)
    p.add_argument("--dups", type=float, default=0.03)
    p.add_argument("--no-msgid", type=float, default=0.0)
    p.add_argument("--pad", type=int, default=0,
                   help="bytes of an extra attachment in each new ticket")
    p.set_defaults(func=make)
    p = sub.add_parser("append")
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", default="support@example.com")
    p.add_argument("--password",
                   default=os.environ.get("SERVERS_PASSWORD", "secret"))
    p.add_argument("--folder", default="INBOX")
    p.add_argument("--from", dest="start", type=int, default=0)
    p.add_argument("--to", type=int, default=-1)
    p.add_argument("--max-inbox", type=int, default=0)
    p.add_argument("--jobs", type=int, default=4)
    p.set_defaults(func=append)
    p = sub.add_parser("drop")
    p.add_argument("--dir", required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--from", dest="start", type=int, default=0)
    p.add_argument("--to", type=int, default=-1)
    p.add_argument("--max-inbox", type=int, default=0)
    p.set_defaults(func=drop)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
