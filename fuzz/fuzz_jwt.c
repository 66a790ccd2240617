/*
 * fuzz_jwt.c - the HS256 verifier (lib/jwt.c cv_jwt_verify) under the fixed
 * key FUZZ_KEY.  Three kinds of input reach past the signature check in
 * different ways:
 *   - a token as it is ("h.p.s"): the splitting and the signature check;
 *   - a token ending in ".*": the harness signs it, so header and claims
 *     are parsed from the fuzzer's base64url;
 *   - "<header JSON>\n<claims JSON>": the harness encodes and signs them, so
 *     the fuzzer works on the JSON directly (alg, typ, crit, nesting).
 * Links: lib/jwt.c lib/crypto.c lib/utf8.c
 *
 * Invariants: a token accepted for a typ is accepted without one; an
 * accepted token has exactly three parts, the signature of the first two,
 * and a header with alg "HS256", the typ asked for and no "crit"; changing
 * one character of its signature makes it refused; its claims, signed again
 * by cv_jwt_sign, verify to an equal object; nothing passes the check of an
 * EdDSA key (cv_jwt_verify_key), whatever its header says.
 */
#include <json-c/json.h>

#include "fuzz.h"

/* "<header>\n<claims>" -> base64url(header).base64url(claims).* signed. */
static char *
token_of_json(const uint8_t *data, size_t size, const uint8_t *nl, size_t *outlen)
{
	size_t hlen = (size_t)(nl - data), clen = size - hlen - 1;
	size_t hb = cv_b64url_len(hlen), cb = cv_b64url_len(clen);
	char *t = malloc(hb + 1 + cb + 3), *signed_token;

	if (t == NULL)
		return NULL;
	cv_b64url_encode(data, hlen, t);
	t[hb] = '.';
	cv_b64url_encode(nl + 1, clen, t + hb + 1);
	memcpy(t + hb + 1 + cb, ".*", 2);
	signed_token = fuzz_sign_star(t, hb + 1 + cb + 2, outlen);
	free(t);
	return signed_token;
}

/* The JSON object in base64url s[0..len), decoded here independently. */
static struct json_object *
part(const char *s, size_t len)
{
	unsigned char *raw = malloc(len + 1);
	struct json_object *obj = NULL;
	long n;

	FUZZ_CHECK(raw != NULL);
	if ((n = cv_b64url_decode(s, len, raw)) > 0) {
		raw[n] = '\0';
		obj = json_tokener_parse((char *)raw);
	}
	free(raw);
	return obj;
}

static int
member_is(struct json_object *obj, const char *name, const char *want)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, name, &v) &&
	       json_object_is_type(v, json_type_string) &&
	       strcmp(json_object_get_string(v), want) == 0;
}

/* What must hold of a token that verified (claims) under typ. */
static void
check_accepted(const char *token, size_t len, const char *typ, struct json_object *claims)
{
	const char *dot1 = memchr(token, '.', len), *dot2;
	char sig[CV_JWT_SIG_LEN + 1], *flipped, *again;
	struct json_object *header, *claims2;
	size_t i;

	FUZZ_CHECK(json_object_is_type(claims, json_type_object));
	FUZZ_CHECK(dot1 != NULL);
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	FUZZ_CHECK(dot2 != NULL && memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) == NULL);
	FUZZ_CHECK(token + len - (dot2 + 1) == CV_JWT_SIG_LEN);
	FUZZ_CHECK(cv_jwt_signature(FUZZ_KEY, FUZZ_KEY_LEN, token, (size_t)(dot2 - token), sig) ==
	           0);
	FUZZ_CHECK(memcmp(sig, dot2 + 1, CV_JWT_SIG_LEN) == 0);

	header = part(token, (size_t)(dot1 - token));
	FUZZ_CHECK(header != NULL && member_is(header, "alg", "HS256"));
	FUZZ_CHECK(typ == NULL || member_is(header, "typ", typ));
	FUZZ_CHECK(!json_object_object_get_ex(header, "crit", NULL));
	json_object_put(header);

	/* One changed signature character: refused. */
	flipped = malloc(len);
	FUZZ_CHECK(flipped != NULL);
	memcpy(flipped, token, len);
	i = (size_t)(dot2 + 1 - token) + (unsigned char)token[0] % CV_JWT_SIG_LEN;
	flipped[i] = flipped[i] == 'A' ? 'B' : 'A';
	FUZZ_CHECK(cv_jwt_verify(FUZZ_KEY, FUZZ_KEY_LEN, typ, flipped, len) == NULL);
	free(flipped);

	/* Signed again by cv_jwt_sign: the same claims. */
	again = cv_jwt_sign(FUZZ_KEY, FUZZ_KEY_LEN, CV_JWT_TYP_ACCESS,
	                    json_object_to_json_string_ext(claims, JSON_C_TO_STRING_PLAIN));
	FUZZ_CHECK(again != NULL);
	if (strlen(again) <= CV_JWT_MAX) {
		claims2 =
		    cv_jwt_verify(FUZZ_KEY, FUZZ_KEY_LEN, CV_JWT_TYP_ACCESS, again, strlen(again));
		FUZZ_CHECK(claims2 != NULL && json_object_equal(claims, claims2));
		json_object_put(claims2);
	}
	free(again);
}

static void
verify(const char *token, size_t len)
{
	static const char *const typs[] = {CV_JWT_TYP_ACCESS, CV_JWT_TYP_CONTACT};
	struct json_object *any, *claims;
	size_t i;

	/* An EdDSA key (cv_jwt_verify_key) under a fixed seed: no input of the
	 * fuzzer's, nor any token the harness signs HS256, passes its check. */
	static struct cv_jwt_key eddsa = {.alg = CV_JWT_EDDSA, .kid = "fuzz-eddsa-key-0001"};

	if (eddsa.pkey == NULL)
		cv_jwt_key_set_pkey(&eddsa, EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
		                                                        (const unsigned char *)FUZZ_KEY,
		                                                        32));
	FUZZ_CHECK(eddsa.pkey != NULL &&
	           cv_jwt_verify_key(&eddsa, CV_JWT_TYP_ACCESS, token, len) == NULL &&
	           cv_jwt_verify_key(&eddsa, CV_JWT_TYP_CONTACT, token, len) == NULL);
	any = cv_jwt_verify(FUZZ_KEY, FUZZ_KEY_LEN, NULL, token, len);
	if (any != NULL)
		check_accepted(token, len, NULL, any);
	for (i = 0; i < sizeof(typs) / sizeof(typs[0]); i++) {
		claims = cv_jwt_verify(FUZZ_KEY, FUZZ_KEY_LEN, typs[i], token, len);
		if (claims != NULL) {
			FUZZ_CHECK(any != NULL && json_object_equal(any, claims));
			check_accepted(token, len, typs[i], claims);
		}
		json_object_put(claims);
	}
	json_object_put(any);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *token;
	size_t len;

	if (nl != NULL)
		token = token_of_json(data, size, nl, &len);
	else
		token = fuzz_sign_star((const char *)data, size, &len);
	if (token != NULL) {
		verify(token, len);
		free(token);
	} else {
		verify((const char *)data, size);
	}
	return 0;
}
