/*
 * response.h - writes the HTTP answer: status line, headers and the JSON
 * envelopes of README "API, Errors".  The only place that turns a cv_err into
 * bytes.
 */
#ifndef CV_RESPONSE_H
#define CV_RESPONSE_H

#include <json-c/json.h>

#include "error.h"
#include "request.h"

/* The envelope family of an endpoint (README "API", "Users Orchestrator API"). */
enum cv_dialect {
	CV_DIALECT_CONTACT = 0,  /* {"data","meta"} / {"message","code","status_code"} */
	CV_DIALECT_OAUTH,        /* RFC 6749 5.1 / 5.2 */
	CV_DIALECT_UO,           /* v4: {"message":{"code","text","type"},"meta"} */
	CV_DIALECT_UO_LEGACY,    /* legacy: {"Code","Errors","Result","SessionId","RequestId"} */
	CV_DIALECT_HTML          /* pages for people (the verification link) */
};

/* How an answer differs from the plain envelope. */
struct cv_reply {
	struct json_object *data;         /* success: the "data" member (owned) */
	int                 meta_object;  /* success: "meta" is {} rather than [] */
	struct json_object *document;     /* success: a whole body instead (owned) */
	int                 retry_after;  /* 429: seconds for Retry-After */
	int                 bad_token;    /* 401: a credential was given but refused */
	const char         *allow;        /* 405: the Allow header */
	enum cv_dialect     dialect;      /* set by the responder from the endpoint */
	const char         *description;  /* oauth, uo: the error text instead of the message */
	int                 status;       /* success: 200 unless set (html pages: 303, 404, 410) */
	char               *html;         /* success: an HTML page instead of JSON (owned) */
	char               *location;     /* 303: the Location header (owned) */
	const char         *cache_control; /* success: Cache-Control instead of no-store; with
	                                     status 304 no body */
	char               *headers;      /* more header lines, each ending in CRLF, on every
	                                     answer; for HTML they replace the default
	                                     security headers (owned) */
};

/* Writes the success envelope (or reply->document, or reply->html; no body
 * for status 204) with reply->status or 200.  Returns the status written. */
int cv_respond_ok(const struct cv_request *req, const struct cv_reply *reply);

/*
 * Writes the error envelope {"message","code","status_code"} of err, with
 * "errors" from req->field_errors for 1003, and the headers its status needs
 * (WWW-Authenticate, Allow, Retry-After); in the envelope of reply->dialect.
 * Returns the status written.
 */
int cv_respond_error(const struct cv_request *req, enum cv_err err, const struct cv_reply *reply);

/*
 * The Users Orchestrator envelope of dialect (CV_DIALECT_UO: v4,
 * CV_DIALECT_UO_LEGACY: legacy; README "Users Orchestrator API") for an
 * answer with this status, code and text; a status below 400 makes a
 * success envelope.  The caller puts it; NULL when out of memory.
 */
struct json_object *cv_uo_envelope(const struct cv_request *req, enum cv_dialect dialect,
                                   int status, const char *code, const char *text);

#endif
