#!/bin/sh
# SPDX-License-Identifier: MIT
# test_injection.sh - header injection (SPEC §7 "nothing from the incoming
# message can add a header", STYLE §6 log_quote) against the real daemon,
# Dovecot and the SMTP relay: CR/LF, ESC, BEL, NUL, DEL, C1 and U+2028 in
# the subject (urgent format, so also in the user id), the From display
# name, a Reply-To display name, attachment names (RFC 2231 and RFC 2047)
# and References, carried in encoded words so that they survive transport,
# plus raw ESC/BEL/CR in a From and Message-ID that the log echoes.
# Each ack is read back from the requester's real mailbox and its header
# block checked line by line (only the ack's own fields, exactly one To,
# printable ASCII, no Bcc/X-Injected, decoded Subject and body free of
# controls); the ticketd log (--log-level debug) and `ticketctl show
# --json` must hold no raw control characters.
# shellcheck disable=SC2317,SC2034,SC1091
SERVERS_USERS="support@example.com alice@example.cn bob@example.com carol@example.com dave@example.com"
. "$(dirname "$0")/lib.sh"

h_servers
h_secret "$H_DIR/imap.pass" "$SERVERS_PASSWORD"
CONF=$H_DIR/ticketd.conf
h_conf "$CONF"
mkdir -p "$H_DIR/msgs" "$H_DIR/acks"
$GEN injection "$H_DIR/msgs" || bad "generate messages"
$MB append "$H_DIR"/msgs/*.eml >/dev/null || bad "append"
t0=$(h_now_ms)
h_start_td "$CONF" "$H_DIR/ticketd.log" --log-level debug

check "five hostile messages become five tickets" wait_for 30 \
    sh -c "[ \"\$($B/ticketctl -c $CONF list --json | grep -o '\"id\"' | wc -l)\" = 5 ]"
for u in alice@example.cn bob@example.com carol@example.com dave@example.com; do
	check "an ack reaches $u's mailbox" wait_for 30 \
	    sh -c "[ \"\$($MB --user $u count)\" = 1 ]"
done
echo "# filed and acked in $(($(h_now_ms) - t0)) ms"
h_stop_td
check "ticketd exits 0 on SIGTERM" [ $? -eq 0 ]

h_ctl "$CONF" list --json >"$H_DIR/list.json"
for u in alice@example.cn bob@example.com carol@example.com dave@example.com; do
	id=$($PY -c 'import json,sys
for t in json.load(open(sys.argv[1])):
    if t["requester"] == sys.argv[2]: print(t["id"])' "$H_DIR/list.json" "$u")
	if [ -z "$id" ]; then
		bad "ticket for $u"
		continue
	fi
	mkdir -p "$H_DIR/acks/$u"
	$MB --user "$u" fetch-all --out "$H_DIR/acks/$u" >/dev/null
	ack=$(ls "$H_DIR/acks/$u"/*.eml 2>/dev/null | head -n 1)
	if [ -z "$ack" ]; then
		bad "ack for $u readable"
		continue
	fi
	$PY tests/hostile/check.py ackhdr "$ack" "$id" "$u" >"$H_DIR/ackhdr.out"
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$u ack: ${line#ok }" ;;
		*) bad "$u ack: ${line#bad }" ;;
		esac
	done <"$H_DIR/ackhdr.out"
	check "$u: creation logged" grep -q "ticket=$id action=created" \
	    "$H_DIR/ticketd.log"
	check "$u: ack logged" grep -q "ticket=$id action=acked to=$u" \
	    "$H_DIR/ticketd.log"
	h_ctl "$CONF" show "$id" --json >"$H_DIR/show-$u.json"
	check "$u: stored fields (subject, summary, user id, names) hold no control" \
	    $PY -c 'import json,sys,unicodedata
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if k != "text":
                walk(x)
    elif isinstance(v, list):
        for x in v: walk(x)
    elif isinstance(v, str):
        bad = [c for c in v if unicodedata.category(c) in ("Cc", "Zl", "Zp")]
        if bad: sys.exit("control %r in %r" % (bad, v[:60]))
walk(json.load(open(sys.argv[1])))' "$H_DIR/show-$u.json"
done
check "the urgent subject's user id with controls is not taken as a user id" \
    $PY -c 'import json,sys
t = json.load(open(sys.argv[1]))
sys.exit(t["user_id"] not in (None, "A123"))' "$H_DIR/show-alice@example.cn.json"
check "raw ESC/BEL/CR in From and Message-ID: filed and logged, no ack" \
    grep -q 'action=created .*ack=suppressed:no_sender message_id=.*logged' \
    "$H_DIR/ticketd.log"
check "no raw control character in the ticketd log (debug level)" \
    $PY tests/hostile/check.py controls "$H_DIR/ticketd.log"
check "no injected Bcc recipient got mail (relay log)" \
    sh -c "! grep -qi 'evil' $H_SERVERS/smtp.log"
check "exactly four messages left through SMTP" \
    [ "$(wc -l <"$H_SERVERS/smtp.log")" -eq 4 ]
printf 'From: x <support@example.com>\r\nTo: bob@example.com\r\nBcc: evil@x.example\r\nSubject: [CM-1] x\r\nMessage-ID: <a@b>\r\nDate: x\r\n\r\naGk=\r\n' \
    >"$H_DIR/selftest.eml"
check "self-test: an injected Bcc in an ack is caught" \
    sh -c "! $PY tests/hostile/check.py ackhdr $H_DIR/selftest.eml CM-1 bob@example.com"
h_done
