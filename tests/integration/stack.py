"""stack.py - what the integration tests share: the running stack's
environment, an HTTP client, the database (fixtures, the clock, scans), the
delivered mail and JWT checks.  The tests drive the real stack that tools/test
started (nginx + FastCGI responders + PostgreSQL + the mailer + an SMTP
server); nothing here starts or stops a process of the stack.

Every test makes its own account (with an API key, usually a user app) and
contacts with unique addresses, so tests never see each other's data or mail;
run.py calls cleanup() after a passing test (a failing test's rows are kept
for inspection when tools/test runs with CV_KEEP_STATE=1).
"""
import base64
import email
import email.policy
import email.utils
import hashlib
import hmac
import html
import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid

import psycopg2

API = "/api/v3/oauth/clients/contact-verification"

# Set by run.py from --mode: which delivery the running mailer does.
MODE = "smtp"

MAIL_TIMEOUT = 15.0      # seconds to wait for one message
MAIL_POLL = 0.05


def env(name):
    value = os.environ.get(name)
    if not value:
        raise AssertionError(f"environment variable {name} is not set (tools/test sets it)")
    return value


def responders():
    """The names of the stack's responders (tools/lib.sh's CV_RESPONDERS,
    passed on by tools/test as CV_RESPONDERS)."""
    names = env("CV_RESPONDERS").split()
    assert names, "CV_RESPONDERS is empty"
    return names


# ---------------------------------------------------------------- config

_config = None


def config():
    """The key = value pairs of $CV_CONFIG (read as root)."""
    global _config
    if _config is None:
        values = {}
        with open(env("CV_CONFIG"), encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#") or "=" not in line:
                    continue
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
        _config = values
    return _config


def code_secret():
    return bytes.fromhex(config()["code_secret"])


def public_url():
    return config().get("public_url", "").rstrip("/")


def issuer():
    return config()["issuer"]


def code_hash(code):
    """What cv.passcodes.code_hash must hold for code: HMAC-SHA256(secret, "c:" + code)."""
    return hmac.new(code_secret(), b"c:" + code.encode(), hashlib.sha256).digest()


# ---------------------------------------------------------------- HTTP

class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers      # http.client.HTTPMessage: case-insensitive get()
        self.body = body
        self.sent = ""         # the request, for failure messages

    def header(self, name):
        return self.headers.get(name)

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError as e:
            raise AssertionError(f"answer {self.status} is not JSON ({e}): {self.body[:300]!r}")

    def __repr__(self):
        return f"<HTTP {self.status} {self.body[:400]!r} for {self.sent}>"


def request(method, path, body=None, content_type=None, key=None, headers=None, timeout=15):
    """One request on a fresh connection to CV_BASE_URL.

    body: None, bytes, str, or a dict/list (sent as JSON).  key: an API key
    sent as "Authorization: Bearer <key>".  headers: more headers (they win).
    """
    base = urllib.parse.urlsplit(env("CV_BASE_URL"))
    hdrs = {}
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        content_type = content_type or "application/json"
    elif isinstance(body, str):
        body = body.encode("utf-8")
    if content_type is not None:
        hdrs["Content-Type"] = content_type
    if key is not None:
        hdrs["Authorization"] = f"Bearer {key}"
    hdrs.update(headers or {})
    conn = http.client.HTTPConnection(base.hostname, base.port or 80, timeout=timeout)
    try:
        try:
            conn.request(method, path, body=body, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            # nginx may answer (413) and close before it has read the body.
            pass
        resp = conn.getresponse()
        answer = Response(resp.status, resp.reason, resp.headers, resp.read())
        shown = body if body is None or len(body) <= 100 else body[:100] + b"..."
        answer.sent = f"{method} {path} {content_type or ''} {shown!r}"
        return answer
    finally:
        conn.close()


def send(key, email_addr, form=False, **kw):
    if form:
        return request("POST", f"{API}/send", urllib.parse.urlencode({"email": email_addr}),
                       content_type="application/x-www-form-urlencoded", key=key, **kw)
    return request("POST", f"{API}/send", {"email": email_addr}, key=key, **kw)


def verify(key, email_addr, code, form=False, **kw):
    fields = {"code": code, "email": email_addr}
    if form:
        return request("POST", f"{API}/verify", urllib.parse.urlencode(fields),
                       content_type="application/x-www-form-urlencoded", key=key, **kw)
    return request("POST", f"{API}/verify", fields, key=key, **kw)


def auth_token(key, contact_uuid, **kw):
    return request("GET", f"{API}/auth-token/{contact_uuid}", key=key, **kw)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def send_success_body(email_addr):
    return compact({"data": {"type": "Success",
                             "message": "An email containing a link to verify your email has been "
                                        f"sent to {email_addr}. Please check your spam / junk as well."},
                    "meta": []})


# ---------------------------------------------------------------- assertions

def assert_json_type(resp):
    ctype = (resp.header("Content-Type") or "").split(";")[0].strip().lower()
    assert ctype == "application/json", f"Content-Type is {resp.header('Content-Type')!r}: {resp!r}"


def assert_exact(resp, status, expected_body):
    """Status, JSON content type and the exact bytes of the body."""
    assert resp.status == status, f"expected HTTP {status}, got {resp!r}"
    assert_json_type(resp)
    assert resp.body == expected_body, f"got {resp.body!r}, expected {expected_body!r} (request: {resp.sent})"


def expect(resp, status):
    """resp (HTTP or CGI) after checking its status; fails showing the answer."""
    assert resp.status == status, f"expected status {status}, got {resp!r}"
    return resp


def assert_error(resp, status, code, message, errors=None):
    """The error envelope {"message","code","status_code"} (+ "errors"), and nothing else."""
    assert resp.status == status, f"expected HTTP {status} (code {code}), got {resp!r}"
    assert_json_type(resp)
    expected = {"message": message, "code": code, "status_code": status}
    if errors is not None:
        expected["errors"] = errors
    got = resp.json()
    assert got == expected, f"got {got!r}, expected {expected!r} (request: {resp.sent})"


def assert_invalid_input(resp, field, message=None):
    """A 1003 answer that names field (with message, when given)."""
    assert resp.status == 400, f"expected HTTP 400, got {resp!r}"
    assert_json_type(resp)
    got = resp.json()
    assert set(got) == {"message", "code", "status_code", "errors"}, f"keys of {got!r}"
    assert (got["message"], got["code"], got["status_code"]) == ("Invalid input.", 1003, 400), got
    assert isinstance(got["errors"].get(field), list) and got["errors"][field], \
        f"errors do not name {field!r}: {got!r}"
    assert all(isinstance(m, str) and m for m in got["errors"][field]), got
    if message is not None:
        assert got["errors"][field] == [message], f"errors[{field!r}] = {got['errors'][field]!r}"


def passcode_not_found(resp):
    assert_error(resp, 400, 13010, "Passcode not found.")


# ---------------------------------------------------------------- database

_db = None


def db():
    """A superuser connection in autocommit mode (one per run)."""
    global _db
    if _db is None or _db.closed:
        _db = psycopg2.connect(env("CV_PG_DSN"))
        _db.autocommit = True
    return _db


def role_dsn(role):
    """CV_PG_DSN as another role: the stack's cluster trusts its socket, so
    a test can be any of the programs' roles (sql/functions/privileges.sql: cv_app, cv_mailer,
    cv_admin)."""
    return re.sub(r"\buser=\S+", f"user={role}", env("CV_PG_DSN"))


class Session:
    """A database connection of its own as role, the way a program holds one
    (cv_app: a responder, cv_mailer: the mailer), for calling the SQL
    functions directly (tests/integration/test_sql_*.py).  Autocommit, so
    each call is its own transaction, unless begin() opened one."""

    def __init__(self, role="cv_app"):
        self.conn = psycopg2.connect(role_dsn(role))
        self.conn.autocommit = True
        self.pid = self.conn.get_backend_pid()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.conn.close()

    def begin(self):
        self.conn.autocommit = False

    def commit(self):
        self.conn.commit()
        self.conn.autocommit = True

    def call(self, function, *args):
        """The one row of SELECT * FROM cv.function(args), as a dict of its
        columns (OUT parameters), or the bare value of a scalar function."""
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT * FROM cv.{function}({', '.join(['%s'] * len(args))})", args)
            row = cur.fetchone()
            names = [d.name for d in cur.description]
        return row[0] if names == [function] else dict(zip(names, row))


def waiting_for_a_lock(pid):
    """True while backend pid waits for a lock another session holds."""
    return query_one("SELECT cardinality(pg_blocking_pids(%s)) > 0", (pid,))[0]


def query(sql, params=None):
    with db().cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description is not None else []


def query_one(sql, params=None):
    rows = query(sql, params)
    assert len(rows) == 1, f"expected one row, got {len(rows)}: {sql}"
    return rows[0]


def execute(sql, params=None):
    with db().cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def epoch_in_transaction(sql, params=None):
    """(the first column of sql's one row, now() as epoch seconds) in one
    transaction, where now() stands still: what a function made of the
    transaction's clock against the clock itself."""
    conn = psycopg2.connect(env("CV_PG_DSN"))
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            value = cur.fetchone()[0]
            cur.execute("SELECT extract(epoch FROM now())::float8")
            return value, cur.fetchone()[0]
    finally:
        conn.rollback()
        conn.close()


def pyjwt_decode(token, key, **kw):
    """The claims of token as Debian's PyJWT (python3-jwt) checks them:
    HS256 only, every time claim with its default leeway of 0."""
    import jwt
    return jwt.decode(token, key, algorithms=["HS256"], **kw)


def db_now():
    """The database clock as epoch seconds (float)."""
    return float(query_one("SELECT extract(epoch FROM clock_timestamp())")[0])


# ---------------------------------------------------------------- fixtures

_created_accounts = []


def unique_email(prefix="u"):
    return f"{prefix}{uuid.uuid4().hex[:10]}@example.com"


def new_api_key():
    return "cv_" + secrets.token_urlsafe(32)


class Contact:
    def __init__(self, account, id, uuid_, email_addr):
        self.account = account
        self.id = id
        self.uuid = uuid_
        self.email = email_addr

    def row(self):
        return query_one("SELECT email_verified, status FROM cv.contacts WHERE id = %s", (self.id,))

    def live_passcode(self):
        """(id, code_hash, expires_at, attempts, used_at) of the newest login passcode."""
        rows = query("SELECT id, code_hash, expires_at, attempts, used_at FROM cv.passcodes"
                     " WHERE contact_id = %s AND purpose = 'login' ORDER BY id DESC LIMIT 1",
                     (self.id,))
        assert rows, f"no passcode for {self.email}"
        return rows[0]

    def events(self):
        """[(event_code, event_id, detail jsonb text, request_id, source_system)] oldest first."""
        return query("SELECT event_code, event_id, detail::text, request_id, source_system"
                     " FROM cv.events WHERE contact_id = %s ORDER BY id", (self.id,))


class Account:
    def __init__(self, id, uuid_, name, token_secret, key):
        self.id = id
        self.uuid = uuid_
        self.name = name
        self.token_secret = token_secret
        self.key = key
        self.app = None
        self.public_id = None   # the user app's: its hosted page is /login/{public_id}

    def add_key(self, expires_in=None, revoked=False):
        """A new API key; expires_in seconds from the database's now (negative: expired)."""
        key = new_api_key()
        execute("INSERT INTO cv.api_keys (account_id, key_hash, name, expires_at, revoked_at)"
                " VALUES (%s, %s, 'itest',"
                "  CASE WHEN %s::integer IS NULL THEN NULL"
                "       ELSE now() + make_interval(secs => %s::integer) END,"
                "  CASE WHEN %s THEN now() END)",
                (self.id, hashlib.sha256(key.encode()).digest(), expires_in, expires_in, revoked))
        return key

    def add_user_app(self, **columns):
        cols = {"name": f"App {self.name}", "sender_email": f"noreply-{uuid.uuid4().hex[:8]}@example.com",
                "resend_cooldown": 0}
        cols.update(columns)
        cols = {k: v for k, v in cols.items() if v is not None}
        names = ", ".join(cols)
        marks = ", ".join(["%s"] * len(cols))
        self.app, self.public_id = query_one(
            f"INSERT INTO cv.user_apps (account_id, {names}) VALUES (%s, {marks})"
            " RETURNING id, public_id", (self.id, *cols.values()))
        return self.app

    def set_app(self, **columns):
        for name, value in columns.items():
            assert re.fullmatch(r"[a-z_]+", name)
            execute(f"UPDATE cv.user_apps SET {name} = %s WHERE account_id = %s", (value, self.id))

    def add_contact(self, email_addr=None):
        email_addr = email_addr or unique_email()
        cid, cuuid = query_one("INSERT INTO cv.contacts (account_id, email) VALUES (%s, %s)"
                               " RETURNING id, uuid::text", (self.id, email_addr))
        return Contact(self, cid, cuuid, email_addr)


# Limits no load reaches, for tests that are not about limits but send many requests.
NO_LIMITS = {"sends_per_hour": 1000000, "verifies_per_email": 1000000, "verifies_per_ip": 1000000}


def create_account(status="active", token_secret=True, token_ttl=None, user_app=True,
                   limits=None, **app):
    """An account with one API key (account.key) and, unless user_app is
    False, a user app (resend_cooldown 0 unless given; pass
    resend_cooldown=None for the schema's default).  token_secret: True for
    a random 48-character secret, None for none, or the secret itself.
    limits: the account's limits ({"sends_per_hour": 2, ...}: README
    "Configuration"); tests that are not about limits get generous ones."""
    if token_secret is True:
        token_secret = secrets.token_urlsafe(36)
    name = f"itest-{uuid.uuid4().hex[:12]}"
    cols = {"name": name, "status": status, "token_secret": token_secret,
            "sends_per_hour": 1000, "verifies_per_email": 1000, "verifies_per_ip": 100000}
    cols.update(limits or {})
    if token_ttl is not None:
        cols["token_ttl"] = token_ttl
    names = ", ".join(cols)
    marks = ", ".join(["%s"] * len(cols))
    aid, auuid = query_one(f"INSERT INTO cv.accounts ({names}) VALUES ({marks}) RETURNING id, uuid::text",
                           tuple(cols.values()))
    _created_accounts.append(aid)
    account = Account(aid, auuid, name, token_secret, None)
    account.key = account.add_key()
    if user_app:
        account.add_user_app(**app)
    return account


def setup(**kw):
    """An account (create_account(**kw)) with one contact: (account, contact)."""
    account = create_account(**kw)
    return account, account.add_contact()


def cleanup():
    """Deletes the accounts made since the last call (and so everything of
    theirs), once their queued mail is delivered (at most 3 s), so the
    mailer never works on rows that vanish under it."""
    relax_auth_limit()
    ids = list(_created_accounts)
    del _created_accounts[:]
    if not ids:
        return
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        busy = query_one("SELECT count(*) FROM cv.outbox WHERE account_id = ANY(%s)"
                         " AND (status = 'sending' OR (status = 'queued'"
                         "      AND next_attempt_at <= now() + interval '5 seconds'))", (ids,))[0]
        if busy == 0:
            break
        time.sleep(MAIL_POLL)
    execute("DELETE FROM cv.accounts WHERE id = ANY(%s)", (ids,))


def forget_created():
    """Keeps the accounts made so far (after a failed test)."""
    del _created_accounts[:]
    relax_auth_limit()


# The suite's allowance of failed authentications per client address: every
# test comes from 127.0.0.1 and many present wrong keys on purpose, so the
# suite runs with a generous limit (run.py sets it), and the tests of the
# limit itself set theirs with auth_limit().
SUITE_AUTH_FAILURES = 1000000
_auth_limit_set = False


def auth_limit(max_failures, window_seconds=900):
    """Sets cv.auth_limits and forgets every address's failures; cleanup()
    restores the suite's limit."""
    global _auth_limit_set
    _auth_limit_set = max_failures != SUITE_AUTH_FAILURES
    execute("UPDATE cv.auth_limits SET max_failures = %s, window_seconds = %s",
            (max_failures, window_seconds))
    execute("DELETE FROM cv.rate_counters WHERE bucket LIKE 'auth:%%'")


def relax_auth_limit():
    if _auth_limit_set:
        auth_limit(SUITE_AUTH_FAILURES)


# ---------------------------------------------------------------- mail

class _MailStore:
    """The delivered messages: the SMTP server's Maildir (new/ and cur/) in
    smtp mode, the mailer's directory of .eml files in dir mode.  Each file is
    parsed once it is complete; a message is handed out once."""

    def __init__(self):
        self.parsed = {}        # path -> (size, mtime, message or None)
        self.taken = set()

    def directories(self):
        if MODE == "dir":
            return [env("CV_MAIL_DIR")]
        root = env("CV_MAILDIR")
        return [os.path.join(root, "new"), os.path.join(root, "cur")]

    def files(self):
        for d in self.directories():
            try:
                names = os.listdir(d)
            except FileNotFoundError:
                continue
            for name in names:
                if name.startswith("."):
                    continue
                if MODE == "dir" and not name.endswith(".eml"):
                    continue
                yield os.path.join(d, name)

    def load(self, path):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        seen = self.parsed.get(path)
        if seen is not None and seen[0] == st.st_size and seen[1] == st.st_mtime_ns:
            return seen[2]
        with open(path, "rb") as f:
            raw = f.read()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if msg.is_multipart():
            boundary = msg.get_boundary()
            if boundary is None or ("--" + boundary + "--").encode() not in raw:
                msg = None      # still being written
        if msg is not None:
            msg.raw = raw
            msg.path = path
        self.parsed[path] = (st.st_size, st.st_mtime_ns, msg)
        return msg

    def find(self, to_email):
        """The oldest message to to_email not handed out yet, or None."""
        want = to_email.lower()
        arrived = []
        for path in self.files():
            if path in self.taken:
                continue
            try:
                arrived.append((os.stat(path).st_mtime_ns, path))
            except FileNotFoundError:
                continue
        for _, path in sorted(arrived):
            msg = self.load(path)
            if msg is None or msg["To"] is None:
                continue
            addrs = [a.lower() for _, a in email.utils.getaddresses([str(msg["To"])])]
            if want in addrs:
                self.taken.add(path)
                return msg
        return None


_mail = _MailStore()
_mail_timed_out = False


def wait_for_mail(to_email, timeout=None):
    """The next not yet handed out message to to_email, polling every 50 ms.
    After one wait has timed out (the mailer is down), later waits give up
    after 5 s so that a broken mailer does not make the suite crawl."""
    global _mail_timed_out
    if timeout is None:
        timeout = 5.0 if _mail_timed_out else MAIL_TIMEOUT
    deadline = time.monotonic() + timeout
    while True:
        msg = _mail.find(to_email)
        if msg is not None:
            return msg
        if time.monotonic() >= deadline:
            _mail_timed_out = True
            where = ", ".join(_mail.directories())
            rows = query("SELECT o.status, o.attempts, o.last_error FROM cv.outbox o"
                         " WHERE lower(o.to_email) = lower(%s) ORDER BY o.id", (to_email,))
            raise AssertionError(f"no mail to {to_email} in {where} after {timeout:.0f} s"
                                 f" (outbox rows: {rows!r})")
        time.sleep(MAIL_POLL)


def no_mail_for(to_email):
    """True when no message to to_email has been delivered (now)."""
    return _mail.find(to_email) is None


def text_part(msg):
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None, f"no text/plain part in {msg.get('Subject')!r}"
    return part.get_content()


def html_part(msg):
    part = msg.get_body(preferencelist=("html",))
    assert part is not None, f"no text/html part in {msg.get('Subject')!r}"
    return part.get_content()


def link_pattern(public_id=None):
    """The login link of a mail: public_url, the hosted page of the user app
    (public_id, or any), the token (group "token")."""
    page = re.escape(public_id) if public_id else r"[A-Za-z0-9_-]{8,64}"
    return (re.escape(public_url()) + r"/login/" + page +
            r"\?token=(?P<token>[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])")


def mail_link(msg):
    """(link, token) from the text part."""
    m = re.search(link_pattern(), text_part(msg))
    assert m is not None, f"no {public_url()}/login/{{public_id}}?token=... link in:\n{text_part(msg)}"
    return m.group(0), m.group("token")


def mail_code(msg, length=6):
    """The one code of length digits in the text part (links taken out)."""
    text = re.sub(r"\S+://\S+", " ", text_part(msg))
    found = set(re.findall(r"(?<!\d)(\d{%d})(?!\d)" % length, text))
    assert len(found) == 1, f"expected one {length}-digit code in the text part, found {sorted(found)}:\n{text}"
    return found.pop()


def wrong_code(code):
    """A code of the same length that is not code."""
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def send_and_get_code(contact, length=6, key=None):
    """POST send for contact, wait for the mail; returns (code, message)."""
    resp = send(key or contact.account.key, contact.email)
    assert resp.status == 200, f"send: {resp!r}"
    msg = wait_for_mail(contact.email)
    return mail_code(msg, length), msg


def settle_outbox(contact, timeout=10):
    """Waits until no outbox row of contact is queued or sending; returns
    the number of rows delivered ('sent')."""
    deadline = time.monotonic() + timeout
    while True:
        busy, sent = query_one("SELECT count(*) FILTER (WHERE status IN ('queued', 'sending')),"
                               "       count(*) FILTER (WHERE status = 'sent')"
                               "  FROM cv.outbox WHERE contact_id = %s", (contact.id,))
        if busy == 0:
            return sent
        if time.monotonic() >= deadline:
            raise AssertionError(f"{busy} outbox rows of {contact.email} still waiting after {timeout} s")
        time.sleep(MAIL_POLL)


class held_mail:
    """with held_mail(address): the outbox rows inserted for address (or,
    with account=, for any address of that account id) meanwhile wait an
    hour instead of being delivered (a trigger), so a test can look at the
    database between send and delivery.  release(row id) lets one go."""

    FUNCTION = """
CREATE FUNCTION cv_itest.hold_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.to_email = %s OR NEW.account_id = %s THEN
		NEW.next_attempt_at := pg_catalog.now() + interval '1 hour';
	END IF;
	RETURN NEW;
END
$$
"""

    def __init__(self, address=None, account=None):
        self.address = address
        self.account = account

    def __enter__(self):
        self.__exit__()
        execute("CREATE SCHEMA cv_itest")
        execute(self.FUNCTION, (self.address, self.account))
        execute("CREATE TRIGGER itest_hold BEFORE INSERT ON cv.outbox"
                " FOR EACH ROW EXECUTE FUNCTION cv_itest.hold_outbox()")
        return self

    def __exit__(self, *exc):
        execute("DROP TRIGGER IF EXISTS itest_hold ON cv.outbox")
        execute("DROP SCHEMA IF EXISTS cv_itest CASCADE")

    @staticmethod
    def release(outbox_id):
        execute("UPDATE cv.outbox SET next_attempt_at = now() WHERE id = %s", (outbox_id,))
        execute("NOTIFY cv_outbox")


def wait_outbox_final(contact, timeout=10):
    """The newest outbox row of contact once it left 'queued'/'sending':
    (status, sealed, message_id, sent_at, attempts)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = query("SELECT status, sealed, message_id, sent_at, attempts FROM cv.outbox"
                     " WHERE contact_id = %s ORDER BY id DESC LIMIT 1", (contact.id,))
        assert rows, f"no outbox row for {contact.email}"
        if rows[0][0] not in ("queued", "sending"):
            return rows[0]
        if time.monotonic() >= deadline:
            raise AssertionError(f"outbox row of {contact.email} still {rows[0][0]} after {timeout} s")
        time.sleep(MAIL_POLL)


# ---------------------------------------------------------------- the hosted login page

class Browser:
    """The hosted login page /login/{public_id} as plain forms, no
    JavaScript: keeps the cv_csrf cookie like a browser."""

    def __init__(self, account, lang=None):
        self.account = account
        self.cookie = None
        self.lang = lang

    def _headers(self):
        h = {}
        if self.cookie:
            h["Cookie"] = f"cv_csrf={self.cookie}"
        if self.lang:
            h["Accept-Language"] = self.lang
        return h

    def _keep_cookie(self, resp):
        for value in resp.headers.get_all("Set-Cookie") or []:
            m = re.match(r"cv_csrf=([A-Za-z0-9_-]+);", value)
            if m:
                self.cookie = m.group(1)

    def get(self, query="", timeout=15, method="GET"):
        resp = request(method, f"/login/{self.account.public_id}{query}", headers=self._headers(),
                       timeout=timeout)
        self._keep_cookie(resp)
        return resp

    def open(self, link, method="GET"):
        """GET (or HEAD) of a link of a mail, which must start with public_url."""
        assert link.startswith(public_url() + "/"), link
        resp = request(method, link[len(public_url()):], headers=self._headers())
        self._keep_cookie(resp)
        return resp

    def post(self, fields):
        resp = request("POST", f"/login/{self.account.public_id}", urllib.parse.urlencode(fields),
                       content_type="application/x-www-form-urlencoded", headers=self._headers())
        self._keep_cookie(resp)
        return resp


def page_text(resp):
    return resp.body.decode("utf-8")


def form_field(resp, name):
    """The value of the form field name of a page (unescaped)."""
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page_text(resp))
    assert m, f"no field {name} in:\n{page_text(resp)}"
    return html.unescape(m.group(1))


# ---------------------------------------------------------------- JWT

def b64url_decode(part):
    assert re.fullmatch(r"[A-Za-z0-9_-]*", part), f"not base64url: {part!r}"
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def jwt_verify(token, secret):
    """(header, claims) of an HS256 token after checking its signature with
    secret (str: its UTF-8 bytes)."""
    parts = token.split(".")
    assert len(parts) == 3, f"not a JWS compact serialization: {token!r}"
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    mac = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
    assert hmac.compare_digest(mac, b64url_decode(parts[2])), "JWT signature does not verify with the account secret"
    header = json.loads(b64url_decode(parts[0]))
    claims = json.loads(b64url_decode(parts[1]))
    return header, claims


# ---------------------------------------------------------------- plain CGI

class CgiResult:
    def __init__(self, returncode, status, headers, body, stderr):
        self.returncode = returncode
        self.status = status
        self.headers = headers      # {lowercased name: value}
        self.body = body
        self.stderr = stderr

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<CGI exit {self.returncode} status {self.status} {self.body[:300]!r} stderr {self.stderr[-300:]!r}>"


def service_user():
    return os.environ.get("CV_SERVICE_USER") or "contact-verify"


def run_cgi(program, method="POST", body=b"", content_type=None, key=None, path_info=None,
            config_path=None, as_root=False, content_length=None, extra_env=None):
    """Runs $CV_BIN_DIR/program once as a plain CGI program (as the service
    user) and parses its output "Status: NNN ...\\r\\nheaders\\r\\n\\r\\nbody"."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        content_type = content_type or "application/json"
    elif isinstance(body, str):
        body = body.encode()
    cgi_env = {
        "PATH": "/usr/bin:/bin",
        "CV_CONFIG": config_path or env("CV_CONFIG"),
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": "itest",
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": f"{API}/{program}",
        "REMOTE_ADDR": "127.0.0.1",
    }
    if body or content_length is not None:
        cgi_env["CONTENT_LENGTH"] = str(len(body) if content_length is None else content_length)
    if content_type:
        cgi_env["CONTENT_TYPE"] = content_type
    if key is not None:
        cgi_env["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    if path_info is not None:
        cgi_env["PATH_INFO"] = path_info
    cgi_env.update(extra_env or {})
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if name in os.environ:
            cgi_env[name] = os.environ[name]
    binary = os.path.join(env("CV_BIN_DIR"), program)
    cmd = ["env", "-i"] + [f"{k}={v}" for k, v in cgi_env.items()] + [binary]
    if not as_root:
        cmd = ["runuser", "-u", service_user(), "--"] + cmd
    p = subprocess.run(cmd, input=body, capture_output=True, timeout=30,
                       cwd=os.environ.get("CV_STATE_DIR") or "/")
    stderr = p.stderr.decode("utf-8", "replace")
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        assert marker not in stderr, f"sanitizer report from {program}:\n{stderr}"
    status, headers, out = None, {}, p.stdout
    if b"\r\n\r\n" in p.stdout:
        head, out = p.stdout.split(b"\r\n\r\n", 1)
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        m = re.match(r"(\d{3})(?: |$)", headers.get("status", ""))
        status = int(m.group(1)) if m else None
    return CgiResult(p.returncode, status, headers, out, stderr)


def database_down_config():
    """The text of a configuration like the stack's whose database cannot be
    reached."""
    lines = []
    for key, value in config().items():
        if key != "database":
            lines.append(f"{key} = {value}")
    lines.append("database = host=/nonexistent-cv-itest port=5432 dbname=contact_verify user=cv_app")
    return "\n".join(lines) + "\n"


def private_config(text):
    """Writes a configuration file the service user can read and nobody else
    (the programs refuse a world-readable one); returns (path, remove)."""
    user = service_user()
    d = tempfile.mkdtemp(prefix="itest-conf.", dir=os.environ.get("CV_STATE_DIR") or None)
    path = os.path.join(d, "cv.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    subprocess.run(["chown", "-R", f"{user}:", d], check=True)
    os.chmod(d, 0o700)
    os.chmod(path, 0o600)

    def remove():
        os.unlink(path)
        os.rmdir(d)
    return path, remove


# ---------------------------------------------------------------- scans

def scan_database(needles, digits=False):
    """{needle: ["schema.table.column", ...]} for each needle (str) found in
    any column of any table outside the system schemas: bytea columns are
    searched for its UTF-8 bytes, all others in their text form.  With
    digits, a match must not touch other digits (a code inside a longer
    number is no match)."""
    tables = query("SELECT n.nspname, c.relname, a.attname, t.typname"
                   "  FROM pg_catalog.pg_class c"
                   "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                   "  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid"
                   "  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
                   " WHERE c.relkind IN ('r', 'p', 'm')"
                   "   AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                   "   AND n.nspname NOT LIKE 'pg\\_%%'"
                   "   AND a.attnum > 0 AND NOT a.attisdropped"
                   " ORDER BY 1, 2, a.attnum")
    assert any(s == "cv" and t == "passcodes" for s, t, _, _ in tables), "schema cv not found"
    found = {n: [] for n in needles}
    for schema, table, column, typ in tables:
        qualified = f'"{schema}"."{table}"'
        col = f'"{column}"'
        for needle in needles:
            if typ == "bytea":
                sql = f"SELECT count(*) FROM {qualified} WHERE position(%s::bytea IN {col}) > 0"
                param = psycopg2.Binary(needle.encode("utf-8"))
            elif digits:
                sql = f"SELECT count(*) FROM {qualified} WHERE {col}::text ~ %s"
                param = r"(^|[^0-9])" + re.escape(needle) + r"([^0-9]|$)"
            else:
                sql = f"SELECT count(*) FROM {qualified} WHERE strpos({col}::text, %s) > 0"
                param = needle
            if query_one(sql, (param,))[0] > 0:
                found[needle].append(f"{schema}.{table}.{column}")
    return found


def exchange_raw(url, data):
    """Sends the bytes data on a new connection to url's host and port and
    returns all the server answered until it closed (it may close early:
    what it sent before counts)."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=15) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
    return answer
