/*
 * cvctl_account.c - cvctl account add|list|set|disable|enable (rotate-secret and
 * the signing keys: cvctl_key.c).
 * An account's contact-token secret signs its contacts' auth tokens, so it
 * is stored as given (it cannot be hashed) and shown only by the command
 * that makes it.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "cvctl.h"

#define NAME_MAX_BYTES 200
#define SECRET_BYTES   48   /* 384 bits: 64 base64url characters */
#define TOKEN_TTL_MIN  60
#define TOKEN_TTL_MAX  (86400 * 30)
#define RETENTION_MIN  1       /* days; the CHECKs of migration 020 */
#define RETENTION_MAX  36500

int
cvctl_new_secret(char out[CVCTL_SECRET_LEN + 1])
{
	unsigned char raw[SECRET_BYTES];

	if (cv_random_bytes(raw, sizeof(raw)) != 0)
		return -1;
	cv_b64url_encode(raw, sizeof(raw), out);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int
cvctl_account_add(struct cvctl *cv, int argc, char **argv)
{
	const char *name = NULL, *ttl = NULL;
	const struct cvctl_opt opts[] = {
		{"--name", &name, OPT_REQUIRED},
		{"--token-ttl", &ttl, 0},
		{NULL, NULL, 0},
	};
	char secret[CVCTL_SECRET_LEN + 1];
	const char *params[ST_ACCOUNT_ADD_PARAM__MAX];
	PGresult *res = NULL;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_text(cv, "--name", name, NAME_MAX_BYTES)) != 0 ||
	    (rc = cvctl_check_int(cv, "--token-ttl", ttl, TOKEN_TTL_MIN, TOKEN_TTL_MAX, NULL)) != 0)
		return rc;
	if (cvctl_new_secret(secret) != 0)
		return cvctl_fail(cv, "no random bytes");
	if ((rc = cvctl_begin(cv)) != 0)
		goto out;
	params[ST_ACCOUNT_ADD_PARAM_NAME] = name;
	params[ST_ACCOUNT_ADD_PARAM_TOKEN_SECRET] = secret;
	if ((res = cvctl_exec(cv, ST_ACCOUNT_ADD, params)) == NULL) {
		rc = CVCTL_FAIL;
		goto out;
	}
	if (ttl != NULL) {
		const char *set_params[ST_ACCOUNT_SET_PARAM__MAX] = {
		    [ST_ACCOUNT_SET_PARAM_ACCOUNT_ID] = PQgetvalue(res, 0, ST_ACCOUNT_ADD_COL_ID),
		    [ST_ACCOUNT_SET_PARAM_TOKEN_TTL] = ttl,
		};
		PGresult *set;

		if ((set = cvctl_exec(cv, ST_ACCOUNT_SET, set_params)) == NULL) {
			rc = CVCTL_FAIL;
			goto out;
		}
		PQclear(set);
	}
	fprintf(cv->out, "uuid=%s\nsecret=%s\n", PQgetvalue(res, 0, ST_ACCOUNT_ADD_COL_UUID),
	        secret);
out:
	PQclear(res);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

int
cvctl_account_list(struct cvctl *cv, int argc, char **argv)
{
	PGresult *res;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, (const struct cvctl_opt[]){{NULL, NULL, 0}}, NULL,
	                      0)) != 0 ||
	    (rc = cvctl_begin(cv)) != 0)
		return rc;
	if ((res = cvctl_exec(cv, ST_ACCOUNT_LIST, NULL)) == NULL)
		return CVCTL_FAIL;
	cvctl_print_table(cv, res);
	PQclear(res);
	return 0;
}

/* Parses --account UUID (and nothing else), opens the transaction and finds
 * the account's id. */
static int
account_only(struct cvctl *cv, int argc, char **argv, char *id, size_t idlen)
{
	const char *account = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, OPT_REQUIRED},
		{NULL, NULL, 0},
	};
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 || (rc = cvctl_begin(cv)) != 0)
		return rc;
	return cvctl_account_id(cv, account, id, idlen);
}

int
cvctl_account_set(struct cvctl *cv, int argc, char **argv)
{
	const char *account = NULL, *name = NULL, *ttl = NULL, *format = NULL;
	const char *events = NULL, *codes = NULL, *mail = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, OPT_REQUIRED},
		{"--name", &name, 0},
		{"--token-ttl", &ttl, 0},
		{"--auth-token-format", &format, 0},
		{"--events-retention", &events, 0},
		{"--codes-retention", &codes, 0},
		{"--mail-retention", &mail, 0},
		{NULL, NULL, 0},
	};
	char id[32];
	const char *params[ST_ACCOUNT_SET_PARAM__MAX];
	PGresult *res;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 ||
	    (rc = cvctl_check_text(cv, "--name", name, NAME_MAX_BYTES)) != 0 ||
	    (rc = cvctl_check_int(cv, "--token-ttl", ttl, TOKEN_TTL_MIN, TOKEN_TTL_MAX, NULL)) != 0 ||
	    (rc = cvctl_check_int(cv, "--events-retention", events, RETENTION_MIN, RETENTION_MAX,
	                          NULL)) != 0 ||
	    (rc = cvctl_check_int(cv, "--codes-retention", codes, RETENTION_MIN, RETENTION_MAX,
	                          NULL)) != 0 ||
	    (rc = cvctl_check_int(cv, "--mail-retention", mail, RETENTION_MIN, RETENTION_MAX,
	                          NULL)) != 0)
		return rc;
	if (format != NULL && strcmp(format, "object") != 0 && strcmp(format, "string") != 0)
		return cvctl_usage(cv, "--auth-token-format: object or string");
	if (name == NULL && ttl == NULL && format == NULL && events == NULL && codes == NULL &&
	    mail == NULL)
		return cvctl_usage(cv, "nothing to change: give --name, --token-ttl, "
		                       "--auth-token-format, --events-retention, --codes-retention "
		                       "or --mail-retention");
	if ((rc = cvctl_begin(cv)) != 0 || (rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
		return rc;
	params[ST_ACCOUNT_SET_PARAM_ACCOUNT_ID] = id;
	params[ST_ACCOUNT_SET_PARAM_NAME] = name;
	params[ST_ACCOUNT_SET_PARAM_TOKEN_TTL] = ttl;
	params[ST_ACCOUNT_SET_PARAM_AUTH_TOKEN_FORMAT] = format;
	params[ST_ACCOUNT_SET_PARAM_EVENTS_RETENTION] = events;
	params[ST_ACCOUNT_SET_PARAM_CODES_RETENTION] = codes;
	params[ST_ACCOUNT_SET_PARAM_MAIL_RETENTION] = mail;
	if ((res = cvctl_exec(cv, ST_ACCOUNT_SET, params)) == NULL)
		return CVCTL_FAIL;
	PQclear(res);
	return 0;
}

static int
set_status(struct cvctl *cv, int argc, char **argv, const char *status)
{
	char id[32];
	const char *params[ST_ACCOUNT_STATUS_PARAM__MAX];
	PGresult *res;
	int rc;

	if ((rc = account_only(cv, argc, argv, id, sizeof(id))) != 0)
		return rc;
	params[ST_ACCOUNT_STATUS_PARAM_ACCOUNT_ID] = id;
	params[ST_ACCOUNT_STATUS_PARAM_STATUS] = status;
	if ((res = cvctl_exec(cv, ST_ACCOUNT_STATUS, params)) == NULL)
		return CVCTL_FAIL;
	PQclear(res);
	return 0;
}

int
cvctl_account_disable(struct cvctl *cv, int argc, char **argv)
{
	return set_status(cv, argc, argv, "inactive");
}

int
cvctl_account_enable(struct cvctl *cv, int argc, char **argv)
{
	return set_status(cv, argc, argv, "active");
}
