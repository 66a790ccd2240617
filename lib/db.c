/*
 * db.c - connection, reconnection and prepared statements.  Every SQL text of
 * the programs is in the table below; each is a call of a function from
 * sql/, so a request is one round trip, and answers the columns its list in
 * db.h names, each under that name (an AS where SQL would name it
 * otherwise).  search_path is set to pg_catalog at connect time and every
 * name is schema-qualified.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

/* CV_CONTACT_TOKEN_COLUMNS, for auth-token and the login-ticket exchange.
 * now_epoch (the token's iat) is the transaction's start in whole seconds,
 * truncated: a bigint cast rounds, which put iat up to half a second after
 * the token was issued, and verifiers (PyJWT) refuse a token issued in the
 * future. */
/* clang-format off */
#define TOKEN_COLUMNS                                                                             \
	"result, account_uuid, token_secret, token_ttl, contact_uuid, email, email_verified,"     \
	" pg_catalog.floor(extract(epoch FROM pg_catalog.now()))::bigint AS now_epoch, retry_after,"  \
	" key_kid, key_alg, key_sealed"

/* The app's columns of every portal statement (CV_PORTAL_COLUMNS after the
 * result's). */
#define PORTAL_INFO                                                                               \
	" (info).app_name, (info).brand_color, (info).frame_ancestors, (info).allowed_origins,"   \
	" (info).allow_credentials, (info).portal_url, (info).code_length, (info).resend_cooldown"

/* The parameter count, column count and column names of statement NAME,
 * from its lists in db.h. */
#define SHAPE(NAME)                                                                               \
	NAME##_PARAM__MAX, NAME##_COL__MAX,                                                       \
	    (const char *const[]){NAME##_COLUMNS(CV_DB_NAME, _) NULL}

static const struct cv_db_statement statements[CV_STMT__MAX] = {
	[CV_STMT_SEND] = {"send",
	    "SELECT result, retry_after FROM cv.api_send($1, $2, $3, $4::text[], $5, $6, $7, $8)",
	    SHAPE(CV_SEND), 1},
	[CV_STMT_VERIFY] = {"verify",
	    "SELECT result, contact_uuid, retry_after FROM cv.api_verify($1, $2, $3, $4, $5)",
	    SHAPE(CV_VERIFY), 0},
	[CV_STMT_AUTH_TOKEN] = {"auth_token",
	    "SELECT " TOKEN_COLUMNS ", token_format"
	    " FROM cv.api_auth_token($1, $2::uuid, $3, $4)", SHAPE(CV_AUTH_TOKEN), 1},
	[CV_STMT_AUTHENTICATE] = {"authenticate",
	    "SELECT result, retry_after FROM cv.authenticate_from($1, $2)", SHAPE(CV_AUTHENTICATE),
	    1},
	[CV_STMT_HEALTH] = {"health", "SELECT 1 AS ok", SHAPE(CV_HEALTH), 1},
	[CV_STMT_OAUTH_CLIENT] = {"oauth_client",
	    "SELECT client_found, secret_hash, token_ttl, usable, blocked_for, now_epoch"
	    " FROM cv.oauth_client($1, $2)", SHAPE(CV_OAUTH_CLIENT), 1},
	[CV_STMT_OAUTH_FAILED] = {"oauth_failed",
	    "SELECT cv.auth_failed($1) AS retry_after", SHAPE(CV_OAUTH_FAILED), 0},
	[CV_STMT_UO_TENANT] = {"uo_tenant",
	    "SELECT tenant_id, jwt_secret, jwt_issuer, jwt_audience, return_origins,"
	    " account_active, now_epoch FROM cv.uo_tenant($1, $2, $3)", SHAPE(CV_UO_TENANT), 1},
	[CV_STMT_UO_SEND] = {"uo_send",
	    "SELECT result, retry_after"
	    " FROM cv.uo_send($1, $2, $3, $4, $5::text[], $6, $7, $8, $9)", SHAPE(CV_UO_SEND), 1},
	[CV_STMT_UO_VERIFY] = {"uo_verify",
	    "SELECT result, retry_after FROM cv.uo_verify($1, $2, $3, $4, $5, $6)",
	    SHAPE(CV_UO_VERIFY), 0},
	[CV_STMT_UO_LINK_STATE] = {"uo_link_state",
	    "SELECT state, app_name FROM cv.uo_link_state($1)", SHAPE(CV_UO_LINK_STATE), 1},
	[CV_STMT_UO_LINK_CONSUME] = {"uo_link_consume",
	    "SELECT state, return_url, app_name FROM cv.uo_link_consume($1, $2)",
	    SHAPE(CV_UO_LINK_CONSUME), 0},
	[CV_STMT_OUTBOX_CLAIM] = {"outbox_claim",
	    "SELECT id, to_email, encode(sealed, 'hex') AS sealed_hex, link_base, app_name,"
	    " sender_name, sender_email, locale, purpose, message_id,"
	    " extract(epoch FROM expires_at - now())::bigint AS expires_in, attempts,"
	    " extract(epoch FROM created_at)::bigint AS created_epoch, code_length, superseded"
	    " FROM cv.outbox_claim($1, $2)", SHAPE(CV_OUTBOX_CLAIM), 0},
	[CV_STMT_OUTBOX_RECORD] = {"outbox_record",
	    "SELECT cv.outbox_record($1, $2, $3, $4) AS status", SHAPE(CV_OUTBOX_RECORD), 0},
	[CV_STMT_OUTBOX_TEMPLATE] = {"outbox_template",
	    "SELECT locale, template_locale, subject, text_body, html_body"
	    " FROM cv.outbox_template($1)", SHAPE(CV_OUTBOX_TEMPLATE), 1},
	[CV_STMT_PORTAL_APP] = {"portal_app",
	    "SELECT result, NULL::integer AS retry_after," PORTAL_INFO ", link_state"
	    " FROM cv.portal_app($1, $2, $3)", SHAPE(CV_PORTAL_APP), 1},
	[CV_STMT_PORTAL_SEND] = {"portal_send",
	    "SELECT result, retry_after," PORTAL_INFO
	    " FROM cv.portal_send($1, $2, $3, $4, $5, $6, $7::text[], $8, $9, $10)",
	    SHAPE(CV_PORTAL_SEND), 0},
	[CV_STMT_PORTAL_VERIFY] = {"portal_verify",
	    "SELECT result, retry_after," PORTAL_INFO ", ticket_ttl, link_state"
	    " FROM cv.portal_verify($1, $2, $3, $4, $5, $6, $7, $8)", SHAPE(CV_PORTAL_VERIFY), 0},
	[CV_STMT_LOGIN_TICKET] = {"login_ticket",
	    "SELECT " TOKEN_COLUMNS
	    " FROM cv.api_login_ticket($1, $2, $3, $4)", SHAPE(CV_LOGIN_TICKET), 0},
	[CV_STMT_HOUSEKEEPING] = {"housekeeping",
	    "SELECT counters, tickets FROM cv.housekeeping()", SHAPE(CV_HOUSEKEEPING), 1},
	[CV_STMT_ACCOUNT_JWKS] = {"account_jwks",
	    "SELECT found, jwks FROM cv.account_jwks($1::uuid)", SHAPE(CV_ACCOUNT_JWKS), 1},
	[CV_STMT_ERASE_CONTACT] = {"erase_contact",
	    "SELECT result, contact_uuid, retry_after FROM cv.api_erase_contact($1, $2::uuid, $3, $4)",
	    SHAPE(CV_ERASE_CONTACT), 1},
	[CV_STMT_OUTBOX_HOLD] = {"outbox_hold",
	    "SELECT cv.outbox_hold($1) AS held", SHAPE(CV_OUTBOX_HOLD), 0},
	[CV_STMT_EXPIRE_HISTORY] = {"expire_history",
	    "SELECT events, codes, mail FROM cv.expire_history($1)", SHAPE(CV_EXPIRE_HISTORY), 1},
};
/* clang-format on */

static PGconn *conn;
static char *conninfo;
static int prepared[CV_STMT__MAX];
static int unprepared;      /* cv_db_unprepared(): never PQprepare */
static int session_ending;  /* the server sent a FATAL message while we were idle */

const struct cv_db_statement *
cv_db_statement(enum cv_stmt stmt)
{
	return &statements[stmt];
}

int
cv_db_init(const char *info)
{
	free(conninfo);
	conninfo = strdup(info != NULL ? info : "");
	return conninfo == NULL ? -1 : 0;
}

void
cv_db_unprepared(void)
{
	unprepared = 1;
}

void
cv_db_close(void)
{
	if (conn != NULL)
		PQfinish(conn);
	conn = NULL;
	session_ending = 0;
	memset(prepared, 0, sizeof(prepared));
}

/*
 * Notices, without blocking, a server that has gone away while the
 * connection was idle, so that a statement that must not be repeated is not
 * sent into a dead connection.  A terminated backend first sends its FATAL
 * message (PQisBusy parses it, leaving notifications queued for the
 * mailer), and only the next read finds the end of the stream.
 */
static int
connection_alive(void)
{
	if (PQstatus(conn) != CONNECTION_OK || PQconsumeInput(conn) != 1)
		return 0;
	(void)PQisBusy(conn);
	return !session_ending && PQconsumeInput(conn) == 1 && PQstatus(conn) == CONNECTION_OK;
}

/* libpq's notices go to our log; a FATAL one means the backend is exiting. */
static void
on_notice(void *arg, const PGresult *res)
{
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);

	(void)arg;
	if (severity != NULL && strcmp(severity, "FATAL") == 0)
		session_ending = 1;
	cv_log_info("database: %s", PQresultErrorMessage(res));
}

PGconn *
cv_db_conn(void)
{
	const char *keys[] = {"connect_timeout", "application_name", "options", "dbname", NULL};
	const char *values[] = {"2", "contact-verify", "-c search_path=pg_catalog",
	                        conninfo != NULL ? conninfo : "", NULL};

	if (conn != NULL && connection_alive())
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
	PQsetNoticeReceiver(conn, on_notice, NULL);
	PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
	return conn;
}

/*
 * 1 when res failed with SQLSTATE 25006 (read_only_sql_transaction): the
 * server is a standby now (a failover demoted it, or a router still sends us
 * to it).  It refused before doing anything, so the statement may be sent
 * again, on a new connection, which finds the new primary.
 */
static int
read_only(const PGresult *res)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return state != NULL && strcmp(state, "25006") == 0;
}

/*
 * 1 when res failed because the connection is gone or useless.  After a
 * server shutdown or crash the backend's FATAL message (SQLSTATE 57P0x) can
 * arrive before libpq sees the socket close, so the status alone is not
 * enough; errors libpq makes itself carry no SQLSTATE.  A pooler (PgBouncer)
 * reports its own failures to reach a server as 08P01.
 */
static int
connection_lost(const PGresult *res)
{
	const char *state;

	if (res == NULL || PQstatus(conn) != CONNECTION_OK)
		return 1;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	return state == NULL || strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
	       read_only(res);
}

/*
 * 1 when the server ended the session with a FATAL shutdown or crash error
 * (SQLSTATE 57P01-57P03) while running our statement.  The backend stops at
 * such an interrupt before it commits (commit holds interrupts off, and one
 * arriving later is read while idle), so the statement took no effect and
 * may be sent again.  A bare end of stream proves nothing and is not retried.
 */
static int
server_aborted(const PGresult *res)
{
	static const char *const codes[] = {"57P01", "57P02", "57P03"};
	const char *state, *texts[2];
	size_t i, t;

	if (res != NULL && (state = PQresultErrorField(res, PG_DIAG_SQLSTATE)) != NULL) {
		for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
			if (strcmp(state, codes[i]) == 0)
				return 1;
		return 0;
	}
	/*
	 * When the socket closes right after the FATAL message, libpq rebuilds
	 * the result from its message text and the fields are gone; with
	 * PQERRORS_VERBOSE that text still reads "FATAL:  57P01: ...".
	 */
	texts[0] = res != NULL ? PQresultErrorMessage(res) : "";
	texts[1] = PQerrorMessage(conn);
	for (t = 0; t < 2; t++) {
		for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
			const char *at = strstr(texts[t], codes[i]);

			if (at != NULL && at - texts[t] >= 3 && strncmp(at - 3, ":  ", 3) == 0 &&
			    at[5] == ':')
				return 1;
		}
	}
	return 0;
}

/* Prepares stmt if needed and runs it.  *executed tells whether the
 * statement itself was sent (a failed PREPARE changed nothing). */
static PGresult *
exec_once(enum cv_stmt stmt, const char *const *params, int *executed)
{
	PGresult *res;

	*executed = 0;
	if (unprepared) {
		*executed = 1;
		return PQexecParams(conn, statements[stmt].sql, statements[stmt].nparams, NULL, params,
		                    NULL, NULL, 0);
	}
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
	int tries, executed, safe;

	for (tries = 0; tries < 2; tries++) {
		if (cv_db_conn() == NULL) {
			*err = CV_ERR_UNAVAILABLE;
			return NULL;
		}
		res = exec_once(stmt, params, &executed);
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			if (PQnfields(res) == statements[stmt].ncolumns)
				return res;
			/* The SQL answers other columns than the C side reads
			 * (tests/db/describe_statements.c keeps them together). */
			cv_log_error("statement %s answered %d columns, not %d",
			             statements[stmt].name, PQnfields(res),
			             statements[stmt].ncolumns);
			PQclear(res);
			*err = CV_ERR_INTERNAL;
			return NULL;
		}
		if (!connection_lost(res)) {
			cv_log_error("statement %s failed: %s", statements[stmt].name,
			             PQresultErrorMessage(res));
			PQclear(res);
			*err = CV_ERR_INTERNAL;
			return NULL;
		}
		cv_log_error("statement %s: connection lost: %s", statements[stmt].name,
		             PQerrorMessage(conn));
		safe = !executed || statements[stmt].retry_safe || server_aborted(res) ||
		       read_only(res);
		PQclear(res);
		cv_db_close();
		if (!safe)
			break;
	}
	*err = CV_ERR_UNAVAILABLE;
	return NULL;
}

const char *
cv_db_value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

enum cv_err
cv_db_result(const PGresult *res, int result_col)
{
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, result_col))
		return CV_ERR_INTERNAL;
	return cv_err_from_code(atoi(PQgetvalue(res, 0, result_col)));
}

enum cv_err
cv_db_result_wait(const PGresult *res, int result_col, int wait_col, int *retry_after)
{
	enum cv_err err = cv_db_result(res, result_col);

	if (err == CV_ERR_TOO_MANY_ATTEMPTS && !PQgetisnull(res, 0, wait_col))
		*retry_after = atoi(PQgetvalue(res, 0, wait_col));
	return err;
}
