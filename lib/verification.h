/*
 * verification.h - the three endpoints of the Contact Verification API
 * (README "API"): send a code, verify it, issue a contact auth token.  Each
 * validates its fields, then makes one database call (sql/functions/api.sql).
 * A handler: the codes themselves are lib/codes.c's.
 */
#ifndef CV_VERIFICATION_H
#define CV_VERIFICATION_H

#include <libpq-fe.h>

#include "conf.h"
#include "error.h"
#include "request.h"
#include "response.h"

enum cv_err cv_verification_send(const struct cv_conf *conf, struct cv_request *req,
                                 struct cv_reply *reply);
enum cv_err cv_verification_verify(const struct cv_conf *conf, struct cv_request *req,
                                   struct cv_reply *reply);
enum cv_err cv_verification_auth_token(const struct cv_conf *conf, struct cv_request *req,
                                       struct cv_reply *reply);
/* DELETE .../contacts/{uuid}: erases the contact (README "Erasure, export,
 * retention"); data {"uuid","erased":true}. */
enum cv_err cv_verification_erase_contact(const struct cv_conf *conf, struct cv_request *req,
                                          struct cv_reply *reply);

/* The validated, trimmed email in field into buf (CV_EMAIL_MAX + 1 bytes),
 * or NULL with the error recorded in req->field_errors. */
const char *cv_email_field(struct cv_request *req, const char *field, char *buf, size_t len);

/*
 * Signs the contact auth token (README "API, GET .../auth-token") from a row
 * that begins with the columns CV_CONTACT_TOKEN_COLUMNS of lib/db.h
 * (cv.api_auth_token's and cv.api_login_ticket's) and adds it as
 * "auth_token" to reply->data (made when NULL).  Wipes the secret in res.
 * Returns CV_OK or CV_ERR_INTERNAL.
 */
enum cv_err cv_contact_token_reply(const struct cv_conf *conf, PGresult *res,
                                   struct cv_reply *reply);

#endif
