/*
 * mime.h - composition of the one kind of email contact-verify sends: a
 * login or email-verification message with a one-time code and a link, as
 * an RFC 5322 / MIME message (multipart/alternative, text and HTML) with
 * CRLF line endings, ready for SMTP or an .eml file, written from a
 * template (templates.h).  Pure functions: no I/O, no clock, no randomness,
 * so the unit tests see exactly what is sent.
 */
#ifndef CV_MIME_H
#define CV_MIME_H

#include <stddef.h>
#include <time.h>

#include "templates.h"

/* What one message says.  Every string is UTF-8; NULL means absent. */
struct cv_mail {
	const char *purpose;     /* "login" or "verify_email" (required) */
	const char *to_email;    /* recipient address (required) */
	const char *from_name;   /* display name of the sender, or NULL */
	const char *from_email;  /* sender address (required) */
	const char *app_name;    /* the user app the code is for (required) */
	const char *code;        /* the one-time code (required) */
	const char *link;        /* the login/confirmation link (required) */
	const char *message_id;  /* "<...@...>", the same on every retry (required) */
	long        expires_in;  /* seconds the code has left; <= 0 reads as 1 minute */
	time_t      date;        /* the Date: header */
	const char *locale;      /* the contact's language tag, or NULL */
	/* The user app's own template, or NULL for the built-in one of purpose
	 * in the language closest to locale. */
	const struct cv_template *template;
};

/*
 * Returns 1 when addr is a plain addr-spec this program is willing to put in
 * a header and an SMTP envelope: 3 to 254 bytes of printable ASCII, one
 * non-empty local part and domain around the last '@', and none of the
 * characters that would end or escape a header or an angle-addr (space,
 * controls, <>()[],;:"\).  Returns 0 otherwise.  Cannot fail.
 */
int cv_mime_address_ok(const char *addr);

/*
 * Writes the RFC 5322 date of t ("Thu, 01 Jan 1970 00:00:00 +0000", always
 * UTC, English names whatever the locale) to out.  Returns 0, or -1 when
 * len is too small (out is then empty).
 */
int cv_mime_date(time_t t, char *out, size_t len);

/*
 * Composes the message from the template.  Addresses and the Message-ID are
 * refused when they could break a header (see cv_mime_address_ok); display
 * names, the app name and the expanded subject have control characters (CR
 * and LF among them) replaced by spaces, so no value can start a header of
 * its own.  Values are HTML-escaped in the HTML part and copied as they are
 * into the text part.  Non-ASCII or long header text is written as RFC 2047
 * encoded-words; each body part is 7bit when it is ASCII with short lines,
 * else quoted-printable.  A template with an unknown placeholder is refused.
 *
 * Returns the message (NUL-terminated, *len bytes without the NUL), which
 * the caller frees after wiping it: it holds the code.  On failure returns
 * NULL with *why set to a static reason that holds no part of the input;
 * *oom is set to 1 when the reason is lack of memory (worth retrying), else
 * 0 (the input can never be sent).
 */
char *cv_mime_compose(const struct cv_mail *mail, size_t *len, const char **why, int *oom);

#endif
