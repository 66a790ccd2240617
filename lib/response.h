/*
 * response.h - writes the HTTP answer: status line, headers and the JSON
 * envelopes of SPEC section 2.4.  The only place that turns a cv_err into
 * bytes.
 */
#ifndef CV_RESPONSE_H
#define CV_RESPONSE_H

#include <json-c/json.h>

#include "error.h"
#include "request.h"

/* How an answer differs from the plain envelope. */
struct cv_reply {
	struct json_object *data;         /* success: the "data" member (owned) */
	int                 meta_object;  /* success: "meta" is {} rather than [] */
	struct json_object *document;     /* success: a whole body instead (owned) */
	int                 retry_after;  /* 429: seconds for Retry-After */
	int                 bad_token;    /* 401: a credential was given but refused */
	const char         *allow;        /* 405: the Allow header */
	int                 oauth;        /* answer in RFC 6749 form (the token endpoint) */
	const char         *description;  /* oauth: error_description instead of the message */
};

/* Writes the success envelope (or reply->document) with status 200.
 * Returns the status written. */
int cv_respond_ok(const struct cv_request *req, const struct cv_reply *reply);

/*
 * Writes the error envelope {"message","code","status_code"} of err, with
 * "errors" from req->field_errors for 1003, and the headers its status needs
 * (WWW-Authenticate, Allow, Retry-After).  With reply->oauth the body is
 * RFC 6749 section 5.2's {"error","error_description"} instead.  Returns the
 * status written.
 */
int cv_respond_error(const struct cv_request *req, enum cv_err err, const struct cv_reply *reply);

#endif
