/*
 * test_error_pages.c - the answers the web servers make themselves, written
 * out in nginx.conf.example (return lines of its /.cv-error/ pages) and
 * apache.conf.example (ErrorDocument lines), are exactly what a responder
 * writes for the same error in the same dialect (lib/response.c, from
 * lib/errors.def's table): the error of a status is the row with that status
 * and code 1000 + status (400: 1400 Bad request.).  So neither file can
 * drift from the table or from the other.  Since each body is compared
 * whole, every code a body holds is the code of a row of lib/errors.def;
 * check_codes says so directly too: each 4- or 5-digit "code" of either file
 * is a row (the Users Orchestrator's bodies carry its code strings, the
 * legacy dialect's the HTTP status).  Also: every status nginx sends to an
 * error page has a page in each dialect it may come from.
 */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "request.h"
#include "response.h"
#include "unit.h"

#define TEXT_MAX 8192

/* libfcgi's, declared in fcgi_stdio.h, which would also turn this file's
 * stdio into libfcgi's. */
int FCGI_Accept(void);

/* Copies the line at *cursor into line (without its newline) and moves
 * *cursor past it.  Returns 0, or -1 at the end. */
static int
next_line(const char **cursor, char *line, size_t len)
{
	const char *end;
	size_t n;

	if (**cursor == '\0')
		return -1;
	end = strchr(*cursor, '\n');
	n = end != NULL ? (size_t)(end - *cursor) : strlen(*cursor);
	snprintf(line, len, "%.*s", (int)n, *cursor);
	*cursor += n + (end != NULL);
	return 0;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf != NULL)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The error whose row has this status and code 1000 + status, or -1. */
static int
error_of_status(int status)
{
	int i;

	for (i = 0; i < CV_ERR__MAX; i++)
		if (cv_err_info((enum cv_err)i)->status == status &&
		    cv_err_info((enum cv_err)i)->code == 1000 + status)
			return i;
	return -1;
}

static enum cv_dialect
dialect_named(const char *name)
{
	if (strcmp(name, "oauth") == 0)
		return CV_DIALECT_OAUTH;
	if (strcmp(name, "uo") == 0)
		return CV_DIALECT_UO;
	if (strcmp(name, "uo-legacy") == 0)
		return CV_DIALECT_UO_LEGACY;
	if (strcmp(name, "page") == 0)
		return CV_DIALECT_HTML;
	return CV_DIALECT_CONTACT;
}

/* The body lib/response.c writes for the error of status in dialect, with
 * request_id standing for the request id, into out (without newlines when
 * flat).  Returns 0, or -1 when the table has no row for the status. */
static int
render(enum cv_dialect dialect, int status, const char *request_id, int flat, char *out,
       size_t outlen)
{
	static char captured[TEXT_MAX];
	struct cv_request req;
	struct cv_reply reply;
	char path[] = "/tmp/test_error_pages.XXXXXX";
	int err = error_of_status(status), fd, saved;
	const char *body;
	size_t n, i, j;
	FILE *f;

	if (err < 0)
		return -1;
	memset(&req, 0, sizeof(req));
	memset(&reply, 0, sizeof(reply));
	req.method = "GET";
	snprintf(req.request_id, sizeof(req.request_id), "%s", request_id);
	reply.dialect = dialect;
	fflush(stdout);
	if ((fd = mkstemp(path)) < 0 || (saved = dup(1)) < 0)
		return -1;
	dup2(fd, 1);
	cv_respond_error(&req, (enum cv_err)err, &reply);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	f = fdopen(fd, "r");
	rewind(f);
	n = fread(captured, 1, sizeof(captured) - 1, f);
	captured[n] = '\0';
	fclose(f);
	unlink(path);
	body = strstr(captured, "\r\n\r\n");
	body = body != NULL ? body + 4 : "";
	for (i = j = 0; body[i] != '\0' && j + 1 < outlen; i++)
		if (!flat || body[i] != '\n')
			out[j++] = body[i];
	out[j] = '\0';
	return 0;
}

/* The nginx string at s (after its opening '), unescaped into out; returns
 * the end of the string or NULL. */
static const char *
nginx_string(const char *s, char *out, size_t outlen)
{
	size_t j = 0;

	for (; *s != '\0' && *s != '\''; s++) {
		if (*s == '\\' && s[1] != '\0') {
			s++;
			if (*s == 'n')
				out[j++] = '\n';
			else
				out[j++] = *s;
		} else {
			out[j++] = *s;
		}
		if (j + 1 >= outlen)
			return NULL;
	}
	out[j] = '\0';
	return *s == '\'' ? s : NULL;
}

static int nginx_pages[5][600]; /* [dialect][status]: a page was found */

static void
check_nginx(const char *conf)
{
	char name[128], dialect[32], want[TEXT_MAX], got[TEXT_MAX], line[2 * TEXT_MAX];
	const char *cursor = conf, *p, *loc;
	int status, pagestatus = 0, found = 0;

	name[0] = '\0';
	while (next_line(&cursor, line, sizeof(line)) == 0) {
		/* A return line belongs to the error page of the last location. */
		if ((loc = strstr(line, "location = /.cv-error/")) != NULL &&
		    sscanf(loc, "location = /.cv-error/%31[a-z-]/%d", dialect, &pagestatus) == 2)
			snprintf(name, sizeof(name), "nginx %s/%d", dialect, pagestatus);
		else if (strstr(line, "location ") != NULL)
			name[0] = '\0';
		if ((p = strstr(line, "return ")) == NULL || name[0] == '\0')
			continue;
		if (sscanf(p, "return %d '", &status) != 1 || (p = strchr(p, '\'')) == NULL)
			continue;
		if (nginx_string(p + 1, got, sizeof(got)) == NULL) {
			CHECK(name, !"an unterminated string");
			continue;
		}
		found++;
		nginx_pages[dialect_named(dialect)][pagestatus] = 1;
		if (render(dialect_named(dialect), status, "$request_id", 0, want, sizeof(want)) !=
		    0) {
			printf("FAIL %s: lib/error.c has no row for status %d with code %d\n", name,
			       status, 1000 + status);
			unit_failed++;
			continue;
		}
		if (strcmp(want, got) != 0)
			printf("FAIL %s: return %d\n  config: %s\n  lib:    %s\n", name, status,
			       got, want);
		CHECK(name, strcmp(want, got) == 0);
	}
	CHECK("nginx has error pages", found >= 20);
}

/* Every error_page of nginx.conf.example leads to a page that exists for
 * each dialect (error_page ... /.cv-error/$cv_dialect/S) or for the API's
 * (/.cv-error/api/S). */
static void
check_nginx_coverage(const char *conf)
{
	static const char *const dialects[] = {"api", "oauth", "uo", "uo-legacy", "page"};
	const char *p;
	char target[64], name[96];
	int status;
	size_t d;

	for (p = conf; (p = strstr(p, "error_page ")) != NULL; p++) {
		const char *t = strstr(p, "/.cv-error/"), *end = strchr(p, ';');

		if (t == NULL || end == NULL || t > end || p[-1] != '\t')
			continue;
		if (sscanf(t, "/.cv-error/%63[^/;]/%d", target, &status) != 2)
			continue;
		for (d = 0; d < sizeof(dialects) / sizeof(dialects[0]); d++) {
			if (strcmp(target, "$cv_dialect") != 0 && strcmp(target, dialects[d]) != 0)
				continue;
			snprintf(name, sizeof(name), "nginx page %s/%d exists", dialects[d],
			         status);
			CHECK(name, nginx_pages[dialect_named(dialects[d])][status]);
		}
	}
}

/* The dialect of an Apache <LocationMatch> by what its pattern matches. */
static const char *
apache_dialect(const char *pattern)
{
	static const struct {
		const char *path, *dialect;
	} probes[] = {
	    {"/oauth/token", "oauth"},         {"/v4/Users/VerificationCode", "uo"},
	    {"/v4/Users/Verification", "uo"},  {"/VerifyEmail/Resend", "uo-legacy"},
	    {"/v4/Users/VerifyEmail", "page"}, {"/login/pa_0123abcd", "page"},
	};
	const char *dialect = NULL;
	regex_t re;
	size_t i;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return NULL;
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		if (regexec(&re, probes[i].path, 0, NULL, 0) == 0) {
			if (dialect != NULL && strcmp(dialect, probes[i].dialect) != 0)
				dialect = "mixed";
			else
				dialect = probes[i].dialect;
		}
	regfree(&re);
	return dialect;
}

static void
check_apache(const char *conf)
{
	char pattern[256], want[TEXT_MAX], got[TEXT_MAX], name[320], buf[2 * TEXT_MAX];
	const char *cursor = conf, *dialect = "api", *p, *line;
	int status, found = 0;
	size_t j;

	while (next_line(&cursor, buf, sizeof(buf)) == 0) {
		line = buf + strspn(buf, " \t");
		if (sscanf(line, "<LocationMatch \"%255[^\"]\">", pattern) == 1) {
			dialect = apache_dialect(pattern);
			snprintf(name, sizeof(name), "apache LocationMatch %s has one dialect",
			         pattern);
			CHECK(name, dialect != NULL && strcmp(dialect, "mixed") != 0);
			if (dialect == NULL)
				dialect = "api";
			continue;
		}
		if (strncmp(line, "</LocationMatch>", 16) == 0) {
			dialect = "api";
			continue;
		}
		if (sscanf(line, "ErrorDocument %d \"", &status) != 1)
			continue;
		snprintf(name, sizeof(name), "apache %s/%d", dialect, status);
		/* The string: \" is a quote; it ends at the line's last quote. */
		p = strchr(line, '"') + 1;
		for (j = 0; *p != '\0' && j + 1 < sizeof(got); p++) {
			if (*p == '\\' && p[1] == '"')
				p++;
			else if (*p == '"')
				break;
			got[j++] = *p;
		}
		got[j] = '\0';
		found++;
		/* Apache's strings hold no newlines: the pages are compared without. */
		if (render(dialect_named(dialect), status, "%{reqenv:UNIQUE_ID}", 1, want,
		           sizeof(want)) != 0) {
			printf("FAIL %s: lib/error.c has no row for status %d with code %d\n", name,
			       status, 1000 + status);
			unit_failed++;
			continue;
		}
		if (strcmp(want, got) != 0)
			printf("FAIL %s\n  config: %s\n  lib:    %s\n", name, got, want);
		CHECK(name, strcmp(want, got) == 0);
	}
	CHECK("apache has error documents", found >= 20);
}

/* Every "code":N (or \"code\":N) of conf with N >= 1000 is a row of
 * lib/errors.def. */
static void
check_codes(const char *conf, const char *file)
{
	const char *p;
	char name[128];
	int code, found = 0;

	for (p = conf; (p = strstr(p, "code")) != NULL; p += 4) {
		const char *q = p + 4;

		if (*q == '\\')
			q++;
		if (*q != '"' || q[1] != ':' || sscanf(q + 2, "%d", &code) != 1 || code < 1000)
			continue;
		found++;
		snprintf(name, sizeof(name), "%s: code %d is a row of lib/errors.def", file, code);
		CHECK(name, cv_err_info(cv_err_from_code(code))->code == code);
	}
	snprintf(name, sizeof(name), "%s has codes", file);
	CHECK(name, found >= 8);
}

int
main(void)
{
	char *nginx = slurp(CV_SRCDIR "/nginx.conf.example");
	char *apache = slurp(CV_SRCDIR "/apache.conf.example");

	/* Before FCGI_Accept, libfcgi's stdout goes nowhere; outside a FastCGI
	 * server it then writes to the process's stdout (render captures it). */
	if (FCGI_Accept() < 0)
		return 1;
	fflush(stdout);
	CHECK("nginx.conf.example read", nginx != NULL);
	CHECK("apache.conf.example read", apache != NULL);
	if (nginx != NULL) {
		check_codes(nginx, "nginx.conf.example");
		check_nginx(nginx);
		check_nginx_coverage(nginx);
	}
	if (apache != NULL) {
		check_codes(apache, "apache.conf.example");
		check_apache(apache);
	}
	free(nginx);
	free(apache);
	return unit_done();
}
