/*
 * refdb.h - the one PostgreSQL connection of a reference responder in bench/
 * (fcgi_select, fcgi_insert): one statement, prepared once per connection.
 */
#ifndef CV_BENCH_REFDB_H
#define CV_BENCH_REFDB_H

#include <libpq-fe.h>

/*
 * Reads the connection string: the "database" key of the file named by
 * $CV_CONFIG.  Call it before the first FCGI_Accept(), which replaces the
 * environment with the request's.  Returns 0 or -1 (logged to stderr).
 */
int refdb_init(void);

/*
 * Runs the process's one statement (sql, prepared on first use) with text
 * parameters and returns its result when it produced rows; the caller
 * PQclears it.  Connects first when needed, with the connection options of
 * lib/db.c, and tries once more on
 * a new connection when the old one is dead.  NULL on failure (logged to
 * stderr).
 */
PGresult *refdb_exec(const char *sql, int nparams, const char *const *params);

/* Closes the connection, if any (a CGI program's end). */
void refdb_finish(void);

#endif
