/*
 * oauth.c - the token endpoint.  The client secret is compared here, in
 * constant time, against the keyed hash the database keeps; the access token
 * is an HS256 JWT of type "at+jwt" under the server's access-token key, so a
 * contact auth token (type "JWT", account key) can never stand in for one.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "codes.h"
#include "crypto.h"
#include "db.h"
#include "form.h"
#include "jwt.h"
#include "keys.h"
#include "oauth.h"

#define SECRET_MAX 256

struct client_auth {
	char id[32];
	char secret[SECRET_MAX + 1];
};

/* A body field as text (a JSON integer too, for client_id), or NULL. */
static const char *
field(struct cv_request *req, const char *name, char *buf, size_t len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req->body, name, &v) || v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_int)) {
		snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
		return buf;
	}
	if (!json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= len)
		return "";   /* present but unusable: refused below like an empty value */
	memcpy(buf, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	return buf;
}

/* Splits "Basic base64(urlencoded id ":" urlencoded secret)" (RFC 6749
 * section 2.3.1).  Returns 0 or -1. */
static int
basic_credentials(const char *header, struct client_auth *out)
{
	char b64[512], plain[400], *colon;
	const char *p = header + 6;
	size_t n = 0;
	long len;

	while (*p == ' ')
		p++;
	for (; *p != '\0' && *p != '=' && *p != ' '; p++) {
		if (n + 1 >= sizeof(b64))
			return -1;
		b64[n++] = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	}
	while (*p == '=')
		p++;
	while (*p == ' ')
		p++;
	if (*p != '\0' || n == 0)
		return -1;
	if ((len = cv_b64url_decode(b64, n, (unsigned char *)plain)) <= 0)
		return -1;
	plain[len] = '\0';
	if ((colon = memchr(plain, ':', (size_t)len)) == NULL)
		return -1;
	*colon = '\0';
	if (cv_form_decode(plain, strlen(plain)) < 0 ||
	    cv_form_decode(colon + 1, strlen(colon + 1)) < 0 ||
	    strlen(plain) >= sizeof(out->id) || strlen(colon + 1) > SECRET_MAX)
		return -1;
	strcpy(out->id, plain);
	strcpy(out->secret, colon + 1);
	OPENSSL_cleanse(plain, sizeof(plain));
	OPENSSL_cleanse(b64, sizeof(b64));
	return 0;
}

/* Fills out from the request.  Returns CV_OK, or an error with
 * reply->description set. */
static enum cv_err
client_credentials(struct cv_request *req, struct cv_reply *reply, struct client_auth *out)
{
	char idbuf[sizeof(out->id)], secretbuf[sizeof(out->secret)];
	const char *id = field(req, "client_id", idbuf, sizeof(idbuf));
	const char *secret = field(req, "client_secret", secretbuf, sizeof(secretbuf));
	int basic = req->authorization != NULL && strncasecmp(req->authorization, "Basic ", 6) == 0;
	size_t i;

	if (basic && (id != NULL || secret != NULL)) {
		reply->description = "Use one client authentication method, not two.";
		return CV_ERR_INVALID_INPUT;
	}
	if (basic) {
		if (basic_credentials(req->authorization, out) != 0) {
			reply->description = "Malformed HTTP Basic client credentials.";
			return CV_ERR_UNAUTHENTICATED;
		}
	} else {
		if (id == NULL || secret == NULL) {
			reply->description = "Client authentication is required.";
			return CV_ERR_UNAUTHENTICATED;
		}
		snprintf(out->id, sizeof(out->id), "%s", id);
		snprintf(out->secret, sizeof(out->secret), "%s", secret);
		OPENSSL_cleanse(secretbuf, sizeof(secretbuf));
	}
	/* client_id is a positive integer of at most 18 digits. */
	for (i = 0; out->id[i] != '\0' && isdigit((unsigned char)out->id[i]); i++)
		;
	if (i == 0 || i > 18 || out->id[i] != '\0' || out->id[0] == '0' || out->secret[0] == '\0') {
		reply->description = "Client authentication failed.";
		return CV_ERR_UNAUTHENTICATED;
	}
	return CV_OK;
}

/* The signed access token for client_id, or NULL (out of memory). */
static char *
access_token(const struct cv_conf *conf, const char *client_id, long long now, long long ttl)
{
	const struct cv_jwt_key *key;
	struct json_object *claims;
	unsigned char raw[16];
	char jti[32], *token = NULL;

	if (cv_random_bytes(raw, sizeof(raw)) != 0 || (claims = json_object_new_object()) == NULL)
		return NULL;
	cv_b64url_encode(raw, sizeof(raw), jti);
	json_object_object_add(claims, "iss", json_object_new_string(conf->issuer));
	json_object_object_add(claims, "sub", json_object_new_string(client_id));
	json_object_object_add(claims, "client_id", json_object_new_int64(atoll(client_id)));
	json_object_object_add(claims, "iat", json_object_new_int64(now));
	json_object_object_add(claims, "exp", json_object_new_int64(now + ttl));
	json_object_object_add(claims, "jti", json_object_new_string(jti));
	/* EdDSA under the server's derived key (its JWKS: /.well-known/jwks.json). */
	if ((key = cv_key_access(conf->access_token_key, conf->access_token_key_len)) != NULL)
		token = cv_jwt_sign_key(key, CV_JWT_TYP_ACCESS,
		                        json_object_to_json_string_ext(
		                            claims, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(claims);
	return token;
}

/* Counts a failed client authentication from this address: 401, or 429
 * when the address had no failures left (then nothing was counted). */
static enum cv_err
client_failed(struct cv_request *req, struct cv_reply *reply)
{
	const char *params[CV_OAUTH_FAILED_PARAM__MAX] = {
	    [CV_OAUTH_FAILED_PARAM_CLIENT_ADDR] = req->client_addr,
	};
	enum cv_err err;
	PGresult *res;

	if ((res = cv_db_exec(CV_STMT_OAUTH_FAILED, params, &err)) == NULL)
		return err;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, CV_OAUTH_FAILED_COL_RETRY_AFTER)) {
		reply->retry_after = atoi(PQgetvalue(res, 0, CV_OAUTH_FAILED_COL_RETRY_AFTER));
		reply->description = "Too many failed client authentications from this address.";
		err = CV_ERR_TOO_MANY_ATTEMPTS;
	} else {
		reply->description = "Client authentication failed.";
		err = CV_ERR_UNAUTHENTICATED;
	}
	PQclear(res);
	return err;
}

enum cv_err
cv_oauth_token(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	static const char dummy_hash[] =
	    "0000000000000000000000000000000000000000000000000000000000000000";
	struct client_auth client;
	char grant[64], hash[65], *token = NULL;
	const char *grant_type, *params[CV_OAUTH_CLIENT_PARAM__MAX], *stored;
	enum cv_err err;
	PGresult *res = NULL;
	int found, match;

	memset(&client, 0, sizeof(client));
	grant_type = field(req, "grant_type", grant, sizeof(grant));
	if (grant_type == NULL || *grant_type == '\0') {
		reply->description = "The grant_type parameter is required.";
		return CV_ERR_INVALID_INPUT;
	}
	if ((err = client_credentials(req, reply, &client)) != CV_OK)
		goto out;
	if (strcmp(grant_type, "client_credentials") != 0) {
		reply->description = "Only the client_credentials grant is supported.";
		err = CV_ERR_UNSUPPORTED_GRANT;
		goto out;
	}
	params[CV_OAUTH_CLIENT_PARAM_CLIENT_ID] = client.id;
	params[CV_OAUTH_CLIENT_PARAM_CLIENT_ADDR] = req->client_addr;
	if ((res = cv_db_exec(CV_STMT_OAUTH_CLIENT, params, &err)) == NULL)
		goto out;
	err = CV_ERR_INTERNAL;
	if (PQntuples(res) != 1)
		goto out;
	if (atoi(PQgetvalue(res, 0, CV_OAUTH_CLIENT_COL_BLOCKED_FOR)) > 0) {
		reply->retry_after = atoi(PQgetvalue(res, 0, CV_OAUTH_CLIENT_COL_BLOCKED_FOR));
		reply->description = "Too many failed client authentications from this address.";
		err = CV_ERR_TOO_MANY_ATTEMPTS;
		goto out;
	}
	found = PQgetvalue(res, 0, CV_OAUTH_CLIENT_COL_CLIENT_FOUND)[0] == 't';
	stored = found ? PQgetvalue(res, 0, CV_OAUTH_CLIENT_COL_SECRET_HASH) : dummy_hash;
	/* Same work whether or not the client exists. */
	if (cv_code_hash(conf, 'o', client.secret, strlen(client.secret), hash) != 0)
		memset(hash, 'x', 64);
	match = strlen(stored) == 64 && cv_ct_equal(hash, stored, 64);
	if (!found || !match || PQgetvalue(res, 0, CV_OAUTH_CLIENT_COL_USABLE)[0] != 't') {
		err = client_failed(req, reply);
		goto out;
	}
	token =
	    access_token(conf, client.id, atoll(PQgetvalue(res, 0, CV_OAUTH_CLIENT_COL_NOW_EPOCH)),
	                 atoll(PQgetvalue(res, 0, CV_OAUTH_CLIENT_COL_TOKEN_TTL)));
	if (token == NULL || (reply->document = json_object_new_object()) == NULL)
		goto out;
	json_object_object_add(reply->document, "token_type", json_object_new_string("Bearer"));
	json_object_object_add(
	    reply->document, "expires_in",
	    json_object_new_int(atoi(PQgetvalue(res, 0, CV_OAUTH_CLIENT_COL_TOKEN_TTL))));
	json_object_object_add(reply->document, "access_token", json_object_new_string(token));
	err = CV_OK;
out:
	PQclear(res);
	free(token);
	OPENSSL_cleanse(&client, sizeof(client));
	return err;
}
