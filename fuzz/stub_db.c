/*
 * stub_db.c - cv_db_exec for targets that link a lib/ file which also talks
 * to the database (auth.c's cv_auth_check, orchestrator.c's handlers).  The
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
