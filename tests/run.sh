#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - run every test suite and add up their "N passed, N failed" lines.
# Suites: the compiled unit tests under $B/tests/, then the script suites
# tests/*/test_*.sh (differential, integration, ...).  A suite that crashes
# or prints no summary counts as one failure.  The last line printed is the
# total.  TICKETD_UNIT_ONLY=1 runs compiled tests only; TICKETD_VALGRIND=1
# runs them under valgrind.
B=${B:-build}
export B
total_pass=0
total_fail=0
failed_suites=""

run_suite() {
	name=$1
	shift
	out=$(mktemp)
	"$@" >"$out" 2>&1
	rc=$?
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [ -z "$last" ]; then
		p=0
		f=1
	else
		p=${last%% passed*}
		f=${last#*, }
		f=${f%% failed*}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
		fi
	fi
	if [ "$f" -ne 0 ]; then
		failed_suites="$failed_suites $name"
		cat "$out"
		echo "== $name: exit $rc, $p passed, $f failed"
	else
		echo "== $name: $p passed"
	fi
	rm -f "$out"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
}

for t in $(find "$B/tests" -type f -name 'test_*' -perm -u+x 2>/dev/null |
    sort); do
	if [ -n "${TICKETD_VALGRIND:-}" ]; then
		run_suite "$t" valgrind -q --error-exitcode=99 --suppressions=tests/valgrind.supp \
		    --leak-check=full --errors-for-leak-kinds=definite "$t"
	else
		run_suite "$t" "$t"
	fi
done
if [ -x "$B/tests/fuzz/replay_parser" ]; then
	run_suite fuzz-replay "$B/tests/fuzz/replay_parser" \
	    tests/fuzz/corpus tests/data
fi
if [ -z "${TICKETD_UNIT_ONLY:-}" ]; then
	for s in $(ls tests/*/test_*.sh 2>/dev/null | sort); do
		run_suite "$s" sh "$s"
	done
fi
if [ -n "$failed_suites" ]; then
	echo "failed suites:$failed_suites"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
