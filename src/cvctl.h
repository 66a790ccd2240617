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

/* Exit statuses (cvctl(8) EXIT STATUS). */
#define CVCTL_OK    0
#define CVCTL_FAIL  1   /* the command could not be done: unknown account, duplicate, database */
#define CVCTL_USAGE 2   /* unknown command or option, missing or malformed argument */

/* Every SQL text of cvctl, in cvctl_db.c. */
enum cvctl_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_ACCOUNT_ID,
	ST_ACCOUNT_ADD,
	ST_ACCOUNT_SET,
	ST_ACCOUNT_STATUS,
	ST_ACCOUNT_SECRET,
	ST_ACCOUNT_LIST,
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

/* Writes header (a tab-separated line) and then every row of res, its
 * fields separated by tabs, to cv->out. */
void cvctl_print_table(struct cvctl *cv, const char *header, const PGresult *res);

/*
 * A list command whose one option is --account UUID (account_flags:
 * OPT_REQUIRED, or 0 for "every account when not given"): parses argv, runs
 * statement st with the account's id (NULL for every account) and prints
 * its rows under header.  Returns 0 or a CVCTL_ status.
 */
int cvctl_list_by_account(struct cvctl *cv, int argc, char **argv, int account_flags,
                          enum cvctl_stmt st, const char *header);

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
 * Runs statement st with text parameters (NULL = SQL NULL; as many as the
 * statement has).  Returns the result (the caller PQclears it), or NULL with
 * the error set to the server's one-line message.
 */
PGresult *cvctl_exec(struct cvctl *cv, enum cvctl_stmt st, const char *const *params);

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
int cvctl_events(struct cvctl *cv, int argc, char **argv);
int cvctl_outbox(struct cvctl *cv, int argc, char **argv);
int cvctl_migrate(struct cvctl *cv, int argc, char **argv);

#endif
