#!/bin/sh
# SPDX-License-Identifier: MIT
# test_ticketctl.sh - end-to-end test of ticketctl's store commands on a
# fresh state directory: ingest of the sample messages in tests/data (as
# files and through the MTA pipe mode), list filters, show, attachment
# export (SHA-256 checked against the original bytes), status, outbox,
# quarantine (and --reprocess), purge --dry-run, stats, check (a clean
# store, then a corrupted raw file), exit codes, the terminal sanitiser,
# and that --help and the man page name every command.
# Assertions on --json output use python3.  Ends with "N passed, N failed".
# TICKETCTL_WRAP="valgrind -q --leak-check=full --error-exitcode=99" runs
# every ticketctl under valgrind.
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
CTL=$B/ticketctl
WRAP=${TICKETCTL_WRAP:-}
DATA=tests/data
pass=0
fail=0

if [ ! -x "$CTL" ]; then
	echo "FAIL - $CTL not built"
	echo "0 passed, 1 failed"
	exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "FAIL - python3 is needed for the JSON checks"
	echo "0 passed, 1 failed"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/ticketctl-test.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
CONF=$T/ticketd.conf
cat >"$CONF" <<EOF
# test configuration: no servers are contacted by ticketctl
[imap]
host = 127.0.0.1
tls = none
user = support@example.com

[smtp]
from = Support <support@example.com>

[store]
state_dir = $T/state
EOF

# shellcheck source=tests/lib.sh
. tests/lib.sh
bad() {
	fail=$((fail + 1))
	echo "FAIL - $1${2:+: $2}"
	if [ -s "$T/err" ]; then
		sed 's/^/    stderr: /' "$T/err" | head -n 10
	fi
}

# run ARGS... - ticketctl -c CONF ARGS; stdout in $T/out, stderr in
# $T/err, exit status in $rc
run() {
	# shellcheck disable=SC2086 # WRAP is a command line
	$WRAP "$CTL" -c "$CONF" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# expect_rc NAME WANT - the last run exited WANT
expect_rc() {
	if [ "$rc" -eq "$2" ]; then
		ok "$1"
	else
		bad "$1" "exit $rc, want $2"
	fi
}

# jcheck NAME EXPR - python EXPR over j (the JSON in $T/out) is true
jcheck() {
	if python3 - "$T/out" "$2" >"$T/py" 2>&1 <<'EOF'
import json, sys
j = json.load(open(sys.argv[1], encoding="utf-8"))
ok = eval(sys.argv[2])
if not ok:
    print("false: " + sys.argv[2])
    print("json: " + json.dumps(j, ensure_ascii=False)[:600])
sys.exit(0 if ok else 1)
EOF
	then
		ok "$1"
	else
		bad "$1"
		sed 's/^/    /' "$T/py"
	fi
}

# jget EXPR - print python EXPR over j (the JSON in $T/out)
jget() {
	python3 -c 'import json,sys
j = json.load(open(sys.argv[1], encoding="utf-8"))
print(eval(sys.argv[2]))' "$T/out" "$1"
}

# ---- ingest: the first message alone, then the rest in one batch ----
run --json ingest "$DATA/urgent-gbk.eml"
expect_rc "ingest urgent-gbk" 0
jcheck "urgent-gbk: created, ack queued" \
    'len(j) == 1 and j[0]["outcome"] == "created" and j[0]["ack"] == "queued" and not j[0]["duplicate"]'
URGENT=$(jget 'j[0]["ticket_id"]')
case $URGENT in
CM-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9]*)
	ok "ticket id format ($URGENT)" ;;
*) bad "ticket id format" "$URGENT" ;;
esac
if grep -q "action=created" "$T/err" && grep -q "ticket=$URGENT" "$T/err"; then
	ok "ingest logs key=value to stderr"
else
	bad "ingest logs key=value to stderr"
fi

run --json ingest "$DATA/followup.eml" "$DATA/refund-2231.eml" \
    "$DATA/appeal-gb18030.eml" "$DATA/refund-english.eml" \
    "$DATA/auto-reply.eml" "$DATA/html-complaint.eml"
expect_rc "ingest six samples in one batch" 0
cp "$T/out" "$T/batch.json"
# followup.eml names CM-20231105-001 in its subject, which a fresh store
# does not have; its References name urgent-gbk's Message-ID, so by SPEC §5
# it is a follow-up of that ticket.
jcheck "followup appended to urgent-gbk's ticket by References" \
    "j[0]['outcome'] == 'appended' and j[0]['ticket_id'] == '$URGENT' and j[0]['match'] == 'references' and not j[0]['third_party']"
jcheck "five new tickets in the batch" \
    'all(x["outcome"] == "created" for x in j[1:]) and len(set(x["ticket_id"] for x in j)) == 6'
jcheck "auto-reply: ack suppressed:auto_submitted" \
    'j[4]["ack"] == "suppressed:auto_submitted"'
jcheck "ordinary messages: ack queued" \
    'all(j[i]["ack"] == "queued" for i in (1, 2, 3, 5))'
REFUND=$(jget 'j[1]["ticket_id"]')
APPEAL=$(jget 'j[2]["ticket_id"]')
ENGLISH=$(jget 'j[3]["ticket_id"]')
AUTO=$(jget 'j[4]["ticket_id"]')
HTML=$(jget 'j[5]["ticket_id"]')

run ingest "$DATA/refund-english.eml"
expect_rc "re-ingest is not an error" 0
if grep -q "duplicate of $ENGLISH" "$T/out"; then
	ok "re-ingest: duplicate of $ENGLISH"
else
	bad "re-ingest: duplicate" "$(cat "$T/out")"
fi
run --json list
jcheck "no ticket created by the duplicate" 'len(j) == 6'

# ---- show ----
run show "$URGENT" --json
expect_rc "show --json" 0
jcheck "show: SPEC §10 field names" \
    'set(["id","status","priority","category","kind","review","requester","user_id","order_numbers","screening_numbers","summary","created_at","due_at","ack","messages"]) <= set(j)'
jcheck "urgent-gbk: urgent, data_loss, user A123456" \
    'j["priority"] == "urgent" and j["category"] == "data_loss" and j["user_id"] == "A123456" and j["status"] == "new"'
jcheck "urgent-gbk: summary decoded from GBK" \
    '"角色数据丢失" in j["summary"]'
jcheck "urgent-gbk: two messages, the follow-up second" \
    'len(j["messages"]) == 2 and j["messages"][1]["message_id"] == "<20231105170000.2@example.cn>"'
jcheck "message fields" \
    'set(["message_id","from","subject","date","text","attachments"]) <= set(j["messages"][0])'
jcheck "attachment fields, GB2312 filename" \
    'set(["filename","content_type","size","sha256","skipped"]) <= set(j["messages"][0]["attachments"][0]) and j["messages"][0]["attachments"][0]["filename"] == "截图1.png" and j["messages"][0]["attachments"][0]["skipped"] is None'
jcheck "due 10 minutes after created (urgent)" \
    '__import__("datetime").datetime.fromisoformat(j["due_at"]) - __import__("datetime").datetime.fromisoformat(j["created_at"]) == __import__("datetime").timedelta(minutes=10)'
STORED_SHA=$(jget 'j["messages"][0]["attachments"][0]["sha256"]')

run show "$REFUND" --json
jcheck "refund-2231: ticketing_refund, order SK-88123, RFC 2231 name" \
    'j["category"] == "ticketing_refund" and j["order_numbers"] == ["SK-88123"] and j["messages"][0]["attachments"][0]["filename"] == "电子票收据.pdf"'
run show "$APPEAL" --json
jcheck "appeal-gb18030: appeal, complaint, Reply-To requester" \
    '"appeal" in (j["kind"] or "") and j["priority"] == "complaint" and j["requester"] == "wangwu.reply@example.cn"'
run show "$ENGLISH" --json
jcheck "refund-english: ticketing_refund, order 123456, normal" \
    'j["category"] == "ticketing_refund" and j["order_numbers"] == ["123456"] and j["priority"] == "normal"'
run show "$HTML" --json
jcheck "html-complaint: complaint, text rendered from HTML" \
    'j["priority"] == "complaint" and "projector" in j["messages"][0]["text"] and "<p>" not in j["messages"][0]["text"]'
run show "$AUTO" --json
jcheck "auto-reply ticket: ack suppressed:auto_submitted" \
    'j["ack"] == "suppressed:auto_submitted"'

run show "$URGENT"
expect_rc "show (human)" 0
if grep -q "attachment 1: 截图1.png" "$T/out" && grep -q "$URGENT" "$T/out"; then
	ok "show (human) lists numbered attachments"
else
	bad "show (human) lists numbered attachments"
fi
run show CM-19990101-999
expect_rc "show unknown id exits 1" 1

# ---- attachment ----
ORIG_SHA=$(python3 -c 'import email, hashlib, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
p = [x for x in m.walk() if x.get_content_type() == "image/png"][0]
print(hashlib.sha256(p.get_payload(decode=True)).hexdigest())' \
    "$DATA/urgent-gbk.eml")
if [ "$STORED_SHA" = "$ORIG_SHA" ]; then
	ok "stored sha256 is the original attachment's"
else
	bad "stored sha256" "$STORED_SHA vs $ORIG_SHA"
fi
run attachment "$URGENT" 1 -o "$T/shot.png"
expect_rc "attachment -o FILE" 0
GOT=$(python3 -c 'import hashlib,sys
print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' \
    "$T/shot.png" 2>/dev/null)
if [ "$GOT" = "$ORIG_SHA" ]; then
	ok "exported attachment matches the original bytes"
else
	bad "exported attachment bytes" "$GOT"
fi
MODE=$(stat -c %a "$T/shot.png" 2>/dev/null)
if [ "$MODE" = 600 ]; then
	ok "exported file mode 0600"
else
	bad "exported file mode" "$MODE"
fi
run attachment "$URGENT" 1 -o "$T/shot.png"
expect_rc "attachment refuses an existing file" 3
run attachment "$URGENT" 1 -o "$T/shot.png" -f
expect_rc "attachment -f replaces it" 0
# shellcheck disable=SC2086
$WRAP "$CTL" -c "$CONF" attachment "$URGENT" 1 -o - >"$T/stdout.png" \
    2>"$T/err"
rc=$?
GOT=$(python3 -c 'import hashlib,sys
print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' \
    "$T/stdout.png")
if [ "$rc" -eq 0 ] && [ "$GOT" = "$ORIG_SHA" ]; then
	ok "attachment -o - writes the bytes to stdout"
else
	bad "attachment -o -" "exit $rc"
fi
run attachment "$URGENT" 9 -o "$T/nine"
expect_rc "attachment: no such number exits 1" 1
run attachment CM-19990101-999 1 -o "$T/none"
expect_rc "attachment: unknown ticket exits 1" 1
if [ ! -e "$T/nine" ] && [ ! -e "$T/none" ]; then
	ok "failed exports leave no file"
else
	bad "failed exports leave no file"
fi
# a corrupted blob must be refused
BLOB=$(find "$T/state/attachments" -type f -name "$ORIG_SHA*" | head -n 1)
if [ -n "$BLOB" ]; then
	cp "$BLOB" "$T/blob.save"
	chmod u+w "$BLOB" 2>/dev/null
	printf 'x' >>"$BLOB"
	run attachment "$URGENT" 1 -o "$T/corrupt.png"
	expect_rc "attachment: corrupted blob exits 3" 3
	if [ ! -e "$T/corrupt.png" ]; then
		ok "corrupted blob: no output file"
	else
		bad "corrupted blob: no output file"
	fi
	cp "$T/blob.save" "$BLOB"
else
	bad "attachment blob named by its sha256 under attachments/"
fi

# ---- status ----
run status "$ENGLISH" closed
expect_rc "status closed" 0
run --json show "$ENGLISH"
jcheck "status is closed" 'j["status"] == "closed"'
run status "$ENGLISH" done
expect_rc "bad status exits 2" 2
run status CM-19990101-999 open
expect_rc "status of unknown id exits 1" 1
run status "$REFUND" pending
expect_rc "status pending" 0

# ---- list filters ----
run --json list --status new
jcheck "list --status new" \
    "sorted(x['id'] for x in j) == sorted(['$URGENT', '$APPEAL', '$AUTO', '$HTML'])"
jcheck "list objects: SPEC §10 fields, no messages" \
    'all(set(["id","status","priority","category","kind","review","requester","user_id","order_numbers","screening_numbers","summary","created_at","due_at","ack"]) <= set(x) and "messages" not in x for x in j)'
run --json list --category ticketing_refund
jcheck "list --category ticketing_refund" \
    "sorted(x['id'] for x in j) == sorted(['$REFUND', '$ENGLISH'])"
run --json list --order SK-88123
jcheck "list --order SK-88123" "[x['id'] for x in j] == ['$REFUND']"
run --json list --priority urgent
jcheck "list --priority urgent" "[x['id'] for x in j] == ['$URGENT']"
run --json list --requester WANGWU.REPLY@example.cn
jcheck "list --requester (any case)" "[x['id'] for x in j] == ['$APPEAL']"
run --json list --since 1d
jcheck "list --since 1d" 'len(j) == 6'
run --json list --since 2099-01-01
jcheck "list --since a future day" 'len(j) == 0'
run --json list --limit 2
jcheck "list --limit 2" 'len(j) == 2'
run list --status bogus
expect_rc "list --status bogus exits 2" 2
run list --since yesterday
expect_rc "list --since bad exits 2" 2
COLUMNS=250
export COLUMNS
run list
unset COLUMNS
expect_rc "list (table)" 0
if head -n 1 "$T/out" | grep -q "^ID .*STATUS .*PRIORITY .*CATEGORY .*DUE .*ACK .*REQUESTER .*SUMMARY"; then
	ok "list table header"
else
	bad "list table header" "$(head -n 1 "$T/out")"
fi
for cols in 80 100 132 200; do
	COLUMNS=$cols
	export COLUMNS
	run list
	unset COLUMNS
	if python3 - "$T/out" "$cols" <<'EOF'
import sys, unicodedata
def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
lines = open(sys.argv[1], "rb").read().decode("utf-8").splitlines()
sys.exit(0 if len(lines) == 7 and all(width(l) < int(sys.argv[2]) for l in lines) else 1)
EOF
	then
		ok "list fits $cols columns, cut on UTF-8 character boundaries"
	else
		bad "list fits $cols columns, cut on UTF-8 character boundaries"
	fi
done

# ---- outbox ----
run --json outbox
expect_rc "outbox --json" 0
jcheck "outbox lists the queued acks" \
    "sorted(x['ticket_id'] for x in j) == sorted(['$URGENT', '$REFUND', '$APPEAL', '$ENGLISH', '$HTML']) and all(x['status'] == 'queued' for x in j)"
jcheck "outbox fields" \
    'all(set(["ticket_id","to","message_id","status","attempts","next_attempt_at","last_error"]) <= set(x) for x in j)'
jcheck "ack goes to the Reply-To address" \
    "[x['to'] for x in j if x['ticket_id'] == '$APPEAL'] == ['wangwu.reply@example.cn']"
run --json outbox --failed
jcheck "outbox --failed: none" 'j == []'
run outbox --retry 999999
expect_rc "outbox --retry of no failed ack exits 1" 1
run outbox
expect_rc "outbox (table)" 0

# ---- quarantine ----
: >"$T/empty.eml"
printf '\001\002\377\376garbage\000\000\033[31m\n\n\377' >"$T/garbage.eml"
run --json ingest "$T/empty.eml" "$T/garbage.eml"
expect_rc "malformed messages are filed (quarantined)" 0
jcheck "both quarantined with a reason" \
    'all(x["outcome"] == "quarantined" and x["reason"] for x in j)'
run --json quarantine
jcheck "quarantine --json lists them" \
    'len(j) == 2 and all(set(["id","reason","message_id","from","subject","filed_at","reprocessed"]) <= set(x) and not x["reprocessed"] for x in j)'
QID=$(jget 'j[0]["id"]')
run quarantine
expect_rc "quarantine (table)" 0
if grep -q "$(printf '\033')" "$T/out"; then
	bad "quarantine table has no escape characters"
else
	ok "quarantine table has no escape characters"
fi
run --json quarantine --reprocess "$QID"
expect_rc "quarantine --reprocess" 0
jcheck "still unparsable: quarantined again, old record superseded" \
    'j["outcome"] == "quarantined" and j["reprocessed"]'
run --json quarantine
jcheck "quarantine: still two active records" 'len(j) == 2'
run --json quarantine --all
jcheck "quarantine --all shows the reprocessed one" \
    "len(j) == 3 and [x['reprocessed'] for x in j if x['id'] == $QID] == [True]"
run quarantine --reprocess 999999
expect_rc "quarantine --reprocess unknown exits 1" 1

# ---- MTA pipe mode ----
cat >"$T/pipe.eml" <<'EOF'
From: Pipe User <pipe@example.net>
To: support@example.com
Subject: =?UTF-8?B?6LSm5Y+36KKr55uX?= login
Message-ID: <pipe-1@example.net>
Content-Type: text/plain; charset=utf-8

My account was stolen.
EOF
# shellcheck disable=SC2086
cat "$T/pipe.eml" | $WRAP "$CTL" -c "$CONF" ingest - >"$T/out" 2>"$T/err"
rc=$?
expect_rc "pipe mode: cat FILE | ticketctl ingest -" 0
if grep -q '^(stdin): created CM-.* (ack queued)$' "$T/out"; then
	ok "pipe mode: created, ack queued"
else
	bad "pipe mode: created" "$(cat "$T/out")"
fi
PIPE=$(sed -n 's/^(stdin): created \([^ ]*\) .*/\1/p' "$T/out")
# shellcheck disable=SC2086
$WRAP "$CTL" -c "$CONF" ingest - <"$T/pipe.eml" >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "duplicate of $PIPE" "$T/out"; then
	ok "pipe mode: re-delivery is a duplicate"
else
	bad "pipe mode: re-delivery is a duplicate" "$(cat "$T/out")"
fi
run --json show "$PIPE"
jcheck "pipe message: account category" 'j["category"] == "account"'
# a store that cannot be opened: EX_TEMPFAIL so the MTA retries
: >"$T/notadir"
sed "s|^state_dir = .*|state_dir = $T/notadir/state|" "$CONF" >"$T/bad.conf"
# shellcheck disable=SC2086
$WRAP "$CTL" -c "$T/bad.conf" ingest - <"$T/pipe.eml" >"$T/out" 2>"$T/err"
rc=$?
expect_rc "pipe mode: store failure exits 75 (EX_TEMPFAIL)" 75
run ingest "$T/does-not-exist.eml"
expect_rc "ingest of a missing file exits 1" 1
run ingest
expect_rc "ingest without files exits 2" 2

# ---- purge ----
run --json purge --older-than 0 --dry-run
expect_rc "purge --dry-run" 0
jcheck "purge --dry-run reports the closed ticket" \
    'j["dry_run"] and j["tickets"] >= 1 and j["messages"] >= 1 and j["files"] >= 1 and j["bytes"] > 0'
run --json show "$ENGLISH"
expect_rc "dry run removed nothing" 0
run purge --older-than 0 --dry-run
if grep -q "would have purged" "$T/out"; then
	ok "purge report (text)"
else
	bad "purge report (text)" "$(cat "$T/out")"
fi
run purge --older-than soon
expect_rc "purge --older-than bad exits 2" 2
run purge
expect_rc "purge without --older-than exits 2" 2

# ---- stats ----
run --json stats
expect_rc "stats --json" 0
jcheck "stats counts" \
    'j["tickets"] == 7 and j["by_status"]["new"] == 5 and j["by_status"]["closed"] == 1 and j["by_status"]["pending"] == 1 and j["by_priority"]["urgent"] == 1 and j["by_category"]["ticketing_refund"] == 2 and j["outbox"]["queued"] == 6 and j["quarantined"] == 2'
run stats
expect_rc "stats (table)" 0

# ---- check ----
run check --files
expect_rc "check --files on a clean store" 0
if grep -q '^ok: integrity_check, foreign keys, [1-9][0-9]* files$' "$T/out"; then
	ok "check --files: ok line with the number of files"
else
	bad "check --files: ok line" "$(cat "$T/out")"
fi
run check
expect_rc "check (database only)" 0
if grep -qx 'ok: integrity_check, foreign keys' "$T/out"; then
	ok "check: ok line"
else
	bad "check: ok line" "$(cat "$T/out")"
fi
run --json check --files
jcheck "check --json: clean" \
    'j["ok"] is True and j["problems"] == [] and j["problem_count"] == 0 and j["files_checked"] > 0'
RAW=$(find "$T/state/raw" -type f ! -name '.tmp*' | head -n 1)
RAWHEX=$(basename "$RAW")
if [ -n "$RAW" ] && cp "$RAW" "$T/raw.save" && chmod u+w "$RAW" &&
    printf 'X' | dd of="$RAW" bs=1 count=1 conv=notrunc 2>/dev/null; then
	ok "a raw file corrupted (one byte overwritten)"
else
	bad "a raw file corrupted (one byte overwritten)"
fi
run check --files
expect_rc "check --files: a corrupted raw file exits 1" 1
if grep -qx "raw $RAWHEX: content does not match its name" "$T/out" &&
    grep -q '^1 problem found' "$T/out"; then
	ok "check --files: the problem line names the file's hex, one problem"
else
	bad "check --files: problem line" "$(cat "$T/out")"
fi
run --json check --files
expect_rc "check --json --files: exits 1" 1
jcheck "check --json: ok false, the problem listed" \
    "j['ok'] is False and j['problem_count'] == 1 and j['problems'] == ['raw $RAWHEX: content does not match its name']"
run check
expect_rc "check without --files does not read the files" 0
cp "$T/raw.save" "$RAW"
run check --files
expect_rc "check --files: clean again once restored" 0
run check --bogus
expect_rc "check with an unknown option exits 2" 2
# shellcheck disable=SC2086
$WRAP "$CTL" -c "$T/bad.conf" check >"$T/out" 2>"$T/err"
rc=$?
expect_rc "check: a store that cannot be opened exits 3" 3

# ---- sanitiser: an escape sequence in a subject never reaches a table ----
cat >"$T/esc.eml" <<'EOF'
From: Esc <esc@example.net>
To: support@example.com
Subject: =?UTF-8?B?G1syShtdMDtwd25lZAdoZWxsbyDkuK3mlocbWzMxbQ==?=
Message-ID: <esc-1@example.net>
Content-Type: text/plain; charset=utf-8

text
EOF
run ingest "$T/esc.eml"
ESC=$(sed -n 's/.*: created \([^ ]*\) .*/\1/p' "$T/out")
run list
if [ -n "$ESC" ] && ! grep -q "$(printf '[\033\007]')" "$T/out"; then
	ok "list: no control characters from a subject"
else
	bad "list: no control characters from a subject"
fi
run show "$ESC"
if ! grep -q "$(printf '[\033\007]')" "$T/out"; then
	ok "show: no control characters from a subject"
else
	bad "show: no control characters from a subject"
fi

# ---- config errors ----
# shellcheck disable=SC2086
$WRAP "$CTL" -c "$T/missing.conf" list >"$T/out" 2>"$T/err"
rc=$?
expect_rc "missing config exits 2" 2

# ---- --help and the man page name every command ----
"$CTL" --help >"$T/help" 2>&1
for c in parse ingest list show attachment status outbox quarantine purge \
    stats check; do
	if grep -q "^  $c " "$T/help"; then
		ok "--help lists $c"
	else
		bad "--help lists $c"
	fi
	if grep -q "^\.It Cm $c\( \|$\)" man/ticketctl.1; then
		ok "ticketctl.1 documents $c"
	else
		bad "ticketctl.1 documents $c"
	fi
done
if grep -q "^\.It 75" man/ticketctl.1; then
	ok "ticketctl.1 documents exit status 75"
else
	bad "ticketctl.1 documents exit status 75"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
