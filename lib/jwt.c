/*
 * jwt.c - signs HS256 tokens.  Hand-written on OpenSSL's HMAC because a JWT
 * library would bring a second JSON parser; verification of incoming tokens
 * arrives with the OAuth and tenant issues.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "jwt.h"

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
cv_jwt_sign(const void *key, size_t keylen, const char *claims_json)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	size_t hlen = cv_b64url_len(sizeof(header) - 1);
	size_t clen = strlen(claims_json);
	size_t plen = cv_b64url_len(clen);
	char *token;

	if ((token = malloc(hlen + 1 + plen + 1 + CV_JWT_SIG_LEN + 1)) == NULL)
		return NULL;
	cv_b64url_encode((const unsigned char *)header, sizeof(header) - 1, token);
	token[hlen] = '.';
	cv_b64url_encode((const unsigned char *)claims_json, clen, token + hlen + 1);
	token[hlen + 1 + plen] = '.';
	if (cv_jwt_signature(key, keylen, token, hlen + 1 + plen, token + hlen + 1 + plen + 1) != 0) {
		free(token);
		return NULL;
	}
	return token;
}
