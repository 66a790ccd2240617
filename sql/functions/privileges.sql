-- privileges.sql - least privilege in the database (README, Security model:
-- database roles): cv.apply_privileges, the one place that says what each
-- role may do.  The roles themselves are made in migration
-- 014_least_privilege:
--
--   cv_owner   NOLOGIN.  Owns every table, sequence, type and function of
--              schema cv.  Every function is SECURITY DEFINER with
--              search_path = pg_catalog, pg_temp, so it runs as cv_owner
--              whoever calls it (but the few inline ones, which only such
--              functions use); nobody can log in as cv_owner or is a
--              member of it.
--   cv_app     the responders (cv.conf "database").  USAGE on schema cv and
--              EXECUTE on the functions the endpoints call; no right on any
--              table or sequence, no other function.
--   cv_mailer  cv-mailer (cv.conf "mailer_database").  EXECUTE on the
--              functions of the outbox and the housekeeping; nothing else.
--   cv_admin   cvctl (--database / CV_DATABASE, never cv.conf).  The table
--              rights its statements need (src/cvctl_db.c): it provisions
--              accounts, keys, clients, tenants, apps, templates and
--              contacts and reads events and the outbox, but never a sealed
--              code, a key's hash, a client's secret hash or a tenant's JWT
--              secret (column privileges), and it cannot write codes,
--              tickets, mail, counters or events.
--
-- The migrator (cvctl migrate) calls it at the end of every run that
-- changed anything, after the migrations and the function files: a new
-- table, function or role right needs nothing but an entry in the lists
-- below.  tests/integration/test_privileges.py reads each role's rights
-- from the catalog and fails on anything beyond these lists.

-- Goes over the catalog: every relation, type and function of schema cv is
-- given to cv_owner and every function is made SECURITY DEFINER with the
-- pinned search_path (the function files say so too; CREATE OR REPLACE
-- resets both, while the owner and the grants stay); then the grants, by
-- name, in three explicit lists.  Owned by whoever runs the migrations (the
-- superuser) and executable by nobody else.  A function a migrator run
-- creates is executable by nobody until this grants it (the default
-- privileges of migration 014 take PostgreSQL's EXECUTE for PUBLIC away):
-- forgetting a name here breaks an endpoint, it does not open one.
CREATE OR REPLACE PROCEDURE cv.apply_privileges()
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	-- What lib/db.c's statements call from the responders ...
	responder_functions CONSTANT text[] := ARRAY[
		'api_send', 'api_verify', 'api_auth_token', 'authenticate_from', 'oauth_client',
		'auth_failed', 'uo_tenant', 'uo_send', 'uo_verify', 'uo_link_state',
		'uo_link_consume', 'portal_app', 'portal_send', 'portal_verify', 'api_login_ticket',
		'account_jwks', 'api_erase_contact'];
	-- ... and from the mailer; what src/cvctl_db.c calls.
	mailer_functions CONSTANT text[] := ARRAY[
		'outbox_claim', 'outbox_record', 'outbox_template', 'housekeeping', 'outbox_hold',
		'expire_history'];
	admin_functions CONSTANT text[] := ARRAY['template_for', 'credential_state',
		'signing_key_list', 'signing_key_activate', 'signing_key_retire', 'erase_contact',
		'export_contact'];
	-- LANGUAGE sql functions that the planner inlines (auth.sql): not
	-- SECURITY DEFINER, no SET clause.
	inline_functions CONSTANT text[] := ARRAY['credential_state', 'auth_wait', 'secret_kid'];
	logins CONSTANT text := 'PUBLIC, cv_app, cv_mailer, cv_admin';
	self CONSTANT regprocedure := 'cv.apply_privileges()'::regprocedure;
	r record;
	g record;
	fn text;
	n integer;
BEGIN
	-- The schema: usable, never writable, by the programs.
	EXECUTE 'REVOKE ALL ON SCHEMA cv FROM ' || logins;
	GRANT USAGE ON SCHEMA cv TO cv_owner, cv_app, cv_mailer, cv_admin;

	-- Relations and types belong to cv_owner (a table's indexes, row type
	-- and identity sequences go with it).  schema_migrations stays the
	-- migrator's.
	FOR r IN SELECT c.oid::regclass AS name FROM pg_class c
	          WHERE c.relnamespace = 'cv'::regnamespace AND c.relkind IN ('r', 'p', 'v')
	            AND c.relname <> 'schema_migrations' LOOP
		EXECUTE format('ALTER TABLE %s OWNER TO cv_owner', r.name);
	END LOOP;
	FOR r IN SELECT c.oid::regclass AS name FROM pg_class c
	          WHERE c.relnamespace = 'cv'::regnamespace AND c.relkind = 'S'
	            AND NOT EXISTS (SELECT 1 FROM pg_depend d
	                             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
	                               AND d.deptype IN ('a', 'i')) LOOP
		EXECUTE format('ALTER SEQUENCE %s OWNER TO cv_owner', r.name);
	END LOOP;
	FOR r IN SELECT t.oid::regtype AS name FROM pg_type t
	          LEFT JOIN pg_class c ON c.oid = t.typrelid
	          WHERE t.typnamespace = 'cv'::regnamespace
	            AND (t.typtype IN ('d', 'e') OR (t.typtype = 'c' AND c.relkind = 'c')) LOOP
		EXECUTE format('ALTER TYPE %s OWNER TO cv_owner', r.name);
	END LOOP;
	EXECUTE 'REVOKE ALL ON ALL TABLES IN SCHEMA cv FROM ' || logins;
	EXECUTE 'REVOKE ALL ON ALL SEQUENCES IN SCHEMA cv FROM ' || logins;

	-- Every function and procedure: cv_owner's, SECURITY DEFINER, a pinned
	-- search_path, and executable by nobody until granted below.  The inline
	-- functions instead run with their caller's rights and no SET clause of
	-- their own, which is what lets the planner copy their body into the
	-- calling statement (auth.sql); their callers are SECURITY DEFINER
	-- functions with the pinned search_path, and every name in their bodies
	-- is schema-qualified.
	FOR r IN SELECT p.oid::regprocedure AS sig, p.proname = ANY (inline_functions) AS inline
	           FROM pg_proc p
	          WHERE p.pronamespace = 'cv'::regnamespace AND p.prokind IN ('f', 'p')
	            AND p.oid <> self LOOP
		EXECUTE format('ALTER ROUTINE %s OWNER TO cv_owner', r.sig);
		IF r.inline THEN
			EXECUTE format('ALTER ROUTINE %s SECURITY INVOKER RESET ALL', r.sig);
		ELSE
			EXECUTE format('ALTER ROUTINE %s SECURITY DEFINER SET search_path = pg_catalog, pg_temp',
			               r.sig);
		END IF;
		EXECUTE format('REVOKE ALL ON ROUTINE %s FROM %s', r.sig, logins);
	END LOOP;
	EXECUTE format('REVOKE ALL ON PROCEDURE %s FROM %s', self, logins);

	-- The grants, by name (every overload of the name; a name that does not
	-- exist is an error, so a renamed function cannot silently lose them).
	FOR g IN SELECT * FROM (VALUES ('cv_app', responder_functions),
	                               ('cv_mailer', mailer_functions),
	                               ('cv_admin', admin_functions)) AS v(grantee, names) LOOP
		FOREACH fn IN ARRAY g.names LOOP
			n := 0;
			FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
			          WHERE p.pronamespace = 'cv'::regnamespace AND p.proname = fn LOOP
				EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', r.sig, g.grantee);
				n := n + 1;
			END LOOP;
			IF n = 0 THEN
				RAISE EXCEPTION 'cv.apply_privileges: there is no function cv.%', fn;
			END IF;
		END LOOP;
	END LOOP;

	-- cvctl: table-level rights where a column holds nothing secret,
	-- column lists where one does; UPDATE only of what a command changes.
	GRANT SELECT, INSERT ON cv.accounts, cv.user_apps, cv.contacts, cv.templates TO cv_admin;
	GRANT UPDATE (name, token_ttl, status) ON cv.accounts TO cv_admin;
	-- cvctl account set --auth-token-format (the column of migration 013;
	-- granted where it exists, so the procedure needs no particular order).
	IF EXISTS (SELECT 1 FROM pg_attribute a
	            WHERE a.attrelid = 'cv.accounts'::regclass AND a.attname = 'auth_token_format'
	              AND NOT a.attisdropped) THEN
		GRANT UPDATE (auth_token_format) ON cv.accounts TO cv_admin;
	END IF;
	-- cvctl account set --events-retention, --codes-retention,
	-- --mail-retention (migration 020), granted where they exist.
	IF EXISTS (SELECT 1 FROM pg_attribute a
	            WHERE a.attrelid = 'cv.accounts'::regclass AND a.attname = 'events_retention'
	              AND NOT a.attisdropped) THEN
		GRANT UPDATE (events_retention, codes_retention, mail_retention) ON cv.accounts
		   TO cv_admin;
	END IF;
	GRANT UPDATE (name, portal_url, sender_name, sender_email, code_length, login_ttl,
	              verify_ttl, resend_cooldown, allowed_origins, frame_ancestors, brand_color,
	              ticket_ttl, allow_credentials) ON cv.user_apps TO cv_admin;
	GRANT UPDATE (subject, text_body, html_body, updated_at), DELETE ON cv.templates TO cv_admin;
	GRANT SELECT (id, account_id, name, expires_at, revoked_at, created_at),
	      INSERT (account_id, key_hash, name, expires_at), UPDATE (revoked_at)
	   ON cv.api_keys TO cv_admin;
	GRANT SELECT (id, account_id, name, token_ttl, revoked_at, created_at),
	      INSERT (account_id, name, secret_hash), UPDATE (token_ttl, revoked_at)
	   ON cv.oauth_clients TO cv_admin;
	GRANT SELECT (id, account_id, client_code, paper_code, client_group_code, jwt_issuer,
	              jwt_audience, return_origins, created_at),
	      INSERT (account_id, client_code, paper_code, client_group_code, jwt_secret,
	              jwt_issuer, jwt_audience, return_origins)
	   ON cv.tenants TO cv_admin;
	-- cvctl account key add (a sealed private key in, never out; keys.sql's
	-- functions list, activate and retire).
	GRANT INSERT (account_id, kid, alg, sealed, public_jwk) ON cv.signing_keys TO cv_admin;
	GRANT SELECT ON cv.events TO cv_admin;
	GRANT SELECT (id, account_id, to_email, status, attempts, last_error, created_at)
	   ON cv.outbox TO cv_admin;

	-- Outside schema cv nothing the login roles may write either: no
	-- temporary tables, no objects in schema public (PostgreSQL before 15
	-- let every role create there), no large objects.
	EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
	REVOKE CREATE ON SCHEMA public FROM PUBLIC;
	REVOKE EXECUTE ON FUNCTION pg_catalog.lo_create(oid), pg_catalog.lo_creat(integer),
	       pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;
END
$$;
