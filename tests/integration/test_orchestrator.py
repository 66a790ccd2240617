"""The Users Orchestrator dialect (README "Users Orchestrator API"): tenants
by headers and HS256 JWTs, both send shapes end to end with the email read
back, verify by code and by link, the link page (GET/HEAD never consume),
open-redirect refusals, every JWT failure, each missing header, and events in
order."""
import base64
import concurrent.futures
import hashlib
import hmac
import json
import os
import re
import secrets

from mailers import wait_until
from stack import (create_account, db_now, epoch_in_transaction, execute, public_url,
                   query, query_one, request, text_part, unique_email, wait_for_mail)

ALLOWED = "https://shop.example.com"
V4 = "/v4/Users/VerificationCode"
LEGACY = "/VerifyEmail/Resend"
VERIFY = "/v4/Users/Verification"
LINK = "/v4/Users/VerifyEmail"


def b64(obj):
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_jwt(secret, claims=None, header=None, exp_in=300):
    claims = dict({"sub": "itest", "exp": int(db_now()) + exp_in}, **(claims or {}))
    header = header or {"alg": "HS256", "typ": "JWT"}
    signing = f"{b64(header)}.{b64(claims)}"
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hashlib.sha512 if header.get("alg") == "HS512" else hashlib.sha256
    return signing + "." + b64(hmac.new(key, signing.encode(), digest).digest())


class Tenant:
    def __init__(self, account, issuer=None, audience=None, **app):
        self.account = account
        self.secret = secrets.token_urlsafe(32)
        suffix = secrets.token_hex(4)
        self.codes = (f"C{suffix}", f"P{suffix}", f"G{suffix}")
        self.source = f"itest-{suffix}"
        self.id = query_one(
            "INSERT INTO cv.tenants (account_id, client_code, paper_code, client_group_code,"
            " jwt_secret, jwt_issuer, jwt_audience, return_origins)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (account.id, *self.codes, self.secret, issuer, audience,
             [ALLOWED, "http://localhost:8080"]))[0]

    def headers(self, token=None, drop=()):
        h = {"Authorization": f"Bearer {token or make_jwt(self.secret)}",
             "X-SourceSystem": self.source, "X-ClientCode": self.codes[0],
             "X-PaperCode": self.codes[1], "X-ClientGroupCode": self.codes[2]}
        for name in drop:
            h.pop(name)
        return h

    def post(self, path, body, **kw):
        return request("POST", path, body, headers=self.headers(**kw))


def tenant(**app):
    account = create_account(**app)
    return Tenant(account)


def contact_row(account, email):
    rows = query("SELECT id, status, email_verified FROM cv.contacts"
                 " WHERE account_id = %s AND lower(email) = lower(%s)", (account.id, email))
    return rows[0] if rows else None


def link_token(msg):
    m = re.search(re.escape(public_url()) + r"/v4/Users/VerifyEmail\?token=([A-Za-z0-9_-]{43})",
                  text_part(msg))
    assert m, f"no verification link in:\n{text_part(msg)}"
    return m.group(1)


def mail_code(msg):
    """The code of a registration email ("... is 123456."); app names may
    hold digits too, so the sentence is matched, not any six digits."""
    m = re.search(r" is (\d{6,10})\.", text_part(msg))
    assert m, text_part(msg)
    return m.group(1)


def assert_v4(resp, status, code, text=None, type_=None):
    assert resp.status == status, f"expected {status} {code}, got {resp!r}"
    body = resp.json()
    assert list(body) == ["message", "meta"], body
    assert list(body["message"]) == ["code", "text", "type"], body
    assert body["message"]["code"] == code, body
    if text is not None:
        assert body["message"]["text"] == text, body
    assert body["message"]["type"] == (0 if status < 400 else 1), body
    assert body["meta"] == resp.header("X-Request-Id"), (body, resp.headers)
    return body["message"]["text"]


def test_v4_send_creates_pending_user_and_emails_code_and_link():
    t = tenant()
    email = unique_email()
    resp = t.post(V4, {"email": email, "returnUrl": ALLOWED + "/welcome"})
    assert_v4(resp, 200, "UsersOrchestrator_S200", "Verification code sent.")
    _, status, verified = contact_row(t.account, email)
    assert (status, verified) == ("pending", False)
    msg = wait_for_mail(email)
    assert len(mail_code(msg)) == 6
    assert len(link_token(msg)) == 43
    assert "Confirm" in msg["Subject"] or "confirm" in msg["Subject"], msg["Subject"]


def test_legacy_resend_has_pascalcase_shape():
    t = tenant()
    email = unique_email()
    resp = t.post(LEGACY, {"Email": email, "ReturnUrl": ALLOWED + "/"})
    assert resp.status == 200, resp
    body = resp.json()
    rid = resp.header("X-Request-Id")
    assert body == {"Code": 0, "Errors": [], "Result": {"Done": "true"}, "SessionId": rid,
                    "RequestId": rid}, body
    wait_for_mail(email)


def test_legacy_error_shape():
    t = tenant()
    resp = t.post(LEGACY, {"Email": "not-an-email"})
    assert resp.status == 400, resp
    body = resp.json()
    assert body["Code"] == 400 and body["Result"] is None, body
    assert body["RequestId"] == resp.header("X-Request-Id"), body
    [err] = body["Errors"]
    assert err["Code"] == "UsersOrchestrator_E400_00", err
    assert err["Message"].startswith("Invalid InputModel - "), err
    assert err["Type"] == {"Id": 1, "Code": "Error"} and err["ErrorSource"], err


def test_verify_by_code_activates_user_and_records_events_in_order():
    t = tenant()
    email = unique_email()
    send = t.post(V4, {"email": email})
    assert_v4(send, 200, "UsersOrchestrator_S200")
    code = mail_code(wait_for_mail(email))
    resp = t.post(VERIFY, {"email": email, "verificationCode": code})
    assert_v4(resp, 200, "UsersOrchestrator_S200")
    cid, status, verified = contact_row(t.account, email)
    assert (status, verified) == ("active", True)
    events = query("SELECT event_code, event_id, source_system, request_id FROM cv.events"
                   " WHERE contact_id = %s AND event_id IN (4000, 4003, 4004, 5001, 5002)"
                   " ORDER BY id", (cid,))
    send_id, verify_id = send.header("X-Request-Id"), resp.header("X-Request-Id")
    assert events == [
        ("SUBSCRIBE_USER_CREATEPENDING", 4003, t.source, send_id),
        ("CODE_SENT", 5001, t.source, send_id),
        ("SUBSCRIBE_USER_GET", 4000, t.source, verify_id),
        ("SUBSCRIBE_USER_UPDATE", 4004, t.source, verify_id),
        ("CODE_VERIFIED", 5002, t.source, verify_id),
    ], events
    # The first lookup happened before the user existed, so it has no contact:
    # it is recorded for the account with found = false.
    first = query_one("SELECT event_code, detail->>'found', request_id FROM cv.events"
                      " WHERE account_id = %s ORDER BY id LIMIT 1", (t.account.id,))
    assert first == ("SUBSCRIBE_USER_GET", "false", send_id), first
    # Verified now: sending and verifying again both answer E400_16.
    assert_v4(t.post(V4, {"email": email}), 400, "UsersOrchestrator_E400_16",
              "Email is already verified.")
    assert_v4(t.post(VERIFY, {"email": email, "verificationCode": code}), 400,
              "UsersOrchestrator_E400_16")


def test_verify_errors_not_registered_invalid_code_and_bad_input():
    t = tenant()
    email = unique_email()
    assert_v4(t.post(VERIFY, {"email": email, "verificationCode": "123456"}), 400,
              "UsersOrchestrator_E400_14", "The email is not registered.")
    t.post(V4, {"email": email})
    code = mail_code(wait_for_mail(email))
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    assert_v4(t.post(VERIFY, {"email": email, "verificationCode": wrong}), 400,
              "UsersOrchestrator_E400_15", "The verification code is invalid.")
    text = assert_v4(t.post(VERIFY, {"email": email}), 400, "UsersOrchestrator_E400_00")
    assert "verificationCode" in text, text
    # An expired code (database clock) is invalid too.
    execute("UPDATE cv.passcodes SET expires_at = now() - interval '1 second'"
            " WHERE contact_id = %s", (contact_row(t.account, email)[0],))
    assert_v4(t.post(VERIFY, {"email": email, "verificationCode": code}), 400,
              "UsersOrchestrator_E400_15")


def test_link_get_and_head_do_not_consume_and_post_redirects_once():
    t = tenant()
    email = unique_email()
    t.post(V4, {"email": email, "returnUrl": ALLOWED + "/welcome?x=1"})
    token = link_token(wait_for_mail(email))
    for _ in range(2):
        page = request("GET", f"{LINK}?token={token}")
        assert page.status == 200, page
        assert page.header("Content-Type").startswith("text/html"), page.headers
        assert b'method="post"' in page.body and token.encode() in page.body, page.body
        assert b"Confirm my email" in page.body
        assert request("HEAD", f"{LINK}?token={token}").status == 200
    assert contact_row(t.account, email)[2] is False, "GET/HEAD must not verify"
    resp = request("POST", LINK, f"token={token}", content_type="application/x-www-form-urlencoded")
    assert resp.status == 303, resp
    assert resp.header("Location") == ALLOWED + "/welcome?x=1", resp.headers
    assert contact_row(t.account, email)[1:] == ("active", True)
    again = request("POST", LINK, f"token={token}", content_type="application/x-www-form-urlencoded")
    assert again.status == 410 and b"used" in again.body, again
    assert request("GET", f"{LINK}?token={token}").status == 410


def test_concurrent_posts_of_one_link_verify_once():
    t = tenant()
    email = unique_email()
    t.post(V4, {"email": email, "returnUrl": ALLOWED + "/"})
    token = link_token(wait_for_mail(email))

    def post(_):
        return request("POST", LINK, f"token={token}",
                       content_type="application/x-www-form-urlencoded").status

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(post, range(8)))
    assert statuses.count(303) == 1 and statuses.count(410) == 7, statuses
    cid = contact_row(t.account, email)[0]
    assert query_one("SELECT count(*) FROM cv.events WHERE contact_id = %s AND event_id = 4004",
                     (cid,))[0] == 1


def test_link_without_return_url_shows_verified_page():
    t = tenant()
    email = unique_email()
    t.post(V4, {"email": email})
    token = link_token(wait_for_mail(email))
    resp = request("POST", LINK, f"token={token}", content_type="application/x-www-form-urlencoded")
    assert resp.status == 200 and b"confirmed" in resp.body, resp
    assert resp.header("Location") is None


def test_expired_and_unknown_links_get_clear_pages():
    t = tenant()
    email = unique_email()
    t.post(V4, {"email": email})
    token = link_token(wait_for_mail(email))
    execute("UPDATE cv.passcodes SET expires_at = now() - interval '1 second'"
            " WHERE contact_id = %s", (contact_row(t.account, email)[0],))
    resp = request("GET", f"{LINK}?token={token}")
    assert resp.status == 410 and b"expired" in resp.body, resp
    resp = request("POST", LINK, f"token={token}", content_type="application/x-www-form-urlencoded")
    assert resp.status == 410 and contact_row(t.account, email)[2] is False, resp
    for bad in ["A" * 43, "short", ""]:
        resp = request("GET", f"{LINK}?token={bad}")
        assert resp.status == 404 and b"not valid" in resp.body, resp
    assert request("GET", LINK).status == 404


def test_link_page_escapes_app_name_and_sends_security_headers():
    t = tenant(name="<script>alert(1)</script> & Co")
    email = unique_email()
    t.post(V4, {"email": email})
    token = link_token(wait_for_mail(email))
    resp = request("GET", f"{LINK}?token={token}")
    assert b"<script>" not in resp.body, resp.body
    assert b"&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in resp.body, resp.body
    csp = resp.header("Content-Security-Policy") or ""
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, csp
    assert resp.header("Referrer-Policy") == "no-referrer"
    assert resp.header("Cache-Control") == "no-store"


def test_link_token_never_reaches_the_access_log():
    """The link page's GET is logged -- by nginx (its request id, the path
    without the query) and by the responder (the same request id) -- and
    neither log holds the token."""
    t = tenant()
    email = unique_email()
    t.post(V4, {"email": email})
    token = link_token(wait_for_mail(email))
    resp = request("GET", f"{LINK}?token={token}")
    assert resp.status == 200 and b"confirm" in resp.body.lower(), resp
    rid = resp.header("X-Request-Id")
    assert rid and re.fullmatch(r"[0-9a-f]{32}", rid), resp.headers
    logs = {name: os.path.join(os.environ["CV_STATE_DIR"], "log", name)
            for name in ("nginx-access.log", "uo-verify-email.log")}

    def line_of(name):
        # The servers write their line after the answer: polled.
        with open(logs[name], encoding="utf-8", errors="replace") as f:
            lines = [line for line in f if rid in line]
        return lines[0] if len(lines) == 1 else None

    access = wait_until(lambda: line_of("nginx-access.log"), 10, f"request {rid} in the access log")
    assert f' {rid} "GET {LINK}" 200 ' in access, access
    responder = wait_until(lambda: line_of("uo-verify-email.log"), 10,
                           f"request {rid} in the responder's log")
    assert f"request_id={rid} endpoint=uo-verify-email status=200 " in responder, responder
    for path in logs.values():
        with open(path, encoding="utf-8", errors="replace") as f:
            assert token not in f.read(), path


def test_return_url_outside_allow_list_is_refused_never_replaced():
    t = tenant()
    email = unique_email()
    for bad in ["https://evil.example/", "//evil.example/x", "javascript:alert(1)",
                "https://shop.example.com@evil.example/", "http://shop.example.com/",
                "https://shop.example.com.evil.example/", "/relative",
                "https://shop.example.com\\@evil.example/"]:
        text = assert_v4(t.post(V4, {"email": email, "returnUrl": bad}), 400,
                         "UsersOrchestrator_E400_00")
        assert "returnUrl" in text, (bad, text)
    assert contact_row(t.account, email) is None, "a refused request must change nothing"


def test_every_jwt_failure_is_401():
    t = tenant()
    email = unique_email()
    now = int(db_now())
    bad_tokens = {
        "wrong key": make_jwt("another secret that is long enough!"),
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'exp': now + 300})}.",
        "alg HS512": make_jwt(t.secret, header={"alg": "HS512", "typ": "JWT"}),
        "expired": make_jwt(t.secret, exp_in=-120),
        "not yet valid": make_jwt(t.secret, claims={"nbf": now + 600}),
        "no exp": f"{b64({'alg': 'HS256'})}.{b64({'sub': 'x'})}.",
        "malformed": "not.a.jwt",
        "two parts": make_jwt(t.secret).rsplit(".", 1)[0],
    }
    # "no exp" needs a real signature to prove exp itself is what is missing.
    signing = f"{b64({'alg': 'HS256'})}.{b64({'sub': 'x'})}"
    bad_tokens["no exp"] = signing + "." + b64(hmac.new(t.secret.encode(), signing.encode(),
                                                        hashlib.sha256).digest())
    for name, token in bad_tokens.items():
        resp = t.post(V4, {"email": email}, token=token)
        assert_v4(resp, 401, "UsersOrchestrator_E401", "Unauthorized")
    resp = request("POST", V4, {"email": email}, headers=t.headers(drop=("Authorization",)))
    assert_v4(resp, 401, "UsersOrchestrator_E401")
    # Within the 60 s leeway an expired token still passes.
    assert_v4(t.post(V4, {"email": email}, token=make_jwt(t.secret, exp_in=-30)), 200,
              "UsersOrchestrator_S200")


def test_issuer_and_audience_are_checked_when_configured():
    account = create_account()
    t = Tenant(account, issuer="https://idp.example", audience="cv")
    email = unique_email()
    good = make_jwt(t.secret, claims={"iss": "https://idp.example", "aud": ["x", "cv"]})
    assert_v4(t.post(V4, {"email": email}, token=good), 200, "UsersOrchestrator_S200")
    for claims in ({"iss": "https://other.example", "aud": "cv"}, {"iss": "https://idp.example"},
                   {"iss": "https://idp.example", "aud": "other"}):
        assert_v4(t.post(V4, {"email": email}, token=make_jwt(t.secret, claims=claims)), 401,
                  "UsersOrchestrator_E401")


def test_each_missing_header_is_refused():
    t = tenant()
    for name in ("X-SourceSystem", "X-ClientCode", "X-PaperCode", "X-ClientGroupCode"):
        resp = request("POST", V4, {"email": unique_email()}, headers=t.headers(drop=(name,)))
        text = assert_v4(resp, 400, "UsersOrchestrator_E400_00")
        assert name in text, text


def test_unknown_tenant_is_401():
    t = tenant()
    headers = t.headers()
    headers["X-PaperCode"] = "nosuchpaper"
    assert_v4(request("POST", V4, {"email": unique_email()}, headers=headers), 401,
              "UsersOrchestrator_E401")


def test_resend_cooldown_answers_e429():
    t = tenant(resend_cooldown=60)
    email = unique_email()
    assert_v4(t.post(V4, {"email": email}), 200, "UsersOrchestrator_S200")
    resp = t.post(V4, {"email": email})
    assert_v4(resp, 429, "UsersOrchestrator_E429")
    assert 0 < int(resp.header("Retry-After")) <= 60
    wait_for_mail(email)


def test_bad_bodies_get_e400_00_never_5xx():
    t = tenant()
    for body, ctype, status in [("{bad", "application/json", 400), ("[1]", "application/json", 400),
                                ('{"email": 5}', "application/json", 400),
                                ("x", "text/plain", 415)]:
        resp = request("POST", V4, body, content_type=ctype, headers=t.headers())
        assert_v4(resp, status, "UsersOrchestrator_E400_00")
    resp = request("GET", V4, headers=t.headers())
    assert_v4(resp, 405, "UsersOrchestrator_E400")


def test_tenant_clock_is_truncated_not_rounded():
    """cv.uo_tenant's now_epoch, against which a tenant JWT's exp and nbf
    are judged (in whole seconds), is the clock truncated: rounded, a token
    became invalid up to half a second before exp + leeway, and valid up to
    half a second before nbf - leeway."""
    t = tenant()
    for _ in range(20):
        epoch, now = epoch_in_transaction("SELECT now_epoch FROM cv.uo_tenant(%s, %s, %s)",
                                          t.codes)
        assert epoch <= now < epoch + 1, (epoch, now)
