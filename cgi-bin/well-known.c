/*
 * well-known - GET /accounts/{uuid}/.well-known/jwks.json, /.well-known/jwks.json,
 * /.well-known/oauth-authorization-server: public keys and OAuth metadata.
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "responder.h"
#include "well_known.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "well-known",
		.methods = "GET",
		.read_body = 0,
		.authenticated = 0,
		.handle = cv_well_known,
	};

	return cv_responder_main(&endpoint);
}
