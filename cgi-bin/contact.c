/*
 * contact - DELETE .../contact-verification/contacts/{uuid}: erases a contact.
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "verification.h"
#include "responder.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "contact",
		.methods = "DELETE",
		.read_body = 0,
		.authenticated = 1,
		.handle = cv_verification_erase_contact,
	};

	return cv_responder_main(&endpoint);
}
