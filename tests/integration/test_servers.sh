#!/bin/sh
# SPDX-License-Identifier: MIT
# test_servers.sh - smoke test of the integration harness itself: starts the
# private Dovecot and SMTP relay of servers.sh, then checks mailbox.py
# (APPEND/fetch with a GBK subject, flags, folders), IMAPS and STARTTLS
# certificate checks (good, wrong host, unknown CA, expired; python and
# gnutls-cli), SMTP delivery through LMTP, AUTH, STARTTLS, SMTPS, the fault
# modes, Dovecot down, SMTP down/up on the same port, and IDLE.  Prints
# ok/FAIL per check and ends with "N passed, N failed".  Servers are
# stopped on every exit path.
# shellcheck disable=SC2317 # cleanup and the helpers run via trap/"$@"
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/servers.sh

PY=$SERVERS_PYTHON
pass=0
fail=0
D=$(mktemp -d "${TMPDIR:-/tmp}/ticketd-servers.XXXXXX") || exit 1

cleanup() {
	servers_stop "$D"
	if [ "$fail" -ne 0 ] && [ -d "$D" ]; then
		echo "--- dovecot.log (tail)"
		tail -n 15 "$D/dovecot.log" 2>/dev/null
		echo "--- smtp.out (tail)"
		tail -n 15 "$D/smtp.out" 2>/dev/null
	fi
	[ -n "${KEEP_SERVERS_DIR:-}" ] || rm -rf "$D"
}
trap cleanup EXIT
trap 'fail=$((fail + 1)); exit 1' INT TERM

# shellcheck source=tests/lib.sh
. tests/lib.sh

# expect NAME CMD... - the command must succeed
expect() {
	name=$1
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		bad "$name" "$out"
	fi
}

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

if servers_start "$D"; then
	ok "servers start"
else
	bad "servers start"
	finish
fi
eval "$(servers_env "$D")"
export IMAP_PORT SERVERS_PASSWORD

# mb ARGS - run mailbox.py
mb() {
	"$PY" "$MAILBOX_PY" "$@"
}

# --- APPEND and read back, one message with a GBK subject ------------------
printf 'From: user@example.cn\r\nTo: support@example.com\r\nSubject: plain one\r\nMessage-ID: <m1@example.cn>\r\n\r\nhello\r\n' >"$D/m1.eml"
# Subject "充值没到账" in GBK, RFC 2047 B-encoded, and a GBK body.
printf 'From: user@example.cn\r\nTo: support@example.com\r\nSubject: =?GBK?B?s+TWtcO7tb3Vyw==?=\r\nMessage-ID: <m2@example.cn>\r\nContent-Type: text/plain; charset=GBK\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\263\344\326\265\303\273\265\275\325\313\r\n' >"$D/m2.eml"
expect_out "append two messages" "1
2" mb append "$D/m1.eml" "$D/m2.eml"
expect_out "count is 2" 2 mb count
expect_out "fetch-all writes 2" 2 mb fetch-all --out "$D/got"
if cmp -s "$D/m1.eml" "$D/got/1.eml" && cmp -s "$D/m2.eml" "$D/got/2.eml"; then
	ok "fetched bytes equal appended bytes"
else
	bad "fetched bytes equal appended bytes"
fi
if "$PY" -c 'import sys, email.header
raw = open(sys.argv[1], "rb").read()
subj = [l for l in raw.split(b"\r\n") if l.startswith(b"Subject:")][0]
(text, cs), = email.header.decode_header(subj[9:].decode())
sys.exit(text.decode(cs) != "充值没到账")' "$D/got/2.eml"; then
	ok "GBK subject survives"
else
	bad "GBK subject survives"
fi
expect_out "flags: none yet" "1
2" mb flags
expect "create folder Processed" mb create-folder Processed
expect "append with \\Seen" mb append --folder Processed --flags '\Seen' \
    "$D/m1.eml"
expect_out "flags: \\Seen" '1 \Seen' mb flags --folder Processed
mb list-folders >"$D/folders" 2>&1
if grep -qx Processed "$D/folders"; then
	ok "list-folders"
else
	bad "list-folders" "$(cat "$D/folders")"
fi
expect "delete folder" mb delete-folder Processed
if mb uidvalidity | grep -qE '^[0-9]+$'; then
	ok "uidvalidity is a number"
else
	bad "uidvalidity is a number" "$(mb uidvalidity 2>&1)"
fi

# smtp ARGS: send one message, print "ok" or "CODE" of the first refusal.
smtp() {
	"$PY" - "$SMTP_PORT" "$SMTPS_PORT" "$CA_FILE" "$@" <<'EOF'
import smtplib, socket, ssl, sys
port, sport, ca, mode, rcpt = sys.argv[1:6]
user = sys.argv[6] if len(sys.argv) > 6 else None
pw = sys.argv[7] if len(sys.argv) > 7 else None
msg = ("From: support@example.com\r\nTo: %s\r\nSubject: test %s\r\n"
       "Message-ID: <smtp-%s@example.com>\r\n\r\nbody\r\n" % (rcpt, mode, mode))
try:
    ctx = ssl.create_default_context(cafile=ca)
    if mode == "smtps":
        s = smtplib.SMTP_SSL("127.0.0.1", int(sport), timeout=10,
                             context=ctx)
    else:
        s = smtplib.SMTP("127.0.0.1", int(port), timeout=10)
    if mode == "starttls":
        s._host = "localhost"
        s.starttls(context=ctx)
    if user:
        s.login(user, pw)
    s.sendmail("support@example.com", [rcpt], msg.encode())
    s.quit()
    print("ok")
except smtplib.SMTPRecipientsRefused as e:
    print(list(e.recipients.values())[0][0])
except smtplib.SMTPResponseException as e:
    print(e.smtp_code)
except ConnectionRefusedError:
    print("refused")
except Exception as e:
    print("error: %r" % e)
EOF
}

# --- TLS -------------------------------------------------------------------
# tls_check MODE PORT: MODE implicit|starttls; prints "ok" or the error.
tls_check() {
	"$PY" - "$1" "$2" "$CA_FILE" <<'EOF'
import imaplib, socket, ssl, sys
mode, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
try:
    if mode == "implicit":
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            line = s.recv(100)
            assert line.startswith(b"* OK"), line
    else:
        m = imaplib.IMAP4("127.0.0.1", port, timeout=5)
        m._host = "localhost"   # verify the name, connect to the address
        m.starttls(ssl_context=ctx)
        m.login("support@example.com", "secret")
        m.logout()
    print("ok")
except ssl.SSLCertVerificationError as e:
    print("verify: %s" % e.verify_message)
except Exception as e:
    print("error: %r" % e)
EOF
}
expect_out "IMAPS verifies against CA_FILE as localhost" ok \
    tls_check implicit "$IMAPS_PORT"
expect_out "STARTTLS verifies against CA_FILE" ok \
    tls_check starttls "$IMAP_PORT"
if out=$(gnutls-cli --x509cafile="$CA_FILE" --verify-hostname=localhost \
    -p "$IMAPS_PORT" 127.0.0.1 </dev/null 2>&1); then
	ok "gnutls-cli verifies IMAPS"
else
	bad "gnutls-cli verifies IMAPS" "$(echo "$out" | tail -n 3)"
fi
if servers_restart_imap "$D" wrong; then
	out=$(tls_check implicit "$IMAPS_PORT")
	case $out in
	verify:*"match"*) ok "wrong-host cert is rejected ($out)" ;;
	*) bad "wrong-host cert is rejected" "$out" ;;
	esac
	if gnutls-cli --x509cafile="$CA_FILE" --verify-hostname=localhost \
	    -p "$IMAPS_PORT" 127.0.0.1 </dev/null >/dev/null 2>&1; then
		bad "gnutls-cli rejects wrong-host cert"
	else
		ok "gnutls-cli rejects wrong-host cert"
	fi
else
	bad "restart IMAP with wrong cert"
fi
if servers_switch_cert "$D" untrusted; then
	out=$(tls_check starttls "$IMAP_PORT")
	case $out in
	verify:*) ok "untrusted cert is rejected ($out)" ;;
	*) bad "untrusted cert is rejected" "$out" ;;
	esac
else
	bad "switch IMAP to untrusted cert"
fi
if servers_switch_cert "$D" expired; then
	out=$(tls_check implicit "$IMAPS_PORT")
	case $out in
	verify:*expired*) ok "expired cert is rejected ($out)" ;;
	*) bad "expired cert is rejected" "$out" ;;
	esac
else
	bad "switch IMAP to expired cert"
fi
servers_stop_imap "$D"
expect_out "SMTP with Dovecot down gives 451" 451 smtp plain alice@example.cn
if servers_restart_imap "$D"; then
	expect_out "good cert again after restart" ok \
	    tls_check implicit "$IMAPS_PORT"
	expect_out "mail kept across restart" 2 mb count
else
	bad "restart IMAP with good cert"
fi

# --- SMTP --------------------------------------------------------------------
expect_out "SMTP to alice@example.cn" ok smtp plain alice@example.cn
expect_out "delivered into alice's INBOX" 1 \
    mb --user alice@example.cn wait --count 1 --timeout 10
if grep -q 'to=<alice@example.cn>.*message_id=<smtp-plain@example.com> result=250' \
    "$D/smtp.log" && [ -f "$D/smtp/0001.eml" ]; then
	ok "smtp.log line and saved copy"
else
	bad "smtp.log line and saved copy" "$(cat "$D/smtp.log" 2>&1)"
fi
expect_out "SMTP AUTH support@example.com + STARTTLS" ok \
    smtp starttls bob@example.com support@example.com secret
expect_out "SMTPS (implicit TLS) verifies as localhost" ok \
    smtp smtps bob@example.com support@example.com secret
expect_out "delivered into bob's INBOX" 2 \
    mb --user bob@example.com wait --count 2 --timeout 10
if grep -q 'auth=support@example.com tls=yes' "$D/smtp.log"; then
	ok "smtp.log records auth and tls"
else
	bad "smtp.log records auth and tls" "$(cat "$D/smtp.log")"
fi
expect_out "bad password gives 535" 535 \
    smtp plain bob@example.com support@example.com wrong
expect_out "unknown recipient gives 550" 550 smtp plain nobody@example.com
servers_set_mode "$D" tempfail
expect_out "tempfail gives 451" 451 smtp plain alice@example.cn
servers_set_mode "$D" permfail
expect_out "permfail gives 550" 550 smtp plain alice@example.cn
servers_set_mode "$D" tempfail-data
expect_out "tempfail-data gives 451" 451 smtp plain alice@example.cn
servers_set_mode "$D" normal
expect_out "normal again" ok smtp plain alice@example.cn
expect_out "alice has 2" 2 mb --user alice@example.cn wait --count 2
servers_stop_smtp "$D"
expect_out "SMTP down: connection refused" refused smtp plain alice@example.cn
if servers_start_smtp "$D"; then
	expect_out "SMTP up again on the same port" ok \
	    smtp plain alice@example.cn
else
	bad "SMTP up again on the same port"
fi

# --- IDLE ------------------------------------------------------------------
# Log in, IDLE, append from another connection, expect "* N EXISTS".
out=$("$PY" - "$IMAP_PORT" "$MAILBOX_PY" "$D/m1.eml" <<'EOF'
import socket, subprocess, sys, time
port, mb, eml = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
buf = b""
def until(pred, limit):
    global buf
    end = time.monotonic() + limit
    while not pred(buf):
        left = end - time.monotonic()
        if left <= 0:
            return False
        s.settimeout(left)
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            return False
        if not chunk:
            return False
        buf += chunk
    return True
assert until(lambda b: b"\r\n" in b, 5), buf
s.sendall(b"a LOGIN support@example.com secret\r\nb SELECT INBOX\r\n")
assert until(lambda b: b"\r\nb OK" in b, 5), buf
buf = b""
s.sendall(b"c IDLE\r\n")
assert until(lambda b: b"+ " in b, 5), buf
subprocess.run([sys.executable, mb, "--port", str(port), "append", eml],
               check=True, stdout=subprocess.DEVNULL)
if not until(lambda b: b" EXISTS\r\n" in b, 5):
    print("no EXISTS within 5 s: %r" % buf)
    sys.exit(1)
s.sendall(b"DONE\r\n")
assert until(lambda b: b"\r\nc OK" in b, 5), buf
line = [l for l in buf.split(b"\r\n") if l.endswith(b" EXISTS")][0]
print(line.decode())
EOF
)
if [ "$out" = "* 3 EXISTS" ]; then
	ok "IDLE reports the new message ($out)"
else
	bad "IDLE reports the new message" "$out"
fi

# --- kick ------------------------------------------------------------------
# Log in as bob, run servers_kick from the snippet, expect BYE or EOF.
out=$("$PY" - "$IMAP_PORT" "$D" <<'EOF'
import socket, subprocess, sys
port, d = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
f = s.makefile("rb")
f.readline()
s.sendall(b"a LOGIN bob@example.com secret\r\n")
while not f.readline().startswith(b"a "):
    pass
subprocess.run(["sh", "-c", '. tests/integration/servers.sh && '
                'servers_kick "$1" bob@example.com', "sh", d], check=True)
s.settimeout(5)
rest = b"".join(iter(f.readline, b""))
print("closed" if b"BYE" in rest or rest == b"" else repr(rest))
EOF
)
if [ "$out" = closed ]; then
	ok "servers_kick drops the session"
else
	bad "servers_kick drops the session" "$out"
fi
if servers_kick "$D" alice@example.cn; then
	ok "servers_kick without a session"
else
	bad "servers_kick without a session"
fi

# --- stop ------------------------------------------------------------------
if servers_stop "$D" && servers_stop "$D"; then
	ok "servers stop (twice)"
else
	bad "servers stop (twice)"
fi
expect_out "IMAP port closed after stop" refused \
    "$PY" -c 'import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    print("open")
except ConnectionRefusedError:
    print("refused")' "$IMAP_PORT"
finish
