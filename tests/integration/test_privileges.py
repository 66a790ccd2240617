"""Privileges (README "Security model"): responders, their supervisors and the
mailer never run as root, and neither program starts as root or with a secrets
file that every user may read (the responders' refusals are in test_cgi.py).
In the database each program has a role of its own with exactly the rights it
needs (sql/functions/privileges.sql): the catalog is read for every right each
role holds, and anything beyond the lists below fails; what the programs'
statements call (lib/db.c, src/cvctl_db.c) must be what the lists grant."""
import os
import re
import subprocess

import psycopg2
import psycopg2.errors

from stack import (config, create_account, env, private_config, query, query_one, request,
                   responders, role_dsn, service_user)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LOGIN_ROLES = ("cv_app", "cv_mailer", "cv_admin")

# EXECUTE, by function name, of each role.
FUNCTIONS = {
    "cv_app": {"api_send", "api_verify", "api_auth_token", "authenticate_from", "oauth_client",
               "auth_failed", "uo_tenant", "uo_send", "uo_verify", "uo_link_state",
               "uo_link_consume", "portal_app", "portal_send", "portal_verify",
               "api_login_ticket", "account_jwks", "api_erase_contact"},
    "cv_mailer": {"outbox_claim", "outbox_record", "outbox_template", "housekeeping",
                  "outbox_hold", "expire_history"},
    "cv_admin": {"template_for", "credential_state", "signing_key_list", "signing_key_activate",
                 "signing_key_retire", "erase_contact", "export_contact"},
}
# The statements of lib/db.c the mailer runs; the responders run the others.
MAILER_STATEMENTS = {"OUTBOX_CLAIM", "OUTBOX_RECORD", "OUTBOX_TEMPLATE", "HOUSEKEEPING",
                     "OUTBOX_HOLD", "EXPIRE_HISTORY"}

ALL = "*"   # every column
# cvctl's rights on tables of schema cv: {table: {privilege: ALL or columns}}.
# SELECT, INSERT, UPDATE and REFERENCES are checked per column, the others
# per table; the responders and the mailer have none at all.
ADMIN_TABLES = {
    "accounts": {"SELECT": ALL, "INSERT": ALL,
                 "UPDATE": {"name", "token_ttl", "status", "auth_token_format",
                            "events_retention", "codes_retention", "mail_retention"}},
    "user_apps": {"SELECT": ALL, "INSERT": ALL,
                  "UPDATE": {"name", "portal_url", "sender_name", "sender_email", "code_length",
                             "login_ttl", "verify_ttl", "resend_cooldown", "allowed_origins",
                             "frame_ancestors", "brand_color", "ticket_ttl",
                             "allow_credentials"}},
    "contacts": {"SELECT": ALL, "INSERT": ALL},
    "templates": {"SELECT": ALL, "INSERT": ALL, "DELETE": ALL,
                  "UPDATE": {"subject", "text_body", "html_body", "updated_at"}},
    "api_keys": {"SELECT": {"id", "account_id", "name", "expires_at", "revoked_at", "created_at"},
                 "INSERT": {"account_id", "key_hash", "name", "expires_at"},
                 "UPDATE": {"revoked_at"}},
    "oauth_clients": {"SELECT": {"id", "account_id", "name", "token_ttl", "revoked_at",
                                 "created_at"},
                      "INSERT": {"account_id", "name", "secret_hash"},
                      "UPDATE": {"token_ttl", "revoked_at"}},
    "tenants": {"SELECT": {"id", "account_id", "client_code", "paper_code", "client_group_code",
                           "jwt_issuer", "jwt_audience", "return_origins", "created_at"},
                "INSERT": {"account_id", "client_code", "paper_code", "client_group_code",
                           "jwt_secret", "jwt_issuer", "jwt_audience", "return_origins"}},
    "events": {"SELECT": ALL},
    # cvctl account key add: a sealed key in, never out (keys.sql lists it).
    "signing_keys": {"INSERT": {"account_id", "kid", "alg", "sealed", "public_jwk"}},
    "outbox": {"SELECT": {"id", "account_id", "to_email", "status", "attempts", "last_error",
                          "created_at"}},
}
# Columns of the lists that exist only with migration 013 (issue 16).
OPTIONAL_COLUMNS = {("accounts", "auth_token_format")}
# ... and with migration 020 (issue 21).
OPTIONAL_COLUMNS |= {("accounts", c) for c in ("events_retention", "codes_retention",
                                               "mail_retention")}
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
COLUMN_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "REFERENCES")


def processes_of(binary):
    """[(pid, uid)] of the processes whose argv names binary."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            uid = os.stat(f"/proc/{entry}").st_uid
        except OSError:
            continue
        if binary.encode() in args:
            found.append((int(entry), uid))
    return found


def test_responders_and_their_supervisors_do_not_run_as_root():
    for name in responders():
        procs = processes_of(os.path.join(env("CV_BIN_DIR"), name))
        assert len(procs) >= 2, f"{name}: a supervisor and its responders, got {procs}"
        assert all(uid != 0 for _, uid in procs), f"{name} runs as root: {procs}"


def test_stack_mailer_does_not_run_as_root():
    procs = processes_of(os.path.join(env("CV_BIN_DIR"), "cv-mailer"))
    assert procs and all(uid != 0 for _, uid in procs), procs


def run_mailer(config_path, as_root=False):
    cmd = ["env", "-i", "PATH=/usr/bin:/bin", f"CV_CONFIG={config_path}"]
    cmd += [f"{k}={os.environ[k]}" for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS") if k in os.environ]
    cmd.append(os.path.join(env("CV_BIN_DIR"), "cv-mailer"))
    if not as_root:
        cmd = ["runuser", "-u", service_user(), "--"] + cmd
    return subprocess.run(cmd, capture_output=True, timeout=15, cwd=env("CV_STATE_DIR"))


def test_mailer_refuses_to_run_as_root():
    p = run_mailer(env("CV_CONFIG"), as_root=True)
    assert p.returncode != 0, p
    assert b"root" in p.stderr, p.stderr


def test_mailer_refuses_world_readable_config():
    path, remove = private_config("".join(f"{k} = {v}\n" for k, v in config().items()))
    try:
        os.chmod(path, 0o644)
        p = run_mailer(path)
        assert p.returncode != 0, p
        assert b"readable by all" in p.stderr, p.stderr
    finally:
        remove()


test_mailer_refuses_to_run_as_root.MODE = "mailer"
test_mailer_refuses_world_readable_config.MODE = "mailer"


# ---------------------------------------------------------------- database roles

def expected_table_rights(role):
    """({(table, privilege)}, {(table, column, privilege)}) role may have."""
    tables, columns = set(), set()
    if role != "cv_admin":
        return tables, columns
    cols = {}
    for table, column in query("SELECT c.relname, a.attname FROM pg_catalog.pg_attribute a"
                               " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
                               " WHERE c.relnamespace = 'cv'::regnamespace AND a.attnum > 0"
                               "   AND NOT a.attisdropped"):
        cols.setdefault(table, set()).add(column)
    for table, rights in ADMIN_TABLES.items():
        for privilege, which in rights.items():
            if which == ALL:
                tables.add((table, privilege))
            if privilege in COLUMN_PRIVILEGES:
                for column in (cols[table] if which == ALL else which):
                    if (table, column) in OPTIONAL_COLUMNS and column not in cols[table]:
                        continue
                    assert column in cols[table], f"no column cv.{table}.{column}"
                    columns.add((table, column, privilege))
    return tables, columns


def test_each_database_role_has_exactly_its_rights():
    """Every right the programs' roles hold in the database, read from the
    catalog (has_*_privilege: what the role may do, directly or through
    PUBLIC), against the lists at the top of this module."""
    for role in LOGIN_ROLES:
        got = {name for (name,) in query(
            "SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'cv'::regnamespace"
            " AND pg_catalog.has_function_privilege(%s, p.oid, 'EXECUTE')", (role,))}
        assert got == FUNCTIONS[role], \
            f"{role} may EXECUTE {sorted(got - FUNCTIONS[role])} beyond its list," \
            f" and lacks {sorted(FUNCTIONS[role] - got)}"

        want_tables, want_columns = expected_table_rights(role)
        got = set()
        for privilege in TABLE_PRIVILEGES:
            got |= {(t, privilege) for (t,) in query(
                "SELECT c.relname FROM pg_catalog.pg_class c"
                " WHERE c.relnamespace = 'cv'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
                "   AND pg_catalog.has_table_privilege(%s, c.oid, %s)", (role, privilege))}
        assert got == want_tables, \
            f"{role}: table rights beyond the list {sorted(got - want_tables)}," \
            f" missing {sorted(want_tables - got)}"
        got = set()
        for privilege in COLUMN_PRIVILEGES:
            got |= {(t, c, privilege) for t, c in query(
                "SELECT c.relname, a.attname FROM pg_catalog.pg_attribute a"
                " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
                " WHERE c.relnamespace = 'cv'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped"
                "   AND pg_catalog.has_column_privilege(%s, c.oid, a.attnum, %s)",
                (role, privilege))}
        assert got == want_columns, \
            f"{role}: column rights beyond the list {sorted(got - want_columns)}," \
            f" missing {sorted(want_columns - got)}"
        got = query("SELECT c.relname, p.priv FROM pg_catalog.pg_class c,"
                    " unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) p(priv)"
                    " WHERE c.relnamespace = 'cv'::regnamespace AND c.relkind = 'S'"
                    "   AND pg_catalog.has_sequence_privilege(%s, c.oid, p.priv)", (role,))
        assert got == [], f"{role} may use sequences {got}"

        # Nowhere may it create anything: no schema, no temporary table, no
        # large object; it may use schema cv.
        got = query("SELECT n.nspname FROM pg_catalog.pg_namespace n"
                    " WHERE n.nspname !~ '^pg_(toast|temp)'"
                    "   AND pg_catalog.has_schema_privilege(%s, n.oid, 'CREATE')", (role,))
        assert got == [], f"{role} may create objects in schemas {got}"
        assert query_one("SELECT pg_catalog.has_schema_privilege(%s, 'cv', 'USAGE')", (role,))[0]
        assert query_one(
            "SELECT pg_catalog.has_database_privilege(%s, current_database(), 'CONNECT'),"
            " pg_catalog.has_database_privilege(%s, current_database(), 'CREATE'),"
            " pg_catalog.has_database_privilege(%s, current_database(), 'TEMPORARY')",
            (role, role, role)) == (True, False, False), f"{role}: database rights"
        got = query("SELECT f FROM unnest(ARRAY['pg_catalog.lo_create(oid)',"
                    " 'pg_catalog.lo_creat(integer)', 'pg_catalog.lo_from_bytea(oid, bytea)',"
                    " 'pg_catalog.lo_import(text)', 'pg_catalog.lo_import(text, oid)']) f"
                    " WHERE pg_catalog.has_function_privilege(%s, f, 'EXECUTE')", (role,))
        assert got == [], f"{role} may create large objects with {got}"

        # A login and nothing more, and a member of no role.
        assert query_one("SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole,"
                         " rolreplication, rolbypassrls FROM pg_catalog.pg_roles"
                         " WHERE rolname = %s", (role,)) == \
            (True, False, False, False, False, False), f"{role}: role attributes"
        got = query("SELECT roleid::regrole::text FROM pg_catalog.pg_auth_members"
                    " WHERE member = %s::regrole", (role,))
        assert got == [], f"{role} is a member of {got}"

    # The owner of it all cannot log in, is no superuser and has no members.
    assert query_one("SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication,"
                     " rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = 'cv_owner'") == \
        (False, False, False, False, False, False)
    got = query("SELECT member::regrole::text FROM pg_catalog.pg_auth_members"
                " WHERE roleid = 'cv_owner'::regrole")
    assert got == [], f"members of cv_owner: {got}"


# The functions that also plan without sequential scans (limits.sql: a
# generic plan made while cv.rate_counters was empty must not stay a Seq
# Scan once it is large).
SEQSCAN_OFF = ("cv.authenticate_from(text,text)", "cv.oauth_client(bigint,text)",
               "cv.rate_take(text,integer,integer)",
               "cv.check_code_decoy(bigint,text,text,text,text,text,text)")
# The inline functions (auth.sql): LANGUAGE sql with the caller's rights and no
# SET clause, so that the planner copies them into the statements that use them.
INLINE = ("cv.credential_state(timestamp with time zone,timestamp with time zone)",
          "cv.auth_wait(text)", "cv.secret_kid(uuid)")


def test_every_function_runs_as_the_owner_with_a_pinned_search_path():
    """SECURITY DEFINER, owned by the NOLOGIN cv_owner, search_path pinned
    (and enable_seqscan off where limits.sql says so, nowhere else); the
    inline functions cv_owner's too, but with the caller's rights and no SET
    (or the planner would not inline them), and executable by no login role
    but cvctl's for credential_state; every relation cv_owner's too.
    cv.apply_privileges() (which sets all this) is the migrator's, and nobody
    else may run it."""
    wrong = query(
        "SELECT p.oid::regprocedure::text, pg_catalog.pg_get_userbyid(p.proowner), p.prosecdef,"
        "       p.proconfig FROM pg_catalog.pg_proc p"
        " WHERE p.pronamespace = 'cv'::regnamespace AND p.proname <> 'apply_privileges'"
        "   AND (pg_catalog.pg_get_userbyid(p.proowner) <> 'cv_owner'"
        "        OR p.prosecdef = (p.oid::regprocedure::text = ANY (%s))"
        "        OR p.proconfig IS DISTINCT FROM CASE"
        "             WHEN p.oid::regprocedure::text = ANY (%s) THEN NULL"
        "             WHEN p.oid::regprocedure::text = ANY (%s)"
        "             THEN ARRAY['search_path=pg_catalog, pg_temp', 'enable_seqscan=off']"
        "             ELSE ARRAY['search_path=pg_catalog, pg_temp'] END)",
        (list(INLINE), list(INLINE), list(SEQSCAN_OFF)))
    assert wrong == [], f"functions not as cv.apply_privileges makes them: {wrong}"
    for role in LOGIN_ROLES:
        for fn in INLINE:
            may = query_one("SELECT pg_catalog.has_function_privilege(%s, %s, 'EXECUTE')",
                            (role, fn))[0]
            assert may == (role == "cv_admin" and fn.startswith("cv.credential_state(")), \
                (role, fn)
    n = query_one("SELECT count(*) FROM pg_catalog.pg_proc WHERE pronamespace = 'cv'::regnamespace")[0]
    assert n >= 30, n
    wrong = query("SELECT c.relname, pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c"
                  " WHERE c.relnamespace = 'cv'::regnamespace AND c.relname <> 'schema_migrations'"
                  "   AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c')"
                  "   AND pg_catalog.pg_get_userbyid(c.relowner) <> 'cv_owner'")
    assert wrong == [], f"relations not owned by cv_owner: {wrong}"
    for role in LOGIN_ROLES + ("cv_owner",):
        assert not query_one("SELECT pg_catalog.has_function_privilege(%s,"
                             " 'cv.apply_privileges()', 'EXECUTE')", (role,))[0], role


def statement_functions(path):
    """{statement enum name: {functions of schema cv it calls}} of a C file's
    table of statements ([CV_STMT_X] = {...} or [ST_X] = {...})."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        text = f.read()
    calls = {}
    for name, body in re.findall(r"\[(?:CV_STMT|ST)_([A-Z_]+)\] = \{(.*?)\},\n", text, re.S):
        calls[name] = set(re.findall(r"\bcv\.([a-z_]+)\(", body))
    assert calls, f"no statements found in {path}"
    return calls


def test_the_lists_are_what_the_programs_call():
    """A function lib/db.c or src/cvctl_db.c calls and its role may not
    execute would break an endpoint; one granted that no statement calls is
    a right nobody needs."""
    responder, mailer = set(), set()
    for name, functions in statement_functions("lib/db.c").items():
        (mailer if name in MAILER_STATEMENTS else responder).update(functions)
    assert responder == FUNCTIONS["cv_app"], (sorted(responder ^ FUNCTIONS["cv_app"]))
    assert mailer == FUNCTIONS["cv_mailer"], (sorted(mailer ^ FUNCTIONS["cv_mailer"]))
    # cvctl migrate runs as the schema's owner, not as cv_admin.
    admin = set().union(*(functions for name, functions in statement_functions("src/cvctl_db.c").items()
                          if not name.startswith("MIGRATE_")))
    assert admin == FUNCTIONS["cv_admin"], sorted(admin ^ FUNCTIONS["cv_admin"])


def refused(dsn, sql, params=None):
    """Runs sql on a fresh connection; True when the server refused it for
    want of a privilege (nothing is committed either way)."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(sql, params)
            except psycopg2.errors.InsufficientPrivilege:
                return True
            return False
    finally:
        conn.rollback()
        conn.close()


def test_the_responders_role_cannot_touch_a_table():
    """What the issue found cv_app could do (sql/001 granted SELECT, INSERT
    and UPDATE on every table): mint an API key, change accounts, keys,
    clients, tenants, apps and events, record a migration.  One SQL
    injection in a responder could have done the same."""
    account = create_account()
    dsn = role_dsn("cv_app")
    for sql in (
            "INSERT INTO cv.api_keys (account_id, key_hash) VALUES (%(a)s, sha256('x'))",
            "UPDATE cv.accounts SET status = 'active' WHERE id = %(a)s",
            "UPDATE cv.api_keys SET revoked_at = NULL WHERE account_id = %(a)s",
            "UPDATE cv.oauth_clients SET revoked_at = NULL WHERE account_id = %(a)s",
            "UPDATE cv.tenants SET jwt_secret = repeat('x', 32) WHERE account_id = %(a)s",
            "UPDATE cv.user_apps SET portal_url = 'https://evil.example' WHERE account_id = %(a)s",
            "UPDATE cv.events SET detail = '{}' WHERE account_id = %(a)s",
            "INSERT INTO cv.schema_migrations (version) VALUES ('999_itest')",
            "SELECT key_hash FROM cv.api_keys WHERE account_id = %(a)s",
            "SELECT token_secret FROM cv.accounts WHERE id = %(a)s",
            "SELECT sealed FROM cv.outbox LIMIT 1",
            "SELECT sealed FROM cv.signing_keys LIMIT 1",
            "UPDATE cv.signing_keys SET state = 'active' WHERE account_id = %(a)s",
            "DELETE FROM cv.rate_counters",
            "SELECT cv.log_event(%(a)s, NULL, 5001, 'itest', NULL, '{}')",
            "SELECT * FROM cv.housekeeping()",
            "SELECT * FROM cv.outbox_claim(1, 60)",
            "CALL cv.apply_privileges()",
            "CREATE TEMPORARY TABLE itest (id integer)",
            "CREATE TABLE public.itest (id integer)",
            "SELECT pg_catalog.lo_from_bytea(0, 'x')"):
        assert refused(dsn, sql, {"a": account.id}), f"cv_app may: {sql}"
    assert not refused(dsn, "SELECT * FROM cv.authenticate_from(%s, %s)", (account.key, "itest"))


def test_the_mailer_and_admin_roles_can_do_only_their_work():
    account = create_account()
    params = {"a": account.id}
    mailer = role_dsn("cv_mailer")
    for sql in ("SELECT * FROM cv.api_keys", "SELECT sealed FROM cv.outbox LIMIT 1",
                "UPDATE cv.outbox SET status = 'sent' WHERE account_id = %(a)s",
                "SELECT * FROM cv.authenticate_from('x', 'itest')",
                "INSERT INTO cv.events (event_code, event_id) VALUES ('CODE_SENT', 5001)"):
        assert refused(mailer, sql, params), f"cv_mailer may: {sql}"
    assert not refused(mailer, "SELECT * FROM cv.outbox_template(0)")
    admin = role_dsn("cv_admin")
    for sql in ("SELECT sealed FROM cv.outbox LIMIT 1",
                "SELECT key_hash FROM cv.api_keys WHERE account_id = %(a)s",
                "SELECT secret_hash FROM cv.oauth_clients LIMIT 1",
                "SELECT jwt_secret FROM cv.tenants LIMIT 1",
                "SELECT sealed FROM cv.signing_keys LIMIT 1",
                "UPDATE cv.signing_keys SET state = 'active' WHERE account_id = %(a)s",
                "UPDATE cv.accounts SET token_secret = repeat('x', 40) WHERE id = %(a)s",
                "UPDATE cv.api_keys SET key_hash = sha256('x') WHERE account_id = %(a)s",
                "SELECT * FROM cv.passcodes LIMIT 1",
                "SELECT * FROM cv.login_tickets LIMIT 1",
                "INSERT INTO cv.events (event_code, event_id) VALUES ('CODE_SENT', 5001)",
                "DELETE FROM cv.accounts WHERE id = %(a)s",
                "SELECT * FROM cv.api_send(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
                "SELECT * FROM cv.outbox_claim(1, 60)",
                "CREATE TABLE cv.itest (id integer)"):
        assert refused(admin, sql, params), f"cv_admin may: {sql}"
    assert not refused(admin, "UPDATE cv.accounts SET status = 'inactive' WHERE id = %(a)s",
                       params)


def test_the_programs_connect_as_their_own_roles():
    """The responders as cv_app (cv.conf database), the mailer as cv_mailer
    (mailer_database); none of them as a superuser."""
    assert request("GET", "/healthz").status == 200
    got = {user for (user,) in query(
        "SELECT DISTINCT usename FROM pg_catalog.pg_stat_activity"
        " WHERE application_name = 'contact-verify'")}
    assert got == {"cv_app", "cv_mailer"}, got
    cfg = config()
    assert re.search(r"\buser=cv_app\b", cfg["database"]), cfg["database"]
    assert re.search(r"\buser=cv_mailer\b", cfg["mailer_database"]), cfg["mailer_database"]


def test_mailer_refuses_to_start_without_its_own_database():
    path, remove = private_config("".join(f"{k} = {v}\n" for k, v in config().items()
                                          if k != "mailer_database"))
    try:
        p = run_mailer(path)
        assert p.returncode != 0, p
        assert b"mailer_database is not set" in p.stderr, p.stderr
    finally:
        remove()


test_mailer_refuses_to_start_without_its_own_database.MODE = "mailer"
