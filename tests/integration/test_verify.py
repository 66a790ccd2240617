"""POST .../verify: the right code once, and one answer (13010) for every
way a code can be wrong; atomic consumption; code length and storage
(SPEC sections 2.2, 5)."""
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from stack import (API, assert_error, assert_exact, code_hash, compact, create_account, execute,
                   expect, passcode_not_found, query, query_one, request, send, send_and_get_code,
                   settle_outbox, setup, unique_email, verify, wait_for_mail, wrong_code)


def test_verify_answers_uuid_and_marks_email_verified():
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    assert contact.row()[0] is False
    resp = verify(account.key, contact.email, code)
    assert_exact(resp, 200, compact({"data": {"uuid": contact.uuid}, "meta": {}}))
    assert contact.row()[0] is True
    assert contact.live_passcode()[4] is not None, "the passcode is not marked used"


def test_verify_accepts_form_encoded_body():
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    resp = verify(account.key, contact.email, code, form=True)
    assert_exact(resp, 200, compact({"data": {"uuid": contact.uuid}, "meta": {}}))


def test_verify_accepts_email_in_any_case_with_whitespace():
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    resp = verify(account.key, f" {contact.email.upper()}  ", code)
    assert_exact(resp, 200, compact({"data": {"uuid": contact.uuid}, "meta": {}}))


def test_verify_rejects_missing_code():
    account, contact = setup()
    resp = request("POST", f"{API}/verify", {"email": contact.email}, key=account.key)
    assert_error(resp, 400, 1003, "Invalid input.", {"code": ["The code field is required."]})
    resp = request("POST", f"{API}/verify", {"email": contact.email, "code": "  "}, key=account.key)
    assert_error(resp, 400, 1003, "Invalid input.", {"code": ["The code field is required."]})
    resp = request("POST", f"{API}/verify", urllib.parse.urlencode({"email": contact.email}),
                   content_type="application/x-www-form-urlencoded", key=account.key)
    assert_error(resp, 400, 1003, "Invalid input.", {"code": ["The code field is required."]})


def test_verify_rejects_missing_email():
    account, _ = setup()
    resp = request("POST", f"{API}/verify", {"code": "123456"}, key=account.key)
    assert_error(resp, 400, 1003, "Invalid input.", {"email": ["The email field is required."]})


def test_verify_names_every_missing_field():
    account, _ = setup()
    resp = request("POST", f"{API}/verify", {}, key=account.key)
    assert_error(resp, 400, 1003, "Invalid input.", {"code": ["The code field is required."],
                                                      "email": ["The email field is required."]})


def test_verify_rejects_invalid_email():
    account, _ = setup()
    assert_error(verify(account.key, "not-an-email", "123456"), 400, 1003, "Invalid input.",
                 {"email": ["The email must be a valid email address."]})
    resp = request("POST", f"{API}/verify", {"email": 5, "code": "123456"}, key=account.key)
    assert_error(resp, 400, 1003, "Invalid input.", {"email": ["The email must be a string."]})


def test_verify_rejects_invalid_json_body():
    account, _ = setup()
    resp = request("POST", f"{API}/verify", '{"code":"123456","email":', content_type="application/json",
                   key=account.key)
    assert_error(resp, 400, 1003, "Invalid input.", {"body": ["The request body is not valid JSON."]})


def test_verify_rejects_unsupported_content_type():
    account, _ = setup()
    resp = request("POST", f"{API}/verify", "code=1&email=a@example.com", content_type="text/plain",
                   key=account.key)
    assert_error(resp, 415, 1415, "Unsupported media type.")


def test_verify_rejects_unknown_email_like_a_wrong_code():
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    unknown = verify(account.key, unique_email(), code)
    passcode_not_found(unknown)
    wrong = verify(account.key, contact.email, wrong_code(code))
    passcode_not_found(wrong)
    assert unknown.body == wrong.body


def test_verify_rejects_contact_without_code():
    account, contact = setup()
    passcode_not_found(verify(account.key, contact.email, "123456"))


def test_verify_rejects_wrong_code():
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    passcode_not_found(verify(account.key, contact.email, wrong_code(code)))
    passcode_not_found(verify(account.key, contact.email, "abcdef"))
    assert contact.live_passcode()[3] == 2, "wrong attempts are not counted"
    assert contact.row()[0] is False


def test_verify_rejects_expired_code():
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    n = execute("UPDATE cv.passcodes SET expires_at = now() - interval '1 second'"
                " WHERE contact_id = %s AND used_at IS NULL", (contact.id,))
    assert n == 1
    passcode_not_found(verify(account.key, contact.email, code))
    assert contact.row()[0] is False
    assert contact.live_passcode()[4] is None


def test_verify_accepts_code_until_it_expires():
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    execute("UPDATE cv.passcodes SET expires_at = now() + interval '5 seconds'"
            " WHERE contact_id = %s AND used_at IS NULL", (contact.id,))
    expect(verify(account.key, contact.email, code), 200)


def test_verify_rejects_used_code():
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    expect(verify(account.key, contact.email, code), 200)
    passcode_not_found(verify(account.key, contact.email, code))


def test_verify_burns_code_after_five_wrong_attempts():
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    for _ in range(5):
        passcode_not_found(verify(account.key, contact.email, wrong_code(code)))
    passcode_not_found(verify(account.key, contact.email, code))
    assert contact.row()[0] is False


def test_verify_accepts_right_code_after_four_wrong_attempts():
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    for _ in range(4):
        passcode_not_found(verify(account.key, contact.email, wrong_code(code)))
    expect(verify(account.key, contact.email, code), 200)


def test_send_after_burned_code_issues_working_code():
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    for _ in range(5):
        verify(account.key, contact.email, wrong_code(code))
    new_code, _ = send_and_get_code(contact)
    resp = verify(account.key, contact.email, new_code)
    assert_exact(resp, 200, compact({"data": {"uuid": contact.uuid}, "meta": {}}))


def test_verify_rejects_code_replaced_by_newer_send():
    account, contact = setup()
    old, _ = send_and_get_code(contact)
    new, _ = send_and_get_code(contact)
    while new == old:                   # one in a million
        new, _ = send_and_get_code(contact)
    passcode_not_found(verify(account.key, contact.email, old))
    expect(verify(account.key, contact.email, new), 200)
    live = query_one("SELECT count(*) FROM cv.passcodes WHERE contact_id = %s AND used_at IS NULL",
                     (contact.id,))[0]
    assert live == 0


def test_verify_concurrent_correct_submissions_exactly_one_succeeds():
    n = 8
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    barrier = threading.Barrier(n)

    def attempt(_):
        barrier.wait(timeout=10)
        return verify(account.key, contact.email, code)

    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(attempt, range(n)))
    ok = [a for a in answers if a.status == 200]
    assert len(ok) == 1, f"{len(ok)} of {n} concurrent verifications succeeded: {answers!r}"
    assert_exact(ok[0], 200, compact({"data": {"uuid": contact.uuid}, "meta": {}}))
    for a in answers:
        if a.status != 200:
            passcode_not_found(a)
    verified = [e for e in contact.events() if e[1] == 5002]
    assert len(verified) == 1, verified


def test_verify_concurrent_wrong_attempts_still_burn_code_after_five():
    n = 10
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    barrier = threading.Barrier(n)

    def attempt(_):
        barrier.wait(timeout=10)
        return verify(account.key, contact.email, wrong_code(code))

    with ThreadPoolExecutor(max_workers=n) as pool:
        for answer in pool.map(attempt, range(n)):
            passcode_not_found(answer)
    assert contact.live_passcode()[3] == 5, f"attempts = {contact.live_passcode()[3]}"
    passcode_not_found(verify(account.key, contact.email, code))
    locked = [e for e in contact.events() if e[1] == 5004]
    assert len(locked) == 1, locked


def test_verify_requires_user_app():
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    execute("DELETE FROM cv.user_apps WHERE account_id = %s", (account.id,))
    assert_error(verify(account.key, contact.email, code), 400, 55032, "User app not found.")
    assert contact.row()[0] is False


def test_verify_does_not_accept_code_through_another_account():
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    other = create_account()
    passcode_not_found(verify(other.key, contact.email, code))
    assert contact.row()[0] is False
    expect(verify(account.key, contact.email, code), 200)


def test_verify_rejects_other_methods_with_405():
    account, _ = setup()
    for method in ("GET", "HEAD", "PUT"):
        resp = request(method, f"{API}/verify", key=account.key)
        assert resp.status == 405, f"{method}: {resp!r}"
        assert resp.header("Allow") == "POST", resp.header("Allow")
        if method != "HEAD":
            assert_error(resp, 405, 1405, "Method not allowed.")


def test_code_has_six_digits_by_default_and_is_stored_as_keyed_hash():
    account, contact = setup()
    code, _ = send_and_get_code(contact, length=6)
    assert contact.live_passcode()[1].tobytes() == code_hash(code)
    expect(verify(account.key, contact.email, code), 200)


def test_code_length_follows_user_app():
    for length in (8, 10):
        account, contact = setup(code_length=length)
        code, _ = send_and_get_code(contact, length=length)
        assert len(code) == length
        assert contact.live_passcode()[1].tobytes() == code_hash(code)
        passcode_not_found(verify(account.key, contact.email, code[:6]))
        expect(verify(account.key, contact.email, code), 200)


def test_codes_are_not_repeated():
    # 6-digit codes: 20 sends that all collide would mean a broken generator.
    account, contact = setup()
    for _ in range(20):
        expect(send(account.key, contact.email), 200)
    hashes = query("SELECT code_hash FROM cv.passcodes WHERE contact_id = %s", (contact.id,))
    assert len(hashes) == 20
    assert len({h[0].tobytes() for h in hashes}) >= 18, "codes repeat"
    # Mail still queued for a replaced code is dropped: wait for what went out.
    for _ in range(settle_outbox(contact)):
        wait_for_mail(contact.email)
