"""POST .../send: the body forms it accepts, its validation, contact and
user-app lookup, the resend cooldown and what a send leaves in the database
(README "API, POST .../send", "API, Errors", "Configuration")."""
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

from stack import (API, assert_error, assert_exact, assert_invalid_input, create_account, db_now,
                   execute, expect, query, query_one, request, send, send_success_body,
                   settle_outbox, setup, unique_email, wait_for_mail)

REQUIRED = "The email field is required."
INVALID = "The email must be a valid email address."
NOT_STRING = "The email must be a string."


def test_send_answers_exact_success_envelope():
    account, contact = setup()
    resp = send(account.key, contact.email)
    assert_exact(resp, 200, send_success_body(contact.email))
    wait_for_mail(contact.email)


def test_send_accepts_form_encoded_body():
    account, contact = setup()
    resp = send(account.key, contact.email, form=True)
    assert_exact(resp, 200, send_success_body(contact.email))
    wait_for_mail(contact.email)


def test_send_accepts_form_with_percent_encoded_email():
    account = create_account()
    contact = account.add_contact(f"a+b.{unique_email()}")
    body = "email=" + contact.email.replace("+", "%2B").replace("@", "%40")
    resp = request("POST", f"{API}/send", body, content_type="application/x-www-form-urlencoded",
                   key=account.key)
    assert_exact(resp, 200, send_success_body(contact.email))
    wait_for_mail(contact.email)


def test_send_accepts_json_content_type_with_charset_and_any_case():
    account = create_account()
    for ctype in ("application/json; charset=utf-8", "Application/JSON;charset=UTF-8"):
        contact = account.add_contact()
        resp = request("POST", f"{API}/send", json.dumps({"email": contact.email}),
                       content_type=ctype, key=account.key)
        assert_exact(resp, 200, send_success_body(contact.email))
        wait_for_mail(contact.email)


def test_send_finds_contact_case_insensitively_and_trimmed():
    account = create_account()
    stored_lower = account.add_contact(f"mixed{unique_email()}")
    stored_mixed = account.add_contact(f"MiXeD{unique_email()}".replace("@example.com", "@Example.com"))
    for contact, given in ((stored_lower, f"  {stored_lower.email.replace('mixed', 'MiXeD')} "),
                           (stored_mixed, f"\t{stored_mixed.email.lower()}  ")):
        resp = send(account.key, given)
        assert_exact(resp, 200, send_success_body(given.strip()))
        msg = wait_for_mail(contact.email)
        assert contact.email.lower() in str(msg["To"]).lower()


def test_send_rejects_missing_email():
    account, _ = setup()
    assert_error(request("POST", f"{API}/send", {}, key=account.key), 400, 1003, "Invalid input.",
                 {"email": [REQUIRED]})
    assert_error(request("POST", f"{API}/send", {"mail": "a@example.com"}, key=account.key),
                 400, 1003, "Invalid input.", {"email": [REQUIRED]})


def test_send_rejects_empty_body():
    account, _ = setup()
    for ctype in ("application/json", "application/x-www-form-urlencoded"):
        resp = request("POST", f"{API}/send", b"", content_type=ctype, key=account.key)
        assert_error(resp, 400, 1003, "Invalid input.", {"email": [REQUIRED]})


def test_send_rejects_empty_email():
    account, _ = setup()
    assert_error(send(account.key, ""), 400, 1003, "Invalid input.", {"email": [REQUIRED]})
    assert_error(send(account.key, "", form=True), 400, 1003, "Invalid input.", {"email": [REQUIRED]})


def test_send_rejects_whitespace_email():
    account, _ = setup()
    assert_error(send(account.key, " \t "), 400, 1003, "Invalid input.", {"email": [REQUIRED]})


def test_send_treats_null_email_as_missing():
    account, _ = setup()
    resp = request("POST", f"{API}/send", {"email": None}, key=account.key)
    assert_error(resp, 400, 1003, "Invalid input.", {"email": [REQUIRED]})


def test_send_rejects_invalid_email():
    account, _ = setup()
    for bad in ("not-an-email", "user@", "@example.com", "user@@example.com", "us er@example.com",
                "user@exa_mple.com", "user@-example.com", ".user@example.com",
                "user..x@example.com", "user@example..com", "<user@example.com>",
                "user@example.com\r\nBcc: x@example.com"):
        assert_error(send(account.key, bad), 400, 1003, "Invalid input.", {"email": [INVALID]})


def test_send_rejects_non_string_email():
    account, _ = setup()
    for value in (123, 1.5, True, ["u@example.com"], {"email": "u@example.com"}):
        resp = request("POST", f"{API}/send", {"email": value}, key=account.key)
        assert_error(resp, 400, 1003, "Invalid input.", {"email": [NOT_STRING]})


def test_send_rejects_email_longer_than_254_bytes():
    account, _ = setup()
    domain = ".".join(["d" * 60] * 3) + ".example.com"          # 194 bytes
    fits = "x" * (254 - 1 - len(domain)) + "@" + domain         # 254 bytes: valid, no such contact
    assert len(fits) == 254
    assert_error(send(account.key, fits), 400, 55031, "Contact not found.")
    assert_invalid_input(send(account.key, "x" + fits), "email")


def test_send_rejects_invalid_json_body():
    account, _ = setup()
    for body in ('{"email": ', "{email: 'a@example.com'}", '{"email":"a@example.com"} trailing',
                 '{"email":"a@example.com"}}', '{"email":"a@example.com" "x":1}'):
        resp = request("POST", f"{API}/send", body, content_type="application/json", key=account.key)
        assert_error(resp, 400, 1003, "Invalid input.", {"body": ["The request body is not valid JSON."]})


def test_send_rejects_json_extensions_that_are_not_json():
    # RFC 8259 has no trailing commas and no single-quoted strings.
    account, _ = setup()
    for body in ('{"email":"a@example.com",}', "{'email':'a@example.com'}"):
        resp = request("POST", f"{API}/send", body, content_type="application/json", key=account.key)
        assert_error(resp, 400, 1003, "Invalid input.", {"body": ["The request body is not valid JSON."]})


def test_send_accepts_json_with_surrounding_whitespace():
    account, contact = setup()
    body = '\r\n {"email": "%s"} \n\t' % contact.email
    resp = request("POST", f"{API}/send", body, content_type="application/json", key=account.key)
    assert_exact(resp, 200, send_success_body(contact.email))
    wait_for_mail(contact.email)


def test_send_rejects_json_body_that_is_not_an_object():
    account, _ = setup()
    for body in ('["a@example.com"]', '"a@example.com"', "42", "null"):
        resp = request("POST", f"{API}/send", body, content_type="application/json", key=account.key)
        assert_invalid_input(resp, "body")


def test_send_rejects_malformed_form_body():
    account, _ = setup()
    resp = request("POST", f"{API}/send", "email=a%zz%40example.com",
                   content_type="application/x-www-form-urlencoded", key=account.key)
    assert_invalid_input(resp, "body")


def test_send_rejects_unsupported_content_type():
    account, contact = setup()
    for ctype in ("text/plain", "application/xml", "multipart/form-data; boundary=x"):
        resp = request("POST", f"{API}/send", f"email={contact.email}", content_type=ctype, key=account.key)
        assert_error(resp, 415, 1415, "Unsupported media type.")
    assert query_one("SELECT count(*) FROM cv.passcodes WHERE contact_id = %s", (contact.id,))[0] == 0


def test_send_rejects_body_over_64_kib():
    account, contact = setup()
    head = json.dumps({"email": contact.email, "pad": ""})[:-2]
    body = head + "x" * (64 * 1024 + 1 - len(head) - 2) + '"}'
    assert len(body) == 64 * 1024 + 1
    resp = request("POST", f"{API}/send", body, content_type="application/json", key=account.key)
    assert_error(resp, 413, 1413, "Request body too large.")
    assert query_one("SELECT count(*) FROM cv.passcodes WHERE contact_id = %s", (contact.id,))[0] == 0


def test_send_reads_body_up_to_exactly_64_kib():
    # Up to the limit the body is read and validated: here it lacks the email.
    account, _ = setup()
    head = '{"pad":"'
    for size in (64 * 1024 - 1, 64 * 1024):
        body = head + "x" * (size - len(head) - 2) + '"}'
        assert len(body) == size
        resp = request("POST", f"{API}/send", body, content_type="application/json", key=account.key)
        assert_error(resp, 400, 1003, "Invalid input.", {"email": [REQUIRED]})


def test_send_rejects_unknown_contact():
    account, _ = setup()
    assert_error(send(account.key, unique_email()), 400, 55031, "Contact not found.")


def test_send_does_not_find_contact_of_another_account():
    _, contact = setup()
    other = create_account()
    assert_error(send(other.key, contact.email), 400, 55031, "Contact not found.")
    assert query_one("SELECT count(*) FROM cv.passcodes WHERE contact_id = %s", (contact.id,))[0] == 0


def test_send_requires_user_app():
    account, contact = setup(user_app=False)
    assert_error(send(account.key, contact.email), 400, 55032, "User app not found.")
    assert query_one("SELECT count(*) FROM cv.outbox WHERE contact_id = %s", (contact.id,))[0] == 0


def test_send_within_cooldown_answers_429_with_retry_after():
    account, contact = setup(resend_cooldown=30)
    expect(send(account.key, contact.email), 200)
    resp = send(account.key, contact.email)
    assert_error(resp, 429, 1029, "Too many attempts.")
    retry = resp.header("Retry-After")
    assert retry is not None and re.fullmatch(r"\d+", retry), f"Retry-After: {retry!r}"
    assert 1 <= int(retry) <= 30, f"Retry-After: {retry}"
    assert query_one("SELECT count(*) FROM cv.passcodes WHERE contact_id = %s", (contact.id,))[0] == 1
    assert query_one("SELECT count(*) FROM cv.outbox WHERE contact_id = %s", (contact.id,))[0] == 1
    wait_for_mail(contact.email)


def test_send_cooldown_defaults_to_60_seconds():
    account, contact = setup(resend_cooldown=None)
    assert query_one("SELECT resend_cooldown FROM cv.user_apps WHERE id = %s", (account.app,))[0] == 60
    expect(send(account.key, contact.email), 200)
    resp = send(account.key, contact.email)
    assert_error(resp, 429, 1029, "Too many attempts.")
    assert 50 <= int(resp.header("Retry-After")) <= 60, resp.header("Retry-After")
    wait_for_mail(contact.email)


def test_send_allowed_again_after_cooldown():
    account, contact = setup(resend_cooldown=60)
    expect(send(account.key, contact.email), 200)
    wait_for_mail(contact.email)
    expect(send(account.key, contact.email), 429)
    # Move the first code 61 s into the past on the database clock.
    execute("UPDATE cv.passcodes SET created_at = created_at - interval '61 seconds'"
            " WHERE contact_id = %s", (contact.id,))
    assert_exact(send(account.key, contact.email), 200, send_success_body(contact.email))
    wait_for_mail(contact.email)


def test_send_queues_one_outbox_row_with_the_code():
    account, contact = setup()
    before = db_now()
    expect(send(account.key, contact.email), 200)
    rows = query("SELECT o.purpose, o.to_email, o.message_id, o.passcode_id, p.id, p.purpose"
                 "  FROM cv.outbox o JOIN cv.passcodes p ON p.contact_id = o.contact_id"
                 " WHERE o.contact_id = %s", (contact.id,))
    assert len(rows) == 1, rows
    purpose, to_email, message_id, passcode_id, pid, ppurpose = rows[0]
    assert (purpose, ppurpose, to_email, passcode_id) == ("login", "login", contact.email, pid), rows[0]
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message_id), message_id
    created = float(query_one("SELECT extract(epoch FROM created_at) FROM cv.passcodes WHERE id = %s",
                              (pid,))[0])
    assert before - 1 <= created <= db_now() + 1
    wait_for_mail(contact.email)


def test_send_code_lifetime_defaults_to_10_minutes():
    account, contact = setup()
    expect(send(account.key, contact.email), 200)
    ttl = query_one("SELECT extract(epoch FROM expires_at - created_at) FROM cv.passcodes"
                    " WHERE contact_id = %s", (contact.id,))[0]
    assert abs(float(ttl) - 600) < 1, ttl
    wait_for_mail(contact.email)


def test_send_code_lifetime_follows_user_app():
    account, contact = setup(login_ttl=120)
    expect(send(account.key, contact.email), 200)
    ttl = query_one("SELECT extract(epoch FROM expires_at - created_at) FROM cv.passcodes"
                    " WHERE contact_id = %s", (contact.id,))[0]
    assert abs(float(ttl) - 120) < 1, ttl
    wait_for_mail(contact.email)


def test_send_rejects_other_methods_with_405():
    account, contact = setup()
    for method in ("GET", "HEAD", "PUT", "DELETE", "PATCH"):
        resp = request(method, f"{API}/send", key=account.key)
        assert resp.status == 405, f"{method}: {resp!r}"
        assert resp.header("Allow") == "POST", f"{method}: Allow: {resp.header('Allow')!r}"
        if method == "HEAD":
            assert resp.body == b"", resp.body
        else:
            assert_error(resp, 405, 1405, "Method not allowed.")
    assert query_one("SELECT count(*) FROM cv.passcodes WHERE contact_id = %s", (contact.id,))[0] == 0


def concurrently(n, func):
    barrier = threading.Barrier(n)

    def run(_):
        barrier.wait(timeout=10)
        return func()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_sends_within_cooldown_send_one_email():
    account, contact = setup(resend_cooldown=60)
    answers = concurrently(6, lambda: send(account.key, contact.email))
    assert sorted(a.status for a in answers) == [200] + [429] * 5, answers
    for a in answers:
        if a.status == 429:
            assert_error(a, 429, 1029, "Too many attempts.")
    assert query_one("SELECT count(*) FROM cv.passcodes WHERE contact_id = %s", (contact.id,))[0] == 1
    assert query_one("SELECT count(*) FROM cv.outbox WHERE contact_id = %s", (contact.id,))[0] == 1
    wait_for_mail(contact.email)


def test_concurrent_sends_leave_exactly_one_live_code():
    account, contact = setup()
    answers = concurrently(6, lambda: send(account.key, contact.email))
    refused = [a for a in answers if a.status != 200]
    assert not refused, f"with resend_cooldown 0, {len(refused)} of 6 concurrent sends were refused: {refused[0]!r}"
    live = query_one("SELECT count(*) FROM cv.passcodes WHERE contact_id = %s AND used_at IS NULL",
                     (contact.id,))[0]
    assert live == 1, f"{live} live codes after 6 concurrent sends"
    for _ in range(settle_outbox(contact)):
        wait_for_mail(contact.email)
