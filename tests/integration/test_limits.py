"""The limits (README "Configuration"), per account: sends per address per
hour, verify attempts per address per 15 minutes and per client address per
hour -- 429 with Retry-After (1029, or E429 in the Users Orchestrator
dialect), enforced atomically, and not reset by asking for a new code."""
import concurrent.futures

from stack import (assert_error, create_account, execute, expect, query, send, send_and_get_code,
                   unique_email, verify, wait_for_mail, wrong_code)
from test_orchestrator import V4, VERIFY, Tenant, assert_v4


def assert_limited(resp, window):
    assert_error(resp, 429, 1029, "Too many attempts.")
    assert 0 < int(resp.header("Retry-After")) <= window, resp.headers


def test_schema_defaults_are_the_spec_limits():
    defaults = dict(query(
        "SELECT column_name, column_default FROM information_schema.columns"
        " WHERE table_schema = 'cv' AND table_name = 'accounts'"
        "   AND column_name IN ('sends_per_hour', 'verifies_per_email', 'verifies_per_ip')"))
    assert defaults == {"sends_per_hour": "5", "verifies_per_email": "10",
                        "verifies_per_ip": "100"}, defaults


def test_sends_per_address_per_hour():
    account = create_account(limits={"sends_per_hour": 2})
    contact, other = account.add_contact(), account.add_contact()
    expect(send(account.key, contact.email), 200)
    expect(send(account.key, contact.email.upper()), 200)   # the same address
    assert_limited(send(account.key, contact.email), 3600)
    expect(send(account.key, other.email), 200)             # another address is separate
    wait_for_mail(contact.email)


def test_sends_per_hour_window_slides_with_the_first_send():
    account = create_account(limits={"sends_per_hour": 2})
    contact = account.add_contact()
    expect(send(account.key, contact.email), 200)
    expect(send(account.key, contact.email), 200)
    # The first send is 50 minutes old (on the database clock): the window
    # of the last hour frees it in about ten minutes.
    execute("UPDATE cv.passcodes SET created_at = created_at - interval '50 minutes'"
            " WHERE id = (SELECT min(id) FROM cv.passcodes WHERE contact_id = %s)", (contact.id,))
    resp = send(account.key, contact.email)
    assert_limited(resp, 600)
    assert int(resp.header("Retry-After")) > 540, resp.headers
    # An hour after it, that send no longer counts; the second still does.
    execute("UPDATE cv.passcodes SET created_at = created_at - interval '11 minutes'"
            " WHERE id = (SELECT min(id) FROM cv.passcodes WHERE contact_id = %s)", (contact.id,))
    expect(send(account.key, contact.email), 200)
    assert_limited(send(account.key, contact.email), 3600)


def parallel_statuses(call, n=10):
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return sorted(pool.map(lambda i: call(i).status, range(n)))


def test_parallel_sends_cannot_slip_past_the_limit():
    account = create_account(limits={"sends_per_hour": 3})
    contact = account.add_contact()

    statuses = parallel_statuses(lambda _: send(account.key, contact.email))
    assert statuses.count(200) == 3 and statuses.count(429) == 7, statuses


def test_parallel_verifies_of_one_address_cannot_slip_past_the_limit():
    account = create_account(limits={"verifies_per_email": 3})
    email = unique_email()
    statuses = parallel_statuses(lambda _: verify(account.key, email, "123456"))
    assert statuses.count(400) == 3 and statuses.count(429) == 7, statuses


def test_parallel_verifies_from_one_client_address_cannot_slip_past_the_limit():
    account = create_account(limits={"verifies_per_ip": 3})
    emails = [unique_email() for _ in range(10)]
    statuses = parallel_statuses(lambda i: verify(account.key, emails[i], "123456"))
    assert statuses.count(400) == 3 and statuses.count(429) == 7, statuses


def test_verify_attempts_per_address_survive_a_new_code():
    account = create_account(limits={"verifies_per_email": 3})
    contact = account.add_contact()
    code, _ = send_and_get_code(contact)
    for _ in range(3):
        resp = verify(account.key, contact.email, wrong_code(code))
        assert_error(resp, 400, 13010, "Passcode not found.")
    assert_limited(verify(account.key, contact.email, code), 900)
    # A new code does not buy new guesses: the limit is per address.
    new_code, _ = send_and_get_code(contact)
    assert_limited(verify(account.key, contact.email, new_code), 900)


def test_verify_attempts_per_client_address():
    account = create_account(limits={"verifies_per_ip": 3})
    emails = [unique_email() for _ in range(4)]
    for e in emails[:3]:
        assert_error(verify(account.key, e, "123456"), 400, 13010, "Passcode not found.")
    assert_limited(verify(account.key, emails[3], "123456"), 3600)


def test_users_orchestrator_limits_answer_e429():
    account = create_account(limits={"sends_per_hour": 1, "verifies_per_email": 1})
    t = Tenant(account)
    email = unique_email()
    assert_v4(t.post(V4, {"email": email}), 200, "UsersOrchestrator_S200")
    resp = t.post(V4, {"email": email})
    assert_v4(resp, 429, "UsersOrchestrator_E429")
    assert 0 < int(resp.header("Retry-After")) <= 3600
    wait_for_mail(email)
    assert_v4(t.post(VERIFY, {"email": email, "verificationCode": "000000"}), 400,
              "UsersOrchestrator_E400_15")
    resp = t.post(VERIFY, {"email": email, "verificationCode": "000000"})
    assert_v4(resp, 429, "UsersOrchestrator_E429")
    assert 0 < int(resp.header("Retry-After")) <= 900
