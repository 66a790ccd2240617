/*
 * keys.c - makes, describes, derives and opens the keys of signed tokens,
 * all through OpenSSL's EVP (no second crypto library).  The responders
 * parse each signing key once per process: kept by kid, a request pays
 * only the signature.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>

#include "keys.h"

#define SECRET_MAX 256  /* bytes of an HS256 key's secret */
#define CACHE_SIZE 16   /* opened keys per process */
#define SEALED_MAX 1024 /* bytes, as migration 019's CHECK */

EVP_PKEY *
cv_key_generate(enum cv_jwt_alg alg)
{
	if (alg == CV_JWT_ES256)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (alg == CV_JWT_EDDSA)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return NULL;
}

long
cv_key_private_der(EVP_PKEY *pkey, unsigned char **der)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
	int n;

	*der = NULL;
	if (p8 == NULL)
		return -1;
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return n > 0 ? n : -1;
}

/* The base64url of the big-endian 32 bytes of the key's BIGNUM param name
 * (an EC coordinate) into out (44 bytes).  0 or -1. */
static int
coordinate(EVP_PKEY *pkey, const char *name, char out[44])
{
	unsigned char raw[32];
	BIGNUM *bn = NULL;
	int rc = -1;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) == 1 && BN_bn2binpad(bn, raw, 32) == 32) {
		cv_b64url_encode(raw, sizeof(raw), out);
		rc = 0;
	}
	BN_free(bn);
	return rc;
}

/* The public members of the key's JWK: x (and y for P-256), base64url. */
static int
public_members(EVP_PKEY *pkey, enum cv_jwt_alg alg, char x[44], char y[44])
{
	unsigned char raw[32];
	size_t n = sizeof(raw);

	if (alg == CV_JWT_ES256)
		return EVP_PKEY_is_a(pkey, "EC") &&
		               coordinate(pkey, OSSL_PKEY_PARAM_EC_PUB_X, x) == 0 &&
		               coordinate(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, y) == 0
		           ? 0
		           : -1;
	if (alg == CV_JWT_EDDSA && EVP_PKEY_is_a(pkey, "ED25519") &&
	    EVP_PKEY_get_raw_public_key(pkey, raw, &n) == 1 && n == 32) {
		cv_b64url_encode(raw, n, x);
		y[0] = '\0';
		return 0;
	}
	return -1;
}

struct json_object *
cv_key_public_jwk(EVP_PKEY *pkey, enum cv_jwt_alg alg, const char *kid)
{
	struct json_object *jwk;
	char x[44], y[44];

	if (public_members(pkey, alg, x, y) != 0 || (jwk = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(jwk, "kty",
	                       json_object_new_string(alg == CV_JWT_ES256 ? "EC" : "OKP"));
	json_object_object_add(jwk, "crv",
	                       json_object_new_string(alg == CV_JWT_ES256 ? "P-256" : "Ed25519"));
	json_object_object_add(jwk, "x", json_object_new_string(x));
	if (alg == CV_JWT_ES256)
		json_object_object_add(jwk, "y", json_object_new_string(y));
	if (kid != NULL) {
		json_object_object_add(jwk, "kid", json_object_new_string(kid));
		json_object_object_add(jwk, "alg", json_object_new_string(cv_jwt_alg_name(alg)));
		json_object_object_add(jwk, "use", json_object_new_string("sig"));
	}
	return jwk;
}

int
cv_key_thumbprint(EVP_PKEY *pkey, enum cv_jwt_alg alg, char out[CV_KEY_THUMBPRINT_LEN + 1])
{
	unsigned char digest[CV_SHA256_LEN];
	char x[44], y[44], text[200];
	int n;

	if (public_members(pkey, alg, x, y) != 0)
		return -1;
	/* RFC 7638 3.2: the required members, lexical order, no whitespace. */
	if (alg == CV_JWT_ES256)
		n = snprintf(text, sizeof(text),
		             "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	else
		n = snprintf(text, sizeof(text),
		             "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", x);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	cv_sha256(text, (size_t)n, digest);
	cv_b64url_encode(digest, sizeof(digest), out);
	return 0;
}

const struct cv_jwt_key *
cv_key_access(const unsigned char *secret, size_t len)
{
	static const char info[] = "contact-verify access-token Ed25519";
	static struct cv_jwt_key key;
	unsigned char seed[32];
	size_t n = sizeof(seed);
	EVP_PKEY_CTX *kdf;
	EVP_PKEY *pkey;
	int ok;

	if (key.pkey != NULL)
		return &key;
	if ((kdf = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) == NULL)
		return NULL;
	ok = EVP_PKEY_derive_init(kdf) == 1 && EVP_PKEY_CTX_set_hkdf_md(kdf, EVP_sha256()) == 1 &&
	     EVP_PKEY_CTX_set1_hkdf_key(kdf, secret, (int)len) == 1 &&
	     EVP_PKEY_CTX_add1_hkdf_info(kdf, (const unsigned char *)info, sizeof(info) - 1) == 1 &&
	     EVP_PKEY_derive(kdf, seed, &n) == 1 && n == sizeof(seed);
	EVP_PKEY_CTX_free(kdf);
	pkey = ok ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed)) : NULL;
	OPENSSL_cleanse(seed, sizeof(seed));
	key.alg = CV_JWT_EDDSA;
	if (cv_jwt_key_set_pkey(&key, pkey) != 0 || cv_key_thumbprint(pkey, CV_JWT_EDDSA, key.kid) != 0) {
		EVP_PKEY_free(pkey);
		OPENSSL_cleanse(&key, sizeof(key));
		return NULL;
	}
	return &key;
}

/* An opened key of the cache: the jwt key and the secret it points to. */
struct cached_key {
	struct cv_jwt_key key;
	unsigned char secret[SECRET_MAX];
};

static struct cached_key cache[CACHE_SIZE];
static size_t cache_next; /* the slot to fill next: the oldest */

static void
cache_clear(struct cached_key *c)
{
	EVP_PKEY_free(c->key.pkey);
	OPENSSL_cleanse(c, sizeof(*c));
}

/* Opens sealed_hex into c as kid's key of alg.  0 or -1 (c cleared). */
static int
open_key(struct cached_key *c, const unsigned char seal_key[CV_SEAL_KEY_LEN], const char *kid,
         int alg, const char *sealed_hex)
{
	static unsigned char sealed[SEALED_MAX], plain[SEALED_MAX];
	size_t hexlen = strlen(sealed_hex), n = hexlen / 2;
	const unsigned char *p = plain;
	EVP_PKEY *pkey;
	long len = -1;

	c->key.alg = (enum cv_jwt_alg)alg;
	snprintf(c->key.kid, sizeof(c->key.kid), "%s", kid);
	if (hexlen % 2 == 0 && n <= sizeof(sealed) && cv_hex_decode(sealed_hex, sealed, n) == 0)
		len = cv_open(seal_key, kid, strlen(kid), sealed, n, plain);
	if (len <= 0)
		goto fail;
	if (alg == CV_JWT_HS256) {
		if ((size_t)len > sizeof(c->secret))
			goto fail;
		memcpy(c->secret, plain, (size_t)len);
		c->key.secret = c->secret;
		c->key.secret_len = (size_t)len;
	} else if ((pkey = d2i_AutoPrivateKey(NULL, &p, len)) == NULL ||
	           cv_jwt_key_set_pkey(&c->key, pkey) != 0) {
		EVP_PKEY_free(pkey);
		goto fail;
	}
	OPENSSL_cleanse(plain, sizeof(plain));
	return 0;
fail:
	OPENSSL_cleanse(plain, sizeof(plain));
	cache_clear(c);
	return -1;
}

const struct cv_jwt_key *
cv_key_open(const unsigned char seal_key[CV_SEAL_KEY_LEN], const char *kid, const char *alg,
            const char *sealed_hex)
{
	int a = cv_jwt_alg_from_name(alg);
	struct cached_key *c;
	size_t i;

	if (a < 0 || strlen(kid) > CV_JWT_KID_MAX || kid[0] == '\0')
		return NULL;
	for (i = 0; i < CACHE_SIZE; i++)
		if (strcmp(cache[i].key.kid, kid) == 0 && cache[i].key.alg == (enum cv_jwt_alg)a)
			return &cache[i].key;
	c = &cache[cache_next];
	cache_next = (cache_next + 1) % CACHE_SIZE;
	cache_clear(c);
	return open_key(c, seal_key, kid, a, sealed_hex) == 0 ? &c->key : NULL;
}
