/*
 * response.c - serialises answers in the envelope of each dialect: the
 * Contact Verification API (README "API, Errors"), OAuth (RFC 6749 section 5), the Users
 * Orchestrator's v4 and legacy forms (README "Users Orchestrator API") and HTML pages.  Every
 * answer carries X-Request-Id and Cache-Control: no-store (they hold codes'
 * outcomes and tokens).
 */
#include "config.h"

/* fcgi_stdio.h turns printf into FCGI_printf, which knows no %zu or %lld. */
#include <fcgi_stdio.h>

#include <stdint.h>
#include <string.h>

#include "html.h"
#include "response.h"

#define PAGE_HEADERS                                                                   \
	"Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "     \
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"              \
	"Referrer-Policy: no-referrer\r\n"                                             \
	"X-Frame-Options: DENY\r\n"

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 429: return "Too Many Requests";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default:  return "Internal Server Error";
	}
}

/* Writes status line, headers and body (not for HEAD). */
/* cache: the Cache-Control value, NULL for no-store (every answer but the
 * public documents of /.well-known). */
static void
write_raw(const struct cv_request *req, int status, const char *type, const char *extra,
          const char *cache, const char *body, size_t len)
{
	if (status == 204) {
		printf("Status: 204 No Content\r\nX-Request-Id: %s\r\n%s\r\n", req->request_id, extra);
		return;
	}
	if (status == 304) {
		printf("Status: 304 Not Modified\r\nCache-Control: %s\r\nX-Request-Id: %s\r\n%s\r\n",
		       cache != NULL ? cache : "no-store", req->request_id, extra);
		return;
	}
	printf("Status: %d %s\r\n"
	       "Content-Type: %s\r\n"
	       "Cache-Control: %s\r\n"
	       "X-Content-Type-Options: nosniff\r\n"
	       "X-Request-Id: %s\r\n"
	       "Content-Length: %lu\r\n"
	       "%s\r\n",
	       status, reason(status), type, cache != NULL ? cache : "no-store", req->request_id,
	       (unsigned long)len, extra);
	if (strcmp(req->method, "HEAD") != 0)
		fwrite((void *)(uintptr_t)body, 1, len, stdout);
}

/* Writes doc as JSON (a fixed 1500 envelope when doc is NULL: out of memory).
 * Returns the status written. */
static int
write_json(const struct cv_request *req, int status, const char *extra, const char *cache,
           struct json_object *doc)
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
	write_raw(req, status, "application/json", extra, cache, text, len);
	return status;
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

/* The Users Orchestrator code and text for err (the table of README's
 * "Users Orchestrator API, Errors"); detail completes "Invalid InputModel - {detail}". */
static void
uo_error(enum cv_err err, const char *detail, const char **code, char *text, size_t len)
{
	const char *fixed = NULL;

	switch (err) {
	case CV_ERR_INVALID_INPUT:
	case CV_ERR_UNSUPPORTED_MEDIA:
	case CV_ERR_BODY_TOO_LARGE:
		*code = "UsersOrchestrator_E400_00";
		snprintf(text, len, "Invalid InputModel - %s", detail);
		return;
	case CV_ERR_NOT_REGISTERED:
		*code = "UsersOrchestrator_E400_14";
		break;
	case CV_ERR_CODE_INVALID:
		*code = "UsersOrchestrator_E400_15";
		break;
	case CV_ERR_ALREADY_VERIFIED:
		*code = "UsersOrchestrator_E400_16";
		break;
	case CV_ERR_METHOD_NOT_ALLOWED:
	case CV_ERR_NOT_FOUND:
	case CV_ERR_BAD_REQUEST:
	case CV_ERR_REQUEST_TIMEOUT:
	case CV_ERR_PRECONDITION_FAILED:
	case CV_ERR_URI_TOO_LONG:
	case CV_ERR_EXPECTATION_FAILED:
		*code = "UsersOrchestrator_E400";
		fixed = "Bad Request";
		break;
	case CV_ERR_UNAUTHENTICATED:
	case CV_ERR_TOKEN_EXPIRED:
	case CV_ERR_ACCOUNT_INACTIVE:
		*code = "UsersOrchestrator_E401";
		fixed = "Unauthorized";
		break;
	case CV_ERR_TOO_MANY_ATTEMPTS:
		*code = "UsersOrchestrator_E429";
		fixed = "Too many requests";
		break;
	default:
		*code = "UsersOrchestrator_E500";
		fixed = "Internal Server Error";
		break;
	}
	snprintf(text, len, "%s", fixed != NULL ? fixed : cv_err_info(err)->message);
}

/* The first message of req->field_errors, or NULL. */
static const char *
first_field_error(const struct cv_request *req)
{
	struct json_object_iterator it, end;
	struct json_object *list;

	if (req->field_errors == NULL)
		return NULL;
	it = json_object_iter_begin(req->field_errors);
	end = json_object_iter_end(req->field_errors);
	if (json_object_iter_equal(&it, &end))
		return NULL;
	list = json_object_iter_peek_value(&it);
	return json_object_array_length(list) > 0
	           ? json_object_get_string(json_object_array_get_idx(list, 0)) : NULL;
}

struct json_object *
cv_uo_envelope(const struct cv_request *req, enum cv_dialect dialect, int status,
               const char *code, const char *text)
{
	struct json_object *doc = json_object_new_object(), *message, *errors, *item, *type;
	int ok = status < 400;

	if (doc == NULL)
		return NULL;
	if (dialect == CV_DIALECT_UO) {
		if ((message = json_object_new_object()) != NULL) {
			json_object_object_add(message, "code", json_object_new_string(code));
			json_object_object_add(message, "text", json_object_new_string(text));
			json_object_object_add(message, "type", json_object_new_int(ok ? 0 : 1));
		}
		json_object_object_add(doc, "message", message);
		json_object_object_add(doc, "meta", json_object_new_string(req->request_id));
		return doc;
	}
	json_object_object_add(doc, "Code", json_object_new_int(ok ? 0 : status));
	errors = json_object_new_array();
	if (!ok && errors != NULL && (item = json_object_new_object()) != NULL) {
		json_object_object_add(item, "Message", json_object_new_string(text));
		json_object_object_add(item, "Code", json_object_new_string(code));
		if ((type = json_object_new_object()) != NULL) {
			json_object_object_add(type, "Id", json_object_new_int(1));
			json_object_object_add(type, "Code", json_object_new_string("Error"));
		}
		json_object_object_add(item, "Type", type);
		json_object_object_add(item, "ErrorSource", json_object_new_string("UsersOrchestrator"));
		json_object_array_add(errors, item);
	}
	json_object_object_add(doc, "Errors", errors);
	if (ok) {
		if ((item = json_object_new_object()) != NULL)
			json_object_object_add(item, "Done", json_object_new_string("true"));
		json_object_object_add(doc, "Result", item);
	} else {
		json_object_object_add(doc, "Result", NULL);
	}
	/* No sessions here: the request id names the exchange in both. */
	json_object_object_add(doc, "SessionId", json_object_new_string(req->request_id));
	json_object_object_add(doc, "RequestId", json_object_new_string(req->request_id));
	return doc;
}

int
cv_respond_ok(const struct cv_request *req, const struct cv_reply *reply)
{
	struct json_object *doc = reply->document;
	int status = reply->status != 0 ? reply->status : 200;
	const char *more = reply->headers != NULL ? reply->headers : "";
	char extra[4096];

	if (status == 204 || status == 304) {
		write_raw(req, status, NULL, more, reply->cache_control, "", 0);
		return status;
	}
	if (reply->html != NULL) {
		snprintf(extra, sizeof(extra), "%s%s%s%s", reply->headers != NULL ? more : PAGE_HEADERS,
		         reply->location != NULL ? "Location: " : "",
		         reply->location != NULL ? reply->location : "",
		         reply->location != NULL ? "\r\n" : "");
		write_raw(req, status, "text/html; charset=utf-8", extra, NULL, reply->html,
		          strlen(reply->html));
		return status;
	}
	if (doc != NULL) {
		json_object_get(doc);
	} else if ((doc = json_object_new_object()) != NULL) {
		json_object_object_add(doc, "data", json_object_get(reply->data));
		json_object_object_add(doc, "meta", reply->meta_object ? json_object_new_object()
		                                                       : json_object_new_array());
	}
	status = write_json(req, status, reply->dialect == CV_DIALECT_OAUTH ? "Pragma: no-cache\r\n" : more,
	                    reply->cache_control, doc);
	json_object_put(doc);
	return status;
}

/* A small page for an error of the HTML dialect (when out of memory, the
 * status and headers without a body). */
static int
error_page(const struct cv_request *req, const struct cv_err_info *info, const char *extra)
{
	struct cv_buf page = {NULL, 0, 0, 0};
	char headers[512];

	cv_html_begin(&page, "en", reason(info->status), NULL);
	cv_html_body(&page, NULL);
	cv_buf_adds(&page, "<h1>");
	cv_html_text(&page, reason(info->status));
	cv_buf_adds(&page, "</h1>\n<p>Please try again later, or ask for a new email.</p>\n");
	cv_html_end(&page);
	snprintf(headers, sizeof(headers), PAGE_HEADERS "%s", extra);
	write_raw(req, info->status, "text/html; charset=utf-8", headers, NULL, cv_buf_str(&page),
	          strlen(cv_buf_str(&page)));
	cv_buf_wipe(&page);
	return info->status;
}

int
cv_respond_error(const struct cv_request *req, enum cv_err err, const struct cv_reply *reply)
{
	const struct cv_err_info *info = cv_err_info(err);
	enum cv_dialect dialect = reply != NULL ? reply->dialect : CV_DIALECT_CONTACT;
	const char *description = reply != NULL ? reply->description : NULL;
	struct json_object *doc = NULL;
	char extra[1024] = "", text[512];
	const char *code;
	int status;

	if (info->status == 401)
		snprintf(extra, sizeof(extra), "WWW-Authenticate: %s realm=\"contact-verify\"%s\r\n",
		         dialect == CV_DIALECT_OAUTH ? "Basic" : "Bearer",
		         dialect == CV_DIALECT_CONTACT &&
		                 ((reply != NULL && reply->bad_token) || err == CV_ERR_TOKEN_EXPIRED)
		             ? ", error=\"invalid_token\"" : "");
	else if (info->status == 405 && reply != NULL && reply->allow != NULL)
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", reply->allow);
	else if (info->status == 429)
		snprintf(extra, sizeof(extra), "Retry-After: %d\r\n",
		         reply != NULL && reply->retry_after > 0 ? reply->retry_after : 60);
	if (dialect == CV_DIALECT_OAUTH)
		strncat(extra, "Pragma: no-cache\r\n", sizeof(extra) - strlen(extra) - 1);
	else if (dialect != CV_DIALECT_HTML && reply != NULL && reply->headers != NULL)
		strncat(extra, reply->headers, sizeof(extra) - strlen(extra) - 1);

	switch (dialect) {
	case CV_DIALECT_HTML:
		return error_page(req, info, extra);
	case CV_DIALECT_OAUTH:
		if ((doc = json_object_new_object()) != NULL) {
			json_object_object_add(doc, "error", json_object_new_string(oauth_error(err)));
			json_object_object_add(doc, "error_description",
			                       json_object_new_string(description != NULL ? description
			                                                                  : info->message));
		}
		break;
	case CV_DIALECT_UO:
	case CV_DIALECT_UO_LEGACY:
		if (description == NULL)
			description = first_field_error(req);
		uo_error(err, description != NULL ? description : info->message, &code, text,
		         sizeof(text));
		doc = cv_uo_envelope(req, dialect, info->status, code, text);
		break;
	default:
		if ((doc = json_object_new_object()) != NULL) {
			json_object_object_add(doc, "message", json_object_new_string(info->message));
			json_object_object_add(doc, "code", json_object_new_int(info->code));
			json_object_object_add(doc, "status_code", json_object_new_int(info->status));
			if (err == CV_ERR_INVALID_INPUT && req->field_errors != NULL)
				json_object_object_add(doc, "errors", json_object_get(req->field_errors));
		}
		break;
	}
	status = write_json(req, info->status, extra, NULL, doc);
	json_object_put(doc);
	return status;
}
