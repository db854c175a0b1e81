#!/bin/sh
# SPDX-License-Identifier: MIT
# test_names.sh - hostile attachment names (SPEC §6): ../, absolute paths,
# backslashes, NUL (RFC 2231 %00), controls, RFC 2047 paths, names that are
# only dots or a slash, and 1,000-character names, filed with ticketctl
# ingest (the daemon's own code path) from a working directory deep inside
# the temp dir.  Checks: every ticket is created and logged with its
# attachment count, every name in `ticketctl show --json` is sanitised,
# no file appears outside the state directory (the temp dir and /tmp are
# listed before and after; every name carries a marker to search for),
# stored files are only content-addressed, an export returns the bytes.
# shellcheck disable=SC2317,SC2034,SC1091
. "$(dirname "$0")/lib.sh"

M=hostile$$x$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
CONF=$H_DIR/ticketd.conf
mkdir -p "$H_DIR/msgs" "$H_DIR/cwd/a/b/c/d/e" "$H_DIR/show"
$GEN names "$H_DIR/msgs" "$M" || bad "generate messages"
h_conf "$CONF"

# find_marked - files anywhere we can look whose names carry the marker
find_marked() {
	find /tmp /var/tmp "$H_DIR" /etc -xdev -name "*$M*" 2>/dev/null |
	    grep -v "^$H_DIR/msgs/"
}
# list_tmp - /tmp and our temp dir (but the state and message dirs)
list_tmp() {
	find /tmp -xdev -maxdepth 3 2>/dev/null | grep -v "^$H_DIR" | sort
	find "$H_DIR" -xdev 2>/dev/null | grep -v -e "^$H_DIR/state" \
	    -e "^$H_DIR/msgs" -e "^$H_DIR/show" -e "^$H_DIR/fs\." |
	    sort
}
list_tmp >"$H_DIR/fs.before"

n=$(ls "$H_DIR/msgs" | wc -l)
t0=$(h_now_ms)
case $B in
/*) TCTL=$B/ticketctl ;;
*) TCTL=$(pwd)/$B/ticketctl ;;
esac
(cd "$H_DIR/cwd/a/b/c/d/e" &&
    "$TCTL" -c "$CONF" ingest --json "$H_DIR"/msgs/*.eml \
	>"$H_DIR/ingest.json" 2>"$H_DIR/ticketd.log")
rc=$?
echo "# ingest of $n messages: $(($(h_now_ms) - t0)) ms"
check "ingest exits 0" [ "$rc" -eq 0 ]
created=$($PY -c 'import json,sys
print(sum(1 for i in json.load(open(sys.argv[1])) if i["outcome"] == "created"))' \
    "$H_DIR/ingest.json" 2>/dev/null)
check "every message became a ticket ($created of $n)" [ "$created" = "$n" ]
check "each filing is logged" \
    [ "$(grep -c 'action=created' "$H_DIR/ticketd.log")" -eq "$n" ]
cases=$(grep -c '^    ("' tests/hostile/gen_hostile.py)
check "the all-names message is logged with its $cases attachments" \
    grep -q "action=created .*attachments=$cases " "$H_DIR/ticketd.log"
check "no raw control character in the log" \
    $PY tests/hostile/check.py controls "$H_DIR/ticketd.log"

# every name in show --json
for id in $($PY -c 'import json,sys
for i in json.load(open(sys.argv[1])): print(i["ticket_id"])' \
    "$H_DIR/ingest.json"); do
	h_ctl "$CONF" show "$id" --json >"$H_DIR/show/$id.json" ||
	    bad "show $id"
done
$PY tests/hostile/check.py names "$H_DIR"/show/*.json >"$H_DIR/names.out"
bad_names=$(grep -c '^bad' "$H_DIR/names.out")
n_names=$(grep -c '^ok' "$H_DIR/names.out")
if [ "$bad_names" -eq 0 ] && [ "$n_names" -ge $((cases * 2)) ]; then
	ok "all $n_names attachment names sanitised"
else
	grep '^bad' "$H_DIR/names.out"
	bad "attachment names sanitised" "$bad_names bad of $((n_names + bad_names))"
fi
check "the marker survives in cleaned names (path parts dropped)" \
    grep -q "name '$M-dotdot.txt'" "$H_DIR/names.out"
check "a 1,000-character name is cut to at most 255 bytes" \
    grep -q "name '$M-AAAA" "$H_DIR/names.out"

# nothing outside the state directory
list_tmp >"$H_DIR/fs.after"
marked=$(find_marked)
if [ -z "$marked" ]; then
	ok "no file named after an attachment outside the state dir"
else
	bad "no file named after an attachment outside the state dir" "$marked"
fi
new=$(comm -13 "$H_DIR/fs.before" "$H_DIR/fs.after" |
    grep -e "$M" -e "^$H_DIR" | grep -v "^$H_DIR/\(ingest.json\|ticketd.log\|names.out\)$")
if [ -z "$new" ]; then
	ok "no new path in the temp dir or /tmp but the state dir"
else
	bad "no new path in the temp dir or /tmp but the state dir" "$new"
fi
check "the state dir holds only content-addressed files" \
    $PY tests/hostile/check.py store "$H_DIR/state"

# an export gives back the bytes, whatever the name was
first=$($PY -c 'import json,sys
for i in json.load(open(sys.argv[1])):
    if i["file"].endswith("name-00-dotdot.eml"): print(i["ticket_id"])' \
    "$H_DIR/ingest.json")
check "export of the ../ attachment returns its bytes" sh -c \
    "[ \"\$($B/ticketctl -c $CONF attachment $first 1 -o -)\" = 'content of dotdot $M' ]"

# the checks themselves catch what they look for (no vacuous pass)
mkdir -p "$H_DIR/self/state/raw/aa"
echo '{"id":"X","messages":[{"attachments":[{"number":1,"filename":"../x"}]}]}' \
    >"$H_DIR/self/show.json"
check "self-test: a ../ name is caught" \
    sh -c "! $PY tests/hostile/check.py names $H_DIR/self/show.json"
echo stray >"$H_DIR/self/state/raw/aa/escaped.txt"
check "self-test: a stray stored file is caught" \
    sh -c "! $PY tests/hostile/check.py store $H_DIR/self/state"
printf 'line\rcr\n' >"$H_DIR/self/ctl.log"
check "self-test: a raw CR in a log is caught" \
    sh -c "! $PY tests/hostile/check.py controls $H_DIR/self/ctl.log"
h_done
