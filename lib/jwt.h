/*
 * jwt.h - HS256 JSON Web Tokens (RFC 7519, JWS compact form of RFC 7515).
 */
#ifndef CV_JWT_H
#define CV_JWT_H

#include <stddef.h>

/* Base64url length of an HS256 signature. */
#define CV_JWT_SIG_LEN 43

/*
 * Writes the base64url HMAC-SHA256 signature of the signing input (the
 * "header.payload" text) and a NUL to sig.  Returns 0 or -1.
 */
int cv_jwt_signature(const void *key, size_t keylen, const char *input, size_t inputlen,
                     char sig[CV_JWT_SIG_LEN + 1]);

/*
 * Returns a new token "header.payload.signature" for the claims, a JSON
 * object text, under the header {"alg":"HS256","typ":"JWT"}; NULL when out
 * of memory.  The caller frees it.
 */
char *cv_jwt_sign(const void *key, size_t keylen, const char *claims_json);

#endif
