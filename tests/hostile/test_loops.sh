#!/bin/sh
# SPDX-License-Identifier: MIT
# test_loops.sh - no ack storm (SPEC §7) against the real daemon, Dovecot
# and SMTP relay: loop_partner.py plays an out-of-office auto-responder, a
# naive responder that marks nothing, a bouncing mailbox (DSNs naming our
# ack's Message-ID, then new requests) and a mailing list that echoes our
# ack back, for 100 rounds, answering every ack that reaches their real
# mailboxes.  Afterwards every loop message is filed, and the acks stay
# bounded: one each to the auto-responder, the bouncer and the list, at
# most max_acks_per_sender (5) to the naive responder, none to anyone
# else; the suppression reasons are in the log.
# shellcheck disable=SC2317,SC2034,SC1091
SERVERS_USERS="support@example.com alice@example.cn bob@example.com carol@example.com list@example.com"
. "$(dirname "$0")/lib.sh"

ROUNDS=${LOOP_ROUNDS:-100}
h_servers
h_secret "$H_DIR/imap.pass" "$SERVERS_PASSWORD"
CONF=$H_DIR/ticketd.conf
C_EXTRA='[ack]
max_acks_per_sender = 5' h_conf "$CONF"
h_start_td "$CONF" "$H_DIR/ticketd.log"

t0=$(h_now_ms)
$PY tests/hostile/loop_partner.py --port "$IMAP_PORT" \
    --password "$SERVERS_PASSWORD" --rounds "$ROUNDS" >"$H_DIR/loop.out" \
    2>"$H_DIR/loop.err"
rc=$?
cat "$H_DIR/loop.out" | sed 's/^/# /'
check "loop partner ran $ROUNDS rounds" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || cat "$H_DIR/loop.err"
sent=$(sed -n 's/^rounds=.* sent=//p' "$H_DIR/loop.out")

# queued - acks still waiting in the outbox
queued() {
	h_ctl "$CONF" outbox --json 2>/dev/null | grep -o '"status":"queued"' | wc -l
}
check "every loop message filed (INBOX empty)" wait_for 60 \
    sh -c "[ \"\$($MB count)\" = 0 ]"
no_queued() {
	[ "$(queued)" = 0 ]
}
check "no ack left queued" wait_for 30 no_queued
sleep 2
echo "# $sent loop messages sent and filed in $(($(h_now_ms) - t0)) ms"
filed=$(grep -c 'action=\(created\|appended\|suppressed\|duplicate\)' \
    "$H_DIR/ticketd.log")
check "each loop message has its log line ($filed of $((sent)))" \
    [ "$filed" -eq "$sent" ]

acks() {
	$MB --user "$1" count 2>/dev/null
}
a=$(acks alice@example.cn)
b=$(acks bob@example.com)
c=$(acks carol@example.com)
l=$(acks list@example.com)
total=$(wc -l <"$H_SERVERS/smtp.log")
echo "# acks after $ROUNDS rounds: auto-responder $a, naive $b, bouncer $c, list $l; SMTP total $total"
check "auto-responder (Auto-Submitted): exactly one ack" [ "$a" = 1 ]
check "naive responder: acks bounded by the rate limit (1..5, got $b)" \
    [ "$b" -ge 1 ] && [ "$b" -le 5 ]
check "bounced address: exactly one ack, then blocked" [ "$c" = 1 ]
check "mailing list echo: exactly one ack" [ "$l" = 1 ]
check "no ack to anyone else (SMTP total = $total)" \
    [ "$total" -eq $((a + b + c + l)) ]
check "log: auto-replies suppressed" \
    grep -q 'ack=suppressed:auto_submitted' "$H_DIR/ticketd.log"
check "log: rate limit hit" \
    grep -q 'ack=suppressed:rate_limit' "$H_DIR/ticketd.log"
check "log: bounced address blocked" \
    grep -q 'ack=suppressed:bounce' "$H_DIR/ticketd.log"
check "log: DSN filed as suppressed" \
    grep -q 'action=suppressed' "$H_DIR/ticketd.log"
check "log: list echo suppressed (List-Id)" \
    grep -q 'ack=suppressed:list .*message_id=<loop-list' "$H_DIR/ticketd.log"
check "log: list echo suppressed (Precedence: list)" \
    grep -q 'ack=suppressed:precedence .*message_id=<loop-list' \
    "$H_DIR/ticketd.log"
check "the bounced ack is marked failed in the outbox" sh -c \
    "$B/ticketctl -c $CONF outbox --json | $PY -c 'import json,sys
sys.exit(not any(r[\"to\"] == \"carol@example.com\" and r[\"status\"] == \"failed\" for r in json.load(sys.stdin)))'"
h_stop_td
check "ticketd exits 0 on SIGTERM" [ $? -eq 0 ]
h_done
