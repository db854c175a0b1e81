#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - `make test-faults`: every fault suite (tests/faults/test_*.sh,
# which `make test` runs too) plus ticketd under valgrind (valgrind.sh),
# each suite's "N passed, N failed" added up; the last line is the total.
# A suite that prints no summary counts as one failure.
cd "$(dirname "$0")/../.." || exit 1
total_pass=0
total_fail=0
failed=""
for s in tests/faults/test_*.sh tests/faults/imap_faults.sh tests/faults/valgrind.sh; do
	out=$(mktemp)
	sh "$s" >"$out" 2>&1
	rc=$?
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [ -z "$last" ]; then
		p=0
		f=1
	else
		p=${last%% passed*}
		f=${last#*, }
		f=${f%% failed*}
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	fi
	if [ "$f" -ne 0 ]; then
		failed="$failed $s"
		grep -v '^ok - ' "$out"
		echo "== $s: exit $rc, $p passed, $f failed"
	else
		sed -n '/^figures:/,/^[0-9]* passed/p' "$out" | sed '$d'
		echo "== $s: $p passed"
	fi
	rm -f "$out"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
done
[ -n "$failed" ] && echo "failed suites:$failed"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
