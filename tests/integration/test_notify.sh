#!/bin/sh
# SPDX-License-Identifier: MIT
# test_notify.sh - ticketd's systemd protocol without systemd: a python3
# datagram socket stands in for NOTIFY_SOCKET (WATCHDOG_USEC=2 s, and
# WATCHDOG_PID set to ticketd's own pid by an exec wrapper), ticketd runs
# against servers.sh's Dovecot and SMTP, and the test checks that READY=1
# comes only after the IMAP login, STATUS= carries the counters, WATCHDOG=1
# arrives at least every second, SIGHUP gives RELOADING=1 then READY=1 (also
# for a rejected config), SIGTERM gives STOPPING=1 and exit 0.  Then, as
# root in a private mount namespace, a stand-in journald socket on /run
# checks the structured entries (TICKET_ID=, IMAP_UID=, MESSAGE_ID=,
# REQUESTER=, ACTION=, PRIORITY=).  Ends with "N passed, N failed".
# shellcheck disable=SC2317
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/servers.sh
B=${B:-build}
PY=$SERVERS_PYTHON
pass=0
fail=0
D=$(mktemp -d "${TMPDIR:-/tmp}/ticketd-notify.XXXXXX") || exit 1
TD_PID=
RX_PID=

cleanup() {
	[ -n "$TD_PID" ] && kill -9 "$TD_PID" 2>/dev/null
	[ -n "$RX_PID" ] && kill "$RX_PID" 2>/dev/null
	[ -s "$D/jrx.pid" ] && kill "$(cat "$D/jrx.pid")" 2>/dev/null
	servers_stop "$D/srv"
	if [ "$fail" -ne 0 ]; then
		echo "--- notify messages"
		tail -n 30 "$D/notify.out" 2>/dev/null
		echo "--- ticketd.log (tail)"
		tail -n 30 "$D/ticketd.log" 2>/dev/null
		if [ -s "$D/jstderr" ]; then
			echo "--- stderr of the journald run"
			tail -n 10 "$D/jstderr"
		fi
	fi
	[ -n "${KEEP_NOTIFY_DIR:-}" ] || rm -rf "$D"
}
trap cleanup EXIT
trap 'fail=$((fail + 1)); exit 1' INT TERM

# shellcheck source=tests/lib.sh
. tests/lib.sh

# wait_for SECONDS CMD... - poll until CMD succeeds
wait_for() {
	t=$1
	shift
	i=0
	while [ "$i" -lt $((t * 10)) ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

if [ ! -x "$B/ticketd" ]; then
	echo "FAIL - $B/ticketd not built"
	echo "0 passed, 1 failed"
	exit 1
fi

# The receiver: binds a datagram socket and writes one line per datagram,
# "SECONDS TEXT" (monotonic clock, newlines shown as \n).  With --journal
# it decodes journald's native protocol (KEY=value lines, or KEY\n + le64
# length + value) into one JSON object per entry.
cat >"$D/rx.py" <<'EOF'
import json, os, socket, struct, sys, time
path, out = sys.argv[1], sys.argv[2]
journal = len(sys.argv) > 3 and sys.argv[3] == "--journal"
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path + ".new")
os.rename(path + ".new", path)
f = open(out, "a")
while True:
    data = s.recv(1 << 20)
    now = time.monotonic()
    if journal:
        fields, i = {}, 0
        while i < len(data):
            nl = data.index(b"\n", i)
            line = data[i:nl]
            if b"=" in line:
                k, v = line.split(b"=", 1)
                i = nl + 1
            else:
                k = line
                n = struct.unpack("<Q", data[nl + 1:nl + 9])[0]
                v = data[nl + 9:nl + 9 + n]
                i = nl + 9 + n + 1
            fields[k.decode()] = v.decode("utf-8", "replace")
        f.write(json.dumps(fields, ensure_ascii=False) + "\n")
    else:
        f.write("%.3f %s\n" % (now, data.decode("utf-8", "replace")
                                .replace("\n", "\\n")))
    f.flush()
EOF

mkdir -p "$D/srv" "$D/state" "$D/msgs"
servers_start "$D/srv" >/dev/null || {
	echo "0 passed, 1 failed"
	exit 1
}
eval "$(servers_env "$D/srv")"
MB="$PY tests/integration/mailbox.py --port $IMAP_PORT"
printf 'secret\n' >"$D/imap.pass"
chmod 600 "$D/imap.pass"
cat >"$D/ticketd.conf" <<EOC
[imap]
host = 127.0.0.1
port = $IMAP_PORT
tls = none
user = support@example.com
password_file = $D/imap.pass
mailbox = INBOX
processed_folder = Processed
poll_interval = 2
idle = yes
timeout = 5
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
from = Support <support@example.com>
timeout = 5
[store]
state_dir = $D/state
EOC
cp "$D/ticketd.conf" "$D/good.conf"

# msg FILE FROM SUBJECT - a small support mail
msg() {
	{
		printf 'From: %s\r\nTo: support@example.com\r\n' "$2"
		printf 'Subject: %s\r\nMessage-ID: <%s@notify.test>\r\n' "$3" \
		    "$(basename "$1" .eml)"
		printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; '
		printf 'charset=utf-8\r\n\r\nplease help\r\n'
	} >"$1"
}

# n_msgs PATTERN - how many notify messages match the extended regex
n_msgs() {
	grep -cE "^[0-9.]+ ($1)" "$D/notify.out" 2>/dev/null
}
# has_msg PATTERN - at least one notify message matches
has_msg() {
	[ "$(n_msgs "$1")" -gt 0 ]
}
# lines_after N PATTERN - a message past line N matches
lines_after() {
	tail -n +"$(($1 + 1))" "$D/notify.out" | grep -qE "^[0-9.]+ ($2)"
}

SOCK=$D/notify.sock
: >"$D/notify.out"
"$PY" "$D/rx.py" "$SOCK" "$D/notify.out" </dev/null >"$D/rx.err" 2>&1 &
RX_PID=$!
wait_for 10 test -S "$SOCK" || bad "notify receiver listening"

# IMAP down at first: READY=1 must wait for the login
servers_stop_imap "$D/srv"
NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=2000000 sh -c \
    'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"' sh \
    "$B/ticketd" -c "$D/ticketd.conf" -f --log-level debug \
    </dev/null >>"$D/ticketd.log" 2>&1 &
TD_PID=$!
check "connect failure logged while IMAP is down" \
    wait_for 10 grep -q 'action=connect_failed' "$D/ticketd.log"
sleep 1.5
check "WATCHDOG=1 while disconnected" wait_for 5 has_msg 'WATCHDOG=1'
check "STATUS= says disconnected" has_msg 'STATUS=.*imap disconnected'
check "no READY=1 before the IMAP login" sh -c "! grep -q 'READY=1' $D/notify.out"
servers_restart_imap "$D/srv" >/dev/null
check "READY=1 after the login" wait_for 30 has_msg 'READY=1'
check "login logged before READY=1" grep -q 'imap action=connected' \
    "$D/ticketd.log"
check "exactly one READY=1 at start" [ "$(n_msgs 'READY=1')" -eq 1 ]
check "STATUS= after login says connected" \
    wait_for 5 has_msg 'STATUS=.*imap connected'

# counters in STATUS=
msg "$D/msgs/n1.eml" "Alice <alice@example.cn>" "Refund request: order #123456"
$MB append "$D/msgs/n1.eml" >/dev/null
check "STATUS= counts the filed ticket" \
    wait_for 20 has_msg 'STATUS=filed 1, '
check "STATUS= counts the ack" wait_for 20 has_msg 'STATUS=filed 1, acked 1, '
check "STATUS= has every counter and the last poll" has_msg \
    'STATUS=filed [0-9]+, acked [0-9]+, ack failures [0-9]+, quarantined [0-9]+, imap connected, last poll [0-9]{2}:[0-9]{2}:[0-9]{2}'

# watchdog: several pings, never more than WATCHDOG_USEC/2 (+ slack) apart
n0=$(wc -l <"$D/notify.out")
sleep 4
tail -n +"$((n0 + 1))" "$D/notify.out" | grep -E '^[0-9.]+ WATCHDOG=1' |
    awk '{print $1}' >"$D/wd.times"
check "WATCHDOG=1 repeatedly (>= 3 in 4 s)" [ "$(wc -l <"$D/wd.times")" -ge 3 ]
gap=$(awk 'NR > 1 { d = $1 - p; if (d > m) m = d } { p = $1 } END { printf "%.2f", m + 0 }' "$D/wd.times")
check "WATCHDOG=1 gaps below WATCHDOG_USEC (max ${gap}s)" \
    awk -v g="$gap" 'BEGIN { exit !(g > 0 && g < 2.0) }'

# SIGHUP: RELOADING=1, then READY=1
n0=$(wc -l <"$D/notify.out")
kill -HUP "$TD_PID"
check "SIGHUP: RELOADING=1" wait_for 10 lines_after "$n0" 'RELOADING=1'
n1=$(grep -nE '^[0-9.]+ RELOADING=1' "$D/notify.out" | tail -n 1 | cut -d: -f1)
check "SIGHUP: READY=1 after RELOADING=1" \
    wait_for 10 lines_after "${n1:-0}" 'READY=1'
check "reload logged" grep -q 'config action=reloaded' "$D/ticketd.log"

# SIGHUP with a bad config: still RELOADING=1 then READY=1, old one kept
printf '[imap]\nbogus_key = 1\n' >>"$D/ticketd.conf"
n0=$(wc -l <"$D/notify.out")
kill -HUP "$TD_PID"
check "bad reload: RELOADING=1" wait_for 10 lines_after "$n0" 'RELOADING=1'
n1=$(grep -nE '^[0-9.]+ RELOADING=1' "$D/notify.out" | tail -n 1 | cut -d: -f1)
check "bad reload: READY=1 after RELOADING=1" \
    wait_for 10 lines_after "${n1:-0}" 'READY=1'
check "bad reload logged" wait_for 5 grep -q 'action=reload_failed' \
    "$D/ticketd.log"
cp "$D/good.conf" "$D/ticketd.conf"

# SIGTERM: STOPPING=1 and exit 0
kill -TERM "$TD_PID"
wait "$TD_PID"
rc=$?
TD_PID=
check "SIGTERM exits 0 (got $rc)" [ "$rc" -eq 0 ]
check "SIGTERM: STOPPING=1" has_msg 'STOPPING=1'
check "STOPPING=1 is the last message" sh -c \
    "tail -n 1 $D/notify.out | grep -q 'STOPPING=1'"
kill "$RX_PID" 2>/dev/null
wait "$RX_PID" 2>/dev/null
RX_PID=

# journald: structured entries through a stand-in socket, in a private
# mount namespace (needs root and unshare); stderr must stay empty
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1 &&
    unshare -m sh -c 'mount -t tmpfs tmpfs /run' 2>/dev/null; then
	: >"$D/journal.out"
	: >"$D/jstderr"
	JS=$(stat -c '%d:%i' "$D/jstderr")
	msg "$D/msgs/n2.eml" "Bob <bob@example.com>" "[urgent][U777] cannot log in"
	$MB append "$D/msgs/n2.eml" >/dev/null
	JOURNAL_STREAM=$JS unshare -m sh -c '
	    mount -t tmpfs tmpfs /run &&
	    mkdir -p /run/systemd/journal || exit 1
	    "$0" "$1" /run/systemd/journal/socket "$2" --journal \
		</dev/null >/dev/null 2>&1 &
	    echo $! >"$3"
	    n=0
	    while [ ! -S /run/systemd/journal/socket ] && [ $n -lt 100 ]; do
		sleep 0.05
		n=$((n + 1))
	    done
	    shift 3
	    exec "$@"' "$PY" "$D/rx.py" "$D/journal.out" "$D/jrx.pid" \
	    "$B/ticketd" -c "$D/ticketd.conf" \
	    </dev/null >/dev/null 2>>"$D/jstderr" &
	TD_PID=$!
	check "journal: ticket entry arrives" wait_for 20 \
	    grep -q '"ACTION": "created"' "$D/journal.out"
	"$PY" - "$D/journal.out" >"$D/jcheck" 2>&1 <<'EOP'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
created = [e for e in entries if e.get("ACTION") == "created"]
e = created[0] if created else {}
checks = {
    "TICKET_ID": e.get("TICKET_ID", "").startswith("CM-"),
    "IMAP_UID": e.get("IMAP_UID", "").isdigit(),
    "MESSAGE_ID": e.get("MESSAGE_ID") == "<n2@notify.test>",
    "REQUESTER": "bob@example.com" in e.get("REQUESTER", ""),
    "PRIORITY": e.get("PRIORITY") == "6",
    "SYSLOG_IDENTIFIER": e.get("SYSLOG_IDENTIFIER") == "ticketd",
    "MESSAGE": e.get("MESSAGE", "").startswith(
        "ticket=%s action=created " % e.get("TICKET_ID")),
    "started entry has no TICKET_ID": any(
        x.get("ACTION") == "started" and "TICKET_ID" not in x
        for x in entries),
}
for k, v in checks.items():
    print(("ok " if v else "bad ") + k)
EOP
	while read -r res name; do
		if [ "$res" = ok ]; then ok "journal field $name"; else bad "journal field $name"; fi
	done <"$D/jcheck"
	check "journal: acked entry with ACTION=acked" wait_for 20 \
	    grep -q '"ACTION": "acked"' "$D/journal.out"
	kill -TERM "$TD_PID"
	wait "$TD_PID"
	rc=$?
	TD_PID=
	check "journal: SIGTERM exits 0 (got $rc)" [ "$rc" -eq 0 ]
	check "journal: nothing fell back to stderr" [ ! -s "$D/jstderr" ]
	kill "$(cat "$D/jrx.pid")" 2>/dev/null
	: >"$D/jrx.pid"
else
	echo "note: journald fields not tested (needs root and unshare -m)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
