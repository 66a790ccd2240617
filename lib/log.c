/*
 * log.c - writes log lines to the real stderr.  Responders include
 * fcgi_stdio.h, which redirects the stdio names; this file does not, so its
 * lines never reach an HTTP response.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *program = "contact-verify";

void
cv_log_init(const char *name)
{
	program = name;
}

static void
stamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double
cv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void
cv_log_request(const char *request_id, const char *endpoint, int status, double ms)
{
	char ts[32];

	stamp(ts, sizeof(ts));
	fprintf(stderr, "%s %s request_id=%s endpoint=%s status=%d duration_ms=%.2f\n", ts, program,
	        request_id, endpoint, status, ms);
}

static void
vlog(const char *level, const char *fmt, va_list ap)
{
	char ts[32], msg[1024], *p;

	stamp(ts, sizeof(ts));
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One event, one line: libpq's messages end in (and contain) newlines. */
	for (p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	for (p = msg + strlen(msg); p > msg && p[-1] == ' '; p--)
		p[-1] = '\0';
	fprintf(stderr, "%s %s %s: %s\n", ts, program, level, msg);
}

void
cv_log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error", fmt, ap);
	va_end(ap);
}

void
cv_log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("info", fmt, ap);
	va_end(ap);
}
