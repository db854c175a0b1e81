#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""gen_imap_corpus.py - write the seed corpus of tests/fuzz/fuzz_imap.c.

Each seed is one scripted IMAP server: answers separated by 0x1e, the
first the greeting, each next one the reply to the next command the
client sends, "<T>" standing for that command's tag (see fuzz_imap.c).
The client's commands, in order: [CAPABILITY], LOGIN, [CAPABILITY],
SELECT, [STATUS], UID SEARCH, UID FETCH (sizes), UID FETCH (bodies),
UID FETCH (header/text prefixes of oversized ones), UID STORE, UID MOVE
(or COPY, STORE, EXPUNGE), NOOP, IDLE + DONE, NOOP, LOGOUT.  The seeds
cover the Dovecot-like happy path and the odd servers imap.c handles:
no capabilities until asked, SELECT without UIDVALIDITY (STATUS), no
MOVE or UIDPLUS, TRYCREATE, PREAUTH, BYE, a size liar, unsolicited
FETCHes, NO and BAD answers, literals in odd places.

Usage: gen_imap_corpus.py OUTDIR
"""

import os
import sys

SEP = b"\x1e"
CAPS = (b"IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE "
        b"SORT MOVE UIDPLUS AUTH=PLAIN")


def lit(data):
    """lit - an IMAP literal"""
    return b"{%d}\r\n" % len(data) + data


MSG1 = (b"From: Alice <alice@example.cn>\r\nTo: support@example.com\r\n"
        b"Subject: =?UTF-8?B?5rWL6K+V?=\r\nMessage-ID: <a1@x>\r\n\r\n"
        b"hello\r\n")
MSG2 = b"Subject: two\r\n\r\nbody\x00with NUL\r\n"
HDR3 = b"From: big@example.com\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\n"
TXT3 = b"x" * 200 + b"\r\n"

GREETING = b"* OK [CAPABILITY " + CAPS + b"] Dovecot ready.\r\n"
LOGIN_OK = b"<T> OK [CAPABILITY " + CAPS + b"] Logged in\r\n"
SELECT_OK = (b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
             b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "
             b"\\Draft \\*)] Flags permitted.\r\n"
             b"* 3 EXISTS\r\n* 0 RECENT\r\n"
             b"* OK [UIDVALIDITY 1700000000] UIDs valid\r\n"
             b"* OK [UIDNEXT 4] Predicted next UID\r\n"
             b"<T> OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n")
SEARCH_OK = b"* SEARCH 1 2 3\r\n<T> OK Search completed\r\n"
SIZES = (b"* 1 FETCH (UID 1 RFC822.SIZE %d)\r\n"
         b"* 2 FETCH (UID 2 RFC822.SIZE %d)\r\n"
         b"* 3 FETCH (UID 3 RFC822.SIZE 100000)\r\n"
         b"<T> OK Fetch completed\r\n" % (len(MSG1), len(MSG2)))
BODIES = (b"* 1 FETCH (UID 1 BODY[] " + lit(MSG1) + b")\r\n"
          b"* 2 FETCH (UID 2 BODY[] " + lit(MSG2) + b")\r\n"
          b"<T> OK Fetch completed\r\n")
PARTS = (b"* 3 FETCH (UID 3 BODY[HEADER]<0> " + lit(HDR3) +
         b" BODY[TEXT]<0> " + lit(TXT3) + b")\r\n<T> OK Fetch completed\r\n")
STORE_OK = b"<T> OK Store completed\r\n"
MOVE_OK = (b"* OK [COPYUID 1700000001 1:3 1:3] Moved UIDs.\r\n"
           b"* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n"
           b"<T> OK Move completed\r\n")
NOOP_QUIET = b"<T> OK NOOP completed\r\n"
IDLE_PAIR = [b"+ idling\r\n* 4 EXISTS\r\n", b"<T> OK Idle completed\r\n"]
LOGOUT = b"* BYE Logging out\r\n<T> OK Logout completed\r\n"

HAPPY = [GREETING, LOGIN_OK, SELECT_OK, SEARCH_OK, SIZES, BODIES, PARTS,
         STORE_OK, MOVE_OK, NOOP_QUIET] + IDLE_PAIR + [NOOP_QUIET, LOGOUT]


def seeds():
    """seeds - name -> list of answers"""
    s = {}
    s["happy"] = HAPPY
    # News already announced on NOOP: no IDLE.
    s["noop-news"] = HAPPY[:9] + [b"* 5 EXISTS\r\n" + NOOP_QUIET,
                                  NOOP_QUIET, LOGOUT]
    # Capabilities only on request, before and after LOGIN.
    s["caps-late"] = [
        b"* OK ready\r\n",
        b"<T> OK Logged in\r\n",
        b"* CAPABILITY " + CAPS + b"\r\n<T> OK done\r\n"] + HAPPY[2:]
    # SELECT without UIDVALIDITY/UIDNEXT: STATUS fills them in.
    s["status"] = [GREETING, LOGIN_OK,
                   b"* 3 EXISTS\r\n<T> OK [READ-WRITE] selected\r\n",
                   b"* STATUS INBOX (UIDVALIDITY 42 UIDNEXT 9)\r\n"
                   b"<T> OK status\r\n"] + HAPPY[3:]
    s["status-quoted"] = [GREETING, LOGIN_OK,
                          b"<T> OK selected\r\n",
                          b"* STATUS \"INBOX\" (MESSAGES 3 UIDVALIDITY 7)\r\n"
                          b"<T> OK status\r\n"] + HAPPY[3:]
    # No MOVE: COPY, STORE \Deleted, UID EXPUNGE.
    nomove = CAPS.replace(b" MOVE", b"")
    s["no-move"] = [b"* OK [CAPABILITY " + nomove + b"] hi\r\n",
                    b"<T> OK [CAPABILITY " + nomove + b"] in\r\n",
                    b"* CAPABILITY " + nomove + b"\r\n<T> OK caps\r\n",
                    SELECT_OK, SEARCH_OK, SIZES, BODIES, PARTS, STORE_OK,
                    b"<T> OK [COPYUID 9 1:3 4:6] Copy completed\r\n",
                    STORE_OK,
                    b"* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n<T> OK Expunged\r\n",
                    NOOP_QUIET] + IDLE_PAIR + [NOOP_QUIET, LOGOUT]
    # No MOVE, no UIDPLUS: originals left \Deleted.
    plain = nomove.replace(b" UIDPLUS", b"")
    s["no-uidplus"] = [b"* OK [CAPABILITY " + plain + b"] hi\r\n",
                       b"<T> OK [CAPABILITY " + plain + b"] in\r\n",
                       b"* CAPABILITY " + plain + b"\r\n<T> OK done\r\n",
                       SELECT_OK, SEARCH_OK, SIZES, BODIES, PARTS, STORE_OK,
                       b"<T> OK Copy completed\r\n", STORE_OK, NOOP_QUIET
                       ] + IDLE_PAIR + [NOOP_QUIET, LOGOUT]
    # MOVE refused with TRYCREATE, CREATE, MOVE again.
    s["trycreate"] = HAPPY[:8] + [
        b"<T> NO [TRYCREATE] Mailbox doesn't exist: Processed\r\n",
        b"<T> OK Create completed\r\n", MOVE_OK] + HAPPY[9:]
    s["trycreate-twice"] = HAPPY[:8] + [
        b"<T> NO [TRYCREATE] no such mailbox\r\n",
        b"<T> NO [ALREADYEXISTS] exists\r\n",
        b"<T> NO [TRYCREATE] no such mailbox\r\n", LOGOUT]
    # Keywords refused: Seen only.
    s["no-keywords"] = [GREETING, LOGIN_OK, SELECT_OK.replace(b" \\*)", b")")
                        ] + HAPPY[3:]
    # PREAUTH greeting skips LOGIN.
    s["preauth"] = [b"* PREAUTH [CAPABILITY " + CAPS + b"] welcome\r\n",
                    SELECT_OK] + HAPPY[3:]
    # BYE instead of a greeting; LOGIN refused; SELECT refused.
    s["bye"] = [b"* BYE too busy\r\n"]
    s["login-no"] = [GREETING,
                     b"<T> NO [AUTHENTICATIONFAILED] Authentication failed."
                     b"\r\n"]
    s["select-no"] = [GREETING, LOGIN_OK,
                      b"<T> NO Mailbox doesn't exist: INBOX\r\n"]
    # The size liar: BODY[] far larger than RFC822.SIZE claimed.
    big = b"Subject: liar\r\n\r\n" + b"y" * 9000 + b"\r\n"
    s["size-liar"] = HAPPY[:4] + [
        b"* 1 FETCH (UID 1 RFC822.SIZE 10)\r\n<T> OK done\r\n",
        b"* 1 FETCH (UID 1 BODY[] " + lit(big) + b")\r\n<T> OK done\r\n"
    ] + HAPPY[7:]
    # Unsolicited FETCHes without UID, FLAGS updates, odd order.
    s["unsolicited"] = HAPPY[:4] + [
        b"* 7 FETCH (FLAGS (\\Seen))\r\n" + SIZES,
        b"* 2 FETCH (UID 2 BODY[] " + lit(MSG2) + b")\r\n"
        b"* 9 FETCH (FLAGS (\\Deleted))\r\n"
        b"* 1 FETCH (BODY[] " + lit(MSG1) + b" UID 1)\r\n<T> OK done\r\n",
    ] + HAPPY[6:]
    # The prefix pass answered for a UID fetched whole before (imap.c
    # must not overwrite, or leak, that UID's data).
    s["parts-wrong-uid"] = HAPPY[:6] + [
        b"* 3 FETCH (UID 1 BODY[HEADER]<0> " + lit(HDR3) +
        b" BODY[TEXT]<0> " + lit(TXT3) + b")\r\n<T> OK Fetch completed\r\n"
    ] + HAPPY[7:]
    # BAD and NO in the middle: the handle dies, the rest is refused.
    s["search-bad"] = HAPPY[:3] + [b"<T> BAD Error in IMAP command\r\n"]
    s["fetch-no"] = HAPPY[:4] + [b"<T> NO [SERVERBUG] oops\r\n"] + HAPPY[7:]
    s["fetch-no-partial"] = HAPPY[:4] + [
        b"* 1 FETCH (UID 1 RFC822.SIZE 20)\r\n<T> NO Some messages could "
        b"not be FETCHed\r\n"] + HAPPY[7:]
    # Untagged line before "+ idling" (libetpan bug #393).
    s["idle-early"] = HAPPY[:10] + [
        b"* 3 EXISTS\r\n+ idling\r\n", b"<T> OK done\r\n", NOOP_QUIET,
        LOGOUT]
    # Literal in response text, quoted strings, NIL bodies.
    s["odd-literals"] = HAPPY[:5] + [
        b"* 1 FETCH (UID 1 BODY[] NIL)\r\n"
        b"* 2 FETCH (UID 2 BODY[] \"Subject: q\\\"x\\\"\")\r\n<T> OK done\r\n",
        PARTS] + HAPPY[7:]
    # Empty search, empty fetch.
    s["empty"] = HAPPY[:3] + [b"* SEARCH\r\n<T> OK done\r\n",
                              b"<T> OK done\r\n", STORE_OK, MOVE_OK,
                              NOOP_QUIET] + IDLE_PAIR + [NOOP_QUIET, LOGOUT]
    # Controls and escapes in server text (must not reach the log raw).
    s["control-text"] = [b"* OK \x1b[31mred\x07 greeting\r\n",
                         b"<T> NO [ALERT] line\rbreak \x1b]0;x\x07\r\n"]
    return s


def main(argv):
    """main - write every seed"""
    if len(argv) != 2:
        print(__doc__.splitlines()[-1], file=sys.stderr)
        return 2
    os.makedirs(argv[1], exist_ok=True)
    for name, parts in sorted(seeds().items()):
        with open(os.path.join(argv[1], name), "wb") as f:
            f.write(SEP.join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
