/*
 * verification.c - send, verify and auth-token, each one call of its SQL
 * function; the code and link token they send are lib/codes.c's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "codes.h"
#include "crypto.h"
#include "db.h"
#include "email.h"
#include "jwt.h"
#include "keys.h"
#include "validate.h"
#include "verification.h"

const char *
cv_email_field(struct cv_request *req, const char *field, char *buf, size_t len)
{
	const char *email = cv_request_string(req, field, CV_EMAIL_MAX, 0, buf, len);
	char msg[96];

	if (email != NULL && !cv_email_valid(email, strlen(email))) {
		snprintf(msg, sizeof(msg), "The %s must be a valid email address.", field);
		cv_request_field_error(req, field, msg);
		return NULL;
	}
	return email;
}

enum cv_err
cv_verification_send(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	char emailbuf[CV_EMAIL_MAX + 1], message[CV_EMAIL_MAX + 128];
	struct cv_new_code nc;
	const char *email, *params[CV_SEND_PARAM__MAX];
	enum cv_err err = CV_ERR_INTERNAL;
	PGresult *res = NULL;

	memset(&nc, 0, sizeof(nc));
	if ((email = cv_email_field(req, "email", emailbuf, sizeof(emailbuf))) == NULL)
		return CV_ERR_INVALID_INPUT;
	if (cv_code_new(conf, "login", &nc) != 0)
		goto out;
	params[CV_SEND_PARAM_KEY_HASH] = req->credential;
	params[CV_SEND_PARAM_EMAIL] = email;
	params[CV_SEND_PARAM_SEALED] = nc.sealed_hex;
	params[CV_SEND_PARAM_CODE_HASHES] = nc.code_hashes;
	params[CV_SEND_PARAM_LINK_HASH] = nc.link_hash;
	params[CV_SEND_PARAM_PUBLIC_URL] = conf->public_url;
	params[CV_SEND_PARAM_REQUEST_ID] = req->request_id;
	params[CV_SEND_PARAM_CLIENT_ADDR] = req->client_addr;
	if ((res = cv_db_exec(CV_STMT_SEND, params, &err)) == NULL)
		goto out;
	err = cv_db_result_wait(res, CV_SEND_COL_RESULT, CV_SEND_COL_RETRY_AFTER,
	                        &reply->retry_after);
	if (err != CV_OK)
		goto out;
	snprintf(message, sizeof(message),
	         "An email containing a link to verify your email has been sent to %s. "
	         "Please check your spam / junk as well.", email);
	if ((reply->data = json_object_new_object()) == NULL) {
		err = CV_ERR_INTERNAL;
		goto out;
	}
	json_object_object_add(reply->data, "type", json_object_new_string("Success"));
	json_object_object_add(reply->data, "message", json_object_new_string(message));
out:
	PQclear(res);
	cv_code_wipe(&nc);
	return err;
}

enum cv_err
cv_verification_verify(const struct cv_conf *conf, struct cv_request *req,
                       struct cv_reply *reply)
{
	char emailbuf[CV_EMAIL_MAX + 1], codebuf[CV_CODE_INPUT_MAX + 1], code_hash[65];
	const char *email, *code, *params[CV_VERIFY_PARAM__MAX];
	enum cv_err err = CV_ERR_INTERNAL;
	PGresult *res = NULL;

	code = cv_request_string(req, "code", CV_CODE_INPUT_MAX, 1, codebuf, sizeof(codebuf));
	email = cv_email_field(req, "email", emailbuf, sizeof(emailbuf));
	if (code == NULL || email == NULL)
		return CV_ERR_INVALID_INPUT;
	if (cv_code_hash(conf, 'c', code, strlen(code), code_hash) != 0)
		goto out;
	params[CV_VERIFY_PARAM_KEY_HASH] = req->credential;
	params[CV_VERIFY_PARAM_EMAIL] = email;
	params[CV_VERIFY_PARAM_CODE_HASH] = code_hash;
	params[CV_VERIFY_PARAM_CLIENT_ADDR] = req->client_addr;
	params[CV_VERIFY_PARAM_REQUEST_ID] = req->request_id;
	if ((res = cv_db_exec(CV_STMT_VERIFY, params, &err)) == NULL)
		goto out;
	err = cv_db_result_wait(res, CV_VERIFY_COL_RESULT, CV_VERIFY_COL_RETRY_AFTER,
	                        &reply->retry_after);
	if (err != CV_OK)
		goto out;
	if ((reply->data = json_object_new_object()) == NULL) {
		err = CV_ERR_INTERNAL;
		goto out;
	}
	json_object_object_add(
	    reply->data, "uuid",
	    json_object_new_string(PQgetvalue(res, 0, CV_VERIFY_COL_CONTACT_UUID)));
	reply->meta_object = 1;
out:
	PQclear(res);
	OPENSSL_cleanse(codebuf, sizeof(codebuf));
	return err;
}

/* The key that signs the row's token: the account's active key, opened
 * from its sealed column (once per process: lib/keys.c), else the implicit
 * HS256 key of its token_secret, put into implicit.  NULL when the sealed
 * key cannot be opened (another server key): the request fails. */
static const struct cv_jwt_key *
signing_key(const struct cv_conf *conf, PGresult *res, struct cv_jwt_key *implicit)
{
	const char *kid = PQgetvalue(res, 0, CV_CONTACT_TOKEN_COL_KEY_KID);
	const char *secret;

	if (!PQgetisnull(res, 0, CV_CONTACT_TOKEN_COL_KEY_SEALED))
		return cv_key_open(conf->outbox_key, kid,
		                   PQgetvalue(res, 0, CV_CONTACT_TOKEN_COL_KEY_ALG),
		                   PQgetvalue(res, 0, CV_CONTACT_TOKEN_COL_KEY_SEALED));
	if (PQgetisnull(res, 0, CV_CONTACT_TOKEN_COL_TOKEN_SECRET) ||
	    strlen(kid) > CV_JWT_KID_MAX)
		return NULL;
	secret = PQgetvalue(res, 0, CV_CONTACT_TOKEN_COL_TOKEN_SECRET);
	memset(implicit, 0, sizeof(*implicit));
	implicit->alg = CV_JWT_HS256;
	snprintf(implicit->kid, sizeof(implicit->kid), "%s", kid);
	implicit->secret = (const unsigned char *)secret;
	implicit->secret_len = strlen(secret);
	return implicit;
}

enum cv_err
cv_contact_token_reply(const struct cv_conf *conf, PGresult *res, struct cv_reply *reply)
{
	/* The claims that are a column's text, in the token's order. */
	static const struct {
		const char *name;
		int column;
	} text_claims[] = {
	    {"aud", CV_CONTACT_TOKEN_COL_ACCOUNT_UUID},
	    {"sub", CV_CONTACT_TOKEN_COL_CONTACT_UUID},
	    {"email", CV_CONTACT_TOKEN_COL_EMAIL},
	};
	struct json_object *claims = NULL;
	const struct cv_jwt_key *key;
	struct cv_jwt_key implicit;
	const char *verified;
	size_t i;
	char jti[32];
	unsigned char raw[16];
	char *token = NULL;
	long long now, ttl;
	enum cv_err err = CV_ERR_INTERNAL;

	if (cv_random_bytes(raw, sizeof(raw)) != 0)
		goto out;
	cv_b64url_encode(raw, sizeof(raw), jti);
	if ((key = signing_key(conf, res, &implicit)) == NULL)
		goto out;
	ttl = atoll(PQgetvalue(res, 0, CV_CONTACT_TOKEN_COL_TOKEN_TTL));
	now = atoll(PQgetvalue(res, 0, CV_CONTACT_TOKEN_COL_NOW_EPOCH));
	if ((claims = json_object_new_object()) == NULL)
		goto out;
	json_object_object_add(claims, "iss", json_object_new_string(conf->issuer));
	for (i = 0; i < sizeof(text_claims) / sizeof(text_claims[0]); i++)
		json_object_object_add(
		    claims, text_claims[i].name,
		    json_object_new_string(PQgetvalue(res, 0, text_claims[i].column)));
	verified = PQgetvalue(res, 0, CV_CONTACT_TOKEN_COL_EMAIL_VERIFIED);
	json_object_object_add(claims, "email_verified",
	                       json_object_new_boolean(verified[0] == 't'));
	json_object_object_add(claims, "iat", json_object_new_int64(now));
	json_object_object_add(claims, "exp", json_object_new_int64(now + ttl));
	json_object_object_add(claims, "jti", json_object_new_string(jti));
	token = cv_jwt_sign_key(key, CV_JWT_TYP_CONTACT,
	                        json_object_to_json_string_ext(claims, JSON_C_TO_STRING_PLAIN |
	                                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
	if (token == NULL ||
	    (reply->data == NULL && (reply->data = json_object_new_object()) == NULL))
		goto out;
	json_object_object_add(reply->data, "auth_token", json_object_new_string(token));
	err = CV_OK;
out:
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, CV_CONTACT_TOKEN_COL_TOKEN_SECRET)) {
		char *s = PQgetvalue(res, 0, CV_CONTACT_TOKEN_COL_TOKEN_SECRET);

		OPENSSL_cleanse(s, strlen(s));
	}
	json_object_put(claims);
	free(token);
	return err;
}

enum cv_err
cv_verification_auth_token(const struct cv_conf *conf, struct cv_request *req,
                           struct cv_reply *reply)
{
	const char *params[CV_AUTH_TOKEN_PARAM__MAX];
	enum cv_err err = CV_ERR_INTERNAL;
	PGresult *res = NULL;

	params[CV_AUTH_TOKEN_PARAM_KEY_HASH] = req->credential;
	params[CV_AUTH_TOKEN_PARAM_CONTACT_UUID] =
	    cv_valid_uuid(req->path_info) ? req->path_info : NULL;
	params[CV_AUTH_TOKEN_PARAM_REQUEST_ID] = req->request_id;
	params[CV_AUTH_TOKEN_PARAM_CLIENT_ADDR] = req->client_addr;
	if ((res = cv_db_exec(CV_STMT_AUTH_TOKEN, params, &err)) == NULL)
		return err;
	err = cv_db_result_wait(res, CV_AUTH_TOKEN_COL_RESULT, CV_AUTH_TOKEN_COL_RETRY_AFTER,
	                        &reply->retry_after);
	if (err == CV_OK)
		err = cv_contact_token_reply(conf, res, reply);
	/* The account's auth_token_format 'string': data is the token itself,
	 * as the public PHP SDK's typed getAuthToken() reads it. */
	if (err == CV_OK &&
	    strcmp(PQgetvalue(res, 0, CV_AUTH_TOKEN_COL_TOKEN_FORMAT), "string") == 0) {
		struct json_object *token = NULL;

		if (!json_object_object_get_ex(reply->data, "auth_token", &token)) {
			err = CV_ERR_INTERNAL;
		} else {
			json_object_get(token);
			json_object_put(reply->data);
			reply->data = token;
		}
	}
	PQclear(res);
	return err;
}

enum cv_err
cv_verification_erase_contact(const struct cv_conf *conf, struct cv_request *req,
                              struct cv_reply *reply)
{
	const char *params[CV_ERASE_CONTACT_PARAM__MAX];
	enum cv_err err = CV_ERR_INTERNAL;
	PGresult *res = NULL;

	(void)conf;
	params[CV_ERASE_CONTACT_PARAM_KEY_HASH] = req->credential;
	params[CV_ERASE_CONTACT_PARAM_CONTACT_UUID] =
	    cv_valid_uuid(req->path_info) ? req->path_info : NULL;
	params[CV_ERASE_CONTACT_PARAM_REQUEST_ID] = req->request_id;
	params[CV_ERASE_CONTACT_PARAM_CLIENT_ADDR] = req->client_addr;
	if ((res = cv_db_exec(CV_STMT_ERASE_CONTACT, params, &err)) == NULL)
		return err;
	err = cv_db_result_wait(res, CV_ERASE_CONTACT_COL_RESULT, CV_ERASE_CONTACT_COL_RETRY_AFTER,
	                        &reply->retry_after);
	if (err == CV_OK) {
		if ((reply->data = json_object_new_object()) == NULL) {
			err = CV_ERR_INTERNAL;
		} else {
			json_object_object_add(
			    reply->data, "uuid",
			    json_object_new_string(PQgetvalue(res, 0, CV_ERASE_CONTACT_COL_CONTACT_UUID)));
			json_object_object_add(reply->data, "erased", json_object_new_boolean(1));
		}
	}
	PQclear(res);
	return err;
}
