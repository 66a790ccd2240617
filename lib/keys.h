/*
 * keys.h - the key material of signed tokens: an account's ES256 and EdDSA
 * keys (made by cvctl, stored sealed, published as RFC 7517 JWKs, kid =
 * RFC 7638 thumbprint), the server's Ed25519 access-token key (derived
 * from its access-token secret), and the per-process cache of opened
 * signing keys of the responders.
 */
#ifndef CV_KEYS_H
#define CV_KEYS_H

#include <stddef.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "jwt.h"

/* Length of an RFC 7638 SHA-256 thumbprint, base64url. */
#define CV_KEY_THUMBPRINT_LEN 43

/* A new ES256 (P-256) or EdDSA (Ed25519) key, or NULL.  Caller frees. */
EVP_PKEY *cv_key_generate(enum cv_jwt_alg alg);

/* The private key's DER (PKCS#8) in *der (the caller OPENSSL_clear_frees
 * it, length returned), or -1. */
long cv_key_private_der(EVP_PKEY *pkey, unsigned char **der);

/*
 * The public JWK of an ES256 or EdDSA key: {"kty","crv","x"[,"y"]} and,
 * when kid is not NULL, "kid", "alg", "use":"sig".  NULL when out of memory.
 * The caller puts it.
 */
struct json_object *cv_key_public_jwk(EVP_PKEY *pkey, enum cv_jwt_alg alg, const char *kid);

/* Writes the RFC 7638 thumbprint of the key's public JWK (base64url of the
 * SHA-256 of its required members in lexical order) and a NUL.  0 or -1. */
int cv_key_thumbprint(EVP_PKEY *pkey, enum cv_jwt_alg alg, char out[CV_KEY_THUMBPRINT_LEN + 1]);

/*
 * The server's access-token signing key: Ed25519 from the 32-byte seed
 * HKDF-SHA256(secret, info "contact-verify access-token Ed25519"), its kid
 * the thumbprint; made on first call, the same for the life of the process.
 * NULL when it cannot be made.
 */
const struct cv_jwt_key *cv_key_access(const unsigned char *secret, size_t len);

/*
 * An account's signing key kid (alg its name), opened from sealed_hex (the
 * hex of cv_seal's output under seal_key with the kid as additional data)
 * on first use and kept for the process (a small cache by kid).  NULL when
 * it cannot be opened or parsed.
 */
const struct cv_jwt_key *cv_key_open(const unsigned char seal_key[CV_SEAL_KEY_LEN], const char *kid,
                                     const char *alg, const char *sealed_hex);

#endif
