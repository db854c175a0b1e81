#!/bin/sh
# SPDX-License-Identifier: MIT
# test_smtp.sh - SMTP faults under a running ticketd (SPEC §1, §7): the
# relay down while a burst of new tickets queues acks (filing goes on; the
# acks go out after recovery, once each, in order of creation per the
# relay's smtp.log); 5xx at RCPT and at DATA (acks fail at once, logged,
# listed by `ticketctl outbox --failed --json`, requeued by `outbox
# --retry --all` and delivered once the relay accepts again); then the
# whole verify.py check (every ack arrived exactly once).
# shellcheck disable=SC2317
cd "$(dirname "$0")/../.." || exit 1
. tests/faults/lib.sh

require_progs "$B/ticketd" "$B/ticketctl"
start_servers
write_conf
MANIFESTS=""
SEQ=0

# corpus NAME N - N new-ticket messages (acks due) in $D/NAME, delivered
corpus() {
	SEQ=$((SEQ + 1))
	$PY tests/faults/gen.py make --n "$2" --out "$D/$1" --seed "$SEQ" \
	    --tag "$1" --users "$USERS" --auto 0 --followup 0 --garbage 0 \
	    --dups 0 >/dev/null || bad "gen.py make $1"
	$PY tests/faults/gen.py append --dir "$D/$1" --port "$IMAP_PORT" \
	    --jobs 1 >/dev/null || bad "append $1"
	MANIFESTS="$MANIFESTS --manifest $D/$1/manifest.json"
}

# acks_where STATUS N - exactly N acks with STATUS
acks_where() {
	[ "$(ctl outbox --json | $PY -c "import json,sys
print(sum(1 for a in json.load(sys.stdin) if a['status'] == '$1'))")" = "$2" ]
}

# last_ack_id - the highest ack id so far (0: none)
last_ack_id() {
	ctl outbox --json | $PY -c 'import json,sys
print(max([a["id"] for a in json.load(sys.stdin)] or [0]))'
}

# relay_has N - the relay logged at least N messages
relay_has() {
	[ "$(wc -l <"$D/srv/smtp.log" 2>/dev/null || echo 0)" -ge "$1" ]
}

start_td
check "daemon connected" wait_for 20 grep -q 'imap action=connected' "$LOG"

echo "# S1: relay down during a burst of 8 new tickets"
servers_stop_smtp "$D/srv" || bad "stop the relay"
before=$(last_ack_id)
corpus s1 8
check "S1: tickets filed while SMTP is down" wait_for 30 sh -c \
    "[ \$($B/ticketctl -c $CONF list --json | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))') -eq 8 ]"
check "S1: first attempt deferred and logged" wait_for 30 \
    grep -q 'action=ack_deferred' "$LOG"
check "S1: all 8 acks still queued" acks_where queued 8
sleep 5
servers_start_smtp "$D/srv" >/dev/null || bad "restart the relay"
T=$(date +%s)
check "S1: all 8 acks delivered after recovery" wait_for 180 relay_has 8
figure "smtp: 8 acks delivered $(($(date +%s) - T)) s after the relay came back (first retry is due 60 s after a failure)"
run_checks $PY tests/faults/verify.py smtp-order --smtp-dir "$D/srv" \
    --conf "$CONF" --after-id "$before"

echo "# S2: 5xx at RCPT, then --retry"
servers_set_mode "$D/srv" permfail
before=$(last_ack_id)
corpus s2 3
check "S2: 3 acks failed at once" wait_for 30 acks_where failed 3
check "S2: failure logged with the 5xx code" \
    grep -q 'action=ack_failed .*code=550' "$LOG"
ctl outbox --failed --json >"$D/failed.json"
check "S2: outbox --failed --json reports them with the 550" $PY -c "
import json, sys
rows = json.load(open('$D/failed.json'))
sys.exit(not (len(rows) == 3 and all(r['status'] == 'failed' and
         '550' in (r['last_error'] or '') and r['id'] > $before
         for r in rows)))"
check "S2: the tickets show ack failed" sh -c \
    "[ \$($B/ticketctl -c $CONF list --json | $PY -c 'import json,sys; print(sum(1 for t in json.load(sys.stdin) if t[\"ack\"] == \"failed\"))') -eq 3 ]"
servers_set_mode "$D/srv" normal
n=$(wc -l <"$D/srv/smtp.log")
check "S2: outbox --retry --all requeues 3" sh -c \
    "$B/ticketctl -c $CONF outbox --retry --all --json | grep -q '\"requeued\":3'"
T=$(date +%s)
check "S2: requeued acks delivered" wait_for 120 relay_has $((n + 3))
figure "smtp: 3 requeued acks delivered $(($(date +%s) - T)) s after outbox --retry"
check "S2: nothing failed any more" acks_where failed 0

echo "# S3: 5xx at DATA"
servers_set_mode "$D/srv" permfail-data
corpus s3 2
check "S3: 2 acks failed at DATA" wait_for 30 acks_where failed 2
check "S3: failure logged with the 554 code" \
    grep -q 'action=ack_failed .*code=554' "$LOG"
servers_set_mode "$D/srv" normal
n=$(wc -l <"$D/srv/smtp.log")
ctl outbox --retry --all >/dev/null || bad "S3: outbox --retry --all"
check "S3: requeued acks delivered" wait_for 120 relay_has $((n + 2))

check "outbox drained" wait_for 30 outbox_drained
stop_td
check "SIGTERM exits 0" [ $? -eq 0 ]
# shellcheck disable=SC2086
run_checks $PY tests/faults/verify.py corpus --conf "$CONF" --state "$STATE" \
    --port "$IMAP_PORT" --smtp-dir "$D/srv" $MANIFESTS
summary
