/*
 * auth.h - authentication of callers of the Contact Verification API
 * (README "API"): "Authorization: Bearer <api key | access token>".
 */
#ifndef CV_AUTH_H
#define CV_AUTH_H

#include "error.h"

#include "conf.h"

/* Room for what cv_auth_bearer writes: 64 hex digits, or
 * "oauth:<client_id>:<exp>". */
#define CV_CREDENTIAL_MAX 64
#define CV_BEARER_MAX 4096

/*
 * Reads "Authorization: Bearer <credential>" and writes what the database
 * checks (cv.authenticate) to credential: for an API key the hex SHA-256 of
 * the key; for an OAuth access token (a JWT whose signature, typ and claims
 * are checked here) "oauth:<client_id>:<exp>", leaving revocation and expiry
 * to the database clock.  Returns CV_OK or CV_ERR_UNAUTHENTICATED (header
 * missing, other scheme, malformed credential, bad token).
 */
enum cv_err cv_auth_bearer(const struct cv_conf *conf, const char *authorization,
                           char credential[CV_CREDENTIAL_MAX + 1]);

/*
 * Asks the database whether the key with this hash may call the API from
 * client address addr (a failure counts against the address, as every
 * authentication does; cv.authenticate_from in sql/functions/auth.sql).  Returns CV_OK, CV_ERR_UNAUTHENTICATED,
 * CV_ERR_TOKEN_EXPIRED, CV_ERR_ACCOUNT_INACTIVE, CV_ERR_TOO_MANY_ATTEMPTS
 * (with *retry_after set) or a database error.  Only used where no other
 * statement of the request authenticates on the way.
 */
enum cv_err cv_auth_check(const char *credential, const char *addr, int *retry_after);

#endif
