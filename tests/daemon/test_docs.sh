#!/bin/sh
# SPDX-License-Identifier: MIT
# test_docs.sh - the documentation agrees with the code (STYLE.md §8, §14):
# every key `ticketd --help` lists (the config table) has an entry in its
# section of man/ticketd.conf.5 with the same default, and the page lists no
# key the table lacks; every ticketctl command and option in `ticketctl
# --help` is in man/ticketctl.1 (a missing page is a failure); ticketd's
# options and every action= its log lines use are in man/ticketd.8; the
# three pages are clean under `mandoc -T lint` (STYLE messages allowed);
# etc/ack.txt is the built-in template of daemon/ack.c; the example config
# passes --check-config and names every key; the units' Documentation=
# pages exist; README.md has the "Operating ticketd" section.
# Ends with "N passed, N failed".
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
pass=0
fail=0
T=$(mktemp -d "${TMPDIR:-/tmp}/ticketd-docs.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

# shellcheck source=tests/lib.sh
. tests/lib.sh

for p in "$B/ticketd" "$B/ticketctl"; do
	if [ ! -x "$p" ]; then
		echo "FAIL - $p not built"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
if ! command -v python3 >/dev/null 2>&1; then
	echo "FAIL - python3 is needed"
	echo "0 passed, 1 failed"
	exit 1
fi

if "$B/ticketd" --help >"$T/ticketd.help" 2>&1; then
	ok "ticketd --help exits 0"
else
	bad "ticketd --help exits 0"
fi
if "$B/ticketctl" --help >"$T/ticketctl.help" 2>&1; then
	ok "ticketctl --help exits 0"
else
	bad "ticketctl --help exits 0"
fi
for p in ticketd ticketctl; do
	if "$B/$p" --version | grep -qE "^$p [0-9]+\.[0-9]+\.[0-9]+$"; then
		ok "$p --version"
	else
		bad "$p --version" "$("$B/$p" --version 2>&1)"
	fi
done

# The cross-checks, one "ok NAME" or "bad NAME: DETAIL" line each.
python3 - "$T/ticketd.help" "$T/ticketctl.help" >"$T/checks" 2>&1 <<'EOF'
import os, re, sys

def report(good, name, detail=""):
    print(("ok " if good else "bad ") + name + (": " + detail if detail and not good else ""))

td_help = open(sys.argv[1], encoding="utf-8").read()
tc_help = open(sys.argv[2], encoding="utf-8").read()

# --- ticketd.conf.5 against the key table --------------------------------
keys = re.findall(r'^  \[([a-z]+)\] ([a-z_]+) \(([^,]+), default "([^"]*)"\)',
                  td_help, re.M)
report(len(keys) >= 30, "ticketd --help lists the key table",
       "%d keys" % len(keys))
conf5 = open("man/ticketd.conf.5", encoding="utf-8").read()

def sections(page):
    """text of each .Ss [name] subsection"""
    out = {}
    parts = re.split(r'^\.Ss ', page, flags=re.M)
    for p in parts[1:]:
        head, _, body = p.partition("\n")
        m = re.match(r'\[([a-z]+)', head)
        if m:
            body = re.split(r'^\.S[hs] ', body, flags=re.M)[0]
            out[m.group(1)] = body
    return out

def items(body):
    """.It Cm KEY -> item text"""
    out = {}
    chunks = re.split(r'^\.It ', body, flags=re.M)
    for c in chunks[1:]:
        m = re.match(r'Cm ([a-z_]+)', c)
        if m:
            out[m.group(1)] = re.split(r'^\.El', c, flags=re.M)[0]
    return out

secs = sections(conf5)
table = {}
for sec, key, typ, dflt in keys:
    table.setdefault(sec, set()).add(key)
    body = secs.get(sec)
    if body is None:
        report(False, "ticketd.conf.5 has section [%s]" % sec)
        continue
    it = items(body).get(key)
    if it is None:
        report(False, "ticketd.conf.5 documents [%s] %s" % (sec, key))
        continue
    report(True, "ticketd.conf.5 documents [%s] %s" % (sec, key))
    if dflt == "":
        good = "Default: empty" in it
    else:
        good = re.search(r'^\.Ql %s( [.,;])?$' % re.escape(dflt), it,
                         re.M) is not None and "Default:" in it
    report(good, "ticketd.conf.5 default of [%s] %s is \"%s\"" % (sec, key, dflt),
           it.strip()[-80:])
for sec, body in secs.items():
    if sec in ("pattern", "category"):
        continue
    for key in items(body):
        report(key in table.get(sec, set()),
               "ticketd.conf.5 [%s] %s is a real key" % (sec, key))
for sec, key in (("pattern", "regex"), ("category", "keywords")):
    good = ('[%s "NAME"] %s' % (sec, key)) in td_help and \
        sec in secs and key in items(secs[sec])
    report(good, "[%s \"NAME\"] %s in --help and ticketd.conf.5" % (sec, key))

# --- example config names every key --------------------------------------
ex = open("etc/ticketd.conf.example", encoding="utf-8").read()
cur, seen = None, set()
for line in ex.splitlines():
    m = re.match(r'^#?\s*\[([a-z]+)', line)
    if m:
        cur = m.group(1)
        continue
    m = re.match(r'^#?\s*([a-z_]+)\s*=', line)
    if m and cur:
        seen.add((cur, m.group(1)))
missing = ["[%s] %s" % (s, k) for s, k, _, _ in keys if (s, k) not in seen]
report(not missing, "ticketd.conf.example names every key", ", ".join(missing))

# --- ticketctl.1 against ticketctl --help ---------------------------------
if not os.path.exists("man/ticketctl.1"):
    report(False, "man/ticketctl.1 exists", "the page is missing")
else:
    tc1 = open("man/ticketctl.1", encoding="utf-8").read()
    block = tc_help.split("commands:\n", 1)
    cmds = re.findall(r'^  ([a-z]+)\b', block[1], re.M) if len(block) == 2 else []
    report(len(cmds) >= 8, "ticketctl --help lists its commands",
           " ".join(cmds))
    for c in cmds:
        report(re.search(r'^\.It Cm %s\b' % c, tc1, re.M) is not None,
               "ticketctl.1 documents command %s" % c)
    for opt in sorted(set(re.findall(r'(?<![\w-])(--[a-z][a-z-]*)', tc_help))):
        good = re.search(r'Fl %s\b' % re.escape(opt[1:]), tc1) is not None
        report(good, "ticketctl.1 documents option %s" % opt)

# --- ticketd.8: options and log actions -----------------------------------
td8 = open("man/ticketd.8", encoding="utf-8").read()
for opt in sorted(set(re.findall(r'(?<![\w-])(--?[a-z][a-z-]*)', td_help.split("configuration keys:")[0]))):
    good = re.search(r'Fl %s\b' % re.escape(opt[1:]), td8) is not None
    report(good, "ticketd.8 documents option %s" % opt)
actions = set()
for f in ("daemon/ticketd.c", "daemon/ingest.c", "daemon/imap.c"):
    src = open(f, encoding="utf-8").read()
    for m in re.finditer(r'log_(err|warning|notice|info|fatal)(_errno)?\s*\(', src):
        call = src[m.end():src.find(";", m.end())]
        actions.update(re.findall(r'action=([a-z_]+)', call))
    fn = re.search(r'outcome_name\(const[^{]*\{(.*?)\n\}', src, re.S)
    if fn:
        actions.update(re.findall(r'return "([a-z_]+)";', fn.group(1)))
actions.discard("unknown")  # outcome_name's can't-happen fallback
report(len(actions) >= 20, "log actions found in the source",
       " ".join(sorted(actions)))
for a in sorted(actions):
    report(re.search(r'\b%s\b' % a, td8) is not None,
           "ticketd.8 explains action=%s" % a)

# --- the ack template -----------------------------------------------------
src = open("daemon/ack.c", encoding="utf-8").read()
m = re.search(r'static const char ack_builtin\[\] =\s*(.*?);', src, re.S)
builtin = ""
if m:
    for lit in re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)):
        builtin += lit.encode("utf-8").decode("unicode_escape").encode(
            "latin-1").decode("utf-8")
shipped = open("etc/ack.txt", encoding="utf-8").read()
report(m is not None and builtin == shipped,
       "etc/ack.txt is the built-in template of daemon/ack.c")

# --- units name man pages that exist ----------------------------------------
for u in ("ticketd.service", "ticketd-purge.service", "ticketd-purge.timer"):
    text = open("systemd/" + u, encoding="utf-8").read()
    for name, sec in re.findall(r'man:([a-z.]+)\((\d)\)', text):
        report(os.path.exists("man/%s.%s" % (name, sec)),
               "%s: Documentation man:%s(%s) exists" % (u, name, sec))

# --- README ---------------------------------------------------------------
readme = open("README.md", encoding="utf-8").read()
op = readme.split("## Operating ticketd", 1)
report(len(op) == 2, "README.md has an \"Operating ticketd\" section")
if len(op) == 2:
    sect = op[1].split("\n## ", 1)[0]
    for word in ("systemctl reload", "journalctl -u ticketd TICKET_ID=",
                 "connect_failed", "reload_failed", "quarantined",
                 "ack_deferred", "systemd-analyze security"):
        report(word in sect, "README Operating section mentions %s" % word)
EOF
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok }" ;;
	"bad "*) bad "${line#bad }" ;;
	*)
		bad "checker output" "$line"
		;;
	esac
done <"$T/checks"

# The example configuration is valid.
if "$B/ticketd" -c etc/ticketd.conf.example --check-config >"$T/out" 2>&1; then
	ok "etc/ticketd.conf.example passes --check-config"
else
	bad "etc/ticketd.conf.example passes --check-config" "$(head -n 3 "$T/out")"
fi

# mandoc -T lint: no WARNING, ERROR or UNSUPP message (STYLE is allowed)
if ! command -v mandoc >/dev/null 2>&1; then
	bad "mandoc installed (apt-get install mandoc)"
else
	for page in man/ticketd.8 man/ticketd.conf.5 man/ticketctl.1; do
		if [ ! -f "$page" ]; then
			bad "$page exists"
			continue
		fi
		mandoc -T lint -W warning "$page" >"$T/lint" 2>&1
		if grep -E ': (WARNING|ERROR|UNSUPP|BADARG):' "$T/lint" >"$T/lint.bad"; then
			bad "mandoc -T lint $page" "$(head -n 3 "$T/lint.bad")"
		else
			ok "mandoc -T lint $page"
		fi
		if mandoc -T utf8 "$page" >/dev/null 2>&1; then
			ok "mandoc renders $page"
		else
			bad "mandoc renders $page"
		fi
	done
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
