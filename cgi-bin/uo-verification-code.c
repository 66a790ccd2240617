/*
 * uo-verification-code - POST /v4/Users/VerificationCode: send a registration code and link (camelCase).
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "orchestrator.h"
#include "responder.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "uo-verification-code",
		.methods = "POST",
		.read_body = 1,
		.authenticated = 0,
		.dialect = CV_DIALECT_UO,
		.handle = cv_uo_send,
	};

	return cv_responder_main(&endpoint);
}
