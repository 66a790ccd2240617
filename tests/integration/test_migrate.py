"""The migrator and the SQL layout (sql/README.md): a database made by the
old layout (the numbered files sql/001..018 that held the functions too, kept
as fixtures/sql-layout-0d63593.tar.xz) upgrades by cvctl migrate keeping
every row, into exactly what a fresh install is (pg_dump --schema-only); and
the rules of the function files: a changed file is applied again, a function
no file defines is dropped, a name defined in two files is refused.  Each
test makes databases of its own on the test cluster, as its superuser."""
import contextlib
import difflib
import glob
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import uuid

import psycopg2

from stack import env, execute

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SQL_DIR = os.path.join(ROOT, "sql")
# The old layout every database made before this one has: sql/001_init.sql
# ... sql/018_portal_verify_decoy.sql with their functions, as at commit
# 0d63593 (the last that had them), kept as a compressed fixture so that a
# clone without that history (shallow) or a release tarball tests the same.
# Made with: git archive 0d63593 sql/ | (keep sql/0*.sql) | xz.
OLD_LAYOUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                          "sql-layout-0d63593.tar.xz")


def old_migrations(upto):
    """[(version, text)] of the old layout's migrations up to version upto."""
    with tarfile.open(OLD_LAYOUT) as tar:
        files = sorted((os.path.basename(m.name)[:-4], m) for m in tar.getmembers()
                       if re.fullmatch(r"sql/\d{3}_\w+\.sql", m.name))
        assert [v for v, _ in files][-1] == "018_portal_verify_decoy", files
        return [(v, tar.extractfile(m).read().decode()) for v, m in files if v <= upto]


@contextlib.contextmanager
def scratch_database():
    """The dsn of a new, empty database, dropped afterwards."""
    name = f"migrate_itest_{uuid.uuid4().hex[:12]}"
    execute(f'CREATE DATABASE "{name}"')
    try:
        yield re.sub(r"dbname=\S+", f"dbname={name}", env("CV_PG_DSN"))
    finally:
        execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def connect(dsn):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        yield conn.cursor()
    finally:
        conn.close()


def migrate_the_old_way(dsn, upto):
    """What the old tools/migrate did: each migration in one transaction with
    the row that records it."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SET client_min_messages = warning")
            cur.execute("CREATE SCHEMA IF NOT EXISTS cv; CREATE TABLE IF NOT EXISTS"
                        " cv.schema_migrations (version text PRIMARY KEY,"
                        " applied_at timestamptz NOT NULL DEFAULT now())")
            conn.commit()
            for version, text in old_migrations(upto):
                cur.execute(text)
                cur.execute("INSERT INTO cv.schema_migrations (version) VALUES (%s)", (version,))
                conn.commit()
    finally:
        conn.close()


def migrate(dsn, sql_dir=SQL_DIR):
    """cvctl migrate, the one migrator, as the superuser: (exit status,
    stdout, stderr)."""
    run_env = {"PATH": "/usr/bin:/bin"}
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if name in os.environ:
            run_env[name] = os.environ[name]
    p = subprocess.run([os.path.join(env("CV_BIN_DIR"), "cvctl"), "--database", dsn, "migrate",
                        "--sql-dir", sql_dir], env=run_env, capture_output=True, text=True,
                       timeout=100, cwd="/")
    assert "Sanitizer" not in p.stderr and "runtime error:" not in p.stderr, p.stderr
    return p.returncode, p.stdout, p.stderr


def migrated(dsn, sql_dir=SQL_DIR):
    """stdout of a cvctl migrate that must succeed."""
    rc, out, err = migrate(dsn, sql_dir)
    assert rc == 0 and err == "", (rc, out, err)
    return out


def function_files(sql_dir=SQL_DIR):
    return sorted(os.path.basename(f) for f in glob.glob(os.path.join(sql_dir, "functions", "*.sql")))


def schema_dump(dsn, *args):
    """pg_dump --schema-only, without the random key of its \\restrict lines
    (PostgreSQL 15.14 and later), the one thing two dumps of one schema do
    not share."""
    p = subprocess.run([os.path.join(env("CV_PG_BINDIR"), "pg_dump"), "--no-password",
                        "--schema-only", *args, "-d", dsn], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return "".join(line for line in p.stdout.splitlines(True)
                   if not re.match(r"\\(un)?restrict ", line))


# The functions whose code changed since the old layout (018's code, the
# fixture), and those added since, by name: all the rest of the code is the
# old layout's, comments aside.  A change of a function's code after the move
# is named here, so that the tests below still see every other difference.
CHANGED_SINCE_THE_LAYOUT = {
    "cv.queue_code",     # the constant code_min for lib/codes.h's CV_CODE_MIN
    "cv.apply_privileges",  # cv_admin may execute cv.credential_state
    "cv.uo_send",        # results are rows of lib/errors.def (16 -> 1016, 14 -> 55032)
    "cv.uo_verify",      # results are rows of lib/errors.def (14/15/16 -> 1014/1015/1016)
    "cv.api_auth_token",    # answers the active signing key (issue 18, migration 019)
    "cv.api_login_ticket",  # the same columns as cv.api_auth_token
    # Issue 21 (erasure; lifecycle.sql's lock order): a contact erased meanwhile is no
    # foreign-key error, and sends lock FOR NO KEY UPDATE beside the mailer's KEY SHARE.
    "cv.api_send", "cv.send_wait", "cv.portal_send",
    "cv.outbox_record",  # takes its row through cv.outbox_hold
    "cv.check_code",     # the live code read without a row lock (issue 22)
    "cv.check_code_decoy",  # the same probe as cv.check_code (issue 22)
    "cv.api_verify",     # the contact updated only when that changes it (issue 22)
    # Issue 22: one plan whatever the statistics (enable_seqscan off).
    "cv.rate_take",
    # Issue 22: fewer statements and calls per request (auth.sql, "Inline functions").
    "cv.authenticate_from", "cv.oauth_client", "cv.verify_limits",
}
# Functions of the old layout that are gone (issue 22: folded into their callers).
REMOVED_SINCE_THE_LAYOUT = {
    "cv.authenticate",   # into cv.authenticate_from
    "cv.auth_blocked",   # into cv.auth_wait, which its callers' statements inline
}
ADDED_SINCE_THE_LAYOUT = {
    "cv.credential_state",  # an API key's state, for cv.authenticate_from and cvctl
    "cv.auth_wait",         # issue 22: the blocked-address lookup, inline
    # Issue 22 (migration 022): what the dropped foreign keys did on delete.
    "cv.contact_deleted", "cv.passcode_deleted",
    # Issue 21: erasure, export, retention (lifecycle.sql, housekeeping.sql, outbox.sql).
    "cv.erased_hash", "cv.address_buckets", "cv.erase_contact", "cv.api_erase_contact",
    "cv.export_contact", "cv.expire_history", "cv.outbox_hold",
    "cv.secret_kid",        # issue 18: the kid of an account's token_secret
    "cv.account_jwks",      # issue 18: GET /accounts/{uuid}/.well-known/jwks.json
    "cv.signing_key_list",  # issue 18: cvctl account key list
    "cv.signing_key_activate",  # issue 18: cvctl account key activate
    "cv.signing_key_retire",    # issue 18: cvctl account key retire
}
# Tables added since the old layout (their columns, indexes, constraints
# and grants), and grants changed since, by the name of their pg_dump block.
TABLES_ADDED_SINCE_THE_LAYOUT = {
    "cv.signing_keys",   # issue 18: signing keys of contact auth tokens (migration 019)
}
ACLS_CHANGED_SINCE_THE_LAYOUT = {
    "COLUMN accounts.token_secret",  # issue 18: cvctl rotates by adding a key, no UPDATE
}


# What the migrations since the layout (019 on) add besides functions, by
# name: relations (tables, indexes, constraints: their pg_dump blocks), the
# columns they add to older tables, and rows they add to older tables (as
# rows() shows them).  The upgrade test takes them out of the upgraded dump
# and rows; everything else must be as it was.
OBJECTS_ADDED_SINCE_THE_LAYOUT = {
    # 020_lifecycle (issue 21)
    "erased_contacts", "erased_contacts_pkey", "erased_contacts_account",
    "erased_contacts_account_id_fkey", "passcodes_expires", "outbox_passcode",
    "outbox_contact", "outbox_ended", "login_tickets_contact",
}
COLUMNS_ADDED_SINCE_THE_LAYOUT = {
    "accounts": {"events_retention", "codes_retention", "mail_retention"},  # 020_lifecycle
}
ROWS_ADDED_SINCE_THE_LAYOUT = {
    "event_types": {"(5012,CONTACT_ERASED)"},  # 020_lifecycle
}


def without_added_objects(dump):
    """A pg_dump without OBJECTS_ADDED_SINCE_THE_LAYOUT and the lines of
    COLUMNS_ADDED_SINCE_THE_LAYOUT (and the comma that the last column before
    them gained)."""
    bare = "|".join(re.escape(n) for n in sorted(OBJECTS_ADDED_SINCE_THE_LAYOUT))
    blocks = re.split(r"(?m)^(?=--\n-- Name: )", dump)
    blocks = [b for b in blocks
              if not re.match(rf"--\n-- Name: (?:[a-z_]+ )?(?:{bare});", b)]
    dump = "".join(blocks)
    for table, columns in COLUMNS_ADDED_SINCE_THE_LAYOUT.items():
        named = re.compile(rf"\b(?:{'|'.join(sorted(columns))})\b")

        def strip(m):
            # The columns and their CHECK constraints.
            lines = [ln for ln in m.group(2).split("\n") if not named.search(ln)]
            lines[-1] = lines[-1].rstrip(",")
            return m.group(1) + "\n".join(lines) + m.group(3)
        dump = re.sub(rf"(CREATE TABLE cv\.{table} \(\n)(.*?)(\n\);)", strip, dump, flags=re.S)
        dump = "".join(ln for ln in dump.splitlines(True)
                       if not (ln.startswith("GRANT ") and f" ON TABLE cv.{table} " in ln
                               and named.search(ln)))
    return dump


# The indexes that migrations since the layout added or dropped, by name.
# Foreign keys dropped since the layout (022, issue 22: checked on every request's
# writes), and the triggers that do what they did on delete.
KEYS_SINCE_THE_LAYOUT = {
    "cv.passcodes_contact_id_fkey", "cv.outbox_contact_id_fkey", "cv.outbox_passcode_id_fkey",
    "cv.events_contact_id_fkey", "cv.contact_deleted", "cv.passcode_deleted",
}
INDEXES_SINCE_THE_LAYOUT = {
    "passcodes_live",         # dropped by 021 for passcodes_live_newest
    "passcodes_live_newest",  # 021: the newest live code in one probe (issue 22)
}


def routine_name(signature):
    """cv.name of a regprocedure's text."""
    return signature.split("(", 1)[0]


def without_routines(dump, names):
    """A pg_dump without the objects (definition, ACL, comment) of the
    routines of schema cv named in names."""
    bare = "|".join(re.escape(n.split(".", 1)[1]) for n in names)
    blocks = re.split(r"(?m)^(?=--\n-- Name: )", dump)
    return "".join(b for b in blocks
                   if not re.match(rf"--\n-- Name: (?:FUNCTION |PROCEDURE )?(?:{bare})\(", b))


def without_objects(dump, tables, acls):
    """A pg_dump without the blocks of the tables named in tables (cv.name:
    the table, its sequence, indexes, constraints, grants) and of the ACLs
    named in acls."""
    bare = "|".join(re.escape(n.split(".", 1)[1]) for n in tables) or "(?!)"
    named = "|".join(re.escape(a) for a in acls) or "(?!)"
    blocks = re.split(r"(?m)^(?=--\n-- Name: )", dump)
    return "".join(b for b in blocks
                   if not re.match(rf"--\n-- Name: [^;\n]*\b(?:{bare})", b)
                   and not re.match(rf"--\n-- Name: (?:{named}); Type: ACL", b))


def without_indexes(dump, names):
    """A pg_dump without the indexes of schema cv named in names."""
    bare = "|".join(re.escape(n) for n in names)
    blocks = re.split(r"(?m)^(?=--\n-- Name: )", dump)
    return "".join(b for b in blocks if not re.match(rf"--\n-- Name: (?:{bare}); Type: INDEX;", b))


def without_comments(sql):
    """sql without -- comments and with white space runs made one space: the
    code, as the database runs it."""
    return " ".join(re.sub(r"--[^\n]*", "", sql).split())


def tables(cur):
    """[(table, [columns])] of schema cv, from the catalog."""
    cur.execute("SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum)"
                " FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
                " WHERE c.relnamespace = 'cv'::regnamespace AND c.relkind = 'r'"
                "   AND a.attnum > 0 AND NOT a.attisdropped"
                " GROUP BY c.relname ORDER BY c.relname")
    return cur.fetchall()


def rows(cur, table, columns):
    """Every row of cv.table, as text, sorted."""
    cols = ", ".join(f'"{c}"' for c in columns)
    cur.execute(f'SELECT ROW({cols})::text FROM cv."{table}" ORDER BY 1')
    return [r for (r,) in cur.fetchall()]


def hexhash(text):
    return hashlib.sha256(text.encode()).hexdigest()


def fill(cur):
    """Rows in every table of a database of the old layout (version 012 or
    later), as cvctl and the service write them: what cvctl provisions by
    INSERT, the rest through the functions of that version.  Fails naming
    any table of the catalog that stays empty."""
    key, wrong_key = hexhash("upgrade key"), hexhash("a guess")
    hashes = [hexhash(f"code prefix {n}") for n in range(6, 11)]
    cur.execute("INSERT INTO cv.accounts (name, token_secret) VALUES ('upgrade', %s)"
                " RETURNING id", ("s" * 40,))
    account = cur.fetchone()[0]
    cur.execute("INSERT INTO cv.api_keys (account_id, key_hash, name)"
                " VALUES (%s, decode(%s, 'hex'), 'upgrade')", (account, key))
    cur.execute("INSERT INTO cv.user_apps (account_id, name, sender_email, allowed_origins)"
                " VALUES (%s, 'Upgrade', 'no-reply@example.com', '{https://shop.example.com}')"
                " RETURNING id, public_id", (account,))
    app, public_id = cur.fetchone()
    cur.execute("INSERT INTO cv.contacts (account_id, email, locale) VALUES"
                " (%s, 'a@example.com', 'de'), (%s, 'b@example.com', NULL)", (account, account))
    cur.execute("INSERT INTO cv.oauth_clients (account_id, name, secret_hash)"
                " VALUES (%s, 'upgrade', decode(%s, 'hex'))", (account, hexhash("client")))
    cur.execute("INSERT INTO cv.tenants (account_id, client_code, paper_code, client_group_code,"
                " jwt_secret, return_origins) VALUES (%s, 'C', 'P', 'G', %s,"
                " '{https://shop.example.com}') RETURNING id", (account, "t" * 40))
    tenant = cur.fetchone()[0]
    cur.execute("INSERT INTO cv.templates (user_app_id, purpose, locale, subject, text_body,"
                " html_body) VALUES (%s, 'login', 'de', 'Code {{code}}', 'Code {{code}}',"
                " '<p>{{code}}</p>')", (app,))
    # A send (passcode, outbox, event), a wrong code (verify counters, an
    # attempt), a wrong key (a failed authentication), a registration, a
    # portal login by link (a login ticket), and the mailer's delivery.
    cur.execute("SELECT result FROM cv.api_send(%s, 'a@example.com', %s, %s, %s,"
                " 'https://cv.example.com', 'req-send', '192.0.2.1')",
                (key, "00" * 40, hashes, hexhash("link a")))
    assert cur.fetchone()[0] == 0
    cur.execute("SELECT result FROM cv.api_verify(%s, 'a@example.com', %s, '192.0.2.1', 'req-v')",
                (key, hexhash("wrong")))
    assert cur.fetchone()[0] == 13010
    cur.execute("SELECT result FROM cv.authenticate_from(%s, '192.0.2.9')", (wrong_key,))
    assert cur.fetchone()[0] == 1001
    cur.execute("SELECT result FROM cv.uo_send(%s, 'c@example.com', 'https://shop.example.com/x',"
                " %s, %s, %s, 'https://cv.example.com', 'uo', 'req-uo')",
                (tenant, "01" * 40, hashes, hexhash("link c")))
    assert cur.fetchone()[0] == 0
    cur.execute("SELECT result FROM cv.portal_send(%s, 'b@example.com', NULL, '192.0.2.2', 'fr',"
                " %s, %s, %s, 'https://cv.example.com', 'req-ps')",
                (public_id, "02" * 40, hashes, hexhash("link b")))
    assert cur.fetchone()[0] == 0
    cur.execute("SELECT result FROM cv.portal_verify(%s, NULL, NULL, %s, NULL, '192.0.2.2', %s,"
                " 'req-pv')", (public_id, hexhash("link b"), hexhash("ticket")))
    assert cur.fetchone()[0] == 0
    cur.execute("SELECT id FROM cv.outbox_claim(10, 60)")
    for (outbox_id,) in cur.fetchall():
        cur.execute("SELECT cv.outbox_record(%s, 'sent', NULL, 60)", (outbox_id,))
    empty = []
    for table, columns in tables(cur):
        cur.execute(f'SELECT count(*) FROM cv."{table}"')
        if cur.fetchone()[0] == 0:
            empty.append(table)
    assert empty == [], f"fill() leaves these tables empty: {empty}"


def everything(cur):
    """{table: (columns, rows)} of schema cv."""
    return {t: (cols, rows(cur, t, cols)) for t, cols in tables(cur)}


def assert_rows_kept(before, cur):
    """Every row of before is still there, unchanged in the columns it had;
    cv.schema_migrations only gained the migrator's records."""
    after = dict(tables(cur))
    for table, (columns, old) in before.items():
        assert table in after, f"cv.{table} is gone"
        new = [r for r in rows(cur, table, columns)
               if r not in ROWS_ADDED_SINCE_THE_LAYOUT.get(table, ())]
        if table == "schema_migrations":
            assert set(old) <= set(new), f"records lost: {sorted(set(old) - set(new))}"
            continue
        assert new == old, f"cv.{table}: {len(old)} rows before, {len(new)} after, or changed"


def upgrade_keeps_every_row_and_matches_a_fresh_install(upto):
    with scratch_database() as old, scratch_database() as fresh:
        migrate_the_old_way(old, upto)
        with connect(old) as cur:
            fill(cur)
            before = everything(cur)
            cur.execute("SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid)"
                        " FROM pg_proc p WHERE p.pronamespace = 'cv'::regnamespace")
            old_code = dict(cur.fetchall())
        old_dump = schema_dump(old, "--exclude-table=cv.schema_migrations")

        out = migrated(old)
        assert out.endswith(" applied, database up to date\n"), out
        assert "".join(f"applied functions/{f}\n" for f in function_files()) in out, out
        assert migrated(old) == "0 applied, database up to date\n"

        with connect(old) as cur:
            assert_rows_kept(before, cur)
            cur.execute("SELECT version, checksum FROM cv.schema_migrations"
                        " WHERE checksum IS NOT NULL ORDER BY 1")
            recorded = cur.fetchall()
        assert recorded == [(f"functions/{f}", hashlib.sha256(
            open(os.path.join(SQL_DIR, "functions", f), "rb").read()).hexdigest())
            for f in function_files()], recorded

        migrated(fresh)
        assert schema_dump(old) == schema_dump(fresh), \
            "the upgraded schema differs from a fresh install's"
        return old_code, old_dump


def test_a_database_of_the_old_layout_upgrades_keeping_every_row_into_a_fresh_install():
    old_code, _ = upgrade_keeps_every_row_and_matches_a_fresh_install("018_portal_verify_decoy")
    # The same functions, with the same code (but for CHANGED_SINCE_THE_LAYOUT):
    # only comments moved.
    with scratch_database() as fresh:
        migrated(fresh)
        with connect(fresh) as cur:
            cur.execute("SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid)"
                        " FROM pg_proc p WHERE p.pronamespace = 'cv'::regnamespace")
            new_code = dict(cur.fetchall())
    added = {f for f in new_code if routine_name(f) in ADDED_SINCE_THE_LAYOUT}
    assert {routine_name(f) for f in added} == ADDED_SINCE_THE_LAYOUT, sorted(added)
    removed = {f for f in old_code if routine_name(f) in REMOVED_SINCE_THE_LAYOUT}
    assert {routine_name(f) for f in removed} == REMOVED_SINCE_THE_LAYOUT, sorted(removed)
    assert sorted(set(new_code) - added) == sorted(set(old_code) - removed), \
        set(new_code) ^ set(old_code)
    changed = {routine_name(f) for f in set(old_code) - removed
               if without_comments(old_code[f]) != without_comments(new_code[f])}
    assert changed == CHANGED_SINCE_THE_LAYOUT, \
        f"the code of these functions differs from the old layout's: {sorted(changed)}"


def test_the_upgrade_changes_nothing_but_the_comments_and_the_migrators_records():
    with scratch_database() as db:
        migrate_the_old_way(db, "018_portal_verify_decoy")
        before = schema_dump(db, "--exclude-table=cv.schema_migrations")
        migrated(db)
        after = schema_dump(db, "--exclude-table=cv.schema_migrations")
    assert before != after  # the functions' comments did change
    since = CHANGED_SINCE_THE_LAYOUT | ADDED_SINCE_THE_LAYOUT | REMOVED_SINCE_THE_LAYOUT
    for name in ADDED_SINCE_THE_LAYOUT:
        assert f"FUNCTION {name}(" in after and f"FUNCTION {name}(" not in before, name
    for name in REMOVED_SINCE_THE_LAYOUT:
        assert f"FUNCTION {name}(" in before and f"FUNCTION {name}(" not in after, name
    for name in TABLES_ADDED_SINCE_THE_LAYOUT:
        assert f"TABLE {name} " in after and f"TABLE {name} " not in before, name
    before, after = without_routines(before, since), without_routines(after, since)
    before = without_objects(before, TABLES_ADDED_SINCE_THE_LAYOUT | KEYS_SINCE_THE_LAYOUT,
                             ACLS_CHANGED_SINCE_THE_LAYOUT)
    after = without_objects(after, TABLES_ADDED_SINCE_THE_LAYOUT | KEYS_SINCE_THE_LAYOUT,
                            ACLS_CHANGED_SINCE_THE_LAYOUT)
    after = without_added_objects(after)
    before = without_indexes(before, INDEXES_SINCE_THE_LAYOUT)
    after = without_indexes(after, INDEXES_SINCE_THE_LAYOUT)
    if without_comments(before) != without_comments(after):
        def lines(dump):
            return [" ".join(line.split()) for line in re.sub(r"--[^\n]*", "", dump).split("\n")
                    if line.strip()]
        diff = difflib.unified_diff(lines(before), lines(after), lineterm="", n=1)
        raise AssertionError("the upgrade changed more than comments (owners, grants, code,"
                             " objects):\n" + "\n".join(list(diff)[:40]))


def test_a_database_migrated_part_of_the_way_upgrades_keeping_every_row_into_a_fresh_install():
    # 012 (today's main when the issue was written): the rewritten 013-018
    # run first, their DROP FUNCTION IF EXISTS clearing the old signatures.
    upgrade_keeps_every_row_and_matches_a_fresh_install("012_portal_link_lock_order")


# ---------------------------------------------------------------- the rules

@contextlib.contextmanager
def sql_copy():
    """A copy of sql/ to change, and a database migrated with it."""
    work = tempfile.mkdtemp()
    try:
        shutil.copytree(SQL_DIR, os.path.join(work, "sql"))
        with scratch_database() as dsn:
            migrated(dsn, os.path.join(work, "sql"))
            yield os.path.join(work, "sql"), dsn
    finally:
        shutil.rmtree(work)


def edit(path, old, new):
    with open(path) as f:
        text = f.read()
    assert old in text, (path, old)
    with open(path, "w") as f:
        f.write(text.replace(old, new, 1))


def recorded(dsn):
    with connect(dsn) as cur:
        cur.execute("SELECT version, checksum, routines FROM cv.schema_migrations"
                    " WHERE checksum IS NOT NULL ORDER BY 1")
        return cur.fetchall()


def function_code(dsn, signature):
    with connect(dsn) as cur:
        cur.execute("SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure(%s)", (signature,))
        row = cur.fetchone()
        return row and row[0]


def test_migrate_applies_again_only_the_function_file_that_changed():
    with sql_copy() as (sql, dsn):
        before = dict((v, c) for v, c, _ in recorded(dsn))
        edit(os.path.join(sql, "functions", "housekeeping.sql"),
             "\tGET DIAGNOSTICS tickets = ROW_COUNT;\n",
             "\tGET DIAGNOSTICS tickets = ROW_COUNT;\n\t-- changed\n")
        assert migrated(dsn, sql) == "applied functions/housekeeping.sql\n" \
            "1 applied, database up to date\n"
        assert "-- changed" in function_code(dsn, "cv.housekeeping()")
        after = dict((v, c) for v, c, _ in recorded(dsn))
        assert [v for v in before if before[v] != after[v]] == ["functions/housekeeping.sql"]
        # Still SECURITY DEFINER, cv_owner's and the mailer's to call.
        with connect(dsn) as cur:
            cur.execute("SELECT prosecdef, proowner::regrole::text,"
                        " has_function_privilege('cv_mailer', oid, 'EXECUTE')"
                        " FROM pg_proc WHERE oid = 'cv.housekeeping()'::regprocedure")
            assert cur.fetchone() == (True, "cv_owner", True)
        assert migrated(dsn, sql) == "0 applied, database up to date\n"


def test_migrate_applies_every_function_file_after_a_migration():
    with sql_copy() as (sql, dsn):
        with open(os.path.join(sql, "migrations", "999_itest.sql"), "w") as f:
            f.write("CREATE TABLE cv.itest (id integer);\n")
        expected = "applied 999_itest\n" + \
            "".join(f"applied functions/{f}\n" for f in function_files(sql)) + \
            f"{1 + len(function_files(sql))} applied, database up to date\n"
        assert migrated(dsn, sql) == expected
        with connect(dsn) as cur:
            cur.execute("SELECT relowner::regrole::text FROM pg_class"
                        " WHERE oid = 'cv.itest'::regclass")
            assert cur.fetchone() == ("cv_owner",)


def test_migrate_drops_a_function_that_no_file_defines():
    with sql_copy() as (sql, dsn):
        path = os.path.join(sql, "functions", "codes.sql")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text[:text.index("-- For an address p_email")])
        signature = "cv.check_code_decoy(bigint,text,text,text,text,text,text)"
        assert migrated(dsn, sql) == "applied functions/codes.sql\n" \
            f"dropped {signature}\n1 applied, database up to date\n"
        assert function_code(dsn, signature) is None
        assert function_code(dsn, "cv.check_code(bigint,bigint,text,text,text,text)")
        routines = dict((v, r) for v, _, r in recorded(dsn))["functions/codes.sql"]
        assert signature not in routines and len(routines) == 2, routines


def test_migrate_refuses_a_function_defined_in_two_files_and_applies_nothing():
    with sql_copy() as (sql, dsn):
        before = recorded(dsn)
        with open(os.path.join(sql, "functions", "limits.sql")) as f:
            text = f.read()
        start = text.index("CREATE OR REPLACE FUNCTION cv.rate_take")
        with open(os.path.join(sql, "functions", "zz_copy.sql"), "w") as f:
            f.write(text[start:text.index("$$;", start) + 3] + "\n")
        edit(os.path.join(sql, "functions", "housekeeping.sql"), "BEGIN\n", "BEGIN\n\t-- x\n")
        rc, out, err = migrate(dsn, sql)
        assert (rc, out) == (1, ""), (rc, out, err)
        assert "cv.rate_take is defined in functions/limits.sql and functions/zz_copy.sql" \
            in err, err
        assert recorded(dsn) == before
        assert "-- x" not in function_code(dsn, "cv.housekeeping()")
