/*
 * request.h - one HTTP request as the web server hands it over (CGI
 * environment and standard input, the same under FastCGI), and the typed
 * access to its body fields.
 */
#ifndef CV_REQUEST_H
#define CV_REQUEST_H

#include <stddef.h>

#include <json-c/json.h>

#include "client_addr.h"
#include "error.h"

#define CV_BODY_MAX (64 * 1024)
#define CV_REQUEST_ID_MAX 64

struct cv_request {
	const char         *method;         /* REQUEST_METHOD, never NULL */
	const char         *path_info;      /* PATH_INFO without leading '/', never NULL */
	const char         *authorization;  /* HTTP_AUTHORIZATION or NULL */
	const char         *remote_addr;    /* REMOTE_ADDR, never NULL */
	char                client_addr[CV_CLIENT_ADDR_MAX]; /* for limits (client_addr.h) */
	char                request_id[CV_REQUEST_ID_MAX + 1];
	char                credential[65]; /* for cv.authenticate (auth.h), or "" */
	struct json_object *body;           /* the fields; an empty object without a body */
	struct json_object *field_errors;   /* {"field": ["message", ...]} or NULL */
};

/*
 * Fills req from the environment of the current request and, when
 * want_body, reads and parses the body (JSON or form; at most CV_BODY_MAX
 * bytes).  Returns CV_OK, CV_ERR_BODY_TOO_LARGE, CV_ERR_UNSUPPORTED_MEDIA or
 * CV_ERR_INVALID_INPUT (with req->field_errors saying why).  Whatever it
 * returns, the caller ends with cv_request_free.
 */
enum cv_err cv_request_read(struct cv_request *req, int want_body);

/*
 * The body step of cv_request_read, without environment or I/O: parses the
 * len bytes at body (need not end in NUL) as JSON or a form, chosen by the
 * media type of content_type (parameters ignored; NULL or "" sniffs: '{'
 * starts JSON, else a form) into req->body, which must be NULL.  Returns
 * CV_OK, CV_ERR_UNSUPPORTED_MEDIA, CV_ERR_INVALID_INPUT (with
 * req->field_errors saying why) or CV_ERR_INTERNAL.
 */
enum cv_err cv_request_parse(struct cv_request *req, const char *content_type, const char *body,
                             size_t len);

/* Frees what cv_request_read allocated.  req may be partly filled. */
void cv_request_free(struct cv_request *req);

/* Adds message to the list of field in req->field_errors.  Returns 0 or -1. */
int cv_request_field_error(struct cv_request *req, const char *field, const char *message);

/*
 * The trimmed text of a required string field, or NULL after recording
 * "The <field> field is required." / "The <field> must be a string." /
 * "The <field> may not be greater than <max> characters.".  With
 * allow_number, a JSON integer is accepted as its decimal text.  The string
 * belongs to req->body (or to a buffer of len at most max in *scratch).
 */
const char *cv_request_string(struct cv_request *req, const char *field, size_t max,
                              int allow_number, char *scratch, size_t scratchlen);

#endif
