/*
 * error.c - the table that maps every cv_err to HTTP status, numeric code and
 * message, made of lib/errors.def (where the numbers and messages are, and
 * the tests that hold SQL and the web servers' configurations to them).
 */
#include "config.h"

#include "error.h"

static const struct cv_err_info errors[CV_ERR__MAX] = {
	[CV_OK] = {200, 0, "OK"},
#define CV_ERROR(name, code, status, message) [CV_ERR_##name] = {status, code, message},
#include "errors.def"
#undef CV_ERROR
};

const struct cv_err_info *
cv_err_info(enum cv_err err)
{
	if ((int)err < 0 || err >= CV_ERR__MAX)
		err = CV_ERR_INTERNAL;
	return &errors[err];
}

enum cv_err
cv_err_from_code(int code)
{
	int i;

	for (i = 0; i < CV_ERR__MAX; i++)
		if (errors[i].code == code)
			return (enum cv_err)i;
	return CV_ERR_INTERNAL;
}
