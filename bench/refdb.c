/*
 * refdb.c - the database side of the reference responders.  They read the
 * connection string from the same configuration file as the real responders
 * (the "database" key of $CV_CONFIG, by lib/conf.c) and connect with the same options, so a
 * floor and an endpoint of tools/bench differ only in the work they do,
 * except for the role: the floors' cv_bench (bench/setup.sql), because the
 * responders' cv_app may touch no table (sql/014).  No fcgi_stdio.h here:
 * stderr is the process's log, not the FastCGI stream.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "refdb.h"

static PGconn *conn;
static int prepared;
static char conninfo[1024];

int
refdb_init(void)
{
	struct cv_conf conf;
	char err[256];
	size_t n;

	if (cv_conf_load(&conf, cv_conf_path(), err, sizeof(err)) != 0) {
		fprintf(stderr, "refdb: %s\n", err);
		return -1;
	}
	n = strlen(conf.database);
	if (n < sizeof(conninfo))
		memcpy(conninfo, conf.database, n + 1);
	cv_conf_free(&conf);
	if (n >= sizeof(conninfo)) {
		fprintf(stderr, "refdb: the database key is too long\n");
		return -1;
	}
	return 0;
}

static int
connect_db(void)
{
	/* user after dbname: it overrides the expanded connection string's. */
	const char *keys[] = {"connect_timeout", "application_name", "options", "dbname", "user",
	                      NULL};
	const char *values[] = {"2", "contact-verify-bench", "-c search_path=pg_catalog", conninfo,
	                        "cv_bench", NULL};

	conn = PQconnectdbParams(keys, values, 1);
	prepared = 0;
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "refdb: connection failed: %s",
		        conn != NULL ? PQerrorMessage(conn) : "out of memory\n");
		PQfinish(conn);
		conn = NULL;
		return -1;
	}
	return 0;
}

PGresult *
refdb_exec(const char *sql, int nparams, const char *const *params)
{
	PGresult *res;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (conn == NULL && connect_db() != 0)
			return NULL;
		if (!prepared) {
			res = PQprepare(conn, "ref", sql, nparams, NULL);
			prepared = PQresultStatus(res) == PGRES_COMMAND_OK;
			if (!prepared)
				goto failed;
			PQclear(res);
		}
		res = PQexecPrepared(conn, "ref", nparams, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			return res;
	failed:
		fprintf(stderr, "refdb: %s", PQresultErrorMessage(res));
		PQclear(res);
		if (PQstatus(conn) == CONNECTION_OK)
			return NULL;
		PQfinish(conn);
		conn = NULL;
	}
	return NULL;
}

void
refdb_finish(void)
{
	PQfinish(conn);
	conn = NULL;
}
