/*
 * cvctl.h - the private interface of cvctl, the administrator's command line
 * tool: the context every command gets, the table of its SQL statements
 * (cvctl_db.c), argument parsing and validation (cvctl_args.c), output
 * (cvctl.c), and one entry point per command (cvctl_<group>.c).
 *
 * A command parses and validates all of its arguments before it touches the
 * database, then runs in one transaction that main() commits.  Everything a
 * command prints goes to memory first and reaches stdout only after the
 * commit succeeded, so a secret is never shown for a row that was not
 * written, and a failed command prints exactly one line: its error.
 */
#ifndef CVCTL_H
#define CVCTL_H

#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "conf.h"
#include "db.h"

/* Exit statuses (cvctl(8) EXIT STATUS). */
#define CVCTL_OK    0
#define CVCTL_FAIL  1   /* the command could not be done: unknown account, duplicate, database */
#define CVCTL_USAGE 2   /* unknown command or option, missing or malformed argument */

/*
 * Every SQL text of cvctl is in cvctl_db.c's table; here is its contract, by
 * name, in the scheme of lib/db.h: ST_<NAME>_PARAMS and ST_<NAME>_COLUMNS
 * list the parameters and columns of statement ST_<NAME>, and
 * CV_DB_CONTRACT(cvctl_<name>, ST_<NAME>) makes the enums
 * ST_<NAME>_PARAM_<ITEM> and ST_<NAME>_COL_<ITEM> of them.  A table that a
 * command prints is printed under its columns' names.
 */

/* The one parameter of a list that may be narrowed to one account (NULL:
 * every account), which cvctl_list_by_account passes. */
/* clang-format off */
#define ST_BY_ACCOUNT_PARAMS(X, p) X(p, ACCOUNT_ID)
CV_DB_PARAM_ENUM(cvctl_by_account, ST_BY_ACCOUNT)

#define ST_BEGIN_PARAMS(X, p)
#define ST_BEGIN_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_begin, ST_BEGIN)
#define ST_COMMIT_PARAMS(X, p)
#define ST_COMMIT_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_commit, ST_COMMIT)
#define ST_ROLLBACK_PARAMS(X, p)
#define ST_ROLLBACK_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_rollback, ST_ROLLBACK)

#define ST_ACCOUNT_ID_PARAMS(X, p)  X(p, ACCOUNT_UUID)
#define ST_ACCOUNT_ID_COLUMNS(X, p) X(p, ID)
CV_DB_CONTRACT(cvctl_account_id, ST_ACCOUNT_ID)
#define ST_ACCOUNT_ADD_PARAMS(X, p)  X(p, NAME) X(p, TOKEN_SECRET)
#define ST_ACCOUNT_ADD_COLUMNS(X, p) X(p, ID) X(p, UUID)
CV_DB_CONTRACT(cvctl_account_add, ST_ACCOUNT_ADD)
#define ST_ACCOUNT_SET_PARAMS(X, p) X(p, ACCOUNT_ID) X(p, NAME) X(p, TOKEN_TTL) X(p, AUTH_TOKEN_FORMAT) \
	X(p, EVENTS_RETENTION) X(p, CODES_RETENTION) X(p, MAIL_RETENTION)
#define ST_ACCOUNT_SET_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_account_set, ST_ACCOUNT_SET)
#define ST_ACCOUNT_STATUS_PARAMS(X, p) X(p, ACCOUNT_ID) X(p, STATUS)
#define ST_ACCOUNT_STATUS_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_account_status, ST_ACCOUNT_STATUS)
#define ST_KEY_ADD_PARAMS(X, p) X(p, ACCOUNT_ID) X(p, KID) X(p, ALG) X(p, SEALED) X(p, PUBLIC_JWK)
#define ST_KEY_ADD_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_key_add, ST_KEY_ADD)
#define ST_KEY_LIST_PARAMS(X, p) ST_BY_ACCOUNT_PARAMS(X, p)
#define ST_KEY_LIST_COLUMNS(X, p)                                                                 \
	X(p, KID) X(p, ALG) X(p, STATE) X(p, CREATED) X(p, ACTIVATED) X(p, RETIRED)
CV_DB_CONTRACT(cvctl_key_list, ST_KEY_LIST)
#define ST_KEY_ACTIVATE_PARAMS(X, p)  X(p, ACCOUNT_ID) X(p, KID)
#define ST_KEY_ACTIVATE_COLUMNS(X, p) X(p, RESULT)
CV_DB_CONTRACT(cvctl_key_activate, ST_KEY_ACTIVATE)
#define ST_KEY_RETIRE_PARAMS(X, p)  X(p, ACCOUNT_ID) X(p, KID) X(p, FORCE)
#define ST_KEY_RETIRE_COLUMNS(X, p) X(p, RESULT) X(p, VALID_UNTIL)
CV_DB_CONTRACT(cvctl_key_retire, ST_KEY_RETIRE)
#define ST_ACCOUNT_LIST_PARAMS(X, p)
#define ST_ACCOUNT_LIST_COLUMNS(X, p)                                                             \
	X(p, UUID) X(p, NAME) X(p, STATUS) X(p, TOKEN_TTL) X(p, AUTH_TOKEN_FORMAT) X(p, SECRET)    \
	X(p, CONTACTS) X(p, CREATED)
CV_DB_CONTRACT(cvctl_account_list, ST_ACCOUNT_LIST)

#define ST_API_KEY_ADD_PARAMS(X, p)  X(p, ACCOUNT_ID) X(p, KEY_HASH) X(p, NAME) X(p, EXPIRES_IN)
#define ST_API_KEY_ADD_COLUMNS(X, p) X(p, ID)
CV_DB_CONTRACT(cvctl_api_key_add, ST_API_KEY_ADD)
#define ST_API_KEY_LIST_PARAMS(X, p) ST_BY_ACCOUNT_PARAMS(X, p)
#define ST_API_KEY_LIST_COLUMNS(X, p)                                                             \
	X(p, ID) X(p, NAME) X(p, STATE) X(p, CREATED) X(p, EXPIRES) X(p, REVOKED)
CV_DB_CONTRACT(cvctl_api_key_list, ST_API_KEY_LIST)
#define ST_API_KEY_REVOKE_PARAMS(X, p)  X(p, KEY_ID)
#define ST_API_KEY_REVOKE_COLUMNS(X, p) X(p, ID)
CV_DB_CONTRACT(cvctl_api_key_revoke, ST_API_KEY_REVOKE)

#define ST_OAUTH_CLIENT_ADD_PARAMS(X, p)  X(p, ACCOUNT_ID) X(p, NAME) X(p, SECRET_HASH)
#define ST_OAUTH_CLIENT_ADD_COLUMNS(X, p) X(p, ID)
CV_DB_CONTRACT(cvctl_oauth_client_add, ST_OAUTH_CLIENT_ADD)
#define ST_OAUTH_CLIENT_TTL_PARAMS(X, p) X(p, CLIENT_ID) X(p, TOKEN_TTL)
#define ST_OAUTH_CLIENT_TTL_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_oauth_client_ttl, ST_OAUTH_CLIENT_TTL)
#define ST_OAUTH_CLIENT_LIST_PARAMS(X, p) ST_BY_ACCOUNT_PARAMS(X, p)
#define ST_OAUTH_CLIENT_LIST_COLUMNS(X, p)                                                        \
	X(p, CLIENT_ID) X(p, ACCOUNT) X(p, NAME) X(p, TOKEN_TTL) X(p, STATE) X(p, CREATED)         \
	X(p, REVOKED)
CV_DB_CONTRACT(cvctl_oauth_client_list, ST_OAUTH_CLIENT_LIST)
#define ST_OAUTH_CLIENT_REVOKE_PARAMS(X, p)  X(p, CLIENT_ID)
#define ST_OAUTH_CLIENT_REVOKE_COLUMNS(X, p) X(p, ID)
CV_DB_CONTRACT(cvctl_oauth_client_revoke, ST_OAUTH_CLIENT_REVOKE)

#define ST_TENANT_ADD_PARAMS(X, p)                                                                \
	X(p, ACCOUNT_ID) X(p, CLIENT_CODE) X(p, PAPER_CODE) X(p, CLIENT_GROUP_CODE)                \
	X(p, JWT_SECRET) X(p, JWT_ISSUER) X(p, JWT_AUDIENCE) X(p, RETURN_ORIGINS)
#define ST_TENANT_ADD_COLUMNS(X, p) X(p, ID)
CV_DB_CONTRACT(cvctl_tenant_add, ST_TENANT_ADD)
#define ST_TENANT_LIST_PARAMS(X, p) ST_BY_ACCOUNT_PARAMS(X, p)
#define ST_TENANT_LIST_COLUMNS(X, p)                                                              \
	X(p, ID) X(p, ACCOUNT) X(p, CLIENT_CODE) X(p, PAPER_CODE) X(p, CLIENT_GROUP_CODE)          \
	X(p, ISSUER) X(p, AUDIENCE) X(p, RETURN_ORIGINS) X(p, CREATED)
CV_DB_CONTRACT(cvctl_tenant_list, ST_TENANT_LIST)

#define ST_TEMPLATE_SET_PARAMS(X, p)                                                              \
	X(p, ACCOUNT_ID) X(p, PURPOSE) X(p, LOCALE) X(p, SUBJECT) X(p, TEXT_BODY) X(p, HTML_BODY)
#define ST_TEMPLATE_SET_COLUMNS(X, p) X(p, OUTCOME)
CV_DB_CONTRACT(cvctl_template_set, ST_TEMPLATE_SET)
#define ST_TEMPLATE_SHOW_PARAMS(X, p) X(p, ACCOUNT_ID) X(p, PURPOSE) X(p, LOCALE)
#define ST_TEMPLATE_SHOW_COLUMNS(X, p)                                                            \
	X(p, LOCALE) X(p, SUBJECT) X(p, TEXT_BODY) X(p, HTML_BODY) X(p, UPDATED)
CV_DB_CONTRACT(cvctl_template_show, ST_TEMPLATE_SHOW)
#define ST_TEMPLATE_LIST_PARAMS(X, p) ST_BY_ACCOUNT_PARAMS(X, p)
#define ST_TEMPLATE_LIST_COLUMNS(X, p)                                                            \
	X(p, PURPOSE) X(p, LOCALE) X(p, SUBJECT) X(p, CREATED) X(p, UPDATED)
CV_DB_CONTRACT(cvctl_template_list, ST_TEMPLATE_LIST)
#define ST_TEMPLATE_DELETE_PARAMS(X, p)  X(p, ACCOUNT_ID) X(p, PURPOSE) X(p, LOCALE)
#define ST_TEMPLATE_DELETE_COLUMNS(X, p) X(p, ID)
CV_DB_CONTRACT(cvctl_template_delete, ST_TEMPLATE_DELETE)

#define ST_USER_APP_ADD_PARAMS(X, p)  X(p, ACCOUNT_ID) X(p, NAME)
#define ST_USER_APP_ADD_COLUMNS(X, p) X(p, ID)
CV_DB_CONTRACT(cvctl_user_app_add, ST_USER_APP_ADD)
#define ST_USER_APP_SET_PARAMS(X, p)                                                              \
	X(p, ACCOUNT_ID) X(p, NAME) X(p, PORTAL_URL) X(p, SENDER_NAME) X(p, SENDER_EMAIL)          \
	X(p, CODE_LENGTH) X(p, LOGIN_TTL) X(p, VERIFY_TTL) X(p, RESEND_COOLDOWN)
#define ST_USER_APP_SET_COLUMNS(X, p) X(p, ID)
CV_DB_CONTRACT(cvctl_user_app_set, ST_USER_APP_SET)
#define ST_USER_APP_LIST_PARAMS(X, p) ST_BY_ACCOUNT_PARAMS(X, p)
#define ST_USER_APP_LIST_COLUMNS(X, p)                                                            \
	X(p, ACCOUNT) X(p, NAME) X(p, PORTAL_URL) X(p, SENDER_NAME) X(p, SENDER_EMAIL)             \
	X(p, CODE_LENGTH) X(p, LOGIN_TTL) X(p, VERIFY_TTL) X(p, RESEND_COOLDOWN) X(p, CREATED)
CV_DB_CONTRACT(cvctl_user_app_list, ST_USER_APP_LIST)
#define ST_USER_APP_PORTAL_PARAMS(X, p)                                                           \
	X(p, ACCOUNT_ID) X(p, ALLOWED_ORIGINS) X(p, FRAME_ANCESTORS) X(p, BRAND_COLOR)             \
	X(p, PORTAL_URL) X(p, TICKET_TTL) X(p, ALLOW_CREDENTIALS)
#define ST_USER_APP_PORTAL_COLUMNS(X, p)                                                          \
	X(p, PUBLIC_ID) X(p, ORIGINS) X(p, FRAME_ANCESTORS) X(p, BRAND_COLOR) X(p, PORTAL_URL)     \
	X(p, TICKET_TTL) X(p, ALLOW_CREDENTIALS)
CV_DB_CONTRACT(cvctl_user_app_portal, ST_USER_APP_PORTAL)

#define ST_CONTACT_ADD_PARAMS(X, p)  X(p, ACCOUNT_ID) X(p, EMAIL) X(p, LOCALE)
#define ST_CONTACT_ADD_COLUMNS(X, p) X(p, UUID)
CV_DB_CONTRACT(cvctl_contact_add, ST_CONTACT_ADD)
#define ST_CONTACT_LIST_PARAMS(X, p) ST_BY_ACCOUNT_PARAMS(X, p)
#define ST_CONTACT_LIST_COLUMNS(X, p)                                                             \
	X(p, UUID) X(p, EMAIL) X(p, VERIFIED) X(p, STATUS) X(p, LOCALE) X(p, CREATED)
CV_DB_CONTRACT(cvctl_contact_list, ST_CONTACT_LIST)
/* Parallel arrays (SQL array text) of line numbers, addresses and locales;
 * answers the lines whose address the account already has. */
#define ST_CONTACT_IMPORT_PARAMS(X, p)  X(p, ACCOUNT_ID) X(p, LINES) X(p, EMAILS) X(p, LOCALES)
#define ST_CONTACT_IMPORT_COLUMNS(X, p) X(p, LINE)
CV_DB_CONTRACT(cvctl_contact_import, ST_CONTACT_IMPORT)
/* The statements of one contact, by uuid or by email when UUID is NULL:
 * what to print, NULL when the account has no such contact.  delete
 * (cv.erase_contact): "erased=<uuid>"; export: cv.export_contact's JSON. */
#define ST_CONTACT_ONE_PARAMS(X, p)  X(p, ACCOUNT_ID) X(p, UUID) X(p, EMAIL)
#define ST_CONTACT_ONE_COLUMNS(X, p) X(p, OUTPUT)
CV_DB_CONTRACT(cvctl_contact_one, ST_CONTACT_ONE)

#define ST_EVENTS_PARAMS(X, p) X(p, ACCOUNT_ID) X(p, EMAIL) X(p, LIMIT)
#define ST_EVENTS_COLUMNS(X, p)                                                                   \
	X(p, TIME) X(p, EVENT) X(p, EVENT_ID) X(p, ACCOUNT) X(p, EMAIL) X(p, SOURCE)               \
	X(p, REQUEST_ID) X(p, DETAIL)
CV_DB_CONTRACT(cvctl_events, ST_EVENTS)

/* The outbox's three statements share their first parameter. */
#define ST_OUTBOX_COUNTS_PARAMS(X, p) ST_BY_ACCOUNT_PARAMS(X, p)
#define ST_OUTBOX_COUNTS_COLUMNS(X, p) X(p, STATUS) X(p, COUNT)
CV_DB_CONTRACT(cvctl_outbox_counts, ST_OUTBOX_COUNTS)
#define ST_OUTBOX_OLDEST_PARAMS(X, p) ST_BY_ACCOUNT_PARAMS(X, p)
#define ST_OUTBOX_OLDEST_COLUMNS(X, p) X(p, AGE)
CV_DB_CONTRACT(cvctl_outbox_oldest, ST_OUTBOX_OLDEST)
#define ST_OUTBOX_FAILURES_PARAMS(X, p) ST_BY_ACCOUNT_PARAMS(X, p) X(p, LIMIT)
#define ST_OUTBOX_FAILURES_COLUMNS(X, p)                                                          \
	X(p, ID) X(p, TO) X(p, ATTEMPTS) X(p, CREATED) X(p, LAST_ERROR)
CV_DB_CONTRACT(cvctl_outbox_failures, ST_OUTBOX_FAILURES)

#define ST_MIGRATE_LOCK_PARAMS(X, p)
#define ST_MIGRATE_LOCK_COLUMNS(X, p) X(p, LOCKED)
CV_DB_CONTRACT(cvctl_migrate_lock, ST_MIGRATE_LOCK)
#define ST_MIGRATE_SCHEMA_PARAMS(X, p)
#define ST_MIGRATE_SCHEMA_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_migrate_schema, ST_MIGRATE_SCHEMA)
#define ST_MIGRATE_TABLE_PARAMS(X, p)
#define ST_MIGRATE_TABLE_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_migrate_table, ST_MIGRATE_TABLE)
#define ST_MIGRATE_COLUMNS_PARAMS(X, p)
#define ST_MIGRATE_COLUMNS_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_migrate_columns, ST_MIGRATE_COLUMNS)
#define ST_MIGRATE_APPLIED_PARAMS(X, p)  X(p, VERSION)
#define ST_MIGRATE_APPLIED_COLUMNS(X, p) X(p, APPLIED)
CV_DB_CONTRACT(cvctl_migrate_applied, ST_MIGRATE_APPLIED)
#define ST_MIGRATE_RECORD_PARAMS(X, p)   X(p, VERSION)
#define ST_MIGRATE_RECORD_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_migrate_record, ST_MIGRATE_RECORD)
#define ST_MIGRATE_CURRENT_PARAMS(X, p)  X(p, VERSION) X(p, CHECKSUM)
#define ST_MIGRATE_CURRENT_COLUMNS(X, p) X(p, CURRENT)
CV_DB_CONTRACT(cvctl_migrate_current, ST_MIGRATE_CURRENT)
#define ST_MIGRATE_ROUTINES_PARAMS(X, p)
#define ST_MIGRATE_ROUTINES_COLUMNS(X, p) X(p, SNAPSHOT)
CV_DB_CONTRACT(cvctl_migrate_routines, ST_MIGRATE_ROUTINES)
#define ST_MIGRATE_RECORD_FILE_PARAMS(X, p)  X(p, VERSION) X(p, CHECKSUM) X(p, SNAPSHOT)
#define ST_MIGRATE_RECORD_FILE_COLUMNS(X, p) X(p, ROUTINES)
CV_DB_CONTRACT(cvctl_migrate_record_file, ST_MIGRATE_RECORD_FILE)
#define ST_MIGRATE_FORGET_PARAMS(X, p)  X(p, PRESENT)
#define ST_MIGRATE_FORGET_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_migrate_forget, ST_MIGRATE_FORGET)
#define ST_MIGRATE_TWICE_PARAMS(X, p)
#define ST_MIGRATE_TWICE_COLUMNS(X, p) X(p, NAME) X(p, FILES)
CV_DB_CONTRACT(cvctl_migrate_twice, ST_MIGRATE_TWICE)
#define ST_MIGRATE_STALE_PARAMS(X, p)
#define ST_MIGRATE_STALE_COLUMNS(X, p) X(p, SIGNATURE)
CV_DB_CONTRACT(cvctl_migrate_stale, ST_MIGRATE_STALE)
#define ST_MIGRATE_DROP_STALE_PARAMS(X, p)
#define ST_MIGRATE_DROP_STALE_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_migrate_drop_stale, ST_MIGRATE_DROP_STALE)
#define ST_MIGRATE_PRIVILEGES_PARAMS(X, p)
#define ST_MIGRATE_PRIVILEGES_COLUMNS(X, p)
CV_DB_CONTRACT(cvctl_migrate_privileges, ST_MIGRATE_PRIVILEGES)
/* clang-format on */

enum cvctl_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_ACCOUNT_ID,
	ST_ACCOUNT_ADD,
	ST_ACCOUNT_SET,
	ST_ACCOUNT_STATUS,
	ST_ACCOUNT_LIST,
	ST_KEY_ADD,
	ST_KEY_LIST,
	ST_KEY_ACTIVATE,
	ST_KEY_RETIRE,
	ST_API_KEY_ADD,
	ST_API_KEY_LIST,
	ST_API_KEY_REVOKE,
	ST_OAUTH_CLIENT_ADD,
	ST_OAUTH_CLIENT_TTL,
	ST_OAUTH_CLIENT_LIST,
	ST_OAUTH_CLIENT_REVOKE,
	ST_TENANT_ADD,
	ST_TENANT_LIST,
	ST_TEMPLATE_SET,
	ST_TEMPLATE_SHOW,
	ST_TEMPLATE_LIST,
	ST_TEMPLATE_DELETE,
	ST_USER_APP_ADD,
	ST_USER_APP_SET,
	ST_USER_APP_LIST,
	ST_USER_APP_PORTAL,
	ST_CONTACT_ADD,
	ST_CONTACT_LIST,
	ST_CONTACT_IMPORT,
	ST_CONTACT_DELETE,
	ST_CONTACT_EXPORT,
	ST_EVENTS,
	ST_OUTBOX_COUNTS,
	ST_OUTBOX_OLDEST,
	ST_OUTBOX_FAILURES,
	ST_MIGRATE_LOCK,
	ST_MIGRATE_SCHEMA,
	ST_MIGRATE_TABLE,
	ST_MIGRATE_COLUMNS,
	ST_MIGRATE_APPLIED,
	ST_MIGRATE_RECORD,
	ST_MIGRATE_CURRENT,
	ST_MIGRATE_ROUTINES,
	ST_MIGRATE_RECORD_FILE,
	ST_MIGRATE_FORGET,
	ST_MIGRATE_TWICE,
	ST_MIGRATE_STALE,
	ST_MIGRATE_DROP_STALE,
	ST_MIGRATE_PRIVILEGES,
	ST__MAX
};

/* One row of cvctl_db.c's table. */
struct cvctl_statement {
	const char *sql;
	int nparams;
	int ncolumns;
	const char *const *columns; /* ncolumns names, in capitals (ST_<NAME>_COLUMNS) */
	int rows;                   /* 1: answers rows (PGRES_TUPLES_OK), 0: PGRES_COMMAND_OK */
};

struct cvctl {
	const char    *command;      /* "contact add", for messages */
	const char    *database;     /* --database or $CV_DATABASE; NULL: libpq's environment */
	const char    *config_path;  /* --config or $CV_CONFIG or the default */
	struct cv_conf conf;
	int            conf_loaded;
	PGconn        *conn;
	int            in_transaction;
	/* What the command prints, held until its transaction has committed. */
	FILE          *out;          /* for stdout */
	char          *out_buf;
	size_t         out_len;
	FILE          *note;         /* for stderr (reports such as rejected rows) */
	char          *note_buf;
	size_t         note_len;
	/* The first error; the only line a failed command prints. */
	char           error[512];
	int            failed;
};

/* ---- cvctl.c: errors and output */

/*
 * Records the error of the command (only the first one counts; later calls
 * are ignored) and returns CVCTL_FAIL.  Newlines in the message become
 * spaces, so it stays one line.
 */
int cvctl_fail(struct cvctl *cv, const char *fmt, ...) __attribute__((format(__printf__, 2, 3)));

/* Like cvctl_fail, but returns CVCTL_USAGE. */
int cvctl_usage(struct cvctl *cv, const char *fmt, ...) __attribute__((format(__printf__, 2, 3)));

/*
 * Writes s to f as one field of a line: backslash, tab, newline, carriage
 * return and other control bytes are escaped (\\ \t \n \r \xHH), NULL is
 * written as "-".  Cannot fail (a memory stream reports errors at close).
 */
void cvctl_put_field(FILE *f, const char *s);

/* Writes the names of res's columns and then every row of res, each line's
 * fields separated by tabs, to cv->out. */
void cvctl_print_table(struct cvctl *cv, const PGresult *res);

/*
 * A list command whose one option is --account UUID (account_flags:
 * OPT_REQUIRED, or 0 for "every account when not given"): parses argv, runs
 * statement st (whose parameters are ST_BY_ACCOUNT_PARAMS) with the
 * account's id (NULL for every account) and prints its table.  Returns 0 or
 * a CVCTL_ status.
 */
int cvctl_list_by_account(struct cvctl *cv, int argc, char **argv, int account_flags,
                          enum cvctl_stmt st);

/* ---- cvctl_db.c: the connection and the statements */

/* The loaded configuration (loading it on first use), or NULL with the
 * command's error set. */
const struct cv_conf *cvctl_conf(struct cvctl *cv);

/*
 * Connects (first call only) and starts the command's transaction.
 * Returns 0, or CVCTL_FAIL with the error set.
 */
int cvctl_begin(struct cvctl *cv);

/* Commits the command's transaction.  Returns 0 or CVCTL_FAIL. */
int cvctl_commit(struct cvctl *cv);

/* Rolls back the open transaction, if any.  Cannot fail (a failed rollback
 * leaves nothing: the server discards the transaction with the session). */
void cvctl_rollback(struct cvctl *cv);

/*
 * Runs statement st with text parameters (NULL = SQL NULL; an array of its
 * ST_<NAME>_PARAM__MAX).  Returns the result, with the statement's
 * ST_<NAME>_COL__MAX columns (the caller PQclears it), or NULL with the
 * error set to the server's one-line message.
 */
PGresult *cvctl_exec(struct cvctl *cv, enum cvctl_stmt st, const char *const *params);

/* The statement st (< ST__MAX) of the table: for
 * tests/db/describe_statements.c.  Cannot fail. */
const struct cvctl_statement *cvctl_statement(enum cvctl_stmt st);

/*
 * Runs a whole script (a migration or function file) with the simple query protocol:
 * several statements, no parameters.  Returns 0, or CVCTL_FAIL with the
 * error set to the server's message prefixed by what.
 */
int cvctl_exec_script(struct cvctl *cv, const char *script, const char *what);

/*
 * The id (decimal text) of the account with uuid text account_uuid, copied
 * into id (at least 21 bytes).  Returns 0, or CVCTL_FAIL when there is no
 * such account or the database failed.  account_uuid must have passed
 * cvctl_check_uuid.
 */
int cvctl_account_id(struct cvctl *cv, const char *account_uuid, char *id, size_t idlen);

/* ---- cvctl_args.c: options and validation */

enum cvctl_opt_flags {
	OPT_REQUIRED = 1,   /* the option must be given */
	OPT_EMPTY_OK = 2,   /* an empty value is allowed (it clears a setting) */
};

/* One option a command accepts: "--name VALUE" or "--name=VALUE". */
struct cvctl_opt {
	const char  *name;    /* with the dashes: "--email" */
	const char **value;   /* set to the argument; stays NULL when not given */
	int          flags;
};

/*
 * Parses argv[0..argc) against opts (ended by a {NULL} entry), and puts the
 * arguments that are not options into positional (at most npositional of
 * them, exactly that many required).  "--" ends the options.  An unknown or
 * repeated option, a missing value, a missing required option or a wrong
 * number of positional arguments sets the error and returns CVCTL_USAGE;
 * otherwise 0.  The values point into argv.
 */
int cvctl_parse(struct cvctl *cv, int argc, char **argv, const struct cvctl_opt *opts,
                const char **positional, size_t npositional);

/* Each check returns 0, or sets the error (naming option) and returns
 * CVCTL_USAGE.  A NULL value (option not given) passes every check. */

/* A uuid in its canonical 8-4-4-4-12 hexadecimal form (any case). */
int cvctl_check_uuid(struct cvctl *cv, const char *option, const char *value);

/* A decimal integer in [min, max] with no sign, space or other character
 * around it; also written to *out when out is not NULL. */
int cvctl_check_int(struct cvctl *cv, const char *option, const char *value, long long min,
                    long long max, long long *out);

/* Text of 1 to max bytes without control characters (names). */
int cvctl_check_text(struct cvctl *cv, const char *option, const char *value, size_t max);

/* An email address cv_email_valid accepts. */
int cvctl_check_email(struct cvctl *cv, const char *option, const char *value);

/* A language tag such as "de" or "de-AT": letters, digits and inner hyphens,
 * at most 35 bytes, starting with 2 to 8 letters. */
int cvctl_check_locale(struct cvctl *cv, const char *option, const char *value);

/* An absolute http:// or https:// URL without spaces or control characters. */
int cvctl_check_url(struct cvctl *cv, const char *option, const char *value);

/* 1 when value is a language tag as cvctl_check_locale wants.  Cannot fail. */
int cvctl_locale_valid(const char *value);

/* ---- cvctl_csv.c: reading CSV (RFC 4180) */

/* The reader of one CSV stream.  Fields are separated by commas, records by
 * CRLF, LF or CR; a field in double quotes may hold commas, line breaks and
 * "" for a quote.  A UTF-8 byte order mark at the start is skipped. */
struct cvctl_csv {
	FILE       *f;
	long        line;         /* physical lines read so far */
	long        record_line;  /* the line the last record started on */
	const char *problem;      /* why the last record is malformed, or NULL */
	int         blank;        /* the last record was an empty line */
	int         started;
	int         pending[3];   /* bytes read ahead and pushed back, last on top */
	int         npending;
	char       *buf;          /* the fields, each NUL-terminated */
	size_t      len, cap;
	size_t     *offsets;      /* where each field starts in buf */
	size_t      nfields, fields_cap;
};

/* Starts reading f (which the caller keeps and closes).  Cannot fail. */
void cvctl_csv_init(struct cvctl_csv *csv, FILE *f);

/*
 * Reads the next record.  Returns 1, 0 at the end of the input, or -1 on a
 * read error or when out of memory (errno says which).  A malformed record
 * (an unterminated quote, text after a closing quote, a NUL byte, more than
 * 1 MiB) is still returned, with problem set.
 */
int cvctl_csv_next(struct cvctl_csv *csv);

/* Field i of the last record (the caller may change it in place until the
 * next read), or NULL when the record has fewer fields. */
char *cvctl_csv_field(const struct cvctl_csv *csv, size_t i);

/* Frees the reader's memory (not f).  Cannot fail. */
void cvctl_csv_free(struct cvctl_csv *csv);

/* ---- the commands: each returns CVCTL_OK, CVCTL_FAIL or CVCTL_USAGE.
 * argv holds what follows the command's words. */

int cvctl_account_add(struct cvctl *cv, int argc, char **argv);
int cvctl_account_list(struct cvctl *cv, int argc, char **argv);
int cvctl_account_set(struct cvctl *cv, int argc, char **argv);
int cvctl_account_disable(struct cvctl *cv, int argc, char **argv);
int cvctl_account_enable(struct cvctl *cv, int argc, char **argv);
int cvctl_account_rotate_secret(struct cvctl *cv, int argc, char **argv);
int cvctl_account_key(struct cvctl *cv, int argc, char **argv);
/* A new secret for an HMAC key: base64url of 48 random bytes (64
 * characters and a NUL).  Returns 0 or -1. */
#define CVCTL_SECRET_LEN 64
int cvctl_new_secret(char out[CVCTL_SECRET_LEN + 1]);
int cvctl_api_key_add(struct cvctl *cv, int argc, char **argv);
int cvctl_api_key_list(struct cvctl *cv, int argc, char **argv);
int cvctl_api_key_revoke(struct cvctl *cv, int argc, char **argv);
int cvctl_oauth_client_add(struct cvctl *cv, int argc, char **argv);
int cvctl_oauth_client_list(struct cvctl *cv, int argc, char **argv);
int cvctl_oauth_client_revoke(struct cvctl *cv, int argc, char **argv);
int cvctl_tenant_add(struct cvctl *cv, int argc, char **argv);
int cvctl_tenant_list(struct cvctl *cv, int argc, char **argv);
int cvctl_template_set(struct cvctl *cv, int argc, char **argv);
int cvctl_template_show(struct cvctl *cv, int argc, char **argv);
int cvctl_template_list(struct cvctl *cv, int argc, char **argv);
int cvctl_template_delete(struct cvctl *cv, int argc, char **argv);
int cvctl_user_app_add(struct cvctl *cv, int argc, char **argv);
int cvctl_user_app_portal(struct cvctl *cv, int argc, char **argv);

#define CVCTL_ORIGINS_MAX 64

/*
 * Turns "https://a.example, http://b.example:8080" (commas or spaces) into
 * the SQL array text {https://a.example,http://b.example:8080} in out (at
 * most ORIGINS_MAX).  Each must be an origin exactly: scheme, host and
 * optional port, no path.  Returns 0 or CVCTL_USAGE (naming option).
 */
int cvctl_origins_array(struct cvctl *cv, const char *option, const char *list, char *out,
                        size_t len);
int cvctl_user_app_list(struct cvctl *cv, int argc, char **argv);
int cvctl_user_app_set(struct cvctl *cv, int argc, char **argv);
int cvctl_contact_add(struct cvctl *cv, int argc, char **argv);
int cvctl_contact_list(struct cvctl *cv, int argc, char **argv);
int cvctl_contact_import(struct cvctl *cv, int argc, char **argv);
int cvctl_contact_delete(struct cvctl *cv, int argc, char **argv);
int cvctl_contact_export(struct cvctl *cv, int argc, char **argv);
int cvctl_events(struct cvctl *cv, int argc, char **argv);
int cvctl_outbox(struct cvctl *cv, int argc, char **argv);
int cvctl_migrate(struct cvctl *cv, int argc, char **argv);

#endif
