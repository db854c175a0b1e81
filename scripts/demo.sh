#!/bin/sh
# SPDX-License-Identifier: MIT
# demo.sh - the whole job on local servers (make demo): starts a private
# Dovecot and SMTP server (tests/integration/servers.sh), drops the sample
# support mails of tests/data/ (Chinese and English, GBK/GB18030, RFC 2231
# and Foxmail attachment names, an auto-reply, a follow-up, HTML-only, and
# one unparseable message) into support@example.com's INBOX, runs ticketd,
# shows the tickets (ticketctl list / show) and the acks that arrived in the
# customers' real mailboxes, then stops everything it started.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/integration/servers.sh
B=${B:-build}
PY=$SERVERS_PYTHON
D=$(mktemp -d "${TMPDIR:-/tmp}/ticketd-demo.XXXXXX") || exit 1
TD_PID=
cleanup() {
	[ -n "$TD_PID" ] && kill "$TD_PID" 2>/dev/null && wait "$TD_PID"
	servers_stop "$D/srv"
	rm -rf "$D"
}
trap cleanup EXIT INT TERM

echo "== starting Dovecot and the SMTP server on 127.0.0.1"
mkdir -p "$D/srv" "$D/state" "$D/mail"
servers_start "$D/srv" >/dev/null || exit 1
eval "$(servers_env "$D/srv")"
MB="$PY tests/integration/mailbox.py --port $IMAP_PORT"
printf 'secret\n' >"$D/imap.pass"
chmod 600 "$D/imap.pass"
cat >"$D/ticketd.conf" <<EOC
[imap]
host = localhost
port = $IMAPS_PORT
tls = implicit
ca_file = $CA_FILE
user = support@example.com
password_file = $D/imap.pass
processed_folder = Processed
quarantine_folder = Quarantine
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
from = 樱花影院客服 <support@example.com>
[store]
state_dir = $D/state
[ticket]
timezone = Asia/Shanghai
EOC

echo "== dropping sample support mail into support@example.com's INBOX"
# The samples' senders become the two customer mailboxes of the test server.
# The first mail of the thread goes in first, its follow-up last.
for f in tests/data/urgent-gbk.eml tests/data/refund-2231.eml \
    tests/data/appeal-gb18030.eml tests/data/refund-english.eml \
    tests/data/html-complaint.eml tests/data/auto-reply.eml \
    tests/data/followup.eml; do
	sed -e 's/zhangsan@example\.cn/alice@example.cn/g' \
	    -e 's/wangwu\.reply@example\.cn/alice@example.cn/g' \
	    -e 's/lisi@example\.cn/bob@example.com/g' \
	    -e 's/jane@example\.com/bob@example.com/g' \
	    "$f" >"$D/mail/$(basename "$f")"
	echo "   $(basename "$f")"
done
printf '\001\002 not a mail at all\377\n\n' >"$D/mail/zz-garbage.eml"
echo "   zz-garbage.eml (binary garbage)"
$MB append "$D/mail/urgent-gbk.eml" "$D/mail/refund-2231.eml" \
    "$D/mail/appeal-gb18030.eml" "$D/mail/refund-english.eml" \
    "$D/mail/html-complaint.eml" "$D/mail/auto-reply.eml" \
    "$D/mail/followup.eml" "$D/mail/zz-garbage.eml" >/dev/null

echo "== running ticketd (log below)"
"$B/ticketd" -c "$D/ticketd.conf" -f &
TD_PID=$!
i=0
while [ "$i" -lt 100 ] && [ "$($MB count)" != 0 ]; do
	sleep 0.2
	i=$((i + 1))
done
sleep 2
kill "$TD_PID"
wait "$TD_PID"
TD_PID=

echo
echo "== ticketctl list"
"$B/ticketctl" -c "$D/ticketd.conf" list
echo
FIRST=$("$B/ticketctl" -c "$D/ticketd.conf" list --json |
    $PY -c 'import json,sys; t=json.load(sys.stdin); print(t[-1]["id"] if t else "")')
if [ -n "$FIRST" ]; then
	echo "== ticketctl show $FIRST"
	"$B/ticketctl" -c "$D/ticketd.conf" show "$FIRST"
	echo
fi
echo "== ticketctl quarantine"
"$B/ticketctl" -c "$D/ticketd.conf" quarantine
echo
echo "== server folders: INBOX $($MB count), Processed" \
    "$($MB count --folder Processed), Quarantine $($MB count --folder Quarantine)"
echo
for u in alice@example.cn bob@example.com; do
	echo "== acks in $u's mailbox"
	mkdir -p "$D/got-$u"
	$MB --user "$u" fetch-all --out "$D/got-$u" >/dev/null
	for m in "$D/got-$u"/*.eml; do
		[ -f "$m" ] || continue
		$PY - "$m" <<'EOP'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"),
                                   policy=email.policy.default)
print("   Subject: %s" % m["Subject"])
print("     Auto-Submitted: %s  In-Reply-To: %s" %
      (m["Auto-Submitted"], m["In-Reply-To"]))
EOP
	done
done
