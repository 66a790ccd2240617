/*
 * verification.h - the three endpoints of the Contact Verification API
 * (SPEC section 2): send a code, verify it, issue a contact auth token.  Each
 * validates its fields, then makes one database call (sql/001_init.sql).
 */
#ifndef CV_VERIFICATION_H
#define CV_VERIFICATION_H

#include "conf.h"
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
 * token and its HMAC.  Everything here is secret: cv_new_code_wipe it.
 */
struct cv_new_code {
	char code[CV_CODE_MAX + 1];
	char code_hashes[(CV_CODE_MAX - CV_CODE_MIN + 1) * 65 + 2];
	char link_token[44];
	char link_hash[65];
};

/* Fills code.  Returns 0 or -1 (no randomness). */
int cv_new_code(const struct cv_conf *conf, struct cv_new_code *code);

/* Wipes code.  Cannot fail. */
void cv_new_code_wipe(struct cv_new_code *code);

/* The validated, trimmed email in field into buf (CV_EMAIL_MAX + 1 bytes),
 * or NULL with the error recorded in req->field_errors. */
const char *cv_email_field(struct cv_request *req, const char *field, char *buf, size_t len);

/* 1 when s is a uuid in the canonical 8-4-4-4-12 hex form.  Cannot fail. */
int cv_uuid_valid(const char *s);

#endif
