/*
 * templates.h - the message templates of the mailer (README "Configuration, Email templates"): the
 * placeholder syntax shared by the built-in templates and those a user app
 * stores in cv.templates, the checks a stored template must pass, the
 * built-in English and German templates, and the choice of a language by a
 * contact's locale.  Constant data and pure functions only, so mime.c stays
 * pure and cvctl checks templates exactly as the mailer reads them.
 *
 * A template is three texts: a subject, a text/plain body and a text/html
 * body (a whole document).  In each, "{{name}}" (spaces inside the braces
 * allowed) is replaced by a value; names are those of enum cv_placeholder.
 * Every "{{" starts a placeholder: there is no escape, and an unknown name
 * makes the template invalid.
 */
#ifndef CV_TEMPLATES_H
#define CV_TEMPLATES_H

#include <stddef.h>

#define CV_TEMPLATE_SUBJECT_MAX 500     /* bytes of a subject template */
#define CV_TEMPLATE_BODY_MAX    65536   /* bytes of a body template */

enum cv_placeholder {
	CV_PH_CODE,            /* {{code}}: the one-time code */
	CV_PH_LINK,            /* {{link}}: the login or confirmation link */
	CV_PH_APP_NAME,        /* {{app_name}}: the user app's name */
	CV_PH_EXPIRY_MINUTES,  /* {{expiry_minutes}}: minutes the code has left, rounded up, >= 1 */
	CV_PH_EXPIRY,          /* {{expiry}}: the same as words: "10 minutes", "24 Stunden" */
	CV_PH__MAX
};

/* Which text of a template, for cv_template_check. */
enum cv_template_part {
	CV_PART_SUBJECT,
	CV_PART_TEXT,
	CV_PART_HTML,
	CV_PART__MAX
};

struct cv_template {
	const char *lang;     /* language tag of the words of {{expiry}}; NULL: the contact's */
	const char *subject;  /* one line */
	const char *text;     /* the text/plain body, LF line ends */
	const char *html;     /* the text/html body, LF line ends */
};

/* "code", "link", ...: the name of ph inside the braces.  Cannot fail. */
const char *cv_placeholder_name(enum cv_placeholder ph);

/*
 * Reads template text from *p up to and including the next placeholder.
 * Sets *literal and *len to the text before it (copied as it is) and
 * returns 1 with *ph set and *p after the placeholder; returns 0 at the end
 * of the text (*p then points at the NUL); returns -1 when the next "{{"
 * does not start a known placeholder (*p then points at that "{{").
 * Cannot fail otherwise.
 */
int cv_template_next(const char **p, const char **literal, size_t *len, enum cv_placeholder *ph);

/*
 * Checks one text of a template before it is stored: valid UTF-8; 1 to
 * CV_TEMPLATE_SUBJECT_MAX (subject) or CV_TEMPLATE_BODY_MAX bytes; no
 * control characters (bodies may have tab and LF); only known
 * placeholders; and a body must use {{code}} or {{link}}, or the message
 * would be useless.  Returns 0, or -1 with a one-line reason in why (which
 * quotes at most 40 bytes of a bad placeholder).
 */
int cv_template_check(const char *text, enum cv_template_part part, char *why, size_t whylen);

/*
 * 1 when the template locale range (a language tag such as "de" or
 * "de-at", or "" which matches everything) covers locale, the contact's tag:
 * equal, or a prefix of it that ends where a subtag ends ("de" covers
 * "de-AT", not "den").  Case does not matter and '_' in locale counts as
 * '-'.  A NULL locale is covered only by "".  Cannot fail.
 */
int cv_locale_covers(const char *range, const char *locale);

/*
 * The built-in template for purpose ("login" or "verify_email") in the
 * built-in language closest to locale (de-AT -> de -> en; NULL or no match
 * -> en), or NULL for an unknown purpose.  Its lang is that language.
 */
const struct cv_template *cv_template_builtin(const char *purpose, const char *locale);

/*
 * Writes the words of {{expiry}} for seconds (< 1 counts as 1) in the
 * built-in language closest to lang: minutes up to 120 (rounded up), then
 * hours up to 72, then days (both rounded to nearest).  Cannot fail; out
 * is cut to fit len.
 */
void cv_template_expiry(long seconds, const char *lang, char *out, size_t len);

#endif
