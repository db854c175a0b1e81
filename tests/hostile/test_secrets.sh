#!/bin/sh
# SPDX-License-Identifier: MIT
# test_secrets.sh - the IMAP and SMTP passwords (distinctive ones, SPEC §8,
# §9) never show: not in the ticketd log at --log-level debug (as is,
# base64, or in an AUTH PLAIN blob), not in the argv or environment of
# ticketd and its parsing children (/proc/PID/cmdline, /proc/PID/environ,
# `ps` output, sampled while mail is filed), not in the state dir; a SIGHUP
# reload rereads them quietly.  Password files readable by group or others,
# or owned by another user, are refused at start with a clear log line and
# exit status 78 (EX_CONFIG).  The servers really take both passwords:
# the daemon logs in to Dovecot and authenticates to the SMTP relay.
# shellcheck disable=SC2317,SC2034,SC1091
SERVERS_PASSWORD=Imap-S3cret-$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
SMTP_SECRET=Smtp-S3cret-$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
SERVERS_USERS="support@example.com alice@example.cn relay@example.com"
. "$(dirname "$0")/lib.sh"

h_servers
# the relay user gets its own password (both servers reread the file)
sed "s|^relay@example.com:{PLAIN}[^:]*:|relay@example.com:{PLAIN}$SMTP_SECRET:|" \
    "$H_SERVERS/users" >"$H_SERVERS/users.new" &&
    mv "$H_SERVERS/users.new" "$H_SERVERS/users" || bad "relay password"
h_secret "$H_DIR/imap.pass" "$SERVERS_PASSWORD"
h_secret "$H_DIR/smtp.pass" "$SMTP_SECRET"
PWI=$H_DIR/imap.pass
PWS=$H_DIR/smtp.pass
CONF=$H_DIR/ticketd.conf
C_SMTP_EXTRA="user = relay@example.com
password_file = $PWS" h_conf "$CONF"
# mb ARGS... - mailbox.py with the password in its environment, not argv
mb() {
	SERVERS_PASSWORD=$SERVERS_PASSWORD $MB "$@"
}

# no_secret FILE|DIR... - neither password, in any usual form
no_secret() {
	$PY tests/hostile/check.py secret "$PWI" support@example.com "$@" &&
	    $PY tests/hostile/check.py secret "$PWS" relay@example.com "$@"
}

mkdir -p "$H_DIR/msgs" "$H_DIR/proc"
for i in 1 2 3 4 5 6; do
	printf 'From: Alice <alice@example.cn>\r\nTo: support@example.com\r\nSubject: secret test %s\r\nMessage-ID: <secret-%s@hostile.test>\r\n\r\nhello\r\n' \
	    "$i" "$i" >"$H_DIR/msgs/m$i.eml"
done
mb append "$H_DIR"/msgs/m1.eml "$H_DIR"/msgs/m2.eml >/dev/null || bad "append"
h_start_td "$CONF" "$H_DIR/ticketd.log" --log-level debug
check "the daemon logs in (IMAP password taken)" wait_for 20 \
    grep -q 'imap action=connected' "$H_DIR/ticketd.log"

# sample - copy cmdline and environ of ticketd and its children, and ps
n_sample=0
n_child=0
sample() {
	for p in $TD_PID $(pgrep -P "$TD_PID" 2>/dev/null); do
		n_sample=$((n_sample + 1))
		[ "$p" = "$TD_PID" ] || n_child=$((n_child + 1))
		cat "/proc/$p/cmdline" >"$H_DIR/proc/$n_sample.cmdline" 2>/dev/null
		cat "/proc/$p/environ" >"$H_DIR/proc/$n_sample.environ" 2>/dev/null
	done
	ps -eo pid,args >"$H_DIR/proc/ps.$n_sample" 2>/dev/null
}
sample
# sample while four more messages are parsed in children, one at a time
for i in 3 4 5 6; do
	mb append "$H_DIR/msgs/m$i.eml" >/dev/null || bad "append m$i"
	j=0
	while [ "$j" -lt 200 ] &&
	    [ "$(grep -c 'action=created' "$H_DIR/ticketd.log")" -lt "$i" ]; do
		sample
		j=$((j + 1))
	done
done
check "six messages filed" wait_for 20 \
    sh -c "[ \"\$($B/ticketctl -c $CONF list --json | grep -o '\"id\"' | wc -l)\" = 6 ]"
check "acks sent with SMTP AUTH as relay@ (SMTP password taken)" \
    wait_for 20 grep -q 'auth=relay@example.com' "$H_SERVERS/smtp.log"
kill -HUP "$TD_PID"
check "SIGHUP reload rereads the password files" wait_for 10 \
    grep -q 'config action=reloaded' "$H_DIR/ticketd.log"
check "reconnects after the reload" wait_for 20 \
    sh -c "[ \$(grep -c 'imap action=connected' $H_DIR/ticketd.log) -ge 2 ]"
sample
echo "# sampled $n_sample process views ($n_child of parsing children)"
check "no password in /proc/PID/cmdline of ticketd or its children" \
    no_secret "$H_DIR"/proc/*.cmdline
check "no password in /proc/PID/environ of ticketd or its children" \
    no_secret "$H_DIR"/proc/*.environ
check "no password in ps output" no_secret "$H_DIR"/proc/ps.*
h_stop_td
check "ticketd exits 0 on SIGTERM" [ $? -eq 0 ]
check "the debug log is not empty" \
    [ "$(wc -l <"$H_DIR/ticketd.log")" -gt 20 ]
check "no password in the log (debug level, plain/base64/AUTH PLAIN)" \
    no_secret "$H_DIR/ticketd.log"
check "no password in the state dir (database, raw mail)" \
    no_secret "$H_DIR/state"
check "the self-test finds a password where there is one" \
    sh -c "! $PY tests/hostile/check.py secret $PWS relay@example.com $PWS"
"$B/ticketd" -c "$CONF" --check-config >"$H_DIR/check.out" 2>&1
check "--check-config output names no password" no_secret "$H_DIR/check.out"

# refused ... - password files others could read, or owned by another user
# refused NAME WHICH MODE [OWNER] - ticketd refuses to start on it
refused() {
	cp "$H_DIR/$2.pass" "$H_DIR/$1.pass"
	chmod "$3" "$H_DIR/$1.pass"
	[ -n "${4:-}" ] && chown "$4" "$H_DIR/$1.pass"
	if [ "$2" = imap ]; then
		C_IMAP_PASS="$H_DIR/$1.pass" C_SMTP_EXTRA="user = relay@example.com
password_file = $PWS" h_conf "$H_DIR/$1.conf"
	else
		C_SMTP_EXTRA="user = relay@example.com
password_file = $H_DIR/$1.pass" h_conf "$H_DIR/$1.conf"
	fi
	timeout 20 "$B/ticketd" -c "$H_DIR/$1.conf" -f >"$H_DIR/$1.log" 2>&1
	rc=$?
	check "$1: ticketd refuses to start (exit 78)" [ "$rc" -eq 78 ]
	check "$1: clear log line" grep -q \
	    "config action=rejected error=\"$2 password: $H_DIR/$1.pass: must be owned by us or root with no group/other access\"" \
	    "$H_DIR/$1.log"
	check "$1: the refusal names no password" no_secret "$H_DIR/$1.log"
}
refused imap-0644 imap 0644
refused imap-0640 imap 0640
refused smtp-0644 smtp 0644
if [ "$(id -u)" -eq 0 ]; then
	refused imap-other-owner imap 0600 nobody
else
	echo "# not root: the other-owner case needs chown, not run"
fi
h_done
