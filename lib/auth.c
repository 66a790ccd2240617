/*
 * auth.c - the bearer credential.  API keys are looked up by their SHA-256,
 * so the key itself never reaches the database or a log line; access tokens
 * are checked here and named to the database by client and expiry.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "crypto.h"
#include "db.h"
#include "jwt.h"
#include "keys.h"

/*
 * Access tokens whose signature this process has checked, by the SHA-256
 * of the token: a client reusing its token (the point of an access token)
 * pays the Ed25519 check (~0.15 ms) once per process, not per request.
 * An entry serves only before the token's exp, and holds only what the
 * token said; the database still judges expiry and revocation.  A ring:
 * the oldest entry goes first.
 */
#define VERIFIED_MAX 256

struct verified_token {
	unsigned char digest[CV_SHA256_LEN];
	int64_t       exp;
	char          credential[CV_CREDENTIAL_MAX + 1];
};

static struct verified_token verified[VERIFIED_MAX];
static size_t verified_next;

/* The cached credential of the token of this digest, or NULL. */
static const char *
verified_credential(const unsigned char digest[CV_SHA256_LEN])
{
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < VERIFIED_MAX; i++)
		if (verified[i].exp > (int64_t)now &&
		    memcmp(verified[i].digest, digest, CV_SHA256_LEN) == 0)
			return verified[i].credential;
	return NULL;
}

static void
verified_add(const unsigned char digest[CV_SHA256_LEN], int64_t exp, const char *credential)
{
	struct verified_token *v = &verified[verified_next];

	verified_next = (verified_next + 1) % VERIFIED_MAX;
	memcpy(v->digest, digest, CV_SHA256_LEN);
	v->exp = exp;
	snprintf(v->credential, sizeof(v->credential), "%s", credential);
}

/* The claims of a valid access token: EdDSA under the server's derived key
 * (what /oauth/token issues), or HS256 under the access-token secret (what
 * it issued before, valid until it expires).  Each is checked against its
 * own key only, by its own header: no alg of the sender's choosing. */
static struct json_object *
access_token_claims(const struct cv_conf *conf, const char *token, size_t len)
{
	const struct cv_jwt_key *key = cv_key_access(conf->access_token_key,
	                                             conf->access_token_key_len);
	struct json_object *claims = NULL;

	if (key != NULL)
		claims = cv_jwt_verify_key(key, CV_JWT_TYP_ACCESS, token, len);
	if (claims == NULL)
		claims = cv_jwt_verify(conf->access_token_key, conf->access_token_key_len,
		                       CV_JWT_TYP_ACCESS, token, len);
	return claims;
}

/* "oauth:<client_id>:<exp>" for a valid access token, else -1. */
static int
access_token_credential(const struct cv_conf *conf, const char *token, size_t len,
                        char credential[CV_CREDENTIAL_MAX + 1])
{
	struct json_object *claims, *client, *exp;
	unsigned char digest[CV_SHA256_LEN];
	const char *known;
	int64_t client_id, expires;
	int rc = -1;

	cv_sha256(token, len, digest);
	if ((known = verified_credential(digest)) != NULL) {
		snprintf(credential, CV_CREDENTIAL_MAX + 1, "%s", known);
		return 0;
	}
	if ((claims = access_token_claims(conf, token, len)) == NULL)
		return -1;
	if (json_object_object_get_ex(claims, "client_id", &client) &&
	    json_object_is_type(client, json_type_int) &&
	    json_object_object_get_ex(claims, "exp", &exp) && json_object_is_type(exp, json_type_int)) {
		client_id = json_object_get_int64(client);
		expires = json_object_get_int64(exp);
		if (client_id > 0 && expires > 0 && client_id < INT64_MAX && expires < INT64_MAX) {
			snprintf(credential, CV_CREDENTIAL_MAX + 1, "oauth:%lld:%lld",
			         (long long)client_id, (long long)expires);
			verified_add(digest, expires, credential);
			rc = 0;
		}
	}
	json_object_put(claims);
	return rc;
}

enum cv_err
cv_auth_bearer(const struct cv_conf *conf, const char *authorization,
               char credential[CV_CREDENTIAL_MAX + 1])
{
	unsigned char digest[CV_SHA256_LEN];
	const char *token;
	size_t len, i;

	credential[0] = '\0';
	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return CV_ERR_UNAUTHENTICATED;
	token = authorization + 7;
	while (*token == ' ')
		token++;
	len = strlen(token);
	while (len > 0 && token[len - 1] == ' ')
		len--;
	if (len == 0 || len > CV_BEARER_MAX)
		return CV_ERR_UNAUTHENTICATED;
	/* RFC 6750 b64token characters only. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)token[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c != '\0' && strchr("-._~+/=", c) != NULL)))
			return CV_ERR_UNAUTHENTICATED;
	}
	/* API keys have no dots; a JWT has exactly two. */
	if (memchr(token, '.', len) != NULL)
		return access_token_credential(conf, token, len, credential) == 0
		           ? CV_OK : CV_ERR_UNAUTHENTICATED;
	cv_sha256(token, len, digest);
	cv_hex_encode(digest, sizeof(digest), credential);
	return CV_OK;
}

enum cv_err
cv_auth_check(const char *credential, const char *addr, int *retry_after)
{
	const char *params[CV_AUTHENTICATE_PARAM__MAX] = {
	    [CV_AUTHENTICATE_PARAM_KEY_HASH] = credential,
	    [CV_AUTHENTICATE_PARAM_CLIENT_ADDR] = addr,
	};
	enum cv_err err;
	PGresult *res;

	if ((res = cv_db_exec(CV_STMT_AUTHENTICATE, params, &err)) == NULL)
		return err;
	err = cv_db_result_wait(res, CV_AUTHENTICATE_COL_RESULT, CV_AUTHENTICATE_COL_RETRY_AFTER,
	                        retry_after);
	PQclear(res);
	return err;
}
