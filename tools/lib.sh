# tools/lib.sh - shell functions shared by tools/run and tools/test: install
# the packages the project needs, build it out of tree, and start and stop one
# local stack (PostgreSQL, the FastCGI responders under spawn-fcgi, the mailer,
# nginx) whose whole state lives in one directory, $CV_STATE.  Everything is
# started as the unprivileged user contact-verify except nginx's master, and
# every background process is remembered by PID so that cv_stack_stop ends
# exactly what was started.  Sourced by bash scripts, never run on its own.

CV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CV_USER=contact-verify
CV_RESPONDERS=(send verify auth-token healthz oauth-token
	uo-verification-code uo-resend uo-verification uo-verify-email
	portal-api portal-page login-ticket well-known contact)

# Debian packages.  tools/run installs what building and running the service
# needs (CV_RUN_PACKAGES); tools/test adds what its suites drive
# (CV_TEST_PACKAGES).  All from Debian's archive: the browser suite uses
# Debian's chromium, chromium-driver and python3-selenium; the README's
# token-verifying examples run on Debian's nodejs with node-jose (panva's
# jose 4.11) and golang-go with golang-github-golang-jwt-jwt-dev (v4).
CV_RUN_PACKAGES=(build-essential autoconf automake pkg-config libfcgi-dev
	libjson-c-dev libpq-dev libssl-dev libcurl4-openssl-dev libsodium-dev postgresql
	nginx-light spawn-fcgi multiwatch openssl procps python3 curl)
CV_TEST_PACKAGES=(python3-psycopg2 python3-aiosmtpd python3-jwt clang
	libclang-rt-dev wrk apache2 libapache2-mod-fcgid mandoc systemd
	chromium chromium-driver python3-selenium valgrind python3-cryptography
	nodejs node-jose golang-go golang-github-golang-jwt-jwt-dev)

# What tools/cluster (and the cluster suite of tools/test) runs: Patroni with
# one etcd (Patroni's etcd3 client talks to etcd's JSON gateway; its base
# needs python3-etcd, a dependency of Debian's patroni), PgBouncer, haproxy,
# and ip netns (iproute2).
CV_CLUSTER_PACKAGES=(patroni etcd-server python3-etcd pgbouncer haproxy iproute2)

# Background processes we started: parallel arrays of names and PIDs, in start
# order.  Each is started under setsid (which execs in place: the PID stays),
# in a session of its own, so that a Ctrl-C at the terminal reaches only the
# script, which then stops them in order; otherwise the terminal's SIGINT
# would hit every process at once (multiwatch would "respawn" responders
# that are on their way out).  Liveness is read from /proc rather than from
# `wait`: not every process is our child (tools/bench's fcgiwrap: spawn-fcgi
# forks and exits).
CV_PID_NAMES=()
CV_PIDS=()
CV_PG_STARTED=0

cv_say() { printf '%s: %s\n' "${CV_PROG:-cv}" "$*" >&2; }
cv_die() { cv_say "error: $*"; exit 1; }

cv_require_root() {
	[ "$(id -u)" -eq 0 ] || cv_die "run me as root (I install packages, create the user $CV_USER and drop to it)"
}

# cv_phase_start TEXT / cv_phase_end: one line when a long step begins and
# one with its duration when it ends, so that a first run says what it does.
cv_phase_start() {
	CV_PHASE=$1
	CV_PHASE_T0=$SECONDS
	cv_say "$CV_PHASE ..."
}
cv_phase_end() {
	cv_say "$CV_PHASE: done in $((SECONDS - CV_PHASE_T0)) s"
}

# cv_install_deps PACKAGE...: install those of the packages that are missing.
# Fast when nothing is missing (one dpkg-query).  Services the packages would
# start on their own (the distribution's PostgreSQL cluster, nginx on port
# 80) are kept from starting with a temporary policy-rc.d.  apt-get's output
# goes to a log; every 15 s a line tells how far it got.
cv_install_deps() {
	local missing=() p status own_policy=0 log apt_pid rc=0 n
	for p in "$@"; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=
		[ "$status" = "install ok installed" ] || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null || cv_die "missing packages ${missing[*]}, and no apt-get to install them (Debian 12 expected)"
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		own_policy=1
	fi
	log=$(mktemp /tmp/cv-apt.XXXXXX.log)
	cv_phase_start "installing ${#missing[@]} Debian packages and what they need (${missing[*]}; apt-get log: $log)"
	{ apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 &
	apt_pid=$!
	while ! wait_for_pid "$apt_pid" 15; do
		n=$(grep -c '^Setting up ' "$log" 2>/dev/null) || n=0
		cv_say "  ... still installing: $n packages set up so far"
	done
	wait "$apt_pid" || rc=$?
	[ $own_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d
	if [ $rc -ne 0 ]; then
		tail -n 30 "$log" >&2
		cv_die "apt-get install failed (whole log: $log)"
	fi
	cv_phase_end
	rm -f "$log"
}

# wait_for_pid PID SECONDS: true once PID has exited, false when it still runs
# after SECONDS (checked every 0.2 s).
wait_for_pid() {
	local deadline=$((SECONDS + $2))
	while cv_pid_alive "$1"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}

cv_ensure_user() {
	id -u "$CV_USER" >/dev/null 2>&1 && return 0
	useradd --system --no-create-home --shell /usr/sbin/nologin "$CV_USER" ||
		cv_die "could not create user $CV_USER"
}

# cv_pg_bindir: the bin directory of the newest installed PostgreSQL server.
cv_pg_bindir() {
	local d best=
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] || continue
		if [ -z "$best" ] || [ "${d//[!0-9]/}" -gt "${best//[!0-9]/}" ]; then best=$d; fi
	done
	[ -n "$best" ] || cv_die "no PostgreSQL server found under /usr/lib/postgresql"
	printf '%s\n' "$best"
}

# cv_build DIR [CONFIGURE-ARGS...]: configure (once per set of arguments) and
# make the project in the out-of-tree build directory DIR.  The source tree
# itself must not be configured: automake refuses VPATH builds then.
cv_build() {
	local dir=$1
	shift
	if [ -e "$CV_ROOT/config.status" ]; then
		cv_die "$CV_ROOT is configured in-tree; run 'make distclean' there first (tools build in build/ and build-asan/)"
	fi
	if [ ! -x "$CV_ROOT/configure" ] ||
		[ -n "$(cd "$CV_ROOT" && find configure.ac Makefile.am -newer configure 2>/dev/null)" ]; then
		cv_say "autoreconf -fi"
		(cd "$CV_ROOT" && autoreconf -fi) >"$CV_ROOT/.autoreconf.out" 2>&1 || {
			cat "$CV_ROOT/.autoreconf.out" >&2
			rm -f "$CV_ROOT/.autoreconf.out"
			return 1
		}
		rm -f "$CV_ROOT/.autoreconf.out"
	fi
	mkdir -p "$dir"
	local args="$*"
	if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.cv-configure-args" 2>/dev/null)" != "$args" ]; then
		cv_say "configure $args (in ${dir#"$CV_ROOT"/})"
		rm -f "$dir/.cv-configure-args"
		(cd "$dir" && "$CV_ROOT/configure" "$@") >"$dir/configure.out" 2>&1 || {
			tail -n 40 "$dir/configure.out" >&2
			return 1
		}
		printf '%s' "$args" >"$dir/.cv-configure-args"
	fi
	cv_say "make (in ${dir#"$CV_ROOT"/})"
	make -C "$dir" -j"$(nproc)" >"$dir/make.out" 2>&1 || {
		tail -n 60 "$dir/make.out" >&2
		return 1
	}
	# make check builds the unit tests when they are check_PROGRAMS.
	make -C "$dir" -j"$(nproc)" check TESTS= >>"$dir/make.out" 2>&1 || {
		tail -n 60 "$dir/make.out" >&2
		return 1
	}
}

# cv_unit_tests DIR: print the unit-test programs of build directory DIR.
cv_unit_tests() {
	local f
	for f in "$1"/tests/unit/test_*; do
		case ${f##*/} in *.*) continue ;; esac
		[ -f "$f" ] && [ -x "$f" ] && printf '%s\n' "$f"
	done
}

# cv_free_port: print a TCP port on 127.0.0.1 that nobody listens on now.
cv_free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cv_as_user CMD...: run CMD as the service user, from the state directory
# (the caller's cwd may be unreadable to that user).
cv_as_user() {
	(cd "$CV_STATE" && exec runuser -u "$CV_USER" -- "$@")
}

# cv_psql [PSQL-ARGS...]: psql as superuser postgres on the stack's socket.
cv_psql() {
	PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 \
		-h "$CV_STATE/run" -p 5432 -U postgres "$@"
}

# cv_state_prepare: create the directories of $CV_STATE with the owners and
# modes the processes need.  The socket directory is reachable only by the
# service user (and root): the cluster trusts every local connection.
cv_state_prepare() {
	local d
	chmod 755 "$CV_STATE"
	mkdir -p "$CV_STATE"/{pg,run,log,mail,bin,nginx}
	chown "$CV_USER:$CV_USER" "$CV_STATE"/{pg,run,log,mail}
	chmod 700 "$CV_STATE/pg"
	chmod 750 "$CV_STATE/run"
	chmod 755 "$CV_STATE"/{log,mail,bin,nginx}
	for d in "$CV_STATE/run/.s.PGSQL.5432" "$CV_STATE/run/send.sock"; do
		[ ${#d} -lt 100 ] || { cv_say "$CV_STATE is too deep: unix socket paths must stay under 108 bytes"; return 1; }
	done
	runuser -u "$CV_USER" -- test -x "$CV_STATE/run" || {
		cv_say "user $CV_USER cannot reach $CV_STATE (a parent directory is not searchable by others)"
		return 1
	}
}

# cv_copy_bins BUILD-DIR: copy the built programs into $CV_STATE/bin, so that
# the service user runs them from a directory it can always reach.
cv_copy_bins() {
	local b=$1 name
	for name in "${CV_RESPONDERS[@]}"; do
		install -m 755 "$b/cgi-bin/$name" "$CV_STATE/bin/$name" || return 1
	done
	install -m 755 "$b/src/cv-mailer" "$CV_STATE/bin/cv-mailer" || return 1
	install -m 755 "$b/src/cvctl" "$CV_STATE/bin/cvctl" || return 1
	# The check of the C-SQL contract (make check builds it; cv_build runs that),
	# for tests/integration/test_statements.py.
	install -m 755 "$b/tests/db/describe_statements" "$CV_STATE/bin/describe_statements" ||
		return 1
	# The login portal's static files, which nginx serves (@STATIC@).
	mkdir -p "$CV_STATE/static" && cp -f "$CV_ROOT"/portal/static/* "$CV_STATE/static/" &&
		chmod -R a+rX "$CV_STATE/static" || return 1
}

# cv_write_config BASE-URL CODE-SECRET [SMTP-URL]: write $CV_STATE/cv.conf,
# readable by root and the service user's group only (the programs refuse a
# world-readable file).  Replaced atomically: running programs may read it.
# The responders connect as cv_app, the mailer as cv_mailer (sql/functions/privileges.sql); cvctl
# takes its own connection string (tools/cvctl: cv_admin), never this file's.
# $CV_TRUSTED_PROXIES, when set, becomes trusted_proxies.
cv_write_config() {
	local base=$1 secret=$2 smtp=${3-} tmp="$CV_STATE/.cv.conf.$$"
	(
		umask 077
		{
			printf '# contact-verify configuration, written by tools/%s.\n' "${CV_PROG:-lib.sh}"
			printf 'database = host=%s port=5432 dbname=contact_verify user=cv_app\n' "$CV_STATE/run"
			printf 'mailer_database = host=%s port=5432 dbname=contact_verify user=cv_mailer\n' "$CV_STATE/run"
			printf 'code_secret = %s\n' "$secret"
			printf 'issuer = %s\n' "$base"
			printf 'public_url = %s\n' "$base"
			printf 'mail_dir = %s\n' "$CV_STATE/mail"
			[ -z "$smtp" ] || printf 'smtp_url = %s\n' "$smtp"
			[ -z "${CV_TRUSTED_PROXIES-}" ] || printf 'trusted_proxies = %s\n' "$CV_TRUSTED_PROXIES"
		} >"$tmp"
	)
	chown "root:$CV_USER" "$tmp" && chmod 0640 "$tmp" && mv -f "$tmp" "$CV_STATE/cv.conf"
}

# cv_config_get KEY: print the value of KEY in $CV_STATE/cv.conf, if any.
cv_config_get() {
	[ -f "$CV_STATE/cv.conf" ] || return 0
	sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$CV_STATE/cv.conf" | tail -n 1
}

# cv_pid_alive PID: true while PID runs (a zombie counts as gone).
cv_pid_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

cv_remember() {
	CV_PID_NAMES+=("$1")
	CV_PIDS+=("$2")
}

# cv_stop_pids PID...: SIGTERM, wait up to 10 s, then SIGKILL what is left.
cv_stop_pids() {
	local pid deadline left
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null
	deadline=$((SECONDS + 10))
	while :; do
		left=()
		for pid in "$@"; do cv_pid_alive "$pid" && left+=("$pid"); done
		[ ${#left[@]} -eq 0 ] && break
		if [ $SECONDS -ge $deadline ]; then
			cv_say "killing ${left[*]} (still running 10 s after SIGTERM)"
			kill -KILL "${left[@]}" 2>/dev/null
			break
		fi
		sleep 0.05
	done
	for pid in "$@"; do wait "$pid" 2>/dev/null; done
	return 0
}

# cv_stop NAME: stop the processes remembered under NAME and forget them.
cv_stop() {
	local i pids=() names=() keep=()
	for i in "${!CV_PIDS[@]}"; do
		if [ "${CV_PID_NAMES[$i]}" = "$1" ]; then
			pids+=("${CV_PIDS[$i]}")
		else
			names+=("${CV_PID_NAMES[$i]}")
			keep+=("${CV_PIDS[$i]}")
		fi
	done
	cv_stop_pids "${pids[@]}"
	CV_PID_NAMES=("${names[@]}")
	CV_PIDS=("${keep[@]}")
}

cv_pg_init() {
	local bin
	bin=$(cv_pg_bindir)
	if [ ! -f "$CV_STATE/pg/PG_VERSION" ]; then
		cv_say "initdb $CV_STATE/pg"
		cv_as_user "$bin/initdb" -D "$CV_STATE/pg" -U postgres --auth=trust -E UTF8 --locale=C \
			>"$CV_STATE/log/initdb.log" 2>&1 || {
			cat "$CV_STATE/log/initdb.log" >&2
			return 1
		}
	fi
	# Our settings live between two markers at the end of postgresql.conf and
	# are rewritten on every start, so a moved state directory still works
	# and `pg_ctl -D .../pg start` alone brings the cluster back as it was.
	local conf="$CV_STATE/pg/postgresql.conf"
	sed -i '/^# BEGIN contact-verify/,/^# END contact-verify/d' "$conf"
	cat >>"$conf" <<EOF
# BEGIN contact-verify (written by tools/lib.sh)
listen_addresses = ''
unix_socket_directories = '$CV_STATE/run'
port = 5432
max_connections = 100
shared_buffers = 128MB
# No logical replication here: without its launcher a shutdown logs no
# "background worker ... exited".
max_logical_replication_workers = 0
# CV_PG_SETTINGS: the caller's own (tools/test's).
${CV_PG_SETTINGS:-}
# END contact-verify
EOF
}

cv_pg_start() {
	local bin
	bin=$(cv_pg_bindir)
	if cv_as_user "$bin/pg_ctl" -D "$CV_STATE/pg" status >/dev/null 2>&1; then
		cv_say "PostgreSQL already runs on $CV_STATE/pg; using it"
	else
		cv_as_user "$bin/pg_ctl" -D "$CV_STATE/pg" -l "$CV_STATE/log/pg.log" -w -t 60 start >/dev/null ||
			return 1
	fi
	CV_PG_STARTED=1
	cv_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'contact_verify'" | grep -q 1 ||
		cv_psql -d postgres -c 'CREATE DATABASE contact_verify OWNER postgres' || return 1
}

cv_pg_stop() {
	local pid
	[ "$CV_PG_STARTED" = 1 ] || return 0
	CV_PG_STARTED=0
	# A postmaster that died (tools/run stops for that) has nothing to stop.
	pid=$(head -n 1 "$CV_STATE/pg/postmaster.pid" 2>/dev/null) || pid=
	[ -n "$pid" ] && cv_pid_alive "$pid" || return 0
	cv_as_user "$(cv_pg_bindir)/pg_ctl" -D "$CV_STATE/pg" -m fast -w -t 60 stop >/dev/null
}

# cv_migrate: bring the stack's database up to date with cvctl migrate, the
# one migrator (sql/README.md), as the superuser: the cvctl of the build
# cv_copy_bins copied (so the sanitized variant migrates with its own).
cv_migrate() {
	"$CV_STATE/bin/cvctl" --database "host=$CV_STATE/run port=5432 dbname=contact_verify user=postgres" \
		migrate --sql-dir "$CV_ROOT/sql"
}

# Processes per responder unless CV_WORKERS says otherwise.  4 measured
# best on 2 cores (tools/bench): fewer leave the cores idle while a commit
# waits for its WAL flush, more cost CPU per request in switching and
# PostgreSQL backends and lengthen p99.
CV_DEFAULT_WORKERS=4

# cv_start_responders: per endpoint, spawn-fcgi opens the socket and drops
# to the service user, then (-n: in the foreground, exec) becomes multiwatch,
# which forks ${CV_WORKERS:-4} responders sharing the socket and restarts any
# that dies (a crash, a kill -9); SIGTERM to multiwatch stops them all.  We
# remember multiwatch's PID; CV_CONFIG (and any sanitizer options) reach the
# responders through the environment, their stderr goes to log/NAME.log.
cv_start_responders() {
	local name pid n=0 deadline pids=()
	for name in "${CV_RESPONDERS[@]}"; do
		rm -f "$CV_STATE/run/$name.sock"
		(
			cd "$CV_STATE" &&
				CV_CONFIG="$CV_STATE/cv.conf" exec setsid spawn-fcgi -n -s "$CV_STATE/run/$name.sock" \
					-M 0660 -U "$CV_USER" -G "$CV_USER" -u "$CV_USER" -g "$CV_USER" \
					-- /usr/bin/multiwatch -f "${CV_WORKERS:-$CV_DEFAULT_WORKERS}" -s TERM \
					-- "$CV_STATE/bin/$name"
		) </dev/null >>"$CV_STATE/log/$name.log" 2>&1 &
		pids+=($!)
		cv_remember "responder-$name" $!
	done
	# Ready when every socket exists (spawn-fcgi binds before it execs).
	deadline=$((SECONDS + 10))
	for name in "${CV_RESPONDERS[@]}"; do
		pid=${pids[$n]}
		n=$((n + 1))
		until [ -S "$CV_STATE/run/$name.sock" ]; do
			cv_pid_alive "$pid" && [ $SECONDS -lt $deadline ] || {
				cv_say "responder $name did not start"
				tail -n 20 "$CV_STATE/log/$name.log" >&2
				return 1
			}
			sleep 0.05
		done
	done
	[ $n -gt 0 ] || { cv_say "no responder started"; return 1; }
}

cv_stop_responders() {
	local name
	for name in "${CV_RESPONDERS[@]}"; do cv_stop "responder-$name"; done
}

# cv_dead_responders: print the responders (name:pid) that have exited.
cv_dead_responders() {
	local i
	for i in "${!CV_PIDS[@]}"; do
		case ${CV_PID_NAMES[$i]} in responder-*) ;; *) continue ;; esac
		cv_pid_alive "${CV_PIDS[$i]}" || printf '%s:%s\n' "${CV_PID_NAMES[$i]#responder-}" "${CV_PIDS[$i]}"
	done
}

# cv_start_mailer [VAR=VALUE...]: start the mailer in the background as the
# service user, with CV_CONFIG and the given extra environment.
cv_start_mailer() {
	(
		cd "$CV_STATE" &&
			exec setsid env CV_CONFIG="$CV_STATE/cv.conf" "$@" \
				setpriv --reuid="$CV_USER" --regid="$CV_USER" --init-groups -- \
				"$CV_STATE/bin/cv-mailer"
	) </dev/null >>"$CV_STATE/log/mailer.log" 2>&1 &
	cv_remember mailer $!
}

# cv_render_nginx PORT: $CV_ROOT/nginx.conf.example -> $CV_STATE/nginx.conf.
cv_render_nginx() {
	case $CV_STATE in *'|'* | *'&'*) cv_say "state path $CV_STATE contains | or &"; return 1 ;; esac
	sed -e "s|@PORT@|$1|g" -e "s|@USER@|$CV_USER|g" -e "s|@RUNDIR@|$CV_STATE/run|g" \
		-e "s|@LOGDIR@|$CV_STATE/log|g" -e "s|@PREFIX@|$CV_STATE/nginx|g" -e "s|@STATIC@|$CV_STATE/static|g" \
		"$CV_ROOT/nginx.conf.example" >"$CV_STATE/nginx.conf"
	local left
	left=$(sed 's/#.*//' "$CV_STATE/nginx.conf" | grep -o '@[A-Z_]*@' | head -n 1)
	[ -z "$left" ] || { cv_say "nginx.conf.example: unknown placeholder $left"; return 1; }
}

cv_start_nginx() {
	local conf="$CV_STATE/nginx.conf" prefix="$CV_STATE/nginx/" err="$CV_STATE/log/nginx-error.log"
	nginx -t -q -c "$conf" -p "$prefix" -e "$err" -g 'daemon off;' || {
		tail -n 20 "$err" >&2
		return 1
	}
	setsid nginx -c "$conf" -p "$prefix" -e "$err" -g 'daemon off;' </dev/null >>"$err" 2>&1 &
	cv_remember nginx $!
}

# cv_wait_http URL [SECONDS]: poll URL until it answers 200, for at most
# SECONDS (default 30), failing early when nginx has exited.
cv_wait_http() {
	local url=$1 deadline=$((SECONDS + ${2:-30})) code i
	while :; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url") || code=000
		[ "$code" = 200 ] && return 0
		for i in "${!CV_PIDS[@]}"; do
			if [ "${CV_PID_NAMES[$i]}" = nginx ] && ! cv_pid_alive "${CV_PIDS[$i]}"; then
				cv_say "nginx exited"
				return 1
			fi
		done
		if [ $SECONDS -ge $deadline ]; then
			cv_say "$url still answers $code after ${2:-30} s"
			return 1
		fi
		sleep 0.1
	done
}

# cv_wait_port PORT [SECONDS]: poll until something accepts on 127.0.0.1:PORT.
cv_wait_port() {
	local deadline=$((SECONDS + ${2:-30}))
	until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.05
	done
}

# cv_stack_stop: stop everything remembered, newest first, then PostgreSQL.
cv_stack_stop() {
	while [ ${#CV_PIDS[@]} -gt 0 ]; do
		cv_stop "${CV_PID_NAMES[${#CV_PID_NAMES[@]} - 1]}"
	done
	cv_pg_stop
}

# cv_log_tails [LINES]: the end of every log of the stack (default 40 lines
# each), for a failure report.
cv_log_tails() {
	local f n=${1:-40}
	for f in "$CV_STATE"/log/*.log; do
		[ -s "$f" ] && [ "${f##*/}" != initdb.log ] || continue
		printf '\n----- %s (last %d lines) -----\n' "${f#"$CV_STATE"/}" "$n"
		tail -n "$n" "$f"
	done
}
