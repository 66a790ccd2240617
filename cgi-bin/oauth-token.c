/*
 * oauth-token - POST /oauth/token: OAuth 2.0 client credentials grant.
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "oauth.h"
#include "responder.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "oauth-token",
		.methods = "POST",
		.read_body = 1,
		.authenticated = 0,
		.dialect = CV_DIALECT_OAUTH,
		.handle = cv_oauth_token,
	};

	return cv_responder_main(&endpoint);
}
