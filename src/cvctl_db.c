/*
 * cvctl_db.c - cvctl's database side: the one table of every SQL statement
 * it runs, the connection, and the command's transaction.  Statements have
 * $n parameters only and schema-qualified names; the session's search_path
 * is pg_catalog.  cvctl runs each statement once per process, so they go
 * through PQexecParams (parse, bind and execute in one round trip) rather
 * than a separate PREPARE.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cvctl.h"

/* The routines of schema cv that no function file recorded in
 * cv.schema_migrations defines (cvctl migrate drops them). */
#define STALE_ROUTINES                                                                      \
	" FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'cv'::regnamespace AND NOT EXISTS (" \
	" SELECT 1 FROM cv.schema_migrations m WHERE p.oid::regprocedure::text = ANY (m.routines))"

/* A timestamp as ISO 8601 in UTC (NULL stays NULL). */
#define TS(col) "pg_catalog.to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The parameter count, column count and column names of statement NAME,
 * from its lists in cvctl.h. */
/* clang-format off */
#define SHAPE(NAME)                                                                               \
	NAME##_PARAM__MAX, NAME##_COL__MAX,                                                       \
	    (const char *const[]){NAME##_COLUMNS(CV_DB_NAME, _) NULL}

static const struct cvctl_statement statements[ST__MAX] = {
	[ST_BEGIN] = {"BEGIN", SHAPE(ST_BEGIN), 0},
	[ST_COMMIT] = {"COMMIT", SHAPE(ST_COMMIT), 0},
	[ST_ROLLBACK] = {"ROLLBACK", SHAPE(ST_ROLLBACK), 0},

	[ST_ACCOUNT_ID] = {"SELECT id FROM cv.accounts WHERE uuid = $1::uuid", SHAPE(ST_ACCOUNT_ID),
	                   1},
	[ST_ACCOUNT_ADD] = {"INSERT INTO cv.accounts (name, token_secret) VALUES ($1, $2)"
	                    " RETURNING id, uuid", SHAPE(ST_ACCOUNT_ADD), 1},
	[ST_ACCOUNT_SET] = {"UPDATE cv.accounts SET name = COALESCE($2, name),"
	                    " token_ttl = COALESCE($3::integer, token_ttl),"
	                    " auth_token_format = COALESCE($4, auth_token_format),"
	                    " events_retention = COALESCE($5::integer, events_retention),"
	                    " codes_retention = COALESCE($6::integer, codes_retention),"
	                    " mail_retention = COALESCE($7::integer, mail_retention)"
	                    " WHERE id = $1::bigint",
	                    SHAPE(ST_ACCOUNT_SET), 0},
	[ST_ACCOUNT_STATUS] = {"UPDATE cv.accounts SET status = $2 WHERE id = $1::bigint",
	                       SHAPE(ST_ACCOUNT_STATUS), 0},
	[ST_ACCOUNT_LIST] = {
	    "SELECT a.uuid, a.name, a.status, a.token_ttl, a.auth_token_format,"
	    " CASE WHEN a.token_secret IS NULL THEN 'no' ELSE 'yes' END AS secret,"
	    " (SELECT pg_catalog.count(*) FROM cv.contacts c WHERE c.account_id = a.id) AS contacts,"
	    " " TS("a.created_at") " AS created FROM cv.accounts a ORDER BY a.id",
	    SHAPE(ST_ACCOUNT_LIST), 1},

	[ST_KEY_ADD] = {
	    "INSERT INTO cv.signing_keys (account_id, kid, alg, sealed, public_jwk)"
	    " VALUES ($1::bigint, $2, $3, pg_catalog.decode($4, 'hex'), $5::jsonb)",
	    SHAPE(ST_KEY_ADD), 0},
	[ST_KEY_LIST] = {
	    "SELECT kid, alg, state, " TS("created_at") " AS created, " TS("activated_at")
	    " AS activated, " TS("retired_at") " AS retired FROM cv.signing_key_list($1::bigint)",
	    SHAPE(ST_KEY_LIST), 1},
	[ST_KEY_ACTIVATE] = {"SELECT result FROM cv.signing_key_activate($1::bigint, $2)",
	                     SHAPE(ST_KEY_ACTIVATE), 1},
	[ST_KEY_RETIRE] = {
	    "SELECT result, " TS("valid_until") " AS valid_until"
	    " FROM cv.signing_key_retire($1::bigint, $2, $3::boolean)", SHAPE(ST_KEY_RETIRE), 1},

	[ST_API_KEY_ADD] = {
	    "INSERT INTO cv.api_keys (account_id, key_hash, name, expires_at)"
	    " VALUES ($1::bigint, pg_catalog.decode($2, 'hex'), $3,"
	    "  pg_catalog.now() + pg_catalog.make_interval(secs => $4::integer))"
	    " RETURNING id", SHAPE(ST_API_KEY_ADD), 1},
	[ST_API_KEY_LIST] = {
	    "SELECT k.id, k.name, cv.credential_state(k.revoked_at, k.expires_at) AS state,"
	    " " TS("k.created_at") " AS created, " TS("k.expires_at") " AS expires,"
	    " " TS("k.revoked_at") " AS revoked"
	    " FROM cv.api_keys k WHERE k.account_id = $1::bigint ORDER BY k.id",
	    SHAPE(ST_API_KEY_LIST), 1},
	[ST_API_KEY_REVOKE] = {
	    "UPDATE cv.api_keys SET revoked_at = COALESCE(revoked_at, pg_catalog.now())"
	    " WHERE id = $1::bigint RETURNING id", SHAPE(ST_API_KEY_REVOKE), 1},

	[ST_OAUTH_CLIENT_ADD] = {
	    "INSERT INTO cv.oauth_clients (account_id, name, secret_hash)"
	    " VALUES ($1::bigint, $2, pg_catalog.decode($3, 'hex')) RETURNING id",
	    SHAPE(ST_OAUTH_CLIENT_ADD), 1},
	[ST_OAUTH_CLIENT_TTL] = {
	    "UPDATE cv.oauth_clients SET token_ttl = $2::integer WHERE id = $1::bigint",
	    SHAPE(ST_OAUTH_CLIENT_TTL), 0},
	[ST_OAUTH_CLIENT_LIST] = {
	    "SELECT o.id AS client_id, a.uuid AS account, o.name, o.token_ttl,"
	    " CASE WHEN o.revoked_at IS NULL THEN 'active' ELSE 'revoked' END AS state,"
	    " " TS("o.created_at") " AS created, " TS("o.revoked_at") " AS revoked"
	    " FROM cv.oauth_clients o JOIN cv.accounts a ON a.id = o.account_id"
	    " WHERE $1::bigint IS NULL OR o.account_id = $1::bigint ORDER BY o.id",
	    SHAPE(ST_OAUTH_CLIENT_LIST), 1},
	[ST_OAUTH_CLIENT_REVOKE] = {
	    "UPDATE cv.oauth_clients SET revoked_at = COALESCE(revoked_at, pg_catalog.now())"
	    " WHERE id = $1::bigint RETURNING id", SHAPE(ST_OAUTH_CLIENT_REVOKE), 1},

	[ST_TENANT_ADD] = {
	    "INSERT INTO cv.tenants (account_id, client_code, paper_code, client_group_code,"
	    " jwt_secret, jwt_issuer, jwt_audience, return_origins)"
	    " VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8::text[]) RETURNING id",
	    SHAPE(ST_TENANT_ADD), 1},
	[ST_TENANT_LIST] = {
	    "SELECT t.id, a.uuid AS account, t.client_code, t.paper_code, t.client_group_code,"
	    " t.jwt_issuer AS issuer, t.jwt_audience AS audience,"
	    " pg_catalog.array_to_string(t.return_origins, ' ') AS return_origins,"
	    " " TS("t.created_at") " AS created"
	    " FROM cv.tenants t JOIN cv.accounts a ON a.id = t.account_id"
	    " WHERE $1::bigint IS NULL OR t.account_id = $1::bigint ORDER BY t.id",
	    SHAPE(ST_TENANT_LIST), 1},

	/* No row: the account has no user app.  xmax is 0 on a row the
	 * statement inserted, not on one it updated. */
	[ST_TEMPLATE_SET] = {
	    "INSERT INTO cv.templates (user_app_id, purpose, locale, subject, text_body, html_body)"
	    " SELECT u.id, $2, $3, $4, $5, $6 FROM cv.user_apps u WHERE u.account_id = $1::bigint"
	    " ON CONFLICT (user_app_id, purpose, locale) DO UPDATE SET subject = EXCLUDED.subject,"
	    "  text_body = EXCLUDED.text_body, html_body = EXCLUDED.html_body,"
	    "  updated_at = pg_catalog.now()"
	    " RETURNING CASE WHEN xmax::text = '0' THEN 'created' ELSE 'updated' END AS outcome",
	    SHAPE(ST_TEMPLATE_SET), 1},
	/* The template a contact with locale $3 (NULL: none) gets, as the
	 * mailer chooses it; NULL columns: the built-in one.  No row: the
	 * account has no user app. */
	[ST_TEMPLATE_SHOW] = {
	    "SELECT t.locale, t.subject, t.text_body, t.html_body, " TS("t.updated_at") " AS updated"
	    " FROM cv.user_apps u LEFT JOIN LATERAL cv.template_for(u.id, $2, $3) t ON true"
	    " WHERE u.account_id = $1::bigint", SHAPE(ST_TEMPLATE_SHOW), 1},
	[ST_TEMPLATE_LIST] = {
	    "SELECT t.purpose, NULLIF(t.locale, '') AS locale, t.subject,"
	    " " TS("t.created_at") " AS created, " TS("t.updated_at") " AS updated"
	    " FROM cv.templates t JOIN cv.user_apps u ON u.id = t.user_app_id"
	    " WHERE u.account_id = $1::bigint ORDER BY t.purpose, t.locale",
	    SHAPE(ST_TEMPLATE_LIST), 1},
	[ST_TEMPLATE_DELETE] = {
	    "DELETE FROM cv.templates t USING cv.user_apps u"
	    " WHERE u.id = t.user_app_id AND u.account_id = $1::bigint AND t.purpose = $2"
	    "  AND t.locale = $3 RETURNING t.id", SHAPE(ST_TEMPLATE_DELETE), 1},

	/* The schema's defaults apply to what add does not set; add then runs
	 * ST_USER_APP_SET with the options given, so both share one path. */
	[ST_USER_APP_ADD] = {
	    "INSERT INTO cv.user_apps (account_id, name) VALUES ($1::bigint, $2)"
	    " ON CONFLICT (account_id) DO NOTHING RETURNING id", SHAPE(ST_USER_APP_ADD), 1},
	/* NULL keeps a value; '' clears an optional text column. */
	[ST_USER_APP_SET] = {
	    "UPDATE cv.user_apps SET name = COALESCE($2, name),"
	    " portal_url = CASE WHEN $3::text IS NULL THEN portal_url ELSE NULLIF($3, '') END,"
	    " sender_name = CASE WHEN $4::text IS NULL THEN sender_name ELSE NULLIF($4, '') END,"
	    " sender_email = CASE WHEN $5::text IS NULL THEN sender_email ELSE NULLIF($5, '') END,"
	    " code_length = COALESCE($6::integer, code_length),"
	    " login_ttl = COALESCE($7::integer, login_ttl),"
	    " verify_ttl = COALESCE($8::integer, verify_ttl),"
	    " resend_cooldown = COALESCE($9::integer, resend_cooldown)"
	    " WHERE account_id = $1::bigint RETURNING id", SHAPE(ST_USER_APP_SET), 1},
	/* The login portal's settings (NULL keeps, '' clears); without any
	 * option it only shows them, with the public id. */
	[ST_USER_APP_PORTAL] = {
	    "UPDATE cv.user_apps SET allowed_origins = COALESCE($2::text[], allowed_origins),"
	    " frame_ancestors = CASE WHEN $3::text IS NULL THEN frame_ancestors ELSE NULLIF($3, '') END,"
	    " brand_color = CASE WHEN $4::text IS NULL THEN brand_color ELSE NULLIF($4, '') END,"
	    " portal_url = CASE WHEN $5::text IS NULL THEN portal_url ELSE NULLIF($5, '') END,"
	    " ticket_ttl = COALESCE($6::integer, ticket_ttl),"
	    " allow_credentials = COALESCE($7::boolean, allow_credentials)"
	    " WHERE account_id = $1::bigint RETURNING public_id,"
	    " pg_catalog.array_to_string(allowed_origins, ' ') AS origins, frame_ancestors,"
	    " brand_color, portal_url, ticket_ttl,"
	    " CASE WHEN allow_credentials THEN 'yes' ELSE 'no' END AS allow_credentials",
	    SHAPE(ST_USER_APP_PORTAL), 1},
	[ST_USER_APP_LIST] = {
	    "SELECT a.uuid AS account, u.name, u.portal_url, u.sender_name, u.sender_email,"
	    " u.code_length, u.login_ttl, u.verify_ttl, u.resend_cooldown,"
	    " " TS("u.created_at") " AS created"
	    " FROM cv.user_apps u JOIN cv.accounts a ON a.id = u.account_id"
	    " WHERE $1::bigint IS NULL OR u.account_id = $1::bigint ORDER BY u.id",
	    SHAPE(ST_USER_APP_LIST), 1},

	/* The unique index on (account_id, lower(email)) makes a duplicate,
	 * in any case, insert nothing (also under concurrent adds). */
	[ST_CONTACT_ADD] = {
	    "INSERT INTO cv.contacts (account_id, email, locale) VALUES ($1::bigint, $2, $3)"
	    " ON CONFLICT DO NOTHING RETURNING uuid", SHAPE(ST_CONTACT_ADD), 1},
	[ST_CONTACT_LIST] = {
	    "SELECT c.uuid, c.email, CASE WHEN c.email_verified THEN 'yes' ELSE 'no' END AS verified,"
	    " c.status, c.locale, " TS("c.created_at") " AS created"
	    " FROM cv.contacts c WHERE c.account_id = $1::bigint ORDER BY c.id",
	    SHAPE(ST_CONTACT_LIST), 1},
	/* One batch of an import: parallel arrays of line numbers, emails and
	 * locales, free of duplicates among themselves.  Answers the lines whose
	 * address the account already has. */
	[ST_CONTACT_DELETE] = {
	    "SELECT CASE WHEN e.result = 0 THEN 'erased=' || e.contact_uuid END AS output"
	    " FROM cv.erase_contact($1::bigint, $2::uuid, $3, 'cvctl', NULL) e",
	    SHAPE(ST_CONTACT_ONE), 1},
	[ST_CONTACT_EXPORT] = {
	    "SELECT pg_catalog.jsonb_pretty(cv.export_contact($1::bigint, $2::uuid, $3)) AS output",
	    SHAPE(ST_CONTACT_ONE), 1},
	[ST_CONTACT_IMPORT] = {
	    "WITH batch AS ("
	    "  SELECT * FROM ROWS FROM (pg_catalog.unnest($2::integer[]),"
	    "   pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::text[])) AS b(line, email, locale)"
	    "), inserted AS ("
	    "  INSERT INTO cv.contacts (account_id, email, locale)"
	    "  SELECT $1::bigint, b.email, b.locale FROM batch b ORDER BY b.line"
	    "  ON CONFLICT DO NOTHING RETURNING pg_catalog.lower(email) AS lower_email"
	    ") SELECT b.line FROM batch b WHERE NOT EXISTS ("
	    "  SELECT 1 FROM inserted i WHERE i.lower_email = pg_catalog.lower(b.email))"
	    " ORDER BY b.line", SHAPE(ST_CONTACT_IMPORT), 1},

	/* The newest $3 events, printed oldest first. */
	[ST_EVENTS] = {
	    "SELECT t.ts AS time, t.event_code AS event, t.event_id, t.account, t.email,"
	    " t.source_system AS source, t.request_id, t.detail FROM ("
	    "  SELECT e.id, " TS("e.created_at") " AS ts, e.event_code, e.event_id,"
	    "   a.uuid AS account, c.email, e.source_system, e.request_id, e.detail::text AS detail"
	    "  FROM cv.events e LEFT JOIN cv.accounts a ON a.id = e.account_id"
	    "   LEFT JOIN cv.contacts c ON c.id = e.contact_id"
	    "  WHERE ($1::bigint IS NULL OR e.account_id = $1::bigint)"
	    "   AND ($2::text IS NULL OR pg_catalog.lower(c.email) = pg_catalog.lower($2))"
	    "  ORDER BY e.id DESC LIMIT $3::integer) t ORDER BY t.id", SHAPE(ST_EVENTS), 1},

	[ST_OUTBOX_COUNTS] = {
	    "SELECT s.status, (SELECT pg_catalog.count(*) FROM cv.outbox o"
	    "  WHERE o.status = s.status AND ($1::bigint IS NULL OR o.account_id = $1::bigint))"
	    "  AS count"
	    " FROM pg_catalog.unnest(ARRAY['queued', 'sending', 'sent', 'failed', 'expired'])"
	    "  WITH ORDINALITY AS s(status, n) ORDER BY s.n", SHAPE(ST_OUTBOX_COUNTS), 1},
	[ST_OUTBOX_OLDEST] = {
	    "SELECT pg_catalog.floor(extract(epoch FROM pg_catalog.now()"
	    "  - pg_catalog.min(o.created_at)))::bigint AS age FROM cv.outbox o"
	    " WHERE o.status = 'queued' AND ($1::bigint IS NULL OR o.account_id = $1::bigint)",
	    SHAPE(ST_OUTBOX_OLDEST), 1},
	[ST_OUTBOX_FAILURES] = {
	    "SELECT o.id, o.to_email AS \"to\", o.attempts, " TS("o.created_at") " AS created,"
	    " o.last_error"
	    " FROM cv.outbox o WHERE o.status = 'failed'"
	    "  AND ($1::bigint IS NULL OR o.account_id = $1::bigint)"
	    " ORDER BY o.id DESC LIMIT $2::integer", SHAPE(ST_OUTBOX_FAILURES), 1},

	/* cvctl migrate (cvctl_migrate.c).  One migrator at a time: a second
	 * waits here, then finds the first one's work recorded. */
	[ST_MIGRATE_LOCK] = {"SELECT pg_catalog.pg_advisory_xact_lock(7063417442) AS locked",
	                     SHAPE(ST_MIGRATE_LOCK), 1},
	[ST_MIGRATE_SCHEMA] = {"CREATE SCHEMA IF NOT EXISTS cv", SHAPE(ST_MIGRATE_SCHEMA), 0},
	/* One row per migration applied (version: its file name without .sql)
	 * and per function file (version functions/NAME.sql, with the sha256 of
	 * the text applied and the routines it defined, as regprocedure text).
	 * A database migrated before the function files gets the two columns. */
	[ST_MIGRATE_TABLE] = {
	    "CREATE TABLE IF NOT EXISTS cv.schema_migrations ("
	    " version text PRIMARY KEY,"
	    " applied_at timestamptz NOT NULL DEFAULT pg_catalog.now(),"
	    " checksum text,"
	    " routines text[])", SHAPE(ST_MIGRATE_TABLE), 0},
	[ST_MIGRATE_COLUMNS] = {
	    "ALTER TABLE cv.schema_migrations ADD COLUMN IF NOT EXISTS checksum text,"
	    " ADD COLUMN IF NOT EXISTS routines text[]", SHAPE(ST_MIGRATE_COLUMNS), 0},
	[ST_MIGRATE_APPLIED] = {"SELECT 1 AS applied FROM cv.schema_migrations WHERE version = $1", SHAPE(ST_MIGRATE_APPLIED), 1},
	[ST_MIGRATE_RECORD] = {"INSERT INTO cv.schema_migrations (version) VALUES ($1)", SHAPE(ST_MIGRATE_RECORD), 0},
	/* A row when function file $1 was applied with checksum $2 and every
	 * routine it defined still exists (a migration may have dropped one). */
	[ST_MIGRATE_CURRENT] = {
	    "SELECT 1 AS current FROM cv.schema_migrations m WHERE m.version = $1 AND m.checksum = $2"
	    " AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(m.routines) r"
	    "  WHERE pg_catalog.to_regprocedure(r) IS NULL)", SHAPE(ST_MIGRATE_CURRENT), 1},
	/* Every routine of schema cv as "oid:ctid": CREATE OR REPLACE writes a
	 * new version of the routine's pg_proc row, so what a function file
	 * defined is what is new or has another ctid after it ran. */
	[ST_MIGRATE_ROUTINES] = {
	    "SELECT COALESCE(pg_catalog.array_agg(p.oid::text || ':' || p.ctid::text), '{}') AS snapshot"
	    " FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'cv'::regnamespace", SHAPE(ST_MIGRATE_ROUTINES), 1},
	/* Records function file $1 with checksum $2 and the routines defined
	 * since snapshot $3 (ST_MIGRATE_ROUTINES); answers how many. */
	[ST_MIGRATE_RECORD_FILE] = {
	    "INSERT INTO cv.schema_migrations AS m (version, checksum, routines)"
	    " SELECT $1, $2, COALESCE(pg_catalog.array_agg(p.oid::regprocedure::text"
	    "   ORDER BY p.oid::regprocedure::text), '{}')"
	    "  FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'cv'::regnamespace"
	    "   AND NOT (p.oid::text || ':' || p.ctid::text) = ANY ($3::text[])"
	    " ON CONFLICT (version) DO UPDATE SET checksum = EXCLUDED.checksum,"
	    "  routines = EXCLUDED.routines, applied_at = pg_catalog.now()"
	    " RETURNING pg_catalog.cardinality(m.routines) AS routines", SHAPE(ST_MIGRATE_RECORD_FILE), 1},
	/* Function files recorded but no longer there ($1: those there). */
	[ST_MIGRATE_FORGET] = {
	    "DELETE FROM cv.schema_migrations WHERE checksum IS NOT NULL"
	    " AND NOT version = ANY ($1::text[])", SHAPE(ST_MIGRATE_FORGET), 0},
	/* Function names defined by more than one file, with the files. */
	[ST_MIGRATE_TWICE] = {
	    "SELECT pg_catalog.split_part(r, '(', 1) AS name,"
	    " pg_catalog.string_agg(DISTINCT m.version, ' and ') AS files"
	    " FROM cv.schema_migrations m, pg_catalog.unnest(m.routines) r"
	    " GROUP BY 1 HAVING pg_catalog.count(DISTINCT m.version) > 1 ORDER BY 1", SHAPE(ST_MIGRATE_TWICE), 1},
	/* What no function file defines, listed and then dropped (a DO block:
	 * DROP takes no parameter). */
	[ST_MIGRATE_STALE] = {"SELECT p.oid::regprocedure::text AS signature" STALE_ROUTINES " ORDER BY 1", SHAPE(ST_MIGRATE_STALE), 1},
	[ST_MIGRATE_DROP_STALE] = {
	    "DO $$DECLARE r record; BEGIN FOR r IN SELECT p.oid::regprocedure AS sig" STALE_ROUTINES
	    " LOOP EXECUTE pg_catalog.format('DROP ROUTINE %s', r.sig); END LOOP; END$$", SHAPE(ST_MIGRATE_DROP_STALE), 0},
	[ST_MIGRATE_PRIVILEGES] = {"CALL cv.apply_privileges()", SHAPE(ST_MIGRATE_PRIVILEGES), 0},
};
/* clang-format on */

const struct cvctl_statement *
cvctl_statement(enum cvctl_stmt st)
{
	return &statements[st];
}

/* Sets the error from a failed result: the server's primary message (one
 * line, without the "ERROR:" prefix), else libpq's. */
static void
fail_result(struct cvctl *cv, const char *what, const PGresult *res)
{
	const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (msg == NULL || *msg == '\0')
		msg = res != NULL && *PQresultErrorMessage(res) != '\0' ? PQresultErrorMessage(res)
		                                                        : PQerrorMessage(cv->conn);
	cvctl_fail(cv, "%s%s", what, msg);
}

/* libpq's notices (warnings of a migration): to stderr, one line each. */
static void
on_notice(void *arg, const PGresult *res)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	(void)arg;
	if (msg != NULL) {
		fputs("cvctl: database: ", stderr);
		cvctl_put_field(stderr, msg);
		fputc('\n', stderr);
	}
}

const struct cv_conf *
cvctl_conf(struct cvctl *cv)
{
	char err[512];

	if (cv->conf_loaded)
		return &cv->conf;
	if (cv_conf_load(&cv->conf, cv->config_path, err, sizeof(err)) != 0) {
		cvctl_fail(cv, "configuration: %s", err);
		return NULL;
	}
	cv->conf_loaded = 1;
	return &cv->conf;
}

static int
connect_db(struct cvctl *cv)
{
	/* client_min_messages: a migration's "already exists, skipping" notices
	 * are noise; warnings still show.  A connection string that sets
	 * options itself overrides these (expand_dbname).  Without --database
	 * or $CV_DATABASE, libpq's own environment and defaults (PGHOST,
	 * PGUSER, PGSERVICE, ~/.pgpass).  Never the configuration's database:
	 * that is the responders' role, which may not administer anything, and
	 * the file they read must not hold the administrator's password
	 * (README, Security model). */
	const char *keys[] = {"connect_timeout", "application_name", "options", "dbname", NULL};
	const char *values[] = {"10", "cvctl",
	                        "-c search_path=pg_catalog -c client_min_messages=warning",
	                        cv->database != NULL ? cv->database : "", NULL};

	cv->conn = PQconnectdbParams(keys, values, 1);
	if (cv->conn == NULL)
		return cvctl_fail(cv, "database connection failed: out of memory");
	if (PQstatus(cv->conn) != CONNECTION_OK)
		return cvctl_fail(cv, "database connection failed: %s", PQerrorMessage(cv->conn));
	PQsetNoticeReceiver(cv->conn, on_notice, NULL);
	return 0;
}

PGresult *
cvctl_exec(struct cvctl *cv, enum cvctl_stmt st, const char *const *params)
{
	PGresult *res;
	ExecStatusType want = statements[st].rows ? PGRES_TUPLES_OK : PGRES_COMMAND_OK;

	res = PQexecParams(cv->conn, statements[st].sql, statements[st].nparams, NULL, params, NULL,
	                   NULL, 0);
	if (PQresultStatus(res) != want) {
		fail_result(cv, "database: ", res);
		PQclear(res);
		return NULL;
	}
	if (PQnfields(res) != statements[st].ncolumns) {
		cvctl_fail(cv, "database: a statement answered %d columns, not %d", PQnfields(res),
		           statements[st].ncolumns);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Runs a statement that answers nothing.  Returns 0 or CVCTL_FAIL. */
static int
exec_command(struct cvctl *cv, enum cvctl_stmt st)
{
	PGresult *res = cvctl_exec(cv, st, NULL);

	if (res == NULL)
		return CVCTL_FAIL;
	PQclear(res);
	return 0;
}

int
cvctl_exec_script(struct cvctl *cv, const char *script, const char *what)
{
	PGresult *res = PQexec(cv->conn, script);
	ExecStatusType status = PQresultStatus(res);
	int rc = 0;

	/* PQexec answers the last statement's result, or the first error. */
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
		fail_result(cv, what, res);
		rc = CVCTL_FAIL;
	}
	PQclear(res);
	return rc;
}

int
cvctl_begin(struct cvctl *cv)
{
	if (cv->conn == NULL && connect_db(cv) != 0)
		return CVCTL_FAIL;
	if (exec_command(cv, ST_BEGIN) != 0)
		return CVCTL_FAIL;
	cv->in_transaction = 1;
	return 0;
}

int
cvctl_commit(struct cvctl *cv)
{
	PGresult *res;
	const char *tag;
	int rc = 0;

	cv->in_transaction = 0;
	res = cvctl_exec(cv, ST_COMMIT, NULL);
	if (res == NULL)
		return CVCTL_FAIL;
	/* A transaction that failed earlier "commits" as a ROLLBACK. */
	tag = PQcmdStatus(res);
	if (strcmp(tag, "COMMIT") != 0)
		rc = cvctl_fail(cv, "database: the transaction was rolled back");
	PQclear(res);
	return rc;
}

void
cvctl_rollback(struct cvctl *cv)
{
	PGresult *res;

	if (!cv->in_transaction || cv->conn == NULL)
		return;
	cv->in_transaction = 0;
	res = PQexec(cv->conn, statements[ST_ROLLBACK].sql);
	PQclear(res);
}

int
cvctl_account_id(struct cvctl *cv, const char *account_uuid, char *id, size_t idlen)
{
	const char *params[ST_ACCOUNT_ID_PARAM__MAX] = {[ST_ACCOUNT_ID_PARAM_ACCOUNT_UUID] =
	                                                    account_uuid};
	PGresult *res = cvctl_exec(cv, ST_ACCOUNT_ID, params);
	int rc = 0;

	if (res == NULL)
		return CVCTL_FAIL;
	if (PQntuples(res) != 1)
		rc = cvctl_fail(cv, "no account with uuid %s", account_uuid);
	else
		snprintf(id, idlen, "%s", PQgetvalue(res, 0, ST_ACCOUNT_ID_COL_ID));
	PQclear(res);
	return rc;
}
