/*
 * jwt.h - JSON Web Tokens (RFC 7519, JWS compact form of RFC 7515): HS256
 * under a secret, and HS256, ES256 (P-256, RFC 7518 3.4) and EdDSA
 * (Ed25519, RFC 8037) under a signing key with a kid, all on OpenSSL's EVP.
 */
#ifndef CV_JWT_H
#define CV_JWT_H

#include <stddef.h>

#include <json-c/json.h>
#include <openssl/evp.h>

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

/* The algorithms of signing keys; the names are RFC 7518's "alg" values. */
enum cv_jwt_alg { CV_JWT_HS256, CV_JWT_ES256, CV_JWT_EDDSA, CV_JWT_ALG__MAX };

/* Base64url length of an ES256 or EdDSA signature (64 bytes). */
#define CV_JWT_SIG_MAX 86
#define CV_JWT_KID_MAX 64

/* A signing key: HS256 with secret (not owned), ES256 or EdDSA with pkey
 * (not owned; set with cv_jwt_key_set_pkey); every token it signs names kid
 * in its header.  An EdDSA key also holds its raw forms for libsodium,
 * which signs Ed25519 in 18 us where OpenSSL 3.0 takes 45 (README,
 * "Verifying auth tokens"): ed25519_sk is the seed and the public key
 * (secret: clear the struct with OPENSSL_cleanse), ed25519_pk the public
 * key; has_sk is 0 for a key without its private half. */
struct cv_jwt_key {
	enum cv_jwt_alg      alg;
	char                 kid[CV_JWT_KID_MAX + 1];
	const unsigned char *secret;
	size_t               secret_len;
	EVP_PKEY            *pkey;
	unsigned char        ed25519_sk[64];
	unsigned char        ed25519_pk[32];
	int                  has_sk;
};

/*
 * Sets key->pkey to pkey (ES256: an EC P-256 key; EdDSA: an Ed25519 key,
 * whose raw halves it copies into the struct).  Returns 0, or -1 when pkey
 * is NULL or not of key->alg (key->pkey is then left NULL; the caller
 * still owns pkey).
 */
int cv_jwt_key_set_pkey(struct cv_jwt_key *key, EVP_PKEY *pkey);

/* "HS256", "ES256", "EdDSA".  Cannot fail (alg is one of the enum). */
const char *cv_jwt_alg_name(enum cv_jwt_alg alg);

/* The algorithm named name (case-sensitive, as in a JOSE header), or -1. */
int cv_jwt_alg_from_name(const char *name);

/*
 * Returns a new token for the claims (a JSON object text) under the header
 * {"alg":ALG,"typ":typ,"kid":KID} of key, signed by it; NULL when out of
 * memory or the key cannot sign.  The caller frees it.
 */
char *cv_jwt_sign_key(const struct cv_jwt_key *key, const char *typ, const char *claims_json);

/*
 * Checks a compact token against one key: its header must be, byte for
 * byte, the one cv_jwt_sign_key writes for key and typ (so alg, typ and kid
 * are ours and nothing the sender wrote is parsed before the signature
 * holds), and its signature valid under key.  Returns the claims object
 * (the caller puts it) or NULL.  Time claims are the caller's business.
 */
struct json_object *cv_jwt_verify_key(const struct cv_jwt_key *key, const char *typ,
                                      const char *token, size_t len);

#endif
