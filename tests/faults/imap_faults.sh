#!/bin/sh
# SPDX-License-Identifier: MIT
# imap_faults.sh - IMAP faults under a running ticketd (SPEC §1, §8): the
# daemon talks to the real Dovecot through proxy.py, which can throttle,
# cut connections and rewrite or refuse commands.  Phases, each with its
# own gen.py mail and the full verify.py check over everything so far:
# A Dovecot restarted while the daemon IDLEs (Dovecot lets old sessions
# finish for ~30 s, then says BYE); B Dovecot stopped in the middle of a
# FETCH (sessions kicked, restarted); C a connection cut in the middle of
# a literal, C2 after N bytes; E the mailbox deleted and recreated with the
# same mail (new UIDVALIDITY: all duplicates, nothing new filed); D1 UID
# STORE refused; D2/D3 UID MOVE done by the server but answered BAD/NO; D4
# UID MOVE refused (the mail stays, flagged, until the next pass moves it:
# imap action=moved_leftovers); F like E, for mail without
# a Message-ID and unparseable mail (a fresh store and folders).
# shellcheck disable=SC2317
cd "$(dirname "$0")/../.." || exit 1
. tests/faults/lib.sh

require_progs "$B/ticketd" "$B/ticketctl"
start_servers
BOX=Support
PROC=Processed
QUAR=Quarantine
$MB create-folder "$BOX" || bad "create $BOX"
PPORT=$(servers__free_ports 1)
$PY tests/faults/proxy.py --listen "$PPORT" --upstream "$IMAP_PORT" \
    --dir "$D" 2>>"$D/proxy.err" &
PROXY_PID=$!
servers__wait_banner "$PPORT" '* OK' 10 "$PROXY_PID" || bad "proxy up"
write_conf "$PPORT" "$BOX"
MANIFESTS=""
VERIFY_EXTRA=""
NPROC=0 # messages expected in Processed so far
SEQ=0

# ctl_proxy LINE... - set the proxy's directives
ctl_proxy() {
	printf '%s\n' "$@" >"$D/proxy.ctl.new" && mv "$D/proxy.ctl.new" "$D/proxy.ctl"
}

# corpus NAME N [GEN-OPTIONS] - make mail $D/NAME with gen.py
corpus() {
	SEQ=$((SEQ + 1))
	c__name=$1
	c__n=$2
	shift 2
	$PY tests/faults/gen.py make --n "$c__n" --out "$D/$c__name" \
	    --seed "$SEQ" --tag "$c__name" --users "$USERS" --garbage 1 \
	    --dups 0.1 "$@" >/dev/null || bad "gen.py make $c__name"
}

# deliver NAME [drop] - APPEND $D/NAME to the watched mailbox, in order
# (drop: straight into its Maildir, all at once)
deliver() {
	if [ "${2:-}" = drop ]; then
		$PY tests/faults/gen.py drop --dir "$D/$1" \
		    --maildir "$D/srv/mail/support@example.com/Maildir/.$BOX" \
		    >/dev/null
	else
		$PY tests/faults/gen.py append --dir "$D/$1" \
		    --port "$IMAP_PORT" --folder "$BOX" --jobs 1 >/dev/null
	fi || {
		bad "deliver $1"
		return 1
	}
	MANIFESTS="$MANIFESTS --manifest $D/$1/manifest.json"
	NPROC=$((NPROC + $($PY -c "import json
s = json.load(open('$D/$1/manifest.json'))['summary']
print(s['appended'] - s['quarantine_copies'])")))
}

# settled LEFT - the box holds LEFT messages, Processed all the others
settled() {
	folder_is "$BOX" "$1" && folder_is "$PROC" "$NPROC"
}

# cpu_ticks - user + system clock ticks ticketd used so far
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$TD_PID/stat" 2>/dev/null || echo 0
}

# restart_if_spinning NAME - when ticketd logs nothing yet burns CPU (a
# busy loop), count a failure naming it, then kill and restart it so the
# later phases still test their own fault
restart_if_spinning() {
	r__l=$(wc -l <"$LOG")
	r__c=$(cpu_ticks)
	sleep 3
	r__d=$(($(cpu_ticks) - r__c))
	if [ "$(wc -l <"$LOG")" -eq "$r__l" ] && [ "$r__d" -ge 60 ]; then
		bad "$1: ticketd spins" "log silent, $r__d CPU ticks in 3 s"
		[ -n "${KEEP_FAULTS_DIR:-}" ] && command -v gdb >/dev/null &&
		    gdb -batch -p "$TD_PID" -ex bt 2>/dev/null | grep '^#' |
		    head -n 20
		kill -KILL "$TD_PID" 2>/dev/null
		wait "$TD_PID" 2>/dev/null
		start_td
		return 0
	fi
	return 1
}

# verify NAME [LEFT] - the whole invariant check over every phase so far
verify() {
	if ! wait_for 60 settled "${2:-0}"; then
		bad "$1: mail settled" \
		    "$(count "$BOX") in $BOX, $(count Processed) of $NPROC processed"
		restart_if_spinning "$1" && wait_for 60 settled "${2:-0}"
	fi
	wait_for 60 outbox_drained || bad "$1: outbox drained"
	echo "# verify after: $1"
	# shellcheck disable=SC2086
	run_checks $PY tests/faults/verify.py corpus --conf "$CONF" \
	    --state "$STATE" --port "$IMAP_PORT" --mailbox "$BOX" \
	    --processed "$PROC" --quarantine "$QUAR" \
	    --allow-flagged "${2:-0}" $VERIFY_EXTRA $MANIFESTS
}

LOGMARK=0
PMARK=0
# mark - remember where the logs are; since_mark FILE PATTERN counts after
mark() {
	LOGMARK=$(wc -l <"$LOG")
	PMARK=$(wc -l <"$D/proxy.log")
}
since_mark() {
	if [ "$1" = proxy ]; then
		tail -n +$((PMARK + 1)) "$D/proxy.log" | grep -c -- "$2"
	else
		tail -n +$((LOGMARK + 1)) "$LOG" | grep -c -- "$2"
	fi
}
# seen_since WHERE PATTERN [N] - at least N (1) matches since the mark
seen_since() {
	[ "$(since_mark "$1" "$2")" -ge "${3:-1}" ]
}

start_td
check "daemon connected through the proxy" wait_for 20 \
    grep -q 'imap action=connected' "$LOG"
check "daemon idles" wait_for 20 seen_since proxy 'IDLE'

echo "# A: Dovecot restarted while the daemon is in IDLE"
mark
corpus a 30
servers_restart_imap "$D/srv" >/dev/null || bad "restart Dovecot"
deliver a
check "A: the daemon saw the server go (BYE within ~30 s) and logged it" \
    wait_for 60 seen_since log 'action=disconnected'
check "A: reconnected to the new server" wait_for 30 seen_since log \
    'imap action=connected'
verify "A: restart mid-IDLE"

echo "# B: Dovecot stopped in the middle of a FETCH, then started"
# Delivered at once into the Maildir, so one FETCH takes the whole batch
# (~11 MB: more than the kernel's socket buffers hold); the proxy slows it
# to ~1 MB/s.  The imap process serving the daemon is killed (a crash: a
# kick would let it finish the response), then Dovecot is restarted.
corpus b 40 --pad 200000
ctl_proxy "throttle 1000000"
mark
deliver b drop
if wait_for 30 seen_since proxy 'UID FETCH' 2; then
	sleep 2
	for p in $(doveadm -c "$D/srv/dovecot.conf" who -1 \
	    support@example.com 2>/dev/null |
	    awk '$3 ~ /^[0-9]+$/ { print $3 }'); do
		kill -KILL "$p" # our Dovecot's imap process for the daemon
	done
	servers_restart_imap "$D/srv" >/dev/null || bad "restart Dovecot"
	check "B: the fetch failed and was logged" wait_for 30 \
	    seen_since log 'action=fetch_failed'
	# (an earlier, smaller batch may have been filed already: Dovecot
	# can announce the first of the 40 before the rest is delivered)
	check "B: the cut batch was filed after the restart" wait_for 60 \
	    sh -c "sed -n '/action=fetch_failed/,\$p' '$LOG' |
	        grep -q 'action=created '"
else
	bad "B: the body FETCH started"
fi
ctl_proxy ""
verify "B: stop mid-FETCH"

echo "# C: connection cut in the middle of a literal, then after N bytes"
corpus c 30
mark
ctl_proxy "cut-literal 500"
deliver c
check "C: the proxy cut inside a literal" wait_for 20 seen_since proxy \
    'cut c[0-9]* literal'
if ! wait_for 20 seen_since log 'action=fetch_failed\|action=disconnected'
then
	bad "C: ticketd noticed the cut inside a literal" \
	    "nothing logged 20 s after the cut"
	restart_if_spinning "C: cut inside a literal"
fi
verify "C: cut mid-literal"
corpus c2 20
mark
ctl_proxy "cut-bytes 1500" "cut-bytes 4000" "cut-bytes 20000"
deliver c2
check "C2: three cuts after N bytes" wait_for 40 seen_since proxy \
    'cut c[0-9]* after' 3
verify "C2: cuts after N bytes"

echo "# E: mailbox deleted and recreated with the same mail (UIDVALIDITY)"
corpus e 25 --garbage 0
deliver e
verify "E: first delivery"
v1=$($MB uidvalidity --folder "$BOX")
n_tickets=$(ctl list --json | json_len)
n_msgs=$(ctl stats --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["messages"])')
mark
$MB delete-folder "$BOX" || bad "E: delete $BOX"
$MB create-folder "$BOX" || bad "E: create $BOX"
v2=$($MB uidvalidity --folder "$BOX")
check "E: the recreated mailbox has a new UIDVALIDITY ($v1 -> $v2)" \
    [ "$v1" != "$v2" ]
deliver e
check "E: the daemon noticed the new UIDVALIDITY" wait_for 60 \
    seen_since log 'action=uidvalidity_changed'
verify "E: recreated mailbox"
check "E: no new ticket" [ "$(ctl list --json | json_len)" -eq "$n_tickets" ]
check "E: no new message filed" [ "$(ctl stats --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["messages"])')" -eq "$n_msgs" ]
dups=$(since_mark log 'action=duplicate ')
check "E: all 25 redelivered messages recognised as duplicates ($dups)" \
    [ "$dups" -ge 25 ]

echo "# D1: UID STORE refused once"
corpus d1 15
mark
ctl_proxy "refuse UID_STORE NO 1"
deliver d1 drop
check "D1: STORE refused" wait_for 20 seen_since proxy 'refuse c.*UID STORE'
verify "D1: STORE refused, flagged later"

echo "# D2, D3: UID MOVE done by the server but answered BAD, then NO"
corpus d2 15
mark
ctl_proxy "rewrite UID_MOVE BAD 1"
deliver d2 drop
check "D2: MOVE answered BAD" wait_for 20 seen_since proxy 'rewrite c.*BAD'
# The handle is dead after BAD: the unparseable message of the batch,
# already flagged, is left in the box, and moved to Quarantine by the
# leftover pass after the reconnection.
LEFT=0
verify "D2: MOVE BAD after the move" "$LEFT"
check "D2: the flagged leftover was moved" seen_since log \
    'action=moved_leftovers'
corpus d3 15
mark
ctl_proxy "rewrite UID_MOVE NO 1"
deliver d3 drop
check "D3: MOVE answered NO" wait_for 20 seen_since proxy 'rewrite c.*NO'
verify "D3: MOVE NO after the move" "$LEFT"

echo "# D4: UID MOVE refused (NO, twice: the retry after CREATE too)"
corpus d4 15 --garbage 0
mark
ctl_proxy "refuse UID_MOVE NO 2"
deliver d4 drop
check "D4: MOVE refused twice" wait_for 20 seen_since proxy \
    'refuse c.*UID MOVE' 2
# Filed once and flagged $Ticketed, they stay in the box until the next
# pass finds them (UID SEARCH KEYWORD $Ticketed) and moves them.
verify "D4: MOVE refused" "$LEFT"
moved=$(tail -n +$((LOGMARK + 1)) "$LOG" |
    sed -n 's/.*action=moved_leftovers messages=\([0-9]*\).*/\1/p' |
    awk '{ n += $1 } END { print n + 0 }')
check "D4: the 15 flagged leftovers were moved ($moved)" [ "$moved" -ge 15 ]

stop_td
check "SIGTERM exits 0" [ $? -eq 0 ]
figure "imap faults: $(grep -c 'action=disconnected' "$LOG") disconnects, $(grep -c ' cut c' "$D/proxy.log") cuts, $(grep -c 'refuse c\|rewrite c' "$D/proxy.log") refused/rewritten commands, $(grep -c 'action=duplicate ' "$LOG") duplicates recognised"

echo "# F: UIDVALIDITY change for mail without a Message-ID and garbage"
# A fresh store and folders, directly on Dovecot: only the bytes can
# tell these messages were filed before.
BOX=Recreated
PROC=Processed2
QUAR=Quarantine2
STATE=$D/state2
MANIFESTS=""
NPROC=0
# The requesters' mailboxes hold the acks of the first store too.
VERIFY_EXTRA=--no-acks
$MB create-folder "$BOX" || bad "F: create $BOX"
write_conf "$IMAP_PORT" "$BOX" "$STATE" "$PROC" "$QUAR"
start_td
corpus f 20 --no-msgid 0.2 --dups 0 --garbage 2
deliver f
verify "F: first delivery"
n_msgs=$(ctl stats --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["messages"])')
mark
$MB delete-folder "$BOX" || bad "F: delete $BOX"
$MB create-folder "$BOX" || bad "F: create $BOX"
deliver f
check "F: the daemon noticed the new UIDVALIDITY" wait_for 60 \
    seen_since log 'action=uidvalidity_changed'
verify "F: recreated mailbox"
check "F: nothing filed again (messages without Message-ID, garbage)" \
    [ "$(ctl stats --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["messages"])')" -eq "$n_msgs" ]
stop_td
summary
