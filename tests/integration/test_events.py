"""The events table (README "Logs, schema, events"): each step of send,
delivery, verify and auth token leaves one row with its code, numeric id and
request id."""
import json

from stack import (auth_token, execute, expect, mail_code, passcode_not_found, send, setup, verify,
                   wait_for_mail, wait_outbox_final, wrong_code)


def ids(contact):
    return [e[1] for e in contact.events()]


def test_events_record_each_step_of_the_flow():
    account, contact = setup()
    sent = send(account.key, contact.email)
    expect(sent, 200)
    code = mail_code(wait_for_mail(contact.email))
    wait_outbox_final(contact)
    passcode_not_found(verify(account.key, contact.email, wrong_code(code)))
    verified = verify(account.key, contact.email, code)
    expect(verified, 200)
    issued = auth_token(account.key, contact.uuid)
    expect(issued, 200)

    events = contact.events()
    names = {e[1]: e[0] for e in events}
    assert sorted(ids(contact)) == [5001, 5002, 5003, 5005, 5007], events
    assert names == {5001: "CODE_SENT", 5002: "CODE_VERIFIED", 5003: "VERIFY_FAILED",
                     5005: "EMAIL_DELIVERED", 5007: "AUTH_TOKEN_ISSUED"}, names
    order = ids(contact)
    assert order.index(5001) < order.index(5005) and order.index(5001) < order.index(5003) \
        < order.index(5002) < order.index(5007), order
    by_id = {e[1]: e for e in events}
    # Request events carry the request id the client saw in X-Request-Id.
    for event_id, resp in ((5001, sent), (5002, verified), (5007, issued)):
        rid = resp.header("X-Request-Id")
        assert rid and by_id[event_id][3] == rid, (event_id, by_id[event_id], rid)
    for e in events:
        assert isinstance(json.loads(e[2]), dict), e


def test_events_record_code_locked_on_fifth_wrong_attempt():
    account, contact = setup()
    expect(send(account.key, contact.email), 200)
    code = mail_code(wait_for_mail(contact.email))
    for _ in range(5):
        passcode_not_found(verify(account.key, contact.email, wrong_code(code)))
    passcode_not_found(verify(account.key, contact.email, code))
    failures = [e[1] for e in contact.events() if e[1] in (5003, 5004)]
    assert failures == [5003, 5003, 5003, 5003, 5004, 5003], failures


def test_events_record_failed_verify_for_expired_code():
    account, contact = setup()
    expect(send(account.key, contact.email), 200)
    code = mail_code(wait_for_mail(contact.email))
    wait_outbox_final(contact)
    before = len(contact.events())
    execute("UPDATE cv.passcodes SET expires_at = now() - interval '1 second' WHERE contact_id = %s",
            (contact.id,))
    resp = verify(account.key, contact.email, code)
    passcode_not_found(resp)
    rid = resp.header("X-Request-Id")
    assert rid, resp.headers
    new = contact.events()[before:]
    assert [(e[0], e[1], json.loads(e[2]), e[3]) for e in new] == \
        [("VERIFY_FAILED", 5003, {"reason": "expired"}, rid)], new
