-- 014_least_privilege.sql - each program gets its own database role with
-- exactly what it needs (README "Security model", issue 17 finding 4).  Until now the
-- responders, the mailer and (through the configuration's database) cvctl
-- shared cv_app, which 001 gave SELECT, INSERT and UPDATE on every table:
-- one SQL injection or one compromised responder could have minted API
-- keys.  Now:
--
--   cv_owner   NOLOGIN.  Owns every table, sequence, type and function of
--              schema cv.  Every function is SECURITY DEFINER with
--              search_path = pg_catalog, pg_temp, so it runs as cv_owner
--              whoever calls it; nobody can log in as cv_owner or is a
--              member of it.
--   cv_app     the responders (cv.conf "database").  USAGE on schema cv and
--              EXECUTE on the functions the endpoints call; no right on any
--              table or sequence, no other function.
--   cv_mailer  cv-mailer (cv.conf "mailer_database").  EXECUTE on the four
--              functions of the outbox and the housekeeping; nothing else.
--   cv_admin   cvctl (--database / CV_DATABASE, never cv.conf).  The table
--              rights its statements need (src/cvctl_db.c): it provisions
--              accounts, keys, clients, tenants, apps, templates and
--              contacts and reads events and the outbox, but never a sealed
--              code, a key's hash, a client's secret hash or a tenant's JWT
--              secret (column privileges), and it cannot write codes,
--              tickets, mail, counters or events.
--
-- Migrations still run as the superuser (or the schema's owner): cvctl
-- migrate and tools/migrate need a role that may create roles and objects.
--
-- This migration makes the roles.  What each may do is one procedure,
-- cv.apply_privileges() (sql/functions/privileges.sql), owned by whoever
-- runs the migrations and executable by nobody else, which the migrator
-- calls at the end of every run that changed anything: it goes over the
-- catalog, gives every relation, type and function of schema cv to
-- cv_owner, makes every function SECURITY DEFINER, and grants by name, in
-- three explicit lists.  tests/integration/test_privileges.py reads each
-- role's rights from the catalog and fails on anything beyond these lists.

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'cv_owner') THEN
		CREATE ROLE cv_owner NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'cv_mailer') THEN
		CREATE ROLE cv_mailer LOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'cv_admin') THEN
		CREATE ROLE cv_admin LOGIN;
	END IF;
END
$$;

-- Whatever a role was given by hand before, none of them is more than a
-- login (a password set with ALTER ROLE ... PASSWORD stays).
ALTER ROLE cv_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE cv_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE cv_mailer LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE cv_admin LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

-- A function the migrator creates is executable by nobody until
-- cv.apply_privileges() grants it (PostgreSQL's default is EXECUTE for
-- PUBLIC): forgetting it in the lists breaks an endpoint, it does not open
-- one.  (Default privileges are per database and per creating role:
-- the migrator's here, and cv_owner's.)
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE cv_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
