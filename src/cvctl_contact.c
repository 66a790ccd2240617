/*
 * cvctl_contact.c - cvctl contact add|list|import|delete|export.  An account has at most
 * one contact per address, compared case-insensitively (the unique index on
 * lower(email)); the address itself is kept as given.
 *
 * import reads a whole CSV file, rejects the rows it cannot take (reported
 * by line number) and adds the rest in the command's one transaction, in
 * batches of one statement each (arrays unnested in SQL), so ten thousand
 * contacts cost a handful of round trips.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cvctl.h"
#include "email.h"

#define IMPORT_BATCH 5000   /* rows per INSERT statement */

int
cvctl_contact_add(struct cvctl *cv, int argc, char **argv)
{
	const char *account = NULL, *email = NULL, *locale = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, OPT_REQUIRED},
		{"--email", &email, OPT_REQUIRED},
		{"--locale", &locale, 0},
		{NULL, NULL, 0},
	};
	char id[32];
	const char *params[ST_CONTACT_ADD_PARAM__MAX];
	PGresult *res;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 ||
	    (rc = cvctl_check_email(cv, "--email", email)) != 0 ||
	    (rc = cvctl_check_locale(cv, "--locale", locale)) != 0 || (rc = cvctl_begin(cv)) != 0 ||
	    (rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
		return rc;
	params[ST_CONTACT_ADD_PARAM_ACCOUNT_ID] = id;
	params[ST_CONTACT_ADD_PARAM_EMAIL] = email;
	params[ST_CONTACT_ADD_PARAM_LOCALE] = locale;
	if ((res = cvctl_exec(cv, ST_CONTACT_ADD, params)) == NULL)
		return CVCTL_FAIL;
	if (PQntuples(res) == 1)
		fprintf(cv->out, "%s\n", PQgetvalue(res, 0, ST_CONTACT_ADD_COL_UUID));
	else
		rc = cvctl_fail(cv, "the account already has a contact %s (addresses are compared "
		                    "case-insensitively)", email);
	PQclear(res);
	return rc;
}

int
cvctl_contact_list(struct cvctl *cv, int argc, char **argv)
{
	return cvctl_list_by_account(cv, argc, argv, OPT_REQUIRED, ST_CONTACT_LIST);
}

/* ---- import */

struct import_row {
	long  line;
	char *email;   /* as given, trimmed */
	char *locale;  /* NULL: none */
};

struct rejection {
	long  line;
	char *reason;
};

/* The addresses seen so far, lowercased, with their line: an open
 * addressing hash table (cap a power of two, at most half full). */
struct seen {
	char  **keys;
	long   *lines;
	size_t  cap, count;
};

struct import {
	struct cvctl_csv  csv;
	const char       *path;
	size_t            email_col, locale_col;  /* locale_col SIZE_MAX: none */
	struct import_row *rows;
	size_t            nrows, rows_cap;
	struct rejection *rejected;
	size_t            nrejected, rejected_cap;
	struct seen       seen;
	long              imported;
};

static uint64_t
hash_text(const char *s)
{
	uint64_t h = 14695981039346656037ULL;  /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/*
 * Adds key (taking it over) with line, unless it is there.  Returns 0 when
 * added, the line of the earlier one when present (key is freed), or -1
 * when out of memory (key is freed).
 */
static long
seen_add(struct seen *s, char *key, long line)
{
	size_t i, mask;

	if (2 * (s->count + 1) > s->cap) {
		struct seen bigger = {NULL, NULL, s->cap == 0 ? 1024 : 2 * s->cap, 0};

		bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
		bigger.lines = calloc(bigger.cap, sizeof(*bigger.lines));
		if (bigger.keys == NULL || bigger.lines == NULL) {
			free(bigger.keys);
			free(bigger.lines);
			free(key);
			return -1;
		}
		for (i = 0; i < s->cap; i++)
			if (s->keys[i] != NULL)
				(void)seen_add(&bigger, s->keys[i], s->lines[i]);
		free(s->keys);
		free(s->lines);
		*s = bigger;
	}
	mask = s->cap - 1;
	for (i = hash_text(key) & mask; s->keys[i] != NULL; i = (i + 1) & mask) {
		if (strcmp(s->keys[i], key) == 0) {
			free(key);
			return s->lines[i];
		}
	}
	s->keys[i] = key;
	s->lines[i] = line;
	s->count++;
	return 0;
}

static void
seen_free(struct seen *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->lines);
}

/* Writes a short, escaped, quoted excerpt of value into buf. */
static void
excerpt(char *buf, size_t len, const char *value)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);

	if (f == NULL) {
		snprintf(buf, len, "\"?\"");
		return;
	}
	cvctl_put_field(f, value);
	if (fclose(f) != 0 || text == NULL)
		snprintf(buf, len, "\"?\"");
	else
		snprintf(buf, len, "\"%.80s%s\"", text, n > 80 ? "..." : "");
	free(text);
}

/* Records the rejection of line with reason.  Returns 0 or -1 (out of
 * memory). */
static int
reject(struct import *im, long line, const char *reason)
{
	struct rejection *grown;

	if (im->nrejected == im->rejected_cap) {
		size_t cap = im->rejected_cap == 0 ? 64 : 2 * im->rejected_cap;

		if ((grown = realloc(im->rejected, cap * sizeof(*grown))) == NULL)
			return -1;
		im->rejected = grown;
		im->rejected_cap = cap;
	}
	if ((im->rejected[im->nrejected].reason = strdup(reason)) == NULL)
		return -1;
	im->rejected[im->nrejected++].line = line;
	return 0;
}

/* Trims white space at both ends of s in place; returns s. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* Finds the email and locale columns in the header record. */
static int
read_header(struct cvctl *cv, struct import *im)
{
	size_t i;
	int r = cvctl_csv_next(&im->csv);

	while (r == 1 && im->csv.blank)
		r = cvctl_csv_next(&im->csv);
	if (r < 0)
		return cvctl_fail(cv, "%s: %s", im->path, strerror(errno));
	if (r == 0)
		return cvctl_fail(cv, "%s: empty, expected a header line naming an email column",
		                  im->path);
	im->email_col = im->locale_col = SIZE_MAX;
	for (i = 0; i < im->csv.nfields; i++) {
		char *name = trim(im->csv.buf + im->csv.offsets[i]);
		size_t *col = strcasecmp(name, "email") == 0    ? &im->email_col
		              : strcasecmp(name, "locale") == 0 ? &im->locale_col
		                                                : NULL;

		if (col == NULL)
			continue;
		if (*col != SIZE_MAX)
			return cvctl_fail(cv, "%s: line %ld: two %s columns", im->path,
			                  im->csv.record_line, name);
		*col = i;
	}
	if (im->email_col == SIZE_MAX)
		return cvctl_fail(cv, "%s: line %ld: the header names no email column", im->path,
		                  im->csv.record_line);
	return 0;
}

/* Checks the current record; keeps it as a row or rejects it.  Returns 0
 * or -1 (out of memory). */
static int
take_record(struct import *im)
{
	char *field, *email, *locale = NULL, *key, reason[256], shown[128];
	long line = im->csv.record_line, earlier;
	struct import_row *row;
	size_t i;

	if (im->csv.problem != NULL)
		return reject(im, line, im->csv.problem);
	field = cvctl_csv_field(&im->csv, im->email_col);
	email = field != NULL ? trim(field) : NULL;
	if (email == NULL || *email == '\0')
		return reject(im, line, "no email");
	if (!cv_email_valid(email, strlen(email))) {
		excerpt(shown, sizeof(shown), email);
		snprintf(reason, sizeof(reason), "invalid email %s", shown);
		return reject(im, line, reason);
	}
	if (im->locale_col != SIZE_MAX &&
	    (field = cvctl_csv_field(&im->csv, im->locale_col)) != NULL) {
		locale = trim(field);
		if (*locale == '\0') {
			locale = NULL;
		} else if (!cvctl_locale_valid(locale)) {
			excerpt(shown, sizeof(shown), locale);
			snprintf(reason, sizeof(reason), "invalid locale %s", shown);
			return reject(im, line, reason);
		}
	}
	/* cv_email_valid admits ASCII only, so tolower() is PostgreSQL's lower(). */
	if ((key = strdup(email)) == NULL)
		return -1;
	for (i = 0; key[i] != '\0'; i++)
		key[i] = (char)tolower((unsigned char)key[i]);
	if ((earlier = seen_add(&im->seen, key, line)) < 0)
		return -1;
	if (earlier > 0) {
		excerpt(shown, sizeof(shown), email);
		snprintf(reason, sizeof(reason), "duplicate of line %ld %s", earlier, shown);
		return reject(im, line, reason);
	}
	if (im->nrows == im->rows_cap) {
		size_t cap = im->rows_cap == 0 ? 1024 : 2 * im->rows_cap;

		if ((row = realloc(im->rows, cap * sizeof(*row))) == NULL)
			return -1;
		im->rows = row;
		im->rows_cap = cap;
	}
	row = &im->rows[im->nrows];
	row->line = line;
	row->email = strdup(email);
	row->locale = locale != NULL ? strdup(locale) : NULL;
	if (row->email == NULL || (locale != NULL && row->locale == NULL)) {
		free(row->email);
		free(row->locale);
		return -1;
	}
	im->nrows++;
	return 0;
}

/* Appends value to an array literal being written to f: "..." with \ and
 * " escaped, or NULL. */
static void
put_array_item(FILE *f, int first, const char *value)
{
	if (!first)
		fputc(',', f);
	if (value == NULL) {
		fputs("NULL", f);
		return;
	}
	fputc('"', f);
	for (; *value != '\0'; value++) {
		if (*value == '"' || *value == '\\')
			fputc('\\', f);
		fputc(*value, f);
	}
	fputc('"', f);
}

/* The row with line number line (rows are in line order), or NULL. */
static const struct import_row *
row_at(const struct import *im, long line)
{
	size_t lo = 0, hi = im->nrows;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (im->rows[mid].line == line)
			return &im->rows[mid];
		if (im->rows[mid].line < line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Inserts rows [from, to) of account id; rejects those the account has. */
static int
insert_batch(struct cvctl *cv, struct import *im, const char *id, size_t from, size_t to)
{
	char *text[3] = {NULL, NULL, NULL}, reason[256], shown[128];
	size_t len[3], i;
	FILE *f[3];
	const char *params[ST_CONTACT_IMPORT_PARAM__MAX];
	const struct import_row *row;
	PGresult *res = NULL;
	int k, r, rc = CVCTL_FAIL;

	for (k = 0; k < 3; k++)
		f[k] = open_memstream(&text[k], &len[k]);
	if (f[0] == NULL || f[1] == NULL || f[2] == NULL)
		goto out;
	for (k = 0; k < 3; k++)
		fputc('{', f[k]);
	for (i = from; i < to; i++) {
		fprintf(f[0], "%s%ld", i == from ? "" : ",", im->rows[i].line);
		put_array_item(f[1], i == from, im->rows[i].email);
		put_array_item(f[2], i == from, im->rows[i].locale);
	}
	for (k = 0; k < 3; k++) {
		fputc('}', f[k]);
		r = fclose(f[k]);
		f[k] = NULL;
		if (r != 0)
			goto out;
	}
	params[ST_CONTACT_IMPORT_PARAM_ACCOUNT_ID] = id;
	params[ST_CONTACT_IMPORT_PARAM_LINES] = text[0];
	params[ST_CONTACT_IMPORT_PARAM_EMAILS] = text[1];
	params[ST_CONTACT_IMPORT_PARAM_LOCALES] = text[2];
	if ((res = cvctl_exec(cv, ST_CONTACT_IMPORT, params)) == NULL)
		goto out;
	im->imported += (long)(to - from) - PQntuples(res);
	for (r = 0; r < PQntuples(res); r++) {
		long line = strtol(PQgetvalue(res, r, ST_CONTACT_IMPORT_COL_LINE), NULL, 10);

		row = row_at(im, line);
		excerpt(shown, sizeof(shown), row != NULL ? row->email : "?");
		snprintf(reason, sizeof(reason), "the account already has a contact %s", shown);
		if (reject(im, line, reason) != 0)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0 && !cv->failed)
		cvctl_fail(cv, "out of memory");
	PQclear(res);
	for (k = 0; k < 3; k++) {
		if (f[k] != NULL)
			fclose(f[k]);
		free(text[k]);
	}
	return rc;
}

static int
by_line(const void *a, const void *b)
{
	long x = ((const struct rejection *)a)->line, y = ((const struct rejection *)b)->line;

	return (x > y) - (x < y);
}

static void
import_free(struct import *im)
{
	size_t i;

	for (i = 0; i < im->nrows; i++) {
		free(im->rows[i].email);
		free(im->rows[i].locale);
	}
	free(im->rows);
	for (i = 0; i < im->nrejected; i++)
		free(im->rejected[i].reason);
	free(im->rejected);
	seen_free(&im->seen);
	cvctl_csv_free(&im->csv);
}

int
cvctl_contact_import(struct cvctl *cv, int argc, char **argv)
{
	const char *account = NULL, *path = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, OPT_REQUIRED},
		{NULL, NULL, 0},
	};
	struct import im;
	char id[32];
	FILE *f;
	size_t i;
	int r, rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, &path, 1)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0)
		return rc;
	memset(&im, 0, sizeof(im));
	im.path = strcmp(path, "-") == 0 ? "stdin" : path;
	if ((f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r")) == NULL)
		return cvctl_fail(cv, "%s: %s", path, strerror(errno));
	cvctl_csv_init(&im.csv, f);
	if ((rc = cvctl_begin(cv)) != 0 || (rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0 ||
	    (rc = read_header(cv, &im)) != 0)
		goto out;
	while ((r = cvctl_csv_next(&im.csv)) == 1) {
		if (!im.csv.blank && take_record(&im) != 0) {
			r = -1;
			break;
		}
	}
	if (r < 0) {
		rc = cvctl_fail(cv, "%s: %s", im.path, errno != 0 ? strerror(errno) : "read error");
		goto out;
	}
	for (i = 0; i < im.nrows; i += IMPORT_BATCH)
		if ((rc = insert_batch(cv, &im, id, i,
		                       i + IMPORT_BATCH < im.nrows ? i + IMPORT_BATCH : im.nrows)) != 0)
			goto out;
	if (im.nrejected > 0)
		qsort(im.rejected, im.nrejected, sizeof(*im.rejected), by_line);
	for (i = 0; i < im.nrejected; i++)
		fprintf(cv->note, "line %ld: %s\n", im.rejected[i].line, im.rejected[i].reason);
	fprintf(cv->out, "imported=%ld rejected=%zu\n", im.imported, im.nrejected);
out:
	if (f != stdin)
		fclose(f);
	import_free(&im);
	return rc;
}

/* ---- delete, export */

/*
 * cvctl contact delete|export --account UUID (--email E | --uuid U): runs
 * statement st (ST_CONTACT_ONE's shape) for that contact in the command's
 * transaction and prints its output.  Returns 0 or the exit status.
 */
static int
contact_one(struct cvctl *cv, int argc, char **argv, enum cvctl_stmt st)
{
	const char *account = NULL, *uuid = NULL, *email = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, OPT_REQUIRED},
		{"--email", &email, 0},
		{"--uuid", &uuid, 0},
		{NULL, NULL, 0},
	};
	char id[32];
	const char *params[ST_CONTACT_ONE_PARAM__MAX];
	PGresult *res;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--uuid", uuid)) != 0 ||
	    (rc = cvctl_check_email(cv, "--email", email)) != 0)
		return rc;
	if ((uuid == NULL) == (email == NULL))
		return cvctl_usage(cv, "give either --email or --uuid");
	if ((rc = cvctl_begin(cv)) != 0 || (rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
		return rc;
	params[ST_CONTACT_ONE_PARAM_ACCOUNT_ID] = id;
	params[ST_CONTACT_ONE_PARAM_UUID] = uuid;
	params[ST_CONTACT_ONE_PARAM_EMAIL] = email;
	if ((res = cvctl_exec(cv, st, params)) == NULL)
		return CVCTL_FAIL;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, ST_CONTACT_ONE_COL_OUTPUT))
		fprintf(cv->out, "%s\n", PQgetvalue(res, 0, ST_CONTACT_ONE_COL_OUTPUT));
	else
		rc = cvctl_fail(cv, "the account has no contact %s", uuid != NULL ? uuid : email);
	PQclear(res);
	return rc;
}

int
cvctl_contact_delete(struct cvctl *cv, int argc, char **argv)
{
	return contact_one(cv, argc, argv, ST_CONTACT_DELETE);
}

int
cvctl_contact_export(struct cvctl *cv, int argc, char **argv)
{
	return contact_one(cv, argc, argv, ST_CONTACT_EXPORT);
}
