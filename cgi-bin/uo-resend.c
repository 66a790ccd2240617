/*
 * uo-resend - POST /VerifyEmail/Resend: the same, in the legacy PascalCase shape.
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "orchestrator.h"
#include "responder.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "uo-resend",
		.methods = "POST",
		.read_body = 1,
		.authenticated = 0,
		.dialect = CV_DIALECT_UO_LEGACY,
		.handle = cv_uo_send,
	};

	return cv_responder_main(&endpoint);
}
