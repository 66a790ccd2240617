/*
 * cvctl_csv.c - a small CSV reader for cvctl contact import.  It follows RFC
 * 4180 and is lenient where spreadsheets are sloppy (LF or CR line ends, a
 * byte order mark, a quote inside an unquoted field taken literally), and it
 * never gives up on a whole file because of one bad record: such a record is
 * returned with a problem, and the importer rejects just that row.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cvctl.h"

#define RECORD_MAX (1024 * 1024)  /* bytes of one record's fields */

void
cvctl_csv_init(struct cvctl_csv *csv, FILE *f)
{
	memset(csv, 0, sizeof(*csv));
	csv->f = f;
}

void
cvctl_csv_free(struct cvctl_csv *csv)
{
	free(csv->buf);
	free(csv->offsets);
	csv->buf = NULL;
	csv->offsets = NULL;
}

char *
cvctl_csv_field(const struct cvctl_csv *csv, size_t i)
{
	return i < csv->nfields ? csv->buf + csv->offsets[i] : NULL;
}

/* Makes room for one more byte in buf.  Returns 0 or -1 (out of memory). */
static int
reserve(struct cvctl_csv *csv)
{
	char *grown;
	size_t cap;

	if (csv->len < csv->cap)
		return 0;
	cap = csv->cap == 0 ? 256 : csv->cap * 2;
	if ((grown = realloc(csv->buf, cap)) == NULL)
		return -1;
	csv->buf = grown;
	csv->cap = cap;
	return 0;
}

/* Appends input byte c to the current field (a NUL byte as '?', marking
 * the record).  Returns 0 or -1 (out of memory). */
static int
append(struct cvctl_csv *csv, int c)
{
	if (c == '\0' && csv->problem == NULL)
		csv->problem = "NUL byte in a field";
	if (csv->len >= RECORD_MAX) {
		csv->problem = "record longer than 1 MiB";
		return 0;
	}
	if (reserve(csv) != 0)
		return -1;
	csv->buf[csv->len++] = c == '\0' ? '?' : (char)c;
	return 0;
}

/* Begins a new field.  Returns 0 or -1 (out of memory). */
static int
start_field(struct cvctl_csv *csv)
{
	size_t *grown;

	if (csv->nfields == csv->fields_cap) {
		size_t cap = csv->fields_cap == 0 ? 16 : csv->fields_cap * 2;

		if ((grown = realloc(csv->offsets, cap * sizeof(*grown))) == NULL)
			return -1;
		csv->offsets = grown;
		csv->fields_cap = cap;
	}
	csv->offsets[csv->nfields++] = csv->len;
	return 0;
}

/* Ends the current field with its NUL (also past RECORD_MAX).  Returns 0
 * or -1 (out of memory). */
static int
end_field(struct cvctl_csv *csv)
{
	if (reserve(csv) != 0)
		return -1;
	csv->buf[csv->len++] = '\0';
	return 0;
}

/* The next byte of the input: pushed-back bytes first. */
static int
next_byte(struct cvctl_csv *csv)
{
	if (csv->npending > 0)
		return csv->pending[--csv->npending];
	return getc(csv->f);
}

/* Pushes c back (at most sizeof(pending) bytes; EOF is not pushed). */
static void
push_back(struct cvctl_csv *csv, int c)
{
	if (c != EOF && csv->npending < (int)(sizeof(csv->pending) / sizeof(csv->pending[0])))
		csv->pending[csv->npending++] = c;
}

/* Reads one quoted field after its opening quote; returns the byte after
 * the closing quote (or EOF), or -2 when out of memory. */
static int
quoted_field(struct cvctl_csv *csv)
{
	for (;;) {
		int c = next_byte(csv), next;

		if (c == EOF) {
			csv->problem = "unterminated quoted field";
			return EOF;
		}
		if (c == '"') {
			c = next_byte(csv);
			if (c != '"')
				return c;
		} else if (c == '\n') {
			csv->line++;
		} else if (c == '\r') {
			csv->line++;
			next = next_byte(csv);
			if (next == '\n') {
				if (append(csv, c) != 0)
					return -2;
				c = next;
			} else {
				push_back(csv, next);
			}
		}
		if (append(csv, c) != 0)
			return -2;
	}
}

/* Skips a UTF-8 byte order mark at the very start of the input. */
static void
skip_bom(struct cvctl_csv *csv)
{
	static const int bom[] = {0xef, 0xbb, 0xbf};
	int got[3], n;

	for (n = 0; n < 3; n++) {
		got[n] = next_byte(csv);
		if (got[n] != bom[n])
			break;
	}
	if (n == 3)
		return;
	/* Not a BOM: push back what was read, the first byte on top. */
	for (; n >= 0; n--)
		push_back(csv, got[n]);
}

int
cvctl_csv_next(struct cvctl_csv *csv)
{
	int c, quoted = 0;

	csv->len = 0;
	csv->nfields = 0;
	csv->problem = NULL;
	csv->blank = 0;
	if (!csv->started) {
		csv->started = 1;
		skip_bom(csv);
	}
	c = next_byte(csv);
	if (c == EOF)
		return ferror(csv->f) ? -1 : 0;
	csv->line++;
	csv->record_line = csv->line;
	for (;;) {
		if (start_field(csv) != 0)
			return -1;
		quoted = c == '"';
		if (quoted && (c = quoted_field(csv)) == -2)
			return -1;
		while (c != ',' && c != '\n' && c != '\r' && c != EOF) {
			if (quoted && csv->problem == NULL)
				csv->problem = "text after a closing quote";
			if (append(csv, c) != 0)
				return -1;
			c = next_byte(csv);
		}
		if (end_field(csv) != 0)
			return -1;
		if (c != ',')
			break;
		c = next_byte(csv);
	}
	if (c == '\r') {
		c = next_byte(csv);
		if (c != '\n')
			push_back(csv, c);
	}
	csv->blank = csv->nfields == 1 && csv->buf[0] == '\0' && !quoted;
	return ferror(csv->f) ? -1 : 1;
}
