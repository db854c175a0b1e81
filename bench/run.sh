#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - run every built benchmark in $B/bench/ (bench_parser, and
# bench_store when it exists) and print their figures.  No assertions:
# timings depend on the machine (STYLE.md §11).  BENCH_SECONDS sets how
# long each one runs (default: the program's own, 3 s).
B=${B:-build}
found=0
status=0
for prog in "$B"/bench/bench_*; do
	case $prog in
	*.o | *.d) continue ;;
	esac
	if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then
		continue
	fi
	found=1
	echo "== $(basename "$prog")"
	if [ -n "${BENCH_SECONDS:-}" ]; then
		"$prog" "$BENCH_SECONDS"
	else
		"$prog"
	fi
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "$(basename "$prog"): exit $rc"
		status=1
	fi
done
if [ "$found" -eq 0 ]; then
	echo "bench: no programs in $B/bench/ (run make bench)"
	exit 1
fi
# End to end on local Dovecot + SMTP (BENCH_E2E_N messages; BENCH_NO_E2E=1 skips).
if [ -z "${BENCH_NO_E2E:-}" ]; then
	B=$B sh "$(dirname "$0")/bench_e2e.sh" || status=1
fi
exit $status
