/*
 * form.c - the urlencoded body parser.  Decodes in place into a scratch copy,
 * so a field is never longer than its encoded text.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "form.h"
#include "utf8.h"

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
			if ((hi = cv_hex_digit(s[i + 1])) < 0 || (lo = cv_hex_digit(s[i + 2])) < 0)
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
