#!/bin/sh
# SPDX-License-Identifier: MIT
# test_kill.sh - the SIGKILL storm (SPEC §1): FAULTS_N messages (default
# 2000 in `make test` and `make test-faults`; about a minute) of every
# kind gen.py makes are delivered to the real Dovecot (a quarter first, the
# rest in waves during the storm); ticketd is killed with SIGKILL at random
# moments (FAULTS_KILLS times, at least 20; 0.05-1.5 s apart) while it
# files and acks, restarted each time, then left to finish.  verify.py then
# proves: every message filed exactly once, no duplicate ticket, every ack
# sent and arrived (duplicates <= kills), every stored file matches its
# hash, the server's folders and flags agree with the store.  FAULTS_SEED
# replays a run (the seed is printed).
# shellcheck disable=SC2317
cd "$(dirname "$0")/../.." || exit 1
. tests/faults/lib.sh

N=${FAULTS_N:-2000}
KILLS=${FAULTS_KILLS:-20}
SEED=${FAULTS_SEED:-$$}
[ "$KILLS" -ge 20 ] || KILLS=20
require_progs "$B/ticketd" "$B/ticketctl"
T0=$(date +%s)
start_servers
write_conf

echo "# $N messages, $KILLS kills, seed $SEED"
$PY tests/faults/gen.py make --n "$N" --out "$D/mail" --seed "$SEED" \
    --tag "k$SEED" --users "$USERS" \
    >"$D/gen.out" || bad "gen.py make"
MAILDIR=$D/srv/mail/support@example.com/Maildir
count INBOX >/dev/null # Dovecot creates the Maildir at first login
# A quarter now, the rest in 12 waves during the storm (one after each of
# the first kills), so that kills land while filing as well as acking.
WAVE=$(((N - N / 4 + 11) / 12))
$PY tests/faults/gen.py drop --dir "$D/mail" --maildir "$MAILDIR" \
    --to $((N / 4)) >/dev/null || bad "deliver the first quarter"
check "first quarter in the mailbox" folder_is INBOX $((N / 4))

# Random sleeps from the seed, so a failing run can be replayed.
$PY -c "import random, sys
r = random.Random($SEED)
print('\n'.join('%.2f' % r.uniform(0.05, 1.5) for _ in range($KILLS)))" \
    >"$D/sleeps"
start_td
k=0
in_ingest=0
in_acks=0
while read -r s; do
	sleep "$s"
	kill -KILL "$TD_PID" 2>/dev/null
	wait "$TD_PID" 2>/dev/null
	k=$((k + 1))
	filed=$(grep -cE 'action=(created|appended|duplicate|quarantined) ' "$LOG")
	acked=$(grep -c 'action=acked ' "$LOG")
	echo "kill $k after ${s}s: $filed filing lines, $acked acks so far"
	echo "$filed $acked" >>"$D/kills"
	start_td
	if [ "$k" -le 12 ]; then
		$PY tests/faults/gen.py drop --dir "$D/mail" --maildir "$MAILDIR" \
		    --from $((N / 4 + (k - 1) * WAVE)) \
		    --to $((N / 4 + k * WAVE)) >/dev/null ||
		    bad "deliver wave $k"
	fi
done <"$D/sleeps"
T1=$(date +%s)
want=$($PY -c "import json; s = json.load(open('$D/mail/manifest.json'))['summary']
print(s['appended'] - s['quarantine_copies'], s['quarantine_copies'])")
check "mailbox emptied after the storm" wait_for 120 folder_is INBOX 0
check "every message reached Processed or Quarantine" wait_for 30 sh -c \
    "[ \"\$($MB count --folder Processed) \$($MB count --folder Quarantine)\" = '$want' ]"
check "outbox drained after the storm" wait_for 180 outbox_drained
T2=$(date +%s)
stop_td
check "SIGTERM after the storm exits 0" [ $? -eq 0 ]
reap_ours 10
check "no ticketd process left behind" [ -z "$(our_pids)" ]

# How many kills hit filing, how many acking: work was left at the kill.
end_f=$(grep -cE 'action=(created|appended|duplicate|quarantined) ' "$LOG")
end_a=$(grep -c 'action=acked ' "$LOG")
while read -r f a; do
	[ "$f" -lt "$end_f" ] && in_ingest=$((in_ingest + 1))
	[ "$a" -lt "$end_a" ] && [ "$a" -gt 0 ] && in_acks=$((in_acks + 1))
done <"$D/kills"
check "kills landed while filing (at least 3 of $k)" [ "$in_ingest" -ge 3 ]
check "kills landed while acking (at least 3 of $k)" [ "$in_acks" -ge 3 ]

run_checks $PY tests/faults/verify.py corpus --conf "$CONF" --state "$STATE" \
    --port "$IMAP_PORT" --manifest "$D/mail/manifest.json" --kills "$k" \
    --smtp-dir "$D/srv" --log "$LOG"
T3=$(date +%s)
figure "kill storm: $N messages, $k SIGKILLs ($in_ingest while filing, $in_acks while acking), storm $((T1 - T0))s, recovery $((T2 - T1))s, verify $((T3 - T2))s, seed $SEED"
summary
