#!/bin/sh
# SPDX-License-Identifier: MIT
# lint.sh - project rules the compiler does not check (STYLE.md §2, §10):
# banned functions, SQL outside store/ and its tests, and module headers
# included from outside their directory (only the umbrella headers are
# public).
status=0
banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|gets|atoi|atol|atoll|strtok|sscanf|system|popen)[[:space:]]*\('
for f in "$@"; do
	if grep -nE "$banned" "$f" | grep -vE '^\s*[0-9]+:\s*(/?\*|//)'; then
		echo "lint: $f: banned function" >&2
		status=1
	fi
	case $f in
	store/* | tests/store/*) ;; # the store's own tests may read its schema
	*)
		if grep -nE '\bsqlite3_(exec|prepare)' "$f"; then
			echo "lint: $f: SQL outside store/" >&2
			status=1
		fi
		;;
	esac
	dir=${f%%/*}
	for inc in $(grep -oE '#include "(parser|store|daemon)/[a-z0-9_]+\.h"' "$f" |
	    sed 's/#include "//; s/"//'); do
		idir=${inc%%/*}
		base=${inc#*/}
		if [ "$idir" != "$dir" ] && [ "$base" != "$idir.h" ] &&
		    [ "$dir" != tests ] && [ "$dir" != bench ]; then
			echo "lint: $f includes private header $inc" >&2
			status=1
		fi
	done
done
[ $status -eq 0 ] && echo "lint: clean"
exit $status
