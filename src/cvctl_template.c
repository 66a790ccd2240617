/*
 * cvctl_template.c - cvctl template set|show|list|delete: a user app's own
 * email templates (cv.templates, README "Configuration, Email templates"), one per purpose and
 * locale, with the app's default under the empty locale.  A template is
 * checked with the mailer's own rules (templates.c) before it is stored:
 * UTF-8, sizes, one-line subject, known placeholders only.  show answers
 * which template a contact of a locale gets, resolving the fallback the
 * way the mailer does, down to the built-in template.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvctl.h"
#include "templates.h"

#define LOCALE_MAX  35
#define NO_USER_APP "the account has no user app (create it with cvctl user-app add)"

/* "login" or "verify_email". */
static int
check_purpose(struct cvctl *cv, const char *purpose)
{
	if (purpose != NULL && strcmp(purpose, "login") != 0 &&
	    strcmp(purpose, "verify_email") != 0)
		return cvctl_usage(cv, "--purpose must be login or verify_email, not \"%.40s\"",
		                   purpose);
	return 0;
}

/* Checks --locale (NULL or "": the app's default) and writes it in lower
 * case to out, "" for the default. */
static int
locale_key(struct cvctl *cv, const char *locale, char out[LOCALE_MAX + 1])
{
	size_t i;
	int rc;

	out[0] = '\0';
	if (locale == NULL || *locale == '\0')
		return 0;
	if ((rc = cvctl_check_locale(cv, "--locale", locale)) != 0)
		return rc;
	for (i = 0; locale[i] != '\0' && i < LOCALE_MAX; i++)
		out[i] = (char)tolower((unsigned char)locale[i]);
	out[i] = '\0';
	return 0;
}

/* Makes every CRLF of s an LF, in place.  Cannot fail. */
static void
crlf_to_lf(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\r' && s[1] == '\n')
			continue;
		*w++ = *s;
	}
	*w = '\0';
}

/* Reads all of path ("-": stdin) into a malloc'ed string in *out, without
 * a UTF-8 byte order mark.  A file that cannot fit CV_TEMPLATE_BODY_MAX
 * even with every line end a CRLF is refused here, the rest by the check. */
static int
read_file(struct cvctl *cv, const char *option, const char *path, char **out)
{
	const size_t cap = 2 * CV_TEMPLATE_BODY_MAX + 3 + 1;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf;
	size_t n;
	int failed;

	*out = NULL;
	if (f == NULL)
		return cvctl_fail(cv, "%s: %s: %s", option, path, strerror(errno));
	if ((buf = malloc(cap)) == NULL) {
		if (f != stdin)
			fclose(f);
		return cvctl_fail(cv, "out of memory");
	}
	n = fread(buf, 1, cap - 1, f);
	failed = ferror(f);
	if (f != stdin)
		fclose(f);
	if (failed) {
		free(buf);
		return cvctl_fail(cv, "%s: %s: read error", option, path);
	}
	buf[n] = '\0';
	if (n == cap - 1) {
		free(buf);
		return cvctl_usage(cv, "%s: %s is longer than %d bytes", option, path,
		                   CV_TEMPLATE_BODY_MAX);
	}
	if (memchr(buf, '\0', n) != NULL) {
		free(buf);
		return cvctl_usage(cv, "%s: %s contains a NUL byte (not a text file)", option,
		                   path);
	}
	if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		memmove(buf, buf + 3, n - 2);
	*out = buf;
	return 0;
}

/*
 * The body given by --NAME-file or --NAME (exactly one), checked as part,
 * in a malloc'ed string in *out with CRLF read as LF.
 */
static int
body(struct cvctl *cv, const char *name, const char *file, const char *text,
     enum cv_template_part part, char **out)
{
	char file_option[32], text_option[32], why[256];
	int rc;

	*out = NULL;
	snprintf(file_option, sizeof(file_option), "--%s-file", name);
	snprintf(text_option, sizeof(text_option), "--%s", name);
	if ((file == NULL) == (text == NULL))
		return cvctl_usage(cv, "give either %s or %s", file_option, text_option);
	if (file != NULL) {
		if ((rc = read_file(cv, file_option, file, out)) != 0)
			return rc;
	} else if ((*out = strdup(text)) == NULL) {
		return cvctl_fail(cv, "out of memory");
	}
	crlf_to_lf(*out);
	if (cv_template_check(*out, part, why, sizeof(why)) != 0) {
		free(*out);
		*out = NULL;
		return cvctl_usage(cv, "%s: %s", file != NULL ? file_option : text_option, why);
	}
	return 0;
}

int
cvctl_template_set(struct cvctl *cv, int argc, char **argv)
{
	const char *account = NULL, *purpose = NULL, *locale = NULL, *subject = NULL;
	const char *text_file = NULL, *text = NULL, *html_file = NULL, *html = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, OPT_REQUIRED},
		{"--purpose", &purpose, OPT_REQUIRED},
		{"--locale", &locale, OPT_EMPTY_OK},
		{"--subject", &subject, OPT_REQUIRED},
		{"--text-file", &text_file, 0},
		{"--text", &text, 0},
		{"--html-file", &html_file, 0},
		{"--html", &html, 0},
		{NULL, NULL, 0},
	};
	char id[32], key[LOCALE_MAX + 1], why[256];
	char *text_body = NULL, *html_body = NULL;
	const char *params[ST_TEMPLATE_SET_PARAM__MAX];
	PGresult *res;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 ||
	    (rc = check_purpose(cv, purpose)) != 0 || (rc = locale_key(cv, locale, key)) != 0)
		return rc;
	if (cv_template_check(subject, CV_PART_SUBJECT, why, sizeof(why)) != 0)
		return cvctl_usage(cv, "--subject: %s", why);
	if (text_file != NULL && html_file != NULL && strcmp(text_file, "-") == 0 &&
	    strcmp(html_file, "-") == 0)
		return cvctl_usage(cv, "only one of --text-file and --html-file can be - (stdin)");
	if ((rc = body(cv, "text", text_file, text, CV_PART_TEXT, &text_body)) != 0 ||
	    (rc = body(cv, "html", html_file, html, CV_PART_HTML, &html_body)) != 0 ||
	    (rc = cvctl_begin(cv)) != 0 ||
	    (rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
		goto out;
	params[ST_TEMPLATE_SET_PARAM_ACCOUNT_ID] = id;
	params[ST_TEMPLATE_SET_PARAM_PURPOSE] = purpose;
	params[ST_TEMPLATE_SET_PARAM_LOCALE] = key;
	params[ST_TEMPLATE_SET_PARAM_SUBJECT] = subject;
	params[ST_TEMPLATE_SET_PARAM_TEXT_BODY] = text_body;
	params[ST_TEMPLATE_SET_PARAM_HTML_BODY] = html_body;
	if ((res = cvctl_exec(cv, ST_TEMPLATE_SET, params)) == NULL) {
		rc = CVCTL_FAIL;
		goto out;
	}
	if (PQntuples(res) != 1)
		rc = cvctl_fail(cv, NO_USER_APP);
	else
		fprintf(cv->out, "template=%s\n", PQgetvalue(res, 0, ST_TEMPLATE_SET_COL_OUTCOME));
	PQclear(res);
out:
	free(text_body);
	free(html_body);
	return rc;
}

/* Writes s to cv->out and ends it with a newline if it has none. */
static void
put_text(struct cvctl *cv, const char *s)
{
	size_t n = strlen(s);

	fputs(s, cv->out);
	if (n == 0 || s[n - 1] != '\n')
		fputc('\n', cv->out);
}

int
cvctl_template_show(struct cvctl *cv, int argc, char **argv)
{
	const char *account = NULL, *purpose = NULL, *locale = NULL, *part = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, OPT_REQUIRED},
		{"--purpose", &purpose, OPT_REQUIRED},
		{"--locale", &locale, OPT_EMPTY_OK},
		{"--part", &part, 0},
		{NULL, NULL, 0},
	};
	char id[32], key[LOCALE_MAX + 1];
	const char *params[ST_TEMPLATE_SHOW_PARAM__MAX], *source, *shown_locale, *updated = NULL;
	struct cv_template t;
	const struct cv_template *builtin;
	PGresult *res;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 ||
	    (rc = check_purpose(cv, purpose)) != 0 || (rc = locale_key(cv, locale, key)) != 0)
		return rc;
	if (part != NULL && strcmp(part, "subject") != 0 && strcmp(part, "text") != 0 &&
	    strcmp(part, "html") != 0)
		return cvctl_usage(cv, "--part must be subject, text or html");
	if ((rc = cvctl_begin(cv)) != 0 ||
	    (rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
		return rc;
	params[ST_TEMPLATE_SHOW_PARAM_ACCOUNT_ID] = id;
	params[ST_TEMPLATE_SHOW_PARAM_PURPOSE] = purpose;
	params[ST_TEMPLATE_SHOW_PARAM_LOCALE] = key[0] != '\0' ? key : NULL;
	if ((res = cvctl_exec(cv, ST_TEMPLATE_SHOW, params)) == NULL)
		return CVCTL_FAIL;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return cvctl_fail(cv, NO_USER_APP);
	}
	if (!PQgetisnull(res, 0, ST_TEMPLATE_SHOW_COL_SUBJECT)) {
		const char *locale_shown = PQgetvalue(res, 0, ST_TEMPLATE_SHOW_COL_LOCALE);

		source = "app";
		shown_locale = *locale_shown != '\0' ? locale_shown : "-";
		t.subject = PQgetvalue(res, 0, ST_TEMPLATE_SHOW_COL_SUBJECT);
		t.text = PQgetvalue(res, 0, ST_TEMPLATE_SHOW_COL_TEXT_BODY);
		t.html = PQgetvalue(res, 0, ST_TEMPLATE_SHOW_COL_HTML_BODY);
		updated = PQgetvalue(res, 0, ST_TEMPLATE_SHOW_COL_UPDATED);
	} else {
		builtin = cv_template_builtin(purpose, params[ST_TEMPLATE_SHOW_PARAM_LOCALE]);
		source = "built-in";
		shown_locale = builtin->lang;
		t = *builtin;
	}
	if (part != NULL && strcmp(part, "subject") == 0) {
		put_text(cv, t.subject);
	} else if (part != NULL) {
		fputs(strcmp(part, "text") == 0 ? t.text : t.html, cv->out);
	} else {
		fprintf(cv->out, "source=%s\nlocale=%s\n", source, shown_locale);
		if (updated != NULL)
			fprintf(cv->out, "updated=%s\n", updated);
		fprintf(cv->out, "subject=%s\ntext:\n", t.subject);
		put_text(cv, t.text);
		fputs("html:\n", cv->out);
		put_text(cv, t.html);
	}
	PQclear(res);
	return 0;
}

int
cvctl_template_list(struct cvctl *cv, int argc, char **argv)
{
	return cvctl_list_by_account(cv, argc, argv, OPT_REQUIRED, ST_TEMPLATE_LIST);
}

int
cvctl_template_delete(struct cvctl *cv, int argc, char **argv)
{
	const char *account = NULL, *purpose = NULL, *locale = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, OPT_REQUIRED},
		{"--purpose", &purpose, OPT_REQUIRED},
		{"--locale", &locale, OPT_EMPTY_OK},
		{NULL, NULL, 0},
	};
	char id[32], key[LOCALE_MAX + 1];
	const char *params[ST_TEMPLATE_DELETE_PARAM__MAX];
	PGresult *res;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 ||
	    (rc = check_purpose(cv, purpose)) != 0 || (rc = locale_key(cv, locale, key)) != 0 ||
	    (rc = cvctl_begin(cv)) != 0 ||
	    (rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
		return rc;
	params[ST_TEMPLATE_DELETE_PARAM_ACCOUNT_ID] = id;
	params[ST_TEMPLATE_DELETE_PARAM_PURPOSE] = purpose;
	params[ST_TEMPLATE_DELETE_PARAM_LOCALE] = key;
	if ((res = cvctl_exec(cv, ST_TEMPLATE_DELETE, params)) == NULL)
		return CVCTL_FAIL;
	if (PQntuples(res) == 0)
		rc = cvctl_fail(cv, "the account has no %s template for %s", purpose,
		                key[0] != '\0' ? key : "the default locale");
	else
		fputs("template=deleted\n", cv->out);
	PQclear(res);
	return rc;
}
