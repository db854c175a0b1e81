#!/bin/sh
# SPDX-License-Identifier: MIT
# test_imap.sh - daemon/imap.c against a real Dovecot (servers.sh) and a
# scripted fake server.  Builds tests/integration/imap_check.c into
# $B/tests/integration-bin/, appends messages with mailbox.py, then runs
# imap_check's sub-commands: connect (plain, STARTTLS, IMAPS), search,
# fetch (exact bytes, oversized prefixes), flag, move, IDLE, bad
# certificates, a server without MOVE/UIDPLUS/keywords that lies and
# stalls, a silent server, refused logins, and the server dying under an
# open handle.  Servers are stopped on every exit path.  Ends with "N
# passed, N failed".  IMAP_CHECK_VALGRIND=1 runs imap_check under valgrind.
# shellcheck disable=SC2317 # cleanup runs via trap
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/integration/servers.sh
. tests/integration/servers.sh

B=${B:-build}
PY=$SERVERS_PYTHON
pass=0
fail=0
FAKE_PID=
D=$(mktemp -d "${TMPDIR:-/tmp}/ticketd-imap.XXXXXX") || exit 1

# fake_stop - stop the fake server if it runs
fake_stop() {
	if [ -n "$FAKE_PID" ]; then
		kill "$FAKE_PID" 2>/dev/null
		wait "$FAKE_PID" 2>/dev/null
		FAKE_PID=
	fi
}

cleanup() {
	fake_stop
	servers_stop "$D"
	if [ "$fail" -ne 0 ] && [ -d "$D" ]; then
		echo "--- dovecot.log (tail)"
		tail -n 20 "$D/dovecot.log" 2>/dev/null
	fi
	rm -rf "$D"
}
trap cleanup EXIT
trap 'fail=$((fail + 1)); exit 1' INT TERM HUP

# shellcheck source=tests/lib.sh
. tests/lib.sh

# expect_out NAME WANT CMD... - the command must succeed and print WANT
expect_out() {
	name=$1
	want=$2
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then
		ok "$name"
	else
		bad "$name" "exit $rc, got '$out', want '$want'"
	fi
}

finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

# check NAME ARGS... - run imap_check ARGS and add its counts to ours
check() {
	name=$1
	shift
	if [ -n "${IMAP_CHECK_VALGRIND:-}" ]; then
		out=$(valgrind -q --leak-check=full --error-exitcode=99 \
		    --errors-for-leak-kinds=definite "$BIN" "$@" 2>&1)
	else
		out=$("$BIN" "$@" 2>&1)
	fi
	rc=$?
	last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' |
	    tail -n 1)
	if [ -z "$last" ]; then
		printf '%s\n' "$out"
		bad "imap_check $name" "exit $rc, no summary"
		return
	fi
	p=${last%% passed*}
	f=${last#*, }
	f=${f%% failed*}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$f" -ne 0 ]; then
		printf '%s\n' "$out"
		echo "FAIL - imap_check $name: $p passed, $f failed (exit $rc)"
	else
		printf '%s\n' "$out" | grep -vE '^[0-9]+ passed, ' |
		    grep -v 'GnuTLS error' | sed 's/^/  /'
		echo "ok - imap_check $name: $p checks"
	fi
}

# mb ARGS - run mailbox.py
mb() {
	"$PY" "$MAILBOX_PY" "$@"
}

# --- build -------------------------------------------------------------------
BIN=$B/tests/integration-bin/imap_check
mkdir -p "$(dirname "$BIN")" || exit 1
CC=${CC:-cc}
# The Makefile's libraries: log.c may use any of them (journald, ...).
PKGS="libcurl sqlite3 libpcre2-8 libsystemd gnutls"
# shellcheck disable=SC2046,SC2086 # pkg-config prints several words
if $CC -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O2 \
    -Wall -Wextra -Werror -Wpedantic -Wshadow -Wcast-qual -Wformat=2 \
    -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wvla \
    -Wwrite-strings -Wundef -Wimplicit-fallthrough -fPIE -pie -I. \
    $(pkg-config --cflags $PKGS | sed 's/-I/-isystem /g') \
    -o "$BIN.$$" tests/integration/imap_check.c daemon/imap.c daemon/log.c \
    common/*.c -letpan $(pkg-config --libs $PKGS) &&
    mv -f "$BIN.$$" "$BIN"; then
	ok "build imap_check"
else
	rm -f "$BIN.$$"
	bad "build imap_check"
	finish
fi

# --- servers and mail --------------------------------------------------------
if servers_start "$D" >/dev/null; then
	ok "servers start"
else
	bad "servers start"
	finish
fi
eval "$(servers_env "$D")"
export IMAP_PORT IMAPS_PORT CA_FILE SERVERS_PASSWORD

# 20 small messages (8-bit GBK, long lines, CRLF) and one of 300 KB.
"$PY" - "$D/msgs" <<'EOF'
import base64, os, sys
d = sys.argv[1]
os.makedirs(d)
for i in range(1, 21):
    body = ("line %d of message %d\r\n" % (0, i)) * (i * 7)
    raw = (b"From: user%d@example.cn\r\nTo: support@example.com\r\n"
           b"Subject: =?GBK?B?s+TWtcO7tb3Vyw==?= %d\r\n"
           b"Message-ID: <m%d@example.cn>\r\n"
           b"Content-Type: text/plain; charset=GBK\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n" % (i, i, i))
    raw += b"\xb3\xe4\xd6\xb5\xc3\xbb\xb5\xbd\xd5\xcb\r\n" + body.encode()
    raw += b"x" * (900 + i) + b"\r\n"
    with open(os.path.join(d, "%02d.eml" % i), "wb") as f:
        f.write(raw)
att = base64.encodebytes(bytes(range(256)) * 900).replace(b"\n", b"\r\n")
raw = (b"From: big@example.cn\r\nTo: support@example.com\r\n"
       b"Subject: big one\r\nMessage-ID: <big@example.cn>\r\n"
       b"MIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
       b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
       b"please see the attachment\r\n"
       b"--b1\r\nContent-Type: application/octet-stream\r\n"
       b"Content-Disposition: attachment; filename=\"big.bin\"\r\n"
       b"Content-Transfer-Encoding: base64\r\n\r\n" + att + b"--b1--\r\n")
with open(os.path.join(d, "21.eml"), "wb") as f:
    f.write(raw)
with open(os.path.join(d, "22.eml"), "wb") as f:
    f.write(b"From: late@example.cn\r\nSubject: arrives in IDLE\r\n\r\nhi\r\n")
EOF
uids=$(mb append "$D"/msgs/0*.eml "$D"/msgs/1*.eml "$D"/msgs/20.eml \
    "$D"/msgs/21.eml | tr '\n' ' ')
expected=$(seq 1 21 | tr '\n' ' ')
if [ "$uids" = "$expected" ]; then
	ok "append 21 messages"
else
	bad "append 21 messages" "got UIDs '$uids'"
	finish
fi
UV=$(mb uidvalidity)
pairs=
for u in $(seq 1 21); do
	pairs="$pairs $u=$D/msgs/$(printf %02d "$u").eml"
done

# --- the real server ---------------------------------------------------------
check connect connect "$UV"
# shellcheck disable=SC2086 # word lists
check "search from 0" search 0 $expected
check "search from 20" search 20 21
check "search from 21 (UID 22:* still matches 21)" search 21
# shellcheck disable=SC2086
check "fetch 21 in one batch" fetch 26214400 $pairs
expect_out "BODY.PEEK left \\Seen unset" "$(seq 1 21)" mb flags
check "fetch with message_max 10000" fetch 10000 \
    "1=$D/msgs/01.eml" "20=$D/msgs/20.eml" "21=$D/msgs/21.eml"
check flag flag 1 2 3 4 5 6 7 8 10 9
want=$(for u in $(seq 1 21); do
	if [ "$u" -le 10 ]; then echo "$u \\Seen \$Ticketed"; else echo "$u"; fi
done)
expect_out "flags: \\Seen \$Ticketed on 1-10 only" "$want" mb flags
check "move (folder created)" move Processed 3 1 2 4 5
expect_out "INBOX keeps 16" 16 mb count
expect_out "Processed has 5" 5 mb count --folder Processed
check "move to the existing folder" move Processed 6
expect_out "Processed has 6" 6 mb count --folder Processed
n=$(mb flags --folder Processed | grep -c 'Seen .Ticketed$')
if [ "$n" -eq 6 ]; then
	ok "flags travel with the move"
else
	bad "flags travel with the move" "$(mb flags --folder Processed)"
fi
check idle idle 21 sh -c \
    "sleep 1; exec '$PY' '$MAILBOX_PY' append '$D/msgs/22.eml' >/dev/null"
expect_out "INBOX has the IDLE message" 16 mb count

# --- certificates ------------------------------------------------------------
for c in "wrong:does not match" "untrusted:issuer is unknown" \
    "expired:expired"; do
	cert=${c%%:*}
	if servers_restart_imap "$D" "$cert"; then
		check "certificate $cert" tls-reject "${c#*:}"
	else
		bad "restart IMAP with the $cert certificate"
	fi
done
if servers_restart_imap "$D"; then
	ok "good certificate again"
else
	bad "good certificate again"
	finish
fi

# --- a scripted server -------------------------------------------------------
cat >"$D/fake_imap.py" <<'EOF'
# fake_imap.py MODE PORTFILE LOG - a scripted IMAP server on 127.0.0.1.
# silent: accept and never speak.  fake: no MOVE/UIDPLUS/IDLE, no keywords,
# no UIDNEXT in SELECT, RFC822.SIZE lies for UID 5, unsolicited FETCHes,
# TRYCREATE for missing folders, and NOOP stalls.  Commands go to LOG.
import os, re, socket, sys, threading, time

mode, port_file, log_path = sys.argv[1:4]
log = open(log_path, "a", buffering=1)
FIVE = b"Subject: five\r\n\r\n" + (b"y" * 78 + b"\r\n") * 5000
FIVE = FIVE[:400000]
SIX = b"Subject: six\r\n\r\n" + b"x" * 102 + b"\r\n"
assert len(SIX) == 120

def serve(c):
    f = c.makefile("rb")
    if mode == "silent":
        time.sleep(60)
        return
    c.sendall(b"* OK fake IMAP ready\r\n")
    created = set()
    while True:
        line = f.readline()
        if not line:
            return
        text = line.decode("latin-1").rstrip("\r\n")
        m = re.search(r"\{(\d+)\+?\}$", text)
        while m:
            if not text.endswith("+}"):
                c.sendall(b"+ go\r\n")
            data = f.read(int(m.group(1)))
            rest = f.readline().decode("latin-1").rstrip("\r\n")
            text = text[:m.start()] + data.decode("latin-1") + rest
            m = re.search(r"\{(\d+)\+?\}$", text)
        log.write(text + "\n")
        p = text.split(" ")
        tag = p[0].encode()
        cmd = p[1].upper() if len(p) > 1 else ""
        if cmd == "UID" and len(p) > 2:
            cmd = "UID " + p[2].upper()
        if cmd == "CAPABILITY":
            out = b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n%s OK done\r\n" % tag
        elif cmd == "LOGIN":
            out = b"%s OK logged in\r\n" % tag
        elif cmd == "SELECT":
            out = (b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen)\r\n"
                   b"* OK [PERMANENTFLAGS (\\Deleted \\Seen)] limited\r\n"
                   b"* 3 EXISTS\r\n* 0 RECENT\r\n"
                   b"* OK [UIDVALIDITY 42] ok\r\n"
                   b"%s OK [READ-WRITE] selected\r\n" % tag)
        elif cmd == "STATUS":
            out = (b"* STATUS INBOX (UIDVALIDITY 42 UIDNEXT 7)\r\n"
                   b"%s OK done\r\n" % tag)
        elif cmd == "UID FETCH" and "RFC822.SIZE" in text:
            out = (b"* 1 FETCH (UID 5 RFC822.SIZE 100)\r\n"
                   b"* 3 FETCH (FLAGS (\\Seen))\r\n"
                   b"* 2 FETCH (UID 6 RFC822.SIZE 120)\r\n"
                   b"%s OK done\r\n" % tag)
        elif cmd == "UID FETCH" and "BODY.PEEK[]" in text:
            out = (b"* 1 FETCH (UID 5 BODY[] {%d}\r\n" % len(FIVE) + FIVE +
                   b")\r\n* 3 FETCH (FLAGS (\\Seen))\r\n"
                   b"* 4 FETCH (UID 7 BODY[] {3}\r\nabc)\r\n"
                   b"* 2 FETCH (UID 6 BODY[] {120}\r\n" + SIX + b")\r\n"
                   b"%s OK done\r\n" % tag)
        elif cmd == "UID COPY":
            folder = p[4].strip('"') if len(p) > 4 else ""
            if folder in created:
                out = b"%s OK copied\r\n" % tag
            else:
                out = b"%s NO [TRYCREATE] no such mailbox\r\n" % tag
        elif cmd == "CREATE":
            folder = p[2].strip('"') if len(p) > 2 else ""
            if folder == "Missing":
                out = b"%s NO [CANNOT] not allowed\r\n" % tag
            else:
                created.add(folder)
                out = b"%s OK created\r\n" % tag
        elif cmd in ("UID STORE", "EXPUNGE", "UID EXPUNGE"):
            out = b"%s OK done\r\n" % tag
        elif cmd == "NOOP":
            time.sleep(30)
            return
        elif cmd == "LOGOUT":
            c.sendall(b"* BYE bye\r\n%s OK done\r\n" % tag)
            return
        else:
            out = b"%s BAD unknown\r\n" % tag
        c.sendall(out)

def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

main()
EOF

# fake_start MODE - start fake_imap.py; sets FAKE_PORT
fake_start() {
	rm -f "$D/fake.port"
	"$PY" "$D/fake_imap.py" "$1" "$D/fake.port" "$D/fake.log" \
	    </dev/null >>"$D/fake.out" 2>&1 &
	FAKE_PID=$!
	n=0
	while [ ! -s "$D/fake.port" ] && [ "$n" -lt 250 ]; do
		n=$((n + 1))
		sleep 0.02
	done
	FAKE_PORT=$(cat "$D/fake.port" 2>/dev/null)
	[ -n "$FAKE_PORT" ]
}

if fake_start fake; then
	check "fake server" fake "$FAKE_PORT"
	fake_stop
	if grep -q 'EXPUNGE' "$D/fake.log"; then
		bad "no EXPUNGE without UIDPLUS" "$(grep EXPUNGE "$D/fake.log")"
	else
		ok "no EXPUNGE without UIDPLUS"
	fi
	if grep -q 'UID STORE 5:6 +FLAGS.SILENT (\\Seen)$' "$D/fake.log" &&
	    ! grep -q 'Ticketed' "$D/fake.log"; then
		ok "\\Seen only when keywords are refused"
	else
		bad "\\Seen only when keywords are refused" \
		    "$(grep 'STORE' "$D/fake.log")"
	fi
	if grep -q 'UID STORE 5:6 +FLAGS.SILENT (\\Deleted)$' "$D/fake.log" &&
	    [ "$(grep -c 'UID COPY 5:6 Processed$' "$D/fake.log")" -eq 2 ] &&
	    [ "$(grep -c 'CREATE Processed$' "$D/fake.log")" -eq 1 ]; then
		ok "COPY, CREATE once, COPY again, \\Deleted"
	else
		bad "COPY, CREATE once, COPY again, \\Deleted" \
		    "$(cat "$D/fake.log")"
	fi
	if grep -q 'UID FETCH 5:6,9 (UID RFC822.SIZE)$' "$D/fake.log"; then
		ok "one UID FETCH with a compressed set"
	else
		bad "one UID FETCH with a compressed set" \
		    "$(grep FETCH "$D/fake.log")"
	fi
else
	bad "start the fake server" "$(cat "$D/fake.out")"
fi
if fake_start silent; then
	check "silent server" silent "$FAKE_PORT"
	fake_stop
else
	bad "start the silent server" "$(cat "$D/fake.out")"
fi

# --- last: refused logins (Dovecot then slows logins), server death ----------
check "refused logins" authfail
# Stopping Dovecot's master leaves open sessions alive, so the server dies
# by SIGKILL of this instance's imap processes, then a full stop.
cat >"$D/kill_server.sh" <<EOF
master=\$(cat '$D/run/master.pid')
for p in \$(ps -eo pid=,ppid= | awk -v m="\$master" '\$2 == m { print \$1 }')
do
	case \$(tr '\\0' ' ' <"/proc/\$p/cmdline" 2>/dev/null) in
	"dovecot-ticketd-test-$IMAP_PORT/imap" | "dovecot-ticketd-test-$IMAP_PORT/imap "*)
		kill -KILL "\$p" ;;
	esac
done
exec sh tests/integration/servers.sh stop '$D'
EOF
check "server dies" down sh "$D/kill_server.sh"
finish
