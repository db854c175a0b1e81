#!/bin/sh
# SPDX-License-Identifier: MIT
# valgrind.sh - ticketd under valgrind --leak-check=full against the real
# servers (run by `make test-faults`, not by `make test`: it takes a few
# minutes).  FAULTS_VG_N messages of every kind (default 150) are filed
# and acked, the session is kicked once (reconnect path), the config is
# reloaded once (SIGHUP) and the relay is down for a moment; then SIGTERM.
# The daemon's own leak report must show 0 bytes definitely lost and no
# memory error.  Parse children are forked without exec and _exit, so
# --child-silent-after-fork keeps their reports out.
# shellcheck disable=SC2317
cd "$(dirname "$0")/../.." || exit 1
. tests/faults/lib.sh

N=${FAULTS_VG_N:-150}
require_progs "$B/ticketd" "$B/ticketctl" valgrind
start_servers
write_conf
$PY tests/faults/gen.py make --n "$N" --out "$D/mail" --seed 7 --tag vg \
    --users "$USERS" --garbage 3 >/dev/null ||
    bad "gen.py make"
VG="valgrind --leak-check=full --show-leak-kinds=definite \
--errors-for-leak-kinds=definite --child-silent-after-fork=yes \
--trace-children=no --track-fds=no --num-callers=30 \
--suppressions=tests/valgrind.supp --log-file=$D/vg.log"
# shellcheck disable=SC2086
start_td $VG
check "ticketd connected under valgrind" wait_for 120 \
    grep -q 'imap action=connected' "$LOG"
$PY tests/faults/gen.py append --dir "$D/mail" --port "$IMAP_PORT" \
    --jobs 1 --to $((N / 2)) >/dev/null || bad "append, first half"
servers_kick "$D/srv" support@example.com || bad "kick the session"
kill -HUP "$TD_PID"
servers_stop_smtp "$D/srv"
$PY tests/faults/gen.py append --dir "$D/mail" --port "$IMAP_PORT" \
    --jobs 1 --from $((N / 2)) >/dev/null || bad "append, second half"
sleep 5
servers_start_smtp "$D/srv" >/dev/null || bad "restart the relay"
check "all mail filed under valgrind" wait_for 300 folder_is INBOX 0
check "all acks sent under valgrind" wait_for 300 outbox_drained
check "reload logged" grep -q 'config action=reloaded' "$LOG"
stop_td
check "SIGTERM exits 0 under valgrind" [ $? -eq 0 ]
run_checks $PY tests/faults/verify.py corpus --conf "$CONF" --state "$STATE" \
    --port "$IMAP_PORT" --manifest "$D/mail/manifest.json"

def=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$D/vg.log" |
    tr -d , | tail -n 1)
errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$D/vg.log" |
    tr -d , | tail -n 1)
reach=$(sed -n 's/.*still reachable: \([0-9,]*\) bytes.*/\1/p' "$D/vg.log" |
    tr -d , | tail -n 1)
if [ -z "$errs" ]; then
	bad "valgrind wrote its summary" "$(tail -n 5 "$D/vg.log")"
else
	# No "definitely lost" line at all means no leak was found.
	check "valgrind: 0 bytes definitely lost (${def:-0})" [ "${def:-0}" -eq 0 ]
	check "valgrind: 0 memory errors ($errs)" [ "$errs" -eq 0 ]
	[ "$errs" -eq 0 ] || grep -A 12 'Invalid\|uninitialised\|definitely' \
	    "$D/vg.log" | head -n 60
fi
figure "valgrind: $N messages, definitely lost ${def:-0} bytes, errors ${errs:-?}, still reachable ${reach:-0} bytes at exit"
summary
