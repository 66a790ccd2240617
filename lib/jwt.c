/*
 * jwt.c - signs and checks tokens: HS256 on OpenSSL's HMAC, ES256 on its
 * EVP_DigestSign/Verify, EdDSA on libsodium's crypto_sign (Ed25519 is
 * deterministic: the same 64 bytes OpenSSL's EVP_DigestSign makes, which
 * tests/unit/test_jwt.c checks, in 18 us instead of 45; keys are still made
 * by OpenSSL's CSPRNG and parsed by OpenSSL).  Hand-written because a JWT
 * library would bring a second JSON parser.  Verification checks the
 * signature before it parses anything the sender wrote.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "crypto.h"
#include "jwt.h"
#include "utf8.h"

int
cv_jwt_signature(const void *key, size_t keylen, const char *input, size_t inputlen,
                 char sig[CV_JWT_SIG_LEN + 1])
{
	unsigned char mac[CV_SHA256_LEN];

	if (cv_hmac_sha256(key, keylen, input, inputlen, mac) != 0)
		return -1;
	cv_b64url_encode(mac, sizeof(mac), sig);
	return 0;
}

char *
cv_jwt_sign(const void *key, size_t keylen, const char *typ, const char *claims_json)
{
	char header[64];
	int hn = snprintf(header, sizeof(header), "{\"alg\":\"HS256\",\"typ\":\"%s\"}", typ);
	size_t hlen, clen = strlen(claims_json), plen = cv_b64url_len(clen);
	char *token;

	if (hn < 0 || (size_t)hn >= sizeof(header))
		return NULL;
	hlen = cv_b64url_len((size_t)hn);
	if ((token = malloc(hlen + 1 + plen + 1 + CV_JWT_SIG_LEN + 1)) == NULL)
		return NULL;
	cv_b64url_encode((const unsigned char *)header, (size_t)hn, token);
	token[hlen] = '.';
	cv_b64url_encode((const unsigned char *)claims_json, clen, token + hlen + 1);
	token[hlen + 1 + plen] = '.';
	if (cv_jwt_signature(key, keylen, token, hlen + 1 + plen, token + hlen + 1 + plen + 1) != 0) {
		free(token);
		return NULL;
	}
	return token;
}

/* The JSON object in the base64url text s[0..len), or NULL. */
static struct json_object *
decode_object(const char *s, size_t len)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	unsigned char *raw;
	long n;

	if ((raw = malloc(len * 3 / 4 + 1)) == NULL)
		return NULL;
	if ((n = cv_b64url_decode(s, len, raw)) <= 0 || !cv_utf8_valid((char *)raw, (size_t)n))
		goto out;
	if ((tok = json_tokener_new_ex(8)) == NULL)
		goto out;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, (char *)raw, (int)n);
	if (obj != NULL && (json_tokener_get_parse_end(tok) != (size_t)n ||
	                    !json_object_is_type(obj, json_type_object))) {
		json_object_put(obj);
		obj = NULL;
	}
out:
	if (tok != NULL)   /* json_tokener_free(NULL) crashes */
		json_tokener_free(tok);
	free(raw);
	return obj;
}

static int
member_is(struct json_object *obj, const char *name, const char *want)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, name, &v) && json_object_is_type(v, json_type_string) &&
	       strcmp(json_object_get_string(v), want) == 0;
}

struct json_object *
cv_jwt_verify(const void *key, size_t keylen, const char *typ, const char *token, size_t len)
{
	struct json_object *header = NULL, *claims = NULL;
	const char *dot1, *dot2;
	char sig[CV_JWT_SIG_LEN + 1];

	if (len > CV_JWT_MAX || memchr(token, '\0', len) != NULL)
		return NULL;
	if ((dot1 = memchr(token, '.', len)) == NULL ||
	    (dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token))) == NULL ||
	    memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
		return NULL;
	if (token + len - (dot2 + 1) != CV_JWT_SIG_LEN ||
	    cv_jwt_signature(key, keylen, token, (size_t)(dot2 - token), sig) != 0 ||
	    !cv_ct_equal(sig, dot2 + 1, CV_JWT_SIG_LEN))
		return NULL;
	if ((header = decode_object(token, (size_t)(dot1 - token))) == NULL)
		return NULL;
	if (member_is(header, "alg", "HS256") && (typ == NULL || member_is(header, "typ", typ)) &&
	    !json_object_object_get_ex(header, "crit", NULL))
		claims = decode_object(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	json_object_put(header);
	return claims;
}

static const char *const alg_names[CV_JWT_ALG__MAX] = {
	[CV_JWT_HS256] = "HS256",
	[CV_JWT_ES256] = "ES256",
	[CV_JWT_EDDSA] = "EdDSA",
};

const char *
cv_jwt_alg_name(enum cv_jwt_alg alg)
{
	return alg_names[alg];
}

int
cv_jwt_alg_from_name(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < CV_JWT_ALG__MAX; i++)
		if (strcmp(name, alg_names[i]) == 0)
			return i;
	return -1;
}

int
cv_jwt_key_set_pkey(struct cv_jwt_key *key, EVP_PKEY *pkey)
{
	size_t n = 32, m = 32;

	key->pkey = NULL;
	key->has_sk = 0;
	if (pkey == NULL)
		return -1;
	if (key->alg == CV_JWT_ES256) {
		if (!EVP_PKEY_is_a(pkey, "EC"))
			return -1;
	} else if (key->alg != CV_JWT_EDDSA || !EVP_PKEY_is_a(pkey, "ED25519") ||
	           sodium_init() < 0 ||
	           EVP_PKEY_get_raw_public_key(pkey, key->ed25519_pk, &n) != 1 || n != 32) {
		return -1;
	} else if (EVP_PKEY_get_raw_private_key(pkey, key->ed25519_sk, &m) == 1 && m == 32) {
		/* libsodium's secret key: the 32-byte seed, then the public key. */
		memcpy(key->ed25519_sk + 32, key->ed25519_pk, 32);
		key->has_sk = 1;
	}
	key->pkey = pkey;
	return 0;
}

/* One context for every signature and check of the process, allocated
 * once; reset before each use, since a context initialised for one key
 * (or for signing) is not reinitialised cleanly for another. */
static EVP_MD_CTX *
md_ctx(void)
{
	static EVP_MD_CTX *ctx;

	if (ctx == NULL)
		ctx = EVP_MD_CTX_new();
	else
		EVP_MD_CTX_reset(ctx);
	return ctx;
}

/* The raw signature (HS256: 32 bytes; ES256: r || s, 32 bytes each; EdDSA:
 * 64 bytes) of input under key into raw.  Returns its length or -1. */
static long
raw_signature(const struct cv_jwt_key *key, const char *input, size_t len, unsigned char raw[64])
{
	EVP_MD_CTX *ctx;
	unsigned char der[80];
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	size_t n;
	long rc = -1;

	if (key->alg == CV_JWT_HS256)
		return key->secret != NULL &&
		               cv_hmac_sha256(key->secret, key->secret_len, input, len, raw) == 0
		           ? CV_SHA256_LEN : -1;
	if (key->alg == CV_JWT_EDDSA)
		return key->pkey != NULL && key->has_sk &&
		               crypto_sign_detached(raw, NULL, (const unsigned char *)input, len,
		                                    key->ed25519_sk) == 0
		           ? 64 : -1;
	if (key->pkey == NULL || (ctx = md_ctx()) == NULL)
		return -1;
	/* ES256: OpenSSL writes the DER of (r, s); JWS wants both as 32 bytes. */
	n = sizeof(der);
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) != 1 ||
	    EVP_DigestSign(ctx, der, &n, (const unsigned char *)input, len) != 1 ||
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)n)) == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32)
		rc = 64;
	ECDSA_SIG_free(sig);
	return rc;
}

/* 1 when raw (rawlen bytes) is a valid signature of input under key. */
static int
raw_signature_valid(const struct cv_jwt_key *key, const char *input, size_t len,
                    const unsigned char *raw, size_t rawlen)
{
	unsigned char mac[CV_SHA256_LEN], *der = NULL;
	BIGNUM *r = NULL, *s = NULL;
	ECDSA_SIG *sig = NULL;
	EVP_MD_CTX *ctx;
	int derlen, ok = 0;

	if (key->alg == CV_JWT_HS256)
		return rawlen == CV_SHA256_LEN && key->secret != NULL &&
		       cv_hmac_sha256(key->secret, key->secret_len, input, len, mac) == 0 &&
		       cv_ct_equal(mac, raw, CV_SHA256_LEN);
	if (rawlen != 64 || key->pkey == NULL)
		return 0;
	if (key->alg == CV_JWT_EDDSA)
		return crypto_sign_verify_detached(raw, (const unsigned char *)input, len,
		                                   key->ed25519_pk) == 0;
	if ((ctx = md_ctx()) == NULL)
		return 0;
	if ((sig = ECDSA_SIG_new()) == NULL || (r = BN_bin2bn(raw, 32, NULL)) == NULL ||
	    (s = BN_bin2bn(raw + 32, 32, NULL)) == NULL || ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL;
	if ((derlen = i2d_ECDSA_SIG(sig, &der)) > 0)
		ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
		     EVP_DigestVerify(ctx, der, (size_t)derlen, (const unsigned char *)input, len) == 1;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	OPENSSL_free(der);
	return ok;
}

/* The header key writes for typ, base64url, into out (room for 256).
 * Returns its length, or -1 for a kid or typ outside [A-Za-z0-9_+-]. */
static long
key_header(const struct cv_jwt_key *key, const char *typ, char out[256])
{
	char header[160];
	size_t i;
	int n;

	for (i = 0; key->kid[i] != '\0'; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
		           key->kid[i]) == NULL)
			return -1;
	if (strchr(typ, '"') != NULL || strchr(typ, '\\') != NULL || key->alg < 0 ||
	    key->alg >= CV_JWT_ALG__MAX)
		return -1;
	n = snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"%s\",\"kid\":\"%s\"}",
	             alg_names[key->alg], typ, key->kid);
	if (n < 0 || (size_t)n >= sizeof(header))
		return -1;
	return (long)cv_b64url_encode((const unsigned char *)header, (size_t)n, out);
}

char *
cv_jwt_sign_key(const struct cv_jwt_key *key, const char *typ, const char *claims_json)
{
	char header[256];
	unsigned char raw[64];
	long hlen = key_header(key, typ, header), rawlen;
	size_t clen = strlen(claims_json), plen = cv_b64url_len(clen), at;
	char *token;

	if (hlen < 0 || (token = malloc((size_t)hlen + 1 + plen + 1 + CV_JWT_SIG_MAX + 1)) == NULL)
		return NULL;
	memcpy(token, header, (size_t)hlen);
	token[hlen] = '.';
	cv_b64url_encode((const unsigned char *)claims_json, clen, token + hlen + 1);
	at = (size_t)hlen + 1 + plen;
	token[at] = '.';
	if ((rawlen = raw_signature(key, token, at, raw)) < 0) {
		free(token);
		return NULL;
	}
	cv_b64url_encode(raw, (size_t)rawlen, token + at + 1);
	return token;
}

struct json_object *
cv_jwt_verify_key(const struct cv_jwt_key *key, const char *typ, const char *token, size_t len)
{
	char header[256];
	unsigned char raw[CV_JWT_SIG_MAX * 3 / 4 + 1];
	long hlen = key_header(key, typ, header), rawlen;
	const char *dot2;
	size_t siglen;

	if (hlen < 0 || len > CV_JWT_MAX || len <= (size_t)hlen + 1 ||
	    memcmp(token, header, (size_t)hlen) != 0 || token[hlen] != '.' ||
	    memchr(token, '\0', len) != NULL)
		return NULL;
	if ((dot2 = memchr(token + hlen + 1, '.', len - (size_t)hlen - 1)) == NULL ||
	    memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
		return NULL;
	siglen = len - (size_t)(dot2 + 1 - token);
	if (siglen > CV_JWT_SIG_MAX || (rawlen = cv_b64url_decode(dot2 + 1, siglen, raw)) <= 0 ||
	    !raw_signature_valid(key, token, (size_t)(dot2 - token), raw, (size_t)rawlen))
		return NULL;
	return decode_object(token + hlen + 1, (size_t)(dot2 - token) - (size_t)hlen - 1);
}
