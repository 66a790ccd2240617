"""Delivery you can trust (README "Operations", issue "Mail delivery you can
trust"): the mailer against SMTP servers that go down, defer, refuse and
stall, two mailers racing on one queue, and a mailer killed mid-batch.

These run in mode "mailer", after tools/test stopped the stack's own mailer:
each test starts its own SMTP server (smtp_server.py) and its own cv-mailer
processes (mailers.py), and stops every one of them by PID at its end.
Messages are counted at the SMTP server by Message-ID; time moves on the
database clock (next_attempt_at, expires_at), never by sleeping."""
import collections
import concurrent.futures
import email
import email.policy

from mailers import Mailer, wait_until
from smtp_server import SmtpServer
from stack import (Contact, create_account, execute, expect, mail_code, mail_link, query, query_one,
                   send, setup, verify)

MODE = "mailer"

DELIVERY_TIMEOUT = 20


def row_of(contact):
    """(id, status, attempts, last_error, message_id) of the contact's newest outbox row."""
    rows = query("SELECT id, status, attempts, last_error, message_id FROM cv.outbox"
                 " WHERE contact_id = %s ORDER BY id DESC LIMIT 1", (contact.id,))
    assert rows, f"no outbox row for {contact.email}"
    return rows[0]


def wait_row(contact, predicate, what, timeout=DELIVERY_TIMEOUT):
    """The newest outbox row of contact once predicate(row) holds."""
    return wait_until(lambda: (lambda r: r if predicate(r) else None)(row_of(contact)),
                      timeout, f"{what} ({contact.email}; last {row_of(contact)!r})")


def deferred(row):
    return row[1] == "queued" and row[2] >= 1 and row[3] is not None


def make_due(outbox_id):
    """The retry of row outbox_id comes due now (the database clock moves on)."""
    execute("UPDATE cv.outbox SET next_attempt_at = now() WHERE id = %s", (outbox_id,))
    execute("NOTIFY cv_outbox")


def mail_events(contact):
    """[(event_code, error)] of the mail events of contact, oldest first."""
    return [(code, detail) for code, _, detail, _, _ in contact.events()
            if code.startswith("EMAIL_") or code == "CODE_SENT"]


def code_in(accepted):
    """The code in the text part of a message the server accepted."""
    return mail_code(email.message_from_bytes(accepted.raw, policy=email.policy.default))


def send_many(account, contacts, workers=16):
    """POST send for every contact, in parallel; every answer must be 200."""
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        answers = list(pool.map(lambda c: send(account.key, c.email, timeout=30), contacts))
    bad = [a for a in answers if a.status != 200]
    assert not bad, f"{len(bad)} sends failed, e.g. {bad[0]!r}"


def add_contacts(account, n):
    """n new contacts of account, made in one statement."""
    rows = query("INSERT INTO cv.contacts (account_id, email)"
                 " SELECT %s, 'race' || g || '-' || md5(random()::text) || '@example.com'"
                 "   FROM generate_series(1, %s) g RETURNING id, uuid::text, email", (account.id, n))
    return [Contact(account, cid, cuuid, addr) for cid, cuuid, addr in rows]


def statuses(account):
    return dict(query("SELECT status, count(*) FROM cv.outbox WHERE account_id = %s"
                      " GROUP BY status", (account.id,)))


def once_each(server, account):
    """Asserts that the SMTP server accepted every message of account's
    outbox exactly once (by Message-ID) and nothing else for its contacts."""
    ids = [r[0] for r in query("SELECT message_id FROM cv.outbox WHERE account_id = %s",
                               (account.id,))]
    rcpts = [r[0] for r in query("SELECT email FROM cv.contacts WHERE account_id = %s",
                                 (account.id,))]
    counts = collections.Counter(m.message_id for m in server.messages(rcpts))
    missing = [i for i in ids if counts[i] == 0]
    twice = {i: n for i, n in counts.items() if n > 1}
    strangers = set(counts) - set(ids)
    assert not missing, f"{len(missing)} of {len(ids)} messages never arrived, e.g. {missing[:3]}"
    assert not twice, f"{len(twice)} messages arrived more than once: {list(twice.items())[:3]}"
    assert not strangers, f"messages with unknown Message-IDs: {sorted(strangers)[:3]}"
    return len(ids)


def test_smtp_down_during_send_then_delivered_once_when_it_returns():
    server = SmtpServer()               # its port is chosen; nothing listens yet
    try:
        with Mailer(server.url):
            account, contact = setup()
            expect(send(account.key, contact.email), 200)     # the API never waits for SMTP
            oid, _, attempts, error, message_id = wait_row(contact, deferred, "deferral")
            assert attempts == 1, attempts
            assert "connect" in error.lower(), error
            server.start()
            make_due(oid)
            wait_row(contact, lambda r: r[1] == "sent", "delivery once SMTP is back")
            got = server.messages([contact.email])
            assert [m.message_id for m in got] == [message_id], [m.message_id for m in got]
            assert row_of(contact)[2] == 2, row_of(contact)
            assert [e for e, _ in mail_events(contact)] == \
                ["CODE_SENT", "EMAIL_DEFERRED", "EMAIL_DELIVERED"], mail_events(contact)
            expect(verify(account.key, contact.email, code_in(got[0])), 200)
    finally:
        server.stop()


def test_smtp_4xx_is_retried_then_delivered_once():
    server = SmtpServer().start()
    try:
        with Mailer(server.url):
            account, contact = setup()
            server.reply_next(contact.email, "451 4.3.0 Mailbox busy, try again later")
            expect(send(account.key, contact.email), 200)
            oid, _, attempts, error, message_id = wait_row(contact, deferred, "deferral after 451")
            assert attempts == 1 and "451 4.3.0 Mailbox busy" in error, (attempts, error)
            assert server.messages([contact.email]) == [] and server.refused >= 1
            deferral = [d for e, d in mail_events(contact) if e == "EMAIL_DEFERRED"]
            assert len(deferral) == 1 and "451 4.3.0" in deferral[0], deferral
            make_due(oid)
            wait_row(contact, lambda r: r[1] == "sent", "delivery after the 4xx")
            got = server.messages([contact.email])
            assert [m.message_id for m in got] == [message_id], [m.message_id for m in got]
            assert [e for e, _ in mail_events(contact)] == \
                ["CODE_SENT", "EMAIL_DEFERRED", "EMAIL_DELIVERED"], mail_events(contact)
            expect(verify(account.key, contact.email, code_in(got[0])), 200)
    finally:
        server.stop()


def test_smtp_5xx_marks_the_message_failed_with_the_reply():
    reply = "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown"
    server = SmtpServer().start()
    try:
        with Mailer(server.url):
            account, contact = setup()
            server.reply_next(contact.email, reply)
            expect(send(account.key, contact.email), 200)
            _, _, attempts, error, _ = wait_row(contact, lambda r: r[1] == "failed", "failure")
            assert attempts == 1 and error == reply, (attempts, error)
            events = mail_events(contact)
            assert [e for e, _ in events] == ["CODE_SENT", "EMAIL_FAILED"], events
            assert reply in events[1][1], events[1]
            assert server.messages([contact.email]) == []
            # The message is final: it is not retried.
            other = account.add_contact()
            expect(send(account.key, other.email), 200)
            wait_row(other, lambda r: r[1] == "sent", "a later message")
            assert row_of(contact)[1:3] == ("failed", 1), row_of(contact)
    finally:
        server.stop()


def test_smtp_refusal_quoting_the_link_and_code_keeps_them_out_of_log_outbox_and_events():
    # A content filter that names what it refused: the message's link and code.
    quoted = {}

    def refuse(raw):
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        quoted["link"], quoted["token"] = mail_link(msg)
        quoted["code"] = mail_code(msg)
        return f"554 5.7.1 code {quoted['code']} and URL {quoted['link']} are listed"

    server = SmtpServer().start()
    try:
        with Mailer(server.url) as mailer:
            account, contact = setup()
            server.reply_next(contact.email, refuse)
            expect(send(account.key, contact.email), 200)
            _, _, _, error, _ = wait_row(contact, lambda r: r[1] == "failed", "failure")
            assert error.startswith("554 5.7.1 code [code] and URL ") and "[link token]" in error, \
                error
            wait_until(lambda: "status=failed" in mailer.log(), 10, "the mailer's log line")
            kept = {"outbox": error, "events": " ".join(d for _, d in mail_events(contact)),
                    "mailer log": mailer.log()}
            for where, text in kept.items():
                assert quoted["token"] not in text, f"the link token is in the {where}"
                assert quoted["code"] not in text, f"the code is in the {where}"
    finally:
        server.stop()


def test_retry_that_would_come_after_expiry_expires_the_message():
    server = SmtpServer()               # down all along
    with Mailer(server.url):
        account, contact = setup()
        expect(send(account.key, contact.email), 200)
        oid = wait_row(contact, deferred, "first deferral")[0]
        # Ten seconds left: the next attempt fails too, and its retry
        # (30 s or more later) would come after the code has expired.
        execute("UPDATE cv.outbox SET expires_at = now() + interval '10 seconds' WHERE id = %s",
                (oid,))
        make_due(oid)
        _, _, attempts, error, _ = wait_row(contact, lambda r: r[1] == "expired", "expiry")
        assert attempts == 2 and "connect" in error.lower(), (attempts, error)
        assert [e for e, _ in mail_events(contact)] == \
            ["CODE_SENT", "EMAIL_DEFERRED", "EMAIL_EXPIRED"], mail_events(contact)


def test_code_that_expired_while_smtp_was_down_is_never_sent():
    server = SmtpServer()
    try:
        with Mailer(server.url):
            account, contact = setup()
            expect(send(account.key, contact.email), 200)
            oid = wait_row(contact, deferred, "deferral while SMTP is down")[0]
            server.start()
            execute("UPDATE cv.outbox SET expires_at = now() - interval '1 second' WHERE id = %s",
                    (oid,))
            make_due(oid)
            _, _, attempts, error, _ = wait_row(contact, lambda r: r[1] == "expired", "expiry")
            assert attempts == 2 and "expired" in error, (attempts, error)
            assert [e for e, _ in mail_events(contact)] == \
                ["CODE_SENT", "EMAIL_DEFERRED", "EMAIL_EXPIRED"], mail_events(contact)
            # The server works, and the mailer has been through the queue
            # since: the expired code still never arrives.
            other = account.add_contact()
            expect(send(account.key, other.email), 200)
            wait_row(other, lambda r: r[1] == "sent", "a later message")
            assert server.messages([contact.email]) == []
    finally:
        server.stop()


def test_mail_of_a_replaced_code_is_expired_not_sent():
    server = SmtpServer()               # down until the new code is asked for
    try:
        with Mailer(server.url):
            account, contact = setup()
            expect(send(account.key, contact.email), 200)
            old = wait_row(contact, deferred, "deferral while SMTP is down")[0]
            server.start()
            expect(send(account.key, contact.email), 200)     # replaces the code
            new = wait_row(contact, lambda r: r[1] == "sent", "the new code's message")[0]
            assert new != old
            make_due(old)
            status, error, attempts = wait_until(
                lambda: (lambda r: r if r[0] == "expired" else None)(
                    query_one("SELECT status, last_error, attempts FROM cv.outbox WHERE id = %s",
                              (old,))),
                DELIVERY_TIMEOUT, "the replaced code's message expired")
            assert error == "replaced by a newer code", error
            assert attempts == 1, f"dropping it counted as an attempt ({attempts})"
            got = server.messages([contact.email])
            assert len(got) == 1, f"{len(got)} messages arrived"
            expect(verify(account.key, contact.email, code_in(got[0])), 200)
            assert [e for e, _ in mail_events(contact)] == \
                ["CODE_SENT", "EMAIL_DEFERRED", "CODE_SENT", "EMAIL_DELIVERED", "EMAIL_EXPIRED"], \
                mail_events(contact)
            assert query_one("SELECT sealed IS NULL FROM cv.outbox WHERE id = %s", (old,)) == (True,)
    finally:
        server.stop()


def test_mailer_deletes_dead_rate_counters_and_tickets_and_keeps_the_rest():
    account, contact = setup()
    tag = contact.uuid
    execute("INSERT INTO cv.rate_counters (bucket, window_start, hits) VALUES"
            " (%s, now() - interval '25 hours', 7), (%s, now() - interval '23 hours', 7)",
            (f"hk-old:{tag}", f"hk-recent:{tag}"))
    tickets = query("INSERT INTO cv.login_tickets (ticket_hash, account_id, contact_id, expires_at)"
                    " SELECT sha256(convert_to(%s || g, 'UTF8')), %s, %s, now() - g * interval '1 hour'"
                    "   FROM unnest(ARRAY[1, 25]) g RETURNING id, expires_at < now() - interval '1 day'",
                    (tag, account.id, contact.id))
    old_ticket = [i for i, old in tickets if old][0]
    recent_ticket = [i for i, old in tickets if not old][0]
    with Mailer(SmtpServer().url) as mailer:
        wait_until(lambda: not query("SELECT 1 FROM cv.rate_counters WHERE bucket = %s",
                                     (f"hk-old:{tag}",)),
                   DELIVERY_TIMEOUT, "the counter whose window ended a day ago deleted")
        wait_until(lambda: "housekeeping: deleted" in mailer.log(), DELIVERY_TIMEOUT,
                   "the housekeeping logged")
    assert query("SELECT hits FROM cv.rate_counters WHERE bucket = %s",
                 (f"hk-recent:{tag}",)) == [(7,)], "a counter younger than a day was deleted"
    left = {r[0] for r in query("SELECT id FROM cv.login_tickets WHERE id = ANY(%s)",
                                ([old_ticket, recent_ticket],))}
    assert left == {recent_ticket}, left


def test_two_mailers_racing_on_1000_messages_deliver_each_exactly_once():
    account = create_account()
    contacts = add_contacts(account, 1000)
    send_many(account, contacts)        # no mailer runs: all 1000 wait
    assert statuses(account) == {"queued": 1000}, statuses(account)
    server = SmtpServer().start()
    try:
        with Mailer(server.url, name="a") as a, Mailer(server.url, name="b") as b:
            wait_until(lambda: statuses(account).get("sent") == 1000, 90,
                       f"all 1000 sent (now {statuses(account)})", poll=0.1)
            delivered = (a.delivered(), b.delivered())
        assert once_each(server, account) == 1000
        assert sum(delivered) >= 1000 and min(delivered) > 0, \
            f"both mailers should have delivered: {delivered}"
        assert query_one("SELECT max(attempts) FROM cv.outbox WHERE account_id = %s",
                         (account.id,))[0] == 1
    finally:
        server.stop()


def test_mailer_killed_mid_batch_loses_nothing():
    lease = 6
    account = create_account()
    contacts = add_contacts(account, 60)
    ours = {c.email.lower() for c in contacts}
    send_many(account, contacts)
    server = SmtpServer().start()
    try:
        # The 6th of our messages gets no answer: mailer a is then in the
        # middle of its first batch of 20, with 5 sent and 14 not started.
        server.hold_once(lambda rcpts: bool(ours.intersection(rcpts)) and
                         len(server.messages(ours)) >= 5)
        a = Mailer(server.url, name="a", lease=lease).start()
        try:
            assert server.held.wait(30), "no message reached the server"
            a.kill()
        finally:
            a.stop()
        server.release("451 4.3.0 too late")
        before = statuses(account)
        assert before.get("sent", 0) >= 5 and before.get("sending", 0) >= 1, before
        assert sum(before.values()) == 60, before
        with Mailer(server.url, name="b") as b:
            # The rows a had claimed come back when its lease ends.
            wait_until(lambda: query_one("SELECT count(*) = 0 FROM cv.outbox WHERE account_id = %s"
                                         " AND status = 'sending' AND next_attempt_at > now()",
                                         (account.id,))[0], lease + 10, "the lease to end")
            execute("NOTIFY cv_outbox")
            wait_until(lambda: statuses(account).get("sent") == 60, DELIVERY_TIMEOUT,
                       f"all 60 sent (now {statuses(account)})")
            # (b may also deliver other tests' leftovers that came due.)
            assert b.delivered() >= 60 - before["sent"], (b.delivered(), before)
        assert once_each(server, account) == 60
        taken_back = query_one("SELECT count(*) FROM cv.outbox WHERE account_id = %s"
                               " AND attempts = 2", (account.id,))[0]
        assert taken_back == before["sending"], (taken_back, before)
    finally:
        server.stop()
