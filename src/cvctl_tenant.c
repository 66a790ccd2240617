/*
 * cvctl_tenant.c - cvctl tenant add|list: the tenants of the Users
 * Orchestrator dialect (README "Users Orchestrator API"), named by three header codes, with
 * the HS256 secret of their JWTs (at least 256 bits: shorter keys are
 * refused here, as in that README section), optional expected issuer and audience, and the
 * origins a returnUrl may lead to.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "cvctl.h"
#include "origin.h"

#define SECRET_BYTES     32
#define SECRET_MIN_BYTES 32
#define SECRET_MAX_BYTES 512
#define CODE_MAX         64
#define CLAIM_MAX        512
#define ORIGINS_MAX      CVCTL_ORIGINS_MAX

/* A tenant code: 1 to 64 letters, digits, '.', '_' or '-' (as the schema). */
static int
check_code(struct cvctl *cv, const char *option, const char *value)
{
	size_t i, n = strlen(value);

	if (n == 0 || n > CODE_MAX)
		return cvctl_usage(cv, "%s must be 1 to %d characters", option, CODE_MAX);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)value[i]) && strchr("._-", value[i]) == NULL)
			return cvctl_usage(cv, "%s may hold only letters, digits, '.', '_' and '-'",
			                   option);
	return 0;
}

int
cvctl_origins_array(struct cvctl *cv, const char *option, const char *list, char *out,
                    size_t len)
{
	char item[300], origin[300];
	const char *p = list;
	size_t n = 0, k, count = 0;

	out[n++] = '{';
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		k = strcspn(p, " ,");
		if (k >= sizeof(item))
			return cvctl_usage(cv, "%s: an origin is too long", option);
		memcpy(item, p, k);
		item[k] = '\0';
		p += k;
		while (k > 0 && item[k - 1] == '/')
			item[--k] = '\0';
		if (cv_origin_of(item, origin, sizeof(origin)) != 0 ||
		    strcasecmp(item, origin) != 0)
			return cvctl_usage(cv, "%s: \"%s\" is not an http(s) origin"
			                       " (scheme://host[:port])", option, item);
		if (++count > ORIGINS_MAX || n + strlen(origin) + 3 >= len)
			return cvctl_usage(cv, "%s: too many origins", option);
		n += (size_t)snprintf(out + n, len - n, "%s%s", count > 1 ? "," : "", origin);
	}
	out[n++] = '}';
	out[n] = '\0';
	return 0;
}

int
cvctl_tenant_add(struct cvctl *cv, int argc, char **argv)
{
	const char *account = NULL, *client = NULL, *paper = NULL, *group = NULL, *secret = NULL;
	const char *issuer = NULL, *audience = NULL, *origins = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, OPT_REQUIRED},
		{"--client-code", &client, OPT_REQUIRED},
		{"--paper-code", &paper, OPT_REQUIRED},
		{"--client-group-code", &group, OPT_REQUIRED},
		{"--secret", &secret, 0},
		{"--issuer", &issuer, 0},
		{"--audience", &audience, 0},
		{"--return-origins", &origins, OPT_EMPTY_OK},
		{NULL, NULL, 0},
	};
	unsigned char raw[SECRET_BYTES];
	char id[32], made[64], array[ORIGINS_MAX * 300];
	const char *params[ST_TENANT_ADD_PARAM__MAX];
	PGresult *res = NULL;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 ||
	    (rc = check_code(cv, "--client-code", client)) != 0 ||
	    (rc = check_code(cv, "--paper-code", paper)) != 0 ||
	    (rc = check_code(cv, "--client-group-code", group)) != 0 ||
	    (rc = cvctl_check_text(cv, "--issuer", issuer, CLAIM_MAX)) != 0 ||
	    (rc = cvctl_check_text(cv, "--audience", audience, CLAIM_MAX)) != 0 ||
	    (rc = cvctl_origins_array(cv, "--return-origins", origins != NULL ? origins : "",
	                              array, sizeof(array))) != 0)
		return rc;
	if (secret != NULL && (strlen(secret) < SECRET_MIN_BYTES || strlen(secret) > SECRET_MAX_BYTES))
		return cvctl_usage(cv, "--secret must be %d to %d bytes (at least 256 bits)",
		                   SECRET_MIN_BYTES, SECRET_MAX_BYTES);
	if (secret == NULL) {
		if (cv_random_bytes(raw, sizeof(raw)) != 0)
			return cvctl_fail(cv, "no random bytes");
		cv_b64url_encode(raw, sizeof(raw), made);
		OPENSSL_cleanse(raw, sizeof(raw));
	}
	if ((rc = cvctl_begin(cv)) != 0 || (rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
		goto out;
	params[ST_TENANT_ADD_PARAM_ACCOUNT_ID] = id;
	params[ST_TENANT_ADD_PARAM_CLIENT_CODE] = client;
	params[ST_TENANT_ADD_PARAM_PAPER_CODE] = paper;
	params[ST_TENANT_ADD_PARAM_CLIENT_GROUP_CODE] = group;
	params[ST_TENANT_ADD_PARAM_JWT_SECRET] = secret != NULL ? secret : made;
	params[ST_TENANT_ADD_PARAM_JWT_ISSUER] = issuer != NULL && *issuer != '\0' ? issuer : NULL;
	params[ST_TENANT_ADD_PARAM_JWT_AUDIENCE] =
	    audience != NULL && *audience != '\0' ? audience : NULL;
	params[ST_TENANT_ADD_PARAM_RETURN_ORIGINS] = array;
	if ((res = cvctl_exec(cv, ST_TENANT_ADD, params)) == NULL) {
		rc = CVCTL_FAIL;
		goto out;
	}
	fprintf(cv->out, "id=%s\n", PQgetvalue(res, 0, ST_TENANT_ADD_COL_ID));
	if (secret == NULL)
		fprintf(cv->out, "secret=%s\n", made);
out:
	PQclear(res);
	OPENSSL_cleanse(made, sizeof(made));
	return rc;
}

int
cvctl_tenant_list(struct cvctl *cv, int argc, char **argv)
{
	return cvctl_list_by_account(cv, argc, argv, 0, ST_TENANT_LIST);
}
