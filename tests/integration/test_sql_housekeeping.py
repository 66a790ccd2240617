"""cv.housekeeping (sql/functions/housekeeping.sql), called as the mailer's
role cv_mailer as cv-mailer calls it: it deletes exactly the rate-limit
counters whose window started over a day ago and the login tickets that
expired over a day ago, answers how many, and keeps everything else, codes,
mail and events included (they are history)."""
import secrets
import uuid

from stack import Session, execute, query, query_one, setup

# The stack's mailer is stopped (run.py --mode mailer), so no housekeeping
# of its own runs meanwhile.
MODE = "mailer"

# Ages relative to the one-day horizon: a minute on either side of it.
ENDED, NOT_ENDED = "1 day 1 minute", "1 day -1 minute"


def test_housekeeping_deletes_exactly_the_ended_counters_and_tickets():
    account, contact = setup()
    tag = uuid.uuid4().hex
    counters = {f"itest:{tag}:{age}": age for age in (ENDED, NOT_ENDED, "0 s")}
    for bucket, age in counters.items():
        execute("INSERT INTO cv.rate_counters VALUES (%s, clock_timestamp() - %s::interval, 1)",
                (bucket, age))
    tickets = {}
    for age in (ENDED, NOT_ENDED, "-2 minutes"):
        tickets[query_one("INSERT INTO cv.login_tickets (ticket_hash, account_id, contact_id,"
                          " expires_at) VALUES (%s, %s, %s, now() - %s::interval) RETURNING id",
                          (secrets.token_bytes(32), account.id, contact.id, age))[0]] = age
    # History of the same age stays: a code, its mail, an event.
    execute("INSERT INTO cv.passcodes (contact_id, purpose, code_hash, link_hash, expires_at,"
            " created_at) VALUES (%s, 'login', '\\x00', %s, now() - interval '2 days',"
            " now() - interval '2 days')", (contact.id, secrets.token_bytes(32)))
    execute("INSERT INTO cv.events (account_id, contact_id, event_code, event_id, created_at)"
            " VALUES (%s, %s, 'CODE_SENT', 5001, now() - interval '2 days')",
            (account.id, contact.id))
    history = query_one("SELECT (SELECT count(*) FROM cv.passcodes WHERE contact_id = %s),"
                        " (SELECT count(*) FROM cv.events WHERE contact_id = %s)",
                        (contact.id, contact.id))
    # What has ended anywhere in the database (other tests' rows are recent).
    ended = query_one("SELECT (SELECT count(*) FROM cv.rate_counters"
                      "         WHERE window_start < now() - interval '1 day'),"
                      " (SELECT count(*) FROM cv.login_tickets"
                      "         WHERE expires_at < now() - interval '1 day')")
    assert ended[0] >= 1 and ended[1] >= 1, ended

    with Session("cv_mailer") as mailer:
        assert mailer.call("housekeeping") == {"counters": ended[0], "tickets": ended[1]}
        assert mailer.call("housekeeping") == {"counters": 0, "tickets": 0}

    left = {b for (b,) in query("SELECT bucket FROM cv.rate_counters WHERE bucket LIKE %s",
                                (f"itest:{tag}:%",))}
    assert left == {b for b, age in counters.items() if age != ENDED}, left
    left = {i for (i,) in query("SELECT id FROM cv.login_tickets WHERE contact_id = %s",
                                (contact.id,))}
    assert left == {i for i, age in tickets.items() if age != ENDED}, left
    assert query_one("SELECT (SELECT count(*) FROM cv.passcodes WHERE contact_id = %s),"
                     " (SELECT count(*) FROM cv.events WHERE contact_id = %s)",
                     (contact.id, contact.id)) == history
    execute("DELETE FROM cv.rate_counters WHERE bucket LIKE %s", (f"itest:{tag}:%",))
