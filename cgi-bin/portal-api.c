/*
 * portal-api - OPTIONS|POST /portal/v1/{app_public_id}/login/{code,verify}, the public JSON
 * endpoints of the login portal (CORS for allow-listed origins only).
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "portal.h"
#include "responder.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "portal-api",
		.methods = "POST OPTIONS",
		.read_body = 1,
		.authenticated = 0,
		.dialect = CV_DIALECT_CONTACT,
		.handle = cv_portal_api,
	};

	return cv_responder_main(&endpoint);
}
