#!/bin/sh
# SPDX-License-Identifier: MIT
# test_install.sh - `make install` into a temporary DESTDIR, for PREFIX=/usr
# and for PREFIX=/usr/local with SYSCONFDIR=/usr/local/etc: the exact tree,
# modes, rewritten paths in the units, working binaries; the installed
# units pass `systemd-analyze verify` (ExecStart pointed at the DESTDIR
# binaries, MANPATH at the DESTDIR pages) and `systemd-analyze security
# --offline=true` rates ticketd.service 2.0 or lower with the figure that
# README.md records; as root, the sysusers.d and tmpfiles.d entries applied
# to a scratch root give the user and directories the unit expects; an
# edited configuration survives install and uninstall; `make uninstall`
# leaves no file behind.  Ends with "N passed, N failed".
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
pass=0
fail=0
T=$(mktemp -d "${TMPDIR:-/tmp}/ticketd-install.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

# shellcheck source=tests/lib.sh
. tests/lib.sh
check() {
	name=$1
	shift
	if "$@" >"$T/out" 2>&1; then
		ok "$name"
	else
		bad "$name" "$(head -n 5 "$T/out")"
	fi
}

for p in "$B/ticketd" "$B/ticketctl"; do
	if [ ! -x "$p" ]; then
		echo "FAIL - $p not built"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

# inst DESTDIR TARGET [VAR=VALUE...] - make install/uninstall, never
# rebuilding the programs (others may be editing sources meanwhile)
inst() {
	d=$1
	tgt=$2
	shift 2
	make --no-print-directory -s -o "$B/ticketd" -o "$B/ticketctl" \
	    B="$B" DESTDIR="$d" "$@" "$tgt"
}

# tree DIR - every file and symlink under DIR with its mode, sorted
tree() {
	(cd "$1" && find . \( -type f -o -type l \) -printf '%m %p\n' | sort)
}

D1=$T/d1
check "make install PREFIX=/usr" inst "$D1" install PREFIX=/usr
cat >"$T/want1" <<'EOF'
644 ./etc/ticketd/ack.txt
644 ./etc/ticketd/ticketd.conf
644 ./usr/lib/systemd/system/ticketd-purge.service
644 ./usr/lib/systemd/system/ticketd-purge.timer
644 ./usr/lib/systemd/system/ticketd.service
644 ./usr/lib/sysusers.d/ticketd.conf
644 ./usr/lib/tmpfiles.d/ticketd.conf
644 ./usr/share/doc/ticketd/ack.txt
644 ./usr/share/doc/ticketd/ticketd-override.conf.example
644 ./usr/share/doc/ticketd/ticketd.conf.example
644 ./usr/share/man/man1/ticketctl.1
644 ./usr/share/man/man5/ticketd.conf.5
644 ./usr/share/man/man8/ticketd.8
755 ./usr/bin/ticketctl
755 ./usr/bin/ticketd
EOF
tree "$D1" >"$T/got1"
if diff "$T/want1" "$T/got1" >"$T/diff"; then
	ok "PREFIX=/usr: the installed tree and modes"
else
	bad "PREFIX=/usr: the installed tree and modes" "$(cat "$T/diff")"
fi
check "config directory is 0755" \
    test "$(stat -c %a "$D1/etc/ticketd")" = 755
check "installed ticketd runs" sh -c \
    "'$D1/usr/bin/ticketd' --version | grep -q '^ticketd '"
check "installed ticketctl runs" sh -c \
    "'$D1/usr/bin/ticketctl' --version | grep -q '^ticketctl '"
check "installed ticketd.conf passes --check-config" \
    "$D1/usr/bin/ticketd" -c "$D1/etc/ticketd/ticketd.conf" --check-config
check "installed ack.txt is etc/ack.txt" \
    cmp etc/ack.txt "$D1/etc/ticketd/ack.txt"
U=$D1/usr/lib/systemd/system
check "unit: ExecStart=/usr/bin/ticketd -c /etc/ticketd/ticketd.conf" \
    grep -qx 'ExecStart=/usr/bin/ticketd -c /etc/ticketd/ticketd.conf' \
    "$U/ticketd.service"
check "purge unit runs ticketctl purge --older-than 180" grep -qx \
    'ExecStart=/usr/bin/ticketctl -c /etc/ticketd/ticketd.conf purge --older-than 180' \
    "$U/ticketd-purge.service"
check "ticketctl accepts the purge unit's flags" sh -c \
    "'$D1/usr/bin/ticketctl' --help | grep -q 'purge --older-than DAYS'"

# systemd-analyze verify on the installed units, pointed at DESTDIR
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$T/verify"
	for u in ticketd.service ticketd-purge.service ticketd-purge.timer; do
		sed "s|/usr/bin/|$D1/usr/bin/|g" "$U/$u" >"$T/verify/$u"
	done
	check "systemd-analyze verify (units, binaries, man pages)" sh -c \
	    "cd '$T/verify' && MANPATH='$D1/usr/share/man' systemd-analyze verify \
		ticketd.service ticketd-purge.service ticketd-purge.timer"
	(cd "$T" && systemd-analyze security --offline=true \
	    "$U/ticketd.service") >"$T/sec" 2>&1
	fig=$(sed -n 's/.*Overall exposure level for ticketd.service: \([0-9.]*\).*/\1/p' "$T/sec")
	if [ -n "$fig" ] && awk -v f="$fig" 'BEGIN { exit !(f <= 2.0) }'; then
		ok "systemd-analyze security: ticketd.service $fig <= 2.0"
	else
		bad "systemd-analyze security: ticketd.service <= 2.0" \
		    "$(tail -n 3 "$T/sec")"
	fi
	check "README.md records the figure $fig" grep -qF \
	    "Overall exposure level for ticketd.service: $fig" README.md
	(cd "$T" && systemd-analyze security --offline=true \
	    "$U/ticketd-purge.service") >"$T/sec" 2>&1
	fig=$(sed -n 's/.*Overall exposure level for ticketd-purge.service: \([0-9.]*\).*/\1/p' "$T/sec")
	if [ -n "$fig" ] && awk -v f="$fig" 'BEGIN { exit !(f <= 2.0) }'; then
		ok "systemd-analyze security: ticketd-purge.service $fig <= 2.0"
	else
		bad "systemd-analyze security: ticketd-purge.service <= 2.0" \
		    "$(tail -n 3 "$T/sec")"
	fi
	check "the unit keeps fork and setrlimit (prlimit64) allowed" sh -c \
	    "! grep -Eq '^SystemCallFilter=~.*(@process|prlimit|@default)' '$U/ticketd.service'"
else
	bad "systemd-analyze installed (systemd package)"
fi

# sysusers.d + tmpfiles.d applied to a scratch root (root only)
if [ "$(id -u)" -eq 0 ] && command -v systemd-sysusers >/dev/null 2>&1 &&
    command -v systemd-tmpfiles >/dev/null 2>&1; then
	R=$T/root
	mkdir -p "$R/etc" "$R/var/lib"
	check "systemd-sysusers applies ticketd.conf" systemd-sysusers \
	    --root="$R" "$D1/usr/lib/sysusers.d/ticketd.conf"
	check "sysusers: system user ticketd, home /var/lib/ticketd, no login" \
	    sh -c "grep -E '^ticketd:x:[0-9]+:[0-9]+:[^:]*:/var/lib/ticketd:/(usr/)?s?bin/nologin$' '$R/etc/passwd'"
	uid=$(awk -F: '$1 == "ticketd" { print $3 }' "$R/etc/passwd")
	check "sysusers: a system uid ($uid)" test "${uid:-99999}" -lt 1000
	check "sysusers: group ticketd" grep -q '^ticketd:' "$R/etc/group"
	mkdir -p "$R/etc/ticketd"
	cp "$D1/etc/ticketd/ticketd.conf" "$R/etc/ticketd/ticketd.conf"
	check "systemd-tmpfiles applies ticketd.conf" systemd-tmpfiles \
	    --root="$R" --create "$D1/usr/lib/tmpfiles.d/ticketd.conf"
	check "tmpfiles: /etc/ticketd 0755 root:root" test \
	    "$(stat -c '%a %u %g' "$R/etc/ticketd")" = "755 0 0"
	check "tmpfiles: ticketd.conf 0640 root:ticketd" test \
	    "$(stat -c '%a %u %g' "$R/etc/ticketd/ticketd.conf")" = "640 0 $uid"
	check "tmpfiles: /var/lib/ticketd 0700 ticketd:ticketd" test \
	    "$(stat -c '%a %u %g' "$R/var/lib/ticketd")" = "700 $uid $uid"
	check "tmpfiles: imap.pass and smtp.pass 0600 root" test \
	    "$(stat -c '%a %u' "$R/etc/ticketd/imap.pass" "$R/etc/ticketd/smtp.pass" | sort -u)" = "600 0"
else
	echo "note: sysusers/tmpfiles not applied (needs root and systemd)"
fi

# an edited configuration survives install and uninstall
printf '# edited\n' >>"$D1/etc/ticketd/ticketd.conf"
cp "$D1/etc/ticketd/ticketd.conf" "$T/edited"
check "reinstall" inst "$D1" install PREFIX=/usr
check "reinstall keeps the edited ticketd.conf" \
    cmp "$T/edited" "$D1/etc/ticketd/ticketd.conf"
check "make uninstall PREFIX=/usr" inst "$D1" uninstall PREFIX=/usr
tree "$D1" >"$T/left1"
if [ "$(cat "$T/left1")" = "644 ./etc/ticketd/ticketd.conf" ]; then
	ok "uninstall leaves only the edited ticketd.conf"
else
	bad "uninstall leaves only the edited ticketd.conf" "$(cat "$T/left1")"
fi
rm -f "$D1/etc/ticketd/ticketd.conf"
check "install again, unchanged" inst "$D1" install PREFIX=/usr
check "uninstall again" inst "$D1" uninstall PREFIX=/usr
left=$(tree "$D1")
if [ -z "$left" ]; then
	ok "uninstall leaves no file"
else
	bad "uninstall leaves no file" "$left"
fi
check "uninstall removes the doc and config directories" sh -c \
    "[ ! -e '$D1/usr/share/doc/ticketd' ] && [ ! -e '$D1/etc/ticketd' ]"

# PREFIX=/usr/local, SYSCONFDIR=/usr/local/etc: paths follow
D2=$T/d2
check "make install PREFIX=/usr/local SYSCONFDIR=/usr/local/etc" \
    inst "$D2" install PREFIX=/usr/local SYSCONFDIR=/usr/local/etc
U2=$D2/usr/local/lib/systemd/system
check "units under PREFIX/lib/systemd/system" test -f "$U2/ticketd.service"
check "binaries under PREFIX/bin" test -x "$D2/usr/local/bin/ticketd"
check "man pages under PREFIX/share/man" \
    test -f "$D2/usr/local/share/man/man8/ticketd.8"
check "config under SYSCONFDIR/ticketd" \
    test -f "$D2/usr/local/etc/ticketd/ticketd.conf"
check "unit ExecStart follows PREFIX and SYSCONFDIR" grep -qx \
    'ExecStart=/usr/local/bin/ticketd -c /usr/local/etc/ticketd/ticketd.conf' \
    "$U2/ticketd.service"
check "unit credentials follow SYSCONFDIR" grep -qx \
    'LoadCredential=imap-password:/usr/local/etc/ticketd/imap.pass' \
    "$U2/ticketd.service"
check "tmpfiles follow SYSCONFDIR" grep -q '^d /usr/local/etc/ticketd ' \
    "$D2/usr/local/lib/tmpfiles.d/ticketd.conf"
check "no /usr/bin or /etc/ticketd left in the units" sh -c \
    "! grep -E '/usr/bin/|[^l]/etc/ticketd' '$U2'/*"
check "make uninstall PREFIX=/usr/local" \
    inst "$D2" uninstall PREFIX=/usr/local SYSCONFDIR=/usr/local/etc
left=$(tree "$D2")
if [ -z "$left" ]; then
	ok "PREFIX=/usr/local: uninstall leaves no file"
else
	bad "PREFIX=/usr/local: uninstall leaves no file" "$left"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
