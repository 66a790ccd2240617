/*
 * portal-page - GET|POST /login/{app_public_id}, the hosted login page.
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "portal_page.h"
#include "responder.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "portal-page",
		.methods = "GET POST",
		.read_body = 1,
		.authenticated = 0,
		.dialect = CV_DIALECT_HTML,
		.handle = cv_portal_page,
	};

	return cv_responder_main(&endpoint);
}
