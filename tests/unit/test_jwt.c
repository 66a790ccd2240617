/*
 * test_jwt.c - HS256 signing against RFC 7515 Appendix A.1, the Ed25519 JWK
 * thumbprint of RFC 8037 A.3, and the shape of the tokens the service issues
 * under each algorithm.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "crypto.h"
#include "jwt.h"
#include "keys.h"
#include "unit.h"

static void
signature_matches_rfc7515_a1(void)
{
	/* The JWK "k" of A.1 and its exact signing input (with CR LF inside). */
	static const char k[] =
	    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
	static const char input[] =
	    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
	    "."
	    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
	unsigned char key[128];
	char sig[CV_JWT_SIG_LEN + 1];
	long keylen = cv_b64url_decode(k, strlen(k), key);

	CHECK("rfc7515 key decodes to 64 bytes", keylen == 64);
	CHECK("rfc7515 signature computed",
	      cv_jwt_signature(key, (size_t)keylen, input, strlen(input), sig) == 0);
	CHECK("rfc7515 A.1 signature", strcmp(sig, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == 0);
}

static void
signed_token_has_fixed_header_and_verifiable_signature(void)
{
	static const char secret[] = "0123456789abcdef0123456789abcdef";
	static const char claims[] = "{\"sub\":\"x\",\"email\":\"a@b.example\"}";
	char *token = cv_jwt_sign(secret, strlen(secret), CV_JWT_TYP_CONTACT, claims);
	char sig[CV_JWT_SIG_LEN + 1], payload[128];
	const char *dot1, *dot2;
	long n;

	CHECK("token made", token != NULL);
	if (token == NULL)
		return;
	dot1 = strchr(token, '.');
	dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
	CHECK("three parts", dot1 != NULL && dot2 != NULL && strchr(dot2 + 1, '.') == NULL);
	if (dot1 == NULL || dot2 == NULL)
		goto out;
	/* base64url of {"alg":"HS256","typ":"JWT"} */
	CHECK("header", strncmp(token, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0);
	n = cv_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), (unsigned char *)payload);
	CHECK("payload decodes to the claims",
	      n == (long)strlen(claims) && memcmp(payload, claims, (size_t)n) == 0);
	cv_jwt_signature(secret, strlen(secret), token, (size_t)(dot2 - token), sig);
	CHECK("signature over header.payload", strcmp(dot2 + 1, sig) == 0);
out:
	free(token);
}

/* A token with the given raw header and claims, signed with key. */
static char *
forge(const char *key, const char *header, const char *claims)
{
	static char token[1024];
	size_t n = cv_b64url_encode((const unsigned char *)header, strlen(header), token);

	token[n++] = '.';
	n += cv_b64url_encode((const unsigned char *)claims, strlen(claims), token + n);
	token[n] = '.';
	cv_jwt_signature(key, strlen(key), token, n, token + n + 1);
	return token;
}

static int
accepts(const char *key, const char *typ, const char *token)
{
	struct json_object *claims = cv_jwt_verify(key, strlen(key), typ, token, strlen(token));

	json_object_put(claims);
	return claims != NULL;
}

static void
verify_accepts_only_hs256_of_the_expected_type(void)
{
	static const char key[] = "an access token key of 32+ bytes!";
	static const char claims[] = "{\"client_id\":7,\"exp\":99}";
	char *good = cv_jwt_sign(key, strlen(key), CV_JWT_TYP_ACCESS, claims);
	char tampered[1024];
	struct json_object *c;

	CHECK("own access token verifies", good != NULL && accepts(key, CV_JWT_TYP_ACCESS, good));
	c = good != NULL ? cv_jwt_verify(key, strlen(key), CV_JWT_TYP_ACCESS, good, strlen(good)) : NULL;
	CHECK("claims come back", c != NULL && json_object_object_get_ex(c, "client_id", NULL));
	json_object_put(c);
	CHECK("other key refused", good != NULL && !accepts("another key of 32 bytes or more!!",
	                                                     CV_JWT_TYP_ACCESS, good));
	CHECK("contact token is not an access token",
	      !accepts(key, CV_JWT_TYP_ACCESS, forge(key, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims)));
	CHECK("alg none refused",
	      !accepts(key, CV_JWT_TYP_ACCESS, forge(key, "{\"alg\":\"none\",\"typ\":\"at+jwt\"}", claims)));
	CHECK("alg HS512 refused",
	      !accepts(key, CV_JWT_TYP_ACCESS, forge(key, "{\"alg\":\"HS512\",\"typ\":\"at+jwt\"}", claims)));
	CHECK("crit refused",
	      !accepts(key, CV_JWT_TYP_ACCESS,
	               forge(key, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"crit\":[\"x\"]}", claims)));
	CHECK("header not an object refused",
	      !accepts(key, CV_JWT_TYP_ACCESS, forge(key, "[\"HS256\"]", claims)));
	/* Found by fuzz_jwt: an empty part under a valid signature crashed. */
	CHECK("signed empty header refused", !accepts(key, CV_JWT_TYP_ACCESS, forge(key, "", claims)));
	CHECK("signed empty claims refused",
	      !accepts(key, CV_JWT_TYP_ACCESS, forge(key, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", "")));
	CHECK("claims not an object refused",
	      !accepts(key, CV_JWT_TYP_ACCESS, forge(key, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", "7")));
	if (good != NULL) {
		snprintf(tampered, sizeof(tampered), "%s", good);
		tampered[strlen(tampered) - 1] ^= 1;
		CHECK("flipped signature refused", !accepts(key, CV_JWT_TYP_ACCESS, tampered));
		snprintf(tampered, sizeof(tampered), "%s.", good);
		CHECK("four parts refused", !accepts(key, CV_JWT_TYP_ACCESS, tampered));
		CHECK("signature alone refused", !accepts(key, CV_JWT_TYP_ACCESS, strrchr(good, '.')));
	}
	CHECK("empty refused", !accepts(key, CV_JWT_TYP_ACCESS, ""));
	CHECK("dots refused", !accepts(key, CV_JWT_TYP_ACCESS, ".."));
	free(good);
}

/* RFC 8037 A.1 and A.3: the Ed25519 key and the thumbprint of its JWK. */
static void
ed25519_thumbprint_matches_rfc8037_a3(void)
{
	static const char d[] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
	unsigned char seed[32];
	char kid[CV_KEY_THUMBPRINT_LEN + 1];
	struct json_object *jwk, *x;
	EVP_PKEY *pkey;

	CHECK("rfc8037 d decodes", cv_b64url_decode(d, strlen(d), seed) == 32);
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	CHECK("rfc8037 key made", pkey != NULL);
	if (pkey == NULL)
		return;
	CHECK("rfc8037 thumbprint", cv_key_thumbprint(pkey, CV_JWT_EDDSA, kid) == 0 &&
	                                strcmp(kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k") == 0);
	jwk = cv_key_public_jwk(pkey, CV_JWT_EDDSA, kid);
	CHECK("rfc8037 public x", jwk != NULL && json_object_object_get_ex(jwk, "x", &x) &&
	                              strcmp(json_object_get_string(x),
	                                     "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo") == 0);
	CHECK("no private member", jwk != NULL && !json_object_object_get_ex(jwk, "d", NULL));
	json_object_put(jwk);
	EVP_PKEY_free(pkey);
}

/* ES256 and EdDSA: a token verifies under its key only, with its exact
 * header; nothing else does. */
static void
asymmetric_tokens_verify_under_their_key_only(void)
{
	static const enum cv_jwt_alg algs[] = {CV_JWT_ES256, CV_JWT_EDDSA};
	static const char claims[] = "{\"sub\":\"x\"}";
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		struct cv_jwt_key key = {.alg = algs[i]}, other = {.alg = algs[i]}, hs = {
			.alg = CV_JWT_HS256};
		struct json_object *c;
		char *token, *forged, *dot;
		unsigned char der[256];

		CHECK("keys made", cv_jwt_key_set_pkey(&key, cv_key_generate(algs[i])) == 0 &&
		                       cv_jwt_key_set_pkey(&other, cv_key_generate(algs[i])) == 0 &&
		                       cv_key_thumbprint(key.pkey, algs[i], key.kid) == 0);
		snprintf(other.kid, sizeof(other.kid), "%s", key.kid);
		token = cv_jwt_sign_key(&key, CV_JWT_TYP_CONTACT, claims);
		CHECK("signed", token != NULL && strlen(strrchr(token, '.') + 1) == 86);
		c = token != NULL ? cv_jwt_verify_key(&key, CV_JWT_TYP_CONTACT, token, strlen(token))
		                  : NULL;
		CHECK("verifies under its key", c != NULL);
		json_object_put(c);
		CHECK("refused under another key of the same kid",
		      token != NULL &&
		          cv_jwt_verify_key(&other, CV_JWT_TYP_CONTACT, token, strlen(token)) == NULL);
		CHECK("refused as another typ",
		      token != NULL &&
		          cv_jwt_verify_key(&key, CV_JWT_TYP_ACCESS, token, strlen(token)) == NULL);
		/* The same claims signed HS256 with the public key's DER as the
		 * secret: the classic confusion. */
		{
			unsigned char *q = der;
			int n = i2d_PUBKEY(key.pkey, &q);

			hs.secret = der;
			hs.secret_len = n > 0 ? (size_t)n : 0;
			snprintf(hs.kid, sizeof(hs.kid), "%s", key.kid);
		}
		forged = cv_jwt_sign_key(&hs, CV_JWT_TYP_CONTACT, claims);
		CHECK("HS256 with the public key refused",
		      forged != NULL &&
		          cv_jwt_verify_key(&key, CV_JWT_TYP_CONTACT, forged, strlen(forged)) == NULL);
		free(forged);
		if (token != NULL && (dot = strrchr(token, '.')) != NULL) {
			dot[5] = dot[5] == 'A' ? 'B' : 'A';
			CHECK("flipped signature refused",
			      cv_jwt_verify_key(&key, CV_JWT_TYP_CONTACT, token, strlen(token)) == NULL);
			dot[1] = '\0';
			CHECK("no signature refused",
			      cv_jwt_verify_key(&key, CV_JWT_TYP_CONTACT, token, strlen(token)) == NULL);
		}
		free(token);
		EVP_PKEY_free(key.pkey);
		EVP_PKEY_free(other.pkey);
	}
}

/* The Ed25519 signature of the token's signing input as OpenSSL's
 * EVP_DigestSign makes it, base64url, into out (room for 87). */
static int
evp_ed25519_signature(EVP_PKEY *pkey, const char *input, size_t len, char out[87])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char raw[64];
	size_t n = sizeof(raw);
	int ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
	         EVP_DigestSign(ctx, raw, &n, (const unsigned char *)input, len) == 1 && n == 64;

	EVP_MD_CTX_free(ctx);
	if (ok)
		cv_b64url_encode(raw, sizeof(raw), out);
	return ok ? 0 : -1;
}

/* EdDSA tokens are signed and checked by libsodium: Ed25519 is
 * deterministic, so each signature must be byte for byte the one OpenSSL
 * makes of the same input under the same key (OpenSSL made the key), and a
 * token OpenSSL signed must verify.  A key without its private half
 * verifies and never signs. */
static void
eddsa_signatures_are_openssl_s(void)
{
	static const char *const claims[] = {"{}", "{\"sub\":\"x\"}",
	                                     "{\"email\":\"a@example.com\",\"exp\":4102444800}"};
	size_t i, k;

	for (k = 0; k < 8; k++) {
		struct cv_jwt_key key = {.alg = CV_JWT_EDDSA, .kid = "test-key"},
		                  pub = {.alg = CV_JWT_EDDSA, .kid = "test-key"};
		unsigned char raw[32];
		size_t rawlen = sizeof(raw);
		EVP_PKEY *pubkey = NULL;

		CHECK("key made", cv_jwt_key_set_pkey(&key, cv_key_generate(CV_JWT_EDDSA)) == 0 &&
		                      key.has_sk);
		if (key.pkey == NULL)
			return;
		if (EVP_PKEY_get_raw_public_key(key.pkey, raw, &rawlen) == 1)
			pubkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, rawlen);
		CHECK("public half alone", cv_jwt_key_set_pkey(&pub, pubkey) == 0 && !pub.has_sk);
		CHECK("public half alone cannot sign", cv_jwt_sign_key(&pub, CV_JWT_TYP_CONTACT, "{}") == NULL);
		for (i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
			char *token = cv_jwt_sign_key(&key, CV_JWT_TYP_CONTACT, claims[i]), *dot, evp[87];
			struct json_object *c;

			dot = token != NULL ? strrchr(token, '.') : NULL;
			CHECK("signed", dot != NULL);
			if (dot == NULL)
				continue;
			CHECK("the signature OpenSSL makes",
			      evp_ed25519_signature(key.pkey, token, (size_t)(dot - token), evp) == 0 &&
			          strcmp(dot + 1, evp) == 0);
			c = cv_jwt_verify_key(&pub, CV_JWT_TYP_CONTACT, token, strlen(token));
			CHECK("verifies under the public half", c != NULL);
			json_object_put(c);
			/* A token whose signature OpenSSL made over other claims. */
			if (evp_ed25519_signature(key.pkey, "e30.e30", 7, evp) == 0)
				memcpy(dot + 1, evp, strlen(evp) + 1);
			CHECK("another input's signature refused",
			      cv_jwt_verify_key(&key, CV_JWT_TYP_CONTACT, token, strlen(token)) == NULL);
			free(token);
		}
		EVP_PKEY_free(pubkey);
		EVP_PKEY_free(key.pkey);
	}
}

int
main(void)
{
	signature_matches_rfc7515_a1();
	signed_token_has_fixed_header_and_verifiable_signature();
	verify_accepts_only_hs256_of_the_expected_type();
	ed25519_thumbprint_matches_rfc8037_a3();
	asymmetric_tokens_verify_under_their_key_only();
	eddsa_signatures_are_openssl_s();
	return unit_done();
}
