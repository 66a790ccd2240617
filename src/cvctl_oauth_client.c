/*
 * cvctl_oauth_client.c - cvctl oauth-client add|list|revoke: the clients of
 * POST /oauth/token (README "API, POST /oauth/token").  The client_id is the row's integer id; the
 * client_secret is the base64url of 256 random bits, stored only as
 * HMAC-SHA256(code_secret, "o:" + secret), so add needs the configuration
 * file and shows the secret once.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "cvctl.h"

#define SECRET_BYTES   32
#define SECRET_CHARS   43   /* base64url of 32 bytes */
#define HASH_PREFIX    "o:"
#define NAME_MAX_BYTES 200
#define TTL_MIN        1
#define TTL_MAX        86400

int
cvctl_oauth_client_add(struct cvctl *cv, int argc, char **argv)
{
	const char *account = NULL, *name = NULL, *ttl = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, OPT_REQUIRED},
		{"--name", &name, 0},
		{"--token-ttl", &ttl, 0},
		{NULL, NULL, 0},
	};
	const struct cv_conf *conf;
	unsigned char raw[SECRET_BYTES], hash[CV_SHA256_LEN];
	char id[32], secret[sizeof(HASH_PREFIX) - 1 + SECRET_CHARS + 1];
	char hash_hex[2 * CV_SHA256_LEN + 1];
	const char *params[ST_OAUTH_CLIENT_ADD_PARAM__MAX];
	const char *client_secret = secret + sizeof(HASH_PREFIX) - 1;
	PGresult *res = NULL, *set;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 ||
	    (rc = cvctl_check_text(cv, "--name", name, NAME_MAX_BYTES)) != 0 ||
	    (rc = cvctl_check_int(cv, "--token-ttl", ttl, TTL_MIN, TTL_MAX, NULL)) != 0)
		return rc;
	if ((conf = cvctl_conf(cv)) == NULL)
		return CVCTL_FAIL;
	/* secret holds "o:" + client_secret: the HMAC's input, and after the
	 * prefix the text shown. */
	if (cv_random_bytes(raw, sizeof(raw)) != 0)
		return cvctl_fail(cv, "no random bytes");
	memcpy(secret, HASH_PREFIX, sizeof(HASH_PREFIX) - 1);
	cv_b64url_encode(raw, sizeof(raw), secret + sizeof(HASH_PREFIX) - 1);
	if (cv_hmac_sha256(conf->code_secret, conf->code_secret_len, secret, strlen(secret), hash) !=
	    0) {
		rc = cvctl_fail(cv, "HMAC failed");
		goto out;
	}
	cv_hex_encode(hash, sizeof(hash), hash_hex);
	if ((rc = cvctl_begin(cv)) != 0 || (rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
		goto out;
	params[ST_OAUTH_CLIENT_ADD_PARAM_ACCOUNT_ID] = id;
	params[ST_OAUTH_CLIENT_ADD_PARAM_NAME] = name != NULL ? name : "";
	params[ST_OAUTH_CLIENT_ADD_PARAM_SECRET_HASH] = hash_hex;
	if ((res = cvctl_exec(cv, ST_OAUTH_CLIENT_ADD, params)) == NULL) {
		rc = CVCTL_FAIL;
		goto out;
	}
	if (ttl != NULL) {
		const char *ttl_params[ST_OAUTH_CLIENT_TTL_PARAM__MAX] = {
		    [ST_OAUTH_CLIENT_TTL_PARAM_CLIENT_ID] =
		        PQgetvalue(res, 0, ST_OAUTH_CLIENT_ADD_COL_ID),
		    [ST_OAUTH_CLIENT_TTL_PARAM_TOKEN_TTL] = ttl,
		};

		if ((set = cvctl_exec(cv, ST_OAUTH_CLIENT_TTL, ttl_params)) == NULL) {
			rc = CVCTL_FAIL;
			goto out;
		}
		PQclear(set);
	}
	fprintf(cv->out, "client_id=%s\nclient_secret=%s\n",
	        PQgetvalue(res, 0, ST_OAUTH_CLIENT_ADD_COL_ID), client_secret);
out:
	PQclear(res);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

int
cvctl_oauth_client_list(struct cvctl *cv, int argc, char **argv)
{
	return cvctl_list_by_account(cv, argc, argv, 0, ST_OAUTH_CLIENT_LIST);
}

int
cvctl_oauth_client_revoke(struct cvctl *cv, int argc, char **argv)
{
	const char *client_id = NULL;
	const struct cvctl_opt opts[] = {
		{"--id", &client_id, OPT_REQUIRED},
		{NULL, NULL, 0},
	};
	const char *params[ST_OAUTH_CLIENT_REVOKE_PARAM__MAX];
	PGresult *res;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_int(cv, "--id", client_id, 1, LLONG_MAX, NULL)) != 0 ||
	    (rc = cvctl_begin(cv)) != 0)
		return rc;
	params[ST_OAUTH_CLIENT_REVOKE_PARAM_CLIENT_ID] = client_id;
	if ((res = cvctl_exec(cv, ST_OAUTH_CLIENT_REVOKE, params)) == NULL)
		return CVCTL_FAIL;
	if (PQntuples(res) != 1)
		rc = cvctl_fail(cv, "no OAuth client with id %s", client_id);
	PQclear(res);
	return rc;
}
