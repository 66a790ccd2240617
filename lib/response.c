/*
 * response.c - serialises answers.  Every answer carries X-Request-Id and
 * Cache-Control: no-store (they hold codes' outcomes and tokens).
 */
#include "config.h"

/* fcgi_stdio.h turns printf into FCGI_printf, which knows no %zu or %lld. */
#include <fcgi_stdio.h>

#include <stdint.h>
#include <string.h>

#include "response.h"

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default:  return "Internal Server Error";
	}
}

/* The RFC 6749 section 5.2 error code for err. */
static const char *
oauth_error(enum cv_err err)
{
	switch (err) {
	case CV_ERR_UNAUTHENTICATED:
	case CV_ERR_ACCOUNT_INACTIVE:
		return "invalid_client";
	case CV_ERR_UNSUPPORTED_GRANT:
		return "unsupported_grant_type";
	case CV_ERR_TOO_MANY_ATTEMPTS:
		return "slow_down";
	case CV_ERR_UNAVAILABLE:
		return "temporarily_unavailable";
	case CV_ERR_INTERNAL:
		return "server_error";
	default:
		return "invalid_request";
	}
}

static void
write_answer(const struct cv_request *req, int status, const char *extra, struct json_object *doc)
{
	const char *text;
	size_t len;

	text = doc != NULL ? json_object_to_json_string_length(doc,
	                         JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)
	                   : NULL;
	if (text == NULL) {
		status = 500;
		text = "{\"message\":\"Internal error.\",\"code\":1500,\"status_code\":500}";
		len = strlen(text);
		extra = "";
	}
	printf("Status: %d %s\r\n"
	       "Content-Type: application/json\r\n"
	       "Cache-Control: no-store\r\n"
	       "X-Content-Type-Options: nosniff\r\n"
	       "X-Request-Id: %s\r\n"
	       "Content-Length: %lu\r\n"
	       "%s\r\n",
	       status, reason(status), req->request_id, (unsigned long)len, extra);
	if (strcmp(req->method, "HEAD") != 0)
		fwrite((void *)(uintptr_t)text, 1, len, stdout);
}

int
cv_respond_ok(const struct cv_request *req, const struct cv_reply *reply)
{
	struct json_object *doc = reply->document;

	if (doc != NULL) {
		json_object_get(doc);
	} else if ((doc = json_object_new_object()) != NULL) {
		json_object_object_add(doc, "data", json_object_get(reply->data));
		json_object_object_add(doc, "meta", reply->meta_object ? json_object_new_object()
		                                                       : json_object_new_array());
	}
	write_answer(req, 200, reply->oauth ? "Pragma: no-cache\r\n" : "", doc);
	json_object_put(doc);
	return doc != NULL ? 200 : 500;
}

int
cv_respond_error(const struct cv_request *req, enum cv_err err, const struct cv_reply *reply)
{
	const struct cv_err_info *info = cv_err_info(err);
	struct json_object *doc;
	char extra[256] = "";

	if (reply != NULL && reply->oauth) {
		if ((doc = json_object_new_object()) != NULL) {
			json_object_object_add(doc, "error", json_object_new_string(oauth_error(err)));
			json_object_object_add(doc, "error_description",
			                       json_object_new_string(reply->description != NULL
			                                                  ? reply->description
			                                                  : info->message));
		}
		if (info->status == 401)
			snprintf(extra, sizeof(extra),
			         "WWW-Authenticate: Basic realm=\"contact-verify\"\r\n"
			         "Pragma: no-cache\r\n");
		else if (info->status == 429)
			snprintf(extra, sizeof(extra), "Retry-After: %d\r\nPragma: no-cache\r\n",
			         reply->retry_after > 0 ? reply->retry_after : 60);
		else if (info->status == 405 && reply->allow != NULL)
			snprintf(extra, sizeof(extra), "Allow: %s\r\nPragma: no-cache\r\n", reply->allow);
		else
			snprintf(extra, sizeof(extra), "Pragma: no-cache\r\n");
		write_answer(req, info->status, extra, doc);
		json_object_put(doc);
		return doc != NULL ? info->status : 500;
	}
	if ((doc = json_object_new_object()) != NULL) {
		json_object_object_add(doc, "message", json_object_new_string(info->message));
		json_object_object_add(doc, "code", json_object_new_int(info->code));
		json_object_object_add(doc, "status_code", json_object_new_int(info->status));
		if (err == CV_ERR_INVALID_INPUT && req->field_errors != NULL)
			json_object_object_add(doc, "errors", json_object_get(req->field_errors));
	}
	if (info->status == 401)
		snprintf(extra, sizeof(extra), "WWW-Authenticate: Bearer realm=\"contact-verify\"%s\r\n",
		         (reply != NULL && reply->bad_token) || err == CV_ERR_TOKEN_EXPIRED
		             ? ", error=\"invalid_token\"" : "");
	else if (info->status == 405 && reply != NULL && reply->allow != NULL)
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", reply->allow);
	else if (info->status == 429)
		snprintf(extra, sizeof(extra), "Retry-After: %d\r\n",
		         reply != NULL && reply->retry_after > 0 ? reply->retry_after : 60);
	write_answer(req, info->status, extra, doc);
	json_object_put(doc);
	return doc != NULL ? info->status : 500;
}
