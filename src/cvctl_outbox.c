/*
 * cvctl_outbox.c - cvctl outbox: how the mail queue stands (README "Logs, schema, events"):
 * messages per status, the age of the oldest queued one (a growing age means
 * no mailer is delivering), and the most recent permanent failures.
 */
#include "config.h"

#include "cvctl.h"

#define FAILURES_DEFAULT "10"
#define FAILURES_MAX     10000

int
cvctl_outbox(struct cvctl *cv, int argc, char **argv)
{
	const char *account = NULL, *failures = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, 0},
		{"--failures", &failures, 0},
		{NULL, NULL, 0},
	};
	char id[32];
	/* ST_OUTBOX_COUNTS and ST_OUTBOX_OLDEST take the first of these. */
	const char *params[ST_OUTBOX_FAILURES_PARAM__MAX], *age;
	PGresult *res;
	int rc, r;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 ||
	    (rc = cvctl_check_int(cv, "--failures", failures, 0, FAILURES_MAX, NULL)) != 0 ||
	    (rc = cvctl_begin(cv)) != 0)
		return rc;
	params[ST_OUTBOX_FAILURES_PARAM_ACCOUNT_ID] = NULL;
	if (account != NULL) {
		if ((rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
			return rc;
		params[ST_OUTBOX_FAILURES_PARAM_ACCOUNT_ID] = id;
	}
	params[ST_OUTBOX_FAILURES_PARAM_LIMIT] = failures != NULL ? failures : FAILURES_DEFAULT;

	if ((res = cvctl_exec(cv, ST_OUTBOX_COUNTS, params)) == NULL)
		return CVCTL_FAIL;
	for (r = 0; r < PQntuples(res); r++)
		fprintf(cv->out, "%s=%s\n", PQgetvalue(res, r, ST_OUTBOX_COUNTS_COL_STATUS),
		        PQgetvalue(res, r, ST_OUTBOX_COUNTS_COL_COUNT));
	PQclear(res);

	if ((res = cvctl_exec(cv, ST_OUTBOX_OLDEST, params)) == NULL)
		return CVCTL_FAIL;
	age = cv_db_value(res, 0, ST_OUTBOX_OLDEST_COL_AGE);
	fprintf(cv->out, "oldest_queued_age=%s\n", age != NULL ? age : "-");
	PQclear(res);

	if ((res = cvctl_exec(cv, ST_OUTBOX_FAILURES, params)) == NULL)
		return CVCTL_FAIL;
	fputc('\n', cv->out);
	cvctl_print_table(cv, res);
	PQclear(res);
	return 0;
}
