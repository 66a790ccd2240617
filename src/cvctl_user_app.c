/*
 * cvctl_user_app.c - cvctl user-app add|set|list: an account's user app
 * (Contacts Portal), which send and verify need (55032 without it).  An
 * account has at most one.  add inserts the row with the schema's defaults
 * and then applies the same update as set, so both accept the same settings
 * and check them in one place.
 */
#include "config.h"

#include <string.h>

#include "cvctl.h"

#define NAME_MAX_BYTES 200

/* The settings add and set share, as the parameters $2..$9 of
 * ST_USER_APP_SET (NULL: keep; "": clear an optional text). */
struct app_settings {
	const char *name, *portal_url, *sender_name, *sender_email;
	const char *code_length, *login_ttl, *verify_ttl, *resend_cooldown;
};

static int
check_settings(struct cvctl *cv, const struct app_settings *s)
{
	int rc;

	if ((rc = cvctl_check_text(cv, "--name", s->name, NAME_MAX_BYTES)) != 0 ||
	    (rc = cvctl_check_text(cv, "--sender-name", s->sender_name, NAME_MAX_BYTES)) != 0 ||
	    (rc = cvctl_check_int(cv, "--code-length", s->code_length, 6, 10, NULL)) != 0 ||
	    (rc = cvctl_check_int(cv, "--login-ttl", s->login_ttl, 60, 86400, NULL)) != 0 ||
	    (rc = cvctl_check_int(cv, "--verify-ttl", s->verify_ttl, 60, 86400 * 30, NULL)) != 0 ||
	    (rc = cvctl_check_int(cv, "--resend-cooldown", s->resend_cooldown, 0, 3600, NULL)) != 0)
		return rc;
	if (s->portal_url != NULL && *s->portal_url != '\0' &&
	    (rc = cvctl_check_url(cv, "--portal-url", s->portal_url)) != 0)
		return rc;
	if (s->sender_email != NULL && *s->sender_email != '\0' &&
	    (rc = cvctl_check_email(cv, "--sender-email", s->sender_email)) != 0)
		return rc;
	return 0;
}

/* Parses the options of add (name required) or set, checks them and finds
 * the account, leaving the transaction open. */
static int
parse_settings(struct cvctl *cv, int argc, char **argv, int name_flags, struct app_settings *s,
               char *id, size_t idlen)
{
	const char *account = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, OPT_REQUIRED},
		{"--name", &s->name, name_flags},
		{"--portal-url", &s->portal_url, OPT_EMPTY_OK},
		{"--sender-name", &s->sender_name, OPT_EMPTY_OK},
		{"--sender-email", &s->sender_email, OPT_EMPTY_OK},
		{"--code-length", &s->code_length, 0},
		{"--login-ttl", &s->login_ttl, 0},
		{"--verify-ttl", &s->verify_ttl, 0},
		{"--resend-cooldown", &s->resend_cooldown, 0},
		{NULL, NULL, 0},
	};
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 ||
	    (rc = check_settings(cv, s)) != 0)
		return rc;
	if (!(name_flags & OPT_REQUIRED) && s->name == NULL && s->portal_url == NULL &&
	    s->sender_name == NULL && s->sender_email == NULL && s->code_length == NULL &&
	    s->login_ttl == NULL && s->verify_ttl == NULL && s->resend_cooldown == NULL)
		return cvctl_usage(cv, "nothing to change (see cvctl user-app --help)");
	if ((rc = cvctl_begin(cv)) != 0)
		return rc;
	return cvctl_account_id(cv, account, id, idlen);
}

/* Applies s to the user app of account id.  Returns 0, CVCTL_FAIL (also
 * when the account has none). */
static int
apply_settings(struct cvctl *cv, const char *id, const struct app_settings *s)
{
	const char *params[ST_USER_APP_SET_PARAM__MAX] = {
	    [ST_USER_APP_SET_PARAM_ACCOUNT_ID] = id,
	    [ST_USER_APP_SET_PARAM_NAME] = s->name,
	    [ST_USER_APP_SET_PARAM_PORTAL_URL] = s->portal_url,
	    [ST_USER_APP_SET_PARAM_SENDER_NAME] = s->sender_name,
	    [ST_USER_APP_SET_PARAM_SENDER_EMAIL] = s->sender_email,
	    [ST_USER_APP_SET_PARAM_CODE_LENGTH] = s->code_length,
	    [ST_USER_APP_SET_PARAM_LOGIN_TTL] = s->login_ttl,
	    [ST_USER_APP_SET_PARAM_VERIFY_TTL] = s->verify_ttl,
	    [ST_USER_APP_SET_PARAM_RESEND_COOLDOWN] = s->resend_cooldown,
	};
	PGresult *res;
	int rc = 0;

	if ((res = cvctl_exec(cv, ST_USER_APP_SET, params)) == NULL)
		return CVCTL_FAIL;
	if (PQntuples(res) != 1)
		rc = cvctl_fail(cv, "the account has no user app (create it with cvctl user-app add)");
	PQclear(res);
	return rc;
}

int
cvctl_user_app_add(struct cvctl *cv, int argc, char **argv)
{
	struct app_settings s;
	char id[32];
	const char *params[ST_USER_APP_ADD_PARAM__MAX];
	PGresult *res;
	int rc;

	if ((rc = parse_settings(cv, argc, argv, OPT_REQUIRED, &s, id, sizeof(id))) != 0)
		return rc;
	params[ST_USER_APP_ADD_PARAM_ACCOUNT_ID] = id;
	params[ST_USER_APP_ADD_PARAM_NAME] = s.name;
	if ((res = cvctl_exec(cv, ST_USER_APP_ADD, params)) == NULL)
		return CVCTL_FAIL;
	if (PQntuples(res) != 1)
		rc = cvctl_fail(cv, "the account already has a user app (change it with cvctl "
		                    "user-app set)");
	PQclear(res);
	return rc != 0 ? rc : apply_settings(cv, id, &s);
}

int
cvctl_user_app_set(struct cvctl *cv, int argc, char **argv)
{
	struct app_settings s;
	char id[32];
	int rc;

	if ((rc = parse_settings(cv, argc, argv, 0, &s, id, sizeof(id))) != 0)
		return rc;
	return apply_settings(cv, id, &s);
}

int
cvctl_user_app_list(struct cvctl *cv, int argc, char **argv)
{
	return cvctl_list_by_account(cv, argc, argv, 0, ST_USER_APP_LIST);
}
