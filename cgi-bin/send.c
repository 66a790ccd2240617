/*
 * send - POST .../contact-verification/send: email a login code and link to a contact.
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "verification.h"
#include "responder.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "send",
		.methods = "POST",
		.read_body = 1,
		.authenticated = 1,
		.handle = cv_verification_send,
	};

	return cv_responder_main(&endpoint);
}
