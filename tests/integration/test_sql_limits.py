"""The limits in SQL (sql/functions/limits.sql), called directly: the fixed
windows of cv.rate_take, the verify limits per email and per client address,
the failed authentications per address, and a contact's sliding hour of
sends and its resend cooldown.  The functions a program calls are called as
its role (cv_app); the ones only they call, as the superuser.  Time moves on
the database clock by moving a window's start or a code's created_at, never
by sleeping."""
import concurrent.futures
import hashlib
import uuid

from mailers import wait_until
from test_migrate import connect, migrated, scratch_database
from stack import (Session, auth_limit, code_hash, create_account, execute, query, query_one,
                   waiting_for_a_lock)

# The stack's mailer is stopped (run.py --mode mailer): nothing claims the
# mail these sends queue.
MODE = "mailer"
# A well-formed API key hash that no key has.
KEY_OF_NOBODY = "0" * 64


def key_hash(account):
    return hashlib.sha256(account.key.encode()).hexdigest()


def code_hashes(digits="1234567890"):
    """p_code_hashes of a send: the HMACs of the 6- to 10-digit prefixes."""
    return [code_hash(digits[:n]).hex() for n in range(6, 11)]


def send(session, account, email, digits="1234567890"):
    return session.call("api_send", key_hash(account), email, "00" * 48, code_hashes(digits),
                        uuid.uuid4().hex * 2, "https://cv.example.com", "itest", "192.0.2.10")


def bucket():
    return f"itest:{uuid.uuid4().hex}"


def counter(name):
    return query_one("SELECT hits, extract(epoch FROM window_start)::float8 FROM cv.rate_counters"
                     " WHERE bucket = %s", (name,))


def test_rate_take_gives_the_allowance_then_the_rest_of_the_window_and_starts_afresh():
    name = bucket()
    try:
        with Session("postgres") as db:
            assert [db.call("rate_take", name, 3, 60) for _ in range(3)] == [None, None, None]
            hits, start = counter(name)
            wait = db.call("rate_take", name, 3, 60)
            assert 1 <= wait <= 60, wait
            # Refused: nothing taken, the window not moved.
            assert counter(name) == (hits, start) == (3, start)
            # The window has ended: the next take starts a new one.
            execute("UPDATE cv.rate_counters SET window_start = window_start - interval '60 s'"
                    " WHERE bucket = %s", (name,))
            assert db.call("rate_take", name, 3, 60) is None
            hits, new_start = counter(name)
            assert hits == 1 and new_start > start, (hits, start, new_start)
            # Just before the end it still refuses, with the seconds left.
            execute("UPDATE cv.rate_counters SET hits = 3,"
                    " window_start = clock_timestamp() - interval '55 s' WHERE bucket = %s",
                    (name,))
            assert 1 <= db.call("rate_take", name, 3, 60) <= 5
    finally:
        execute("DELETE FROM cv.rate_counters WHERE bucket = %s", (name,))


def test_rate_take_in_parallel_grants_exactly_the_allowance():
    """Eight takers of an allowance of three, all released at once: one
    conditional upsert each, so exactly three get it."""
    name = bucket()
    try:
        execute("INSERT INTO cv.rate_counters VALUES (%s, clock_timestamp(), 0)", (name,))
        with Session("postgres") as holder:
            holder.begin()
            holder.conn.cursor().execute("SELECT 1 FROM cv.rate_counters WHERE bucket = %s"
                                         " FOR UPDATE", (name,))
            sessions = [Session("postgres") for _ in range(8)]
            try:
                with concurrent.futures.ThreadPoolExecutor(8) as pool:
                    takes = [pool.submit(s.call, "rate_take", name, 3, 60) for s in sessions]
                    wait_until(lambda: all(waiting_for_a_lock(s.pid) for s in sessions), 15,
                               "eight takers waiting for the counter")
                    holder.commit()
                    results = [t.result(timeout=15) for t in takes]
            finally:
                for s in sessions:
                    s.conn.close()
        assert sum(r is None for r in results) == 3, results
        assert all(r is None or 1 <= r <= 60 for r in results), results
        assert counter(name)[0] == 3
    finally:
        execute("DELETE FROM cv.rate_counters WHERE bucket = %s", (name,))


def test_verify_limits_count_per_email_address_and_per_client_address():
    account = create_account(limits={"verifies_per_email": 2, "verifies_per_ip": 3})
    with Session("postgres") as db:
        # Per email address (case does not matter), 15 minutes.
        assert db.call("verify_limits", account.id, "a@example.com", "192.0.2.1") is None
        assert db.call("verify_limits", account.id, "A@Example.com", "192.0.2.2") is None
        wait = db.call("verify_limits", account.id, "a@example.com", "192.0.2.3")
        assert 850 <= wait <= 900, wait
        # Per client address, an hour, across email addresses: 192.0.2.1 had
        # one, so two more.
        assert db.call("verify_limits", account.id, "b@example.com", "192.0.2.1") is None
        assert db.call("verify_limits", account.id, "c@example.com", "192.0.2.1") is None
        wait = db.call("verify_limits", account.id, "d@example.com", "192.0.2.1")
        assert 3500 <= wait <= 3600, wait
        # Another account's counters are its own.
        other = create_account(limits={"verifies_per_email": 2, "verifies_per_ip": 3})
        assert db.call("verify_limits", other.id, "a@example.com", "192.0.2.1") is None


def test_failed_authentications_block_the_address_for_the_rest_of_the_window_valid_key_or_not():
    account = create_account()
    auth_limit(3, 60)
    wrong = hashlib.sha256(b"a guess").hexdigest()
    with Session() as app:
        for _ in range(3):
            assert app.call("authenticate_from", wrong, "198.51.100.7")["result"] == 1001
        blocked = app.call("authenticate_from", key_hash(account), "198.51.100.7")
        assert blocked["result"] == 1029 and 1 <= blocked["retry_after"] <= 60, blocked
        assert blocked["account_id"] is None
        # A refused guess is not counted; another address is not blocked.
        assert app.call("authenticate_from", wrong, "198.51.100.7")["result"] == 1029
        assert query_one("SELECT hits FROM cv.rate_counters WHERE bucket = 'auth:198.51.100.7'")[0] == 3
        assert app.call("authenticate_from", key_hash(account), "198.51.100.8")["result"] == 0
        execute("UPDATE cv.rate_counters SET window_start = window_start - interval '60 s'"
                " WHERE bucket = 'auth:198.51.100.7'")
        assert app.call("authenticate_from", key_hash(account), "198.51.100.7")["result"] == 0


def test_sends_per_hour_slide_over_the_contacts_codes_of_every_purpose():
    account = create_account(limits={"sends_per_hour": 3})
    contact = account.add_contact()
    # Three codes in the last hour, one of them a registration code.
    for minutes, purpose in ((50, "login"), (30, "verify_email"), (10, "login")):
        execute("INSERT INTO cv.passcodes (contact_id, purpose, code_hash, link_hash, expires_at,"
                " created_at) VALUES (%s, %s, '\\x00', %s, now(),"
                " now() - make_interval(mins => %s))",
                (contact.id, purpose, uuid.uuid4().bytes, minutes))
    with Session() as app:
        refused = send(app, account, contact.email)
        # The oldest of the three leaves the hour in ten minutes.
        assert refused["result"] == 1029 and 595 <= refused["retry_after"] <= 600, refused
        execute("UPDATE cv.passcodes SET created_at = now() - interval '61 minutes'"
                " WHERE contact_id = %s AND created_at < now() - interval '45 minutes'",
                (contact.id,))
        assert send(app, account, contact.email)["result"] == 0
        # That send is the third of the hour again.
        again = send(app, account, contact.email)
        assert again["result"] == 1029 and 1750 <= again["retry_after"] <= 1800, again


def test_the_resend_cooldown_counts_only_codes_of_the_same_purpose():
    account = create_account(resend_cooldown=60)
    contact = account.add_contact()
    execute("INSERT INTO cv.passcodes (contact_id, purpose, code_hash, link_hash, expires_at,"
            " created_at) VALUES (%s, 'verify_email', '\\x00', %s, now(), now())",
            (contact.id, uuid.uuid4().bytes))
    with Session() as app:
        assert send(app, account, contact.email)["result"] == 0
        refused = send(app, account, contact.email)
        assert refused["result"] == 1029 and 59 <= refused["retry_after"] <= 60, refused
        execute("UPDATE cv.passcodes SET created_at = created_at - interval '45 s'"
                " WHERE contact_id = %s AND purpose = 'login'", (contact.id,))
        refused = send(app, account, contact.email)
        assert refused["result"] == 1029 and 14 <= refused["retry_after"] <= 15, refused
        execute("UPDATE cv.passcodes SET created_at = created_at - interval '15 s'"
                " WHERE contact_id = %s AND purpose = 'login'", (contact.id,))
        assert send(app, account, contact.email)["result"] == 0
    assert len(query("SELECT 1 FROM cv.passcodes WHERE contact_id = %s AND purpose = 'login'",
                     (contact.id,))) == 2


def test_the_blocked_address_lookup_stays_an_index_scan_after_the_counters_grow():
    """A responder keeps the generic plan of cv.authenticate_from's lookup of
    the client address's failed-authentication counter (limits.sql's
    cv.auth_wait) for its lifetime, until the statistics of cv.rate_counters
    change.  Planned
    while the statistics said the table was empty (a vacuum of a new
    install, or after housekeeping emptied it), it must not be a Seq Scan
    that then reads every counter of a table grown large.  In a database of its own, with autovacuum off for
    the table so that nothing replans: the plan of the lookup after the
    table grew from empty to 20,000 rows, in a session that used it before
    (auto_explain shows it)."""
    with scratch_database() as dsn:
        migrated(dsn)
        with connect(dsn) as setup, connect(dsn) as cur:
            # Seen empty by (auto)vacuum, as after housekeeping emptied it.
            setup.execute("ALTER TABLE cv.rate_counters SET (autovacuum_enabled = false)")
            setup.execute("VACUUM ANALYZE cv.rate_counters")
            setup.execute("SELECT pg_relation_size('cv.rate_counters')")
            assert setup.fetchone()[0] == 0
            for _ in range(8):   # custom plans, then the generic one is kept
                cur.execute(f"SELECT * FROM cv.authenticate_from('{KEY_OF_NOBODY}', '192.0.2.1')")
            setup.execute("INSERT INTO cv.rate_counters (bucket, window_start, hits)"
                          " SELECT 'verify:1:' || i || '@example.com', now(), 1"
                          " FROM generate_series(1, 20000) i")
            cur.execute("LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0;"
                        " SET auto_explain.log_nested_statements = on;"
                        " SET auto_explain.log_level = notice; SET client_min_messages = notice")
            del cur.connection.notices[:]
            cur.execute(f"SELECT * FROM cv.authenticate_from('{KEY_OF_NOBODY}', '192.0.2.1')")
            plans = [n for n in cur.connection.notices if "cv.auth_wait(p_addr)" in n]
            assert len(plans) == 1, cur.connection.notices
            assert "Index Scan using rate_counters_pkey on rate_counters r" in plans[0], plans
            assert "Seq Scan on rate_counters" not in plans[0], plans
            # Nor JIT-compiled: a disabled Seq Scan (of the one settings row) costs 1e10,
            # past jit_above_cost, and compiling took 0.5 s a call.
            assert "JIT:" not in plans[0], plans
