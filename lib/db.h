/*
 * db.h - the process's one PostgreSQL connection and the table of every SQL
 * statement the programs run, with the names of their parameters and
 * columns.  Statements are prepared on first use and again after a
 * reconnect; a lost connection is re-opened on the next call.
 * A primitive, of lib/'s lower floor (Makefile.am lists both floors): it
 * knows no request and includes no handler's header.
 */
#ifndef CV_DB_H
#define CV_DB_H

#include <libpq-fe.h>

#include "error.h"

/*
 * The contract of each statement with its SQL, by name: the parameters it
 * takes ($1, $2, ...) and the columns it answers, in order, as X-macro lists
 * CV_<NAME>_PARAMS(X, p) and CV_<NAME>_COLUMNS(X, p), which call X(p, ITEM)
 * for each item; a column's ITEM is its SQL name in capitals.
 * CV_DB_CONTRACT(cv_<name>, CV_<NAME>) makes of them
 *   enum cv_<name>_param { CV_<NAME>_PARAM_<ITEM>, ..., CV_<NAME>_PARAM__MAX }
 *   enum cv_<name>_col   { CV_<NAME>_COL_<ITEM>, ...,   CV_<NAME>_COL__MAX }
 * and the C side passes parameters and reads columns by these names only:
 *   const char *params[CV_SEND_PARAM__MAX];
 *   params[CV_SEND_PARAM_EMAIL] = email;
 *   PQgetvalue(res, 0, CV_SEND_COL_RETRY_AFTER)
 * lib/db.c takes each statement's parameter count and column names from the
 * same lists, cv_db_exec refuses a result of another width, and
 * tests/db/describe_statements.c prepares every statement against a migrated
 * database and compares what PQdescribePrepared says with the lists.  A list
 * whose statements share their first columns begins with a shared list, so
 * that one reader serves them all (CV_PORTAL_COLUMNS, CV_CONTACT_TOKEN_COLUMNS,
 * whose enums CV_DB_COLUMN_ENUM makes).  cvctl's statements (src/cvctl.h)
 * follow the same scheme.
 */
/* clang-format off */
#define CV_DB_ENUMERATOR(p, item) p##item,
#define CV_DB_NAME(p, item)       #item,
#define CV_DB_PARAM_ENUM(tag, NAME)                                                               \
	enum tag##_param { NAME##_PARAMS(CV_DB_ENUMERATOR, NAME##_PARAM_) NAME##_PARAM__MAX };
#define CV_DB_COLUMN_ENUM(tag, NAME)                                                              \
	enum tag##_col { NAME##_COLUMNS(CV_DB_ENUMERATOR, NAME##_COL_) NAME##_COL__MAX };
#define CV_DB_CONTRACT(tag, NAME) CV_DB_PARAM_ENUM(tag, NAME) CV_DB_COLUMN_ENUM(tag, NAME)

/* A result code of lib/errors.def's table and, for CV_ERR_TOO_MANY_ATTEMPTS,
 * the seconds to wait: what most of the functions answer. */
#define CV_RESULT_COLUMNS(X, p) X(p, RESULT) X(p, RETRY_AFTER)

/* cv.api_send */
#define CV_SEND_PARAMS(X, p)                                                                      \
	X(p, KEY_HASH) X(p, EMAIL) X(p, SEALED) X(p, CODE_HASHES) X(p, LINK_HASH) X(p, PUBLIC_URL) \
	X(p, REQUEST_ID) X(p, CLIENT_ADDR)
#define CV_SEND_COLUMNS(X, p) CV_RESULT_COLUMNS(X, p)
CV_DB_CONTRACT(cv_send, CV_SEND)

/* cv.api_verify */
#define CV_VERIFY_PARAMS(X, p)                                                                    \
	X(p, KEY_HASH) X(p, EMAIL) X(p, CODE_HASH) X(p, CLIENT_ADDR) X(p, REQUEST_ID)
#define CV_VERIFY_COLUMNS(X, p) X(p, RESULT) X(p, CONTACT_UUID) X(p, RETRY_AFTER)
CV_DB_CONTRACT(cv_verify, CV_VERIFY)

/* What cv_contact_token_reply (lib/verification.h) signs: the first columns
 * of auth-token and of the login-ticket exchange. */
#define CV_CONTACT_TOKEN_COLUMNS(X, p)                                                            \
	X(p, RESULT) X(p, ACCOUNT_UUID) X(p, TOKEN_SECRET) X(p, TOKEN_TTL) X(p, CONTACT_UUID)      \
	X(p, EMAIL) X(p, EMAIL_VERIFIED) X(p, NOW_EPOCH) X(p, RETRY_AFTER) X(p, KEY_KID)          \
	X(p, KEY_ALG) X(p, KEY_SEALED)
CV_DB_COLUMN_ENUM(cv_contact_token, CV_CONTACT_TOKEN)

/* cv.api_auth_token */
#define CV_AUTH_TOKEN_PARAMS(X, p)                                                                \
	X(p, KEY_HASH) X(p, CONTACT_UUID) X(p, REQUEST_ID) X(p, CLIENT_ADDR)
#define CV_AUTH_TOKEN_COLUMNS(X, p) CV_CONTACT_TOKEN_COLUMNS(X, p) X(p, TOKEN_FORMAT)
CV_DB_CONTRACT(cv_auth_token, CV_AUTH_TOKEN)

/* cv.authenticate_from */
#define CV_AUTHENTICATE_PARAMS(X, p)  X(p, KEY_HASH) X(p, CLIENT_ADDR)
#define CV_AUTHENTICATE_COLUMNS(X, p) CV_RESULT_COLUMNS(X, p)
CV_DB_CONTRACT(cv_authenticate, CV_AUTHENTICATE)

/* SELECT 1 */
#define CV_HEALTH_PARAMS(X, p)
#define CV_HEALTH_COLUMNS(X, p) X(p, OK)
CV_DB_CONTRACT(cv_health, CV_HEALTH)

/* cv.oauth_client */
#define CV_OAUTH_CLIENT_PARAMS(X, p) X(p, CLIENT_ID) X(p, CLIENT_ADDR)
#define CV_OAUTH_CLIENT_COLUMNS(X, p)                                                             \
	X(p, CLIENT_FOUND) X(p, SECRET_HASH) X(p, TOKEN_TTL) X(p, USABLE) X(p, BLOCKED_FOR)        \
	X(p, NOW_EPOCH)
CV_DB_CONTRACT(cv_oauth_client, CV_OAUTH_CLIENT)

/* cv.auth_failed: the seconds to wait, NULL when the failure was counted */
#define CV_OAUTH_FAILED_PARAMS(X, p)  X(p, CLIENT_ADDR)
#define CV_OAUTH_FAILED_COLUMNS(X, p) X(p, RETRY_AFTER)
CV_DB_CONTRACT(cv_oauth_failed, CV_OAUTH_FAILED)

/* cv.uo_tenant */
#define CV_UO_TENANT_PARAMS(X, p) X(p, CLIENT_CODE) X(p, PAPER_CODE) X(p, CLIENT_GROUP_CODE)
#define CV_UO_TENANT_COLUMNS(X, p)                                                                \
	X(p, TENANT_ID) X(p, JWT_SECRET) X(p, JWT_ISSUER) X(p, JWT_AUDIENCE) X(p, RETURN_ORIGINS)  \
	X(p, ACCOUNT_ACTIVE) X(p, NOW_EPOCH)
CV_DB_CONTRACT(cv_uo_tenant, CV_UO_TENANT)

/* cv.uo_send */
#define CV_UO_SEND_PARAMS(X, p)                                                                   \
	X(p, TENANT_ID) X(p, EMAIL) X(p, RETURN_URL) X(p, SEALED) X(p, CODE_HASHES)                \
	X(p, LINK_HASH) X(p, PUBLIC_URL) X(p, SOURCE_SYSTEM) X(p, REQUEST_ID)
#define CV_UO_SEND_COLUMNS(X, p) CV_RESULT_COLUMNS(X, p)
CV_DB_CONTRACT(cv_uo_send, CV_UO_SEND)

/* cv.uo_verify */
#define CV_UO_VERIFY_PARAMS(X, p)                                                                 \
	X(p, TENANT_ID) X(p, EMAIL) X(p, CODE_HASH) X(p, CLIENT_ADDR) X(p, SOURCE_SYSTEM)          \
	X(p, REQUEST_ID)
#define CV_UO_VERIFY_COLUMNS(X, p) CV_RESULT_COLUMNS(X, p)
CV_DB_CONTRACT(cv_uo_verify, CV_UO_VERIFY)

/* cv.uo_link_state */
#define CV_UO_LINK_STATE_PARAMS(X, p)  X(p, LINK_HASH)
#define CV_UO_LINK_STATE_COLUMNS(X, p) X(p, STATE) X(p, APP_NAME)
CV_DB_CONTRACT(cv_uo_link_state, CV_UO_LINK_STATE)

/* cv.uo_link_consume */
#define CV_UO_LINK_CONSUME_PARAMS(X, p)  X(p, LINK_HASH) X(p, REQUEST_ID)
#define CV_UO_LINK_CONSUME_COLUMNS(X, p) X(p, STATE) X(p, RETURN_URL) X(p, APP_NAME)
CV_DB_CONTRACT(cv_uo_link_consume, CV_UO_LINK_CONSUME)

/* cv.outbox_claim (src/mailer.c) */
#define CV_OUTBOX_CLAIM_PARAMS(X, p) X(p, LIMIT) X(p, LEASE_SECONDS)
#define CV_OUTBOX_CLAIM_COLUMNS(X, p)                                                             \
	X(p, ID) X(p, TO_EMAIL) X(p, SEALED_HEX) X(p, LINK_BASE) X(p, APP_NAME) X(p, SENDER_NAME)  \
	X(p, SENDER_EMAIL) X(p, LOCALE) X(p, PURPOSE) X(p, MESSAGE_ID) X(p, EXPIRES_IN)            \
	X(p, ATTEMPTS) X(p, CREATED_EPOCH) X(p, CODE_LENGTH) X(p, SUPERSEDED)
CV_DB_CONTRACT(cv_outbox_claim, CV_OUTBOX_CLAIM)

/* cv.outbox_record: the row's status after it */
#define CV_OUTBOX_RECORD_PARAMS(X, p)                                                             \
	X(p, OUTBOX_ID) X(p, OUTCOME) X(p, ERROR) X(p, RETRY_SECONDS)
#define CV_OUTBOX_RECORD_COLUMNS(X, p) X(p, STATUS)
CV_DB_CONTRACT(cv_outbox_record, CV_OUTBOX_RECORD)

/* cv.outbox_template */
#define CV_OUTBOX_TEMPLATE_PARAMS(X, p) X(p, OUTBOX_ID)
#define CV_OUTBOX_TEMPLATE_COLUMNS(X, p)                                                          \
	X(p, LOCALE) X(p, TEMPLATE_LOCALE) X(p, SUBJECT) X(p, TEXT_BODY) X(p, HTML_BODY)
CV_DB_CONTRACT(cv_outbox_template, CV_OUTBOX_TEMPLATE)

/* The first columns of every portal statement: the result and what it says
 * about the app (struct cv_portal_app, lib/portal.h). */
#define CV_PORTAL_COLUMNS(X, p)                                                                   \
	CV_RESULT_COLUMNS(X, p) X(p, APP_NAME) X(p, BRAND_COLOR) X(p, FRAME_ANCESTORS)             \
	X(p, ALLOWED_ORIGINS) X(p, ALLOW_CREDENTIALS) X(p, PORTAL_URL) X(p, CODE_LENGTH)           \
	X(p, RESEND_COOLDOWN)
CV_DB_COLUMN_ENUM(cv_portal, CV_PORTAL)

/* cv.portal_app; LINK_STATE is the link's state, or 'inactive' for an app
 * whose account is disabled */
#define CV_PORTAL_APP_PARAMS(X, p)  X(p, PUBLIC_ID) X(p, ORIGIN) X(p, LINK_HASH)
#define CV_PORTAL_APP_COLUMNS(X, p) CV_PORTAL_COLUMNS(X, p) X(p, LINK_STATE)
CV_DB_CONTRACT(cv_portal_app, CV_PORTAL_APP)

/* cv.portal_send */
#define CV_PORTAL_SEND_PARAMS(X, p)                                                               \
	X(p, PUBLIC_ID) X(p, EMAIL) X(p, ORIGIN) X(p, CLIENT_ADDR) X(p, LANG) X(p, SEALED)         \
	X(p, CODE_HASHES) X(p, LINK_HASH) X(p, PUBLIC_URL) X(p, REQUEST_ID)
#define CV_PORTAL_SEND_COLUMNS(X, p) CV_PORTAL_COLUMNS(X, p)
CV_DB_CONTRACT(cv_portal_send, CV_PORTAL_SEND)

/* cv.portal_verify; TICKET_TTL: seconds the ticket lives; LINK_STATE: why a
 * link was refused */
#define CV_PORTAL_VERIFY_PARAMS(X, p)                                                             \
	X(p, PUBLIC_ID) X(p, EMAIL) X(p, CODE_HASH) X(p, LINK_HASH) X(p, ORIGIN) X(p, CLIENT_ADDR) \
	X(p, TICKET_HASH) X(p, REQUEST_ID)
#define CV_PORTAL_VERIFY_COLUMNS(X, p) CV_PORTAL_COLUMNS(X, p) X(p, TICKET_TTL) X(p, LINK_STATE)
CV_DB_CONTRACT(cv_portal_verify, CV_PORTAL_VERIFY)

/* cv.api_login_ticket */
#define CV_LOGIN_TICKET_PARAMS(X, p)                                                              \
	X(p, KEY_HASH) X(p, TICKET_HASH) X(p, REQUEST_ID) X(p, CLIENT_ADDR)
#define CV_LOGIN_TICKET_COLUMNS(X, p) CV_CONTACT_TOKEN_COLUMNS(X, p)
CV_DB_CONTRACT(cv_login_ticket, CV_LOGIN_TICKET)

/* cv.housekeeping: how many rate-limit counters and login tickets it deleted */
#define CV_HOUSEKEEPING_PARAMS(X, p)
#define CV_HOUSEKEEPING_COLUMNS(X, p) X(p, COUNTERS) X(p, TICKETS)
CV_DB_CONTRACT(cv_housekeeping, CV_HOUSEKEEPING)

/* cv.account_jwks */
#define CV_ACCOUNT_JWKS_PARAMS(X, p)  X(p, ACCOUNT_UUID)
#define CV_ACCOUNT_JWKS_COLUMNS(X, p) X(p, FOUND) X(p, JWKS)
CV_DB_CONTRACT(cv_account_jwks, CV_ACCOUNT_JWKS)

/* cv.api_erase_contact */
#define CV_ERASE_CONTACT_PARAMS(X, p)                                                             \
	X(p, KEY_HASH) X(p, CONTACT_UUID) X(p, REQUEST_ID) X(p, CLIENT_ADDR)
#define CV_ERASE_CONTACT_COLUMNS(X, p) X(p, RESULT) X(p, CONTACT_UUID) X(p, RETRY_AFTER)
CV_DB_CONTRACT(cv_erase_contact, CV_ERASE_CONTACT)

/* cv.outbox_hold (src/mailer.c): false when the row is gone (erased) */
#define CV_OUTBOX_HOLD_PARAMS(X, p) X(p, OUTBOX_ID)
#define CV_OUTBOX_HOLD_COLUMNS(X, p) X(p, HELD)
CV_DB_CONTRACT(cv_outbox_hold, CV_OUTBOX_HOLD)

/* cv.expire_history: how many events, codes and mails one batch deleted */
#define CV_EXPIRE_HISTORY_PARAMS(X, p) X(p, BATCH)
#define CV_EXPIRE_HISTORY_COLUMNS(X, p) X(p, EVENTS) X(p, CODES) X(p, MAIL)
CV_DB_CONTRACT(cv_expire_history, CV_EXPIRE_HISTORY)
/* clang-format on */

enum cv_stmt {
	CV_STMT_SEND,
	CV_STMT_VERIFY,
	CV_STMT_AUTH_TOKEN,
	CV_STMT_AUTHENTICATE,
	CV_STMT_HEALTH,
	CV_STMT_OAUTH_CLIENT,
	CV_STMT_OAUTH_FAILED,
	CV_STMT_UO_TENANT,
	CV_STMT_UO_SEND,
	CV_STMT_UO_VERIFY,
	CV_STMT_UO_LINK_STATE,
	CV_STMT_UO_LINK_CONSUME,
	CV_STMT_OUTBOX_CLAIM,
	CV_STMT_OUTBOX_RECORD,
	CV_STMT_OUTBOX_TEMPLATE,
	CV_STMT_PORTAL_APP,
	CV_STMT_PORTAL_SEND,
	CV_STMT_PORTAL_VERIFY,
	CV_STMT_LOGIN_TICKET,
	CV_STMT_HOUSEKEEPING,
	CV_STMT_ACCOUNT_JWKS,
	CV_STMT_ERASE_CONTACT,
	CV_STMT_OUTBOX_HOLD,
	CV_STMT_EXPIRE_HISTORY,
	CV_STMT__MAX
};

/* One row of the table of statements (lib/db.c). */
struct cv_db_statement {
	const char *name; /* of the prepared statement */
	const char *sql;
	int nparams;
	int ncolumns;
	const char *const *columns; /* ncolumns names, in capitals (CV_<NAME>_COLUMNS) */
	int retry_safe;             /* repeating it after a lost connection is harmless */
};

/* The statement stmt (< CV_STMT__MAX) of the table: for
 * tests/db/describe_statements.c.  Cannot fail. */
const struct cv_db_statement *cv_db_statement(enum cv_stmt stmt);

/* Remembers the connection string (a copy) for every later connect.
 * Returns 0 or -1 (out of memory).  Does not connect. */
int cv_db_init(const char *conninfo);

/*
 * Runs prepared statement stmt with text parameters (NULL = SQL NULL; an
 * array of the statement's CV_<NAME>_PARAM__MAX) and returns its result when
 * it has status PGRES_TUPLES_OK and the statement's CV_<NAME>_COL__MAX
 * columns; the caller PQclears it.  On failure returns NULL with *err =
 * CV_ERR_UNAVAILABLE (no database) or CV_ERR_INTERNAL, having logged the
 * server's message.  A statement marked safe to repeat is retried once on a
 * fresh connection when the old one turns out to be dead.
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

/* The text of column col of row (NULL when it is SQL NULL), which belongs to
 * res.  Cannot fail. */
const char *cv_db_value(const PGresult *res, int row, int col);

/*
 * The error of the numeric result in column result_col of a one-row result
 * (a code of lib/errors.def; CV_ERR_INTERNAL when there is no row or it is
 * NULL).
 */
enum cv_err cv_db_result(const PGresult *res, int result_col);

/*
 * cv_db_result, and for CV_ERR_TOO_MANY_ATTEMPTS the seconds to wait from
 * column wait_col (when not NULL) into *retry_after.
 */
enum cv_err cv_db_result_wait(const PGresult *res, int result_col, int wait_col, int *retry_after);

#endif
