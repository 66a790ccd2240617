/*
 * request.c - reads the CGI/FastCGI request: environment, the size limit,
 * content-type dispatch to the JSON or form parser, and the field accessors
 * that turn missing or mistyped fields into the "errors" of a 1003 answer.
 */
#include "config.h"

#include <fcgi_stdio.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "form.h"
#include "request.h"
#include "utf8.h"

static const char *
env(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL ? v : fallback;
}

/* The request id nginx made ($request_id), or a fresh random one. */
static void
request_id(char *out)
{
	const char *given = getenv("REQUEST_ID");
	unsigned char raw[12];
	size_t i, n;

	if (given != NULL && (n = strlen(given)) > 0 && n <= CV_REQUEST_ID_MAX) {
		for (i = 0; i < n; i++)
			if (!isalnum((unsigned char)given[i]) && given[i] != '-' && given[i] != '_')
				break;
		if (i == n) {
			memcpy(out, given, n + 1);
			return;
		}
	}
	if (cv_random_bytes(raw, sizeof(raw)) != 0)
		memset(raw, 0, sizeof(raw));
	cv_hex_encode(raw, sizeof(raw), out);
}

int
cv_request_field_error(struct cv_request *req, const char *field, const char *message)
{
	struct json_object *list;

	if (req->field_errors == NULL && (req->field_errors = json_object_new_object()) == NULL)
		return -1;
	if (!json_object_object_get_ex(req->field_errors, field, &list)) {
		if ((list = json_object_new_array()) == NULL)
			return -1;
		json_object_object_add(req->field_errors, field, list);
	}
	return json_object_array_add(list, json_object_new_string(message));
}

/* The media type of the Content-Type ct, lowercased, without parameters. */
static void
media_type(const char *ct, char *out, size_t outlen)
{
	size_t n = 0;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	while (*ct != '\0' && *ct != ';' && *ct != ' ' && *ct != '\t' && n + 1 < outlen)
		out[n++] = (char)tolower((unsigned char)*ct++);
	out[n] = '\0';
}

static int
is_json_type(const char *type)
{
	size_t n = strlen(type);

	return strcmp(type, "application/json") == 0 ||
	       (strncmp(type, "application/", 12) == 0 && n > 17 &&
	        strcmp(type + n - 5, "+json") == 0);
}

/* Reads up to CV_BODY_MAX bytes of standard input into a new buffer. */
static enum cv_err
read_body(char **out, size_t *outlen)
{
	const char *cl = getenv("CONTENT_LENGTH");
	char *buf, *end;
	unsigned long long declared = 0;
	size_t len = 0, got, want;

	*out = NULL;
	*outlen = 0;
	if (cl != NULL && *cl != '\0') {
		declared = strtoull(cl, &end, 10);
		if (*end != '\0' || *cl == '-')
			return CV_ERR_INVALID_INPUT;
		if (declared > CV_BODY_MAX)
			return CV_ERR_BODY_TOO_LARGE;
	}
	if ((buf = malloc(CV_BODY_MAX + 1)) == NULL)
		return CV_ERR_INTERNAL;
	/* With CONTENT_LENGTH read exactly that much (RFC 3875 4.2: never
	 * more); without it (plain CGI, chunked) read to the end, bounded. */
	while (len <= CV_BODY_MAX && (cl == NULL || *cl == '\0' || len < declared)) {
		want = CV_BODY_MAX + 1 - len;
		if (cl != NULL && *cl != '\0' && want > declared - len)
			want = (size_t)(declared - len);
		got = fread(buf + len, 1, want, stdin);
		if (got == 0)
			break;
		len += got;
	}
	if (len > CV_BODY_MAX) {
		free(buf);
		return CV_ERR_BODY_TOO_LARGE;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return CV_OK;
}

static enum cv_err
parse_json(struct cv_request *req, const char *body, size_t len)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum cv_err err = CV_ERR_INVALID_INPUT;

	if (!cv_utf8_valid(body, len)) {
		cv_request_field_error(req, "body", "The request body is not valid UTF-8.");
		return err;
	}
	if ((tok = json_tokener_new_ex(16)) == NULL)
		return CV_ERR_INTERNAL;
	/* RFC 8259 only: no trailing commas, single quotes or bare words. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		/* Trailing white space after the value is fine. */
		size_t end = json_tokener_get_parse_end(tok);

		while (obj != NULL && end < len && isspace((unsigned char)body[end]))
			end++;
		if (obj == NULL || end != len) {
			json_object_put(obj);
			cv_request_field_error(req, "body", "The request body is not valid JSON.");
			goto out;
		}
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		cv_request_field_error(req, "body", "The request body must be a JSON object.");
		goto out;
	}
	req->body = obj;
	err = CV_OK;
out:
	json_tokener_free(tok);
	return err;
}

enum cv_err
cv_request_parse(struct cv_request *req, const char *content_type, const char *body, size_t len)
{
	char type[96];
	enum cv_err err;

	media_type(content_type != NULL ? content_type : "", type, sizeof(type));
	while (len > 0 && isspace((unsigned char)body[len - 1]) && type[0] == '\0')
		len--;
	if (len == 0) {
		req->body = json_object_new_object();
		err = req->body != NULL ? CV_OK : CV_ERR_INTERNAL;
	} else if (is_json_type(type) || (type[0] == '\0' && body[strspn(body, " \t\r\n")] == '{')) {
		err = parse_json(req, body, len);
	} else if (strcmp(type, "application/x-www-form-urlencoded") == 0 || type[0] == '\0') {
		err = cv_form_parse(body, len, &req->body);
		if (err == CV_ERR_INVALID_INPUT)
			cv_request_field_error(req, "body", "The request body is not a valid form.");
	} else {
		err = CV_ERR_UNSUPPORTED_MEDIA;
	}
	return err;
}

enum cv_err
cv_request_read(struct cv_request *req, int want_body)
{
	char *body = NULL;
	size_t len = 0;
	const char *p;
	enum cv_err err;

	memset(req, 0, sizeof(*req));
	req->method = env("REQUEST_METHOD", "GET");
	p = env("PATH_INFO", "");
	while (*p == '/')
		p++;
	req->path_info = p;
	req->authorization = getenv("HTTP_AUTHORIZATION");
	req->remote_addr = env("REMOTE_ADDR", "");
	request_id(req->request_id);
	if (!want_body)
		return (req->body = json_object_new_object()) != NULL ? CV_OK : CV_ERR_INTERNAL;

	if ((err = read_body(&body, &len)) != CV_OK)
		goto out;
	err = cv_request_parse(req, getenv("CONTENT_TYPE"), body, len);
out:
	free(body);
	return err;
}

void
cv_request_free(struct cv_request *req)
{
	json_object_put(req->body);
	json_object_put(req->field_errors);
	req->body = NULL;
	req->field_errors = NULL;
}

const char *
cv_request_string(struct cv_request *req, const char *field, size_t max, int allow_number,
                  char *scratch, size_t scratchlen)
{
	struct json_object *v;
	const char *s;
	char msg[128];
	size_t len;

	if (req->body == NULL || !json_object_object_get_ex(req->body, field, &v) || v == NULL) {
		snprintf(msg, sizeof(msg), "The %s field is required.", field);
		goto bad;
	}
	if (allow_number && json_object_is_type(v, json_type_int)) {
		snprintf(scratch, scratchlen, "%lld", (long long)json_object_get_int64(v));
		return scratch;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(msg, sizeof(msg), "The %s must be a string.", field);
		goto bad;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (memchr(s, '\0', len) != NULL || !cv_utf8_valid(s, len)) {
		snprintf(msg, sizeof(msg), "The %s must be valid UTF-8 text.", field);
		goto bad;
	}
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0) {
		snprintf(msg, sizeof(msg), "The %s field is required.", field);
		goto bad;
	}
	if (len > max) {
		snprintf(msg, sizeof(msg), "The %s may not be greater than %zu characters.", field, max);
		goto bad;
	}
	if (len >= scratchlen) {
		snprintf(msg, sizeof(msg), "The %s is too long.", field);
		goto bad;
	}
	memcpy(scratch, s, len);
	scratch[len] = '\0';
	return scratch;
bad:
	cv_request_field_error(req, field, msg);
	return NULL;
}
