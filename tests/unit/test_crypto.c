/*
 * test_crypto.c - the encodings and the code generator: base64url round
 * trips and rejects, hex, HMAC-SHA256 (RFC 4231 case 2), uniform digits.
 */
#include "config.h"

#include <string.h>

#include "crypto.h"
#include "unit.h"

static void
b64url_round_trips_every_length(void)
{
	unsigned char in[40], out[40];
	char text[64];
	size_t n, i;
	int ok = 1;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 250);
	for (n = 0; n <= sizeof(in); n++) {
		size_t len = cv_b64url_encode(in, n, text);

		if (len != cv_b64url_len(n) || strpbrk(text, "+/=") != NULL ||
		    cv_b64url_decode(text, len, out) != (long)n || memcmp(in, out, n) != 0)
			ok = 0;
	}
	CHECK("b64url round trip 0..40 bytes", ok);
}

static void
b64url_rejects_padding_and_foreign_characters(void)
{
	unsigned char out[16];

	CHECK("padding refused", cv_b64url_decode("QQ==", 4, out) == -1);
	CHECK("plus refused", cv_b64url_decode("a+b/", 4, out) == -1);
	CHECK("impossible length refused", cv_b64url_decode("QUJDR", 5, out) == -1);
	CHECK("non-canonical trailing bits refused", cv_b64url_decode("QR", 2, out) == -1);
	CHECK("canonical decodes", cv_b64url_decode("QQ", 2, out) == 1 && out[0] == 'A');
}

static void
hmac_sha256_matches_rfc4231_case_2(void)
{
	unsigned char mac[CV_SHA256_LEN];
	char hex[65];

	CHECK("hmac computed", cv_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac) == 0);
	cv_hex_encode(mac, sizeof(mac), hex);
	CHECK("rfc4231 case 2",
	      strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0);
}

static void
hex_decode_rejects_non_hex(void)
{
	unsigned char out[2];

	CHECK("hex decodes", cv_hex_decode("0aFf", out, 2) == 0 && out[0] == 0x0a && out[1] == 0xff);
	CHECK("hex refuses g", cv_hex_decode("0g", out, 1) == -1);
}

static void
random_digits_are_digits_and_roughly_uniform(void)
{
	char code[11];
	long counts[10] = {0};
	int i, j, all_digits = 1, uniform = 1;

	for (i = 0; i < 20000; i++) {
		if (cv_random_digits(code, 10) != 0 || strlen(code) != 10)
			all_digits = 0;
		for (j = 0; j < 10; j++) {
			if (code[j] < '0' || code[j] > '9')
				all_digits = 0;
			else
				counts[code[j] - '0']++;
		}
	}
	/* 200,000 digits: each expected 20,000, sd ~134; 6 sd is far outside chance. */
	for (j = 0; j < 10; j++)
		if (counts[j] < 20000 - 800 || counts[j] > 20000 + 800)
			uniform = 0;
	CHECK("random digits are 10 digits", all_digits);
	CHECK("random digits roughly uniform", uniform);
}

static void
ct_equal_compares_content(void)
{
	CHECK("equal", cv_ct_equal("abcd", "abcd", 4));
	CHECK("unequal", !cv_ct_equal("abcd", "abce", 4));
}

static int
contains(const unsigned char *hay, size_t n, const char *needle, size_t k)
{
	size_t i;

	for (i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return 1;
	return 0;
}

static void
seal_round_trips_and_refuses_tampering(void)
{
	unsigned char key[CV_SEAL_KEY_LEN], other[CV_SEAL_KEY_LEN], sealed[64 + CV_SEAL_OVERHEAD];
	unsigned char sealed2[sizeof(sealed)], plain[64];
	static const char msg[] = "0123456789\nsecret-link-token";
	size_t n = sizeof(msg) - 1;

	memset(key, 7, sizeof(key));
	memset(other, 8, sizeof(other));
	CHECK("seals", cv_seal(key, "ctx", 3, msg, n, sealed) == 0);
	CHECK("ciphertext hides the text", !contains(sealed, n + CV_SEAL_OVERHEAD, "0123456789", 10));
	CHECK("opens", cv_open(key, "ctx", 3, sealed, n + CV_SEAL_OVERHEAD, plain) == (long)n &&
	                   memcmp(plain, msg, n) == 0);
	CHECK("fresh nonce each time", cv_seal(key, "ctx", 3, msg, n, sealed2) == 0 &&
	                                   memcmp(sealed, sealed2, n + CV_SEAL_OVERHEAD) != 0);
	CHECK("other key refused", cv_open(other, "ctx", 3, sealed, n + CV_SEAL_OVERHEAD, plain) == -1);
	CHECK("other aad refused", cv_open(key, "ctX", 3, sealed, n + CV_SEAL_OVERHEAD, plain) == -1);
	sealed[15] ^= 1;
	CHECK("flipped ciphertext refused", cv_open(key, "ctx", 3, sealed, n + CV_SEAL_OVERHEAD, plain) == -1);
	sealed[15] ^= 1;
	sealed[n + CV_SEAL_OVERHEAD - 1] ^= 1;
	CHECK("flipped tag refused", cv_open(key, "ctx", 3, sealed, n + CV_SEAL_OVERHEAD, plain) == -1);
	CHECK("short input refused", cv_open(key, "ctx", 3, sealed, CV_SEAL_OVERHEAD - 1, plain) == -1);
}

int
main(void)
{
	seal_round_trips_and_refuses_tampering();
	b64url_round_trips_every_length();
	b64url_rejects_padding_and_foreign_characters();
	hmac_sha256_matches_rfc4231_case_2();
	hex_decode_rejects_non_hex();
	random_digits_are_digits_and_roughly_uniform();
	ct_equal_compares_content();
	return unit_done();
}
