/*
 * db.h - the process's one PostgreSQL connection and the table of every SQL
 * statement the programs run.  Statements are prepared on first use and
 * again after a reconnect; a lost connection is re-opened on the next call.
 */
#ifndef CV_DB_H
#define CV_DB_H

#include <libpq-fe.h>

#include "error.h"

enum cv_stmt {
	CV_STMT_SEND,            /* cv.api_send(...) */
	CV_STMT_VERIFY,          /* cv.api_verify(...) */
	CV_STMT_AUTH_TOKEN,      /* cv.api_auth_token(...) */
	CV_STMT_AUTHENTICATE,    /* cv.authenticate_from(key_hash, addr) */
	CV_STMT_HEALTH,          /* SELECT 1 */
	CV_STMT_OAUTH_CLIENT,    /* cv.oauth_client(client_id, ip) */
	CV_STMT_OAUTH_FAILED,    /* cv.auth_failed(addr) */
	CV_STMT_UO_TENANT,       /* cv.uo_tenant(client, paper, group) */
	CV_STMT_UO_SEND,         /* cv.uo_send(...) */
	CV_STMT_UO_VERIFY,       /* cv.uo_verify(...) */
	CV_STMT_UO_LINK_STATE,   /* cv.uo_link_state(link_hash) */
	CV_STMT_UO_LINK_CONSUME, /* cv.uo_link_consume(link_hash, request) */
	CV_STMT_OUTBOX_CLAIM,    /* cv.outbox_claim(limit, lease_seconds) */
	CV_STMT_OUTBOX_RECORD,   /* cv.outbox_record(id, outcome, error, retry_seconds) */
	CV_STMT_OUTBOX_TEMPLATE, /* cv.outbox_template(id) */
	CV_STMT_PORTAL_APP,      /* cv.portal_app(public_id, origin, link_hash) */
	CV_STMT_PORTAL_SEND,     /* cv.portal_send(...) */
	CV_STMT_PORTAL_VERIFY,   /* cv.portal_verify(...) */
	CV_STMT_LOGIN_TICKET,    /* cv.api_login_ticket(key_hash, ticket_hash, request, ip) */
	CV_STMT_HOUSEKEEPING,    /* cv.housekeeping() */
	CV_STMT__MAX
};

/* Remembers the connection string (a copy) for every later connect.
 * Returns 0 or -1 (out of memory).  Does not connect. */
int cv_db_init(const char *conninfo);

/*
 * Runs prepared statement stmt with text parameters (NULL = SQL NULL) and
 * returns its result when it has status PGRES_TUPLES_OK; the caller PQclears
 * it.  On failure returns NULL with *err = CV_ERR_UNAVAILABLE (no database)
 * or CV_ERR_INTERNAL, having logged the server's message.  A statement
 * marked safe to repeat is retried once on a fresh connection when the old
 * one turns out to be dead.
 */
PGresult *cv_db_exec(enum cv_stmt stmt, const char *const *params, enum cv_err *err);

/* From now on statements are sent unprepared (PQexecParams, one round
 * trip): for a process that serves one request (plain CGI), where a
 * prepared statement is never used twice. */
void cv_db_unprepared(void);

/* The open connection, connecting first if needed; NULL when the server
 * cannot be reached.  For the mailer's LISTEN. */
PGconn *cv_db_conn(void);

/* Closes the connection (a later call reconnects). */
void cv_db_close(void);

#endif
