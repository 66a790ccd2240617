"""No link token, code or key in any log (README, "Logs"), whichever
process writes it: the link tokens and codes of really delivered mails (a
registration link, a portal login link, the link of an API send) and an API
key are put into URLs in every way that makes a web server log a line --
the link pages (GET, HEAD, a body over the limit, TRACE, a request line
over the buffers, malformed headers, a Referer), mangled links, unknown
paths, other endpoints, and, through nginx, responders that are not
running (their sockets renamed away and back: nothing is stopped) -- through
nginx and both Apaches (apache.conf.example with mod_fcgid and with
mod_cgi).  Then no file of the stack's log directory holds any of them,
while the access logs did record those requests (by request id, path
without query).  Mode "apache": the Apaches run, and the stack's mailer
delivers the mails."""
import os
import re
import urllib.parse

from mailers import wait_until
from stack import API, env, exchange_raw, send, text_part, wait_for_mail
from test_nginx_answers import socket_gone
from test_orchestrator import V4, tenant
from test_portal import api, portal_account

MODE = "apache"
SERVERS = {"nginx": "CV_BASE_URL", "fcgid": "CV_APACHE_FCGID_URL", "cgi": "CV_APACHE_CGI_URL"}
ACCESS_LOGS = {"nginx": "nginx-access.log", "fcgid": "apache-fcgid-access.log",
               "cgi": "apache-cgi-access.log"}
# The SMTP server of the test stack stands for the recipient's mail server:
# it received the mail, token and all, by design.  Every other log is ours.
NOT_OURS = {"smtp.log"}


def log_dir():
    return os.path.join(env("CV_STATE_DIR"), "log")


def raw(url, data):
    """Sends data on a new connection; returns the answer's X-Request-Id
    (None when there is none) after checking that an answer came."""
    answer = exchange_raw(url, data)
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1")
    assert re.match(r"HTTP/1\.[01] \d{3}", head), f"no answer to {data[:120]!r}: {answer[:200]!r}"
    m = re.search(r"(?im)^X-Request-Id: *(\S+)", head)
    return m.group(1) if m else None


def http(method, target, headers=(), body=b""):
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{n}: {v}" for n, v in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def mailed_secrets():
    """({token: path it belongs to}, [codes], api key, public id): from a
    registration mail, a portal login mail and an API send's mail, with
    10-digit codes (too long to turn up in a log by chance)."""
    tokens, codes = {}, []
    t = tenant(code_length=10)
    email = f"logs-{os.urandom(4).hex()}@example.com"
    assert t.post(V4, {"email": email}).status == 200
    portal = portal_account(code_length=10, resend_cooldown=0)
    contact = portal.add_contact()
    assert api(portal, "code", {"email": contact.email}).status == 200
    other = portal.add_contact()
    assert send(portal.key, other.email).status == 200
    for address in (email, contact.email, other.email):
        text = text_part(wait_for_mail(address))
        found = re.findall(r"[?&]token=([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])", text)
        assert found, f"no link with a token in:\n{text}"
        codes += re.findall(r"(?<!\d)(\d{10})(?!\d)", re.sub(r"\S+://\S+", " ", text))
        for token in found:
            tokens[token] = "/v4/Users/VerifyEmail" if address == email else f"/login/{portal.public_id}"
    assert len(tokens) == 3 and len(codes) == 3, (tokens, codes)
    return tokens, codes, portal.key, portal.public_id


def requests_for(token, page, code, key, public_id):
    """Requests that carry token (and code, key) in their URL."""
    big = b"x" * (70 * 1024)
    link = f"{page}?token={token}&code={code}"
    return [
        http("GET", link), http("HEAD", link),
        http("POST", link, [("Content-Type", "application/x-www-form-urlencoded")], big),
        http("TRACE", link),
        http("GET", link + "&pad=" + "x" * 20000),                 # request line too long
        http("GET", link, [("X-Bad", "a\x00b")]),                   # malformed header
        http("GET", link, [("X-Pad", "x" * 40000)]),                # headers too large
        http("GET", link, [("Referer", f"https://elsewhere.example{link}")]),
        # Mangled links, unknown paths.
        http("GET", f"{page}/?token={token}"), http("GET", f"{page}%3Ftoken={token}"),
        http("GET", f"/login/{public_id}/x?token={token}"), http("GET", f"/nope?token={token}"),
        http("GET", f"/portal/static/?token={token}"),
        http("GET", f"/portal/static/nope.js?token={token}"),
        # Other endpoints, a key in the URL and in its header.
        http("POST", f"{API}/send?token={token}&code={code}&key={key}",
             [("Authorization", f"Bearer {key}"), ("Content-Type", "application/json")], big),
        http("POST", f"/oauth/token?client_secret={token}", [], big),
        http("GET", f"/healthz?token={token}"),
    ]


def test_no_token_code_or_key_reaches_any_log():
    tokens, codes, key, public_id = mailed_secrets()
    seen = {name: [] for name in SERVERS}
    for name, variable in SERVERS.items():
        url = env(variable)
        for (token, page), code in zip(tokens.items(), codes):
            for data in requests_for(token, page, code, key, public_id):
                seen[name].append(raw(url, data))
    # Through nginx, a responder that is not running (502, answered 503).
    url = env("CV_BASE_URL")
    for token, page in tokens.items():
        responder = "uo-verify-email" if page.startswith("/v4/") else "portal-page"
        with socket_gone(responder):
            seen["nginx"].append(raw(url, http("GET", f"{page}?token={token}")))
            seen["nginx"].append(raw(url, http("POST", f"{page}?token={token}",
                                               [("Content-Type", "text/plain")], b"x")))
        with socket_gone("send"):
            seen["nginx"].append(raw(url, http("POST", f"{API}/send?token={token}",
                                               [("Authorization", f"Bearer {key}")], b"{}")))

    secrets_ = list(tokens) + codes + [key]
    found = []
    files = sorted(os.listdir(log_dir()))
    assert {"nginx-error.log", "nginx-access.log", "apache-fcgid.log", "apache-cgi.log",
            "uo-verify-email.log", "portal-page.log", "send.log", "mailer.log"} <= set(files), files
    for file in files:
        if file in NOT_OURS:
            continue
        with open(os.path.join(log_dir(), file), "rb") as f:
            data = f.read()
        for secret in secrets_:
            for m in re.finditer(re.escape(secret.encode()), data):
                line = data[data.rfind(b"\n", 0, m.start()) + 1:data.find(b"\n", m.end())]
                found.append(f"{file}: {line[:300]!r}")
    assert not found, f"{len(found)} secrets in logs:\n" + "\n".join(found[:20])

    # Every request with a request id was logged (the web servers write the
    # line after the answer: polled), by path, without its query.
    for name, ids in seen.items():
        ids = [i for i in ids if i is not None]
        assert len(ids) >= 40, (name, len(ids))
        path = os.path.join(log_dir(), ACCESS_LOGS[name])

        def logged():
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            return all(i in text for i in ids) and text
        text = wait_until(logged, 10, f"every request id in {ACCESS_LOGS[name]}")
        assert f'"GET /login/{public_id}"' in text and '"POST /v4/Users/VerifyEmail"' in text, \
            text[-2000:]
