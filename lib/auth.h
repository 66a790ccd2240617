/*
 * auth.h - authentication of callers of the Contact Verification API
 * (SPEC section 4.1): "Authorization: Bearer <api key>".
 */
#ifndef CV_AUTH_H
#define CV_AUTH_H

#include "error.h"

#define CV_KEY_HASH_HEX 64
#define CV_BEARER_MAX 2048

/*
 * Checks the form of an Authorization header and writes the hex SHA-256 of
 * its bearer credential (what cv.api_keys stores) to hash.  Returns CV_OK or
 * CV_ERR_UNAUTHENTICATED (header missing, other scheme, empty or malformed
 * credential).  The database decides whether the key is known.
 */
enum cv_err cv_auth_bearer_hash(const char *authorization, char hash[CV_KEY_HASH_HEX + 1]);

/*
 * Asks the database whether the key with this hash may call the API.
 * Returns CV_OK, CV_ERR_UNAUTHENTICATED, CV_ERR_TOKEN_EXPIRED,
 * CV_ERR_ACCOUNT_INACTIVE or a database error.  Only used where no other
 * statement of the request authenticates on the way.
 */
enum cv_err cv_auth_check(const char *key_hash);

#endif
