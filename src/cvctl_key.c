/*
 * cvctl_key.c - cvctl account key add|activate|retire|list and
 * account rotate-secret: the signing keys of an account's contact auth
 * tokens (migration 019, sql/functions/keys.sql).  A private key is sealed
 * here, under the configuration's outbox key with its kid as additional
 * data, and never printed; an HS256 key's secret is printed once, by the
 * command that makes it, because the business verifies with it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "cvctl.h"
#include "keys.h"

#define DER_MAX 200 /* a PKCS#8 P-256 or Ed25519 key is at most ~140 bytes */

/* The --account's id (in a transaction), with the options of one key
 * command: --kid (when kid is not NULL) or --alg (when alg is not NULL). */
static int
key_options(struct cvctl *cv, int argc, char **argv, const char **kid, const char **alg,
            char id[32])
{
	const char *account = NULL;
	const struct cvctl_opt opts[] = {
	    {"--account", &account, OPT_REQUIRED},
	    {kid != NULL ? "--kid" : "--alg", kid != NULL ? kid : alg, OPT_REQUIRED},
	    {NULL, NULL, 0},
	};
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0)
		return rc;
	if (alg != NULL && cv_jwt_alg_from_name(*alg) < 0)
		return cvctl_usage(cv, "--alg must be HS256, ES256 or EdDSA, not %s", *alg);
	if (kid != NULL && (rc = cvctl_check_text(cv, "--kid", *kid, CV_JWT_KID_MAX)) != 0)
		return rc;
	if ((rc = cvctl_begin(cv)) != 0)
		return rc;
	return cvctl_account_id(cv, account, id, 32);
}

/*
 * Makes a key of alg for account id and stores it (published): its kid
 * into kid, and for HS256 its secret into secret.  Returns 0 or CVCTL_FAIL.
 */
static int
add_key(struct cvctl *cv, const char *id, enum cv_jwt_alg alg, char kid[CV_JWT_KID_MAX + 1],
        char secret[CVCTL_SECRET_LEN + 1])
{
	const struct cv_conf *conf = cvctl_conf(cv);
	const char *params[ST_KEY_ADD_PARAM__MAX];
	unsigned char raw[16], *der = NULL, sealed[DER_MAX + CV_SEAL_OVERHEAD];
	char hex[2 * sizeof(sealed) + 1];
	struct json_object *jwk = NULL;
	EVP_PKEY *pkey = NULL;
	const void *plain;
	long len;
	PGresult *res;
	int rc = CVCTL_FAIL;

	secret[0] = '\0';
	if (conf == NULL)
		return CVCTL_FAIL;
	if (alg == CV_JWT_HS256) {
		if (cv_random_bytes(raw, sizeof(raw)) != 0 || cvctl_new_secret(secret) != 0)
			return cvctl_fail(cv, "no random bytes");
		cv_b64url_encode(raw, sizeof(raw), kid);
		plain = secret;
		len = CVCTL_SECRET_LEN;
	} else {
		if ((pkey = cv_key_generate(alg)) == NULL ||
		    cv_key_thumbprint(pkey, alg, kid) != 0 ||
		    (len = cv_key_private_der(pkey, &der)) < 0 || len > DER_MAX ||
		    (jwk = cv_key_public_jwk(pkey, alg, kid)) == NULL) {
			rc = cvctl_fail(cv, "cannot make an %s key", cv_jwt_alg_name(alg));
			goto out;
		}
		plain = der;
	}
	if (cv_seal(conf->outbox_key, kid, strlen(kid), plain, (size_t)len, sealed) != 0) {
		rc = cvctl_fail(cv, "cannot seal the key");
		goto out;
	}
	cv_hex_encode(sealed, (size_t)len + CV_SEAL_OVERHEAD, hex);
	params[ST_KEY_ADD_PARAM_ACCOUNT_ID] = id;
	params[ST_KEY_ADD_PARAM_KID] = kid;
	params[ST_KEY_ADD_PARAM_ALG] = cv_jwt_alg_name(alg);
	params[ST_KEY_ADD_PARAM_SEALED] = hex;
	params[ST_KEY_ADD_PARAM_PUBLIC_JWK] =
	    jwk != NULL ? json_object_to_json_string_ext(jwk, JSON_C_TO_STRING_PLAIN) : NULL;
	if ((res = cvctl_exec(cv, ST_KEY_ADD, params)) != NULL) {
		PQclear(res);
		rc = 0;
	}
out:
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)len);
	OPENSSL_cleanse(hex, sizeof(hex));
	json_object_put(jwk);
	EVP_PKEY_free(pkey);
	return rc;
}

/* Activates kid of account id, with a clear error for every refusal. */
static int
activate_key(struct cvctl *cv, const char *id, const char *kid)
{
	const char *params[ST_KEY_ACTIVATE_PARAM__MAX] = {
	    [ST_KEY_ACTIVATE_PARAM_ACCOUNT_ID] = id,
	    [ST_KEY_ACTIVATE_PARAM_KID] = kid,
	};
	const char *result;
	PGresult *res;
	int rc = CVCTL_FAIL;

	if ((res = cvctl_exec(cv, ST_KEY_ACTIVATE, params)) == NULL)
		return CVCTL_FAIL;
	result = PQgetvalue(res, 0, ST_KEY_ACTIVATE_COL_RESULT);
	if (strcmp(result, "activated") == 0)
		rc = 0;
	else if (strcmp(result, "retired") == 0)
		cvctl_fail(cv, "key %s is retired: a retired key never signs again (add a new one)",
		           kid);
	else if (strcmp(result, "active") == 0)
		cvctl_fail(cv, "key %s is already active", kid);
	else
		cvctl_fail(cv, "the account has no key %s (see cvctl account key list)", kid);
	PQclear(res);
	return rc;
}

static int
key_add(struct cvctl *cv, int argc, char **argv)
{
	const char *alg = NULL;
	char id[32], kid[CV_JWT_KID_MAX + 1], secret[CVCTL_SECRET_LEN + 1];
	int rc;

	if ((rc = key_options(cv, argc, argv, NULL, &alg, id)) != 0)
		return rc;
	if ((rc = add_key(cv, id, (enum cv_jwt_alg)cv_jwt_alg_from_name(alg), kid, secret)) == 0) {
		fprintf(cv->out, "kid=%s\n", kid);
		if (secret[0] != '\0')
			fprintf(cv->out, "secret=%s\n", secret);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

static int
key_activate(struct cvctl *cv, int argc, char **argv)
{
	const char *kid = NULL;
	char id[32];
	int rc;

	if ((rc = key_options(cv, argc, argv, &kid, NULL, id)) != 0)
		return rc;
	return activate_key(cv, id, kid);
}

static int
key_retire(struct cvctl *cv, int argc, char **argv)
{
	const char *kid = NULL, *result;
	char id[32], *rest[16];
	const char *params[ST_KEY_RETIRE_PARAM__MAX];
	int i, n = 0, force = 0, rc;
	PGresult *res;

	/* --force is the one option without a value. */
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0 && !force)
			force = 1;
		else if (n < (int)(sizeof(rest) / sizeof(rest[0])))
			rest[n++] = argv[i];
		else
			return cvctl_usage(cv, "too many arguments");
	}
	if ((rc = key_options(cv, n, rest, &kid, NULL, id)) != 0)
		return rc;
	params[ST_KEY_RETIRE_PARAM_ACCOUNT_ID] = id;
	params[ST_KEY_RETIRE_PARAM_KID] = kid;
	params[ST_KEY_RETIRE_PARAM_FORCE] = force ? "true" : "false";
	if ((res = cvctl_exec(cv, ST_KEY_RETIRE, params)) == NULL)
		return CVCTL_FAIL;
	result = PQgetvalue(res, 0, ST_KEY_RETIRE_COL_RESULT);
	rc = CVCTL_FAIL;
	if (strcmp(result, "retired") == 0)
		rc = 0;
	else if (strcmp(result, "active") == 0)
		cvctl_fail(cv, "key %s is the active key: activate another key first", kid);
	else if (strcmp(result, "in use") == 0)
		cvctl_fail(cv,
		           "key %s signed tokens that may be valid until %s; retire it then, "
		           "or now with --force (those tokens stop verifying)",
		           kid, PQgetvalue(res, 0, ST_KEY_RETIRE_COL_VALID_UNTIL));
	else if (strcmp(result, "retired before") == 0)
		cvctl_fail(cv, "key %s is retired already", kid);
	else
		cvctl_fail(cv, "the account has no key %s (see cvctl account key list)", kid);
	PQclear(res);
	return rc;
}

int
cvctl_account_key(struct cvctl *cv, int argc, char **argv)
{
	static const struct {
		const char *name, *command;
		int (*run)(struct cvctl *, int, char **);
	} subs[] = {
	    {"add", "account key add", key_add},
	    {"activate", "account key activate", key_activate},
	    {"retire", "account key retire", key_retire},
	};
	size_t i;

	if (argc > 0 && strcmp(argv[0], "list") == 0) {
		cv->command = "account key list";
		return cvctl_list_by_account(cv, argc - 1, argv + 1, OPT_REQUIRED, ST_KEY_LIST);
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (argc > 0 && strcmp(argv[0], subs[i].name) == 0) {
			cv->command = subs[i].command;
			return subs[i].run(cv, argc - 1, argv + 1);
		}
	return cvctl_usage(cv, "%s %s (see cvctl account --help)",
	                   argc > 0 ? "unknown command" : "missing command",
	                   argc > 0 ? argv[0] : "add|activate|retire|list");
}

int
cvctl_account_rotate_secret(struct cvctl *cv, int argc, char **argv)
{
	const char *account = NULL;
	const struct cvctl_opt opts[] = {
	    {"--account", &account, OPT_REQUIRED},
	    {NULL, NULL, 0},
	};
	char id[32], kid[CV_JWT_KID_MAX + 1], secret[CVCTL_SECRET_LEN + 1];
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 || (rc = cvctl_begin(cv)) != 0 ||
	    (rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
		return rc;
	secret[0] = '\0';
	if ((rc = add_key(cv, id, CV_JWT_HS256, kid, secret)) == 0 &&
	    (rc = activate_key(cv, id, kid)) == 0)
		fprintf(cv->out, "kid=%s\nsecret=%s\n", kid, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}
