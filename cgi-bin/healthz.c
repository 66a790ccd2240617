/*
 * healthz - GET /healthz: is the service and its database up.
 * A FastCGI responder (also a plain CGI program); the work is in lib/.
 */
#include "config.h"

#include "health.h"
#include "responder.h"

int
main(void)
{
	static const struct cv_endpoint endpoint = {
		.name = "healthz",
		.methods = "GET",
		.read_body = 0,
		.authenticated = 0,
		.handle = cv_health_check,
	};

	return cv_responder_main(&endpoint);
}
