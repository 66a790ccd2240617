"""The login portal (issue 8, README "Login portal"): the public JSON
endpoints and their CORS policy, enumeration-safe answers, the login ticket
(single use, expiry, account), and the hosted page as plain forms (security
headers, CSRF, the code and link flows)."""
import hashlib
import json
import re
import urllib.parse

import psycopg2

from stack import (API, NO_LIMITS, Browser, assert_error, create_account, execute, form_field,
                   held_mail, jwt_verify, mail_code, page_text, query, query_one, request, text_part,
                   unique_email, wait_for_mail)
from test_verify import (TIMING_ADDRESSES, TIMING_ROUNDS, assert_timing_alike, timing_contacts,
                         timing_pairs, verify_timing_pairs)

ORIGIN = "https://shop.example.com"
PORTAL_URL = "https://shop.example.com/after-login"


def portal_account(**app):
    cols = {"portal_url": PORTAL_URL, "allowed_origins": [ORIGIN], "brand_color": "#aa3300",
            "resend_cooldown": 60}
    cols.update(app)
    return create_account(**cols)


def api(account, action, body, origin=ORIGIN, method="POST", public_id=None):
    headers = {"Origin": origin} if origin else {}
    path = f"/portal/v1/{public_id or account.public_id}/login/{action}"
    if method == "OPTIONS":
        headers["Access-Control-Request-Method"] = "POST"
        headers["Access-Control-Request-Headers"] = "content-type"
        return request("OPTIONS", path, headers=headers)
    return request(method, path, body, headers=headers)


def login_code(account, contact):
    """Starts a login through the API and returns the code from the mail."""
    resp = api(account, "code", {"email": contact.email})
    assert resp.status == 200, resp
    return mail_code(wait_for_mail(contact.email))


def mailed_link_token(account, contact):
    """Starts a login through the API and returns the link token from the mail."""
    assert api(account, "code", {"email": contact.email}).status == 200
    text = text_part(wait_for_mail(contact.email))
    m = re.search(r"/login/" + re.escape(account.public_id) + r"\?token=([A-Za-z0-9_-]{43})", text)
    assert m, text
    return m.group(1)


def ticket_for(account, contact):
    code = login_code(account, contact)
    resp = api(account, "verify", {"email": contact.email, "code": code})
    assert resp.status == 200, resp
    return resp.json()["data"]["ticket"]


def exchange(key, ticket):
    return request("POST", f"{API}/login-ticket", {"ticket": ticket}, key=key)


def outbox_rows(account):
    return query_one("SELECT count(*) FROM cv.outbox WHERE account_id = %s", (account.id,))[0]


# ---------------------------------------------------------------- CORS

def test_portal_preflight_allowed_origin():
    account = portal_account()
    resp = api(account, "code", None, method="OPTIONS")
    assert resp.status == 204, resp
    assert resp.body == b""
    assert resp.header("Access-Control-Allow-Origin") == ORIGIN
    assert "POST" in resp.header("Access-Control-Allow-Methods")
    assert "content-type" in resp.header("Access-Control-Allow-Headers").lower()
    assert int(resp.header("Access-Control-Max-Age")) > 0
    assert resp.header("Vary") == "Origin"
    assert resp.header("Access-Control-Allow-Credentials") is None


def test_portal_preflight_refused_origin():
    account = portal_account()
    resp = api(account, "verify", None, origin="https://evil.example.net", method="OPTIONS")
    assert_error(resp, 403, 1403, "Origin not allowed.")
    assert resp.header("Access-Control-Allow-Origin") is None


def test_portal_refused_origin_sends_nothing():
    account = portal_account()
    contact = account.add_contact()
    for origin in ("https://evil.example.net", "null", "https://shop.example.com.evil.net",
                   "https://shop.example.com/path"):
        resp = api(account, "code", {"email": contact.email}, origin=origin)
        assert_error(resp, 403, 1403, "Origin not allowed.")
        assert resp.header("Access-Control-Allow-Origin") is None
    assert outbox_rows(account) == 0


def test_portal_allowed_origin_gets_cors_headers_also_on_errors():
    account = portal_account()
    resp = api(account, "code", {"email": "not an address"})
    assert_error(resp, 400, 1003, "Invalid input.",
                 {"email": ["The email must be a valid email address."]})
    assert resp.header("Access-Control-Allow-Origin") == ORIGIN
    assert "Retry-After" in resp.header("Access-Control-Expose-Headers")


def test_portal_credentials_only_when_configured():
    account = portal_account(allow_credentials=True)
    resp = api(account, "code", None, method="OPTIONS")
    assert resp.status == 204, resp
    assert resp.header("Access-Control-Allow-Credentials") == "true"


def test_portal_without_origin_has_no_cors_headers():
    account = portal_account()
    resp = api(account, "code", {"email": unique_email()}, origin=None)
    assert resp.status == 200, resp
    assert resp.header("Access-Control-Allow-Origin") is None


def test_portal_unknown_or_inactive_app_is_404():
    resp = request("POST", "/portal/v1/pa_doesnotexist0000/login/code", {"email": unique_email()},
                   headers={"Origin": ORIGIN})
    assert_error(resp, 404, 1404, "Not found.")
    account = portal_account()
    execute("UPDATE cv.accounts SET status = 'inactive' WHERE id = %s", (account.id,))
    resp = api(account, "code", {"email": unique_email()})
    assert_error(resp, 404, 1404, "Not found.")
    resp = request("POST", f"/portal/v1/{account.public_id}/login/other", {"email": "a@b.cd"})
    assert resp.status == 404, resp


# ---------------------------------------------------------------- enumeration safety

def test_portal_code_answers_alike_for_unknown_address():
    account = portal_account()
    contact = account.add_contact()
    known = api(account, "code", {"email": contact.email})
    unknown = api(account, "code", {"email": unique_email("nobody")})
    assert known.status == unknown.status == 200
    assert known.body == unknown.body
    wait_for_mail(contact.email)
    assert outbox_rows(account) == 1, "mail was queued for an unknown address"
    # The limits answer alike too: the cooldown counts per address.
    known2 = api(account, "code", {"email": contact.email})
    unknown2 = api(account, "code", {"email": unique_email("nobody")})
    unknown3 = api(account, "code", {"email": "NOBODY-AGAIN@example.com"})
    unknown4 = api(account, "code", {"email": "nobody-again@example.com"})
    assert known2.status == 429 and unknown2.status == 200 and unknown4.status == 429, \
        (known2, unknown2, unknown4)
    assert unknown3.status == 200
    assert known2.body == unknown4.body
    assert known2.header("Retry-After") == unknown4.header("Retry-After")


def test_portal_code_time_does_not_reveal_contacts():
    """login/code takes as long for an address of no contact as for a
    contact's (README "Login portal", "Enumeration safety": a stranger's
    send runs the same work in a rolled-back subtransaction): 300
    interleaved pairs, as test_verify_time_does_not_reveal_contacts, each
    of the 60 + 60 addresses asked for a code 5 times, every answer the
    same 200, a mail queued for each contact's send and none for a
    stranger's."""
    account = portal_account(resend_cooldown=0, limits=NO_LIMITS)
    known = [account.add_contact().email for _ in range(TIMING_ADDRESSES + 8)]
    unknown = [unique_email("nobody") for _ in known]
    path = f"/portal/v1/{account.public_id}/login/code"
    answers = set()

    def answer_ok(status, answer):
        answers.add(answer)
        return status == 200

    def pairs(known, unknown, rounds=TIMING_ROUNDS):
        return timing_pairs(path, {"Origin": ORIGIN}, known, unknown,
                            lambda email_addr: {"email": email_addr}, answer_ok, rounds)

    # The mail waits (a trigger): a delivery after a contact's answer would
    # slow the request after it, which is not this request's own time.
    with held_mail(account=account.id):
        pairs(known[-8:], unknown[-8:], rounds=1)
        measured = pairs(known[:-8], unknown[:-8])
    assert_timing_alike("portal login/code", measured)
    assert len(answers) == 1, answers
    assert json.loads(answers.pop())["data"]["resend_after"] == 0
    assert query_one("SELECT count(*) FROM cv.contacts WHERE account_id = %s",
                     (account.id,))[0] == len(known), "a stranger became a contact"
    assert outbox_rows(account) == 8 + len(measured), "not one mail per contact's send"


def test_portal_verify_time_does_not_reveal_contacts():
    """login/verify, the portal's public verify, takes as long for an address
    of no contact as for a contact's wrong code (cv.check_code_decoy, sql/functions/codes.sql): 300
    interleaved pairs, as test_verify_time_does_not_reveal_contacts (before
    the decoy: +0.23-0.53 ms, the contact slower in up to 80 % of pairs)."""
    account = portal_account(limits=NO_LIMITS)
    known, unknown = timing_contacts(account)
    path = f"/portal/v1/{account.public_id}/login/verify"
    headers = {"Origin": ORIGIN}
    verify_timing_pairs(account, known[-8:], unknown[-8:], rounds=1, path=path, headers=headers)
    assert_timing_alike("portal login/verify", verify_timing_pairs(
        account, known[:-8], unknown[:-8], path=path, headers=headers))


def test_portal_send_limit_per_client_address():
    account = portal_account(limits={"verifies_per_ip": 3})
    answers = [api(account, "code", {"email": unique_email()}).status for _ in range(4)]
    assert answers == [200, 200, 200, 429], answers


def test_portal_send_limit_per_address_alike_for_contacts_and_strangers():
    account = portal_account(resend_cooldown=0, limits={"sends_per_hour": 2})
    contact = account.add_contact()
    for email in (contact.email, unique_email("nobody")):
        answers = [api(account, "code", {"email": email}) for _ in range(3)]
        assert [a.status for a in answers] == [200, 200, 429], answers
        assert 0 < int(answers[2].header("Retry-After")) <= 3600, answers[2].headers
    assert len(query("SELECT 1 FROM cv.passcodes p JOIN cv.contacts c ON c.id = p.contact_id"
                     " WHERE c.account_id = %s", (account.id,))) == 2


def test_portal_verify_attempts_per_address():
    account = portal_account(limits={"verifies_per_email": 2})
    contact = account.add_contact()
    code = login_code(account, contact)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(2):
        assert_error(api(account, "verify", {"email": contact.email, "code": wrong}), 400, 13010,
                     "Passcode not found.")
    # The right code no longer helps: attempts count per address.
    assert_error(api(account, "verify", {"email": contact.email, "code": code}), 429, 1029,
                 "Too many attempts.")


def test_portal_verify_answers_alike_for_unknown_address_and_wrong_code():
    account = portal_account()
    contact = account.add_contact()
    code = login_code(account, contact)
    wrong = "000000" if code != "000000" else "111111"
    a = api(account, "verify", {"email": contact.email, "code": wrong})
    b = api(account, "verify", {"email": unique_email("nobody"), "code": code})
    assert_error(a, 400, 13010, "Passcode not found.")
    assert a.body == b.body
    assert a.header("Access-Control-Allow-Origin") == ORIGIN


# ---------------------------------------------------------------- tickets

def test_portal_ticket_exchanged_once_for_uuid_and_token():
    account = portal_account()
    contact = account.add_contact()
    code = login_code(account, contact)
    resp = api(account, "verify", {"email": contact.email, "code": code})
    assert resp.status == 200, resp
    data = resp.json()["data"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", data["ticket"])
    assert 0 < data["expires_in"] <= 300
    assert data["redirect_url"] == f"{PORTAL_URL}?ticket={data['ticket']}"
    stored = query("SELECT ticket_hash FROM cv.login_tickets WHERE account_id = %s", (account.id,))
    assert len(stored) == 1 and data["ticket"].encode() not in bytes(stored[0][0])
    assert bytes(stored[0][0]) == hashlib.sha256(data["ticket"].encode()).digest()
    first = exchange(account.key, data["ticket"])
    assert first.status == 200, first
    got = first.json()["data"]
    assert got["uuid"] == contact.uuid
    _, claims = jwt_verify(got["auth_token"], account.token_secret)
    assert claims["sub"] == contact.uuid and claims["email_verified"] is True
    again = exchange(account.key, data["ticket"])
    assert_error(again, 400, 1410, "The login ticket is invalid or has expired.")
    codes = [r[1] for r in contact.events()]
    assert 5010 in codes and 5011 in codes


def test_portal_ticket_expired_is_refused():
    account = portal_account()
    contact = account.add_contact()
    ticket = ticket_for(account, contact)
    execute("UPDATE cv.login_tickets SET expires_at = now() - interval '1 second'"
            " WHERE account_id = %s", (account.id,))
    assert_error(exchange(account.key, ticket), 400, 1410,
                 "The login ticket is invalid or has expired.")


def test_portal_ticket_of_another_account_is_refused_and_kept():
    account = portal_account()
    other = portal_account()
    contact = account.add_contact()
    ticket = ticket_for(account, contact)
    assert_error(exchange(other.key, ticket), 400, 1410,
                 "The login ticket is invalid or has expired.")
    assert exchange(account.key, ticket).status == 200


def test_portal_ticket_exchange_needs_api_key_and_ticket():
    account = portal_account()
    resp = request("POST", f"{API}/login-ticket", {"ticket": "x" * 43})
    assert resp.status == 401, resp
    resp = request("POST", f"{API}/login-ticket", {}, key=account.key)
    assert_error(resp, 400, 1003, "Invalid input.", {"ticket": ["The ticket field is required."]})


def test_portal_ticket_lifetime_is_at_most_five_minutes():
    account = portal_account()
    try:
        execute("UPDATE cv.user_apps SET ticket_ttl = 301 WHERE account_id = %s", (account.id,))
    except psycopg2.errors.CheckViolation as e:
        assert "ticket_ttl" in str(e), e
    else:
        raise AssertionError("a ticket_ttl of 301 s was accepted")


def test_portal_verify_with_link_token():
    account = portal_account()
    contact = account.add_contact()
    token = mailed_link_token(account, contact)
    resp = api(account, "verify", {"token": token})
    assert resp.status == 200, resp
    assert exchange(account.key, resp.json()["data"]["ticket"]).json()["data"]["uuid"] == contact.uuid
    resp = api(account, "verify", {"token": token})
    assert_error(resp, 400, 13010, "Passcode not found.")


def test_portal_link_of_another_account_is_refused_and_kept():
    account = portal_account()
    contact = account.add_contact()
    token = mailed_link_token(account, contact)
    other = portal_account()
    assert_error(api(other, "verify", {"token": token}), 400, 13010, "Passcode not found.")
    assert api(account, "verify", {"token": token}).status == 200


# ---------------------------------------------------------------- the hosted page

def assert_page_headers(resp, frame_ancestors="'none'"):
    csp = resp.header("Content-Security-Policy")
    assert csp, resp
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'", csp
    assert "unsafe-inline" not in csp
    assert directives["frame-ancestors"] == frame_ancestors, csp
    assert resp.header("Referrer-Policy") == "no-referrer"
    assert resp.header("X-Content-Type-Options") == "nosniff"
    assert "<script>" not in page_text(resp) and " on" + "click=" not in page_text(resp)


def test_portal_page_security_headers_on_every_page():
    account = portal_account(frame_ancestors="https://shop.example.com")
    browser = Browser(account)
    first = browser.get()
    assert first.status == 200 and first.header("Content-Type").startswith("text/html")
    assert_page_headers(first, "https://shop.example.com")
    assert "form-action 'self' https://shop.example.com" in first.header("Content-Security-Policy")
    bad = browser.post({"csrf": form_field(first, "csrf"), "step": "email", "email": "nope"})
    assert bad.status == 200 and "Please enter a valid email address." in page_text(bad)
    assert_page_headers(bad, "https://shop.example.com")
    missing = request("GET", "/login/pa_doesnotexist0000")
    assert missing.status == 404
    assert missing.header("Referrer-Policy") == "no-referrer"
    assert "frame-ancestors 'none'" in missing.header("Content-Security-Policy")


def test_portal_page_refuses_post_without_valid_csrf():
    account = portal_account()
    contact = account.add_contact()
    browser = Browser(account)
    page = browser.get()
    token = form_field(page, "csrf")
    # No cookie (a cross-site form post), a forged token, another app's token.
    stranger = Browser(account)
    assert stranger.post({"csrf": token, "step": "email", "email": contact.email}).status == 403
    assert browser.post({"csrf": "1." + "A" * 43, "step": "email",
                         "email": contact.email}).status == 403
    assert browser.post({"step": "email", "email": contact.email}).status == 403
    other = portal_account()
    assert Browser(other).post({"csrf": token, "step": "email",
                                "email": contact.email}).status == 403
    # With the right cookie: another app's token for it, and this app's
    # token with its MAC altered (fresh, so only the MAC can refuse it).
    twin = Browser(other)
    twin.cookie = browser.cookie
    other_token = form_field(twin.get(), "csrf")
    assert browser.post({"csrf": other_token, "step": "email",
                         "email": contact.email}).status == 403
    i = len(token) - 10
    forged = token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1:]
    assert browser.post({"csrf": forged, "step": "email", "email": contact.email}).status == 403
    assert outbox_rows(account) == 0


def test_portal_page_no_javascript_code_flow():
    account = portal_account()
    contact = account.add_contact()
    browser = Browser(account)
    page = browser.get()
    assert browser.cookie, "no cv_csrf cookie"
    assert 'autocomplete="email"' in page_text(page)
    sent = browser.post({"csrf": form_field(page, "csrf"), "step": "email",
                         "email": contact.email})
    assert sent.status == 200, sent
    body = page_text(sent)
    assert 'autocomplete="one-time-code"' in body and 'inputmode="numeric"' in body
    assert '<label for="code">' in body and 'role="alert"' in body
    assert 'data-wait="60"' in body, "the resend countdown starts at the cooldown"
    code = mail_code(wait_for_mail(contact.email))
    spaced = code[:3] + " " + code[3:]     # pasted with a space
    done = browser.post({"csrf": form_field(sent, "csrf"), "step": "code", "email": contact.email,
                         "code": spaced})
    assert done.status == 303, done
    location = done.header("Location")
    assert location.startswith(PORTAL_URL + "?ticket="), location
    ticket = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["ticket"][0]
    assert exchange(account.key, ticket).json()["data"]["uuid"] == contact.uuid


def test_portal_page_wrong_code_and_unknown_address_look_alike():
    account = portal_account()
    contact = account.add_contact()
    browser = Browser(account)
    page = browser.get()
    csrf = form_field(page, "csrf")
    known = browser.post({"csrf": csrf, "step": "email", "email": contact.email})
    unknown = browser.post({"csrf": csrf, "step": "email", "email": "stranger@example.com"})
    strip = lambda r: re.sub(r'value="\d+\.[^"]+"|nonce="[^"]+"|[\w.+-]+@example\.com', "",
                             page_text(r))
    assert known.status == unknown.status == 200
    assert strip(known) == strip(unknown)
    wrong = browser.post({"csrf": csrf, "step": "code", "email": contact.email, "code": "12"})
    assert wrong.status == 200
    assert "That code is not right" in page_text(wrong)


def test_portal_page_link_asks_before_it_logs_in():
    account = portal_account()
    contact = account.add_contact()
    assert api(account, "code", {"email": contact.email}).status == 200
    text = text_part(wait_for_mail(contact.email))
    m = re.search(r"/login/" + re.escape(account.public_id) + r"(\?token=[A-Za-z0-9_-]{43})", text)
    assert m, text
    browser = Browser(account)
    for _ in range(2):      # a mail scanner, then the person
        shown = browser.get(m.group(1))
        assert shown.status == 200 and 'name="step" value="link"' in page_text(shown)
    assert contact.live_passcode()[4] is None, "GET consumed the link"
    head = request("HEAD", f"/login/{account.public_id}{m.group(1)}")
    assert head.status == 200 and contact.live_passcode()[4] is None
    done = browser.post({"csrf": form_field(shown, "csrf"), "step": "link",
                         "token": form_field(shown, "token")})
    assert done.status == 303 and done.header("Location").startswith(PORTAL_URL + "?ticket=")
    again = browser.get(m.group(1))
    assert again.status == 410 and "This link has been used" in page_text(again)


def test_portal_page_speaks_the_contacts_language():
    account = portal_account()
    de = Browser(account, lang="de-AT,de;q=0.9,en;q=0.5").get()
    assert '<html lang="de">' in page_text(de) and "Anmelden" in page_text(de)
    fallback = Browser(account, lang="fr-CH, fr;q=0.9").get()
    assert '<html lang="en">' in page_text(fallback)


def test_portal_ticket_survives_a_missing_account_secret():
    account = portal_account()
    contact = account.add_contact()
    ticket = ticket_for(account, contact)
    execute("UPDATE cv.accounts SET token_secret = NULL WHERE id = %s", (account.id,))
    assert_error(exchange(account.key, ticket), 400, 1053, "Account secret is invalid")
    execute("UPDATE cv.accounts SET token_secret = %s WHERE id = %s",
            (account.token_secret, account.id))
    assert exchange(account.key, ticket).json()["data"]["uuid"] == contact.uuid
