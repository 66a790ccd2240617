"""The service behind a real Apache httpd (apache.conf.example), once
through mod_fcgid (CV_APACHE_FCGID_URL) and once through plain mod_cgi
(CV_APACHE_CGI_URL), both started by tools/test in front of the same
responders' binaries, PostgreSQL and SMTP server as the nginx stack: the
core flow from send to auth token, the Users Orchestrator flow, the
Authorization header reaching the programs, and Apache's own answers (body
over 64 KiB, unknown paths, TRACE, malformed requests, the static files) in
the envelope of the path's dialect with X-Request-Id, the responders' pages
left pages; the login portal's routes and static files.  Run with --mode
apache."""
import base64
import contextlib
import json
import os
import urllib.parse
import uuid

from stack import (API, exchange_raw, auth_token, compact, create_account, expect, mail_code,
                   new_api_key, request, send, setup, verify, wait_for_mail)
from test_oauth import add_client
from test_orchestrator import V4, VERIFY, LINK, assert_v4, contact_row, link_token, tenant
from test_orchestrator import mail_code as uo_mail_code

MODE = "apache"
VARIANTS = {"fcgid": "CV_APACHE_FCGID_URL", "cgi": "CV_APACHE_CGI_URL"}
TOO_LARGE = {"message": "Request body too large.", "code": 1413, "status_code": 413}


@contextlib.contextmanager
def through(variant):
    """Points stack.request (CV_BASE_URL) at the Apache of variant."""
    url = os.environ.get(VARIANTS[variant])
    assert url, f"{VARIANTS[variant]} is not set (tools/test starts the Apaches)"
    saved = os.environ["CV_BASE_URL"]
    os.environ["CV_BASE_URL"] = url
    try:
        yield url
    finally:
        os.environ["CV_BASE_URL"] = saved


def assert_envelope(resp, status, body):
    assert resp.status == status, resp
    assert (resp.header("Content-Type") or "").split(";")[0] == "application/json", resp.headers
    assert resp.json() == body, resp


def raw_request(url, head, body=b""):
    """Sends head (and body) on a new connection to url and returns
    (status, headers, body) of the answer; the server may close early."""
    data = exchange_raw(url, head.encode() + body)
    head_bytes, _, rest = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        out, rest_ = b"", rest
        while rest_:
            size, _, rest_ = rest_.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            out, rest_ = out + rest_[:n], rest_[n + 2:]
        rest = out
    return int(lines[0].split()[1]), headers, rest


def core_flow(variant):
    account, contact = setup()
    with through(variant):
        expect(send(account.key, contact.email), 200)
        code = mail_code(wait_for_mail(contact.email))
        resp = verify(account.key, contact.email, code, form=True)
        assert resp.status == 200 and resp.body == compact(
            {"data": {"uuid": contact.uuid}, "meta": {}}), resp
        # The uuid reaches the program as PATH_INFO.
        resp = auth_token(account.key, contact.uuid)
        assert resp.status == 200 and list(resp.json()) == ["data", "meta"], resp


def uo_flow(variant):
    t = tenant()
    email = f"apache-{variant}-{os.urandom(4).hex()}@example.com"
    with through(variant):
        assert_v4(t.post(V4, {"email": email}), 200, "UsersOrchestrator_S200")
        msg = wait_for_mail(email)
        code = uo_mail_code(msg)
        token = link_token(msg)
        page = request("GET", f"{LINK}?token={token}")
        assert page.status == 200 and page.header("Content-Type").startswith("text/html"), page
        assert_v4(t.post(VERIFY, {"email": email, "verificationCode": code}), 200,
                  "UsersOrchestrator_S200")
    assert contact_row(t.account, email)[1:] == ("active", True)


def authorization_passes(variant):
    # CGIPassAuth: without it Apache drops the header and every key is "missing".
    account, contact = setup()
    with through(variant) as url:
        missing = send(None, contact.email)
        assert_envelope(missing, 401, {"message": "Unauthenticated.", "code": 1001,
                                       "status_code": 401})
        assert not missing.header("WWW-Authenticate").endswith('error="invalid_token"'), missing
        unknown = send(new_api_key(), contact.email)
        assert unknown.status == 401, unknown
        # A bad key is told apart from a missing one only if the header arrived.
        assert 'error="invalid_token"' in (unknown.header("WWW-Authenticate") or ""), unknown.headers
        expect(send(account.key, contact.email), 200)
        # OAuth client credentials in Basic form travel the same way: only
        # a header that arrived gets a token.
        client_id, secret = add_client(account)
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        resp = request("POST", "/oauth/token", "grant_type=client_credentials",
                       content_type="application/x-www-form-urlencoded",
                       headers={"Authorization": f"Basic {basic}"})
        assert resp.status == 200 and "access_token" in resp.json(), resp
        status, _, _ = raw_request(url, f"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n")
        assert status == 200
    wait_for_mail(contact.email)


def big_bodies_refused(variant):
    account, contact = setup()
    body = json.dumps({"email": "big@example.com", "pad": "x" * (70 * 1024)}).encode()
    with through(variant) as url:
        # Declared length over the limit: Apache's 413 in the service envelope.
        resp = request("POST", f"{API}/send", body, content_type="application/json",
                       key=account.key)
        assert_envelope(resp, 413, TOO_LARGE)
        # The Users Orchestrator paths answer in their own envelope.
        resp = request("POST", V4, body, content_type="application/json")
        assert resp.status == 413, resp
        assert resp.json()["message"]["code"] == "UsersOrchestrator_E400_00", resp
        # Chunked, no Content-Length: refused at the limit all the same.
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 8192]), body[i:i + 8192])
                           for i in range(0, len(body), 8192)) + b"0\r\n\r\n"
        status, headers, answer = raw_request(
            url, f"POST {API}/send HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                 f"Authorization: Bearer {account.key}\r\nContent-Type: application/json\r\n"
                 f"Transfer-Encoding: chunked\r\n\r\n", chunked)
        # (mod_fcgid lets it through to the responder, see apache.conf.example.)
        assert status == 413, (status, headers, answer[:300])
        assert json.loads(answer) == TOO_LARGE, answer[:300]
        # Exactly 64 KiB is within the limit: the responder serves it.
        exact = json.dumps({"email": contact.email, "pad": ""}).encode()
        exact = exact[:-2] + b"x" * (65536 - len(exact)) + b'"}'
        assert len(exact) == 65536
        resp = request("POST", f"{API}/send", exact, content_type="application/json",
                       key=account.key)
        expect(resp, 200)
    wait_for_mail(contact.email)


def unknown_paths_404(variant):
    with through(variant):
        for path in ("/", "/nope", f"{API}/send/extra", f"{API}/sendx", "/healthz/x",
                     "/cv.conf", "/oauth/token/"):
            assert_envelope(request("GET", path), 404,
                            {"message": "Not found.", "code": 1404, "status_code": 404})


def portal_flow(variant):
    # The login portal's routes (PATH_INFO from AliasMatch), its static files
    # (Define CV_STATIC) and the ticket exchange with the API key.
    from test_portal import ORIGIN, api, exchange, portal_account, ticket_for
    account = portal_account()
    contact = account.add_contact()
    with through(variant):
        pre = api(account, "code", None, method="OPTIONS")
        assert pre.status == 204 and pre.header("Access-Control-Allow-Origin") == ORIGIN, pre
        ticket = ticket_for(account, contact)
        got = exchange(account.key, ticket)
        assert got.status == 200 and got.json()["data"]["uuid"] == contact.uuid, got
        page = request("GET", f"/login/{account.public_id}")
        assert page.status == 200 and page.header("Content-Type").startswith("text/html"), page
        assert "frame-ancestors" in (page.header("Content-Security-Policy") or ""), page.headers
        script = request("GET", "/portal/static/portal.js")
        assert script.status == 200 and b"function" in script.body, script
        assert script.header("X-Content-Type-Options") == "nosniff", script.headers


def well_known_documents(variant):
    # The JWKS and metadata of issue 18 (PATH_INFO from AliasMatch), with
    # the responder's own caching headers, and the 404 of an unknown account.
    from test_keys import add_key
    account = create_account()
    kid = add_key(account, "EdDSA", activate=False)
    with through(variant):
        resp = request("GET", f"/accounts/{account.uuid}/.well-known/jwks.json")
        assert resp.status == 200 and [k["kid"] for k in resp.json()["keys"]] == [kid], resp
        assert resp.header("Cache-Control") == "public, max-age=300", resp.headers
        again = request("GET", f"/accounts/{account.uuid}/.well-known/jwks.json",
                        headers={"If-None-Match": resp.header("ETag")})
        assert again.status == 304, again
        assert request("GET", "/.well-known/jwks.json").json()["keys"][0]["alg"] == "EdDSA"
        meta = request("GET", "/.well-known/oauth-authorization-server").json()
        assert meta["jwks_uri"].endswith("/.well-known/jwks.json"), meta
        assert_envelope(request("GET", f"/accounts/{uuid.uuid4()}/.well-known/jwks.json"), 404,
                        {"message": "Not found.", "code": 1404, "status_code": 404})


def own_answers(variant):
    # Apache's own answers, as nginx's: the envelope of the path's dialect,
    # X-Request-Id (but where Apache could not read the request: no request
    # id exists yet), the responders' headers; TRACE never echoes.
    from test_nginx_answers import assert_envelope, http, request_id, values
    from test_portal import portal_account
    public_id = portal_account().public_id
    big = b"x" * (70 * 1024)
    paths = [(f"{API}/send", "api", "POST"), ("/oauth/token", "oauth", "POST"),
             (V4, "uo", "POST"), ("/VerifyEmail/Resend", "uo-legacy", "POST"),
             (f"{LINK}?token=" + "A" * 43, "page", "GET, HEAD, POST"),
             (f"/login/{public_id}", "page", "GET, HEAD, POST"), ("/healthz", "api", "GET, HEAD")]
    with through(variant) as url:
        for path, dialect, allow in paths:
            status, headers, body = http("TRACE", path, [("Authorization", "Bearer secret")],
                                         url=url)
            assert status == 405 and b"secret" not in body, (path, status, body[:200])
            assert_envelope(dialect, 405, headers, body)
            assert allow in values(headers, "allow"), (path, headers)
            status, headers, body = http("POST", path, [("Content-Type", "text/plain")], big,
                                         url=url)
            assert status == 413, (path, status, body[:200])
            assert_envelope(dialect, 413, headers, body)
        # The static files: names only, GET and HEAD only, whole files.
        for path in ("/portal/static/", "/portal/static/.", "/portal/static/.htaccess",
                     "/portal/static/nope.js", "/nope"):
            status, headers, body = http("GET", path, url=url)
            assert status == 404, (path, status, body[:200])
            assert_envelope("api", 404, headers, body)
        for method in ("POST", "DELETE", "FOO"):
            status, headers, body = http(method, "/portal/static/portal.js",
                                         body=b"x" if method == "POST" else b"", url=url)
            assert status == 405, (method, status, body[:200])
            assert_envelope("api", 405, headers, body)
            assert "GET, HEAD" in values(headers, "allow"), headers
        for header in (("Range", "bytes=99999-"), ("If-Match", '"nope"'),
                       ("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")):
            status, headers, body = http("GET", "/portal/static/portal.js", [header], url=url)
            assert status == 200 and b"function" in body, (header, status, body[:200])
            request_id(headers)
        # A method Apache does not know, where no program takes it.
        status, headers, body = http("FOO", "/nope", url=url)
        assert status == 501, (status, body[:200])
        assert_envelope("api", 501, headers, body)
        # What Apache refuses before the request has a path or an id.
        for status_, args in ((400, ("GET", "/healthz", [("X-Bad", "a\x00b")])),
                              (400, ("GET", LINK, [("X-Pad", "x" * 20000)])),
                              (414, ("GET", "/healthz?" + "q" * 20000)),
                              (417, ("POST", f"{API}/send", [("Expect", "something")], b"{}"))):
            status, headers, body = http(*args, url=url)
            assert status == status_, (args[:2], status, body[:200])
            assert_envelope("api", status_, headers, body, with_id=False)


def responder_pages_stay_pages(variant):
    # A responder's own error page is a page under Apache too: the rule that
    # labels Apache's own answers JSON leaves the responders' alone (it
    # made them application/json).  And each answer has one X-Request-Id.
    from test_nginx_answers import http, request_id, values
    with through(variant) as url:
        for path in (f"{LINK}?token=" + "B" * 43, "/login/pa_" + "0" * 32):
            status, headers, body = http("GET", path, url=url)
            assert status == 404 and body.startswith(b"<!DOCTYPE html>"), (path, status)
            assert values(headers, "content-type") == ["text/html; charset=utf-8"], headers
            request_id(headers)
        for path, expected in (("/healthz", 200), (f"{API}/send", 405)):
            status, headers, body = http("GET", path, url=url)
            assert status == expected, (path, status, body)
            request_id(headers)


def _make(check, variant):
    def test():
        check(variant)
    test.__name__ = f"test_apache_{variant}_{check.__name__}"
    test.__qualname__ = test.__name__
    test.__module__ = __name__
    return test


for _variant in VARIANTS:
    for _check in (core_flow, uo_flow, authorization_passes, big_bodies_refused,
                   unknown_paths_404, portal_flow, own_answers, responder_pages_stay_pages,
                   well_known_documents):
        _t = _make(_check, _variant)
        globals()[_t.__name__] = _t
