#!/bin/sh
# SPDX-License-Identifier: MIT
# lib.sh - the check counters every shell suite shares: ok NAME, bad NAME
# [DETAIL], and check NAME CMD... (ok when CMD succeeds, output dropped).
# A suite sources it after cd to the project root, then prints
# "$pass passed, $fail failed" at its end; it may redefine any of them.
pass=${pass:-0}
fail=${fail:-0}

# ok NAME / bad NAME [DETAIL] - count one check
ok() {
	pass=$((pass + 1))
	echo "ok - $1"
}
bad() {
	fail=$((fail + 1))
	echo "FAIL - $1${2:+: $2}"
}

# check NAME CMD... - ok when CMD succeeds
check() {
	lib__name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$lib__name"; else bad "$lib__name"; fi
}
