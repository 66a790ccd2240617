/*
 * login-ticket - POST /api/v3/oauth/clients/contact-verification/login-ticket,
 * where a business backend exchanges a login ticket (API key auth).
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "portal.h"
#include "responder.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "login-ticket",
		.methods = "POST",
		.read_body = 1,
		.authenticated = 1,
		.dialect = CV_DIALECT_CONTACT,
		.handle = cv_portal_login_ticket,
	};

	return cv_responder_main(&endpoint);
}
