#!/bin/sh
# SPDX-License-Identifier: MIT
# test_smtp.sh - daemon/ack.c + daemon/smtp.c against a real SMTP server
# (servers.sh: aiosmtpd relay delivering into Dovecot over LMTP).  Builds
# the driver tests/integration/smtp_check.c with cc, then checks: acks
# rendered by ack_render arrive in alice's INBOX with the right headers;
# two sends share one connection (CURLINFO_NUM_CONNECTS: the relay does not
# log connections); STARTTLS (required) and SMTPS with the test CA and AUTH;
# verification on by default; a wrong password is a temporary failure whose
# text never holds the password; the fault modes give 451/550/554; a
# stopped server gives a quick temporary failure (connection refused) and
# the same sender delivers again once it is back.  Ends with "N passed,
# N failed"; servers are stopped on every exit path.
# TICKETD_VALGRIND=1 also runs the driver under valgrind (slow).
# shellcheck disable=SC2317 # cleanup runs via trap
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/servers.sh

B=${B:-build}
PY=$SERVERS_PYTHON
pass=0
fail=0
D=$(mktemp -d "${TMPDIR:-/tmp}/ticketd-smtp.XXXXXX") || exit 1
BIN=$B/tests/integration-bin
DRV=$BIN/smtp_check

cleanup() {
	servers_stop "$D"
	if [ "$fail" -ne 0 ] && [ -d "$D" ]; then
		echo "--- smtp.out (tail)"
		tail -n 15 "$D/smtp.out" 2>/dev/null
	fi
	[ -n "${KEEP_SERVERS_DIR:-}" ] || rm -rf "$D"
}
trap cleanup EXIT
trap 'fail=$((fail + 1)); exit 1' INT TERM

# shellcheck source=tests/lib.sh
. tests/lib.sh

# finish - print the summary and exit with its status
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

# field LINE KEY - value of KEY=value in a driver line (values end at " ")
field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# line N - the driver's result line for send number N in $out
line() {
	printf '%s\n' "$out" | grep "^send=$1 "
}

# expect_send N NAME STATUS CODE [CURL] - check send N of the last run
expect_send() {
	l=$(line "$1")
	st=$(field "$l" status)
	code=$(field "$l" code)
	cc=$(field "$l" curl)
	if [ "$st" = "$3" ] && [ "$code" = "$4" ] &&
	    { [ -z "${5:-}" ] || [ "$cc" = "$5" ]; }; then
		ok "$2 ($st $code, curl $cc)"
	else
		bad "$2" "got '${l:-no line}', want status=$3 code=$4 ${5:+curl=$5}"
	fi
}

# drv ARGS... - run the driver (under valgrind when asked); output in $out
drv() {
	if [ -n "${TICKETD_VALGRIND:-}" ]; then
		out=$(valgrind -q --error-exitcode=99 --leak-check=full \
		    --errors-for-leak-kinds=definite \
		    --log-file="$D/valgrind.%p" "$DRV" "$@" 2>&1)
	else
		out=$("$DRV" "$@" 2>&1)
	fi
	drv_rc=$?
}

# --- build the driver -------------------------------------------------
mkdir -p "$BIN" || exit 1
WARN="-Wall -Wextra -Werror -Wpedantic -Wshadow -Wcast-qual -Wformat=2 \
-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wvla \
-Wwrite-strings -Wundef -Wimplicit-fallthrough"
# The parser and common/ come from the archives "make" built (make test
# builds them first); without them, from their sources.
SAN=
if [ -f "$B/libparser.a" ] && [ -f "$B/libcommon.a" ]; then
	LIBSRC="$B/libparser.a $B/libcommon.a"
	# archives of make asan need the sanitizers linked in
	if nm "$B/libcommon.a" 2>/dev/null | grep -q __asan_init; then
		SAN="-fsanitize=address,undefined"
	fi
else
	LIBSRC="parser/*.c common/*.c"
fi
# shellcheck disable=SC2046,SC2086 # word splitting of flags is intended
if cc -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 $WARN $SAN \
    -I. $(pkg-config --cflags libcurl libpcre2-8 gnutls |
	sed 's/-I/-isystem /g') \
    -o "$DRV" tests/integration/smtp_check.c daemon/ack.c daemon/smtp.c \
    $LIBSRC -letpan -lcurl -lpcre2-8 -lgnutls 2>"$D/cc.err"; then
	ok "driver builds"
else
	cat "$D/cc.err"
	bad "driver builds"
	finish
fi

# --- URL policy (no server needed) ----------------------------------------
tls=$("$DRV" tls-modes \
    'smtps://smtp.example.com:465=implicit' \
    'smtp://smtp.example.com:587=starttls' \
    'smtp://127.0.0.1:25=none' 'smtp://127.1.2.3:25=none' \
    'smtp://localhost:25=none' 'smtp://LOCALHOST:25=none' \
    'smtp://[::1]:25=none' 'smtp://[::ffff:127.0.0.1]:25=none' \
    'smtp://128.0.0.1:25=starttls' 'smtp://localhost.example.com=starttls' \
    'smtp://user:pw@127.0.0.1:25=bad_config' \
    'ftp://127.0.0.1/=bad_config' 'smtp://=bad_config' 2>&1)
while IFS= read -r l; do
	case $l in
	ok*) ok "${l#ok - }" ;;
	*) bad "${l#FAIL - }" ;;
	esac
done <<EOF
$tls
EOF

# --- servers ----------------------------------------------------------
if servers_start "$D"; then
	ok "servers start"
else
	bad "servers start"
	finish
fi
eval "$(servers_env "$D")"
SRV="sh tests/integration/servers.sh"
printf '%s\n' "$SERVERS_PASSWORD" >"$D/pass" && chmod 600 "$D/pass"
printf '%s\n' 'wrongpass-7f3a' >"$D/badpass" && chmod 600 "$D/badpass"
PLAIN="smtp://127.0.0.1:$SMTP_PORT"
TO=alice@example.cn

# 1. plain loopback, no AUTH: two acks over one connection
drv --url "$PLAIN" --to "$TO" --timeout 10 send send
[ "$drv_rc" -eq 0 ] || bad "driver exit status" "$drv_rc: $out"
expect_send 1 "plain loopback send 1" sent 250 0
expect_send 2 "plain loopback send 2" sent 250 0
c1=$(field "$(line 1)" new_connections)
c2=$(field "$(line 2)" new_connections)
if [ "$c1" = 1 ] && [ "$c2" = 0 ]; then
	ok "second send reused the connection (new connections $c1, $c2)"
else
	bad "connection reuse" "new connections $c1, $c2 (want 1, 0)"
fi
ids="$(field "$(line 1)" message_id) $(field "$(line 2)" message_id)"

# The acks as delivered to alice, checked with Python's email package.
MB="$PY $MAILBOX_PY --port $IMAP_PORT --user $TO --password $SERVERS_PASSWORD"
if $MB wait --count 2 --timeout 10 >/dev/null &&
    $MB fetch-all --out "$D/alice" >/dev/null; then
	ok "alice received two messages"
else
	bad "alice received two messages"
fi
# shellcheck disable=SC2086 # two ids
chk=$("$PY" - "$D/alice" $ids <<'EOF' 2>&1
import email, email.policy, glob, sys
d, want_ids = sys.argv[1], sys.argv[2:]
msgs = {}
for p in sorted(glob.glob(d + "/*.eml")):
    with open(p, "rb") as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    msgs[str(m["Message-ID"]).strip()] = m
for n, mid in enumerate(want_ids, 1):
    m = msgs.get(mid)
    if m is None:
        print("FAIL - message %s delivered" % mid)
        continue
    print("ok - message %s delivered" % mid)
    want = "[CM-20231105-%03d] 已受理 / Received: 角色数据丢失需恢复" % n
    def check(name, got, exp):
        print("%s - %s %s" % ("ok" if got == exp else "FAIL", mid, name)
              + ("" if got == exp else ": got %r, want %r" % (got, exp)))
    check("Subject decodes", str(m["Subject"]), want)
    check("Auto-Submitted", str(m["Auto-Submitted"]), "auto-replied")
    check("X-Auto-Response-Suppress",
          str(m["X-Auto-Response-Suppress"]), "All")
    check("In-Reply-To", str(m["In-Reply-To"]),
          "<orig-question@example.cn>")
    check("References", " ".join(str(m["References"]).split()),
          "<thread-start@example.cn> <orig-question@example.cn>")
    check("From", str(m["From"]), "樱花影院客服 <support@example.com>")
    check("To", str(m["To"]), "alice@example.cn")
    body = m.get_content()
    check("body names the ticket", "CM-20231105-%03d" % n in body, True)
    check("formats help only on even acks",
          "Subject formats" in body, n % 2 == 0)
    check("one To header", len(m.get_all("To")), 1)
EOF
)
while IFS= read -r l; do
	case $l in
	ok*) ok "${l#ok - }" ;;
	*) bad "${l#FAIL - }" ;;
	esac
done <<EOF
$chk
EOF
if grep -q 'to=<alice@example.cn>.*auth=- tls=no' "$D/smtp.log"; then
	ok "relay log: plain, no AUTH"
else
	bad "relay log: plain, no AUTH" "$(cat "$D/smtp.log")"
fi

# 2. STARTTLS required on the same port, test CA, AUTH
drv --url "$PLAIN" --to "$TO" --tls-required --ca "$CA_FILE" \
    --user support@example.com --password-file "$D/pass" --timeout 10 send
expect_send 1 "STARTTLS + AUTH" sent 250 0
if tail -n 1 "$D/smtp.log" | grep -q 'auth=support@example.com tls=yes'; then
	ok "relay log: STARTTLS and AUTH used"
else
	bad "relay log: STARTTLS and AUTH used" "$(tail -n 1 "$D/smtp.log")"
fi

# 3. implicit TLS (smtps://localhost) with the test CA
drv --url "smtps://localhost:$SMTPS_PORT" --to "$TO" --ca "$CA_FILE" \
    --user support@example.com --password-file "$D/pass" --timeout 10 send
expect_send 1 "SMTPS + AUTH" sent 250 0

# 4. verification is on by default: no CA file, the test CA is unknown
drv --url "smtps://localhost:$SMTPS_PORT" --to "$TO" --timeout 10 send
expect_send 1 "unknown CA refused (verification on)" tempfail 0 60
drv --url "$PLAIN" --to "$TO" --tls-required --timeout 10 send
# the code is the last reply seen (220 to STARTTLS), LIBRARIES.md §4
expect_send 1 "STARTTLS unknown CA refused" tempfail 220 60

# 5. wrong password: temporary (our config), and never in the error text
drv --url "$PLAIN" --to "$TO" --user support@example.com \
    --password-file "$D/badpass" --timeout 10 send
expect_send 1 "wrong password" tempfail 535 67
if printf '%s\n' "$out" | grep -q 'wrongpass-7f3a'; then
	bad "password not in the error text" "$out"
else
	ok "password not in the error text"
fi

# 6. unknown recipient: Dovecot's 550 at RCPT time
drv --url "$PLAIN" --to nobody@example.cn --timeout 10 send
expect_send 1 "unknown recipient" permfail 550 55

# 7. fault modes, down and up, all on ONE sender
drv --url "$PLAIN" --to "$TO" --timeout 10 \
    "run:$SRV mode $D tempfail" send \
    "run:$SRV mode $D permfail" send \
    "run:$SRV mode $D tempfail-data" send \
    "run:$SRV mode $D permfail-data" send \
    "run:$SRV mode $D normal" send \
    "run:$SRV stop-smtp $D" send \
    "run:$SRV start-smtp $D" send send
expect_send 1 "tempfail mode" tempfail 451 55
expect_send 2 "permfail mode" permfail 550 55
expect_send 3 "tempfail-data mode" tempfail 451
expect_send 4 "permfail-data mode" permfail 554
expect_send 5 "normal again" sent 250 0
expect_send 6 "server stopped: connection refused" tempfail 0 7
ms=$(field "$(line 6)" ms)
echo "# refused after ${ms} ms (timeout 10 s)"
expect_send 7 "server back: same sender delivers" sent 250 0
expect_send 8 "and again" sent 250 0
c8=$(field "$(line 8)" new_connections)
if [ "$c8" = 0 ]; then
	ok "reuse after reconnect"
else
	bad "reuse after reconnect" "new connections $c8"
fi
case $(line 1) in
*"server said: 451"*) ok "error text carries the server reply" ;;
*) bad "error text carries the server reply" "$(line 1)" ;;
esac

# 8. invalid recipient never reaches the server
drv --url "$PLAIN" --to 'a@b.cn> NOTIFY=NEVER' --timeout 10 send 2>/dev/null
case $drv_rc:$out in
1:*"recipient is not a plain address"*) ok "ack_render refuses a bad To" ;;
*) bad "ack_render refuses a bad To" "$out" ;;
esac

# 9. a password found in an error text is masked: curl's refusal text
# ("Failed to connect ... Couldn't connect to server") holds "connect"
printf '%s\n' 'connect' >"$D/maskpass" && chmod 600 "$D/maskpass"
$SRV stop-smtp "$D"
drv --url "$PLAIN" --to "$TO" --user support@example.com \
    --password-file "$D/maskpass" --timeout 10 send
l=$(line 1)
case $(field "$l" status):${l#*error=} in
*connect*) bad "password masked in the error text" "$l" ;;
tempfail:*"***"*) ok "password masked in the error text (${l#*error=})" ;;
*) bad "password masked in the error text" "$l" ;;
esac

if [ -n "${TICKETD_VALGRIND:-}" ]; then
	if cat "$D"/valgrind.* 2>/dev/null | grep -q 'definitely lost'; then
		bad "valgrind: no definite leaks" "$(cat "$D"/valgrind.*)"
	else
		ok "valgrind: no definite leaks"
	fi
fi
finish
