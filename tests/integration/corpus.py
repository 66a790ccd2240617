"""corpus.py - hostile requests for test_hostile.py: malformed bodies (NUL
bytes, invalid UTF-8, overlong fields, duplicate keys, deep nesting, wrong
types), bad credentials (API keys, JWTs, Basic auth), bad uuids and emails,
huge headers, oversize bodies and bad methods, for every endpoint.  Sent
over a raw socket (http.client refuses to send much of this) through nginx.

Each entry: Hostile(name, endpoint, raw request bytes, must_fail).  must_fail
is False where the documented answer may be a success (duplicate keys: the
last one wins, README Security); every answer must still be below 500 and
in the endpoint's envelope (test_hostile.py).
"""
import base64
import json
import socket

from stack import API, env


# A well-formed uuid that is no contact's (DELETE .../contacts/{uuid}).
NO_CONTACT = "00000000-0000-4000-8000-000000000000"


class Endpoint:
    def __init__(self, name, method, path, dialect, body_kind="json"):
        self.name = name
        self.method = method
        self.path = path
        self.dialect = dialect          # contact, oauth, uo, uo_legacy, html, health
        self.body_kind = body_kind      # json, form or None (no body)


def endpoints(contact_uuid, public_id="x"):
    return [
        Endpoint("send", "POST", f"{API}/send", "contact"),
        Endpoint("verify", "POST", f"{API}/verify", "contact"),
        Endpoint("auth-token", "GET", f"{API}/auth-token/{contact_uuid}", "contact", None),
        Endpoint("oauth-token", "POST", "/oauth/token", "oauth", "form"),
        Endpoint("uo-verification-code", "POST", "/v4/Users/VerificationCode", "uo"),
        Endpoint("uo-resend", "POST", "/VerifyEmail/Resend", "uo_legacy"),
        Endpoint("uo-verification", "POST", "/v4/Users/Verification", "uo"),
        Endpoint("uo-verify-email", "GET", "/v4/Users/VerifyEmail?token=" + "A" * 43, "html", None),
        Endpoint("healthz", "GET", "/healthz", "health", None),
        # The login portal (README "Login portal"): public JSON endpoints
        # (with an allow-listed Origin), the hosted page's forms, and the
        # backend's ticket exchange.
        Endpoint("portal-code", "POST", f"/portal/v1/{public_id}/login/code", "contact"),
        Endpoint("portal-verify", "POST", f"/portal/v1/{public_id}/login/verify", "contact"),
        Endpoint("portal-page", "POST", f"/login/{public_id}", "html", "form"),
        Endpoint("login-ticket", "POST", f"{API}/login-ticket", "contact"),
        # Public keys (README "Verifying auth tokens"): a contact's uuid is
        # no account's, so the JWKS answers 404 but for the hostile entries
        # that are about HTTP itself.
        Endpoint("well-known", "GET", f"/accounts/{contact_uuid}/.well-known/jwks.json", "jwks",
                 None),
        # An erasure of a uuid no contact has: nothing of the corpus's own
        # contact is erased by a request that gets through.
        Endpoint("contact", "DELETE", f"{API}/contacts/{NO_CONTACT}", "contact", None),
    ]


class Hostile:
    def __init__(self, name, endpoint, raw, must_fail=True, http_level=False):
        self.name = name
        self.endpoint = endpoint
        self.raw = raw
        self.must_fail = must_fail
        self.http_level = http_level    # nginx itself may answer (the API's envelope when
                                        # it could not read the request line)


def raw_request(method, path, headers, body=b"", version=b"HTTP/1.1", content_length=True):
    """The bytes of one request; headers: [(name, value)] as str or bytes."""
    def b(x):
        return x if isinstance(x, bytes) else x.encode("utf-8")
    lines = [b(method) + b" " + b(path) + b" " + version, b"Host: 127.0.0.1",
             b"Connection: close"]
    lines += [b(n) + b": " + b(v) for n, v in headers]
    if content_length and (body or method == "POST"):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def send_raw(raw, timeout=15):
    """(status, {lowercased header: value}, body) of the answer to raw."""
    base = env("CV_BASE_URL").rsplit(":", 1)
    port = int(base[1].rstrip("/"))
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass    # nginx may answer before it has read everything
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            chunks.append(data)
    answer = b"".join(chunks)
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    assert len(parts) >= 2 and parts[1].isdigit(), f"no HTTP answer: {answer[:200]!r}"
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = dechunk(body)
    return int(parts[1]), headers, body


def dechunk(data):
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2:]
    return out


def b64(obj):
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# Bodies that every JSON endpoint must refuse (must_fail), by name.
def bad_json_bodies(field):
    deep_arrays = b"[" * 5000 + b"]" * 5000
    deep_objects = b'{"a":' * 3000 + b"1" + b"}" * 3000
    return [
        ("nul-escape", json.dumps({field: "a\u0000b@example.com"}).encode()),
        ("nul-raw", b'{"' + field.encode() + b'":"a\x00b@example.com"}'),
        ("nul-in-key", b'{"' + field.encode() + b'\x00":"a@example.com"}'),
        ("invalid-utf8", b'{"' + field.encode() + b'":"\xff\xfe@example.com"}'),
        ("overlong-utf8", b'{"' + field.encode() + b'":"\xc0\xaf@example.com"}'),
        ("lone-surrogate", b'{"' + field.encode() + b'":"\\ud800@example.com"}'),
        ("cesu-surrogate", b'{"' + field.encode() + b'":"\xed\xa0\x80@example.com"}'),
        ("overlong-field", json.dumps({field: "a" * 20000 + "@example.com"}).encode()),
        ("deep-arrays", deep_arrays),
        ("deep-objects", deep_objects),
        ("deep-in-field", b'{"' + field.encode() + b'":' + b"[" * 2000 + b"]" * 2000 + b"}"),
        ("number", json.dumps({field: 12345.5}).encode()),
        ("huge-number", b'{"' + field.encode() + b'":1e999999}'),
        ("array", json.dumps({field: ["a@example.com"]}).encode()),
        ("object", json.dumps({field: {"a": "b"}}).encode()),
        ("null", json.dumps({field: None}).encode()),
        ("bool", json.dumps({field: True}).encode()),
        ("empty-string", json.dumps({field: ""}).encode()),
        ("blank-string", json.dumps({field: " \t\n "}).encode()),
        ("top-null", b"null"),
        ("top-array", b'[{"' + field.encode() + b'":"a@example.com"}]'),
        ("top-string", b'"a@example.com"'),
        ("top-number", b"42"),
        ("truncated", b'{"' + field.encode() + b'":"a@exa'),
        ("trailing-garbage", b'{"' + field.encode() + b'":"a@example.com"} xyz'),
        ("two-documents", b'{"a":1}{"b":2}'),
        ("single-quotes", b"{'" + field.encode() + b"':'a@example.com'}"),
        ("comment", b'{/* x */"' + field.encode() + b'":"a@example.com"}'),
        ("bom", b'\xef\xbb\xbf{"' + field.encode() + b'":"x"}'),
        ("empty-body", b""),
    ]


BAD_EMAILS = ["a@", "@example.com", "a@b@example.com", "a..b@example.com",
              "a@example.com\r\nBcc: victim@example.com", "<script>@example.com",
              "a@-example.com", "a" * 65 + "@example.com", "a@" + "b" * 300 + ".com",
              "a b@example.com", "a@example..com", "\u202eevil@example.com"]


def corpus(api_key, tenant_headers, contact_email, contact_uuid, client_id, portal):
    """The hostile requests (about 560).  portal: the login portal's public
    id, allowed origin, and a CSRF cookie with a token valid for it."""
    eps = {e.name: e for e in endpoints(contact_uuid, portal["public_id"])}
    out = []

    def auth_for(ep):
        if ep.name.startswith("portal-"):
            return [("Origin", portal["origin"]),
                    ("Cookie", f"cv_csrf={portal['cookie']}")]
        if ep.dialect == "contact":
            return [("Authorization", f"Bearer {api_key}")]
        if ep.dialect in ("uo", "uo_legacy"):
            return list(tenant_headers.items())
        return []

    json_ct = [("Content-Type", "application/json")]
    email_field = {"send": "email", "verify": "email", "uo-verification-code": "email",
                   "uo-resend": "Email", "uo-verification": "email",
                   "portal-code": "email", "portal-verify": "email", "login-ticket": "ticket"}
    # 1. Bodies, for every endpoint that reads JSON.
    for name, field in email_field.items():
        ep = eps[name]
        for label, body in bad_json_bodies(field):
            out.append(Hostile(f"{name}:{label}", ep,
                               raw_request(ep.method, ep.path, auth_for(ep) + json_ct, body)))
        for bad in BAD_EMAILS:
            body = json.dumps({field: bad, "code": "123456", "verificationCode": "123456"}).encode()
            out.append(Hostile(f"{name}:bad-email:{bad[:20]!r}", ep,
                               raw_request(ep.method, ep.path, auth_for(ep) + json_ct, body)))
        dup = ('{"' + field + '":"' + contact_email + '","' + field + '":"' + contact_email +
               '","code":"1","code":"123456"}').encode()
        out.append(Hostile(f"{name}:duplicate-keys", ep,
                           raw_request(ep.method, ep.path, auth_for(ep) + json_ct, dup),
                           must_fail=False))
        for ct, body in (("application/x-www-form-urlencoded", b"email=%ZZ"),
                         ("application/x-www-form-urlencoded", b"email=a%00b%40example.com"),
                         ("application/x-www-form-urlencoded", b"email=%ff%fe"),
                         ("application/x-www-form-urlencoded", b"&&&=&="),
                         ("text/plain", b"email=a@example.com"),
                         ("multipart/form-data; boundary=x", b"--x\r\n\r\nx\r\n--x--"),
                         ("application/json; charset=latin1", b'{"email":"\xe9@example.com"}'),
                         ("application/json\x01", b"{}")):
            out.append(Hostile(f"{name}:ct:{ct[:24]}:{body[:12]!r}", ep,
                               raw_request(ep.method, ep.path, auth_for(ep) +
                                           [("Content-Type", ct.encode("latin-1"))], body)))
        # Oversize: refused by nginx (413) in the endpoint's envelope.
        out.append(Hostile(f"{name}:oversize", ep, raw_request(
            ep.method, ep.path, auth_for(ep) + json_ct,
            json.dumps({field: "a@example.com", "pad": "x" * 100000}).encode())))

    # 2. The OAuth token endpoint: forms and Basic client authentication.
    ep = eps["oauth-token"]
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    for label, headers, body in (
            ("no-grant", form, b"client_id=1&client_secret=x"),
            ("nul-grant", form, b"grant_type=client%00credentials"),
            ("utf8-grant", form, b"grant_type=%ff"),
            ("long-secret", form, b"grant_type=client_credentials&client_id=" +
             str(client_id).encode() + b"&client_secret=" + b"x" * 30000),
            ("huge-client-id", form, b"grant_type=client_credentials&client_id=" + b"9" * 40 +
             b"&client_secret=x"),
            ("negative-client-id", form, b"grant_type=client_credentials&client_id=-1"
             b"&client_secret=x"),
            ("json-array-id", json_ct, b'{"grant_type":"client_credentials","client_id":[1],'
             b'"client_secret":"x"}'),
            ("json-deep", json_ct, b"[" * 5000),
            ("basic-bad-b64", form + [("Authorization", "Basic !!!!")],
             b"grant_type=client_credentials"),
            ("basic-no-colon", form + [("Authorization", "Basic " + b64(b"12345"))],
             b"grant_type=client_credentials"),
            ("basic-nul", form + [("Authorization", "Basic " + b64(b"1\x00:x\x00"))],
             b"grant_type=client_credentials"),
            ("basic-huge", form + [("Authorization", "Basic " + "A" * 6000)],
             b"grant_type=client_credentials"),
            ("basic-and-body", form + [("Authorization", "Basic " + b64(b"1:x"))],
             b"grant_type=client_credentials&client_id=1&client_secret=x"),
            ("basic-utf8", form + [("Authorization", b"Basic " + base64.b64encode(b"\xff:\xfe"))],
             b"grant_type=client_credentials"),
            ("oversize", form, b"grant_type=client_credentials&pad=" + b"x" * 100000),
    ):
        out.append(Hostile(f"oauth-token:{label}", ep, raw_request(ep.method, ep.path, headers, body)))

    # 3. Bearer credentials on the Contact Verification endpoints.
    header_jwt = b64({"alg": "none", "typ": "at+jwt"})
    bad_bearers = [
        "Bearer " + "A" * 5000, "Bearer a.b.c", f"Bearer {header_jwt}.{b64({'client_id': 1})}.",
        "Bearer " + b64({"alg": "HS256"}) + "." + b64(b"not json") + ".AAAA",
        "Bearer " + b64(b"") + "." + b64(b"") + ".", "Bearer ....", "Bearer a b",
        b"Bearer \xff\xfe", "Bearer %00", "bearer", "Token abc", "Basic " + b64(b"a:b"),
        "Bearer " + "x" * 3 + "." + "y" * 7000 + ".z",
    ]
    for name in ("send", "verify", "auth-token", "contact"):
        ep = eps[name]
        body = (json.dumps({"email": contact_email, "code": "123456"}).encode()
                if ep.method == "POST" else b"")
        for i, bearer in enumerate(bad_bearers):
            out.append(Hostile(f"{name}:bearer-{i}", ep, raw_request(
                ep.method, ep.path, [("Authorization", bearer)] + json_ct, body)))
        out.append(Hostile(f"{name}:two-authorizations", ep, raw_request(
            ep.method, ep.path, [("Authorization", f"Bearer {api_key}"),
                                 ("Authorization", "Bearer x")] + json_ct, body),
            must_fail=False))

    # 4. Tenant JWTs on the Users Orchestrator endpoints.
    for name in ("uo-verification-code", "uo-resend", "uo-verification"):
        ep = eps[name]
        body = json.dumps({"email": contact_email, "Email": contact_email}).encode()
        for i, bearer in enumerate(bad_bearers[:8]):
            headers = dict(tenant_headers, Authorization=bearer)
            out.append(Hostile(f"{name}:jwt-{i}", ep, raw_request(
                ep.method, ep.path, list(headers.items()) + json_ct, body)))
        headers = dict(tenant_headers)
        headers["X-ClientCode"] = "A" * 5000
        out.append(Hostile(f"{name}:long-client-code", ep, raw_request(
            ep.method, ep.path, list(headers.items()) + json_ct, body)))
        headers["X-ClientCode"] = b"\xff\x01"
        out.append(Hostile(f"{name}:binary-client-code", ep, raw_request(
            ep.method, ep.path, list(headers.items()) + json_ct, body)))

    # 5. Paths: the contact uuid and the link token.
    for label, tail in (("not-uuid", "not-a-uuid"), ("traversal", "..%2f..%2fetc%2fpasswd"),
                        ("nul", "%00"), ("long", "a" * 5000), ("braces", "{" + contact_uuid + "}"),
                        ("upper", contact_uuid.upper()), ("trailing", contact_uuid + "x"),
                        ("utf8", "%ff%fe"), ("empty", "")):
        ep = eps["auth-token"]
        out.append(Hostile(f"auth-token:path-{label}", ep, raw_request(
            "GET", f"{API}/auth-token/{tail}", [("Authorization", f"Bearer {api_key}")]),
            must_fail=label != "upper"))
    for label, tail in (("not-uuid", "not-a-uuid"), ("traversal", "..%2f..%2fetc%2fpasswd"),
                        ("nul", "%00"), ("long", "a" * 5000), ("braces", "{" + NO_CONTACT + "}"),
                        ("trailing", contact_uuid + "x"), ("utf8", "%ff%fe"), ("empty", "")):
        ep = eps["contact"]
        out.append(Hostile(f"contact:path-{label}", ep, raw_request(
            "DELETE", f"{API}/contacts/{tail}", [("Authorization", f"Bearer {api_key}")])))
    ep = eps["uo-verify-email"]
    for label, query in (("no-token", ""), ("short", "?token=abc"), ("nul", "?token=%00" + "A" * 42),
                         ("utf8", "?token=%ff"), ("long", "?token=" + "A" * 6000),
                         ("two", "?token=" + "A" * 43 + "&token=" + "B" * 43),
                         ("bad-escape", "?token=%zz")):
        for method in ("GET", "POST"):
            out.append(Hostile(f"uo-verify-email:{method}-{label}", ep, raw_request(
                method, "/v4/Users/VerifyEmail" + query, [])))

    # The JWKS path: account ids that are no uuid, or hide something.
    for name, account in (("not-uuid", "abc"), ("sql", "%27%20OR%201%3D1--"),
                          ("nul", "%00"), ("dots", "..%2F..%2Fcv.conf"), ("long", "a" * 3000),
                          ("upper-uuid", contact_uuid.upper()), ("utf8", "%C3%A4" * 20)):
        out.append(Hostile(f"well-known:account-{name}", eps["well-known"], raw_request(
            "GET", f"/accounts/{account}/.well-known/jwks.json", [])))

    # 6. HTTP itself: methods, headers, framing.
    for ep in eps.values():
        for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "FOO"):
            if method == "OPTIONS" and ep.name in ("portal-code", "portal-verify"):
                continue    # a CORS preflight (test_portal.py)
            out.append(Hostile(f"{ep.name}:method-{method}", ep,
                               raw_request(method, ep.path, auth_for(ep), b"{}")))
    for ep in (eps["send"], eps["oauth-token"], eps["uo-verification-code"], eps["healthz"]):
        out.append(Hostile(f"{ep.name}:huge-header", ep, raw_request(
            ep.method, ep.path, auth_for(ep) + [("X-Pad", "x" * 40000)], b"{}"), http_level=True))
        out.append(Hostile(f"{ep.name}:many-headers", ep, raw_request(
            ep.method, ep.path, auth_for(ep) + [(f"X-H{i}", "y" * 100) for i in range(300)],
            b"{}"), must_fail=False, http_level=True))
        out.append(Hostile(f"{ep.name}:nul-in-header", ep, raw_request(
            ep.method, ep.path, auth_for(ep) + [("X-Bad", b"a\x00b")], b"{}"), http_level=True))
        out.append(Hostile(f"{ep.name}:bad-content-length", ep, raw_request(
            ep.method, ep.path, auth_for(ep) + [("Content-Length", "-5")], b"{}",
            content_length=False), http_level=True))
        out.append(Hostile(f"{ep.name}:two-content-lengths", ep, raw_request(
            ep.method, ep.path, auth_for(ep) + [("Content-Length", "2"), ("Content-Length", "3")],
            b"{}", content_length=False), http_level=True))
        out.append(Hostile(f"{ep.name}:bad-chunked", ep, raw_request(
            ep.method, ep.path, auth_for(ep) + [("Transfer-Encoding", "chunked")], b"zz\r\n{}\r\n0\r\n\r\n",
            content_length=False), http_level=True))
        out.append(Hostile(f"{ep.name}:chunked-oversize", ep, raw_request(
            ep.method, ep.path, auth_for(ep) + [("Transfer-Encoding", "chunked")],
            b"".join(b"4000\r\n" + b"x" * 0x4000 + b"\r\n" for _ in range(6)) + b"0\r\n\r\n",
            content_length=False)))
        out.append(Hostile(f"{ep.name}:unknown-transfer-encoding", ep, raw_request(
            ep.method, ep.path, auth_for(ep) + [("Transfer-Encoding", "gzip")], b"{}",
            content_length=False), http_level=True))
        out.append(Hostile(f"{ep.name}:http10", ep, raw_request(
            ep.method, ep.path, auth_for(ep), b"{}", version=b"HTTP/1.0"), must_fail=False))
        out.append(Hostile(f"{ep.name}:bad-version", ep, raw_request(
            ep.method, ep.path, auth_for(ep), b"{}", version=b"HTTP/9.9"), http_level=True))
        out.append(Hostile(f"{ep.name}:nul-in-path", ep, raw_request(
            ep.method, ep.path + "\x00x", auth_for(ep), b"{}"), http_level=True))
        out.append(Hostile(f"{ep.name}:long-uri", ep, raw_request(
            ep.method, ep.path + "?" + "q" * 20000, auth_for(ep), b"{}"), http_level=True))
    # 7. The hosted page's forms (valid CSRF token and cookie, hostile fields;
    # a re-shown form answers 200, README "Login portal"), and its paths.
    ep = eps["portal-page"]
    form = auth_for(ep) + [("Content-Type", "application/x-www-form-urlencoded")]
    csrf = "csrf=" + portal["csrf"]
    for label, body, must_fail in (
            ("no-csrf", "step=email&email=a%40example.com", True),
            ("bad-csrf", "csrf=1.AAAA&step=email&email=a%40example.com", True),
            ("nul-csrf", "csrf=%00&step=email&email=a%40example.com", True),
            ("no-step", csrf + "&email=a%40example.com", False),
            ("bad-step", csrf + "&step=%ff&email=a%40example.com", False),
            ("nul-email", csrf + "&step=email&email=a%00b%40example.com", False),
            ("utf8-email", csrf + "&step=email&email=%ff%fe%40example.com", False),
            ("long-email", csrf + "&step=email&email=" + "a" * 20000, False),
            ("two-emails", csrf + "&step=email&email=a%40example.com&email=b%40example.com", False),
            ("code-letters", csrf + "&step=code&email=a%40example.com&code=abcdef", False),
            ("code-long", csrf + "&step=code&email=a%40example.com&code=" + "1" * 5000, False),
            ("link-bad-token", csrf + "&step=link&token=%00", False),
            ("link-long-token", csrf + "&step=link&token=" + "A" * 6000, False),
            ("bad-escape", csrf + "&step=email&email=%zz", False),
            ("json-body", None, True)):
        if body is None:
            raw = raw_request("POST", ep.path, auth_for(ep) + json_ct, b'{"step":"email"}')
        else:
            raw = raw_request("POST", ep.path, form, body.encode())
        out.append(Hostile(f"portal-page:{label}", ep, raw, must_fail=must_fail))
    for label, path in (("unknown-app", "/login/" + "A" * 22), ("long-id", "/login/" + "A" * 5000),
                        ("nul-id", "/login/%00"), ("bad-link", f"/login/{portal['public_id']}?token=%ff"),
                        ("long-link", f"/login/{portal['public_id']}?token=" + "A" * 6000)):
        # (A NUL in the path: nginx refuses the request itself; with no
        # page's path, in the API's envelope.)
        out.append(Hostile(f"portal-page:GET-{label}", ep, raw_request("GET", path, []),
                           must_fail=label in ("unknown-app", "long-id", "nul-id"),
                           http_level=label == "nul-id"))
    for path in ("/.cv-error/api/400", "/.cv-error/api/404", "/.cv-error/page/503",
                 "/.cv-error/oauth/413", "/.cv-error/"):
        out.append(Hostile(f"internal:{path}", eps["healthz"], raw_request("GET", path, [])))
    return out
