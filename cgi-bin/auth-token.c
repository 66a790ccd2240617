/*
 * auth-token - GET .../contact-verification/auth-token/{uuid}: a signed token for a contact.
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "verification.h"
#include "responder.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "auth-token",
		.methods = "GET",
		.read_body = 0,
		.authenticated = 1,
		.handle = cv_verification_auth_token,
	};

	return cv_responder_main(&endpoint);
}
