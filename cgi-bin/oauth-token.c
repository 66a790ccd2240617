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
		.method = "POST",
		.read_body = 1,
		.authenticated = 0,
		.oauth = 1,
		.handle = cv_oauth_token,
	};

	return cv_responder_main(&endpoint);
}
