/*
 * fuzz_json_body.c - body extraction (lib/request.c cv_request_parse: the
 * Content-Type dispatch, the JSON parser and the form parser) and the field
 * accessor cv_request_string that every endpoint reads its fields with.
 * Input: the Content-Type, '\n', the body; without a '\n' there is no
 * Content-Type and the whole input is the body.
 * Links: lib/request.c lib/form.c lib/utf8.c lib/crypto.c
 *
 * Invariants: the result is CV_OK, CV_ERR_INVALID_INPUT or
 * CV_ERR_UNSUPPORTED_MEDIA; CV_OK gives an object nested at most 16 deep and
 * no field errors, an error gives no body, and CV_ERR_INVALID_INPUT names the
 * body in the field errors.  A string read from it is NUL-terminated in the
 * caller's buffer, non-empty, trimmed, at most max bytes and valid UTF-8 (an
 * integer: its whole decimal text); a refused field is named in the field
 * errors.  The body is read as exactly len bytes (no NUL after them).
 */
#include <ctype.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "request.h"
#include "utf8.h"

/* Depth of nesting of v: 1 for a scalar or an empty container. */
static int
depth(struct json_object *v)
{
	int d = 0, k;
	size_t i, n;

	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, name, member)
		{
			(void)name;
			if ((k = depth(member)) > d)
				d = k;
		}
	} else if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if ((k = depth(json_object_array_get_idx(v, i))) > d)
				d = k;
	}
	return d + 1;
}

/* Reads field as an endpoint does and checks what comes back. */
static void
read_field(struct cv_request *req, const char *field, size_t max, int allow_number,
           size_t scratchlen)
{
	char *scratch = malloc(scratchlen);
	struct json_object *errors;
	char number[32];
	const char *s;
	size_t n;

	FUZZ_CHECK(scratch != NULL);
	s = cv_request_string(req, field, max, allow_number, scratch, scratchlen);
	if (s == NULL) {
		FUZZ_CHECK(req->field_errors != NULL &&
		           json_object_object_get_ex(req->field_errors, field, &errors) &&
		           json_object_array_length(errors) > 0);
	} else {
		FUZZ_CHECK(s == scratch);
		n = strlen(s);
		FUZZ_CHECK(n > 0 && n < scratchlen && cv_utf8_valid(s, n));
		FUZZ_CHECK(!isspace((unsigned char)s[0]) && !isspace((unsigned char)s[n - 1]));
		FUZZ_CHECK(n <= max);
		/* An integer is its whole decimal text. */
		if (allow_number &&
		    json_object_is_type(json_object_object_get(req->body, field), json_type_int)) {
			snprintf(number, sizeof(number), "%lld",
			         (long long)json_object_get_int64(
			             json_object_object_get(req->body, field)));
			FUZZ_CHECK(strcmp(s, number) == 0);
		}
	}
	free(scratch);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *content_type = NULL, *body;
	struct cv_request req;
	size_t len;
	enum cv_err err;

	if (nl != NULL) {
		content_type = fuzz_strndup(data, (size_t)(nl - data));
		FUZZ_CHECK(content_type != NULL);
		size -= (size_t)(nl + 1 - data);
		data = nl + 1;
	}
	len = size;
	/* Exactly len bytes: the parser must not look for a NUL after them. */
	body = malloc(len > 0 ? len : 1);
	FUZZ_CHECK(body != NULL);
	memcpy(body, data, len);

	memset(&req, 0, sizeof(req));
	err = cv_request_parse(&req, content_type, body, len);
	FUZZ_CHECK(err == CV_OK || err == CV_ERR_INVALID_INPUT || err == CV_ERR_UNSUPPORTED_MEDIA);
	if (err == CV_OK) {
		FUZZ_CHECK(req.body != NULL && json_object_is_type(req.body, json_type_object));
		FUZZ_CHECK(req.field_errors == NULL);
		FUZZ_CHECK(depth(req.body) <= 16);
		json_object_object_foreach(req.body, name, value)
		{
			(void)value;
			read_field(&req, name, CV_BODY_MAX, 0, 256);
			read_field(&req, name, 64, 1, 65);
		}
		/* As the endpoints read them (CV_EMAIL_MAX, CV_CODE_INPUT_MAX). */
		read_field(&req, "email", 254, 0, 255);
		read_field(&req, "code", 64, 1, 65);
	} else {
		FUZZ_CHECK(req.body == NULL);
		if (err == CV_ERR_INVALID_INPUT)
			FUZZ_CHECK(req.field_errors != NULL &&
			           json_object_object_get_ex(req.field_errors, "body", NULL));
	}
	cv_request_free(&req);
	free(body);
	free(content_type);
	return 0;
}
