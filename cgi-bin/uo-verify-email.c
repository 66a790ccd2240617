/*
 * uo-verify-email - GET|POST /v4/Users/VerifyEmail: the verification link's page.
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "orchestrator.h"
#include "responder.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "uo-verify-email",
		.methods = "GET POST",
		.read_body = 1,
		.authenticated = 0,
		.dialect = CV_DIALECT_HTML,
		.handle = cv_uo_verify_email,
	};

	return cv_responder_main(&endpoint);
}
