/*
 * fuzz_form.c - the urlencoded body parser (lib/form.c): cv_form_parse on
 * the input as a body, cv_form_decode on it as one field.
 * Links: lib/form.c lib/utf8.c lib/crypto.c
 *
 * Invariants: a parsed form is an object of strings whose names and values
 * are non-empty (names) valid UTF-8 without NUL, never longer than the body;
 * it has no more members than the body has '&'-separated pairs; encoding it
 * again and parsing that gives the same object.  A decoded field is
 * NUL-terminated, no longer than its text and valid UTF-8, and decodes again
 * to itself after percent-encoding.
 */
#include <json-c/json.h>

#include "form.h"
#include "fuzz.h"
#include "utf8.h"

/* Appends the percent-encoding of s[0..n) (every byte but unreserved ones)
 * to out at *o. */
static void
encode(const char *s, size_t n, char *out, size_t *o)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			out[(*o)++] = (char)c;
		} else {
			out[(*o)++] = '%';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 15];
		}
	}
}

static void
check_form(const uint8_t *data, size_t size)
{
	struct json_object *form = NULL, *again = NULL;
	size_t pairs = 1, members = 0, o = 0, i;
	enum cv_err err;
	char *text;

	err = cv_form_parse((const char *)data, size, &form);
	FUZZ_CHECK(err == CV_OK || err == CV_ERR_INVALID_INPUT);
	if (err != CV_OK) {
		FUZZ_CHECK(form == NULL);
		return;
	}
	FUZZ_CHECK(json_object_is_type(form, json_type_object));
	for (i = 0; i < size; i++)
		pairs += data[i] == '&';
	/* Every byte of the body becomes at most three when encoded again. */
	text = malloc(3 * size + 2);
	FUZZ_CHECK(text != NULL);
	json_object_object_foreach(form, name, value)
	{
		const char *v = json_object_get_string(value);
		size_t nlen = strlen(name), vlen = (size_t)json_object_get_string_len(value);

		members++;
		FUZZ_CHECK(json_object_is_type(value, json_type_string));
		FUZZ_CHECK(nlen > 0 && nlen <= size && cv_utf8_valid(name, nlen));
		FUZZ_CHECK(vlen <= size && cv_utf8_valid(v, vlen));
		if (o > 0)
			text[o++] = '&';
		encode(name, nlen, text, &o);
		text[o++] = '=';
		encode(v, vlen, text, &o);
		FUZZ_CHECK(o <= 3 * size + 1);
	}
	FUZZ_CHECK(members <= pairs);
	FUZZ_CHECK(cv_form_parse(text, o, &again) == CV_OK);
	FUZZ_CHECK(json_object_equal(form, again));
	json_object_put(again);
	json_object_put(form);
	free(text);
}

static void
check_decode(const uint8_t *data, size_t size)
{
	char *field = fuzz_strndup(data, size), *text, *back;
	size_t o = 0;
	long n;

	FUZZ_CHECK(field != NULL);
	if ((n = cv_form_decode(field, size)) >= 0) {
		FUZZ_CHECK((size_t)n <= size && field[n] == '\0');
		FUZZ_CHECK(cv_utf8_valid(field, (size_t)n));
		text = malloc(3 * (size_t)n + 1);
		FUZZ_CHECK(text != NULL);
		encode(field, (size_t)n, text, &o);
		back = fuzz_strndup((const uint8_t *)text, o);
		FUZZ_CHECK(back != NULL);
		FUZZ_CHECK(cv_form_decode(back, o) == n && memcmp(back, field, (size_t)n) == 0);
		free(back);
		free(text);
	}
	free(field);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_form(data, size);
	check_decode(data, size);
	return 0;
}
