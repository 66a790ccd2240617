/*
 * cvctl_api_key.c - cvctl api-key add|list|revoke.  An API key is "cv_" and
 * the base64url of 256 random bits; the database keeps only the SHA-256 of
 * the whole string (what cv.authenticate looks up), so add shows the key
 * once and no command can show it again.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "cvctl.h"

#define KEY_PREFIX     "cv_"
#define KEY_BYTES      32
#define KEY_CHARS      (sizeof(KEY_PREFIX) - 1 + 43)  /* 43 = base64url of 32 bytes */
#define NAME_MAX_BYTES 200
#define EXPIRES_MAX    (86400LL * 366 * 10)

int
cvctl_api_key_add(struct cvctl *cv, int argc, char **argv)
{
	const char *account = NULL, *name = NULL, *expires_in = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, OPT_REQUIRED},
		{"--name", &name, 0},
		{"--expires-in", &expires_in, 0},
		{NULL, NULL, 0},
	};
	unsigned char raw[KEY_BYTES], hash[CV_SHA256_LEN];
	char id[32], key[KEY_CHARS + 1], hash_hex[2 * CV_SHA256_LEN + 1];
	const char *params[ST_API_KEY_ADD_PARAM__MAX];
	PGresult *res;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 ||
	    (rc = cvctl_check_text(cv, "--name", name, NAME_MAX_BYTES)) != 0 ||
	    (rc = cvctl_check_int(cv, "--expires-in", expires_in, 1, EXPIRES_MAX, NULL)) != 0)
		return rc;
	if (cv_random_bytes(raw, sizeof(raw)) != 0)
		return cvctl_fail(cv, "no random bytes");
	memcpy(key, KEY_PREFIX, sizeof(KEY_PREFIX) - 1);
	cv_b64url_encode(raw, sizeof(raw), key + sizeof(KEY_PREFIX) - 1);
	cv_sha256(key, strlen(key), hash);
	cv_hex_encode(hash, sizeof(hash), hash_hex);
	if ((rc = cvctl_begin(cv)) != 0 || (rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
		goto out;
	params[ST_API_KEY_ADD_PARAM_ACCOUNT_ID] = id;
	params[ST_API_KEY_ADD_PARAM_KEY_HASH] = hash_hex;
	params[ST_API_KEY_ADD_PARAM_NAME] = name != NULL ? name : "";
	params[ST_API_KEY_ADD_PARAM_EXPIRES_IN] = expires_in;
	if ((res = cvctl_exec(cv, ST_API_KEY_ADD, params)) == NULL) {
		rc = CVCTL_FAIL;
		goto out;
	}
	fprintf(cv->out, "id=%s\nkey=%s\n", PQgetvalue(res, 0, ST_API_KEY_ADD_COL_ID), key);
	PQclear(res);
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int
cvctl_api_key_list(struct cvctl *cv, int argc, char **argv)
{
	return cvctl_list_by_account(cv, argc, argv, OPT_REQUIRED, ST_API_KEY_LIST);
}

int
cvctl_api_key_revoke(struct cvctl *cv, int argc, char **argv)
{
	const char *key_id = NULL;
	const struct cvctl_opt opts[] = {
		{"--id", &key_id, OPT_REQUIRED},
		{NULL, NULL, 0},
	};
	const char *params[ST_API_KEY_REVOKE_PARAM__MAX];
	PGresult *res;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_int(cv, "--id", key_id, 1, LLONG_MAX, NULL)) != 0 ||
	    (rc = cvctl_begin(cv)) != 0)
		return rc;
	params[ST_API_KEY_REVOKE_PARAM_KEY_ID] = key_id;
	if ((res = cvctl_exec(cv, ST_API_KEY_REVOKE, params)) == NULL)
		return CVCTL_FAIL;
	if (PQntuples(res) != 1)
		rc = cvctl_fail(cv, "no API key with id %s", key_id);
	PQclear(res);
	return rc;
}
