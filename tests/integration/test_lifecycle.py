"""A contact's data erased, exported, and history that expires (issue 21;
README "Erasure, export, retention" and "Housekeeping").

Erasure is checked against the catalog, not a list of tables: after it, no
column of any table of schema cv names the contact (its address or uuid in
any text, uuid, json or bytea column, its id in any column whose foreign key
points at cv.contacts), so a table added later cannot be forgotten.  The
races run real requests in threads against the stack; the mailer tests
(mode "mailer") start their own SMTP servers and cv-mailers.  Time moves on
the database clock: rows are dated back, nobody sleeps."""
import concurrent.futures
import hashlib
import json
import secrets
import threading
import uuid

from mailers import Mailer, wait_until
from smtp_server import SmtpServer
from stack import (API, Session, assert_error, assert_exact, compact, create_account, execute,
                   expect, held_mail, mail_code, query, query_one, request, send, setup, verify,
                   wait_for_mail, auth_token)
from test_cvctl import cvctl, fails, ok

WALKED_TYPES = ("text", "character varying", "uuid", "bytea", "json", "jsonb", "ARRAY")


def erase(key, contact_uuid, method="DELETE"):
    return request(method, f"{API}/contacts/{contact_uuid}", key=key)


def erased_body(contact_uuid):
    return compact({"data": {"uuid": contact_uuid, "erased": True}, "meta": []})


def rows_naming(email, contact_uuid, contact_id, after_xid=None):
    """{table.column: count} of the rows of schema cv that name the contact:
    its address (any case) or uuid inside a text-like column, the SHA-256 of
    either in a bytea column, or its id in a column named contact_id or with
    a foreign key to cv.contacts (migration 022 dropped most of those keys).  Rate-limit counters written by a transaction that
    committed after transaction after_xid (the erasure's) are left out: a
    verify of the address that came after the erasure counts like a
    stranger's.  Commit order, not xid order: a verify that began before the
    erasure (its xid older) may write the address's counter only after the
    erasure committed (tools/test turns on track_commit_timestamp)."""
    columns = query("SELECT c.table_name, c.column_name, c.data_type"
                    "  FROM information_schema.columns c"
                    "  JOIN information_schema.tables t"
                    "    ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
                    " WHERE c.table_schema = 'cv' AND t.table_type = 'BASE TABLE'"
                    "   AND c.data_type IN %s ORDER BY 1, 2", (WALKED_TYPES,))
    keys = query("SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c"
                 "  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
                 " WHERE c.contype = 'f' AND c.confrelid = 'cv.contacts'::regclass"
                 " UNION"
                 " SELECT 'cv.' || c.table_name, c.column_name FROM information_schema.columns c"
                 "  JOIN information_schema.tables t"
                 "    ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
                 " WHERE c.table_schema = 'cv' AND t.table_type = 'BASE TABLE'"
                 "   AND c.column_name = 'contact_id'")
    hashes = [hashlib.sha256(v.encode()).digest() for v in (email, email.lower(), contact_uuid)]
    found = {}
    for table, column, dtype in columns:
        if dtype == "bytea":
            cond, args = f'"{column}" = ANY (%s)', [hashes]
        else:
            cond = f'("{column}"::text ILIKE %s OR "{column}"::text ILIKE %s)'
            args = [f"%{email}%", f"%{contact_uuid}%"]
        if table == "rate_counters" and after_xid is not None:
            cond += (" AND pg_xact_commit_timestamp(xmin)"
                     "     <= pg_xact_commit_timestamp(%s::text::xid)")
            args.append(after_xid)
        n = query_one(f'SELECT count(*) FROM cv."{table}" WHERE {cond}', args)[0]
        if n:
            found[f"{table}.{column}"] = n
    for table, column in keys:
        n = query_one(f'SELECT count(*) FROM {table} WHERE "{column}" = %s', (contact_id,))[0]
        if n:
            found[f"{table.split('.')[-1]}.{column}"] = n
    return found


def a_contact_with_history(account, contact):
    """Gives contact a delivered code that was used, a wrong verify, a queued
    mail still sealed, a login ticket, portal counters and a mail error
    event; returns the number of its events."""
    expect(send(account.key, contact.email), 200)
    code = mail_code(wait_for_mail(contact.email))
    expect(verify(account.key, contact.email, "000000" if code != "000000" else "111111"), 400)
    expect(verify(account.key, contact.email, code), 200)
    with held_mail(contact.email):
        expect(send(account.key, contact.email), 200)
    execute("INSERT INTO cv.login_tickets (ticket_hash, account_id, contact_id, expires_at)"
            " VALUES (%s, %s, %s, now() + interval '1 minute')",
            (secrets.token_bytes(32), account.id, contact.id))
    execute("INSERT INTO cv.rate_counters VALUES (%s, now(), 1), (%s, now(), 1)",
            (f"portal-send:{account.id}:{contact.email.lower()}",
             f"portal-cooldown:{account.id}:{contact.email.lower()}"))
    execute("SELECT cv.log_event(%s, %s, 5006, 'mailer', NULL, %s)",
            (account.id, contact.id, json.dumps({"error": f"550 5.1.1 <{contact.email}> unknown"})))
    return query_one("SELECT count(*) FROM cv.events WHERE contact_id = %s", (contact.id,))[0]


def test_erasure_leaves_no_row_of_any_table_naming_the_contact_or_its_address():
    account, contact = setup()
    other = account.add_contact()
    a_contact_with_history(account, contact)
    a_contact_with_history(account, other)
    events = query_one("SELECT count(*) FROM cv.events WHERE account_id = %s", (account.id,))[0]
    before = rows_naming(contact.email, contact.uuid, contact.id)
    # The walk sees the contact wherever it is stored, before.
    for where in ("contacts.email", "contacts.uuid", "outbox.to_email", "outbox.contact_id",
                  "passcodes.contact_id", "login_tickets.contact_id", "events.contact_id",
                  "events.detail", "rate_counters.bucket"):
        assert where in before, (where, before)

    assert_exact(erase(account.key, contact.uuid), 200, erased_body(contact.uuid))

    assert rows_naming(contact.email, contact.uuid, contact.id) == {}
    # The events stay for counts, without the contact; one more says it was
    # erased, naming nobody.
    assert query_one("SELECT count(*) FROM cv.events WHERE account_id = %s AND event_id <> 5012",
                     (account.id,))[0] == events
    assert query("SELECT event_code, detail::text FROM cv.events WHERE account_id = %s"
                 " AND event_id = 5012", (account.id,)) == [("CONTACT_ERASED", "{}")]
    # The other contact of the account keeps everything.
    assert "contacts.email" in rows_naming(other.email, other.uuid, other.id)
    assert query_one("SELECT count(*) FROM cv.outbox WHERE contact_id = %s", (other.id,))[0] == 2
    expect(auth_token(account.key, other.uuid), 200)


def test_the_triggers_do_on_delete_what_the_dropped_foreign_keys_did():
    """Migration 022 dropped the foreign keys of the codes, the mail and the
    events to their contact and of the mail to its code (each was checked on
    every request's writes); lifecycle.sql's triggers do what they did on
    delete.  A deleted code leaves its mail without the code's id (as
    retention deletes codes); a contact deleted otherwise than by an erasure
    takes its codes and mail, and its events stay without it; a contact
    deleted with its account (whose own foreign key cascades) likewise."""
    account, contact = setup()
    gone, theirs = setup()
    a_contact_with_history(account, contact)
    expect(send(gone.key, theirs.email), 200)
    code, mail = query_one("SELECT p.id, o.id FROM cv.passcodes p JOIN cv.outbox o"
                           "   ON o.passcode_id = p.id WHERE p.contact_id = %s"
                           " ORDER BY p.id LIMIT 1", (contact.id,))
    execute("DELETE FROM cv.passcodes WHERE id = %s", (code,))
    assert query_one("SELECT passcode_id FROM cv.outbox WHERE id = %s", (mail,)) == (None,)

    events = query_one("SELECT count(*) FROM cv.events WHERE contact_id = %s", (contact.id,))[0]
    assert events >= 5, events
    execute("DELETE FROM cv.contacts WHERE id = %s", (contact.id,))
    for table in ("passcodes", "outbox", "events", "login_tickets"):
        assert query_one(f"SELECT count(*) FROM cv.{table} WHERE contact_id = %s",
                         (contact.id,))[0] == 0, table
    assert query_one("SELECT count(*) FROM cv.events WHERE account_id = %s AND contact_id IS NULL",
                     (account.id,))[0] >= events

    assert query_one("SELECT count(*) FROM cv.outbox WHERE contact_id = %s", (theirs.id,))[0] == 1
    execute("DELETE FROM cv.accounts WHERE id = %s", (gone.id,))
    for table in ("passcodes", "outbox", "events"):
        assert query_one(f"SELECT count(*) FROM cv.{table} WHERE contact_id = %s",
                         (theirs.id,))[0] == 0, table


def test_delete_repeated_answers_the_same_and_unknown_or_another_accounts_uuid_is_55031():
    account, contact = setup()
    stranger, theirs = setup()
    first = expect(erase(account.key, contact.uuid), 200)
    again = erase(account.key, contact.uuid)
    assert (again.status, again.body) == (first.status, first.body) and \
        again.body == erased_body(contact.uuid)
    for unknown in (str(uuid.uuid4()), "not-a-uuid", theirs.uuid, contact.uuid.upper()[:-1]):
        assert_error(erase(account.key, unknown), 400, 55031, "Contact not found.")
    # Another account cannot erase it, nor learn that the first one's was erased.
    assert_error(erase(stranger.key, contact.uuid), 400, 55031, "Contact not found.")
    assert query_one("SELECT count(*) FROM cv.contacts WHERE id = %s", (theirs.id,))[0] == 1
    assert_error(auth_token(account.key, contact.uuid), 400, 55031, "Contact not found.")
    assert_error(send(account.key, contact.email), 400, 55031, "Contact not found.")


def test_contacts_path_takes_only_delete_with_the_apis_authentication():
    account, contact = setup()
    for method in ("GET", "POST", "PUT", "PATCH"):
        resp = request(method, f"{API}/contacts/{contact.uuid}", {} if method != "GET" else None,
                       key=account.key)
        assert_error(resp, 405, 1405, "Method not allowed.")
        assert resp.header("Allow") == "DELETE", resp
    assert_error(erase(None, contact.uuid), 401, 1001, "Unauthenticated.")
    assert_error(erase("cv_" + secrets.token_urlsafe(32), contact.uuid), 401, 1001,
                 "Unauthenticated.")
    assert query_one("SELECT count(*) FROM cv.contacts WHERE id = %s", (contact.id,))[0] == 1


def test_erasure_racing_sends_verifies_and_auth_tokens_of_the_same_contact():
    account = create_account()
    rounds = 12
    contacts = [account.add_contact() for _ in range(rounds)]
    allowed = {"send": {200, 400}, "verify": {400}, "auth-token": {200, 400}, "erase": {200}}
    answers = []
    for contact in contacts:
        expect(send(account.key, contact.email), 200)   # a code to verify against
        start = threading.Barrier(7)

        def go(what, c=contact):
            start.wait()
            if what == "send":
                return what, send(account.key, c.email)
            if what == "verify":
                return what, verify(account.key, c.email, "000000")
            if what == "auth-token":
                return what, auth_token(account.key, c.uuid)
            return what, erase(account.key, c.uuid)
        with concurrent.futures.ThreadPoolExecutor(7) as pool:
            answers += list(pool.map(go, ["send", "send", "verify", "verify", "auth-token",
                                          "erase", "erase"]))
    for what, resp in answers:
        assert resp.status in allowed[what], (what, resp)
        if resp.status == 400:
            assert resp.json()["code"] == (13010 if what == "verify" else 55031), (what, resp)
    for contact in contacts:
        xid = query_one("SELECT e.xmin::text::bigint FROM cv.erased_contacts e"
                        " WHERE e.uuid_hash = cv.erased_hash(%s, %s)",
                        (account.id, contact.uuid))[0]
        found = rows_naming(contact.email, contact.uuid, contact.id, after_xid=xid)
        assert found == {}, (contact.email, found, xid, query(
            "SELECT bucket, window_start, hits, xmin::text FROM cv.rate_counters"
            " WHERE bucket LIKE %s", (f"%{contact.email}",)))


def test_cvctl_exports_everything_stored_naming_secrets_only_and_deletes_by_email_or_uuid():
    account, contact = setup()
    a_contact_with_history(account, contact)
    out = json.loads(ok("contact", "export", "--account", account.uuid, "--email",
                        contact.email.upper()))
    assert set(out) == {"contact", "codes", "outbox", "login_tickets", "events", "rate_counters"}
    assert out["contact"]["uuid"] == contact.uuid and out["contact"]["email"] == contact.email
    assert out["contact"]["email_verified"] is True
    assert len(out["codes"]) == 2 and {(c["code"], c["link"]) for c in out["codes"]} == \
        {("hashed", "hashed")}
    bodies = sorted(str(o["body"]) for o in out["outbox"])
    assert bodies == ["None", "sealed"], bodies   # the sent mail's is wiped
    assert [t["ticket"] for t in out["login_tickets"]] == ["hashed"]
    assert len(out["events"]) == query_one("SELECT count(*) FROM cv.events WHERE contact_id = %s",
                                           (contact.id,))[0]
    assert {r["bucket"].split(":")[0] for r in out["rate_counters"]} == \
        {"verify", "portal-send", "portal-cooldown"}
    text = json.dumps(out)
    for (secret,) in query("SELECT encode(code_hash, 'hex') FROM cv.passcodes WHERE contact_id = %s"
                           " UNION ALL SELECT encode(sealed, 'hex') FROM cv.outbox"
                           " WHERE contact_id = %s AND sealed IS NOT NULL",
                           (contact.id, contact.id)):
        assert secret not in text
    by_uuid = json.loads(ok("contact", "export", "--account", account.uuid, "--uuid",
                            contact.uuid))
    assert by_uuid["contact"] == out["contact"]

    assert ok("contact", "delete", "--account", account.uuid, "--email", contact.email) == \
        f"erased={contact.uuid}\n"
    assert rows_naming(contact.email, contact.uuid, contact.id) == {}
    assert ok("contact", "delete", "--account", account.uuid, "--uuid", contact.uuid) == \
        f"erased={contact.uuid}\n"
    fails("contact", "delete", "--account", account.uuid, "--email", contact.email,
          mentions="no contact")
    fails("contact", "export", "--account", account.uuid, "--uuid", contact.uuid,
          mentions="no contact")
    fails("contact", "delete", "--account", account.uuid, status=2, mentions="--email or --uuid")


# ---------------------------------------------------------------- the mailer

def test_mail_queued_before_an_erasure_is_never_sent():
    account, contact = setup()
    sentinel = account.add_contact()
    expect(send(account.key, contact.email), 200)      # no mailer runs: it waits
    expect(erase(account.key, contact.uuid), 200)
    expect(send(account.key, sentinel.email), 200)
    server = SmtpServer().start()
    try:
        with Mailer(server.url):
            server.wait_for(lambda: server.messages([sentinel.email]), 20, "the sentinel's mail")
        assert server.messages([contact.email]) == []
    finally:
        server.stop()


test_mail_queued_before_an_erasure_is_never_sent.MODE = "mailer"


def waiting_erasure():
    """True while an erasure's statement waits for a lock."""
    return query_one("SELECT count(*) > 0 FROM pg_stat_activity"
                     " WHERE query LIKE '%%erase_contact%%' AND wait_event_type = 'Lock'")[0]


def test_an_erasure_waits_for_the_mail_a_mailer_holds_and_mail_it_claimed_is_not_sent():
    # a's and b's mails are claimed in one batch; a's is held at the SMTP
    # server.  b's erasure does not wait (b's mail is claimed, not held) and
    # the mailer then finds b's row gone; a's erasure waits until a's
    # attempt is recorded, then removes the mail, which is never sent.
    account = create_account()
    a, b, sentinel = (account.add_contact() for _ in range(3))
    expect(send(account.key, a.email), 200)
    expect(send(account.key, b.email), 200)
    server = SmtpServer().start()
    try:
        server.hold_once(lambda rcpts: a.email.lower() in rcpts)
        with Mailer(server.url) as mailer:
            assert server.held.wait(20), "a's mail did not reach the server"
            assert_exact(erase(account.key, b.uuid), 200, erased_body(b.uuid))
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pending = pool.submit(erase, account.key, a.uuid)
                wait_until(waiting_erasure, 10, "a's erasure waiting for the mailer")
                assert not pending.done()
                server.release("451 4.3.0 try again later")
                assert_exact(pending.result(timeout=20), 200, erased_body(a.uuid))
            wait_until(lambda: "not sent: the row is gone" in mailer.log(), 10,
                       "the mailer skipping b's mail")
            expect(send(account.key, sentinel.email), 200)
            server.wait_for(lambda: server.messages([sentinel.email]), 20, "the sentinel's mail")
        assert server.messages([a.email, b.email]) == []
        for c in (a, b):
            assert rows_naming(c.email, c.uuid, c.id) == {}, c.email
    finally:
        server.stop()


test_an_erasure_waits_for_the_mail_a_mailer_holds_and_mail_it_claimed_is_not_sent.MODE = \
    "mailer"


# ---------------------------------------------------------------- retention

def dated(account, contact, days_ago):
    """Rows of contact dated days_ago on the database clock: an event, an
    ended (used) code with its sent mail, a failed mail, and a queued mail
    of a code that ended as long ago; returns their ids by kind."""
    ids = {}
    ids["event"] = query_one(
        "INSERT INTO cv.events (account_id, contact_id, event_code, event_id, created_at)"
        " VALUES (%s, %s, 'CODE_SENT', 5001, now() - make_interval(days => %s)) RETURNING id",
        (account.id, contact.id, days_ago))[0]
    code = "INSERT INTO cv.passcodes (contact_id, purpose, code_hash, link_hash, expires_at," \
           " used_at, created_at) VALUES (%s, 'login', '\\x00', %s," \
           " now() - make_interval(days => %s), now() - make_interval(days => %s)," \
           " now() - make_interval(days => %s)) RETURNING id"
    ids["code"] = query_one(code, (contact.id, secrets.token_bytes(32), days_ago, days_ago,
                                   days_ago))[0]
    ids["code_of_queued_mail"] = query_one(code, (contact.id, secrets.token_bytes(32), days_ago,
                                                  days_ago, days_ago))[0]
    mail = "INSERT INTO cv.outbox (account_id, contact_id, passcode_id, purpose, to_email," \
           " app_name, expires_at, message_id, status, created_at) VALUES (%s, %s, %s, 'login'," \
           " %s, 'App', now(), %s, %s, now() - make_interval(days => %s)) RETURNING id"
    for kind, status, pc in (("sent_mail", "sent", ids["code"]), ("failed_mail", "failed", None),
                             ("queued_mail", "queued", ids["code_of_queued_mail"])):
        ids[kind] = query_one(mail, (account.id, contact.id, pc, contact.email,
                                     f"<{uuid.uuid4()}@itest>", status, days_ago))[0]
    return ids


def left(ids):
    tables = {"event": "events", "code": "passcodes", "code_of_queued_mail": "passcodes",
              "sent_mail": "outbox", "failed_mail": "outbox", "queued_mail": "outbox"}
    return {kind for kind, i in ids.items()
            if query(f"SELECT 1 FROM cv.{tables[kind]} WHERE id = %s", (i,))}


def test_retention_per_account_expires_old_history_and_never_live_codes_or_queued_mail():
    account, contact = setup()
    ok("account", "set", "--account", account.uuid, "--events-retention", "10",
       "--codes-retention", "5", "--mail-retention", "7")
    defaults, theirs = setup()          # 90 / 30 / 30 days
    old, recent = dated(account, contact, 11), dated(account, contact, 4)
    middle = dated(account, contact, 8)     # past the mail and code retention, not the events'
    kept_elsewhere = dated(defaults, theirs, 11)
    live = query_one("INSERT INTO cv.passcodes (contact_id, purpose, code_hash, link_hash,"
                     " expires_at, created_at) VALUES (%s, 'login', '\\x00', %s,"
                     " now() + interval '1 minute', now() - interval '100 days') RETURNING id",
                     (contact.id, secrets.token_bytes(32)))[0]
    with Session("cv_mailer") as mailer:
        total, batches = {"events": 0, "codes": 0, "mail": 0}, 0
        while True:
            got = mailer.call("expire_history", 2)
            batches += 1
            for k in total:
                total[k] += got[k]
            if max(got.values()) < 2:
                break
    assert batches >= 2 and total["events"] >= 1 and total["codes"] >= 2 and total["mail"] >= 4
    always = {"code_of_queued_mail", "queued_mail"}
    assert left(old) == always
    assert left(middle) == always | {"event"}
    assert left(recent) == set(recent)
    assert left(kept_elsewhere) == set(kept_elsewhere)
    assert query("SELECT 1 FROM cv.passcodes WHERE id = %s", (live,)) == [(1,)]


test_retention_per_account_expires_old_history_and_never_live_codes_or_queued_mail.MODE = \
    "mailer"


def test_mailer_housekeeping_expires_history_in_batches_and_logs_the_counts():
    account, contact = setup()
    ok("account", "set", "--account", account.uuid, "--events-retention", "1")
    execute("INSERT INTO cv.events (account_id, contact_id, event_code, event_id, created_at)"
            " SELECT %s, %s, 'CODE_SENT', 5001, now() - interval '2 days'"
            "   FROM generate_series(1, 12000)", (account.id, contact.id))
    server = SmtpServer().start()
    try:
        with Mailer(server.url) as mailer:
            wait_until(lambda: "housekeeping: expired" in mailer.log(), 60,
                       "the expiry logged")
            # Mail is served between the batches and after them.
            expect(send(account.key, contact.email), 200)
            server.wait_for(lambda: server.messages([contact.email]), 20, "the mail")
        line = [ln for ln in mailer.log().splitlines() if "housekeeping: expired" in ln][0]
        events, batches = int(line.split("expired ")[1].split()[0]), \
            int(line.split(" in ")[1].split()[0])
        assert events >= 12000 and batches >= 3, line
        assert query_one("SELECT count(*) FROM cv.events WHERE contact_id = %s"
                         " AND created_at < now() - interval '1 day'", (contact.id,))[0] == 0
    finally:
        server.stop()


test_mailer_housekeeping_expires_history_in_batches_and_logs_the_counts.MODE = "mailer"


# ---------------------------------------------------------------- Apache

def test_erasure_through_apache_with_fcgid_and_with_cgi():
    from test_deploy import VARIANTS, through
    for variant in sorted(VARIANTS):
        account, contact = setup()
        with through(variant):
            assert_exact(erase(account.key, contact.uuid), 200, erased_body(contact.uuid))
            assert_exact(erase(account.key, contact.uuid), 200, erased_body(contact.uuid))
            resp = erase(account.key, contact.uuid, method="GET")
            assert_error(resp, 405, 1405, "Method not allowed.")
            assert resp.header("Allow") == "DELETE", (variant, resp)
        assert rows_naming(contact.email, contact.uuid, contact.id) == {}, variant


test_erasure_through_apache_with_fcgid_and_with_cgi.MODE = "apache"
