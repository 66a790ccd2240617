"""Sends and verifies of one contact in parallel (the lock order of sql/functions/codes.sql): no
deadlock, so never a 500, whatever interleaving."""
import concurrent.futures

import psycopg2
import psycopg2.errors

from mailers import wait_until
from stack import NO_LIMITS, create_account, env, query, send, verify
from test_portal import api, mailed_link_token, portal_account


def test_parallel_sends_and_verifies_of_one_contact_never_deadlock():
    account = create_account(limits=NO_LIMITS)
    contact = account.add_contact()
    send(account.key, contact.email)

    def one(i):
        if i % 2:
            return send(account.key, contact.email).status
        return verify(account.key, contact.email, "000000").status

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(one, range(400)))
    assert set(statuses) <= {200, 400}, sorted(set(statuses))


def test_portal_link_click_waits_for_the_contact_before_taking_its_code():
    """A send holds the contact, then marks its live code used.  A click on
    the portal link must wait for the contact before it takes the code, or
    the two deadlock and one answers 500 (cv.portal_verify, sql/functions/portal.sql).  The send is played by
    a transaction of our own, so the order is checked, not hoped for."""
    account = portal_account()
    contact = account.add_contact()
    token = mailed_link_token(account, contact)
    holder = psycopg2.connect(env("CV_PG_DSN"))
    try:
        cur = holder.cursor()
        cur.execute("SELECT 1 FROM cv.contacts WHERE id = %s FOR UPDATE", (contact.id,))
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            click = pool.submit(api, account, "verify", {"token": token})
            wait_until(lambda: query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                     " AND query LIKE '%cv.portal_verify(%'"),
                       15, "the link click waiting for a lock")
            try:
                cur.execute("SELECT 1 FROM cv.passcodes WHERE contact_id = %s AND used_at IS NULL"
                            " FOR UPDATE NOWAIT", (contact.id,))
            except psycopg2.errors.LockNotAvailable:
                raise AssertionError("the link click took the code before the contact: "
                                     "a send holding the contact would deadlock with it") from None
            finally:
                holder.rollback()
            resp = click.result(timeout=15)
        assert resp.status == 200, resp
    finally:
        holder.close()
