/*
 * verification.c - send, verify and auth-token.  The secrets they make (the
 * code, the link token) exist in plaintext only in this process and in the
 * outbox row the mailer delivers; the passcode table keeps keyed hashes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "db.h"
#include "email.h"
#include "jwt.h"
#include "verification.h"

/* The column of cv.api_auth_token's token_format in CV_STMT_AUTH_TOKEN (after
 * the TOKEN_COLUMNS of lib/db.c). */
#define AUTH_TOKEN_FORMAT_COL 9

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
cv_uuid_valid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		             (s[i] >= 'A' && s[i] <= 'F'))) {
			return 0;
		}
	}
	return 1;
}

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

/* The numeric result of a cv.api_* row as an error. */
enum cv_err
cv_db_result(const PGresult *res)
{
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		return CV_ERR_INTERNAL;
	return cv_err_from_code(atoi(PQgetvalue(res, 0, 0)));
}

enum cv_err
cv_db_result_wait(const PGresult *res, int wait_col, int *retry_after)
{
	enum cv_err err = cv_db_result(res);

	if (err == CV_ERR_TOO_MANY_ATTEMPTS && !PQgetisnull(res, 0, wait_col))
		*retry_after = atoi(PQgetvalue(res, 0, wait_col));
	return err;
}

int
cv_new_code(const struct cv_conf *conf, const char *purpose, struct cv_new_code *nc)
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
cv_new_code_wipe(struct cv_new_code *nc)
{
	OPENSSL_cleanse(nc, sizeof(*nc));
}

enum cv_err
cv_verification_send(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	char emailbuf[CV_EMAIL_MAX + 1], message[CV_EMAIL_MAX + 128];
	struct cv_new_code nc;
	const char *email, *params[8];
	enum cv_err err = CV_ERR_INTERNAL;
	PGresult *res = NULL;

	memset(&nc, 0, sizeof(nc));
	if ((email = cv_email_field(req, "email", emailbuf, sizeof(emailbuf))) == NULL)
		return CV_ERR_INVALID_INPUT;
	if (cv_new_code(conf, "login", &nc) != 0)
		goto out;
	params[0] = req->credential;
	params[1] = email;
	params[2] = nc.sealed_hex;
	params[3] = nc.code_hashes;
	params[4] = nc.link_hash;
	params[5] = conf->public_url;
	params[6] = req->request_id;
	params[7] = req->client_addr;
	if ((res = cv_db_exec(CV_STMT_SEND, params, &err)) == NULL)
		goto out;
	if ((err = cv_db_result_wait(res, 1, &reply->retry_after)) != CV_OK)
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
	cv_new_code_wipe(&nc);
	return err;
}

enum cv_err
cv_verification_verify(const struct cv_conf *conf, struct cv_request *req,
                       struct cv_reply *reply)
{
	char emailbuf[CV_EMAIL_MAX + 1], codebuf[CV_CODE_INPUT_MAX + 1], code_hash[65];
	const char *email, *code, *params[5];
	enum cv_err err = CV_ERR_INTERNAL;
	PGresult *res = NULL;

	code = cv_request_string(req, "code", CV_CODE_INPUT_MAX, 1, codebuf, sizeof(codebuf));
	email = cv_email_field(req, "email", emailbuf, sizeof(emailbuf));
	if (code == NULL || email == NULL)
		return CV_ERR_INVALID_INPUT;
	if (cv_code_hash(conf, 'c', code, strlen(code), code_hash) != 0)
		goto out;
	params[0] = req->credential;
	params[1] = email;
	params[2] = code_hash;
	params[3] = req->client_addr;
	params[4] = req->request_id;
	if ((res = cv_db_exec(CV_STMT_VERIFY, params, &err)) == NULL)
		goto out;
	if ((err = cv_db_result_wait(res, 2, &reply->retry_after)) != CV_OK)
		goto out;
	if ((reply->data = json_object_new_object()) == NULL) {
		err = CV_ERR_INTERNAL;
		goto out;
	}
	json_object_object_add(reply->data, "uuid", json_object_new_string(PQgetvalue(res, 0, 1)));
	reply->meta_object = 1;
out:
	PQclear(res);
	OPENSSL_cleanse(codebuf, sizeof(codebuf));
	return err;
}

enum cv_err
cv_contact_token_reply(const struct cv_conf *conf, PGresult *res, struct cv_reply *reply)
{
	struct json_object *claims = NULL;
	const char *secret;
	char jti[32];
	unsigned char raw[16];
	char *token = NULL;
	long long now, ttl;
	enum cv_err err = CV_ERR_INTERNAL;

	if (cv_random_bytes(raw, sizeof(raw)) != 0)
		goto out;
	cv_b64url_encode(raw, sizeof(raw), jti);
	secret = PQgetvalue(res, 0, 2);
	ttl = atoll(PQgetvalue(res, 0, 3));
	now = atoll(PQgetvalue(res, 0, 7));
	if ((claims = json_object_new_object()) == NULL)
		goto out;
	json_object_object_add(claims, "iss", json_object_new_string(conf->issuer));
	json_object_object_add(claims, "aud", json_object_new_string(PQgetvalue(res, 0, 1)));
	json_object_object_add(claims, "sub", json_object_new_string(PQgetvalue(res, 0, 4)));
	json_object_object_add(claims, "email", json_object_new_string(PQgetvalue(res, 0, 5)));
	json_object_object_add(claims, "email_verified",
	                       json_object_new_boolean(PQgetvalue(res, 0, 6)[0] == 't'));
	json_object_object_add(claims, "iat", json_object_new_int64(now));
	json_object_object_add(claims, "exp", json_object_new_int64(now + ttl));
	json_object_object_add(claims, "jti", json_object_new_string(jti));
	token = cv_jwt_sign(secret, strlen(secret), CV_JWT_TYP_CONTACT,
	                    json_object_to_json_string_ext(claims, JSON_C_TO_STRING_PLAIN |
	                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
	if (token == NULL ||
	    (reply->data == NULL && (reply->data = json_object_new_object()) == NULL))
		goto out;
	json_object_object_add(reply->data, "auth_token", json_object_new_string(token));
	err = CV_OK;
out:
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 2)) {
		char *s = PQgetvalue(res, 0, 2);

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
	const char *params[4];
	enum cv_err err = CV_ERR_INTERNAL;
	PGresult *res = NULL;

	params[0] = req->credential;
	params[1] = cv_uuid_valid(req->path_info) ? req->path_info : NULL;
	params[2] = req->request_id;
	params[3] = req->client_addr;
	if ((res = cv_db_exec(CV_STMT_AUTH_TOKEN, params, &err)) == NULL)
		return err;
	if ((err = cv_db_result_wait(res, 8, &reply->retry_after)) == CV_OK)
		err = cv_contact_token_reply(conf, res, reply);
	/* The account's auth_token_format 'string': data is the token itself,
	 * as the public PHP SDK's typed getAuthToken() reads it. */
	if (err == CV_OK && strcmp(PQgetvalue(res, 0, AUTH_TOKEN_FORMAT_COL), "string") == 0) {
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
