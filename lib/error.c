/*
 * error.c - the table that maps every cv_err to HTTP status, numeric code and
 * message.  The numbers 1003, 1053, 3000, 7002, 13010, 55031 and 55032 come
 * from the Contact Verification API; 1001, 1029, 14xx and 15xx are this
 * project's own (README, "Errors").  The rows the web servers answer with
 * themselves are in their configurations too: tests/unit/test_error_pages.c
 * holds those to this table.
 */
#include "config.h"

#include "error.h"

static const struct cv_err_info errors[CV_ERR__MAX] = {
	[CV_OK]                     = {200, 0, "OK"},
	[CV_ERR_INVALID_INPUT]      = {400, 1003, "Invalid input."},
	[CV_ERR_UNAUTHENTICATED]    = {401, 1001, "Unauthenticated."},
	[CV_ERR_TOKEN_EXPIRED]      = {401, 3000, "The token is expired"},
	[CV_ERR_ACCOUNT_INACTIVE]   = {403, 7002, "Account inactive."},
	[CV_ERR_CONTACT_NOT_FOUND]  = {400, 55031, "Contact not found."},
	[CV_ERR_USER_APP_NOT_FOUND] = {400, 55032, "User app not found."},
	[CV_ERR_PASSCODE_NOT_FOUND] = {400, 13010, "Passcode not found."},
	[CV_ERR_ACCOUNT_SECRET]     = {400, 1053, "Account secret is invalid"},
	[CV_ERR_TOO_MANY_ATTEMPTS]  = {429, 1029, "Too many attempts."},
	[CV_ERR_NOT_FOUND]          = {404, 1404, "Not found."},
	[CV_ERR_METHOD_NOT_ALLOWED] = {405, 1405, "Method not allowed."},
	[CV_ERR_BODY_TOO_LARGE]     = {413, 1413, "Request body too large."},
	[CV_ERR_UNSUPPORTED_MEDIA]  = {415, 1415, "Unsupported media type."},
	[CV_ERR_UNSUPPORTED_GRANT]  = {400, 1006, "The grant type is not supported."},
	[CV_ERR_NOT_REGISTERED]     = {400, 1014, "The email is not registered."},
	[CV_ERR_CODE_INVALID]       = {400, 1015, "The verification code is invalid."},
	[CV_ERR_ALREADY_VERIFIED]   = {400, 1016, "Email is already verified."},
	[CV_ERR_ORIGIN_REFUSED]     = {403, 1403, "Origin not allowed."},
	[CV_ERR_TICKET_INVALID]     = {400, 1410, "The login ticket is invalid or has expired."},
	[CV_ERR_BAD_REQUEST]        = {400, 1400, "Bad request."},
	[CV_ERR_REQUEST_TIMEOUT]    = {408, 1408, "Request timeout."},
	[CV_ERR_PRECONDITION_FAILED] = {412, 1412, "Precondition failed."},
	[CV_ERR_URI_TOO_LONG]       = {414, 1414, "Request URI too long."},
	[CV_ERR_EXPECTATION_FAILED] = {417, 1417, "Expectation failed."},
	[CV_ERR_NOT_IMPLEMENTED]    = {501, 1501, "Not implemented."},
	[CV_ERR_INTERNAL]           = {500, 1500, "Internal error."},
	[CV_ERR_UNAVAILABLE]        = {503, 1503, "Service unavailable."},
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
