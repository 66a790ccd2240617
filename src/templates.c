/*
 * templates.c - the placeholder syntax, the checks of a stored template,
 * the built-in templates in English and German, and the choice of a
 * language by locale (see templates.h).  The built-in texts are the
 * defaults every user app gets; an app's own templates (cv.templates) use
 * the same placeholders and are checked here by cvctl before they are
 * stored, with the CHECKs of sql/migrations/004_templates.sql as the last line of defence.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "templates.h"

static const char *const placeholder_names[CV_PH__MAX] = {
	[CV_PH_CODE] = "code",
	[CV_PH_LINK] = "link",
	[CV_PH_APP_NAME] = "app_name",
	[CV_PH_EXPIRY_MINUTES] = "expiry_minutes",
	[CV_PH_EXPIRY] = "expiry",
};

const char *
cv_placeholder_name(enum cv_placeholder ph)
{
	return (unsigned)ph < CV_PH__MAX ? placeholder_names[ph] : "";
}

/* The placeholder at s ("{{ name }}"), its length in *len; -1 when s does
 * not start a known one. */
static int
placeholder_at(const char *s, size_t *len)
{
	const char *p = s + 2, *name;
	size_t n;
	int i;

	while (*p == ' ')
		p++;
	name = p;
	while ((*p >= 'a' && *p <= 'z') || *p == '_')
		p++;
	n = (size_t)(p - name);
	while (*p == ' ')
		p++;
	if (p[0] != '}' || p[1] != '}')
		return -1;
	for (i = 0; i < CV_PH__MAX; i++) {
		if (strlen(placeholder_names[i]) == n &&
		    strncmp(name, placeholder_names[i], n) == 0) {
			*len = (size_t)(p + 2 - s);
			return i;
		}
	}
	return -1;
}

int
cv_template_next(const char **p, const char **literal, size_t *len, enum cv_placeholder *ph)
{
	const char *s = *p, *open = strstr(s, "{{");
	size_t n;
	int i;

	*literal = s;
	if (open == NULL) {
		*len = strlen(s);
		*p = s + *len;
		return 0;
	}
	*len = (size_t)(open - s);
	if ((i = placeholder_at(open, &n)) < 0) {
		*p = open;
		return -1;
	}
	*ph = (enum cv_placeholder)i;
	*p = open + n;
	return 1;
}

/* The length of the UTF-8 sequence at s (1 to 4), or 0 when it is not one:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t
utf8_sequence(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		return (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F))
			return 0;
		return 3;
	}
	if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80 ||
		    (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
			return 0;
		return 4;
	}
	return 0;
}

int
cv_template_check(const char *text, enum cv_template_part part, char *why, size_t whylen)
{
	static const char *const part_names[CV_PART__MAX] = {"subject", "text", "html"};
	const unsigned char *u;
	const char *p = text, *literal;
	const char *what = part_names[(unsigned)part < CV_PART__MAX ? part : 0];
	size_t n, max = part == CV_PART_SUBJECT ? CV_TEMPLATE_SUBJECT_MAX : CV_TEMPLATE_BODY_MAX;
	enum cv_placeholder ph;
	int r, useful = 0;

	if (whylen > 0)
		why[0] = '\0';
	if (text == NULL || *text == '\0') {
		snprintf(why, whylen, "the %s is empty", what);
		return -1;
	}
	if (strlen(text) > max) {
		snprintf(why, whylen, "the %s is longer than %zu bytes", what, max);
		return -1;
	}
	for (u = (const unsigned char *)text; *u != '\0'; u += n) {
		if ((n = utf8_sequence(u)) == 0) {
			snprintf(why, whylen, "the %s is not valid UTF-8 (at byte %zu)", what,
			         (size_t)(u - (const unsigned char *)text) + 1);
			return -1;
		}
		if ((*u < 0x20 || *u == 0x7f) &&
		    (part == CV_PART_SUBJECT || (*u != '\n' && *u != '\t'))) {
			snprintf(why, whylen, "the %s contains a control character (at byte %zu)%s",
			         what, (size_t)(u - (const unsigned char *)text) + 1,
			         part == CV_PART_SUBJECT ? ": it must be one line" : "");
			return -1;
		}
	}
	while ((r = cv_template_next(&p, &literal, &n, &ph)) == 1) {
		if (ph == CV_PH_CODE || ph == CV_PH_LINK)
			useful = 1;
	}
	if (r < 0) {
		/* Quote it up to its "}}", or up to the end of the line. */
		literal = strstr(p, "}}");
		n = literal != NULL && literal - p <= 38 ? (size_t)(literal - p) + 2
		                                         : strcspn(p, "\n");
		snprintf(why, whylen,
		         "the %s has an unknown placeholder \"%.*s%s\" (known: {{code}}, {{link}},"
		         " {{app_name}}, {{expiry_minutes}}, {{expiry}})",
		         what, n > 40 ? 40 : (int)n, p, n > 40 ? "..." : "");
		return -1;
	}
	if (part != CV_PART_SUBJECT && !useful) {
		snprintf(why, whylen, "the %s uses neither {{code}} nor {{link}}", what);
		return -1;
	}
	return 0;
}

int
cv_locale_covers(const char *range, const char *locale)
{
	size_t i, n = strlen(range);

	if (n == 0)
		return 1;
	if (locale == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		char c = locale[i] == '_' ? '-' : locale[i];

		if (c == '\0' || tolower((unsigned char)c) != tolower((unsigned char)range[i]))
			return 0;
	}
	return locale[n] == '\0' || locale[n] == '-' || locale[n] == '_';
}

/* ---- the built-in templates -------------------------------------------- */

#define HTML_HEAD(lang, title)                                                             \
	"<!DOCTYPE html>\n<html lang=\"" lang "\">\n<head>\n<meta charset=\"UTF-8\">\n"        \
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"         \
	"<title>" title "</title>\n</head>\n<body style=\"margin:0;padding:24px;"            \
	"font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;"            \
	"color:#222222;\">\n"
#define HTML_CODE                                                                          \
	"<p style=\"font-size:32px;font-weight:bold;letter-spacing:6px;"                     \
	"font-family:'Courier New',Courier,monospace;margin:16px 0;\">{{code}}</p>\n"
#define HTML_LINK(sentence) "<p>" sentence "<br>\n<a href=\"{{link}}\">{{link}}</a></p>\n"
#define HTML_NOTE(sentence) "<p style=\"color:#666666;font-size:14px;\">" sentence "</p>\n"
#define HTML_TAIL           "</body>\n</html>\n"

struct builtin {
	const char        *purpose;
	struct cv_template template;
};

/* The first language of the table is the fallback of every locale. */
static const struct builtin builtins[] = {
	{"login", {
		"en",
		"Your login code for {{app_name}}",
		"Your login code is {{code}}. It expires in {{expiry}}.\n"
		"\nOr open this link to log in:\n{{link}}\n"
		"\nIf you did not ask for this code, ignore this email.\n",
		HTML_HEAD("en", "Your login code for {{app_name}}")
		"<p>Your login code for <strong>{{app_name}}</strong> is:</p>\n" HTML_CODE
		"<p>It expires in {{expiry}}.</p>\n"
		HTML_LINK("Or open this link to log in:")
		HTML_NOTE("If you did not ask for this code, ignore this email.") HTML_TAIL,
	}},
	{"verify_email", {
		"en",
		"Confirm your email for {{app_name}}",
		"Your code to confirm your email address for {{app_name}} is {{code}}."
		" It expires in {{expiry}}.\n"
		"\nOr open this link to confirm it:\n{{link}}\n"
		"\nIf you did not sign up for {{app_name}}, ignore this email.\n",
		HTML_HEAD("en", "Confirm your email for {{app_name}}")
		"<p>Your code to confirm your email address for <strong>{{app_name}}</strong>"
		" is:</p>\n" HTML_CODE
		"<p>It expires in {{expiry}}.</p>\n"
		HTML_LINK("Or open this link to confirm it:")
		HTML_NOTE("If you did not sign up for {{app_name}}, ignore this email.") HTML_TAIL,
	}},
	{"login", {
		"de",
		"Ihr Anmeldecode für {{app_name}}",
		"Ihr Anmeldecode lautet {{code}}. Er ist {{expiry}} gültig.\n"
		"\nOder öffnen Sie diesen Link, um sich anzumelden:\n{{link}}\n"
		"\nWenn Sie diesen Code nicht angefordert haben, ignorieren Sie diese E-Mail.\n",
		HTML_HEAD("de", "Ihr Anmeldecode für {{app_name}}")
		"<p>Ihr Anmeldecode für <strong>{{app_name}}</strong> lautet:</p>\n" HTML_CODE
		"<p>Er ist {{expiry}} gültig.</p>\n"
		HTML_LINK("Oder öffnen Sie diesen Link, um sich anzumelden:")
		HTML_NOTE("Wenn Sie diesen Code nicht angefordert haben, ignorieren Sie diese"
		          " E-Mail.") HTML_TAIL,
	}},
	{"verify_email", {
		"de",
		"Bestätigen Sie Ihre E-Mail-Adresse für {{app_name}}",
		"Ihr Code zur Bestätigung Ihrer E-Mail-Adresse für {{app_name}} lautet {{code}}."
		" Er ist {{expiry}} gültig.\n"
		"\nOder öffnen Sie diesen Link, um sie zu bestätigen:\n{{link}}\n"
		"\nWenn Sie sich nicht bei {{app_name}} registriert haben, ignorieren Sie diese"
		" E-Mail.\n",
		HTML_HEAD("de", "Bestätigen Sie Ihre E-Mail-Adresse für {{app_name}}")
		"<p>Ihr Code zur Bestätigung Ihrer E-Mail-Adresse für <strong>{{app_name}}</strong>"
		" lautet:</p>\n" HTML_CODE
		"<p>Er ist {{expiry}} gültig.</p>\n"
		HTML_LINK("Oder öffnen Sie diesen Link, um sie zu bestätigen:")
		HTML_NOTE("Wenn Sie sich nicht bei {{app_name}} registriert haben, ignorieren Sie"
		          " diese E-Mail.") HTML_TAIL,
	}},
};
#define NBUILTINS (sizeof(builtins) / sizeof(builtins[0]))

/* The words of durations, per built-in language. */
static const struct {
	const char *lang;
	const char *unit[3][2];  /* minute, hour, day; singular, plural */
} expiry_words[] = {
	{"en", {{"minute", "minutes"}, {"hour", "hours"}, {"day", "days"}}},
	{"de", {{"Minute", "Minuten"}, {"Stunde", "Stunden"}, {"Tag", "Tage"}}},
};

/* The built-in language ("en", "de") closest to locale. */
static const char *
builtin_lang(const char *locale)
{
	size_t i;

	for (i = 0; i < sizeof(expiry_words) / sizeof(expiry_words[0]); i++)
		if (cv_locale_covers(expiry_words[i].lang, locale))
			return expiry_words[i].lang;
	return expiry_words[0].lang;
}

const struct cv_template *
cv_template_builtin(const char *purpose, const char *locale)
{
	const char *lang = builtin_lang(locale);
	const struct cv_template *fallback = NULL;
	size_t i;

	if (purpose == NULL)
		return NULL;
	for (i = 0; i < NBUILTINS; i++) {
		if (strcmp(builtins[i].purpose, purpose) != 0)
			continue;
		if (strcmp(builtins[i].template.lang, lang) == 0)
			return &builtins[i].template;
		if (fallback == NULL)
			fallback = &builtins[i].template;
	}
	return fallback;
}

void
cv_template_expiry(long s, const char *lang, char *out, size_t len)
{
	size_t i, l = 0;
	int unit;
	long n;

	lang = builtin_lang(lang);
	for (i = 0; i < sizeof(expiry_words) / sizeof(expiry_words[0]); i++)
		if (strcmp(expiry_words[i].lang, lang) == 0)
			l = i;
	if (s < 1)
		s = 1;
	if (s <= 120 * 60) {
		n = (s + 59) / 60;
		unit = 0;
	} else if (s <= 72 * 3600) {
		n = (s + 1800) / 3600;
		unit = 1;
	} else {
		n = (s + 43200) / 86400;
		unit = 2;
	}
	snprintf(out, len, "%ld %s", n, expiry_words[l].unit[unit][n == 1 ? 0 : 1]);
}
