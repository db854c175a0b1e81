#!/bin/sh
# SPDX-License-Identifier: MIT
# servers.sh - real IMAP (Dovecot) and SMTP (aiosmtpd relay) servers on
# 127.0.0.1 for ticketd's integration tests, each set living in one private
# directory (ports, certificates, config, logs, mail), so runs can overlap.
# Source it (". tests/integration/servers.sh") or run it as
# "sh tests/integration/servers.sh CMD DIR [ARG]".  A missing dependency
# fails loudly.  Functions (POSIX sh, so they set servers__* globals and
# the servers.env variables):
#   servers_start DIR           make DIR's files, start both (~0.3 s)
#   servers_env DIR             SERVERS_DIR IMAP_PORT IMAPS_PORT SMTP_PORT
#                               SMTPS_PORT CA_FILE TLS_HOST LMTP_SOCKET
#                               MAILBOX_PY SERVERS_PYTHON ... for eval
#   servers_stop DIR            stop both; safe to repeat (call from a trap)
#   servers_restart_imap DIR [CERT]  stop + start Dovecot, same ports (~1 s)
#   servers_switch_cert DIR [CERT]   same cert switch by reload (~50 ms)
#   servers_stop_imap DIR       Dovecot down (servers_restart_imap: up)
#   servers_stop_smtp DIR / servers_start_smtp DIR   relay down/up
#   servers_set_mode DIR MODE   SMTP faults: tempfail, permfail (at RCPT),
#                               tempfail-data, permfail-data, normal
#   servers_kick DIR USER       drop USER's IMAP connections
# CERT is localhost (default, from the CA), wrong (CN wrong.example, from
# the CA), untrusted (self-signed localhost) or expired (from the CA).
# Users: $SERVERS_USERS, password $SERVERS_PASSWORD.
#
# Layout of DIR: servers.env, tls/ (ca.pem, NAME.pem, NAME.key),
# dovecot.conf, users (passwd-file), run/ (Dovecot base_dir: master.pid,
# lmtp socket), dovecot.log, mail/USER/Maildir, smtp.pid, smtp.out (relay
# diagnostics), smtp.log (one line per accepted message), smtp/NNNN.eml
# (each accepted message as received), smtp.mode.

SERVERS_PYTHON=${SERVERS_PYTHON:-/usr/bin/python3}
SERVERS_USERS=${SERVERS_USERS:-"support@example.com alice@example.cn bob@example.com"}
SERVERS_PASSWORD=${SERVERS_PASSWORD:-secret}

# Where smtp_relay.py and mailbox.py live: next to the script that sourced
# us (tests/integration/*.sh), else tests/integration under the work dir.
if [ -z "${SERVERS_HOME:-}" ]; then
	for servers__cand in "$(dirname "$0")" tests/integration \
	    "$(dirname "$0")/../tests/integration"; do
		if [ -f "$servers__cand/smtp_relay.py" ]; then
			SERVERS_HOME=$(cd "$servers__cand" && pwd)
			break
		fi
	done
	unset servers__cand
fi

# servers__die MSG - report a harness failure on stderr and return 1
servers__die() {
	echo "servers.sh: $*" >&2
	return 1
}

# servers__check_deps - fail loudly when a required program is missing
servers__check_deps() {
	for servers__p in dovecot doveadm certtool "$SERVERS_PYTHON"; do
		command -v "$servers__p" >/dev/null 2>&1 ||
		    servers__die "missing dependency: $servers__p" || return 1
	done
	"$SERVERS_PYTHON" -c 'import aiosmtpd' 2>/dev/null ||
	    servers__die "missing dependency: python3-aiosmtpd for" \
		"$SERVERS_PYTHON" || return 1
	if [ -z "${SERVERS_HOME:-}" ] || [ ! -f "$SERVERS_HOME/smtp_relay.py" ]
	then
		servers__die "cannot find smtp_relay.py (set SERVERS_HOME)"
	fi
}

# servers__free_ports N - print N distinct free TCP ports on 127.0.0.1
servers__free_ports() {
	"$SERVERS_PYTHON" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# servers__wait_banner PORT PREFIX SECONDS [PID] - wait until PORT greets
# with PREFIX (an empty PREFIX: until it accepts); give up early if PID dies
servers__wait_banner() {
	"$SERVERS_PYTHON" - "$1" "$2" "$3" "${4:-}" <<'EOF'
import os, socket, sys, time
port, prefix, limit = int(sys.argv[1]), sys.argv[2].encode(), float(sys.argv[3])
pid = sys.argv[4]
deadline = time.monotonic() + limit
while True:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            if not prefix:
                sys.exit(0)
            s.settimeout(2)
            if s.recv(512).startswith(prefix):
                sys.exit(0)
    except OSError:
        pass
    if pid:
        try:
            with open("/proc/%s/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] in "ZX":
                    sys.exit(1)
        except OSError:
            sys.exit(1)
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.02)
EOF
}

# servers__pid_alive PID - true while PID is a live (not zombie) process
servers__pid_alive() {
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	servers__st=$(sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null)
	[ -n "$servers__st" ] && [ "$servers__st" != Z ] && [ "$servers__st" != X ]
}

# servers__pid_matches PID WORD - true if PID's command line contains WORD
servers__pid_matches() {
	[ -r "/proc/$1/cmdline" ] &&
	    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# servers__kill_wait PID - TERM PID, wait up to 5 s, then KILL
servers__kill_wait() {
	kill -TERM "$1" 2>/dev/null
	servers__n=0
	while servers__pid_alive "$1"; do
		servers__n=$((servers__n + 1))
		if [ "$servers__n" -eq 250 ]; then
			kill -KILL "$1" 2>/dev/null
		elif [ "$servers__n" -gt 300 ]; then
			return 1
		fi
		sleep 0.02
	done
	# Reap it if it is our own child (no-op otherwise).
	wait "$1" 2>/dev/null
	return 0
}

# servers__cert DIR NAME CN SELFSIGNED EXTRA - one key + cert under DIR/tls
servers__cert() {
	servers__t=$1/tls
	{
		echo "cn = \"$3\""
		echo "dns_name = \"$3\""
		[ "$3" = localhost ] && echo 'ip_address = "127.0.0.1"'
		echo 'tls_www_server'
		echo 'signing_key'
		echo 'encryption_key'
		if [ -n "$5" ]; then
			echo "$5"
		else
			echo 'expiration_days = 30'
		fi
	} >"$servers__t/$2.tmpl"
	certtool --generate-privkey --key-type=ecdsa \
	    --outfile "$servers__t/$2.key" >/dev/null 2>&1 || return 1
	if [ "$4" = yes ]; then
		certtool --generate-self-signed \
		    --load-privkey "$servers__t/$2.key" \
		    --template "$servers__t/$2.tmpl" \
		    --outfile "$servers__t/$2.pem" >/dev/null 2>&1
	else
		certtool --generate-certificate \
		    --load-privkey "$servers__t/$2.key" \
		    --load-ca-certificate "$servers__t/ca.pem" \
		    --load-ca-privkey "$servers__t/ca.key" \
		    --template "$servers__t/$2.tmpl" \
		    --outfile "$servers__t/$2.pem" >/dev/null 2>&1
	fi
}

# servers__make_certs DIR - test CA and the server certificates in DIR/tls
servers__make_certs() {
	mkdir -p "$1/tls" || return 1
	printf '%s\n' 'cn = "ticketd test CA"' 'ca' 'cert_signing_key' \
	    'expiration_days = 30' >"$1/tls/ca.tmpl"
	if certtool --generate-privkey --key-type=ecdsa \
	    --outfile "$1/tls/ca.key" >/dev/null 2>&1 &&
	    certtool --generate-self-signed --load-privkey "$1/tls/ca.key" \
		--template "$1/tls/ca.tmpl" \
		--outfile "$1/tls/ca.pem" >/dev/null 2>&1 &&
	    servers__cert "$1" localhost localhost no "" &&
	    servers__cert "$1" wrong wrong.example no "" &&
	    servers__cert "$1" untrusted localhost yes "" &&
	    servers__cert "$1" expired localhost no \
		"$(printf '%s\n%s' \
		    'activation_date = "2020-01-01 00:00:00"' \
		    'expiration_date = "2020-02-01 00:00:00"')"; then
		return 0
	fi
	servers__die "certtool failed in $1/tls"
}

# servers__write_users DIR - passwd-file with the test users
servers__write_users() {
	: >"$1/users.new" || return 1
	for servers__u in $SERVERS_USERS; do
		printf '%s:{PLAIN}%s::::%s/mail/%s::\n' "$servers__u" \
		    "$SERVERS_PASSWORD" "$1" "$servers__u" >>"$1/users.new"
	done
	mv "$1/users.new" "$1/users"
}

# servers__write_conf DIR CERT - private dovecot.conf serving cert CERT
servers__write_conf() {
	# shellcheck source=/dev/null
	. "$1/servers.env"
	if [ "$(id -u)" -eq 0 ]; then
		# Root: login processes must not be root and Dovecot never
		# gives root mail access, so mail is owned by "nobody".
		servers__internal=root
		servers__group=root
		servers__login=dovenull
		id -u dovenull >/dev/null 2>&1 || servers__login=nobody
		servers__mailu=nobody
		servers__mailg=$(id -gn nobody)
		servers__chroot=login
	else
		servers__internal=$(id -un)
		servers__group=$(id -gn)
		servers__login=$servers__internal
		servers__mailu=$servers__internal
		servers__mailg=$(id -gn)
		# Only root can chroot: run the login and anvil services as is.
		servers__chroot=
	fi
	cat >"$1/dovecot.conf" <<EOF
# Generated by tests/integration/servers.sh for one test run.
instance_name = ticketd-test-$IMAP_PORT
base_dir = $1/run
state_dir = $1/state
log_path = $1/dovecot.log
info_log_path = $1/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
default_internal_user = $servers__internal
default_internal_group = $servers__group
default_login_user = $servers__login
mail_uid = $servers__mailu
mail_gid = $servers__mailg
first_valid_uid = 1
first_valid_gid = 1
ssl = yes
ssl_cert = <$1/tls/$2.pem
ssl_key = <$1/tls/$2.key
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes
passdb {
  driver = passwd-file
  args = $1/users
}
userdb {
  driver = passwd-file
  args = $1/users
}
mail_location = maildir:~/Maildir
mail_plugins =
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 5 secs
protocol imap {
  mail_max_userip_connections = 100
}
service anvil {
  chroot = ${servers__chroot:+empty}
}
service imap-login {
  chroot = $servers__chroot
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
EOF
}

# servers__dovecot_pid DIR - print the Dovecot master pid if it is running
servers__dovecot_pid() {
	[ -r "$1/run/master.pid" ] || return 1
	servers__dp=$(cat "$1/run/master.pid" 2>/dev/null)
	servers__pid_alive "$servers__dp" &&
	    servers__pid_matches "$servers__dp" dovecot || return 1
	echo "$servers__dp"
}

# servers__start_imap DIR CERT - start Dovecot serving CERT; wait for "* OK".
# Returns 2 when Dovecot could not bind its ports, 1 on other failures.
servers__start_imap() {
	servers__write_conf "$1" "$2" || return 1
	echo "$2" >"$1/imap.cert"
	if ! dovecot -c "$1/dovecot.conf" >"$1/dovecot.out" 2>&1 </dev/null
	then
		if grep -q 'in use' "$1/dovecot.out"; then
			return 2
		fi
		servers__die "dovecot failed to start:" \
		    "$(tail -n 5 "$1/dovecot.out")"
		return 1
	fi
	servers__wait_banner "$IMAP_PORT" '* OK' 10 &&
	    servers__wait_banner "$IMAPS_PORT" '' 10 ||
	    servers__die "IMAP on $IMAP_PORT did not answer:" \
		"$(tail -n 5 "$1/dovecot.log")" || return 1
	servers__n=0
	while [ ! -S "$1/run/lmtp" ]; do
		servers__n=$((servers__n + 1))
		[ "$servers__n" -lt 250 ] ||
		    servers__die "no LMTP socket $1/run/lmtp" || return 1
		sleep 0.02
	done
}

# servers_stop_imap DIR - stop Dovecot (safe if not running)
servers_stop_imap() {
	servers__p=$(servers__dovecot_pid "$1") || return 0
	servers__kill_wait "$servers__p" ||
	    servers__die "dovecot $servers__p would not stop"
}

# servers_restart_imap DIR [CERT] - restart Dovecot on the same ports with
# certificate CERT: localhost (default), wrong, untrusted or expired
servers_restart_imap() {
	servers__c=${2:-localhost}
	[ -f "$1/tls/$servers__c.pem" ] ||
	    servers__die "no certificate named $servers__c" || return 1
	servers_stop_imap "$1" || return 1
	# shellcheck source=/dev/null
	. "$1/servers.env"
	servers__start_imap "$1" "$servers__c"
}

# servers_switch_cert DIR [CERT] - like servers_restart_imap but without a
# restart (doveadm reload, about 50 ms instead of 1 s): sessions already
# logged in stay up; returns once IMAPS presents CERT
servers_switch_cert() {
	servers__c=${2:-localhost}
	[ -f "$1/tls/$servers__c.pem" ] ||
	    servers__die "no certificate named $servers__c" || return 1
	servers__write_conf "$1" "$servers__c" || return 1
	echo "$servers__c" >"$1/imap.cert"
	doveadm -c "$1/dovecot.conf" reload ||
	    servers__die "doveadm reload failed" || return 1
	"$SERVERS_PYTHON" - "$IMAPS_PORT" "$1/tls/$servers__c.pem" <<'EOF' ||
import socket, ssl, sys, time
port, pem = int(sys.argv[1]), sys.argv[2]
with open(pem) as f:
    want = ssl.PEM_cert_to_DER_cert(f.read())
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port),
                                                      timeout=2)) as s:
            if s.getpeercert(binary_form=True) == want:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.02)
sys.exit(1)
EOF
	    servers__die "IMAPS did not switch to certificate $servers__c"
}

# servers_start_smtp DIR - start the SMTP relay on DIR's SMTP port(s)
servers_start_smtp() {
	# shellcheck source=/dev/null
	. "$1/servers.env"
	if servers__p=$(cat "$1/smtp.pid" 2>/dev/null) &&
	    servers__pid_alive "$servers__p" &&
	    servers__pid_matches "$servers__p" smtp_relay.py; then
		return 0
	fi
	"$SERVERS_PYTHON" "$SERVERS_HOME/smtp_relay.py" --dir "$1" \
	    --port "$SMTP_PORT" --smtps-port "$SMTPS_PORT" \
	    --lmtp "$LMTP_SOCKET" --cert "$1/tls/localhost.pem" \
	    --key "$1/tls/localhost.key" --users "$1/users" \
	    </dev/null >>"$1/smtp.out" 2>&1 &
	echo $! >"$1/smtp.pid"
	servers__wait_banner "$SMTP_PORT" 220 10 "$(cat "$1/smtp.pid")" ||
	    servers__die "SMTP relay on $SMTP_PORT did not answer:" \
		"$(tail -n 3 "$1/smtp.out")"
}

# servers_stop_smtp DIR - stop the SMTP relay (safe if not running)
servers_stop_smtp() {
	servers__p=$(cat "$1/smtp.pid" 2>/dev/null) || return 0
	if servers__pid_alive "$servers__p" &&
	    servers__pid_matches "$servers__p" smtp_relay.py; then
		servers__kill_wait "$servers__p" ||
		    servers__die "SMTP relay $servers__p would not stop" ||
		    return 1
	fi
	rm -f "$1/smtp.pid"
}

# servers__open_path DIR - as root, let "nobody" (who owns the mail) reach
# DIR: add go+x to the parents that lack it when they are ours and inside
# the temp dir (e.g. DIR=$(mktemp -d)/srv); fail on any other such parent.
# Group x too: Dovecot's mail processes keep root's group.
servers__open_path() {
	servers__tmp=$(cd "${TMPDIR:-/tmp}" && pwd)
	servers__p=$(dirname "$1")
	while [ "$servers__p" != / ]; do
		servers__a=$(stat -c %A "$servers__p") || return 1
		case $servers__a in
		??????[xs]??[xt]) ;;
		*)
			case $servers__p/ in
			"$servers__tmp"/?*/ | /tmp/?*/)
				[ -O "$servers__p" ] && chmod go+x "$servers__p" ||
				    servers__die "cannot open $servers__p" ||
				    return 1
				;;
			*)
				servers__die "user nobody cannot reach $1:" \
				    "$servers__p is $servers__a" || return 1
				;;
			esac
			;;
		esac
		servers__p=$(dirname "$servers__p")
	done
}

# servers_start DIR - create everything under DIR and start both servers
servers_start() {
	[ -n "${1:-}" ] || servers__die "usage: servers_start DIR" || return 1
	servers__check_deps || return 1
	mkdir -p "$1" || return 1
	servers__d=$(cd "$1" && pwd) || return 1
	# Unix socket paths are limited to 108 bytes.
	[ "${#servers__d}" -le 70 ] ||
	    servers__die "path too long for Dovecot's sockets: $servers__d" ||
	    return 1
	# Mail is owned by an unprivileged user when we are root: it must be
	# able to reach DIR/mail (but not list DIR).
	chmod 711 "$servers__d" || return 1
	mkdir -p "$servers__d/mail" "$servers__d/smtp" || return 1
	if [ "$(id -u)" -eq 0 ]; then
		servers__open_path "$servers__d" || return 1
		chown nobody:"$(id -gn nobody)" "$servers__d/mail" || return 1
	fi
	servers__make_certs "$servers__d" || return 1
	servers__write_users "$servers__d" || return 1
	# A port found free can be taken before Dovecot binds it: retry.
	servers__try=0
	while :; do
		servers__try=$((servers__try + 1))
		servers__ports=$(servers__free_ports 4)
		# shellcheck disable=SC2086 # four numbers
		set -- "$servers__d" $servers__ports
		[ $# -eq 5 ] || servers__die "cannot find free ports" || return 1
		cat >"$1/servers.env" <<EOF
SERVERS_DIR='$1'
SERVERS_HOME='$SERVERS_HOME'
SERVERS_PYTHON='$SERVERS_PYTHON'
MAILBOX_PY='$SERVERS_HOME/mailbox.py'
IMAP_HOST='127.0.0.1'
IMAP_PORT='$2'
IMAPS_PORT='$3'
SMTP_PORT='$4'
SMTPS_PORT='$5'
CA_FILE='$1/tls/ca.pem'
TLS_HOST='localhost'
LMTP_SOCKET='$1/run/lmtp'
SERVERS_PASSWORD='$SERVERS_PASSWORD'
EOF
		servers__start_imap "$1" localhost
		servers__rc=$?
		[ "$servers__rc" -eq 0 ] && break
		servers_stop_imap "$1"
		if [ "$servers__rc" -ne 2 ] || [ "$servers__try" -ge 5 ]; then
			[ "$servers__rc" -ne 2 ] ||
			    servers__die "ports stay in use: $(cat "$1/dovecot.out")"
			return 1
		fi
	done
	servers__try=0
	while :; do
		servers__try=$((servers__try + 1))
		servers_start_smtp "$1" && break
		servers_stop_smtp "$1"
		if ! grep -qi 'in use' "$1/smtp.out" 2>/dev/null ||
		    [ "$servers__try" -ge 5 ]; then
			servers_stop_imap "$1"
			return 1
		fi
		# The SMTP ports were taken meanwhile: pick new ones.
		: >"$1/smtp.out"
		servers__ports=$(servers__free_ports 2)
		# shellcheck disable=SC2086 # two numbers
		set -- "$1" $servers__ports
		sed -i "s/^SMTP_PORT=.*/SMTP_PORT='$2'/; \
		    s/^SMTPS_PORT=.*/SMTPS_PORT='$3'/" "$1/servers.env"
		set -- "$1"
	done
}

# servers_stop DIR - stop everything servers_start started; safe to repeat
servers_stop() {
	[ -n "${1:-}" ] && [ -d "$1" ] || return 0
	servers__rc=0
	servers_stop_smtp "$1" || servers__rc=1
	servers_stop_imap "$1" || servers__rc=1
	return $servers__rc
}

# servers_kick DIR USER - disconnect USER's IMAP sessions (none: fine)
servers_kick() {
	doveadm -c "$1/dovecot.conf" kick "$2" >/dev/null 2>&1
	servers__rc=$?
	# 68 (EX_NOUSER): USER had no session.
	[ "$servers__rc" -eq 0 ] || [ "$servers__rc" -eq 68 ]
}

# servers_env DIR - print shell assignments describing DIR's servers
servers_env() {
	cat "$1/servers.env"
}

# servers_set_mode DIR MODE - SMTP fault mode (tempfail, permfail,
# tempfail-data, permfail-data; "" or normal clears it)
servers_set_mode() {
	case ${2:-} in
	"" | normal) rm -f "$1/smtp.mode" ;;
	*) echo "$2" >"$1/smtp.mode.new" && mv "$1/smtp.mode.new" "$1/smtp.mode" ;;
	esac
}

# Command-line use: sh servers.sh CMD DIR [ARG]
if [ "$(basename "$0")" = servers.sh ] && [ $# -ge 1 ]; then
	servers__cmd=$1
	shift
	case $servers__cmd in
	start) servers_start "$@" && servers_env "$1" ;;
	stop) servers_stop "$@" ;;
	env) servers_env "$@" ;;
	restart-imap) servers_restart_imap "$@" ;;
	switch-cert) servers_switch_cert "$@" ;;
	kick) servers_kick "$@" ;;
	stop-smtp) servers_stop_smtp "$@" ;;
	start-smtp) servers_start_smtp "$@" ;;
	mode) servers_set_mode "$@" ;;
	*)
		echo "usage: sh servers.sh start|stop|env|restart-imap|" \
		    "switch-cert|kick|stop-smtp|start-smtp|mode DIR [ARG]" >&2
		exit 2
		;;
	esac
fi
