"""What nginx answers itself (nginx.conf.example): every status it makes,
on every path and for every method, comes in the envelope of the path's
dialect (README, "Errors" of each API; pages for the paths people open from
an email) with X-Request-Id and the headers a responder sends; where a
responder can make the same error (a wrong method, a body over the limit, a
database it cannot reach) nginx's answer is the responder's, byte for byte
but the request id.  tests/unit/test_error_pages.c holds every error page of
the configuration to lib/response.c; here nginx is made to send each."""
import json
import os
import re
import socket
import urllib.parse
from contextlib import contextmanager

from corpus import dechunk
from stack import (API, create_account, env, private_config, config, run_cgi, setup)
from test_oauth import add_client
from test_orchestrator import Tenant
from test_portal import portal_account

RID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# The headers an answer of nginx's own must carry as a responder's does.
COMPARED = ("content-type", "cache-control", "x-content-type-options", "pragma", "allow",
            "content-security-policy", "referrer-policy", "x-frame-options")


def raw(data, url=None, timeout=15):
    """Sends data on a new connection to url (nginx unless given):
    (status, [(name, value)], body)."""
    base = urllib.parse.urlsplit(url or env("CV_BASE_URL"))
    with socket.create_connection((base.hostname, base.port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass    # nginx may answer (413, 400) before it has read everything
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert re.match(r"HTTP/1\.[01] \d{3}", lines[0]), f"no HTTP answer: {head[:200]!r}"
    headers = [(n.strip().lower(), v.strip()) for n, _, v in (h.partition(":") for h in lines[1:])]
    if ("transfer-encoding", "chunked") in headers:     # Apache's mod_cgi may chunk
        body = dechunk(body)
    return int(lines[0].split()[1]), headers, body


def http(method, path, headers=(), body=b"", version="HTTP/1.1", url=None):
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{n}: {v}" for n, v in headers]
    if body and not any(n.lower() in ("content-length", "transfer-encoding") for n, _ in headers):
        lines.append(f"Content-Length: {len(body)}")
    return raw(("\r\n".join(lines) + "\r\n\r\n").encode() + body, url)


def values(headers, name):
    return [v for n, v in headers if n == name]


def request_id(headers):
    ids = values(headers, "x-request-id")
    assert len(ids) == 1 and RID.fullmatch(ids[0]), f"X-Request-Id {ids}: {headers}"
    return ids[0]


def comparable(headers, body):
    """What two answers to the same error share: the compared headers and the
    body with the request id replaced."""
    rid = request_id(headers)
    return ({n: values(headers, n) for n in COMPARED},
            body.replace(rid.encode(), b"<request id>"))


def assert_envelope(dialect, status, headers, body, with_id=True):
    """The answer is the documented envelope of dialect for an error of this
    status, with X-Request-Id (unless not with_id) and no-store."""
    rid = request_id(headers) if with_id else None
    assert values(headers, "cache-control") == ["no-store"], headers
    assert values(headers, "x-content-type-options") == ["nosniff"], headers
    ctype = values(headers, "content-type")
    if dialect == "page":
        assert ctype == ["text/html; charset=utf-8"], (ctype, body[:200])
        assert body.startswith(b"<!DOCTYPE html>") and b"<h1>" in body, body[:200]
        assert "default-src 'none'" in values(headers, "content-security-policy")[0], headers
        return
    assert ctype == ["application/json"], (ctype, body[:200])
    doc = json.loads(body)
    if dialect == "api":
        assert list(doc) == ["message", "code", "status_code"], doc
        assert doc["status_code"] == status and doc["code"] == 1000 + status, doc
    elif dialect == "oauth":
        assert list(doc) == ["error", "error_description"], doc
        assert values(headers, "pragma") == ["no-cache"], headers
    elif dialect == "uo":
        assert list(doc) == ["message", "meta"] and (doc["meta"] == rid or not with_id), doc
        assert list(doc["message"]) == ["code", "text", "type"] and doc["message"]["type"] == 1
        assert doc["message"]["code"].startswith("UsersOrchestrator_E"), doc
    else:
        assert dialect == "uo-legacy", dialect
        assert list(doc) == ["Code", "Errors", "Result", "SessionId", "RequestId"], doc
        assert doc["Code"] == status and doc["Result"] is None, doc
        assert doc["SessionId"] == doc["RequestId"] and (doc["RequestId"] == rid or not with_id), doc
        assert doc["Errors"][0]["Code"].startswith("UsersOrchestrator_E"), doc


def endpoints():
    """[(responder, path, dialect)]: one path of each endpoint."""
    _, contact = setup()
    public_id = portal_account().public_id
    return [
        ("send", f"{API}/send", "api"),
        ("verify", f"{API}/verify", "api"),
        ("auth-token", f"{API}/auth-token/{contact.uuid}", "api"),
        ("login-ticket", f"{API}/login-ticket", "api"),
        ("oauth-token", "/oauth/token", "oauth"),
        ("uo-verification-code", "/v4/Users/VerificationCode", "uo"),
        ("uo-verification", "/v4/Users/Verification", "uo"),
        ("uo-resend", "/VerifyEmail/Resend", "uo-legacy"),
        ("uo-verify-email", "/v4/Users/VerifyEmail?token=" + "A" * 43, "page"),
        ("portal-page", f"/login/{public_id}", "page"),
        ("portal-api", f"/portal/v1/{public_id}/login/code", "api"),
        ("healthz", "/healthz", "api"),
    ]


def test_trace_and_connect_are_answered_as_each_responder_answers_a_wrong_method():
    # nginx refuses TRACE and CONNECT itself; every other method it does not
    # know reaches the responder, whose 405 (DELETE here) is the model.
    for name, path, dialect in endpoints():
        status, headers, body = http("DELETE", path)
        assert status == 405, (name, status, body[:200])
        theirs = comparable(headers, body)
        assert theirs[0]["allow"], (name, headers)
        for method in ("TRACE", "CONNECT"):
            status, headers, body = http(method, path)
            assert status == 405, (name, method, status, body[:200])
            assert_envelope(dialect, 405, headers, body)
            assert comparable(headers, body) == theirs, (name, method, headers, body[:300])


def test_unknown_paths_are_404_in_the_envelope_whatever_the_method():
    paths = ["/nope", "/", "/v4/Users/VerifyEmail/", "/login/pa_x/y", f"{API}/send/",
             "/portal/static/", "/portal/static/.", "/portal/static/.hidden", "/portal/static/..",
             # the error pages' own paths are internal
             "/.cv-error/api/400", "/.cv-error/page/503", "/.cv-error/oauth/413"]
    for path in paths:
        for method in ("GET", "POST", "TRACE", "CONNECT", "FOO"):
            status, headers, body = http(method, path, body=b"{}" if method == "POST" else b"")
            assert status == 404, (method, path, status, body[:200])
            assert_envelope("api", 404, headers, body)
            assert json.loads(body)["message"] == "Not found.", body
        status, headers, body = http("HEAD", path)
        assert (status, body) == (404, b"") and request_id(headers), (path, status, headers)
    # A missing static file, too.
    status, headers, body = http("GET", "/portal/static/nope.js")
    assert status == 404, (status, body)
    assert_envelope("api", 404, headers, body)


def test_static_files_carry_a_request_id_and_refuse_in_the_envelope():
    status, headers, body = http("GET", "/portal/static/portal.js")
    assert status == 200 and b"function" in body, (status, body[:100])
    request_id(headers)
    etag = values(headers, "etag")[0]
    status, headers, body = http("GET", "/portal/static/portal.js", [("If-None-Match", etag)])
    assert (status, body) == (304, b""), status
    request_id(headers)
    # A range past the end is not a 416 page: ranges are off.
    status, headers, body = http("GET", "/portal/static/portal.js", [("Range", "bytes=99999-")])
    assert status == 200 and b"function" in body, status
    for method in ("POST", "DELETE", "PUT", "TRACE"):
        status, headers, body = http(method, "/portal/static/portal.js",
                                     body=b"x" if method in ("POST", "PUT") else b"")
        assert status == 405, (method, status, body[:200])
        assert_envelope("api", 405, headers, body)
        assert values(headers, "allow") == ["GET, HEAD"], headers
    for precondition in (("If-Match", '"nope"'),
                         ("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")):
        status, headers, body = http("GET", "/portal/static/portal.js", [precondition])
        assert status == 412, (precondition, status, body[:200])
        assert_envelope("api", 412, headers, body)


def test_a_static_file_nginx_may_not_read_is_a_500_in_the_envelope():
    # The fault of the installation, not the client's: never nginx's 403 page.
    name = f"unreadable-{os.urandom(4).hex()}.js"
    path = os.path.join(env("CV_STATE_DIR"), "static", name)
    with open(path, "w", encoding="ascii") as f:
        f.write("x")
    os.chmod(path, 0)
    try:
        status, headers, body = http("GET", f"/portal/static/{name}")
    finally:
        os.unlink(path)
    assert status == 500, (status, body[:200])
    assert_envelope("api", 500, headers, body)


def cgi_413(name, path, account):
    """The responder's own 413 (run as CGI, told of a 70 KB body)."""
    env_ = {"REQUEST_ID": "itest413", "QUERY_STRING": urllib.parse.urlsplit(path).query}
    public = urllib.parse.urlsplit(path).path
    m = re.match(r"^/portal/v1/([^/]+)/login/(\w+)$|^/login/([^/]+)$", public)
    path_info = None
    if m:
        path_info = f"/{m.group(1)}/{m.group(2)}" if m.group(1) else f"/{m.group(3)}"
    res = run_cgi(name, "POST", b"", content_type="application/json", key=account.key,
                  path_info=path_info, content_length=70000, extra_env=env_)
    assert res.status == 413, (name, res)
    headers = [(n, v) for n, v in res.headers.items() if n != "status"]
    return comparable(headers, res.body)


def test_a_body_over_the_limit_is_answered_as_the_responder_answers_it():
    account = create_account()
    big = json.dumps({"email": "a@example.com", "pad": "x" * 70000}).encode()
    for name, path, dialect in endpoints():
        status, headers, body = http("POST", path, [("Content-Type", "application/json"),
                                                    ("Authorization", f"Bearer {account.key}")],
                                     big)
        assert status == 413, (name, status, body[:200])
        assert_envelope(dialect, 413, headers, body)
        if name not in ("auth-token", "healthz"):     # they read no body: no 413 of their own
            assert comparable(headers, body) == cgi_413(name, path, account), (name, body[:300])
    # Not only the documented paths.
    status, headers, body = http("POST", "/nope", body=big)
    assert status == 413, status
    assert_envelope("api", 413, headers, body)


def test_malformed_http_is_a_400_in_the_dialect_of_its_path():
    pad = "x" * 40000
    header_faults = [
        [("X-Bad", "a\x00b")],
        [("Transfer-Encoding", "gzip")],               # 501 of nginx's own
        [("Content-Length", "2"), ("Content-Length", "3")],
        [("Content-Length", "-5")],
        [("X-Pad", pad)],                               # 494 of nginx's own
    ]
    for name, path, dialect in endpoints():
        for fault in header_faults:
            status, headers, body = http("POST", path, fault)
            assert status == 400, (name, fault[0][0], status, body[:200])
            assert_envelope(dialect, 400, headers, body)
        status, headers, body = http("POST", path, [("Transfer-Encoding", "chunked")], b"zz\r\n")
        assert status == 400, (name, status, body[:200])
        assert_envelope(dialect, 400, headers, body)
    # A request line nginx cannot read has no path: the API's envelope.
    for line in (b"garbage", b"GET /healthz HTTP/9.9", b"GET /v4/Users/VerifyEmail\x00 HTTP/1.1",
                 b"GET /x HTTP/1.1\r\nHost: a b"):
        status, headers, body = raw(line + b"\r\n\r\n")
        assert status == 400, (line, status, body[:200])
        assert_envelope("api", 400, headers, body)
        assert json.loads(body) == {"message": "Bad request.", "code": 1400, "status_code": 400}


def test_a_request_line_over_the_buffers_is_a_414_in_the_envelope():
    for path in ("/v4/Users/VerifyEmail?token=", "/oauth/token?", "/nope/"):
        status, headers, body = http("GET", path + "q" * 20000)
        assert status == 414, (path, status, body[:200])
        assert_envelope("api", 414, headers, body)
        assert json.loads(body)["message"] == "Request URI too long.", body


@contextmanager
def socket_gone(name):
    """The responder's socket is not there, as when it is not running: nginx
    cannot connect (a 502 of its own).  The responders keep listening on
    the renamed socket, which is put back at the end; nothing is stopped."""
    sock = os.path.join(env("CV_STATE_DIR"), "run", f"{name}.sock")
    away = sock + ".away"
    os.rename(sock, away)
    try:
        yield
    finally:
        os.rename(away, sock)


def cgi_503(name, path, account, tenant, broken_config):
    """The responder's own 503 (run as CGI with a database it cannot reach)."""
    parts = urllib.parse.urlsplit(path)
    env_ = {"REQUEST_ID": "itest503", "QUERY_STRING": parts.query}
    body, ctype, key, method, path_info = b"{}", "application/json", account.key, "POST", None
    m = re.match(r"^/portal/v1/([^/]+)/login/(\w+)$|^/login/([^/]+)$", parts.path)
    if m:
        path_info = f"/{m.group(1)}/{m.group(2)}" if m.group(1) else f"/{m.group(3)}"
    if name in ("auth-token", "healthz", "uo-verify-email", "portal-page"):
        method, body = "GET", b""
    if name == "auth-token":
        path_info = parts.path.rsplit("auth-token", 1)[1]
    if name.startswith("uo-") and name != "uo-verify-email":
        key = None
        env_.update({"HTTP_" + h.upper().replace("-", "_"): v for h, v in tenant.headers().items()})
    if name == "oauth-token":
        key, ctype = None, "application/x-www-form-urlencoded"
        client_id, secret = add_client(account)
        body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id,
                                       "client_secret": secret}).encode()
    if name == "portal-api":
        body = json.dumps({"email": "a@example.com"}).encode()
    res = run_cgi(name, method, body, content_type=ctype if body else None, key=key,
                  path_info=path_info, config_path=broken_config, extra_env=env_)
    assert res.status == 503, (name, res)
    headers = [(n, v) for n, v in res.headers.items() if n != "status"]
    return comparable(headers, res.body)


def test_a_responder_that_is_not_running_is_a_503_as_the_responder_answers_it():
    # 502 and 504 of nginx's own take the same error_page line (a responder
    # not answering within fastcgi_read_timeout, 30 s, is not waited for).
    account = create_account()
    tenant = Tenant(account)
    lines = [f"{k} = {v}" for k, v in config().items() if k != "database"]
    lines.append("database = host=/nonexistent port=5432 dbname=none user=cv_app connect_timeout=1")
    broken, remove = private_config("\n".join(lines) + "\n")
    try:
        for name, path, dialect in endpoints():
            with socket_gone(name):
                status, headers, body = http("GET", path)
            assert status == 503, (name, status, body[:200])
            assert_envelope(dialect, 503, headers, body)
            assert comparable(headers, body) == cgi_503(name, path, account, tenant, broken), \
                (name, body[:300])
            # Back: the responder answers again.
            status, _, _ = http("GET", path)
            assert status != 503, (name, status)
    finally:
        remove()
