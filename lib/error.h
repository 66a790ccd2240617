/*
 * error.h - the one error enum of contact-verify and its table of HTTP
 * status, numeric code and message (README "API, Errors"), both made of
 * lib/errors.def, where each error is written once.  Every layer returns a
 * cv_err; only response.c turns one into bytes.
 */
#ifndef CV_ERROR_H
#define CV_ERROR_H

/* CV_OK, then one CV_ERR_<NAME> per row of lib/errors.def, in its order. */
enum cv_err {
	CV_OK = 0,
#define CV_ERROR(name, code, status, message) CV_ERR_##name,
#include "errors.def"
#undef CV_ERROR
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
