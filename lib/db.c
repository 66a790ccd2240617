/*
 * db.c - connection, reconnection and prepared statements.  Every SQL text of
 * the programs is in the table below; each is a call of a function from
 * sql/, so a request is one round trip.  search_path is set to pg_catalog at
 * connect time and every name is schema-qualified.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

static const struct {
	const char *name;
	const char *sql;
	int         nparams;
	int         retry_safe;  /* repeating it after a lost connection is harmless */
} statements[CV_STMT__MAX] = {
	[CV_STMT_SEND] = {"send",
	    "SELECT result, retry_after FROM cv.api_send($1, $2, $3, $4::text[], $5, $6, $7, $8)",
	    8, 1},
	[CV_STMT_VERIFY] = {"verify",
	    "SELECT result, contact_uuid FROM cv.api_verify($1, $2, $3, $4)", 4, 0},
	[CV_STMT_AUTH_TOKEN] = {"auth_token",
	    "SELECT result, account_uuid, token_secret, token_ttl, contact_uuid, email,"
	    " email_verified, extract(epoch FROM now())::bigint"
	    " FROM cv.api_auth_token($1, $2::uuid, $3)", 3, 1},
	[CV_STMT_AUTHENTICATE] = {"authenticate",
	    "SELECT result FROM cv.authenticate($1)", 1, 1},
	[CV_STMT_HEALTH] = {"health", "SELECT 1", 0, 1},
	[CV_STMT_OUTBOX_CLAIM] = {"outbox_claim",
	    "SELECT id, to_email, code, link, app_name, sender_name, sender_email, locale,"
	    " purpose, message_id, extract(epoch FROM expires_at - now())::bigint, attempts,"
	    " extract(epoch FROM created_at)::bigint"
	    " FROM cv.outbox_claim($1, $2)", 2, 0},
	[CV_STMT_OUTBOX_RECORD] = {"outbox_record",
	    "SELECT cv.outbox_record($1, $2, $3, $4)", 4, 0},
};

static PGconn *conn;
static char *conninfo;
static int prepared[CV_STMT__MAX];

int
cv_db_init(const char *info)
{
	free(conninfo);
	conninfo = strdup(info != NULL ? info : "");
	return conninfo == NULL ? -1 : 0;
}

void
cv_db_close(void)
{
	if (conn != NULL)
		PQfinish(conn);
	conn = NULL;
	memset(prepared, 0, sizeof(prepared));
}

PGconn *
cv_db_conn(void)
{
	const char *keys[] = {"connect_timeout", "application_name", "options", "dbname", NULL};
	const char *values[] = {"2", "contact-verify", "-c search_path=pg_catalog",
	                        conninfo != NULL ? conninfo : "", NULL};

	if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
		return conn;
	cv_db_close();
	/* expand_dbname: the configured string may override the defaults above. */
	conn = PQconnectdbParams(keys, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		cv_log_error("database connection failed: %s",
		             conn != NULL ? PQerrorMessage(conn) : "out of memory");
		cv_db_close();
		return NULL;
	}
	return conn;
}

/*
 * 1 when res failed because the connection is gone.  After a server shutdown
 * or crash the backend's FATAL message (SQLSTATE 57P0x) can arrive before
 * libpq sees the socket close, so the status alone is not enough; errors
 * libpq makes itself carry no SQLSTATE.
 */
static int
connection_lost(const PGresult *res)
{
	const char *state;

	if (res == NULL || PQstatus(conn) != CONNECTION_OK)
		return 1;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	return state == NULL || strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0;
}

/* Prepares stmt if needed and runs it.  *executed tells whether the
 * statement itself was sent (a failed PREPARE changed nothing). */
static PGresult *
exec_once(enum cv_stmt stmt, const char *const *params, int *executed)
{
	PGresult *res;

	*executed = 0;
	if (!prepared[stmt]) {
		res = PQprepare(conn, statements[stmt].name, statements[stmt].sql,
		                statements[stmt].nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			return res;
		PQclear(res);
		prepared[stmt] = 1;
	}
	*executed = 1;
	return PQexecPrepared(conn, statements[stmt].name, statements[stmt].nparams, params, NULL,
	                      NULL, 0);
}

PGresult *
cv_db_exec(enum cv_stmt stmt, const char *const *params, enum cv_err *err)
{
	PGresult *res = NULL;
	int tries, executed;

	for (tries = 0; tries < 2; tries++) {
		if (cv_db_conn() == NULL) {
			*err = CV_ERR_UNAVAILABLE;
			return NULL;
		}
		res = exec_once(stmt, params, &executed);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			return res;
		if (!connection_lost(res)) {
			cv_log_error("statement %s failed: %s", statements[stmt].name,
			             PQresultErrorMessage(res));
			PQclear(res);
			*err = CV_ERR_INTERNAL;
			return NULL;
		}
		cv_log_error("statement %s: connection lost: %s", statements[stmt].name,
		             PQerrorMessage(conn));
		PQclear(res);
		cv_db_close();
		if (executed && !statements[stmt].retry_safe)
			break;
	}
	*err = CV_ERR_UNAVAILABLE;
	return NULL;
}
