/*
 * error.h - the one error enum of contact-verify and its table of HTTP
 * status, numeric code and message (README "API, Errors").  Every layer returns a
 * cv_err; only response.c turns one into bytes.
 */
#ifndef CV_ERROR_H
#define CV_ERROR_H

enum cv_err {
	CV_OK = 0,
	CV_ERR_INVALID_INPUT,        /* 1003  400 */
	CV_ERR_UNAUTHENTICATED,      /* 1001  401 */
	CV_ERR_TOKEN_EXPIRED,        /* 3000  401 */
	CV_ERR_ACCOUNT_INACTIVE,     /* 7002  403 */
	CV_ERR_CONTACT_NOT_FOUND,    /* 55031 400 */
	CV_ERR_USER_APP_NOT_FOUND,   /* 55032 400 */
	CV_ERR_PASSCODE_NOT_FOUND,   /* 13010 400 */
	CV_ERR_ACCOUNT_SECRET,       /* 1053  400 */
	CV_ERR_TOO_MANY_ATTEMPTS,    /* 1029  429 */
	CV_ERR_NOT_FOUND,            /* 1404  404 */
	CV_ERR_METHOD_NOT_ALLOWED,   /* 1405  405 */
	CV_ERR_BODY_TOO_LARGE,       /* 1413  413 */
	CV_ERR_UNSUPPORTED_MEDIA,    /* 1415  415 */
	CV_ERR_UNSUPPORTED_GRANT,    /* 1006  400 (OAuth unsupported_grant_type) */
	CV_ERR_NOT_REGISTERED,       /* 1014  400 (Users Orchestrator E400_14) */
	CV_ERR_CODE_INVALID,         /* 1015  400 (E400_15) */
	CV_ERR_ALREADY_VERIFIED,     /* 1016  400 (E400_16) */
	CV_ERR_ORIGIN_REFUSED,       /* 1403  403 (portal: Origin not allow-listed) */
	CV_ERR_TICKET_INVALID,       /* 1410  400 (login ticket unknown, used, expired) */
	/* Answered by the web server itself (nginx.conf.example,
	 * apache.conf.example), in the envelopes lib/response.c writes; no
	 * responder returns them. */
	CV_ERR_BAD_REQUEST,          /* 1400  400 (malformed HTTP) */
	CV_ERR_REQUEST_TIMEOUT,      /* 1408  408 (Apache) */
	CV_ERR_PRECONDITION_FAILED,  /* 1412  412 (nginx: a static file's If-Match) */
	CV_ERR_URI_TOO_LONG,         /* 1414  414 */
	CV_ERR_EXPECTATION_FAILED,   /* 1417  417 (Apache: an Expect other than 100-continue) */
	CV_ERR_NOT_IMPLEMENTED,      /* 1501  501 (Apache: a method it does not know) */
	CV_ERR_INTERNAL,             /* 1500  500 */
	CV_ERR_UNAVAILABLE,          /* 1503  503 */
	CV_ERR__MAX
};

struct cv_err_info {
	int         status;   /* HTTP status */
	int         code;     /* numeric code of the envelope */
	const char *message;  /* "message" of the envelope */
};

/* The row of the table for err.  Cannot fail: unknown values give 1500. */
const struct cv_err_info *cv_err_info(enum cv_err err);

/* The error whose numeric code is code (as returned by the SQL functions),
 * or CV_ERR_INTERNAL when none has it.  0 gives CV_OK. */
enum cv_err cv_err_from_code(int code);

#endif
