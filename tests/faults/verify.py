#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""verify.py - prove SPEC §1's guarantees after a fault run.

Reads the store only through `ticketctl --json` (list, show, stats,
quarantine, outbox), the state directory's content-addressed files, the
servers through IMAP (tests/integration/mailbox.py's helpers) and the SMTP
relay's smtp.log, and compares all of it with what gen.py said was put in
the mailbox.  Prints one "ok - CHECK" or "FAIL - CHECK: why" line per
invariant and "figure: ..." lines; exit status 0 when every check passed.

  verify.py corpus --conf CONF --state DIR --port P --manifest M [...]
      [--mailbox INBOX] [--processed F] [--quarantine F] [--kills K]
      [--smtp-dir DIR] [--log LOG]
      [--allow-flagged N] [--no-acks]
  verify.py files --state DIR          stored files match their names
  verify.py smtp-order --smtp-dir DIR --conf CONF [--after-id N]
                                       acks after ack N, once, in order
"""

import argparse
import collections
import concurrent.futures
import hashlib
import imaplib
import importlib.util
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# tests/integration/mailbox.py (not the standard library's mailbox module)
_SPEC = importlib.util.spec_from_file_location(
    "td_mailbox", os.path.join(HERE, "..", "integration", "mailbox.py"))
mb = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(mb)

RESULTS = {"pass": 0, "fail": 0}


def ok(name):
    """ok - one passed check"""
    RESULTS["pass"] += 1
    print("ok - %s" % name)


def bad(name, why=""):
    """bad - one failed check"""
    RESULTS["fail"] += 1
    print("FAIL - %s%s" % (name, ": " + why if why else ""))


def check(name, cond, why=""):
    """check - ok or bad"""
    if cond:
        ok(name)
    else:
        bad(name, why)
    return cond


def figure(text):
    """figure - a number for the README"""
    print("figure: %s" % text)


def ctl(conf, *args):
    """ctl - ticketctl --json ARGS, parsed"""
    out = subprocess.run([os.environ.get("B", "build") + "/ticketctl", "-c",
                          conf, "--json"] + list(args),
                         capture_output=True, check=False)
    if out.returncode != 0:
        raise RuntimeError("ticketctl %s: exit %d: %s" %
                           (" ".join(args), out.returncode,
                            out.stderr.decode("utf-8", "replace")[:300]))
    return json.loads(out.stdout)


def imap_conn(port, user):
    """imap_conn - a logged-in connection to the test Dovecot"""
    conn = imaplib.IMAP4("127.0.0.1", port, timeout=60)
    conn.login(user, os.environ.get("SERVERS_PASSWORD", "secret"))
    return conn


def folder_view(conn, folder):
    """folder_view - [(uid, flags, message-id or None, sha256 of body)]"""
    try:
        n = mb.select(conn, folder)
    except imaplib.IMAP4.error:
        return []
    if n == 0:
        return []
    typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
    mb.check(typ, data, "UID FETCH " + folder)
    rows = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        head = item[0].decode("utf-8", "replace")
        uid = int(re.search(r"UID (\d+)", head).group(1))
        fl = re.search(r"FLAGS \(([^)]*)\)", head)
        flags = set(fl.group(1).split()) if fl else set()
        raw = item[1]
        hdr = raw.split(b"\r\n\r\n", 1)[0]
        mid = re.search(rb"(?im)^Message-ID:\s*(<[^>\r\n]*>)", hdr)
        rows.append((uid, flags, mid.group(1).decode() if mid else None,
                     hashlib.sha256(raw).hexdigest()))
    return rows


def header_ids(conn, folder):
    """header_ids - Message-IDs of folder's messages (one per message)"""
    try:
        n = mb.select(conn, folder)
    except imaplib.IMAP4.error:
        return []
    if n == 0:
        return []
    typ, data = conn.uid(
        "FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    mb.check(typ, data, "UID FETCH " + folder)
    ids = []
    for item in data:
        if isinstance(item, tuple):
            m = re.search(rb"<[^>\r\n]*>", item[1])
            ids.append(m.group(0).decode() if m else None)
    return ids


def walk_files(state):
    """walk_files - (checked, bad list, tmp leftovers) over raw/, attachments/"""
    checked, wrong, tmp = 0, [], 0
    names = {"raw": set(), "attachments": set()}
    for sub in ("raw", "attachments"):
        base = os.path.join(state, sub)
        for dirpath, _, files in os.walk(base):
            for name in files:
                path = os.path.join(dirpath, name)
                if name.startswith(".tmp"):
                    tmp += 1
                    continue
                h = hashlib.sha256()
                with open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                checked += 1
                names[sub].add(name)
                if h.hexdigest() != name or \
                        os.path.basename(dirpath) != name[:2]:
                    wrong.append(os.path.relpath(path, state))
    return checked, wrong, tmp, names


def cmd_files(args):
    """cmd_files - every stored file matches its hash"""
    checked, wrong, tmp, _ = walk_files(args.state)
    check("every stored file matches its SHA-256 name (%d files)" % checked,
          not wrong, "mismatch: %s" % wrong[:5])
    figure("stored files checked=%d temp_leftovers=%d" % (checked, tmp))
    return 0


def load_manifests(paths):
    """load_manifests - entries of every manifest and per-sha facts"""
    entries, users = [], set()
    for p in paths:
        with open(p, encoding="utf-8") as f:
            m = json.load(f)
        entries += m["entries"]
        users.update(m["users"])
    by_sha = {}
    for e in entries:
        by_sha.setdefault(e["sha256"], e)
    return entries, by_sha, sorted(users)


def show_all(conf, ids):
    """show_all - ticketctl show for every id, four at a time"""
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        return list(ex.map(lambda i: ctl(conf, "show", i), ids))


def cmd_corpus(args):
    """cmd_corpus - every invariant over the store, files and servers"""
    entries, by_sha, users = load_manifests(args.manifest)
    uniq = list(by_sha.values())
    kinds = collections.Counter(e["kind"] for e in uniq)
    want_tickets = kinds["normal"] + kinds["auto"]
    n_garbage_copies = sum(1 for e in entries if e["kind"] == "garbage")

    stats = ctl(args.conf, "stats")
    tickets = ctl(args.conf, "list")
    quar = ctl(args.conf, "quarantine")
    outbox = ctl(args.conf, "outbox")
    ids = [t["id"] for t in tickets]

    # Filed exactly once.
    check("stored messages + quarantine + duplicates == appended "
          "(%d + %d + %d == %d)" % (stats["messages"] - stats["quarantined"],
                                    stats["quarantined"],
                                    len(entries) - len(uniq), len(entries)),
          stats["messages"] == len(uniq),
          "store holds %d messages, %d unique were appended" %
          (stats["messages"], len(uniq)))
    check("quarantine records == unparseable messages (%d)" %
          kinds["garbage"], len(quar) == kinds["garbage"] and
          stats["quarantined"] == kinds["garbage"],
          "%d records, stats %d" % (len(quar), stats["quarantined"]))
    check("tickets == new messages (%d)" % want_tickets,
          len(tickets) == want_tickets and stats["tickets"] == want_tickets,
          "%d tickets" % len(tickets))
    check("no duplicate ticket ids", len(set(ids)) == len(ids),
          "%d ids, %d distinct" % (len(ids), len(set(ids))))

    shown = show_all(args.conf, ids)
    where = collections.defaultdict(list)
    att_shas = set()
    for t in shown:
        for m in t["messages"]:
            where[m["message_id"]].append(t["id"])
            for a in m["attachments"]:
                if a.get("sha256") and not a.get("skipped"):
                    att_shas.add(a["sha256"])
    twice = [k for k, v in where.items() if k and len(v) > 1]
    check("no Message-ID filed twice", not twice, "e.g. %s" % twice[:3])
    want_ids = {e["message_id"] for e in uniq
                if e["kind"] != "garbage" and e["message_id"]}
    missing = want_ids - set(where)
    check("every parseable message is in a ticket (%d)" % len(want_ids),
          not missing, "missing e.g. %s" % sorted(missing)[:3])
    by_index = {(e["tag"], e["index"]): e for e in uniq}
    wrong = []
    for e in uniq:
        if e["kind"] != "followup":
            continue
        orig = by_index.get((e["tag"], e["orig"]))
        if orig is None or where.get(e["message_id"]) != \
                where.get(orig["message_id"]):
            wrong.append(e["message_id"])
    check("follow-ups joined their ticket (%d)" % kinds["followup"],
          not wrong, "e.g. %s" % wrong[:3])

    # Acks: one per eligible ticket, all sent, all arrived.
    if not args.no_acks:
        want_acks = kinds["normal"]
        per_ticket = collections.Counter(a["ticket_id"] for a in outbox)
        check("one ack per new ticket (%d)" % want_acks,
              len(outbox) == want_acks and
              all(v == 1 for v in per_ticket.values()),
              "%d acks for %d tickets" % (len(outbox), len(per_ticket)))
        unsent = [a for a in outbox if a["status"] != "sent"]
        check("outbox all sent", not unsent,
              "%d not sent, e.g. %s" % (len(unsent), unsent[:1]))
        arrived = collections.Counter()
        ack_to = {a["message_id"]: a["to"] for a in outbox}
        for user in users:
            conn = imap_conn(args.port, user)
            try:
                for mid in header_ids(conn, "INBOX"):
                    arrived[(user, mid)] += 1
            finally:
                conn.logout()
        lost = [m for m, to in ack_to.items() if arrived[(to, m)] == 0]
        check("every ack arrived in its requester's mailbox (%d)" %
              len(ack_to), not lost, "%d missing" % len(lost))
        dup_acks = sum(c - 1 for c in arrived.values() if c > 1)
        strays = [k for k in arrived if k[1] not in ack_to]
        check("nothing but our acks in the requesters' mailboxes",
              not strays, "e.g. %s" % strays[:2])
        check("duplicate acks (%d) <= kills (%d)" % (dup_acks, args.kills),
              dup_acks <= args.kills)
        figure("acks queued=%d delivered=%d duplicate=%d" %
               (len(outbox), sum(arrived.values()), dup_acks))
        if args.smtp_dir:
            try:
                with open(os.path.join(args.smtp_dir, "smtp.log"),
                          encoding="utf-8") as f:
                    lines = f.read().splitlines()
            except OSError:
                lines = []
            logged = collections.Counter(
                m.group(1) for m in (re.search(r"message_id=(\S+)", ln)
                                     for ln in lines) if m)
            # A client killed after DATA leaves the relay's handler
            # cancelled: delivered but not logged.  The mailboxes count.
            figure("relay smtp.log lines for our acks=%d" %
                   sum(logged[m] for m in ack_to))

    # Files.
    checked, wrong_files, tmp, names = walk_files(args.state)
    check("every stored file matches its SHA-256 name (%d files)" % checked,
          not wrong_files, "e.g. %s" % wrong_files[:3])
    raw_missing = [e["file"] for e in uniq if e["sha256"] not in
                   names["raw"]]
    check("every appended message kept raw under its hash (%d)" % len(uniq),
          not raw_missing, "missing e.g. %s" % raw_missing[:3])
    att_missing = att_shas - names["attachments"]
    check("every attachment kept under its hash (%d distinct)" %
          len(att_shas), not att_missing, "e.g. %s" % sorted(att_missing)[:2])
    figure("stored files checked=%d temp_leftovers=%d" % (checked, tmp))

    # Server side.
    conn = imap_conn(args.port, "support@example.com")
    try:
        inbox = folder_view(conn, args.mailbox)
        processed = folder_view(conn, args.processed)
        quarantine = folder_view(conn, args.quarantine)
    finally:
        conn.logout()
    garbage = {e["sha256"] for e in uniq if e["kind"] == "garbage"}
    left = [r for r in inbox if "$Ticketed" not in r[1]]
    check("no message left unflagged in %s" % args.mailbox, not left,
          "%d unflagged, uids %s" % (len(left), [r[0] for r in left][:10]))
    check("%s empty (flagged-but-unmoved %d, allowed %d)" %
          (args.mailbox, len(inbox), args.allow_flagged),
          len(inbox) <= args.allow_flagged,
          "uids %s" % [r[0] for r in inbox][:10])
    left_g = sum(1 for r in inbox if r[3] in garbage)
    want_proc = len(entries) - n_garbage_copies
    check("%s + left == filed non-quarantine copies (%d + %d == %d)"
          % (args.processed, len(processed), len(inbox) - left_g, want_proc),
          len(processed) + len(inbox) - left_g == want_proc)
    check("%s + left == quarantine copies (%d + %d == %d)" %
          (args.quarantine, len(quarantine), left_g, n_garbage_copies),
          len(quarantine) + left_g == n_garbage_copies)
    unflag = [r for r in processed + quarantine
              if "$Ticketed" not in r[1] or "\\Seen" not in r[1]]
    check("every moved message flagged \\Seen $Ticketed", not unflag,
          "%d not" % len(unflag))
    want = collections.Counter(e["sha256"] for e in entries)
    got = collections.Counter(r[3] for r in processed + quarantine + inbox)
    check("server holds exactly the appended messages, once each copy",
          want == got, "%d extra, %d missing" %
          (sum((got - want).values()), sum((want - got).values())))
    check("%s holds only unparseable mail, %s none" %
          (args.quarantine, args.processed),
          {r[3] for r in quarantine} <= garbage and
          not {r[3] for r in processed} & garbage)
    figure("server: %s=%d %s=%d %s=%d (left flagged)" %
           (args.processed, len(processed), args.quarantine,
            len(quarantine), args.mailbox, len(inbox)))

    if args.log:
        with open(args.log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        figure("log: created=%d appended=%d duplicate=%d quarantined=%d "
               "acked=%d" % tuple(text.count("action=%s " % a) for a in
                                  ("created", "appended", "duplicate",
                                   "quarantined", "acked")))
    figure("appended=%d unique=%d tickets=%d followups=%d auto=%d "
           "quarantined=%d redelivered=%d" %
           (len(entries), len(uniq), len(tickets), kinds["followup"],
            kinds["auto"], kinds["garbage"], len(entries) - len(uniq)))
    return 0


def cmd_smtp_order(args):
    """cmd_smtp_order - the acks queued after ack id --after-id reached
    the relay once each, in order of creation (ack id)"""
    outbox = ctl(args.conf, "outbox")
    want = [a["message_id"] for a in sorted(outbox, key=lambda a: a["id"])
            if a["id"] > args.after_id]
    with open(os.path.join(args.smtp_dir, "smtp.log"), encoding="utf-8") as f:
        logged = [m.group(1) for m in (re.search(r"message_id=(\S+)", ln)
                                       for ln in f) if m]
    seen = [m for m in logged if m in set(want)]
    check("each ack reached the relay exactly once (%d)" % len(want),
          sorted(seen) == sorted(want),
          "%d logged for %d acks" % (len(seen), len(want)))
    check("acks reached the relay in order of creation", seen == want,
          "creation ranks in delivery order: %s" %
          [want.index(m) + 1 for m in seen])
    return 0


def main(argv):
    """main - one sub-command"""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("corpus")
    p.add_argument("--conf", required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--manifest", action="append", required=True)
    p.add_argument("--mailbox", default="INBOX")
    p.add_argument("--processed", default="Processed")
    p.add_argument("--quarantine", default="Quarantine")
    p.add_argument("--kills", type=int, default=0)
    p.add_argument("--smtp-dir", default="")
    p.add_argument("--log", default="")
    p.add_argument("--allow-flagged", type=int, default=0)
    p.add_argument("--no-acks", action="store_true")
    p.set_defaults(func=cmd_corpus)
    p = sub.add_parser("files")
    p.add_argument("--state", required=True)
    p.set_defaults(func=cmd_files)
    p = sub.add_parser("smtp-order")
    p.add_argument("--smtp-dir", required=True)
    p.add_argument("--conf", required=True)
    p.add_argument("--after-id", type=int, default=0)
    p.set_defaults(func=cmd_smtp_order)
    args = ap.parse_args(argv)
    try:
        args.func(args)
    except (OSError, RuntimeError, imaplib.IMAP4.error, ValueError) as e:
        bad("verify.py %s ran" % args.cmd, str(e))
    return 1 if RESULTS["fail"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
