/*
 * jwt.h - HS256 JSON Web Tokens (RFC 7519, JWS compact form of RFC 7515).
 */
#ifndef CV_JWT_H
#define CV_JWT_H

#include <stddef.h>

#include <json-c/json.h>

/* Base64url length of an HS256 signature; the longest token accepted. */
#define CV_JWT_SIG_LEN 43
#define CV_JWT_MAX     4096

/*
 * Writes the base64url HMAC-SHA256 signature of the signing input (the
 * "header.payload" text) and a NUL to sig.  Returns 0 or -1.
 */
int cv_jwt_signature(const void *key, size_t keylen, const char *input, size_t inputlen,
                     char sig[CV_JWT_SIG_LEN + 1]);

/* The "typ" of contact auth tokens and of OAuth access tokens (RFC 9068):
 * distinct, so that one can never be taken for the other. */
#define CV_JWT_TYP_CONTACT "JWT"
#define CV_JWT_TYP_ACCESS  "at+jwt"

/*
 * Returns a new token "header.payload.signature" for the claims, a JSON
 * object text, under the header {"alg":"HS256","typ":typ}; NULL when out of
 * memory.  The caller frees it.
 */
char *cv_jwt_sign(const void *key, size_t keylen, const char *typ, const char *claims_json);

/*
 * Checks a compact HS256 token: three base64url parts, a header that is a
 * JSON object with exactly alg "HS256" and typ typ (unless typ is NULL:
 * tokens of other issuers may name any type; any other alg, "none"
 * included, is refused, and so is "crit"), and a signature equal, in
 * constant time, to the HMAC under key.  Returns the claims object (the
 * caller puts it) or NULL.  Time claims are the caller's business.
 */
struct json_object *cv_jwt_verify(const void *key, size_t keylen, const char *typ,
                                  const char *token, size_t len);

#endif
