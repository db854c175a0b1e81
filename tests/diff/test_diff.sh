#!/bin/sh
# SPDX-License-Identifier: MIT
# test_diff.sh - the parser's differential test against Python's email
# package: generate the corpus (gen_corpus.py) into a temporary directory
# and compare ticketctl's parse with oracle.py's on it, then on the public
# samples in ../shared/mail-samples beside the repository when present
# (read in place, never copied).  Last line: "N passed, N failed".
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case $B in
/*) ;;
*) B=$REPO/$B ;;
esac
export B
PYTHONIOENCODING=utf-8
export PYTHONIOENCODING
DIFF=$REPO/tests/diff
SAMPLES=$REPO/../shared/mail-samples

if ! command -v python3 >/dev/null 2>&1; then
	echo "test_diff: python3 not found"
	echo "0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$B/ticketctl" ]; then
	echo "test_diff: $B/ticketctl not built"
	echo "0 passed, 1 failed"
	exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM HUP

total_p=0
total_f=0

# run_set NAME DIR... - compare one set and add its counts.
run_set() {
	name=$1
	shift
	python3 "$DIFF/compare.py" --ticketctl "$B/ticketctl" "$@" \
	    >"$tmp/out" 2>&1
	rc=$?
	grep -v -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/out"
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/out" | tail -n 1)
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
	echo "== diff $name: $p passed, $f failed"
	total_p=$((total_p + p))
	total_f=$((total_f + f))
}

if ! python3 "$DIFF/gen_corpus.py" "$tmp/gen"; then
	echo "test_diff: gen_corpus.py failed"
	echo "0 passed, 1 failed"
	exit 1
fi
run_set generated "$tmp/gen"
if [ -d "$SAMPLES" ]; then
	run_set mail-samples "$SAMPLES"
fi
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
