/*
 * cvctl_events.c - cvctl events: the newest events (README "Logs, schema, events"), oldest
 * first, one per line, optionally of one account or one contact address.
 */
#include "config.h"

#include "cvctl.h"

#define LIMIT_DEFAULT "100"
#define LIMIT_MAX     100000

int
cvctl_events(struct cvctl *cv, int argc, char **argv)
{
	const char *account = NULL, *email = NULL, *limit = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, 0},
		{"--email", &email, 0},
		{"--limit", &limit, 0},
		{NULL, NULL, 0},
	};
	char id[32];
	const char *params[ST_EVENTS_PARAM__MAX];
	PGresult *res;
	int rc;

	/* --email is only compared, so any text up to an address's length. */
	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 ||
	    (rc = cvctl_check_text(cv, "--email", email, 254)) != 0 ||
	    (rc = cvctl_check_int(cv, "--limit", limit, 1, LIMIT_MAX, NULL)) != 0 ||
	    (rc = cvctl_begin(cv)) != 0)
		return rc;
	params[ST_EVENTS_PARAM_ACCOUNT_ID] = NULL;
	if (account != NULL) {
		if ((rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
			return rc;
		params[ST_EVENTS_PARAM_ACCOUNT_ID] = id;
	}
	params[ST_EVENTS_PARAM_EMAIL] = email;
	params[ST_EVENTS_PARAM_LIMIT] = limit != NULL ? limit : LIMIT_DEFAULT;
	if ((res = cvctl_exec(cv, ST_EVENTS, params)) == NULL)
		return CVCTL_FAIL;
	cvctl_print_table(cv, res);
	PQclear(res);
	return 0;
}
