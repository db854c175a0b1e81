#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""golden.py - compare `ticketctl parse --json` with tests/data/*.json.

usage: golden.py TICKETCTL DATADIR [--update]
Prints one line per mismatch and ends with "N passed, N failed".
"""
import json
import os
import subprocess
import sys

FIELDS = ["status", "subject", "format", "ticket_ref", "priority",
          "category", "kind", "review", "requester", "user_id",
          "order_numbers", "screening_numbers", "summary", "text",
          "attachments", "ack", "bounce", "bounce_refs", "message_id",
          "in_reply_to", "references", "from_name"]


def parse(ticketctl, path):
    out = subprocess.run([ticketctl, "parse", "--json", path],
                         check=True, capture_output=True).stdout
    return json.loads(out)[0]


def main():
    ticketctl, datadir = sys.argv[1], sys.argv[2]
    update = "--update" in sys.argv
    passed = failed = 0
    for name in sorted(os.listdir(datadir)):
        if not name.endswith(".eml"):
            continue
        path = os.path.join(datadir, name)
        golden = path[:-4] + ".json"
        got = parse(ticketctl, path)
        if update:
            with open(golden, "w", encoding="utf-8") as f:
                json.dump({k: got.get(k) for k in FIELDS}, f,
                          ensure_ascii=False, indent=1, sort_keys=True)
                f.write("\n")
            continue
        if not os.path.exists(golden):
            print("FAIL %s: no golden file" % name)
            failed += 1
            continue
        with open(golden, encoding="utf-8") as f:
            want = json.load(f)
        for key, value in sorted(want.items()):
            if got.get(key) == value:
                passed += 1
            else:
                failed += 1
                print("FAIL %s: %s: got %r, want %r" %
                      (name, key, got.get(key), value))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
