#!/bin/sh
# SPDX-License-Identifier: MIT
# test-servers.sh - start and stop the integration tests' private Dovecot
# and SMTP relay by hand, e.g. to try ticketd against them.  "start" makes a
# fresh directory (or uses DIR), starts both servers and prints their
# settings as shell assignments; "stop DIR" stops them and removes DIR.
# The other commands are those of tests/integration/servers.sh.
cd "$(dirname "$0")/.." || exit 2
. tests/integration/servers.sh

case ${1:-} in
start)
	dir=${2:-}
	if [ -z "$dir" ]; then
		dir=$(mktemp -d "${TMPDIR:-/tmp}/ticketd-servers.XXXXXX") ||
		    exit 1
	fi
	servers_start "$dir" || exit 1
	servers_env "$dir"
	echo "# users: $SERVERS_USERS (password $SERVERS_PASSWORD)" >&2
	echo "# stop with: $0 stop $dir" >&2
	;;
stop)
	[ -n "${2:-}" ] || {
		echo "usage: $0 stop DIR" >&2
		exit 2
	}
	servers_stop "$2" || exit 1
	case $2 in
	*/ticketd-servers.*) rm -rf "$2" ;;
	*) echo "# left $2 in place" >&2 ;;
	esac
	;;
env) servers_env "${2:?DIR}" ;;
restart-imap) servers_restart_imap "${2:?DIR}" "${3:-}" ;;
kick) servers_kick "${2:?DIR}" "${3:?USER}" ;;
switch-cert) servers_switch_cert "${2:?DIR}" "${3:-}" ;;
stop-smtp) servers_stop_smtp "${2:?DIR}" ;;
start-smtp) servers_start_smtp "${2:?DIR}" ;;
mode) servers_set_mode "${2:?DIR}" "${3:-}" ;;
*)
	echo "usage: $0 start [DIR] | stop DIR | env DIR |" \
	    "restart-imap DIR [CERT] | switch-cert DIR [CERT] |" \
	    "kick DIR USER | stop-smtp DIR | start-smtp DIR | mode DIR [MODE]" >&2
	exit 2
	;;
esac
