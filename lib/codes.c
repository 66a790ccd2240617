/*
 * codes.c - passcodes and link tokens (codes.h).  The secrets exist in
 * plaintext only in the process that makes them and, sealed, in the outbox
 * row the mailer delivers; the passcode table keeps keyed hashes.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "codes.h"

int
cv_code_hash(const struct cv_conf *conf, char kind, const char *code, size_t len, char out[65])
{
	unsigned char mac[CV_SHA256_LEN];
	char input[2 + CV_CODE_INPUT_MAX];

	if (len > CV_CODE_INPUT_MAX)
		return -1;
	input[0] = kind;
	input[1] = ':';
	memcpy(input + 2, code, len);
	if (cv_hmac_sha256(conf->code_secret, conf->code_secret_len, input, len + 2, mac) != 0)
		return -1;
	cv_hex_encode(mac, sizeof(mac), out);
	OPENSSL_cleanse(input, sizeof(input));
	return 0;
}

int
cv_code_new(const struct cv_conf *conf, const char *purpose, struct cv_new_code *nc)
{
	unsigned char raw[32], plain[CV_CODE_MAX + CV_LINK_TOKEN_LEN], sealed[CV_SEALED_LEN];
	char hash[65];
	size_t i, n = 0;
	int rc = -1;

	if (cv_random_digits(nc->code, CV_CODE_MAX) != 0 || cv_random_bytes(raw, sizeof(raw)) != 0)
		goto out;
	cv_b64url_encode(raw, sizeof(raw), nc->link_token);
	if (cv_code_hash(conf, 'l', nc->link_token, CV_LINK_TOKEN_LEN, nc->link_hash) != 0)
		goto out;
	nc->code_hashes[n++] = '{';
	for (i = 0; i <= CV_CODE_MAX - CV_CODE_MIN; i++) {
		if (cv_code_hash(conf, 'c', nc->code, CV_CODE_MIN + i, hash) != 0)
			goto out;
		if (i > 0)
			nc->code_hashes[n++] = ',';
		memcpy(nc->code_hashes + n, hash, 64);
		n += 64;
	}
	nc->code_hashes[n++] = '}';
	nc->code_hashes[n] = '\0';
	memcpy(plain, nc->code, CV_CODE_MAX);
	memcpy(plain + CV_CODE_MAX, nc->link_token, CV_LINK_TOKEN_LEN);
	if (cv_seal(conf->outbox_key, purpose, strlen(purpose), plain, sizeof(plain), sealed) != 0)
		goto out;
	cv_hex_encode(sealed, sizeof(sealed), nc->sealed_hex);
	rc = 0;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(plain, sizeof(plain));
	return rc;
}

int
cv_code_unseal(const struct cv_conf *conf, const char *purpose, const char *sealed_hex,
               int code_length, char code[CV_CODE_MAX + 1], char token[CV_LINK_TOKEN_LEN + 1])
{
	unsigned char sealed[CV_SEALED_LEN], plain[CV_SEALED_LEN];
	int rc = -1;

	if (sealed_hex == NULL || strlen(sealed_hex) != 2 * CV_SEALED_LEN ||
	    code_length < CV_CODE_MIN || code_length > CV_CODE_MAX ||
	    cv_hex_decode(sealed_hex, sealed, sizeof(sealed)) != 0)
		return -1;
	if (cv_open(conf->outbox_key, purpose, strlen(purpose), sealed, sizeof(sealed), plain) !=
	    CV_CODE_MAX + CV_LINK_TOKEN_LEN)
		goto out;
	memcpy(code, plain, (size_t)code_length);
	code[code_length] = '\0';
	memcpy(token, plain + CV_CODE_MAX, CV_LINK_TOKEN_LEN);
	token[CV_LINK_TOKEN_LEN] = '\0';
	rc = 0;
out:
	OPENSSL_cleanse(plain, sizeof(plain));
	return rc;
}

void
cv_code_wipe(struct cv_new_code *nc)
{
	OPENSSL_cleanse(nc, sizeof(*nc));
}
