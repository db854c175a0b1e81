#!/bin/sh
# SPDX-License-Identifier: MIT
# install-deps.sh - install every Debian 12 package that building, testing,
# fuzzing and the demo of ticketd need.  Idempotent: packages already present
# are not fetched again, and nothing is installed when all are there.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev llvm
libetpan-dev libcurl4-gnutls-dev libsqlite3-dev sqlite3 libpcre2-dev
libsystemd-dev libgnutls28-dev gnutls-bin ca-certificates
dovecot-core dovecot-imapd dovecot-lmtpd python3 python3-aiosmtpd
valgrind mandoc clang-format systemd"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# Debian's packaging would start Dovecot as a system service; the tests run
# their own instance, so keep maintainer scripts from starting daemons.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	cleanup_policy=1
else
	cleanup_policy=0
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
if [ "$cleanup_policy" -eq 1 ]; then
	$SUDO rm -f /usr/sbin/policy-rc.d
fi
