/*
 * crypto.c - thin, checked wrappers over OpenSSL and the two text encodings
 * the service uses.  Nothing here allocates.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "crypto.h"

int
cv_random_bytes(unsigned char *buf, size_t n)
{
	return (n > (size_t)0x7fffffff || RAND_bytes(buf, (int)n) != 1) ? -1 : 0;
}

int
cv_random_digits(char *out, size_t n)
{
	unsigned char pool[64];
	size_t have = 0, used = 0, i = 0;

	while (i < n) {
		if (used == have) {
			if (cv_random_bytes(pool, sizeof(pool)) != 0)
				return -1;
			have = sizeof(pool);
			used = 0;
		}
		if (pool[used] < 250)   /* 250 = 25 * 10: keep the digits uniform */
			out[i++] = (char)('0' + pool[used] % 10);
		used++;
	}
	out[n] = '\0';
	OPENSSL_cleanse(pool, sizeof(pool));
	return 0;
}

void
cv_sha256(const void *data, size_t len, unsigned char out[CV_SHA256_LEN])
{
	SHA256(data, len, out);
}

int
cv_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
               unsigned char out[CV_SHA256_LEN])
{
	unsigned int outlen = 0;

	if (keylen > 0x7fffffff)
		return -1;
	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen) == NULL ||
	    outlen != CV_SHA256_LEN)
		return -1;
	return 0;
}

int
cv_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void
cv_hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
cv_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
cv_hex_decode(const char *in, unsigned char *out, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = cv_hex_digit(in[2 * i])) < 0 || (lo = cv_hex_digit(in[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
cv_seal(const unsigned char key[CV_SEAL_KEY_LEN], const void *aad, size_t aadlen,
        const void *plain, size_t len, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx;
	int n, rc = -1;

	if (len > 0x7fffffff - 32 || aadlen > 0x7fffffff || cv_random_bytes(out, 12) != 0)
		return -1;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, out) == 1 &&
	    (aadlen == 0 || EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1) &&
	    EVP_EncryptUpdate(ctx, out + 12, &n, plain, (int)len) == 1 && (size_t)n == len &&
	    EVP_EncryptFinal_ex(ctx, out + 12 + len, &n) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + 12 + len) == 1)
		rc = 0;
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

long
cv_open(const unsigned char key[CV_SEAL_KEY_LEN], const void *aad, size_t aadlen,
        const unsigned char *sealed, size_t len, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx;
	size_t plen;
	long rc = -1;
	int n;

	if (len < CV_SEAL_OVERHEAD || len > 0x7fffffff || aadlen > 0x7fffffff)
		return -1;
	plen = len - CV_SEAL_OVERHEAD;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, sealed) == 1 &&
	    (aadlen == 0 || EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1) &&
	    EVP_DecryptUpdate(ctx, out, &n, sealed + 12, (int)plen) == 1 && (size_t)n == plen &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)(sealed + 12 + plen)) == 1 &&
	    EVP_DecryptFinal_ex(ctx, out + plen, &n) == 1)
		rc = (long)plen;
	EVP_CIPHER_CTX_free(ctx);
	if (rc < 0)
		OPENSSL_cleanse(out, plen);
	return rc;
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
cv_b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t
cv_b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;
	unsigned long v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned long)in[i] << 16;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
cv_b64url_decode(const char *in, size_t len, unsigned char *out)
{
	size_t i, o = 0;
	unsigned long v = 0;
	int bits = 0, d;

	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((d = b64url_value((unsigned char)in[i])) < 0)
			return -1;
		v = (v << 6 | (unsigned long)d) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits & 0xff);
		}
	}
	/* Leftover bits must be zero, or two texts would decode alike. */
	if (bits > 0 && (v & ((1UL << bits) - 1)) != 0)
		return -1;
	return (long)o;
}
