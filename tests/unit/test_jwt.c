/*
 * test_jwt.c - HS256 signing against RFC 7515 Appendix A.1, and the shape of
 * the tokens the service issues.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "jwt.h"
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
	char *token = cv_jwt_sign(secret, strlen(secret), claims);
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

int
main(void)
{
	signature_matches_rfc7515_a1();
	signed_token_has_fixed_header_and_verifiable_signature();
	return unit_done();
}
