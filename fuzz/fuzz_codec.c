/*
 * fuzz_codec.c - the text codecs every parser stands on: base64url and hex
 * (lib/crypto.c) and the UTF-8 check (lib/utf8.c cv_utf8_valid).
 * Links: lib/crypto.c lib/utf8.c
 *
 * Invariants: base64url decoding writes no more than the documented
 * len * 3 / 4 bytes, and what it accepts encodes back to the same text (one
 * text per byte string); encoding then decoding gives the input back.  Hex
 * decoding accepts exactly the texts of hex digits and encodes back to them
 * in lower case; hex encoding round-trips.  cv_utf8_valid agrees with the
 * well-formed byte sequences of Unicode's Table 3-7, NUL excluded.
 */
#include <ctype.h>

#include "fuzz.h"
#include "utf8.h"

static void
check_b64url(const uint8_t *data, size_t size)
{
	size_t room = size * 3 / 4;
	unsigned char *raw = malloc(room > 0 ? room : 1), *back;
	char *text = malloc(cv_b64url_len(size) + 1);
	long n;

	FUZZ_CHECK(raw != NULL && text != NULL);
	if ((n = cv_b64url_decode((const char *)data, size, raw)) >= 0) {
		FUZZ_CHECK((size_t)n == room && cv_b64url_len((size_t)n) == size);
		FUZZ_CHECK(cv_b64url_encode(raw, (size_t)n, text) == size);
		FUZZ_CHECK(memcmp(text, data, size) == 0);
	}
	FUZZ_CHECK(cv_b64url_encode(data, size, text) == cv_b64url_len(size));
	FUZZ_CHECK(text[cv_b64url_len(size)] == '\0');
	back = malloc(size > 0 ? size : 1);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(cv_b64url_decode(text, cv_b64url_len(size), back) == (long)size);
	FUZZ_CHECK(memcmp(back, data, size) == 0);
	free(back);
	free(text);
	free(raw);
}

static void
check_hex(const uint8_t *data, size_t size)
{
	size_t n = size / 2, i, hex = 0;
	unsigned char *raw = malloc(n > 0 ? n : 1), *back = malloc(size > 0 ? size : 1);
	char *text = malloc(2 * size + 1);

	FUZZ_CHECK(raw != NULL && back != NULL && text != NULL);
	while (hex < 2 * n && isxdigit(data[hex]))
		hex++;
	if (cv_hex_decode((const char *)data, raw, n) == 0) {
		FUZZ_CHECK(hex == 2 * n);
		cv_hex_encode(raw, n, text);
		for (i = 0; i < 2 * n; i++)
			FUZZ_CHECK(text[i] == (char)tolower(data[i]));
	} else {
		FUZZ_CHECK(hex < 2 * n);
	}
	cv_hex_encode(data, size, text);
	FUZZ_CHECK(strlen(text) == 2 * size);
	FUZZ_CHECK(cv_hex_decode(text, back, size) == 0 && memcmp(back, data, size) == 0);
	free(text);
	free(back);
	free(raw);
}

/* Well-formed UTF-8 by Table 3-7 of The Unicode Standard, without NUL. */
static int
utf8_reference(const uint8_t *s, size_t len)
{
	size_t i = 0, k, n;
	uint8_t lo, hi;

	while (i < len) {
		uint8_t c = s[i];

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return 0;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (len - i <= n)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return 0;
		i += n + 1;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_b64url(data, size);
	check_hex(data, size);
	FUZZ_CHECK(cv_utf8_valid((const char *)data, size) == utf8_reference(data, size));
	return 0;
}
