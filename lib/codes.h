/*
 * codes.h - the secrets of one send: the passcode and the link token, their
 * keyed hashes (all the database keeps) and their sealed form for the
 * outbox, which only the mailer opens; from the configuration's keys.
 * A primitive, of lib/'s lower floor (Makefile.am lists both floors): it
 * knows no request and includes no handler's header.
 */
#ifndef CV_CODES_H
#define CV_CODES_H

#include <stddef.h>

#include "conf.h"
#include "crypto.h"

#define CV_CODE_MIN       6
#define CV_CODE_MAX       10
#define CV_CODE_INPUT_MAX 64 /* longest code or link token accepted as input */
#define CV_LINK_TOKEN_LEN 43 /* 256 random bits, base64url */
#define CV_SEALED_LEN     (CV_CODE_MAX + CV_LINK_TOKEN_LEN + CV_SEAL_OVERHEAD)

/*
 * Writes the hex HMAC of code under the server secret to out (65 bytes).
 * Codes and link tokens are hashed under distinct prefixes (kind) so one can
 * never stand for the other.  Returns 0 or -1.
 */
int cv_code_hash(const struct cv_conf *conf, char kind, const char *code, size_t len, char out[65]);

/*
 * A fresh code and link for one send: 10 CSPRNG digits (the user app's code
 * length picks a prefix in SQL), the SQL array text of the HMACs of every
 * prefix from CV_CODE_MIN to CV_CODE_MAX digits, a 256-bit base64url link
 * token and its HMAC, and -- for the outbox -- the digits and the token
 * sealed with AES-256-GCM under the outbox key (hex), bound to the purpose.
 * The database never sees the plaintext.  Everything here is secret:
 * cv_code_wipe it.
 */
struct cv_new_code {
	char code[CV_CODE_MAX + 1];
	char code_hashes[(CV_CODE_MAX - CV_CODE_MIN + 1) * 65 + 2];
	char link_token[CV_LINK_TOKEN_LEN + 1];
	char link_hash[65];
	char sealed_hex[2 * CV_SEALED_LEN + 1];
};

/* Fills code for purpose ("login" or "verify_email").  Returns 0 or -1. */
int cv_code_new(const struct cv_conf *conf, const char *purpose, struct cv_new_code *code);

/*
 * Opens what cv_code_new sealed (hex in sealed_hex) for purpose: writes the
 * first code_length digits to code and the link token to token.  Returns 0,
 * or -1 when it was altered or sealed under another key or purpose.
 */
int cv_code_unseal(const struct cv_conf *conf, const char *purpose, const char *sealed_hex,
                   int code_length, char code[CV_CODE_MAX + 1], char token[CV_LINK_TOKEN_LEN + 1]);

/* Wipes code.  Cannot fail. */
void cv_code_wipe(struct cv_new_code *code);

#endif
