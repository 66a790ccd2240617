/*
 * describe_statements.c - the C side and the SQL side of every statement
 * agree: each statement of lib/db.c's table and of cvctl's (src/cvctl_db.c)
 * is prepared on a migrated database and PQdescribePrepared must report
 * exactly the parameters and the columns, by name and in order, that its
 * lists in lib/db.h and src/cvctl.h give, by which the C side passes and
 * reads them.  Nothing is executed.
 *
 *     describe_statements CONNINFO
 *
 * Run by tests/integration/test_statements.py against the test stack's
 * database (a superuser's connection: preparing needs no privilege).  It
 * first shows that its comparison refuses a wrong name, a wrong number of
 * columns and a wrong number of parameters.  Prints "ok NAME" or
 * "FAIL NAME: WHY" per statement and "N passed, M failed" last; exits 1
 * when anything failed, 2 without a database.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "cvctl.h"
#include "db.h"

static int passed, failed;

/* cvctl_db.c's table is linked for cvctl_statement(); its connection code,
 * which would call these two of cvctl.c, never runs here. */
int
cvctl_fail(struct cvctl *cv, const char *fmt, ...)
{
	(void)cv;
	(void)fmt;
	abort();
}

void
cvctl_put_field(FILE *f, const char *s)
{
	(void)f;
	(void)s;
	abort();
}

/*
 * Compares the description of a prepared statement with the contract: why
 * it differs written to why (len bytes), or "" when it does not.
 */
static void
compare(const PGresult *desc, int nparams, int ncolumns, const char *const *columns, char *why,
        size_t len)
{
	int i;

	why[0] = '\0';
	if (PQnparams(desc) != nparams) {
		snprintf(why, len, "takes %d parameters, the C side passes %d", PQnparams(desc),
		         nparams);
		return;
	}
	if (PQnfields(desc) != ncolumns) {
		snprintf(why, len, "answers %d columns, the C side reads %d", PQnfields(desc),
		         ncolumns);
		return;
	}
	for (i = 0; i < ncolumns; i++)
		if (strcasecmp(PQfname(desc, i), columns[i]) != 0) {
			snprintf(why, len, "column %d is %s, the C side reads it as %s", i + 1,
			         PQfname(desc, i), columns[i]);
			return;
		}
}

/* Prepares sql unnamed (its parameter types all inferred, so that their
 * number is the statement's own) and describes it.  NULL with the server's
 * message in why when it does not prepare. */
static PGresult *
describe(PGconn *conn, const char *sql, char *why, size_t len)
{
	PGresult *res = PQprepare(conn, "", sql, 0, NULL);

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(why, len, "does not prepare: %s", PQresultErrorMessage(res));
		why[strcspn(why, "\n")] = '\0';
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	res = PQdescribePrepared(conn, "");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(why, len, "cannot be described: %s", PQresultErrorMessage(res));
		why[strcspn(why, "\n")] = '\0';
		PQclear(res);
		return NULL;
	}
	return res;
}

static void
check(PGconn *conn, const char *name, const char *sql, int nparams, int ncolumns,
      const char *const *columns)
{
	char why[512];
	PGresult *desc = describe(conn, sql, why, sizeof(why));

	if (desc != NULL) {
		compare(desc, nparams, ncolumns, columns, why, sizeof(why));
		PQclear(desc);
	}
	if (why[0] == '\0') {
		printf("ok   %s\n", name);
		passed++;
	} else {
		printf("FAIL %s: %s\n", name, why);
		failed++;
	}
}

/* The comparison itself can fail: a wrong name, a wrong number of columns
 * or parameters are each refused. */
static void
self_check(PGconn *conn)
{
	static const char *const right[] = {"A", "B_C"}, *const wrong[] = {"A", "B"};
	static const struct {
		const char *name;
		int nparams, ncolumns;
		const char *const *columns;
		int accepted;
	} cases[] = {
	    {"self-check: the contract itself", 1, 2, right, 1},
	    {"self-check: a column of another name", 1, 2, wrong, 0},
	    {"self-check: a column fewer", 1, 1, right, 0},
	    {"self-check: a parameter more", 2, 2, right, 0},
	};
	char why[512];
	size_t i;
	PGresult *desc = describe(conn, "SELECT $1::integer AS a, 2 AS b_c", why, sizeof(why));

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (desc != NULL)
			compare(desc, cases[i].nparams, cases[i].ncolumns, cases[i].columns, why,
			        sizeof(why));
		if (desc != NULL && (why[0] == '\0') == cases[i].accepted) {
			printf("ok   %s\n", cases[i].name);
			passed++;
		} else {
			printf("FAIL %s: %s\n", cases[i].name, why[0] != '\0' ? why : "accepted");
			failed++;
		}
	}
	PQclear(desc);
}

int
main(int argc, char **argv)
{
	char name[128];
	PGconn *conn;
	int i;

	if (argc != 2) {
		fprintf(stderr, "usage: describe_statements CONNINFO\n");
		return 2;
	}
	/* The responders' session: search_path = pg_catalog (lib/db.c). */
	if (cv_db_init(argv[1]) != 0 || (conn = cv_db_conn()) == NULL) {
		fprintf(stderr, "describe_statements: no database\n");
		return 2;
	}
	self_check(conn);
	for (i = 0; i < CV_STMT__MAX; i++) {
		const struct cv_db_statement *st = cv_db_statement((enum cv_stmt)i);

		snprintf(name, sizeof(name), "lib/db.c %s", st->name);
		check(conn, name, st->sql, st->nparams, st->ncolumns, st->columns);
	}
	for (i = 0; i < ST__MAX; i++) {
		const struct cvctl_statement *st = cvctl_statement((enum cvctl_stmt)i);

		snprintf(name, sizeof(name), "src/cvctl_db.c #%d (%.60s)", i, st->sql);
		check(conn, name, st->sql, st->nparams, st->ncolumns, st->columns);
	}
	cv_db_close();
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
