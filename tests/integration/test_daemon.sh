#!/bin/sh
# SPDX-License-Identifier: MIT
# test_daemon.sh - ticketd end to end against the real servers of
# servers.sh: mail APPENDed to support@example.com becomes tickets, acks
# arrive in the requester's real mailbox with the right headers, follow-ups
# thread, suppressed senders get nothing, unparseable mail is quarantined,
# messages are flagged and moved on the server (also when the move only
# happens on a later pass); then the faults: SMTP down
# (acks delivered after it returns), IMAP server restarted, SIGHUP with a
# bad config (old one kept), SIGTERM (exit 0); IMAPS and STARTTLS paths.
# Ends with "N passed, N failed"; servers and ticketd stopped on every exit.
# shellcheck disable=SC2317
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/servers.sh
B=${B:-build}
PY=$SERVERS_PYTHON
pass=0
fail=0
D=$(mktemp -d "${TMPDIR:-/tmp}/ticketd-e2e.XXXXXX") || exit 1
TD_PID=

cleanup() {
	[ -n "$TD_PID" ] && kill -9 "$TD_PID" 2>/dev/null
	servers_stop "$D/srv"
	if [ "$fail" -ne 0 ]; then
		echo "--- ticketd.log (tail)"
		tail -n 40 "$D/ticketd.log" 2>/dev/null
	fi
	[ -n "${KEEP_E2E_DIR:-}" ] || rm -rf "$D"
}
trap cleanup EXIT
trap 'fail=$((fail + 1)); exit 1' INT TERM

# shellcheck source=tests/lib.sh
. tests/lib.sh

mkdir -p "$D/srv" "$D/state" "$D/msgs"
servers_start "$D/srv" >/dev/null || {
	echo "0 passed, 1 failed"
	exit 1
}
eval "$(servers_env "$D/srv")"
MB="$PY tests/integration/mailbox.py --port $IMAP_PORT"
printf 'secret\n' >"$D/imap.pass"
chmod 600 "$D/imap.pass"

# write_conf TLS PORT - the daemon's config
write_conf() {
	cat >"$D/ticketd.conf" <<EOC
[imap]
host = ${3:-127.0.0.1}
port = $2
tls = $1
user = support@example.com
password_file = $D/imap.pass
ca_file = $CA_FILE
mailbox = INBOX
processed_folder = Processed
quarantine_folder = Quarantine
poll_interval = 2
idle = yes
timeout = 10
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
from = 樱花影院客服 <support@example.com>
timeout = 10
[store]
state_dir = $D/state
[ticket]
timezone = Asia/Shanghai
EOC
}

# msg FILE FROM SUBJECT [EXTRA-HEADER] - a small support mail
msg() {
	{
		printf 'From: %s\r\nTo: support@example.com\r\n' "$2"
		printf 'Subject: %s\r\nMessage-ID: <%s@test>\r\n' "$3" \
		    "$(basename "$1" .eml)"
		[ -n "${4:-}" ] && printf '%s\r\n' "$4"
		printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; '
		# a distinct order number each: the same requester and order
		# number within order_merge_days would make a follow-up
		printf 'charset=utf-8\r\n\r\n订单号：SK-%s-%s 请处理。\r\n' "$$" \
		    "$(basename "$1" .eml)"
	} >"$1"
}

start_td() {
	"$B/ticketd" -c "$D/ticketd.conf" -f --log-level debug \
	    >>"$D/ticketd.log" 2>&1 &
	TD_PID=$!
}

# tickets - JSON list of tickets
tickets() {
	"$B/ticketctl" -c "$D/ticketd.conf" list --json
}

# wait_for SECONDS CMD... - poll until CMD succeeds
wait_for() {
	t=$1
	shift
	i=0
	while [ "$i" -lt $((t * 5)) ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

# count_tickets N - exactly N tickets in the store
count_tickets() {
	[ "$(tickets | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')" = "$1" ]
}

# acks_in USER N - USER's INBOX holds N messages
acks_in() {
	[ "$($MB --user "$1" count)" = "$2" ]
}

write_conf none "$IMAP_PORT"
msg "$D/msgs/m1.eml" "Alice <alice@example.cn>" "【紧急】【A123456】角色数据丢失需恢复"
msg "$D/msgs/m2.eml" "Bob <bob@example.com>" "Automatic reply: away" \
    "Auto-Submitted: auto-replied"
printf '\001\002garbage\377\n\n' >"$D/msgs/m3.eml"
$MB append "$D/msgs/m1.eml" "$D/msgs/m2.eml" "$D/msgs/m3.eml" >/dev/null
start_td

check "three messages filed (two tickets)" wait_for 20 count_tickets 2
check "ack arrives in alice's real mailbox" wait_for 20 acks_in alice@example.cn 1
check "no ack to an auto-replier" acks_in bob@example.com 0
check "INBOX emptied" wait_for 10 acks_in support@example.com 0
check "two messages in Processed" \
    wait_for 10 sh -c "[ \"\$($MB count --folder Processed)\" = 2 ]"
check "garbage quarantined on the server" \
    sh -c "[ \"\$($MB count --folder Quarantine)\" = 1 ]"
check "quarantine recorded in the store" sh -c \
    "$B/ticketctl -c $D/ticketd.conf quarantine --json | grep -q 'no header fields'"
check "processed mail flagged \\Seen \$Ticketed" sh -c \
    "$MB flags --folder Processed | grep -q 'Ticketed'"

# the ack's headers, read back from alice's mailbox
mkdir -p "$D/alice"
$MB --user alice@example.cn fetch-all --out "$D/alice" >/dev/null
ACK=$(ls "$D/alice"/*.eml 2>/dev/null | head -n 1)
ID=$(tickets | $PY -c 'import json,sys
for t in json.load(sys.stdin):
    if t["requester"] == "alice@example.cn": print(t["id"])')
check "ticket id has the CM-YYYYMMDD-NNN form" \
    sh -c "echo '$ID' | grep -Eq '^CM-[0-9]{8}-[0-9]{3,}$'"
if [ -n "$ACK" ]; then
	$PY - "$ACK" "$ID" >"$D/ackcheck" 2>&1 <<'EOP'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"),
                                   policy=email.policy.default)
tid = sys.argv[2]
checks = {
    "subject": m["Subject"].startswith("[%s] 已受理 / Received:" % tid),
    "auto-submitted": m["Auto-Submitted"] == "auto-replied",
    "in-reply-to": m["In-Reply-To"] == "<m1@test>",
    "references": "<m1@test>" in (m["References"] or ""),
    "message-id": (m["Message-ID"] or "").startswith("<"),
    "suppress": m["X-Auto-Response-Suppress"] == "All",
    "body": tid in m.get_body(("plain",)).get_content(),
}
for k, v in checks.items():
    print(("ok " if v else "bad ") + k)
EOP
	while read -r res name; do
		if [ "$res" = ok ]; then ok "ack header $name"; else bad "ack header $name"; fi
	done <"$D/ackcheck"
else
	bad "ack readable"
fi

# follow-up by ticket id: appended, no second ack
msg "$D/msgs/m4.eml" "Alice <alice@example.cn>" "Re: [$ID] 补充截图"
$MB append "$D/msgs/m4.eml" >/dev/null
check "follow-up appended to the ticket" wait_for 20 sh -c \
    "$B/ticketctl -c $D/ticketd.conf show $ID --json | grep -q 'm4@test'"
check "no new ticket for the follow-up" count_tickets 2
sleep 1
check "no second ack for a follow-up" acks_in alice@example.cn 1

# SMTP down: the ticket is made, the ack waits, then arrives
servers_stop_smtp "$D/srv"
msg "$D/msgs/m5.eml" "Bob <bob@example.com>" "Refund request: order #123456"
$MB append "$D/msgs/m5.eml" >/dev/null
check "ticket filed while SMTP is down" wait_for 20 count_tickets 3
check "ack queued while SMTP is down" sh -c \
    "$B/ticketctl -c $D/ticketd.conf outbox --json | grep -q queued"
servers_start_smtp "$D/srv" >/dev/null
check "ack delivered after SMTP returns" wait_for 180 acks_in bob@example.com 1

# IMAP server restarted under the daemon
servers_restart_imap "$D/srv" >/dev/null
msg "$D/msgs/m6.eml" "Alice <alice@example.cn>" "关于[票务]的咨询(订单号:884213)"
wait_for 10 $MB append "$D/msgs/m6.eml"
check "daemon reconnects after an IMAP restart" wait_for 60 count_tickets 4

# SIGHUP with a bad config: rejected, old one kept, still working
cp "$D/ticketd.conf" "$D/good.conf"
printf '[imap]\nbogus_key = 1\n' >>"$D/ticketd.conf"
kill -HUP "$TD_PID"
check "bad reload rejected and logged" wait_for 10 \
    grep -q "reload_failed" "$D/ticketd.log"
check "daemon alive after a bad reload" kill -0 "$TD_PID"
cp "$D/good.conf" "$D/ticketd.conf"
msg "$D/msgs/m7.eml" "Bob <bob@example.com>" "[urgent][U777] cannot log in"
$MB append "$D/msgs/m7.eml" >/dev/null
check "still filing after a bad reload" wait_for 20 count_tickets 5

# SIGTERM: exit 0
kill -TERM "$TD_PID"
wait "$TD_PID"
rc=$?
TD_PID=
check "SIGTERM exits 0" [ "$rc" -eq 0 ]

# Flagged but never moved (a failed move, a stop in between, or folders
# configured later): the next pass moves each to the folder its stored
# outcome calls for, and nothing is filed again.
folder_count() {
	$MB count --folder "$1"
}
p0=$(folder_count Processed)
q0=$(folder_count Quarantine)
n0=$(tickets | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')
sed -e 's/^processed_folder = .*/processed_folder =/' \
    -e 's/^quarantine_folder = .*/quarantine_folder =/' \
    "$D/ticketd.conf" >"$D/nomove.conf"
mv "$D/nomove.conf" "$D/ticketd.conf"
msg "$D/msgs/m8.eml" "Alice <alice@example.cn>" "退票申请:订单号778899"
printf '\001\002more garbage\377\n\n' >"$D/msgs/m9.eml"
$MB append "$D/msgs/m8.eml" "$D/msgs/m9.eml" >/dev/null
start_td
check "filed without moving" wait_for 20 count_tickets $((n0 + 1))
check "both stay in INBOX, flagged \$Ticketed" wait_for 10 sh -c \
    "[ \"\$($MB flags | grep -c Ticketed)\" = 2 ]"
kill -TERM "$TD_PID"
wait "$TD_PID"
TD_PID=
write_conf none "$IMAP_PORT"
start_td
check "leftovers moved when the folders are back" wait_for 20 \
    acks_in support@example.com 0
check "the ticket's message went to Processed" \
    sh -c "[ \"\$($MB count --folder Processed)\" = $((p0 + 1)) ]"
check "the unparseable one went to Quarantine" \
    sh -c "[ \"\$($MB count --folder Quarantine)\" = $((q0 + 1)) ]"
check "moved_leftovers logged" grep -q \
    "action=moved_leftovers messages=1 quarantined=1" "$D/ticketd.log"
check "nothing filed twice" count_tickets $((n0 + 1))
kill -TERM "$TD_PID"
wait "$TD_PID"
TD_PID=

# IMAPS and STARTTLS with certificate verification
for mode in "implicit $IMAPS_PORT localhost" "starttls $IMAP_PORT localhost"; do
	# shellcheck disable=SC2086
	write_conf $mode
	msg "$D/msgs/t-${mode%% *}.eml" "Alice <alice@example.cn>" \
	    "TLS ${mode%% *} test"
	$MB append "$D/msgs/t-${mode%% *}.eml" >/dev/null
	n=$(tickets | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')
	start_td
	check "filing over ${mode%% *} TLS" wait_for 20 count_tickets $((n + 1))
	kill -TERM "$TD_PID"
	wait "$TD_PID"
	TD_PID=
done
# a certificate for another host name is refused before LOGIN
servers_switch_cert "$D/srv" wrong >/dev/null
write_conf implicit "$IMAPS_PORT" localhost
start_td
check "wrong host name refused" wait_for 15 \
    grep -q "connect_failed" "$D/ticketd.log"
kill -TERM "$TD_PID"
wait "$TD_PID"
TD_PID=
check "no password in the log" sh -c "! grep -q secret $D/ticketd.log"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
