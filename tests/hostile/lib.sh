#!/bin/sh
# SPDX-License-Identifier: MIT
# lib.sh - shared helpers of the tests/hostile suites (sourced, POSIX sh):
# one private temp dir per suite, the test counters and the final "N
# passed, N failed" line, the real servers of tests/integration/servers.sh
# on demand, a ticketd config writer, daemon start/stop by pid, polling,
# and a cleanup trap that stops everything this suite started on every
# exit path.  Set SERVERS_USERS (and SERVERS_PASSWORD) before sourcing to
# get other test users; KEEP_HOSTILE_DIR=1 keeps the temp dir.
# shellcheck disable=SC2317,SC2034
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
PY=${SERVERS_PYTHON:-/usr/bin/python3}
GEN="$PY tests/hostile/gen_hostile.py"
pass=0
fail=0
H_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ticketd-hostile.XXXXXX") || exit 1
H_SERVERS=
H_PIDS=
TD_PID=

. tests/integration/servers.sh

# h_cleanup - stop our daemons and servers, remove the temp dir
h_cleanup() {
	for h__p in $H_PIDS; do
		kill -9 "$h__p" 2>/dev/null
	done
	[ -n "$H_SERVERS" ] && servers_stop "$H_SERVERS"
	if [ "$fail" -ne 0 ] && [ -f "$H_DIR/ticketd.log" ]; then
		echo "--- ticketd.log (tail)"
		tail -n 30 "$H_DIR/ticketd.log" | tr -d '\000-\010\013-\037'
	fi
	[ -n "${KEEP_HOSTILE_DIR:-}" ] || rm -rf "$H_DIR"
}
trap h_cleanup EXIT
trap 'fail=$((fail + 1)); echo "FAIL - interrupted"
echo "$pass passed, $fail failed"; exit 1' INT TERM HUP

# shellcheck source=tests/lib.sh
. tests/lib.sh

# h_done - the summary line and the exit status
h_done() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}

# h_now_ms - monotonic-enough wall clock in milliseconds
h_now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# wait_for SECONDS CMD... - poll CMD every 0.1 s until it succeeds
wait_for() {
	h__t=$(($1 * 10))
	shift
	h__i=0
	while [ "$h__i" -lt "$h__t" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		h__i=$((h__i + 1))
	done
	return 1
}

# h_servers - start Dovecot and the SMTP relay under $H_DIR/srv
h_servers() {
	H_SERVERS=$H_DIR/srv
	servers_start "$H_SERVERS" >/dev/null || {
		bad "servers start"
		h_done
	}
	eval "$(servers_env "$H_SERVERS")"
	MB="$PY tests/integration/mailbox.py --port $IMAP_PORT"
}

# h_secret FILE VALUE - a password file (mode 0600)
h_secret() {
	(umask 077 && printf '%s\n' "$2" >"$1")
}

# h_conf FILE - a ticketd config from the C_* variables:
#   C_TLS (none) C_HOST (127.0.0.1) C_PORT ($IMAP_PORT) C_CA ($CA_FILE)
#   C_IMAP_PASS ($H_DIR/imap.pass) C_SMTP_URL (smtp://127.0.0.1:$SMTP_PORT;
#   "-" for none) C_SMTP_EXTRA (more [smtp] lines) C_STATE ($H_DIR/state)
#   C_EXTRA (more sections, appended as is) C_NO_IMAP (set: no [imap])
h_conf() {
	{
		if [ -n "${IMAP_PORT:-}" ] && [ -z "${C_NO_IMAP:-}" ]; then
			cat <<EOC
[imap]
host = ${C_HOST:-127.0.0.1}
port = ${C_PORT:-$IMAP_PORT}
tls = ${C_TLS:-none}
user = support@example.com
password_file = ${C_IMAP_PASS:-$H_DIR/imap.pass}
ca_file = ${C_CA-$CA_FILE}
mailbox = INBOX
processed_folder = Processed
quarantine_folder = Quarantine
poll_interval = 2
idle = yes
timeout = 10
EOC
		fi
		if [ "${C_SMTP_URL:-}" != "-" ] && [ -n "${SMTP_PORT:-}" ]; then
			cat <<EOC
[smtp]
url = ${C_SMTP_URL:-smtp://127.0.0.1:$SMTP_PORT}
from = 樱花影院客服 <support@example.com>
timeout = 10
${C_SMTP_EXTRA:-}
EOC
		fi
		cat <<EOC
[store]
state_dir = ${C_STATE:-$H_DIR/state}
[ticket]
timezone = Asia/Shanghai
${C_EXTRA:-}
EOC
	} >"$1"
}

# h_start_td CONF LOG [ARGS...] - ticketd in the foreground mode, in the
# background; TD_PID is its pid
h_start_td() {
	h__conf=$1
	h__log=$2
	shift 2
	"$B/ticketd" -c "$h__conf" -f "$@" >>"$h__log" 2>&1 &
	TD_PID=$!
	H_PIDS="$H_PIDS $TD_PID"
}

# h_stop_td - SIGTERM ticketd, wait up to 15 s, then SIGKILL; returns its
# exit status (137 when it had to be killed)
h_stop_td() {
	[ -n "$TD_PID" ] || return 0
	kill -TERM "$TD_PID" 2>/dev/null
	h__i=0
	while kill -0 "$TD_PID" 2>/dev/null &&
	    [ "$(sed 's/^.*) \(.\).*$/\1/' "/proc/$TD_PID/stat" 2>/dev/null)" != Z ]; do
		h__i=$((h__i + 1))
		if [ "$h__i" -gt 150 ]; then
			kill -9 "$TD_PID" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	wait "$TD_PID" 2>/dev/null
	h__rc=$?
	TD_PID=
	return $h__rc
}

# h_ctl CONF ARGS... - ticketctl
h_ctl() {
	h__conf=$1
	shift
	"$B/ticketctl" -c "$h__conf" "$@"
}

# h_count_tickets CONF - how many tickets the store holds
h_count_tickets() {
	h_ctl "$1" list --json 2>/dev/null |
	    $PY -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# h_raw_controls FILE - true when FILE holds a raw control character other
# than LF and TAB: C0 (CR, ESC, NUL, ...), DEL, or a UTF-8 C1 control
h_raw_controls() {
	$PY tests/hostile/check.py controls "$1" >/dev/null
	[ $? -eq 1 ]
}
