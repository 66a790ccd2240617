"""What every answer shares and what nginx answers itself: health, unknown
paths, the JSON envelope and headers (README "API, Errors")."""
import re

from stack import API, assert_error, assert_exact, auth_token, expect, query, request, send, setup


def test_healthz_reports_database_ok():
    resp = request("GET", "/healthz")
    assert_exact(resp, 200, b'{"status":"ok","database":"ok"}')


def test_unknown_path_answers_404_envelope():
    for path in (f"{API}/nope", "/api/v3/oauth/clients/contact-verification", "/", "/send",
                 f"{API}/send/extra"):
        assert_error(request("GET", path), 404, 1404, "Not found.")


def test_answers_carry_request_id_and_no_store():
    account, contact = setup()
    answers = [request("GET", "/healthz"),
               request("GET", f"{API}/auth-token/{contact.uuid}", key=account.key),
               request("GET", f"{API}/auth-token/{contact.uuid}"),
               send(account.key, "bad")]
    seen = set()
    for resp in answers:
        rid = resp.header("X-Request-Id")
        assert rid and re.fullmatch(r"[A-Za-z0-9_-]{8,64}", rid), f"X-Request-Id {rid!r}: {resp!r}"
        assert (resp.header("Cache-Control") or "").lower() == "no-store", resp.header("Cache-Control")
        seen.add(rid)
    assert len(seen) == len(answers), "request ids repeat"


def test_error_answers_have_exactly_message_code_status_code():
    # The public SDK maps an error only when all three keys are present.
    account, _ = setup()
    for resp in (request("POST", f"{API}/send", {"email": "x@example.com"}),
                 send(account.key, "nobody-here@example.com"),
                 request("GET", f"{API}/nope")):
        body = resp.json()
        assert list(body) == ["message", "code", "status_code"], body
        assert body["status_code"] == resp.status, (resp.status, body)
        assert isinstance(body["code"], int) and isinstance(body["message"], str), body


def test_responders_recover_after_losing_database_connections():
    # As after a PostgreSQL restart or failover: the responders' idle
    # connections die; the next requests reconnect and succeed (healthz and
    # auth-token are safe to repeat, so not even the first one may fail).
    # Only the connections of those two responders are ended (by their last
    # statement), so the mailer and the other responders are left alone.
    account, contact = setup()
    for _ in range(4):
        expect(request("GET", "/healthz"), 200)
        expect(auth_token(account.key, contact.uuid), 200)
    killed = query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                   " WHERE usename = 'cv_app' AND application_name = 'contact-verify'"
                   "   AND (query ILIKE '%%cv.api_auth_token(%%' OR query = 'SELECT 1')")
    assert killed, "no responder connection found to end"
    for _ in range(6):
        assert_exact(request("GET", "/healthz"), 200, b'{"status":"ok","database":"ok"}')
        resp = auth_token(account.key, contact.uuid)
        assert resp.status == 200, resp


def test_verify_recovers_after_losing_database_connections_without_503():
    # verify must not be repeated blindly (it may have used a code), so the
    # responder has to notice the dead idle connection before sending.
    account, contact = setup()
    body = {"email": contact.email, "code": "000000"}
    for _ in range(4):
        expect(request("POST", f"{API}/verify", body, key=account.key), 400)
    killed = query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                   " WHERE usename = 'cv_app' AND application_name = 'contact-verify'"
                   "   AND query ILIKE '%%cv.api_verify(%%'")
    assert killed, "no verify connection found to end"
    for _ in range(6):
        assert_error(request("POST", f"{API}/verify", body, key=account.key),
                     400, 13010, "Passcode not found.")


HOSTILE_FORMS = [b"=", b"&&&", b"email", b"email=%", b"email=%4", b"%00=1", b"email=%C3%28",
                 b"email=%00a%40b.com", b"=x&email=a@b.com", b"\xff\xfe", b"email=\xc3\x28",
                 b"email=a%40b.com&email="]
HOSTILE_JSON = [b"[" * 10000, b'{"a":' * 100 + b"1" + b"}" * 100, b'{"email":"\\ud800@x.com"}',
                b'{"email":1e999}', b'{"email":"\\u0000a@b.com"}', b'{"email":"\xff@b.com"}',
                b'{"email":"a@b.com"}\x00', b"{}" * 5, b'{"email":-1}', b'{"email":9223372036854775808}',
                b'{"email":"' + "\u00e9".encode() * 100 + b'@x.com"}', b'{"code":{"$gt":""},"email":[]}']


def test_hostile_bodies_get_400_envelopes_never_5xx():
    account, _ = setup()
    cases = [(ctype, body) for body in HOSTILE_FORMS for ctype in ("application/x-www-form-urlencoded", None)]
    cases += [(ctype, body) for body in HOSTILE_JSON for ctype in ("application/json", None)]
    for path in (f"{API}/send", f"{API}/verify"):
        for ctype, body in cases:
            resp = request("POST", path, body, content_type=ctype, key=account.key)
            assert resp.status == 400, f"expected 400, got {resp!r}"
            got = resp.json()
            assert (got["code"], got["status_code"]) == (1003, 400) and got["errors"], got
    assert request("GET", "/healthz").status == 200
