"""The passcode in SQL (sql/functions/codes.sql and the endpoints on top of
it), called directly as the responders' role cv_app: a new send replaces
every earlier code of its purpose and the mailer's claim drops their mail,
five wrong tries burn a code, and a send and a verify (or a link) of the same
contact wait for each other instead of deadlocking, in the one order in which
they could: the send takes the contact first."""
import concurrent.futures
import hashlib
import secrets

import psycopg2

from mailers import wait_until
from stack import (NO_LIMITS, Session, code_hash, create_account, execute, query, query_one,
                   waiting_for_a_lock)

# The stack's mailer is stopped (run.py --mode mailer): the claims here are
# the only ones.
MODE = "mailer"


def key_hash(account):
    return hashlib.sha256(account.key.encode()).hexdigest()


def new_code():
    """Ten random digits: a send's code (the app's length is a prefix)."""
    return "".join(secrets.choice("0123456789") for _ in range(10))


def send(session, account, email, digits, link_hash=None):
    return session.call("api_send", key_hash(account), email, "00" * 48,
                        [code_hash(digits[:n]).hex() for n in range(6, 11)],
                        link_hash or secrets.token_hex(32), "https://cv.example.com", "itest",
                        "192.0.2.20")


def verify(session, account, email, digits):
    return session.call("api_verify", key_hash(account), email, code_hash(digits[:6]).hex(),
                        "192.0.2.20", "itest")


def passcodes(contact):
    return query("SELECT purpose, used_at IS NOT NULL, replaced FROM cv.passcodes"
                 " WHERE contact_id = %s ORDER BY id", (contact.id,))


def test_a_new_send_replaces_every_earlier_code_of_its_purpose_and_their_mail():
    account = create_account(limits=NO_LIMITS)
    contact = account.add_contact()
    execute("INSERT INTO cv.passcodes (contact_id, purpose, code_hash, link_hash, expires_at)"
            " VALUES (%s, 'verify_email', '\\x00', %s, now() + interval '1 day')",
            (contact.id, secrets.token_bytes(32)))
    first, second = new_code(), new_code()
    with Session() as app:
        assert send(app, account, contact.email, first)["result"] == 0
        assert send(app, account, contact.email, second)["result"] == 0
        # The registration code is another purpose's: untouched.
        assert passcodes(contact) == [("verify_email", False, False), ("login", True, True),
                                      ("login", False, False)]
        assert verify(app, account, contact.email, first) == \
            {"result": 13010, "contact_uuid": None, "retry_after": None}
        mail = dict(query("SELECT o.id, p.replaced FROM cv.outbox o"
                          " JOIN cv.passcodes p ON p.id = o.passcode_id WHERE o.contact_id = %s",
                          (contact.id,)))
        with Session("cv_mailer") as mailer:
            with mailer.conn.cursor() as cur:
                cur.execute("SELECT o.id, o.superseded, o.attempts FROM cv.outbox_claim(1000, 60) o")
                claimed = {i: (superseded, attempts) for i, superseded, attempts in cur.fetchall()}
            # The replaced code's mail is not to be sent, nor counted as an
            # attempt; the mailer records it expired.  The new one's is sent.
            assert {i: claimed[i] for i in mail} == \
                {i: (replaced, 0 if replaced else 1) for i, replaced in mail.items()}, claimed
            for i, replaced in mail.items():
                assert mailer.call("outbox_record", i, "expired" if replaced else "sent",
                                   "replaced by a newer code" if replaced else None, 60) == \
                    ("expired" if replaced else "sent")
        assert sorted(query("SELECT status, sealed IS NULL FROM cv.outbox WHERE contact_id = %s",
                            (contact.id,))) == [("expired", True), ("sent", True)]
        assert verify(app, account, contact.email, second)["result"] == 0
    assert passcodes(contact)[2] == ("login", True, False)


def test_five_wrong_codes_burn_the_code_and_the_right_one_no_longer_works():
    account = create_account(limits=NO_LIMITS)
    contact = account.add_contact()
    code = new_code()
    wrong = code[:5] + str((int(code[5]) + 1) % 10) + code[6:]
    with Session() as app:
        assert send(app, account, contact.email, code)["result"] == 0
        for attempt in range(1, 6):
            assert verify(app, account, contact.email, wrong)["result"] == 13010
            assert query_one("SELECT attempts FROM cv.passcodes WHERE contact_id = %s",
                             (contact.id,))[0] == attempt
        assert verify(app, account, contact.email, code)["result"] == 13010
    events = [(e, d.get("reason"), d.get("attempts"))
              for e, d in query("SELECT event_code, detail FROM cv.events WHERE contact_id = %s"
                                " AND event_id IN (5003, 5004) ORDER BY id", (contact.id,))]
    assert events == [("VERIFY_FAILED", "wrong_code", n) for n in range(1, 5)] + \
        [("CODE_LOCKED", "wrong_code", 5), ("VERIFY_FAILED", "locked", None)], events
    assert query_one("SELECT email_verified FROM cv.contacts WHERE id = %s", (contact.id,)) == \
        (False,)


def send_first_then(account, contact, second, what):
    """A send of contact that holds the contact's row when second (a
    function of a cv_app Session, using the contact's live code) starts:
    session holder takes the contact as a send does first, a send queues
    behind it, then second; released, the send goes first.  Had second
    taken the code before waiting for the contact, the send would now wait
    for the code and the two deadlock.  Returns (send's result, second's)."""
    with Session("postgres") as holder, Session() as sender, Session() as other:
        holder.begin()
        holder.conn.cursor().execute("SELECT 1 FROM cv.contacts WHERE id = %s FOR UPDATE",
                                     (contact.id,))
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            sent = pool.submit(send, sender, account, contact.email, new_code())
            wait_until(lambda: waiting_for_a_lock(sender.pid), 15, "the send waiting")
            done = pool.submit(second, other)
            wait_until(lambda: waiting_for_a_lock(other.pid), 15, f"the {what} waiting")
            holder.commit()
            try:
                return sent.result(timeout=30), done.result(timeout=30)
            except psycopg2.errors.DeadlockDetected as e:
                raise AssertionError(f"a send and a {what} of one contact deadlocked: {e}") from None


def test_a_send_and_a_verify_of_one_contact_wait_for_each_other_without_deadlock():
    account = create_account(limits=NO_LIMITS)
    contact = account.add_contact()
    code = new_code()
    with Session() as app:
        assert send(app, account, contact.email, code)["result"] == 0
    sent, verified = send_first_then(
        account, contact, lambda s: verify(s, account, contact.email, code), "verify")
    assert sent["result"] == 0, sent
    # The send went first and replaced the code the verify brought.
    assert verified["result"] == 13010, verified


def test_a_send_and_a_link_of_one_contact_wait_for_each_other_without_deadlock():
    account = create_account(limits=NO_LIMITS)
    contact = account.add_contact()
    link = secrets.token_hex(32)
    with Session() as app:
        assert send(app, account, contact.email, new_code(), link)["result"] == 0

    def click(session):
        return session.call("portal_verify", account.public_id, None, None, link, None,
                            "192.0.2.21", secrets.token_hex(32), "itest")

    sent, clicked = send_first_then(account, contact, click, "link")
    assert sent["result"] == 0, sent
    assert (clicked["result"], clicked["link_state"]) == (13010, "replaced"), clicked
