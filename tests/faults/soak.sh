#!/bin/sh
# SPDX-License-Identifier: MIT
# soak.sh - `make soak`: FAULTS_SOAK_N messages (default 50,000) through
# one ticketd against the real servers, delivered into the Maildir while
# it runs (at most 2,000 waiting at a time, so it works steadily for the
# whole run).  80% are auto-replies (a ticket, no ack) so that the SMTP
# relay -> LMTP -> Dovecot path (about 100 acks/s here) does not dominate;
# the other 20% are acked.  Three phases (20%, 40%, 40% of the mail),
# each waited out; ticketd's VmRSS once idle after each: the end may exceed
# "after warm-up" (the first phase) by at most 5% + 1 MiB and the middle
# by at most 2% + 256 KiB (a leak grows with the work; SQLite's page cache
# and malloc's arenas fill, then stop).  VmRSS is also sampled every
# second for the figures.  Then verify.py checks every invariant.
# shellcheck disable=SC2317
cd "$(dirname "$0")/../.." || exit 1
. tests/faults/lib.sh

N=${FAULTS_SOAK_N:-50000}
require_progs "$B/ticketd" "$B/ticketctl"
start_servers
write_conf
T0=$(date +%s)
$PY tests/faults/gen.py make --n "$N" --out "$D/mail" --seed 11 --tag soak \
    --users "$USERS" --auto 0.8 --followup 0.02 \
    --garbage 20 --dups 0.01 >"$D/gen.out" || bad "gen.py make"
echo "# corpus: $(cat "$D/gen.out") ($(($(date +%s) - T0)) s)"
MAILDIR=$D/srv/mail/support@example.com/Maildir
count INBOX >/dev/null
start_td
check "ticketd connected" wait_for 20 grep -q 'imap action=connected' "$LOG"

# RSS sampler: "seconds rss_kb log_lines" every second.
(
	t=0
	while kill -0 "$TD_PID" 2>/dev/null; do
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$TD_PID/status" \
		    2>/dev/null)
		[ -n "$r" ] && echo "$t $r $(wc -l <"$LOG")"
		sleep 1
		t=$((t + 1))
	done
) >"$D/rss" &
EXTRA_PIDS="$EXTRA_PIDS $!"

# rss_now - ticketd's VmRSS in KiB
rss_now() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$TD_PID/status"
}

# phase FROM TO - deliver messages [FROM, TO), wait until all are filed
# and acked; PHASE_RSS gets the RSS once the daemon is idle
phase() {
	$PY tests/faults/gen.py drop --dir "$D/mail" --maildir "$MAILDIR" \
	    --from "$1" --to "$2" --max-inbox 2000 >/dev/null ||
	    bad "deliver messages $1-$2"
	check "messages $1-$2 filed" wait_for 600 folder_is INBOX 0
	check "acks of messages $1-$2 sent" wait_for 900 outbox_drained
	sleep 3
	PHASE_RSS=$(rss_now)
}

T1=$(date +%s)
WARM=$((N / 5))
MID=$((N * 3 / 5))
phase 0 "$WARM"
r_warm=$PHASE_RSS
phase "$WARM" "$MID"
r_mid=$PHASE_RSS
phase "$MID" "$N"
r_end=$PHASE_RSS
T2=$(date +%s)
stop_td
check "SIGTERM exits 0" [ $? -eq 0 ]
figure "soak: $N messages filed and $(grep -c 'action=acked ' "$LOG") acks sent in $((T2 - T1)) s ($((N / (T2 - T1 + 1))) messages/s overall)"
figure "soak RSS (KiB), idle after each phase: after warm-up ($WARM messages) $r_warm, after $MID $r_mid, at the end ($N) $r_end"
if [ "$r_end" -le $((r_warm + r_warm / 20 + 1024)) ] &&
    [ "$r_end" -le $((r_mid + r_mid / 50 + 256)) ]; then
	ok "RSS does not grow after warm-up ($r_warm -> $r_mid -> $r_end KiB)"
else
	bad "RSS does not grow after warm-up ($r_warm -> $r_mid -> $r_end KiB)"
fi

$PY - "$D/rss" >"$D/rss.out" <<'EOF'
import sys
rows = [tuple(int(x) for x in ln.split()) for ln in open(sys.argv[1])
        if len(ln.split()) == 3]
n = len(rows)
if n < 20:
    print("FAIL - enough RSS samples: %d" % n)
    sys.exit(0)
rss = [r[1] for r in rows]
print("figure: soak RSS by tenth of the run (KiB, sampled every second): "
      "%s; peak %d" % (" ".join(str(rss[min(n - 1, int(n * k / 10))])
                               for k in range(10)), max(rss)))
EOF
run_checks cat "$D/rss.out"
run_checks $PY tests/faults/verify.py corpus --conf "$CONF" --state "$STATE" \
    --port "$IMAP_PORT" --manifest "$D/mail/manifest.json" --log "$LOG"
figure "soak: total $(($(date +%s) - T0)) s"
summary
