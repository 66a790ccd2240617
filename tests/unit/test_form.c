/*
 * test_form.c - the urlencoded parser and the UTF-8 check.
 */
#include "config.h"

#include <string.h>

#include "form.h"
#include "utf8.h"
#include "unit.h"

static const char *
field(struct json_object *obj, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, name, &v) ? json_object_get_string(v) : NULL;
}

static enum cv_err
parse(const char *body, struct json_object **out)
{
	return cv_form_parse(body, strlen(body), out);
}

static void
form_decodes_plus_and_percent(void)
{
	struct json_object *obj = NULL;
	const char *v;

	CHECK("parses", parse("email=a%2Bb%40example.com&code=12+34&flag", &obj) == CV_OK);
	v = field(obj, "email");
	CHECK("percent decoded", v != NULL && strcmp(v, "a+b@example.com") == 0);
	v = field(obj, "code");
	CHECK("plus is space", v != NULL && strcmp(v, "12 34") == 0);
	v = field(obj, "flag");
	CHECK("bare name is empty", v != NULL && strcmp(v, "") == 0);
	json_object_put(obj);
}

static void
form_rejects_bad_escapes_nul_and_bad_utf8(void)
{
	struct json_object *obj = NULL;

	CHECK("truncated escape", parse("email=%4", &obj) == CV_ERR_INVALID_INPUT && obj == NULL);
	CHECK("non-hex escape", parse("email=%zz", &obj) == CV_ERR_INVALID_INPUT);
	CHECK("encoded NUL", parse("email=a%00b", &obj) == CV_ERR_INVALID_INPUT);
	CHECK("raw NUL", cv_form_parse("a=b\0c", 5, &obj) == CV_ERR_INVALID_INPUT);
	CHECK("invalid utf-8", parse("email=%C3%28", &obj) == CV_ERR_INVALID_INPUT);
	CHECK("empty name", parse("=x", &obj) == CV_ERR_INVALID_INPUT);
}

static void
form_last_duplicate_wins_and_empty_pairs_skip(void)
{
	struct json_object *obj = NULL;
	const char *v;

	CHECK("parses", parse("&a=1&&a=2&", &obj) == CV_OK);
	v = field(obj, "a");
	CHECK("last wins", v != NULL && strcmp(v, "2") == 0);
	json_object_put(obj);
}

static void
utf8_check_refuses_overlong_surrogates_and_truncation(void)
{
	CHECK("ascii", cv_utf8_valid("abc", 3));
	CHECK("two bytes", cv_utf8_valid("\xc3\xa9", 2));
	CHECK("four bytes", cv_utf8_valid("\xf0\x9f\x98\x80", 4));
	CHECK("overlong /", !cv_utf8_valid("\xc0\xaf", 2));
	CHECK("surrogate", !cv_utf8_valid("\xed\xa0\x80", 3));
	CHECK("truncated", !cv_utf8_valid("\xe2\x82", 2));
	CHECK("past U+10FFFF", !cv_utf8_valid("\xf4\x90\x80\x80", 4));
}

int
main(void)
{
	form_decodes_plus_and_percent();
	form_rejects_bad_escapes_nul_and_bad_utf8();
	form_last_duplicate_wins_and_empty_pairs_skip();
	utf8_check_refuses_overlong_surrogates_and_truncation();
	return unit_done();
}
