#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mailbox.py - look into and fill the test Dovecot's mailboxes.

A small CLI over the standard library's imaplib for the integration tests:
plain IMAP to 127.0.0.1, LOGIN with the test password.  --port defaults to
$IMAP_PORT, --user to support@example.com, --password to $SERVERS_PASSWORD
or "secret" (eval "$(servers_env DIR)" sets both).  Exit status: 0 ok,
1 IMAP failure or timeout, 2 usage.

  append [--folder F] [--flags '\\Seen'] FILE...   one line per file: its UID
  count [--folder F]                       number of messages
  list-folders                             one folder name per line
  fetch-all [--folder F] --out DIR         DIR/<uid>.eml, prints how many
  flags [--folder F]                       "<uid> <flags>" per message
                                           (\\Recent left out)
  wait [--folder F] --count N [--timeout S]  until F holds at least N
  uidvalidity [--folder F]                 the folder's UIDVALIDITY
  create-folder F / delete-folder F
"""

import argparse
import imaplib
import os
import re
import sys
import time


def quote(name):
    """quote - an IMAP quoted string for a folder name"""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(args):
    """connect - logged-in IMAP4 connection"""
    conn = imaplib.IMAP4(args.host, args.port, timeout=30)
    conn.login(args.user, args.password)
    return conn


def check(typ, data, what):
    """check - raise unless an IMAP response is OK"""
    if typ != "OK":
        raise imaplib.IMAP4.error("%s: %s %r" % (what, typ, data))
    return data


def select(conn, folder, readonly=True):
    """select - select folder; return its message count"""
    data = check(*conn.select(quote(folder), readonly=readonly),
                 "SELECT " + folder)
    return int(data[0])


def uid_list(conn):
    """uid_list - UIDs of the selected folder, ascending"""
    data = check(*conn.uid("SEARCH", None, "ALL"), "UID SEARCH")
    return [int(u) for u in data[0].split()] if data and data[0] else []


def cmd_append(conn, args):
    """cmd_append - APPEND raw files, print the UID of each"""
    for path in args.files:
        with open(path, "rb") as f:
            raw = f.read()
        typ, data = conn.append(quote(args.folder), args.flags or None,
                                None, raw)
        check(typ, data, "APPEND " + path)
        m = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
        print(m.group(1).decode() if m else "?")
    return 0


def cmd_count(conn, args):
    """cmd_count - print the number of messages"""
    print(select(conn, args.folder))
    return 0


def cmd_list_folders(conn, args):
    """cmd_list_folders - print every folder name"""
    del args
    data = check(*conn.list(), "LIST")
    for line in data:
        if line is None:
            continue
        if isinstance(line, tuple):
            # A literal name: (b'(\\HasNoChildren) "." {5}', b'name')
            print(line[1].decode("utf-8", "replace"))
            continue
        text = line.decode("utf-8", "replace")
        m = re.match(r'\(.*?\) (?:"(?:[^"\\]|\\.)*"|NIL) (.*)$', text)
        if not m:
            continue
        name = m.group(1)
        if name.startswith('"') and name.endswith('"'):
            name = re.sub(r"\\(.)", r"\1", name[1:-1])
        print(name)
    return 0


def fetch_raw(conn, uid):
    """fetch_raw - the raw bytes of message UID (without setting \\Seen)"""
    data = check(*conn.uid("FETCH", str(uid), "(BODY.PEEK[])"),
                 "UID FETCH %d" % uid)
    for item in data:
        if isinstance(item, tuple):
            return item[1]
    raise imaplib.IMAP4.error("UID FETCH %d: no body" % uid)


def cmd_fetch_all(conn, args):
    """cmd_fetch_all - write every message as OUT/<uid>.eml"""
    select(conn, args.folder)
    os.makedirs(args.out, exist_ok=True)
    uids = uid_list(conn)
    for uid in uids:
        with open(os.path.join(args.out, "%d.eml" % uid), "wb") as f:
            f.write(fetch_raw(conn, uid))
    print(len(uids))
    return 0


def cmd_flags(conn, args):
    """cmd_flags - print "<uid> <flags>" per message"""
    if select(conn, args.folder) == 0:
        return 0
    data = check(*conn.uid("FETCH", "1:*", "(UID FLAGS)"), "UID FETCH")
    rows = []
    for line in data:
        if not isinstance(line, bytes):
            continue
        text = line.decode("utf-8", "replace")
        u = re.search(r"UID (\d+)", text)
        f = re.search(r"FLAGS \(([^)]*)\)", text)
        if u:
            flags = f.group(1).split() if f else []
            rows.append((int(u.group(1)),
                         " ".join(x for x in flags if x != "\\Recent")))
    for uid, flags in sorted(rows):
        print(("%d %s" % (uid, flags)).rstrip())
    return 0


def cmd_wait(conn, args):
    """cmd_wait - poll until the folder holds at least COUNT messages"""
    deadline = time.monotonic() + args.timeout
    n = 0
    while True:
        try:
            n = select(conn, args.folder)
        except imaplib.IMAP4.error:
            n = 0  # the folder does not exist (yet)
        if n >= args.count:
            print(n)
            return 0
        if time.monotonic() > deadline:
            print("timeout: %s has %d of %d messages" %
                  (args.folder, n, args.count), file=sys.stderr)
            print(n)
            return 1
        time.sleep(0.2)


def cmd_uidvalidity(conn, args):
    """cmd_uidvalidity - print the folder's UIDVALIDITY"""
    data = check(*conn.status(quote(args.folder), "(UIDVALIDITY)"),
                 "STATUS " + args.folder)
    m = re.search(rb"UIDVALIDITY (\d+)", data[0])
    print(m.group(1).decode() if m else "?")
    return 0


def cmd_create_folder(conn, args):
    """cmd_create_folder - CREATE"""
    check(*conn.create(quote(args.name)), "CREATE " + args.name)
    return 0


def cmd_delete_folder(conn, args):
    """cmd_delete_folder - DELETE"""
    check(*conn.delete(quote(args.name)), "DELETE " + args.name)
    return 0


def parse_args(argv):
    """parse_args - global options and one sub-command"""
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[7:]))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int,
                    default=int(os.environ.get("IMAP_PORT", "143")))
    ap.add_argument("--user", default="support@example.com")
    ap.add_argument("--password",
                    default=os.environ.get("SERVERS_PASSWORD", "secret"))
    sub = ap.add_subparsers(dest="cmd", required=True)

    def add(name, func, folder=True):
        """add - one sub-command"""
        p = sub.add_parser(name)
        p.set_defaults(func=func)
        if folder:
            p.add_argument("--folder", default="INBOX")
        return p

    p = add("append", cmd_append)
    p.add_argument("--flags", default="")
    p.add_argument("files", nargs="+")
    add("count", cmd_count)
    add("list-folders", cmd_list_folders, folder=False)
    add("fetch-all", cmd_fetch_all).add_argument("--out", required=True)
    add("flags", cmd_flags)
    p = add("wait", cmd_wait)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--timeout", type=float, default=10)
    add("uidvalidity", cmd_uidvalidity)
    add("create-folder", cmd_create_folder, folder=False).add_argument("name")
    add("delete-folder", cmd_delete_folder, folder=False).add_argument("name")
    return ap.parse_args(argv)


def main(argv):
    """main - run one sub-command"""
    args = parse_args(argv)
    try:
        conn = connect(args)
    except (OSError, imaplib.IMAP4.error) as e:
        print("mailbox.py: cannot log in as %s on port %d: %s" %
              (args.user, args.port, e), file=sys.stderr)
        return 1
    try:
        return args.func(conn, args)
    except (OSError, imaplib.IMAP4.error) as e:
        print("mailbox.py: %s: %s" % (args.cmd, e), file=sys.stderr)
        return 1
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
