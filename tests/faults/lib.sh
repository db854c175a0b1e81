#!/bin/sh
# SPDX-License-Identifier: MIT
# lib.sh - what the fault suites share (sourced, POSIX sh): a private
# temp dir, the real servers of tests/integration/servers.sh with many
# requester users, ticketd's config, starting and killing ticketd, the
# ok/bad counters and the "N passed, N failed" line, and a cleanup trap
# that stops servers, the proxy, every ticketd process we started (parse
# children included) and unmounts what we mounted, on every exit path.
# The sourcing suite must cd to the repository root first.

B=${B:-build}
export B
PY=/usr/bin/python3
# Requesters with real mailboxes: acks are counted where they arrive.
FAULTS_USERS=""
faults__i=1
while [ "$faults__i" -le 40 ]; do
	FAULTS_USERS="$FAULTS_USERS u$faults__i@example.cn"
	faults__i=$((faults__i + 1))
done
SERVERS_USERS="support@example.com$FAULTS_USERS"
export SERVERS_USERS
# shellcheck disable=SC2034,SC2086 # comma-separated, for gen.py --users
USERS=$(echo $FAULTS_USERS | tr ' ' ,)
. tests/integration/servers.sh

pass=0
fail=0
TD_PID=
PROXY_PID=
EXTRA_PIDS= # other helpers we started (killed by pid on exit)
MOUNTED=
FIGURES=
D=$(mktemp -d "${TMPDIR:-/tmp}/td-faults.XXXXXX") || exit 1
CONF=$D/ticketd.conf
LOG=$D/ticketd.log
STATE=$D/state

# shellcheck source=tests/lib.sh
. tests/lib.sh

# figure TEXT - remember a figure for the summary
figure() {
	FIGURES="$FIGURES
  $1"
	echo "figure: $1"
}

# run_checks CMD... - run a checker printing "ok - X" / "FAIL - X" and
# "figure: X" lines; count them (a checker that dies is one failure)
run_checks() {
	"$@" >"$D/checks.out" 2>&1
	faults__rc=$?
	while IFS= read -r faults__line; do
		case $faults__line in
		"ok - "*) ok "${faults__line#ok - }" ;;
		"FAIL - "*) bad "${faults__line#FAIL - }" ;;
		"figure: "*) figure "${faults__line#figure: }" ;;
		*) echo "$faults__line" ;;
		esac
	done <"$D/checks.out"
	if [ "$faults__rc" -ne 0 ] && ! grep -q '^FAIL - ' "$D/checks.out"; then
		bad "checker $1 exited $faults__rc"
	fi
}

# wait_for SECONDS CMD... - poll every 0.2 s until CMD succeeds
wait_for() {
	faults__t=$1
	shift
	faults__k=0
	while [ "$faults__k" -lt $((faults__t * 5)) ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		faults__k=$((faults__k + 1))
	done
	return 1
}

# our_pids - pids of every ticketd process of this suite: the daemon and
# its parse children (forked, so they share its command line), found by
# our private config path
our_pids() {
	for faults__p in /proc/[0-9]*; do
		faults__c=$(tr '\0' ' ' 2>/dev/null <"$faults__p/cmdline") ||
		    continue
		case $faults__c in
		*ticketd*" -c $CONF "*) echo "${faults__p#/proc/}" ;;
		esac
	done
}

# reap_ours SECONDS - wait for our ticketd processes (orphaned parse
# children finish their batch) then SIGKILL what is left, by pid
reap_ours() {
	faults__k=0
	while [ -n "$(our_pids)" ] && [ "$faults__k" -lt $(($1 * 10)) ]; do
		sleep 0.1
		faults__k=$((faults__k + 1))
	done
	for faults__p in $(our_pids); do
		kill -KILL "$faults__p" 2>/dev/null
	done
}

faults_cleanup() {
	faults__rc=$?
	if [ -n "$TD_PID" ]; then
		kill -KILL "$TD_PID" 2>/dev/null
		wait "$TD_PID" 2>/dev/null
	fi
	reap_ours 10
	for faults__p in $PROXY_PID $EXTRA_PIDS; do
		kill -TERM "$faults__p" 2>/dev/null
		wait "$faults__p" 2>/dev/null
	done
	servers_stop "$D/srv"
	if [ -n "$MOUNTED" ]; then
		umount "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED"
	fi
	if [ "$fail" -ne 0 ] || [ "$faults__rc" -ne 0 ]; then
		echo "--- ticketd.log (tail)"
		tail -n 30 "$LOG" 2>/dev/null
	fi
	if [ -n "${KEEP_FAULTS_DIR:-}" ]; then
		echo "kept $D"
	else
		rm -rf "$D"
	fi
}
trap faults_cleanup EXIT
trap 'fail=$((fail + 1)); exit 1' INT TERM HUP

# summary - print the figures and the last line; exit with the result
summary() {
	if [ -n "$FIGURES" ]; then
		echo "figures:$FIGURES"
	fi
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}

# start_servers - private Dovecot + SMTP relay; fail the suite loudly
start_servers() {
	mkdir -p "$D/srv" "$STATE"
	if ! servers_start "$D/srv" >/dev/null; then
		bad "servers start"
		summary
	fi
	eval "$(servers_env "$D/srv")"
	MB="$PY tests/integration/mailbox.py --port $IMAP_PORT"
	printf '%s\n' "$SERVERS_PASSWORD" >"$D/imap.pass"
	chmod 600 "$D/imap.pass"
}

# write_conf [PORT [MAILBOX [STATE_DIR [PROCESSED [QUARANTINE]]]]] -
# ticketd's config (plain IMAP on loopback, IDLE, SMTP relay)
write_conf() {
	cat >"$CONF" <<EOC
[imap]
host = 127.0.0.1
port = ${1:-$IMAP_PORT}
tls = none
user = support@example.com
password_file = $D/imap.pass
mailbox = ${2:-INBOX}
processed_folder = ${4:-Processed}
quarantine_folder = ${5:-Quarantine}
poll_interval = 5
idle = yes
timeout = 10
batch = ${FAULTS_BATCH:-100}
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
from = 樱花影院客服 <support@example.com>
timeout = 10
[store]
state_dir = ${3:-$STATE}
[ticket]
timezone = Asia/Shanghai
[ack]
max_acks_per_sender = 10000
EOC
}

# start_td [WRAPPER...] - start ticketd in the background (TD_PID)
start_td() {
	"$@" "$B/ticketd" -c "$CONF" -f --log-level "${TD_LEVEL:-info}" \
	    >>"$LOG" 2>&1 &
	TD_PID=$!
}

# stop_td - SIGTERM, wait; prints the exit status
stop_td() {
	[ -n "$TD_PID" ] || return 0
	kill -TERM "$TD_PID" 2>/dev/null
	wait "$TD_PID"
	faults__rc=$?
	TD_PID=
	return $faults__rc
}

# ctl ARGS... - ticketctl on our config
ctl() {
	"$B/ticketctl" -c "$CONF" "$@"
}

# json_len - length of the JSON array on stdin
json_len() {
	$PY -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# count FOLDER [USER] - messages in FOLDER
count() {
	$MB ${2:+--user "$2"} count --folder "$1" 2>/dev/null
}

# folder_is FOLDER N - FOLDER holds exactly N messages
folder_is() {
	[ "$(count "$1")" = "$2" ]
}

# outbox_drained - no ack queued any more
outbox_drained() {
	[ "$(ctl outbox --json | $PY -c 'import json,sys
print(sum(1 for a in json.load(sys.stdin) if a["status"] == "queued"))')" = 0 ]
}

# mount_tmpfs DIR SIZE - a small tmpfs on DIR (we are root); 1 on failure
mount_tmpfs() {
	mkdir -p "$1" || return 1
	mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" || return 1
	MOUNTED=$1
}

# require_progs PROG... - fail the suite loudly when one is missing
require_progs() {
	for faults__p in "$@"; do
		if [ ! -x "$faults__p" ] &&
		    ! command -v "$faults__p" >/dev/null 2>&1; then
			bad "missing dependency: $faults__p"
			summary
		fi
	done
}
