/*
 * stub_db.c - lib/db.c's calls for targets that link a lib/ file which also
 * talks to the database (auth.c's cv_auth_check, portal.c's handlers).  The
 * parsers under test never reach it, so it aborts: a call is a harness bug,
 * and lib/db.c (libpq connections, the statement table) stays out of the
 * fuzz build.
 */
#include <stdio.h>
#include <stdlib.h>

#include "db.h"

PGresult *
cv_db_exec(enum cv_stmt stmt, const char *const *params, enum cv_err *err)
{
	(void)params;
	(void)err;
	fprintf(stderr, "fuzz: cv_db_exec(%d) called by a parser\n", (int)stmt);
	abort();
}

const char *
cv_db_value(const PGresult *res, int row, int col)
{
	(void)res;
	(void)row;
	(void)col;
	fprintf(stderr, "fuzz: cv_db_value called by a parser\n");
	abort();
}

enum cv_err
cv_db_result(const PGresult *res, int result_col)
{
	(void)res;
	(void)result_col;
	fprintf(stderr, "fuzz: cv_db_result called by a parser\n");
	abort();
}

enum cv_err
cv_db_result_wait(const PGresult *res, int result_col, int wait_col, int *retry_after)
{
	(void)res;
	(void)result_col;
	(void)wait_col;
	(void)retry_after;
	fprintf(stderr, "fuzz: cv_db_result_wait called by a parser\n");
	abort();
}
