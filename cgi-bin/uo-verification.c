/*
 * uo-verification - POST /v4/Users/Verification: check a registration code.
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "orchestrator.h"
#include "responder.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "uo-verification",
		.methods = "POST",
		.read_body = 1,
		.authenticated = 0,
		.dialect = CV_DIALECT_UO,
		.handle = cv_uo_verify,
	};

	return cv_responder_main(&endpoint);
}
