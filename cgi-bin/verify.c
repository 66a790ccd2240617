/*
 * verify - POST .../contact-verification/verify: check a contact's login code.
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "verification.h"
#include "responder.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "verify",
		.methods = "POST",
		.read_body = 1,
		.authenticated = 1,
		.handle = cv_verification_verify,
	};

	return cv_responder_main(&endpoint);
}
