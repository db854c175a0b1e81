#!/bin/sh
# SPDX-License-Identifier: MIT
# test_diskfull.sh - the state directory fills up under a running ticketd
# (SPEC §1, §8).  The state dir is a small tmpfs (else a loop-mounted ext4
# image; if neither can be mounted the suite FAILS with the reason, it
# never skips).  While it is full the daemon must not take mail off the
# server (nothing flagged or moved), must log store action=file_failed and
# stay up; when space returns (a filler file deleted, then the tmpfs
# remounted bigger) it files everything exactly once.  Afterwards
# `ticketctl check --files` passes (the store's PRAGMA integrity_check and
# foreign_key_check, and every raw and attachment file a row names is there
# and matches its hash), and verify.py's invariants hold.
# shellcheck disable=SC2317
cd "$(dirname "$0")/../.." || exit 1
. tests/faults/lib.sh

require_progs "$B/ticketd" "$B/ticketctl" mount umount
start_servers
MANIFESTS=""
NPROC=0
SEQ=0

# A small filesystem for the state directory.
FS=none
if mount_tmpfs "$STATE" 8m 2>"$D/mount.err"; then
	FS=tmpfs
else
	truncate -s 16M "$D/state.img" && mkfs.ext4 -q -F "$D/state.img" &&
	    mount -o loop "$D/state.img" "$STATE" 2>>"$D/mount.err" &&
	    MOUNTED=$STATE && FS=loop
fi
if [ "$FS" = none ]; then
	bad "a small filesystem for the state dir (tmpfs or loop device)" \
	    "$(tr '\n' ' ' <"$D/mount.err")"
	summary
fi
ok "state dir on a small $FS"
write_conf

# corpus NAME N - make and deliver mail $D/NAME
corpus() {
	SEQ=$((SEQ + 1))
	$PY tests/faults/gen.py make --n "$2" --out "$D/$1" --seed "$SEQ" \
	    --tag "$1" --users "$USERS" --garbage 1 --dups 0.1 >/dev/null ||
	    bad "gen.py make $1"
	$PY tests/faults/gen.py append --dir "$D/$1" --port "$IMAP_PORT" \
	    --jobs 1 >/dev/null || bad "append $1"
	MANIFESTS="$MANIFESTS --manifest $D/$1/manifest.json"
	NPROC=$((NPROC + $($PY -c "import json
s = json.load(open('$D/$1/manifest.json'))['summary']
print(s['appended'] - s['quarantine_copies'])")))
}

# settled - INBOX empty, Processed holds everything so far
settled() {
	folder_is INBOX 0 && folder_is Processed "$NPROC"
}

# fill - fill the state filesystem to the last block
fill() {
	dd if=/dev/zero of="$STATE/filler" bs=64k >/dev/null 2>&1
	dd if=/dev/zero of="$STATE/filler2" bs=512 >/dev/null 2>&1
	[ "$(df -P "$STATE" | awk 'NR == 2 { print $4 }')" -eq 0 ]
}

# untouched N - INBOX holds N messages and none is flagged $Ticketed
untouched() {
	[ "$($MB flags | grep -vc 'Ticketed')" = "$1" ] &&
	    [ "$(count INBOX)" = "$1" ]
}

# failures - store action=file_failed lines so far
failures() {
	grep -c 'store action=file_failed' "$LOG"
}

start_td
corpus g1 10
check "before: mail filed" wait_for 30 settled
check "before: acks sent" wait_for 60 outbox_drained

echo "# full: the filler takes the last block"
check "state filesystem full" fill
f0=$(failures)
corpus g2 10
check "full: filing failure logged (store action=file_failed)" wait_for 30 \
    sh -c "[ \$(grep -c 'store action=file_failed' $LOG) -gt $f0 ]"
sleep 20
check "full: nothing taken off the server (10 unflagged in INBOX)" \
    untouched 10
check "full: ticketd still running" kill -0 "$TD_PID"
tries=$(($(failures) - f0))
figure "disk full: $tries failed filing attempts in ~20 s (the daemon retries after 30 s)"
check "full: retries are spaced out, not a busy loop ($tries in ~20 s)" \
    [ "$tries" -le 3 ]
rm -f "$STATE/filler" "$STATE/filler2"
T=$(date +%s)
check "space back (filler deleted): the mail is filed" wait_for 90 settled
figure "disk full: filing resumed $(($(date +%s) - T)) s after space returned (filler deleted)"

echo "# full again, then the filesystem grows"
check "state filesystem full again" fill
f0=$(failures)
corpus g3 10
check "full again: failure logged" wait_for 30 \
    sh -c "[ \$(grep -c 'store action=file_failed' $LOG) -gt $f0 ]"
check "full again: nothing taken off the server" untouched 10
if [ "$FS" = tmpfs ]; then
	mount -o remount,size=32m "$STATE" || bad "remount the tmpfs bigger"
else
	rm -f "$STATE/filler" "$STATE/filler2"
fi
T=$(date +%s)
check "space back ($FS grown): the mail is filed" wait_for 90 settled
figure "disk full: filing resumed $(($(date +%s) - T)) s after the $FS grew"
check "acks sent after the disk-full episodes" wait_for 60 outbox_drained
stop_td
check "SIGTERM exits 0" [ $? -eq 0 ]

# check_store - ticketctl check --files: one check per part, so a failure
# says which (a part is clean when ticketctl ran, exit 0 or 1, and printed
# no problem line of its kind)
check_store() {
	"$B/ticketctl" -c "$CONF" check --files >"$D/check.out" 2>&1
	crc=$?
	if [ "$crc" -eq 0 ]; then
		ok "ticketctl check --files exits 0"
	else
		bad "ticketctl check --files exits 0" \
		    "exit $crc: $(head -n 5 "$D/check.out" | tr '\n' ' ')"
	fi
	for part in "PRAGMA integrity_check is ok:^integrity_check" \
	    "PRAGMA foreign_key_check is empty:^foreign[ _]key" \
	    "every file a row names exists and matches its SHA-256:^(raw|attachment) "; do
		name=${part%%:*}
		re=${part#*:}
		if [ "$crc" -le 1 ] && ! grep -qE "$re" "$D/check.out"; then
			ok "$name"
		else
			bad "$name" "$(grep -E "$re" "$D/check.out" | head -n 3 |
			    tr '\n' ' ')"
		fi
	done
	figure "disk full: ticketctl check: $(tail -n 1 "$D/check.out")"
}
check_store
n_tmp=$(find "$STATE/raw" "$STATE/attachments" -name '.tmp*' | wc -l)
check "no temp file left behind by the failed writes ($n_tmp)" [ "$n_tmp" -eq 0 ]
# shellcheck disable=SC2086
run_checks $PY tests/faults/verify.py corpus --conf "$CONF" --state "$STATE" \
    --port "$IMAP_PORT" $MANIFESTS
figure "disk full: $(failures) file_failed log lines in all"
summary
