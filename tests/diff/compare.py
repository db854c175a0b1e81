#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""compare.py - differential test: ticketctl's parser against Python's email.

Runs `$B/ticketctl parse --json FILE...` (in batches) and oracle.py's
reading of the same files, and compares per file the decoded subject
(whitespace runs folded to one space) and the attachment list in
depth-first order: filename, content type, decoded size and SHA-256.  For
message/* attachments only the name and type are compared: the two sides
serialise the enclosed message differently.  Differences listed in
expected-diffs.txt (file, field, reason) are reported but not counted.
The last line is "N passed, N failed"; the exit status is 1 on failure.

usage: compare.py [--ticketctl PATH] FILE|DIR...
"""

import fnmatch
import json
import os
import subprocess
import sys

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

BATCH = 40
HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED = os.path.join(HERE, "expected-diffs.txt")


def load_expected(path):
    """(file glob, field prefix, reason) triples; '#' starts a comment."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split(None, 2)
            if len(fields) != 3:
                sys.stderr.write("%s:%d: want FILE FIELD REASON\n" %
                                 (path, n))
                sys.exit(2)
            out.append(tuple(fields))
    return out


def is_expected(expected, path, field):
    """the reason when (path, field) is a documented difference."""
    base = os.path.basename(path)
    for glob, prefix, reason in expected:
        if fnmatch.fnmatch(base, glob) and field.startswith(prefix):
            return reason
    return None


def expand(args):
    """files as given; directories give their *.eml files, sorted."""
    out = []
    for a in args:
        if os.path.isdir(a):
            for root, dirs, files in os.walk(a):
                dirs.sort()
                out.extend(os.path.join(root, f) for f in sorted(files)
                           if f.endswith(".eml"))
        else:
            out.append(a)
    return out


def run_ticketctl(ticketctl, files):
    """{file: object} from ticketctl, or {file: error string}."""
    res = {}
    for i in range(0, len(files), BATCH):
        batch = files[i:i + BATCH]
        try:
            p = subprocess.run([ticketctl, "parse", "--json"] + batch,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            for f in batch:
                res[f] = "ticketctl: %s" % e
            continue
        if p.returncode != 0:
            # Every input here is a real message; a non-zero exit is a
            # crash, a sanitizer report or a refused file.
            err = p.stderr.decode("utf-8", "replace").strip()
            for f in batch:
                res[f] = "ticketctl exit %d: %s" % (p.returncode, err[:300])
            continue
        try:
            arr = json.loads(p.stdout.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            err = p.stderr.decode("utf-8", "replace").strip()
            for f in batch:
                res[f] = "ticketctl exit %d, bad JSON (%s): %s" % (
                    p.returncode, e, err[:300])
            continue
        if not isinstance(arr, list) or len(arr) != len(batch):
            for f in batch:
                res[f] = "ticketctl: want an array of %d objects" % len(batch)
            continue
        for f, obj in zip(batch, arr):
            if obj.get("file") not in (None, f):
                res[f] = "ticketctl: object for %r, want %r" % (
                    obj.get("file"), f)
            else:
                res[f] = obj
    return res


def message_name_ok(got, want):
    """names of message/* attachments: an unnamed one may get '.eml'."""
    return got == want or (want.startswith("attachment-") and
                           got == want + ".eml")


def compare_one(path, got, want):
    """list of (field, got, want) differences for one file."""
    diffs = []
    if isinstance(got, str):
        return [("ticketctl", got, "a result")]
    status = got.get("status")
    if status not in ("ok", "truncated", None):
        diffs.append(("status", status, "ok"))
    gsub = oracle.fold_ws(got.get("subject") or "")
    if gsub != want["subject"]:
        diffs.append(("subject", gsub, want["subject"]))
    gatts = got.get("attachments") or []
    watts = want["attachments"]
    if len(gatts) != len(watts):
        diffs.append(("attachments.count", len(gatts), len(watts)))
    for i, (g, w) in enumerate(zip(gatts, watts)):
        pre = "attachments[%d]." % i
        # libetpan folds whitespace runs inside quoted parameter values, so
        # names are compared folded (oracle.sanitise_filename folds too).
        gname = oracle.fold_ws(g.get("filename") or "")
        if w["is_message"]:
            if not message_name_ok(gname, w["filename"]):
                diffs.append((pre + "filename", g.get("filename"),
                              w["filename"]))
        elif gname != w["filename"]:
            diffs.append((pre + "filename", g.get("filename"),
                          w["filename"]))
        if g.get("content_type") != w["content_type"]:
            diffs.append((pre + "content_type", g.get("content_type"),
                          w["content_type"]))
        if g.get("skipped") not in (None, "", "none"):
            diffs.append((pre + "skipped", g.get("skipped"), None))
            continue
        if w["is_message"]:
            continue
        if g.get("size") != w["size"]:
            diffs.append((pre + "size", g.get("size"), w["size"]))
        if g.get("sha256") != w["sha256"]:
            diffs.append((pre + "sha256", g.get("sha256"), w["sha256"]))
    for i in range(len(watts), len(gatts)):
        diffs.append(("attachments[%d]" % i, gatts[i].get("filename"),
                      "(none)"))
    for i in range(len(gatts), len(watts)):
        diffs.append(("attachments[%d]" % i, "(none)",
                      watts[i]["filename"]))
    return diffs


def main(argv):
    args = argv[1:]
    ticketctl = os.path.join(os.environ.get("B", "build"), "ticketctl")
    if len(args) >= 2 and args[0] == "--ticketctl":
        ticketctl = args[1]
        args = args[2:]
    files = expand(args)
    if not files:
        sys.stderr.write("usage: compare.py [--ticketctl PATH] FILE|DIR...\n")
        return 2
    expected = load_expected(EXPECTED)
    ours = run_ticketctl(ticketctl, files)
    passed = failed = 0
    for path in files:
        try:
            want = oracle.oracle(path)
        except Exception as e:  # noqa: BLE001 - report, do not stop
            print("FAIL %s: oracle: %s" % (path, e))
            failed += 1
            continue
        bad = 0
        for field, g, w in compare_one(path, ours.get(path), want):
            reason = is_expected(expected, path, field)
            if reason is not None:
                print("expected %s: %s: got %r, want %r (%s)" % (
                    path, field, g, w, reason))
                continue
            print("FAIL %s: %s: got %r, want %r" % (path, field, g, w))
            bad += 1
        if bad:
            failed += 1
        else:
            passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
