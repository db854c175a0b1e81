#!/bin/sh
# SPDX-License-Identifier: MIT
# test_tls.sh - certificates are checked before LOGIN (SPEC §8) against the
# real Dovecot and SMTP relay: a certificate for another host name, a
# self-signed one, an expired one, and one from a CA that is not trusted
# are refused over implicit TLS and STARTTLS, with a log line naming the
# certificate problem, no LOGIN at the server and no message taken; a
# self-signed certificate is accepted only when ca_file names it.  SMTP:
# implicit TLS to the relay is refused without [smtp] ca_file (the test CA
# is not in the system trust) and works with it.
# shellcheck disable=SC2317,SC2034,SC1091
. "$(dirname "$0")/lib.sh"

h_servers
h_secret "$H_DIR/imap.pass" "$SERVERS_PASSWORD"
mkdir -p "$H_DIR/msgs"
printf 'From: Alice <alice@example.cn>\r\nTo: support@example.com\r\nSubject: tls probe\r\nMessage-ID: <tls-probe@hostile.test>\r\n\r\nhello\r\n' \
    >"$H_DIR/msgs/probe.eml"
$MB append "$H_DIR/msgs/probe.eml" >/dev/null || bad "append"
# logins - successful LOGINs of support@ so far
logins() {
	grep -c 'Login: user=<support@example.com>' "$H_SERVERS/dovecot.log"
}

# attempt NAME CERT TLS PORT CA - run ticketd until it files a message or
# fails to connect; sets RESULT (connected|refused|none), FILED (tickets in
# its store) and LOGINS, and leaves the log in NAME.log
attempt() {
	servers_switch_cert "$H_SERVERS" "$2" >/dev/null ||
	    bad "$1: switch to the $2 certificate"
	C_TLS=$3 C_PORT=$4 C_HOST=localhost C_CA=$5 C_SMTP_URL=- \
	    C_STATE="$H_DIR/state-$1" h_conf "$H_DIR/$1.conf"
	before=$(logins)
	h_start_td "$H_DIR/$1.conf" "$H_DIR/$1.log" --log-level debug
	wait_for 20 grep -q 'imap action=connect_failed\|action=created' \
	    "$H_DIR/$1.log"
	h_stop_td
	RESULT=none
	grep -q 'imap action=connected' "$H_DIR/$1.log" && RESULT=connected
	grep -q 'imap action=connect_failed' "$H_DIR/$1.log" && RESULT=refused
	LOGINS=$(($(logins) - before))
	FILED=$(h_count_tickets "$H_DIR/$1.conf")
	cat "$H_DIR/$1.log" >>"$H_DIR/ticketd.log"
}

# refused NAME CERT TLS PORT CA WHY - the attempt must be refused
refused() {
	attempt "$1" "$2" "$3" "$4" "$5"
	check "$1: refused" [ "$RESULT" = refused ]
	check "$1: log names the certificate problem ($6)" \
	    grep -qi "connect_failed .*status=permfail .*$6" "$H_DIR/$1.log"
	check "$1: no LOGIN reached the server" [ "$LOGINS" -eq 0 ]
	check "$1: the message stays unread in INBOX" \
	    sh -c "[ \"\$($MB count)\" = 1 ] && ! $MB flags | grep -q Seen"
}

refused wrong-host wrong implicit "$IMAPS_PORT" "$CA_FILE" \
    'does not match'
refused wrong-host-starttls wrong starttls "$IMAP_PORT" "$CA_FILE" \
    'does not match'
refused self-signed untrusted implicit "$IMAPS_PORT" "$CA_FILE" \
    'not trusted'
refused self-signed-starttls untrusted starttls "$IMAP_PORT" "$CA_FILE" \
    'not trusted'
refused expired expired implicit "$IMAPS_PORT" "$CA_FILE" 'expired'
refused unknown-ca localhost implicit "$IMAPS_PORT" "" 'not trusted'

$MB append "$H_DIR/msgs/probe.eml" >/dev/null || bad "append"
attempt self-signed-configured untrusted implicit "$IMAPS_PORT" \
    "$H_SERVERS/tls/untrusted.pem"
check "self-signed with ca_file naming it: accepted" \
    [ "$RESULT" = connected ]
check "self-signed with ca_file naming it: logged in" [ "$LOGINS" -ge 1 ]
check "self-signed with ca_file naming it: mail filed" [ "$FILED" -ge 1 ]
sed 's/tls-probe@/tls-probe2@/' "$H_DIR/msgs/probe.eml" >"$H_DIR/msgs/probe2.eml"
$MB append "$H_DIR/msgs/probe2.eml" >/dev/null || bad "append"
attempt ca-configured localhost implicit "$IMAPS_PORT" "$CA_FILE"
check "certificate from the configured CA: accepted" [ "$RESULT" = connected ]
check "certificate from the configured CA: mail filed" [ "$FILED" -ge 1 ]
check "no password in any log" \
    sh -c "! grep -qF -- '$SERVERS_PASSWORD' $H_DIR/ticketd.log"

# SMTP over implicit TLS: the relay's certificate is from the test CA
servers_switch_cert "$H_SERVERS" localhost >/dev/null
# probe_smtp NAME [SMTP-LINES] - file the probe with ticketctl and let
# ticketd (no IMAP) send its ack over implicit TLS
probe_smtp() {
	C_NO_IMAP=1 C_SMTP_URL="smtps://localhost:$SMTPS_PORT" C_SMTP_EXTRA="$2" \
	    C_STATE="$H_DIR/state-$1" h_conf "$H_DIR/$1.conf"
	h_ctl "$H_DIR/$1.conf" ingest "$H_DIR/msgs/probe.eml" >/dev/null 2>&1
	h_start_td "$H_DIR/$1.conf" "$H_DIR/$1.log"
	wait_for 20 grep -q 'action=ack\(ed\|_deferred\|_failed\)' \
	    "$H_DIR/$1.log"
	h_stop_td
}
# relayed - messages the relay accepted so far
relayed() {
	cat "$H_SERVERS/smtp.log" 2>/dev/null | wc -l
}
sent0=$(relayed)
probe_smtp smtp-no-ca ""
check "SMTP: untrusted relay certificate refused (ack not sent)" \
    grep -q 'action=ack_deferred' "$H_DIR/smtp-no-ca.log"
check "SMTP: nothing reached the relay" \
    [ "$(relayed)" -eq "$sent0" ]
check "SMTP: the outbox keeps the ack queued for a retry" sh -c \
    "$B/ticketctl -c $H_DIR/smtp-no-ca.conf outbox --json | grep -q '\"status\":\"queued\"'"
probe_smtp smtp-ca "ca_file = $CA_FILE"
check "SMTP: with ca_file the ack is sent" \
    grep -q 'action=acked' "$H_DIR/smtp-ca.log"
h_done
