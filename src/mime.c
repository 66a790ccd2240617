/*
 * mime.c - writes the login and email-verification messages: template
 * expansion (the syntax and the built-in texts are in templates.c), RFC 2047
 * header encoding, HTML escaping and the MIME structure.  Everything here is
 * a pure function of struct cv_mail, so the same row composes to the same
 * bytes on every retry apart from the Date and the time left.
 *
 * Safety rests on three rules: addresses and the Message-ID are refused
 * unless they are plain printable ASCII without header syntax; free text
 * (app and sender names, the expanded subject) loses its control characters
 * before it is used anywhere, so CR/LF can never reach a header; and the
 * MIME boundary starts with "=_", which neither a quoted-printable body nor
 * (we check) a 7bit one can contain.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "mime.h"

#define LINE_MAX_OCTETS 998   /* RFC 5322 2.1.1: MUST */
#define ENCODED_CHUNK   39    /* bytes per encoded-word: 52 base64 chars, 64 in all */
#define QP_LINE         75    /* characters before a soft line break (76 with '=') */

int
cv_mime_address_ok(const char *addr)
{
	const char *at = NULL, *s;
	size_t n;

	if (addr == NULL || (n = strlen(addr)) < 3 || n > 254)
		return 0;
	for (s = addr; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c >= 0x7f || strchr("<>()[],;:\"\\", c) != NULL)
			return 0;
		if (c == '@')
			at = s;
	}
	return at != NULL && at != addr && at[1] != '\0';
}

/* 1 when id looks like "<left@right>" in printable ASCII without spaces. */
static int
message_id_ok(const char *id)
{
	size_t n, i;

	if (id == NULL || (n = strlen(id)) < 5 || n > 250 || id[0] != '<' || id[n - 1] != '>')
		return 0;
	for (i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)id[i];

		if (c <= ' ' || c >= 0x7f || c == '<' || c == '>')
			return 0;
	}
	return strchr(id, '@') != NULL;
}

/* 1 when s is non-empty printable ASCII without spaces (a code or a URL). */
static int
token_ok(const char *s, size_t max)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++, n++) {
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || n >= max)
			return 0;
	}
	return 1;
}

/* A malloc'ed copy of s with every control character turned into a space
 * and surrounding spaces removed; NULL when out of memory. */
static char *
sanitize_text(const char *s)
{
	char *copy, *p, *start;
	size_t n;

	if ((copy = strdup(s != NULL ? s : "")) == NULL)
		return NULL;
	for (p = copy; *p != '\0'; p++) {
		if ((unsigned char)*p < ' ' || (unsigned char)*p == 0x7f)
			*p = ' ';
	}
	for (start = copy; *start == ' '; start++)
		;
	n = strlen(start);
	while (n > 0 && start[n - 1] == ' ')
		n--;
	memmove(copy, start, n);
	copy[n] = '\0';
	return copy;
}

int
cv_mime_date(time_t t, char *out, size_t len)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	int n;

	if (len > 0)
		out[0] = '\0';
	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11)
		return -1;
	n = snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
	             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	             tm.tm_sec);
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/* Appends the base64 text of n bytes. */
static void
put_base64(struct cv_buf *b, const unsigned char *in, size_t n)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char quad[4];
	size_t i;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		quad[0] = alphabet[(v >> 18) & 63];
		quad[1] = alphabet[(v >> 12) & 63];
		quad[2] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		quad[3] = i + 2 < n ? alphabet[v & 63] : '=';
		cv_buf_add(b, quad, 4);
	}
}

/* 1 when s can go into a header as it is: printable ASCII (spaces allowed),
 * nothing a reader could take for an encoded-word, at most max bytes. */
static int
header_plain_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f || n >= max)
			return 0;
	}
	return strstr(s - n, "=?") == NULL;
}

/*
 * Appends s as RFC 2047 "B" encoded-words of at most ENCODED_CHUNK bytes
 * each, one per line after the first (folded with CRLF SP), never splitting
 * a UTF-8 sequence between two words (RFC 2047 section 5).
 */
static void
put_encoded_words(struct cv_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), n;

	while (left > 0) {
		n = left < ENCODED_CHUNK ? left : ENCODED_CHUNK;
		/* Back up to the start of a character (not onto a continuation byte). */
		while (n < left && n > 0 && (p[n] & 0xC0) == 0x80)
			n--;
		if (n == 0)  /* not UTF-8 at all: cut anywhere */
			n = left < ENCODED_CHUNK ? left : ENCODED_CHUNK;
		if (p != (const unsigned char *)s)
			cv_buf_adds(b, "\r\n ");
		cv_buf_adds(b, "=?UTF-8?B?");
		put_base64(b, p, n);
		cv_buf_adds(b, "?=");
		p += n;
		left -= n;
	}
}

/* Appends "Name: text" and CRLF; text is already free of control characters. */
static void
put_text_header(struct cv_buf *b, const char *name, const char *text)
{
	cv_buf_adds(b, name);
	cv_buf_adds(b, ": ");
	if (header_plain_ok(text, 78 - strlen(name) - 2))
		cv_buf_adds(b, text);
	else
		put_encoded_words(b, text);
	cv_buf_adds(b, "\r\n");
}

/* Appends "From: name <addr>" (or just the address) and CRLF.  An ASCII
 * name becomes a quoted-string, anything else encoded-words. */
static void
put_from_header(struct cv_buf *b, const char *name, const char *addr)
{
	const char *s;

	cv_buf_adds(b, "From: ");
	if (*name == '\0') {
		cv_buf_adds(b, addr);
	} else {
		if (header_plain_ok(name, 60)) {
			cv_buf_adds(b, "\"");
			for (s = name; *s != '\0'; s++) {
				if (*s == '"' || *s == '\\')
					cv_buf_adds(b, "\\");
				cv_buf_add(b, s, 1);
			}
			cv_buf_adds(b, "\" <");
		} else {
			put_encoded_words(b, name);
			/* One short word and the address fit on the first line. */
			cv_buf_adds(b, strlen(name) <= ENCODED_CHUNK &&
			                    6 + 12 + (strlen(name) + 2) / 3 * 4 + 3 + strlen(addr) <= 78
			                ? " <"
			                : "\r\n <");
		}
		cv_buf_adds(b, addr);
		cv_buf_adds(b, ">");
	}
	cv_buf_adds(b, "\r\n");
}

/*
 * Appends template t with each placeholder replaced by its value from
 * values (NULL reads as ""), HTML-escaped when html is set.  Returns 0, or
 * -1 when t has an unknown placeholder.
 */
static int
expand(struct cv_buf *b, const char *t, const char *const values[CV_PH__MAX], int html)
{
	const char *literal, *value;
	enum cv_placeholder ph;
	size_t n;
	int r;

	while ((r = cv_template_next(&t, &literal, &n, &ph)) != 0) {
		cv_buf_add(b, literal, n);
		if (r < 0)
			return -1;
		value = values[ph] != NULL ? values[ph] : "";
		if (html)
			cv_html_text(b, value);
		else
			cv_buf_adds(b, value);
	}
	cv_buf_add(b, literal, n);
	return 0;
}

/* 1 when text (LF line ends) can be sent as 7bit: ASCII without NUL or CR,
 * lines of at most LINE_MAX_OCTETS, and no "=_" (which starts our boundary). */
static int
fits_7bit(const char *text)
{
	size_t col = 0;

	for (; *text != '\0'; text++) {
		unsigned char c = (unsigned char)*text;

		if (c == '\n') {
			col = 0;
			continue;
		}
		if (c >= 0x80 || c == '\r' || ++col > LINE_MAX_OCTETS ||
		    (c == '=' && text[1] == '_'))
			return 0;
	}
	return 1;
}

/* Appends text (LF line ends) with CRLF line ends, unencoded. */
static void
put_crlf(struct cv_buf *b, const char *text)
{
	size_t n;

	while (*text != '\0') {
		n = strcspn(text, "\n");
		cv_buf_add(b, text, n);
		text += n;
		if (*text == '\n') {
			cv_buf_adds(b, "\r\n");
			text++;
		}
	}
}

/* Appends text (LF line ends) as quoted-printable (RFC 2045 6.7) with CRLF
 * hard line breaks and lines of at most 76 characters. */
static void
put_quoted_printable(struct cv_buf *b, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	char token[3];
	size_t col = 0, n;

	for (; *text != '\0'; text++) {
		unsigned char c = (unsigned char)*text;

		if (c == '\n') {
			cv_buf_adds(b, "\r\n");
			col = 0;
			continue;
		}
		if ((c == ' ' || c == '\t') ? (text[1] != '\n' && text[1] != '\0')
		                            : (c >= 33 && c <= 126 && c != '=')) {
			token[0] = (char)c;
			n = 1;
		} else {
			token[0] = '=';
			token[1] = hex[c >> 4];
			token[2] = hex[c & 15];
			n = 3;
		}
		if (col + n > QP_LINE) {
			cv_buf_adds(b, "=\r\n");
			col = 0;
		}
		cv_buf_add(b, token, n);
		col += n;
	}
}

/* Appends one body part: its headers, a blank line and text, encoded. */
static void
put_part(struct cv_buf *b, const char *boundary, const char *type, const char *text)
{
	int plain = fits_7bit(text);

	cv_buf_adds(b, "--");
	cv_buf_adds(b, boundary);
	cv_buf_adds(b, "\r\nContent-Type: ");
	cv_buf_adds(b, type);
	cv_buf_adds(b, "; charset=UTF-8\r\nContent-Transfer-Encoding: ");
	cv_buf_adds(b, plain ? "7bit" : "quoted-printable");
	cv_buf_adds(b, "\r\n\r\n");
	if (plain)
		put_crlf(b, text);
	else
		put_quoted_printable(b, text);
	cv_buf_adds(b, "\r\n");
}

/* The boundary: "=_cv_" and the FNV-1a hash of the Message-ID in hex. */
static void
make_boundary(const char *message_id, char out[32])
{
	uint64_t h = 0xcbf29ce484222325u;

	for (; *message_id != '\0'; message_id++) {
		h ^= (unsigned char)*message_id;
		h *= 0x100000001b3u;
	}
	snprintf(out, 32, "=_cv_%016llx", (unsigned long long)h);
}

/* Turns every control character of s into a space and returns s without
 * surrounding spaces (a pointer into s, which it shortens).  Cannot fail. */
static char *
header_text_in_place(char *s)
{
	char *p;
	size_t n;

	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < ' ' || (unsigned char)*p == 0x7f)
			*p = ' ';
	}
	while (*s == ' ')
		s++;
	n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
	return s;
}

char *
cv_mime_compose(const struct cv_mail *m, size_t *len, const char **why, int *oom)
{
	const struct cv_template *t;
	struct cv_buf msg = {0}, subject = {0}, text = {0}, html = {0};
	const char *values[CV_PH__MAX];
	char *app = NULL, *from_name = NULL, *result = NULL;
	char date[64], expiry[48], minutes[24], boundary[32];
	long left = m->expires_in < 1 ? 1 : m->expires_in;
	int bad;

	*oom = 0;
	*len = 0;
	if ((t = cv_template_builtin(m->purpose, m->locale)) == NULL) {
		*why = "unknown purpose";
		goto out;
	}
	if (m->template != NULL)
		t = m->template;
	if (!cv_mime_address_ok(m->to_email)) {
		*why = "invalid recipient address";
		goto out;
	}
	if (!cv_mime_address_ok(m->from_email)) {
		*why = "invalid sender address";
		goto out;
	}
	if (!message_id_ok(m->message_id)) {
		*why = "invalid Message-ID";
		goto out;
	}
	if (!token_ok(m->code, 64)) {
		*why = "missing or malformed code";
		goto out;
	}
	/* The link goes into an href: only the web's own schemes. */
	if (!token_ok(m->link, 2000) ||
	    (strncmp(m->link, "https://", 8) != 0 && strncmp(m->link, "http://", 7) != 0)) {
		*why = "missing or malformed link";
		goto out;
	}
	if (t->subject == NULL || t->text == NULL || t->html == NULL) {
		*why = "incomplete template";
		goto out;
	}
	if (cv_mime_date(m->date, date, sizeof(date)) != 0) {
		*why = "date out of range";
		goto out;
	}
	if ((app = sanitize_text(m->app_name)) == NULL ||
	    (from_name = sanitize_text(m->from_name)) == NULL) {
		*why = "out of memory";
		*oom = 1;
		goto out;
	}
	/* The words of {{expiry}} are in the template's language, or for an
	 * app's default template the contact's. */
	cv_template_expiry(left, t->lang != NULL ? t->lang : m->locale, expiry, sizeof(expiry));
	snprintf(minutes, sizeof(minutes), "%ld", (left + 59) / 60);
	make_boundary(m->message_id, boundary);
	values[CV_PH_CODE] = m->code;
	values[CV_PH_LINK] = m->link;
	values[CV_PH_APP_NAME] = app;
	values[CV_PH_EXPIRY_MINUTES] = minutes;
	values[CV_PH_EXPIRY] = expiry;

	bad = expand(&subject, t->subject, values, 0);
	bad |= expand(&text, t->text, values, 0);
	bad |= expand(&html, t->html, values, 1);
	if (bad) {
		*why = "the template has an unknown placeholder";
		goto out;
	}
	if (subject.failed || text.failed || html.failed) {
		*why = "out of memory";
		*oom = 1;
		goto out;
	}

	put_from_header(&msg, from_name, m->from_email);
	cv_buf_adds(&msg, "To: ");
	cv_buf_adds(&msg, m->to_email);
	cv_buf_adds(&msg, "\r\n");
	put_text_header(&msg, "Subject", subject.p != NULL ? header_text_in_place(subject.p) : "");
	cv_buf_adds(&msg, "Date: ");
	cv_buf_adds(&msg, date);
	cv_buf_adds(&msg, "\r\nMessage-ID: ");
	cv_buf_adds(&msg, m->message_id);
	/* Auto-Submitted (RFC 3834) keeps vacation responders quiet; the X- line
	 * does the same for Exchange. */
	cv_buf_adds(&msg, "\r\nMIME-Version: 1.0\r\n"
	               "Auto-Submitted: auto-generated\r\n"
	               "X-Auto-Response-Suppress: All\r\n"
	               "Content-Type: multipart/alternative; boundary=\"");
	cv_buf_adds(&msg, boundary);
	cv_buf_adds(&msg, "\"\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n");
	put_part(&msg, boundary, "text/plain", cv_buf_str(&text));
	put_part(&msg, boundary, "text/html", cv_buf_str(&html));
	cv_buf_adds(&msg, "--");
	cv_buf_adds(&msg, boundary);
	cv_buf_adds(&msg, "--\r\n");
	if (msg.failed) {
		*why = "out of memory";
		*oom = 1;
		goto out;
	}
	result = msg.p;
	*len = msg.len;
	msg.p = NULL;
	*why = NULL;
out:
	cv_buf_wipe(&msg);
	cv_buf_wipe(&subject);
	cv_buf_wipe(&text);
	cv_buf_wipe(&html);
	free(app);
	free(from_name);
	return result;
}
