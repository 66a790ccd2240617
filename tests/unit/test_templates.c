/*
 * test_templates.c - the template language of the mailer (templates.c):
 * the placeholder scanner, the checks cvctl applies before it stores a
 * template, locale matching, the choice of a built-in template by locale,
 * and the words of {{expiry}}.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/templates.h"
#include "unit.h"

/* Expands t with the placeholder names in brackets ("[code]"), so the
 * scanner's view of t is visible.  Returns 0, or -1 on a bad placeholder. */
static int
bracketed(const char *t, char *out, size_t len)
{
	const char *literal;
	enum cv_placeholder ph;
	size_t n, o = 0;
	int r;

	out[0] = '\0';
	while ((r = cv_template_next(&t, &literal, &n, &ph)) != 0) {
		o += (size_t)snprintf(out + o, len - o, "%.*s", (int)n, literal);
		if (r < 0)
			return -1;
		o += (size_t)snprintf(out + o, len - o, "[%s]", cv_placeholder_name(ph));
	}
	snprintf(out + o, len - o, "%.*s", (int)n, literal);
	return 0;
}

static char why[256];

/* cv_template_check of text as part, with its reason in why. */
static int
check(const char *text, enum cv_template_part part)
{
	return cv_template_check(text, part, why, sizeof(why));
}

static void
scanner_finds_every_placeholder(void)
{
	char out[256];

	CHECK("plain text", bracketed("no placeholders {here}", out, sizeof(out)) == 0 &&
	                        strcmp(out, "no placeholders {here}") == 0);
	CHECK("all five",
	      bracketed("{{code}}{{link}} {{app_name}}-{{expiry_minutes}}/{{expiry}}.", out,
	                sizeof(out)) == 0 &&
	          strcmp(out, "[code][link] [app_name]-[expiry_minutes]/[expiry].") == 0);
	CHECK("spaces inside", bracketed("a {{ code }} b {{code  }}", out, sizeof(out)) == 0 &&
	                           strcmp(out, "a [code] b [code]") == 0);
	CHECK("css braces", bracketed("p { color: red } {x}", out, sizeof(out)) == 0 &&
	                        strcmp(out, "p { color: red } {x}") == 0);
	CHECK("closing brace after",
	      bracketed("{{code}}}", out, sizeof(out)) == 0 && strcmp(out, "[code]}") == 0);
	CHECK("unknown name",
	      bracketed("Hi {{name}}", out, sizeof(out)) == -1 && strcmp(out, "Hi ") == 0);
	CHECK("upper case", bracketed("{{CODE}}", out, sizeof(out)) == -1);
	CHECK("three braces", bracketed("{{{code}}", out, sizeof(out)) == -1);
	CHECK("unclosed", bracketed("{{code", out, sizeof(out)) == -1);
	CHECK("one closing brace", bracketed("{{code}", out, sizeof(out)) == -1);
	CHECK("bare {{ at the end", bracketed("x {{", out, sizeof(out)) == -1);
	CHECK("prefix of a name", bracketed("{{expiry_min}}", out, sizeof(out)) == -1);
}

static void
check_accepts_good_templates(void)
{
	CHECK("subject",
	      check("Dein Code f\xc3\xbcr {{app_name}}", CV_PART_SUBJECT) == 0 && why[0] == '\0');
	CHECK("subject without placeholders", check("Hello", CV_PART_SUBJECT) == 0);
	CHECK("text with tab and LF", check("Code:\t{{code}}\n\n{{link}}\n", CV_PART_TEXT) == 0);
	CHECK("html with only the link", check("<a href=\"{{link}}\">go</a>", CV_PART_HTML) == 0);
	CHECK("four-byte UTF-8", check("\xf0\x9f\x94\x91 {{code}}", CV_PART_TEXT) == 0);
}

static void
check_refuses_bad_templates(void)
{
	char *big;

	CHECK("empty", check("", CV_PART_SUBJECT) == -1 && strstr(why, "empty") != NULL);
	CHECK("NULL", check(NULL, CV_PART_TEXT) == -1);
	CHECK("unknown placeholder named",
	      check("Hi {{first_name}}, {{code}}", CV_PART_TEXT) == -1 &&
	          strstr(why, "\"{{first_name}}\"") != NULL);
	CHECK("subject with LF",
	      check("a\nBcc: x@y", CV_PART_SUBJECT) == -1 && strstr(why, "one line") != NULL);
	CHECK("subject with tab", check("a\tb", CV_PART_SUBJECT) == -1);
	CHECK("body with CR", check("{{code}}\r\n", CV_PART_TEXT) == -1);
	CHECK("body with DEL", check("{{code}}\x7f", CV_PART_HTML) == -1);
	CHECK("invalid UTF-8",
	      check("caf\xe9 {{code}}", CV_PART_TEXT) == -1 && strstr(why, "UTF-8") != NULL);
	CHECK("overlong UTF-8", check("\xc0\xaf {{code}}", CV_PART_TEXT) == -1);
	CHECK("surrogate", check("\xed\xa0\x80 {{code}}", CV_PART_TEXT) == -1);
	CHECK("truncated sequence", check("{{code}} \xe2\x82", CV_PART_TEXT) == -1);
	CHECK("useless body",
	      check("Hello {{app_name}}", CV_PART_HTML) == -1 && strstr(why, "{{code}}") != NULL);

	big = malloc(CV_TEMPLATE_BODY_MAX + 2);
	if (big != NULL) {
		memset(big, 'a', CV_TEMPLATE_BODY_MAX + 1);
		memcpy(big, "{{code}}", 8);
		big[CV_TEMPLATE_BODY_MAX] = '\0';
		CHECK("body of the largest size", check(big, CV_PART_TEXT) == 0);
		big[CV_TEMPLATE_BODY_MAX] = 'a';
		big[CV_TEMPLATE_BODY_MAX + 1] = '\0';
		CHECK("body one byte too long",
		      check(big, CV_PART_TEXT) == -1 && strstr(why, "longer") != NULL);
		big[CV_TEMPLATE_SUBJECT_MAX + 1] = '\0';
		CHECK("subject too long", check(big, CV_PART_SUBJECT) == -1);
		free(big);
	}
}

static void
locale_ranges_match_whole_subtags(void)
{
	CHECK("empty covers all", cv_locale_covers("", "de-AT") && cv_locale_covers("", NULL));
	CHECK("equal", cv_locale_covers("de", "de"));
	CHECK("prefix", cv_locale_covers("de", "de-AT") && cv_locale_covers("de-at", "de-AT-1996"));
	CHECK("any case", cv_locale_covers("de-at", "DE-at"));
	CHECK("underscore", cv_locale_covers("de-at", "de_AT") && cv_locale_covers("de", "de_AT"));
	CHECK("not a subtag prefix",
	      !cv_locale_covers("de", "den") && !cv_locale_covers("de-a", "de-at"));
	CHECK("longer range", !cv_locale_covers("de-at", "de"));
	CHECK("NULL locale", !cv_locale_covers("de", NULL));
	CHECK("other language", !cv_locale_covers("en", "de"));
}

static void
builtin_follows_the_locale(void)
{
	const struct cv_template *t;

	CHECK("de-AT -> de", (t = cv_template_builtin("login", "de-AT")) != NULL &&
	                         strcmp(t->lang, "de") == 0 &&
	                         strstr(t->subject, "Anmeldecode") != NULL);
	CHECK("de", (t = cv_template_builtin("verify_email", "de")) != NULL &&
	                strcmp(t->lang, "de") == 0);
	CHECK("en-US -> en",
	      (t = cv_template_builtin("login", "en-US")) != NULL && strcmp(t->lang, "en") == 0);
	CHECK("fr -> en",
	      (t = cv_template_builtin("login", "fr")) != NULL && strcmp(t->lang, "en") == 0);
	CHECK("NULL -> en", (t = cv_template_builtin("verify_email", NULL)) != NULL &&
	                        strcmp(t->lang, "en") == 0 &&
	                        strstr(t->subject, "Confirm") != NULL);
	CHECK("unknown purpose", cv_template_builtin("newsletter", "de") == NULL &&
	                             cv_template_builtin(NULL, "de") == NULL);
}

static void
builtins_pass_their_own_checks(void)
{
	const char *purposes[] = {"login", "verify_email"}, *locales[] = {"en", "de"};
	const struct cv_template *t;
	char label[96];
	size_t i, j;

	for (i = 0; i < 2; i++) {
		for (j = 0; j < 2; j++) {
			t = cv_template_builtin(purposes[i], locales[j]);
			snprintf(label, sizeof(label), "built-in %s/%s is valid", purposes[i],
			         locales[j]);
			CHECK(label, t != NULL && strcmp(t->lang, locales[j]) == 0 &&
			                 check(t->subject, CV_PART_SUBJECT) == 0 &&
			                 check(t->text, CV_PART_TEXT) == 0 &&
			                 check(t->html, CV_PART_HTML) == 0);
			snprintf(label, sizeof(label), "built-in %s/%s has code and link",
			         purposes[i], locales[j]);
			CHECK(label, t != NULL && strstr(t->text, "{{code}}") != NULL &&
			                 strstr(t->text, "{{link}}") != NULL &&
			                 strstr(t->html, "{{code}}") != NULL &&
			                 strstr(t->html, "href=\"{{link}}\"") != NULL);
		}
	}
}

static void
expiry_words_in_both_languages(void)
{
	long secs[] = {600, 61, 60, 1, 0, 7200, 7201, 86400, 3600 * 72, 3 * 86400 + 1, 30 * 86400};
	const char *en[] = {"10 minutes", "2 minutes",   "1 minute", "1 minute",
	                    "1 minute",   "120 minutes", "2 hours",  "24 hours",
	                    "72 hours",   "3 days",      "30 days"};
	const char *de[] = {"10 Minuten", "2 Minuten",   "1 Minute",  "1 Minute",
	                    "1 Minute",   "120 Minuten", "2 Stunden", "24 Stunden",
	                    "72 Stunden", "3 Tage",      "30 Tage"};
	char out[48], label[96];
	size_t i;

	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		cv_template_expiry(secs[i], NULL, out, sizeof(out));
		snprintf(label, sizeof(label), "%ld s in English: %s", secs[i], en[i]);
		CHECK(label, strcmp(out, en[i]) == 0);
		cv_template_expiry(secs[i], "de-AT", out, sizeof(out));
		snprintf(label, sizeof(label), "%ld s in German: %s", secs[i], de[i]);
		CHECK(label, strcmp(out, de[i]) == 0);
	}
	cv_template_expiry(3600, "de", out, sizeof(out));
	CHECK("one hour", strcmp(out, "60 Minuten") == 0);
	cv_template_expiry(86400 * 3 + 43200, "en", out, sizeof(out));
	CHECK("rounded days", strcmp(out, "4 days") == 0);
	cv_template_expiry(600, "en", out, 4);
	CHECK("cut to fit", strcmp(out, "10 ") == 0);
}

int
main(void)
{
	scanner_finds_every_placeholder();
	check_accepts_good_templates();
	check_refuses_bad_templates();
	locale_ranges_match_whole_subtags();
	builtin_follows_the_locale();
	builtins_pass_their_own_checks();
	expiry_words_in_both_languages();
	return unit_done();
}
