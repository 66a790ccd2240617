/*
 * verification.h - the three endpoints of the Contact Verification API
 * (README "API"): send a code, verify it, issue a contact auth token.  Each
 * validates its fields, then makes one database call (sql/001_init.sql).
 */
#ifndef CV_VERIFICATION_H
#define CV_VERIFICATION_H

#include <libpq-fe.h>

#include "conf.h"
#include "crypto.h"
#include "error.h"
#include "request.h"
#include "response.h"

#define CV_CODE_MIN 6
#define CV_CODE_MAX 10
#define CV_CODE_INPUT_MAX 64  /* longest code or link token accepted as input */

enum cv_err cv_verification_send(const struct cv_conf *conf, struct cv_request *req,
                                 struct cv_reply *reply);
enum cv_err cv_verification_verify(const struct cv_conf *conf, struct cv_request *req,
                                   struct cv_reply *reply);
enum cv_err cv_verification_auth_token(const struct cv_conf *conf, struct cv_request *req,
                                       struct cv_reply *reply);

/*
 * Writes the hex HMAC of code under the server secret to out (65 bytes).
 * Codes and link tokens are hashed under distinct prefixes so one can never
 * stand for the other.  Returns 0 or -1.
 */
int cv_code_hash(const struct cv_conf *conf, char kind, const char *code, size_t len,
                 char out[65]);

/*
 * A fresh code and link for one send: 10 CSPRNG digits (the user app's code
 * length picks a prefix in SQL), the SQL array text of the HMACs of every
 * prefix from CV_CODE_MIN to CV_CODE_MAX digits, a 256-bit base64url link
 * token and its HMAC, and -- for the outbox -- the digits and the token
 * sealed with AES-256-GCM under the outbox key (hex), bound to the purpose.
 * The database never sees the plaintext.  Everything here is secret:
 * cv_new_code_wipe it.
 */
#define CV_LINK_TOKEN_LEN 43
#define CV_SEALED_LEN (CV_CODE_MAX + CV_LINK_TOKEN_LEN + CV_SEAL_OVERHEAD)

struct cv_new_code {
	char code[CV_CODE_MAX + 1];
	char code_hashes[(CV_CODE_MAX - CV_CODE_MIN + 1) * 65 + 2];
	char link_token[CV_LINK_TOKEN_LEN + 1];
	char link_hash[65];
	char sealed_hex[2 * CV_SEALED_LEN + 1];
};

/* Fills code for purpose ("login" or "verify_email").  Returns 0 or -1. */
int cv_new_code(const struct cv_conf *conf, const char *purpose, struct cv_new_code *code);

/*
 * Opens what cv_new_code sealed (hex in sealed_hex) for purpose: writes the
 * first code_length digits to code and the link token to token.  Returns 0,
 * or -1 when it was altered or sealed under another key or purpose.
 */
int cv_code_unseal(const struct cv_conf *conf, const char *purpose, const char *sealed_hex,
                   int code_length, char code[CV_CODE_MAX + 1],
                   char token[CV_LINK_TOKEN_LEN + 1]);

/* Wipes code.  Cannot fail. */
void cv_new_code_wipe(struct cv_new_code *code);

/* The validated, trimmed email in field into buf (CV_EMAIL_MAX + 1 bytes),
 * or NULL with the error recorded in req->field_errors. */
const char *cv_email_field(struct cv_request *req, const char *field, char *buf, size_t len);

/*
 * The error of the numeric result in column 0 of a one-row result of a
 * cv.api_* or cv.portal_* function (CV_ERR_INTERNAL when there is none).
 */
enum cv_err cv_db_result(const PGresult *res);

/*
 * cv_db_result, and for CV_ERR_TOO_MANY_ATTEMPTS the seconds to wait from
 * column wait_col (when not NULL) into *retry_after.
 */
enum cv_err cv_db_result_wait(const PGresult *res, int wait_col, int *retry_after);

/*
 * Signs the contact auth token (README "API, GET .../auth-token") from a row laid out as
 * cv.api_auth_token's (result, account_uuid, token_secret, token_ttl,
 * contact_uuid, email, email_verified, now) and adds it as "auth_token" to
 * reply->data (made when NULL).  Wipes the secret in res.  Returns CV_OK or
 * CV_ERR_INTERNAL.
 */
enum cv_err cv_contact_token_reply(const struct cv_conf *conf, PGresult *res,
                                   struct cv_reply *reply);

/* 1 when s is a uuid in the canonical 8-4-4-4-12 hex form.  Cannot fail. */
int cv_uuid_valid(const char *s);

#endif
