/*
 * form.c - the urlencoded body parser.  Decodes in place into a scratch copy,
 * so a field is never longer than its encoded text.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "form.h"

int
cv_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k;
	unsigned long cp;

	while (i < len) {
		if (s[i] == 0)
			return 0;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
		} else {
			return 0;
		}
		if (n >= len - i)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and values past U+10FFFF. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += n + 1;
	}
	return 1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
cv_form_decode(char *s, size_t len)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] == '+') {
			s[o++] = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= len)
				return -1;
			if ((hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
				return -1;
			s[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			s[o++] = s[i];
		}
	}
	if (!cv_utf8_valid(s, o))
		return -1;
	s[o] = '\0';
	return (long)o;
}

enum cv_err
cv_form_parse(const char *body, size_t len, struct json_object **out)
{
	struct json_object *obj = NULL, *value;
	char *copy = NULL, *pair, *end, *eq;
	long nlen, vlen;
	enum cv_err err = CV_ERR_INVALID_INPUT;

	*out = NULL;
	if ((obj = json_object_new_object()) == NULL || (copy = malloc(len + 1)) == NULL) {
		err = CV_ERR_INTERNAL;
		goto out;
	}
	memcpy(copy, body, len);
	copy[len] = '\0';
	if (memchr(copy, '\0', len) != NULL)
		goto out;
	for (pair = copy; pair < copy + len; pair = end + 1) {
		if ((end = strchr(pair, '&')) == NULL)
			end = copy + len;
		*end = '\0';
		if (*pair == '\0')
			continue;
		if ((eq = strchr(pair, '=')) != NULL)
			*eq++ = '\0';
		else
			eq = end;   /* "name" alone: an empty value */
		if ((nlen = cv_form_decode(pair, strlen(pair))) <= 0 ||
		    (vlen = cv_form_decode(eq, strlen(eq))) < 0)
			goto out;
		if ((value = json_object_new_string_len(eq, (int)vlen)) == NULL) {
			err = CV_ERR_INTERNAL;
			goto out;
		}
		json_object_object_add(obj, pair, value);
	}
	*out = obj;
	obj = NULL;
	err = CV_OK;
out:
	free(copy);
	json_object_put(obj);
	return err;
}
