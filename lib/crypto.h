/*
 * crypto.h - the small set of primitives the service needs, all on OpenSSL:
 * CSPRNG bytes and digits, SHA-256, HMAC-SHA256, constant-time comparison,
 * hex and base64url.
 */
#ifndef CV_CRYPTO_H
#define CV_CRYPTO_H

#include <stddef.h>

#define CV_SHA256_LEN 32

/* Fills buf with n bytes from OpenSSL's CSPRNG.  Returns 0 or -1. */
int cv_random_bytes(unsigned char *buf, size_t n);

/*
 * Writes n uniformly random decimal digits and a NUL to out (n + 1 bytes).
 * Each digit comes from a random byte below 250 (rejection sampling), so no
 * digit is likelier than another.  Returns 0 or -1.
 */
int cv_random_digits(char *out, size_t n);

/* out = SHA-256(data).  Cannot fail. */
void cv_sha256(const void *data, size_t len, unsigned char out[CV_SHA256_LEN]);

/* out = HMAC-SHA256(key, data).  Returns 0 or -1. */
int cv_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                   unsigned char out[CV_SHA256_LEN]);

/* 1 when the n bytes at a and b are equal, in time independent of content. */
int cv_ct_equal(const void *a, const void *b, size_t n);

/* Writes 2n lowercase hex digits and a NUL to out.  Cannot fail. */
void cv_hex_encode(const unsigned char *in, size_t n, char *out);

/* The value of the hex digit c (either case), or -1.  Cannot fail. */
int cv_hex_digit(int c);

/* Decodes exactly 2n hex digits of in into n bytes.  Returns 0 or -1. */
int cv_hex_decode(const char *in, unsigned char *out, size_t n);

/* AES-256-GCM: 12-byte nonce, 16-byte tag around the ciphertext. */
#define CV_SEAL_KEY_LEN 32
#define CV_SEAL_OVERHEAD (12 + 16)

/*
 * Encrypts len bytes of plain under key with AES-256-GCM and a fresh random
 * nonce, binding aad (aadlen bytes, may be 0); writes nonce || ciphertext ||
 * tag (len + CV_SEAL_OVERHEAD bytes) to out.  Returns 0 or -1.
 */
int cv_seal(const unsigned char key[CV_SEAL_KEY_LEN], const void *aad, size_t aadlen,
            const void *plain, size_t len, unsigned char *out);

/*
 * Reverses cv_seal: checks the tag and writes len - CV_SEAL_OVERHEAD bytes
 * to out.  Returns the plaintext length, or -1 when the input is too short,
 * was altered, or was sealed under another key or aad.
 */
long cv_open(const unsigned char key[CV_SEAL_KEY_LEN], const void *aad, size_t aadlen,
             const unsigned char *sealed, size_t len, unsigned char *out);

/* Length of the base64url (no padding) text of n bytes, without the NUL. */
size_t cv_b64url_len(size_t n);

/* Writes the base64url text of in and a NUL to out (cv_b64url_len(n) + 1
 * bytes).  Returns the text length.  Cannot fail. */
size_t cv_b64url_encode(const unsigned char *in, size_t n, char *out);

/*
 * Decodes len bytes of unpadded base64url text into out (room for len * 3 / 4
 * bytes).  Returns the decoded length, or -1 on any character outside the
 * alphabet, padding, or an impossible length.
 */
long cv_b64url_decode(const char *in, size_t len, unsigned char *out);

#endif
