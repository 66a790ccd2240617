/*
 * jwt.c - signs and checks HS256 tokens.  Hand-written on OpenSSL's HMAC
 * because a JWT library would bring a second JSON parser.  Verification
 * checks the signature before it parses anything the sender wrote.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
