# shellcheck shell=bash
# tools/apache.sh - shell functions of tools/test that run a real Apache
# httpd (Debian's apache2 with mod_fcgid and mod_cgi) in front of the
# responders of the stack of tools/lib.sh.  Each Apache is a complete server
# of its own: a generated httpd.conf in $CV_STATE/apache-VARIANT/ that loads
# the few modules it needs and includes apache.conf.example unchanged, with
# the Define that picks the variant given as -D on the command line.
# Sourced after tools/lib.sh, never run on its own.

CV_APACHE_MODULES=/usr/lib/apache2/modules

# cv_render_apache VARIANT PORT: write $CV_STATE/apache-VARIANT/httpd.conf
# for VARIANT fcgid or cgi, listening on 127.0.0.1:PORT.  Sanitizer options
# in our environment are passed on to the responders.
cv_render_apache() {
	local variant=$1 port=$2 dir="$CV_STATE/apache-$1" m name
	mkdir -p "$dir/htdocs" "$dir/fcgid" || return 1
	chown "$CV_USER:$CV_USER" "$dir/fcgid"
	{
		printf '# Written by tools/apache.sh for the %s variant.\n' "$variant"
		printf 'ServerName 127.0.0.1\nServerTokens Prod\nServerSignature Off\n'
		printf 'Listen 127.0.0.1:%s\n' "$port"
		printf 'PidFile %s/httpd.pid\n' "$dir"
		printf 'Mutex file:%s default\n' "$dir"
		printf 'ErrorLog %s/log/apache-%s.log\nLogLevel warn\n' "$CV_STATE" "$variant"
		printf 'User %s\nGroup %s\n' "$CV_USER" "$CV_USER"
		printf 'DocumentRoot %s/htdocs\n' "$dir"
		for m in mpm_prefork authz_core alias rewrite env headers unique_id; do
			printf 'LoadModule %s_module %s/mod_%s.so\n' "$m" "$CV_APACHE_MODULES" "$m"
		done
		case $variant in
		fcgid)
			printf 'LoadModule fcgid_module %s/mod_fcgid.so\n' "$CV_APACHE_MODULES"
			printf 'FcgidIPCDir %s/fcgid\nFcgidProcessTableFile %s/fcgid/shm\n' "$dir" "$dir"
			;;
		cgi) printf 'LoadModule cgi_module %s/mod_cgi.so\n' "$CV_APACHE_MODULES" ;;
		*) cv_say "unknown Apache variant $variant"; return 1 ;;
		esac
		printf 'StartServers 2\nMinSpareServers 2\nMaxSpareServers 8\nMaxRequestWorkers 32\n'
		printf 'Define CV_BINDIR %s/bin\nDefine CV_CONFIG %s/cv.conf\nDefine CV_STATIC %s/static\n' "$CV_STATE" "$CV_STATE" "$CV_STATE"
		printf 'Define CV_ACCESS_LOG %s/log/apache-%s-access.log\n' "$CV_STATE" "$variant"
		for name in ASAN_OPTIONS UBSAN_OPTIONS; do
			[ -n "${!name-}" ] || continue
			if [ "$variant" = fcgid ]; then
				printf 'FcgidInitialEnv %s "%s"\n' "$name" "${!name}"
			else
				printf 'PassEnv %s\n' "$name"
			fi
		done
		printf '<VirtualHost 127.0.0.1:%s>\n\tInclude %s/apache.conf.example\n</VirtualHost>\n' \
			"$port" "$CV_ROOT"
	} >"$dir/httpd.conf"
}

# cv_start_apache VARIANT PORT: check and start the Apache of
# $CV_STATE/apache-VARIANT in the foreground (-DFOREGROUND), remembered as
# apache-VARIANT, and wait (at most 30 s) until it accepts on PORT.
cv_start_apache() {
	local variant=$1 port=$2 dir="$CV_STATE/apache-$1" define pid deadline=$((SECONDS + 30))
	define=CV_$(printf '%s' "$variant" | tr '[:lower:]' '[:upper:]')
	apache2 -t -f "$dir/httpd.conf" -D "$define" >"$dir/configtest.out" 2>&1 || {
		cat "$dir/configtest.out" >&2
		return 1
	}
	# A process group of its own: when it stops, the prefork MPM signals its
	# whole process group, which would otherwise be ours.
	setsid apache2 -f "$dir/httpd.conf" -D "$define" -DFOREGROUND </dev/null \
		>>"$CV_STATE/log/apache-$variant.log" 2>&1 &
	pid=$!
	cv_remember "apache-$variant" "$pid"
	until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		if ! cv_pid_alive "$pid" || [ $SECONDS -ge $deadline ]; then
			cv_say "Apache ($variant) did not start"
			tail -n 20 "$CV_STATE/log/apache-$variant.log" >&2
			return 1
		fi
		sleep 0.05
	done
}
