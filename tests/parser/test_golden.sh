#!/bin/sh
# SPDX-License-Identifier: MIT
# test_golden.sh - golden parses: every tests/data/<case>.eml that has a
# <case>.json is parsed with `ticketctl parse --json` and each field of the
# golden file is compared (fields the golden omits are not checked).  To
# regenerate after a reviewed change: tests/parser/golden.py --update.
B=${B:-build}
exec python3 tests/parser/golden.py "$B/ticketctl" tests/data
