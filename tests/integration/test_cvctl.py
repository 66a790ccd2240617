"""cvctl, the admin command line tool (issue 3, man/cvctl.8): each command
against the test database, what it prints and writes, and its failure modes:
a non-zero exit, exactly one line on stderr, nothing on stdout and nothing
written.  Keys and clients it makes are tried against the running API."""
import hashlib
import hmac
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import uuid

import psycopg2

import stack
from stack import (assert_error, auth_token, code_secret, create_account, env, execute,
                   expect, jwt_verify, query, query_one, request, role_dsn, send,
                   unique_email)

SQL_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                        "sql"))
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class Run:
    def __init__(self, args, returncode, stdout, stderr, seconds):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds

    def __repr__(self):
        return (f"<cvctl {' '.join(self.args)}: exit {self.returncode}, stdout {self.stdout[:500]!r},"
                f" stderr {self.stderr[:500]!r}>")


def cvctl(*args, database="cv_admin", extra_env=None, stdin=None):
    """Runs $CV_BIN_DIR/cvctl (as root, like an administrator) with the
    test database as --database's default (CV_DATABASE), connecting as the
    administrator's role cv_admin (sql/functions/privileges.sql) or as role database ("postgres",
    the schema's owner, for migrate), or without CV_DATABASE when database
    is False; and CV_CONFIG."""
    run_env = {"PATH": "/usr/bin:/bin", "CV_CONFIG": env("CV_CONFIG")}
    if database:
        run_env["CV_DATABASE"] = role_dsn(database)
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if name in os.environ:
            run_env[name] = os.environ[name]
    run_env.update(extra_env or {})
    args = [str(a) for a in args]
    start = time.monotonic()
    p = subprocess.run([os.path.join(env("CV_BIN_DIR"), "cvctl")] + args, env=run_env,
                       input=stdin, capture_output=True, timeout=60, cwd="/")
    result = Run(args, p.returncode, p.stdout.decode("utf-8", "replace"),
                 p.stderr.decode("utf-8", "replace"), time.monotonic() - start)
    for marker in SANITIZER_MARKERS:
        assert marker not in result.stderr, f"sanitizer report: {result!r}"
    return result


def ok(*args, **kw):
    """stdout of a cvctl run that must succeed silently on stderr."""
    r = cvctl(*args, **kw)
    assert r.returncode == 0 and r.stderr == "", f"expected success: {r!r}"
    return r.stdout


def fails(*args, status=None, mentions=None, **kw):
    """The one stderr line of a cvctl run that must fail: non-zero exit (or
    exactly status), nothing on stdout, one line "cvctl: ..." on stderr."""
    r = cvctl(*args, **kw)
    assert r.returncode != 0, f"expected failure: {r!r}"
    if status is not None:
        assert r.returncode == status, f"expected exit {status}: {r!r}"
    assert r.stdout == "", f"a failed command printed on stdout: {r!r}"
    lines = r.stderr.split("\n")
    assert len(lines) == 2 and lines[1] == "" and lines[0].startswith("cvctl: "), \
        f"expected exactly one line on stderr: {r!r}"
    if mentions is not None:
        assert mentions.lower() in lines[0].lower(), f"{mentions!r} not in {lines[0]!r}"
    return lines[0]


def values(stdout):
    """{key: value} of "key=value" lines."""
    out = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {line!r}"
        assert key not in out, f"{key} printed twice: {stdout!r}"
        out[key] = value
    return out


def table(stdout):
    """The rows of a listing (a header line, tab-separated fields) as dicts."""
    lines = stdout.splitlines()
    assert lines, "no header line"
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        fields = line.split("\t")
        assert len(fields) == len(header), f"{line!r} does not match {header!r}"
        rows.append(dict(zip(header, fields)))
    return rows


def track(account_uuid):
    """Lets run.py delete the account (and its rows) after a passing test."""
    account_id = query_one("SELECT id FROM cv.accounts WHERE uuid = %s", (account_uuid,))[0]
    stack._created_accounts.append(account_id)
    return account_id


def new_account(*extra):
    """(uuid, secret, id) of an account made with cvctl account add."""
    out = values(ok("account", "add", "--name", f"cvctl-{uuid.uuid4().hex[:10]}", *extra))
    assert set(out) == {"uuid", "secret"}, out
    return out["uuid"], out["secret"], track(out["uuid"])


def provisioned():
    """An account made entirely with cvctl, ready for the API: a user app
    without cooldown, a contact and an API key.  (uuid, key, email)."""
    account, _, _ = new_account()
    ok("user-app", "add", "--account", account, "--name", "Portal", "--resend-cooldown", "0",
       "--sender-email", "no-reply@example.com")
    email = unique_email("cvctl")
    ok("contact", "add", "--account", account, "--email", email)
    key = values(ok("api-key", "add", "--account", account))["key"]
    return account, key, email


def counts(account_id):
    """How many rows of each kind the account has."""
    return query_one(
        "SELECT (SELECT count(*) FROM cv.contacts WHERE account_id = %(a)s),"
        " (SELECT count(*) FROM cv.api_keys WHERE account_id = %(a)s),"
        " (SELECT count(*) FROM cv.user_apps WHERE account_id = %(a)s),"
        " (SELECT count(*) FROM cv.oauth_clients WHERE account_id = %(a)s)", {"a": account_id})


# ---------------------------------------------------------------- help, usage

def test_cvctl_help_lists_every_command():
    out = ok("--help")
    for words in ("account add", "account list", "account disable", "account rotate-secret",
                  "api-key add", "api-key list", "api-key revoke", "oauth-client add",
                  "oauth-client list", "oauth-client revoke", "user-app add", "user-app list",
                  "user-app set", "contact add", "contact list", "contact import", "events",
                  "outbox", "migrate", "tenant add", "tenant list"):
        assert re.search(rf"^\s+{re.escape(words)}\s", out, re.M), f"{words!r} not in --help:\n{out}"
    assert "--account UUID --email EMAIL" in ok("contact", "--help")
    assert "--token-ttl" in ok("oauth-client", "add", "--help")
    assert "--resend-cooldown" in ok("help", "user-app")
    assert ok("--version").startswith("cvctl ")


def test_cvctl_bad_command_lines_fail_with_one_line():
    fails(status=2, mentions="missing command")
    fails("account", status=2, mentions="missing command")
    fails("frobnicate", status=2, mentions="unknown command")
    fails("account", "frobnicate", status=2, mentions="unknown command")
    fails("account", "list", "--bogus", status=2, mentions="--bogus")
    fails("account", "list", "extra", status=2, mentions="extra")
    fails("account", "add", "--name", status=2, mentions="needs a value")
    fails("account", "add", "--name", "a", "--name", "b", status=2, mentions="twice")
    fails("--database", status=2)
    fails("--frob", "account", "list", status=2)


# ---------------------------------------------------------------- accounts

def test_cvctl_account_add_prints_uuid_and_secret():
    account, secret, account_id = new_account("--token-ttl", "120")
    assert re.fullmatch(UUID_RE, account), account
    assert re.fullmatch(r"[A-Za-z0-9_-]{64}", secret), secret
    row = query_one("SELECT status, token_secret, token_ttl FROM cv.accounts WHERE id = %s",
                    (account_id,))
    assert row == ("active", secret, 120), row
    account2, secret2, account2_id = new_account()
    assert secret2 != secret
    assert query_one("SELECT token_ttl FROM cv.accounts WHERE id = %s", (account2_id,))[0] == 3600


def test_cvctl_account_add_rejects_bad_input():
    before = query_one("SELECT count(*) FROM cv.accounts")[0]
    fails("account", "add", status=2, mentions="--name is required")
    fails("account", "add", "--name", "", status=2, mentions="empty")
    fails("account", "add", "--name", "two\nlines", status=2, mentions="control")
    for ttl in ("abc", "59", "2592001", "-60", "1e3", " 120", "120s", "99999999999999999999"):
        fails("account", "add", "--name", "x", "--token-ttl", ttl, status=2,
              mentions="--token-ttl")
    assert query_one("SELECT count(*) FROM cv.accounts")[0] == before


def test_cvctl_account_list_shows_accounts_but_no_secret():
    account, secret, _ = new_account("--token-ttl", "300")
    out = ok("account", "list")
    assert secret not in out
    rows = [r for r in table(out) if r["uuid"] == account]
    assert len(rows) == 1, out
    assert rows[0]["status"] == "active" and rows[0]["token_ttl"] == "300", rows
    assert rows[0]["auth_token_format"] == "object", rows
    assert rows[0]["secret"] == "yes" and rows[0]["contacts"] == "0", rows
    assert rows[0]["name"].startswith("cvctl-"), rows


def test_cvctl_account_set_changes_name_and_token_ttl():
    account, _, account_id = new_account()
    assert ok("account", "set", "--account", account, "--name", "Renamed", "--token-ttl",
              "7200") == ""
    assert query_one("SELECT name, token_ttl FROM cv.accounts WHERE id = %s",
                     (account_id,)) == ("Renamed", 7200)
    fails("account", "set", "--account", account, status=2, mentions="nothing to change")
    fails("account", "set", "--account", account, "--token-ttl", "10", status=2)
    assert query_one("SELECT name, token_ttl FROM cv.accounts WHERE id = %s",
                     (account_id,)) == ("Renamed", 7200)


def test_cvctl_account_set_auth_token_format_shapes_the_auth_token_answer():
    account, key, email = provisioned()
    contact_uuid = query_one("SELECT uuid::text FROM cv.contacts WHERE email = %s", (email,))[0]
    assert ok("account", "set", "--account", account, "--auth-token-format", "string") == ""
    rows = [r for r in table(ok("account", "list")) if r["uuid"] == account]
    assert rows[0]["auth_token_format"] == "string", rows
    resp = expect(auth_token(key, contact_uuid), 200)
    assert isinstance(resp.json()["data"], str) and resp.json()["meta"] == [], resp
    fails("account", "set", "--account", account, "--auth-token-format", "jwt", status=2,
          mentions="--auth-token-format")
    ok("account", "set", "--account", account, "--auth-token-format", "object")
    resp = expect(auth_token(key, contact_uuid), 200)
    assert set(resp.json()["data"]) == {"auth_token"}, resp


def test_cvctl_account_disable_answers_403_and_enable_restores():
    account, key, email = provisioned()
    expect(send(key, email), 200)
    assert ok("account", "disable", "--account", account) == ""
    assert_error(send(key, email), 403, 7002, "Account inactive.")
    ok("account", "disable", "--account", account)      # already inactive: no change
    ok("account", "enable", "--account", account)
    expect(send(key, email), 200)


def test_cvctl_account_rotate_secret_changes_the_signing_key():
    """rotate-secret adds an HS256 key and activates it (issue 18): new
    tokens are signed with the new secret under its kid; the old secret
    stays in the account (its tokens verify until they expire)."""
    account, key, email = provisioned()
    old = query_one("SELECT token_secret FROM cv.accounts WHERE uuid = %s", (account,))[0]
    out = values(ok("account", "rotate-secret", "--account", account))
    assert set(out) == {"kid", "secret"}, out
    new = out["secret"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{64}", new) and new != old
    assert query_one("SELECT token_secret FROM cv.accounts WHERE uuid = %s", (account,))[0] == old
    contact_uuid = query_one("SELECT uuid::text FROM cv.contacts WHERE email = %s", (email,))[0]
    resp = expect(auth_token(key, contact_uuid), 200)
    header, claims = jwt_verify(resp.json()["data"]["auth_token"], new)
    assert header["kid"] == out["kid"] and header["alg"] == "HS256", header
    assert claims["aud"] == account and claims["sub"] == contact_uuid, claims


def test_cvctl_unknown_or_malformed_account_fails_and_writes_nothing():
    account, _, account_id = new_account()
    before = counts(account_id)
    missing = str(uuid.uuid4())
    commands = [
        ("account", "set", "--name", "x"), ("account", "disable"), ("account", "enable"),
        ("account", "rotate-secret"), ("api-key", "add"), ("api-key", "list"),
        ("oauth-client", "add"), ("oauth-client", "list"),
        ("user-app", "add", "--name", "P"), ("user-app", "set", "--name", "P"),
        ("user-app", "list"), ("contact", "add", "--email", unique_email()),
        ("contact", "list"), ("events",), ("outbox",),
    ]
    for command in commands:
        fails(*command, "--account", missing, status=1, mentions=f"no account with uuid {missing}")
        fails(*command, "--account", "not-a-uuid", status=2, mentions="not a uuid")
        fails(*command, "--account", missing[:-1], status=2, mentions="not a uuid")
    with tempfile.NamedTemporaryFile("w", suffix=".csv") as f:
        f.write("email\nx@example.com\n")
        f.flush()
        fails("contact", "import", "--account", missing, f.name, status=1, mentions="no account")
    for command in (("api-key", "add"), ("api-key", "list"), ("contact", "list"),
                    ("user-app", "add", "--name", "P"), ("account", "disable")):
        fails(*command, status=2, mentions="--account is required")
    assert counts(account_id) == before


# ---------------------------------------------------------------- API keys

def test_cvctl_api_key_authenticates_until_revoked():
    account, _, account_id = new_account()
    ok("user-app", "add", "--account", account, "--name", "Portal", "--resend-cooldown", "0")
    email = unique_email("cvctl")
    ok("contact", "add", "--account", account, "--email", email)
    out = values(ok("api-key", "add", "--account", account, "--name", "backend"))
    assert set(out) == {"id", "key"}, out
    key_id, key = out["id"], out["key"]
    assert re.fullmatch(r"cv_[A-Za-z0-9_-]{43}", key), key
    stored = query_one("SELECT account_id, key_hash, name, expires_at, revoked_at FROM cv.api_keys"
                       " WHERE id = %s", (int(key_id),))
    assert stored[0] == account_id and bytes(stored[1]) == hashlib.sha256(key.encode()).digest()
    assert stored[2:] == ("backend", None, None), stored

    resp = send(key, email)
    assert resp.status != 401, resp
    expect(resp, 200)

    listing = ok("api-key", "list", "--account", account)
    assert key not in listing and key[3:] not in listing
    rows = table(listing)
    assert [(r["id"], r["name"], r["state"], r["expires"], r["revoked"]) for r in rows] == \
        [(key_id, "backend", "active", "-", "-")], rows

    assert ok("api-key", "revoke", "--id", key_id) == ""
    assert_error(send(key, email), 401, 1001, "Unauthenticated.")
    rows = table(ok("api-key", "list", "--account", account))
    assert rows[0]["state"] == "revoked" and rows[0]["revoked"] != "-", rows
    ok("api-key", "revoke", "--id", key_id)               # again: no change
    fails("api-key", "revoke", "--id", "999999999", status=1, mentions="no API key")
    fails("api-key", "revoke", "--id", "abc", status=2)
    fails("api-key", "revoke", status=2, mentions="--id is required")


def test_cvctl_api_key_expires_in_seconds():
    account, _, account_id = new_account()
    out = values(ok("api-key", "add", "--account", account, "--expires-in", "3600"))
    left = query_one("SELECT extract(epoch FROM expires_at - now()) FROM cv.api_keys WHERE id = %s",
                     (int(out["id"]),))[0]
    assert 3590 <= float(left) <= 3600, left
    row = [r for r in table(ok("api-key", "list", "--account", account)) if r["id"] == out["id"]]
    assert row[0]["state"] == "active" and row[0]["expires"].endswith("Z"), row
    for bad in ("0", "-1", "soon", ""):
        fails("api-key", "add", "--account", account, "--expires-in", bad, status=2)
    fails("api-key", "add", "--account", account, "--name", "bad\tname", status=2)
    assert counts(account_id)[1] == 1


# ---------------------------------------------------------------- OAuth clients

def test_cvctl_oauth_client_add_list_revoke():
    account, _, account_id = new_account()
    out = values(ok("oauth-client", "add", "--account", account, "--name", "sdk",
                    "--token-ttl", "120"))
    assert set(out) == {"client_id", "client_secret"}, out
    client_id, secret = out["client_id"], out["client_secret"]
    assert re.fullmatch(r"[1-9][0-9]*", client_id), client_id
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret), secret
    row = query_one("SELECT account_id, name, secret_hash, token_ttl, revoked_at"
                    " FROM cv.oauth_clients WHERE id = %s", (int(client_id),))
    expected = hmac.new(code_secret(), b"o:" + secret.encode(), hashlib.sha256).digest()
    assert (row[0], row[1], bytes(row[2]), row[3], row[4]) == (account_id, "sdk", expected, 120,
                                                               None), row

    # The service accepts the client (its secret hash is what it expects).
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id,
                                   "client_secret": secret})
    resp = request("POST", "/oauth/token", body, content_type="application/x-www-form-urlencoded")
    assert resp.status == 200 and resp.json()["expires_in"] == 120, resp

    default = values(ok("oauth-client", "add", "--account", account))
    assert query_one("SELECT token_ttl, name FROM cv.oauth_clients WHERE id = %s",
                     (int(default["client_id"]),)) == (3600, "")

    listing = ok("oauth-client", "list", "--account", account)
    assert secret not in listing and default["client_secret"] not in listing
    rows = table(listing)
    assert [(r["client_id"], r["account"], r["name"], r["token_ttl"], r["state"]) for r in rows] \
        == [(client_id, account, "sdk", "120", "active"),
            (default["client_id"], account, "", "3600", "active")], rows
    assert client_id in [r["client_id"] for r in table(ok("oauth-client", "list"))]

    assert ok("oauth-client", "revoke", "--id", client_id) == ""
    assert query_one("SELECT revoked_at IS NOT NULL FROM cv.oauth_clients WHERE id = %s",
                     (int(client_id),))[0]
    assert table(ok("oauth-client", "list", "--account", account))[0]["state"] == "revoked"
    fails("oauth-client", "revoke", "--id", "999999999", status=1, mentions="no OAuth client")
    for ttl in ("0", "86401", "x"):
        fails("oauth-client", "add", "--account", account, "--token-ttl", ttl, status=2,
              mentions="--token-ttl")
    assert counts(account_id)[3] == 2


def test_cvctl_oauth_client_add_needs_the_code_secret():
    account, _, account_id = new_account()
    fails("oauth-client", "add", "--account", account, extra_env={"CV_CONFIG": "/nonexistent"},
          status=1, mentions="configuration")
    assert counts(account_id)[3] == 0


# ---------------------------------------------------------------- user apps

APP_COLUMNS = ("name, portal_url, sender_name, sender_email, code_length, login_ttl, verify_ttl,"
               " resend_cooldown")


def app_row(account_id):
    return query_one(f"SELECT {APP_COLUMNS} FROM cv.user_apps WHERE account_id = %s",
                     (account_id,))


def test_cvctl_user_app_add_set_list():
    account, _, account_id = new_account()
    fails("user-app", "set", "--account", account, "--name", "X", status=1, mentions="no user app")
    assert ok("user-app", "add", "--account", account, "--name", "Portal", "--portal-url",
              "https://portal.example.com/login", "--sender-name", "Bikini Bottom",
              "--sender-email", "no-reply@example.com", "--code-length", "8", "--login-ttl",
              "300", "--verify-ttl", "172800", "--resend-cooldown", "30") == ""
    assert app_row(account_id) == ("Portal", "https://portal.example.com/login", "Bikini Bottom",
                                   "no-reply@example.com", 8, 300, 172800, 30)
    fails("user-app", "add", "--account", account, "--name", "Second", status=1,
          mentions="already has a user app")
    assert query_one("SELECT count(*) FROM cv.user_apps WHERE account_id = %s", (account_id,))[0] == 1

    ok("user-app", "set", "--account", account, "--code-length", "6", "--portal-url", "")
    assert app_row(account_id) == ("Portal", None, "Bikini Bottom", "no-reply@example.com", 6, 300,
                                   172800, 30)
    ok("user-app", "set", "--account", account, "--name", "Renamed", "--sender-name", "")
    assert app_row(account_id)[:3] == ("Renamed", None, None)

    rows = [r for r in table(ok("user-app", "list")) if r["account"] == account]
    assert len(rows) == 1 and rows[0]["name"] == "Renamed" and rows[0]["portal_url"] == "-", rows
    assert table(ok("user-app", "list", "--account", account)) == rows


def test_cvctl_user_app_rejects_bad_settings():
    account, _, account_id = new_account()
    fails("user-app", "add", "--account", account, status=2, mentions="--name is required")
    ok("user-app", "add", "--account", account, "--name", "Portal")
    defaults = app_row(account_id)
    assert defaults == ("Portal", None, None, None, 6, 600, 86400, 60), defaults
    for option, value in (("--code-length", "5"), ("--code-length", "11"), ("--login-ttl", "59"),
                          ("--login-ttl", "86401"), ("--verify-ttl", "2592001"),
                          ("--resend-cooldown", "3601"), ("--resend-cooldown", "-1"),
                          ("--sender-email", "not-an-address"), ("--sender-email", "a@b"),
                          ("--portal-url", "ftp://example.com"), ("--portal-url", "https://"),
                          ("--portal-url", "https://a b.example.com"),
                          ("--sender-name", "a\r\nBcc: x@example.com"), ("--name", "")):
        fails("user-app", "set", "--account", account, option, value, status=2,
              mentions=option if value else None)
    fails("user-app", "set", "--account", account, status=2, mentions="nothing to change")
    assert app_row(account_id) == defaults


# ---------------------------------------------------------------- contacts

def test_cvctl_contact_add_prints_uuid_of_new_contact():
    account, _, account_id = new_account()
    email = "Patrick.Star+tag@Example.com"
    out = ok("contact", "add", "--account", account, "--email", email, "--locale", "de-AT")
    assert re.fullmatch(UUID_RE + "\n", out), out
    row = query_one("SELECT account_id, email, locale, email_verified, status FROM cv.contacts"
                    " WHERE uuid = %s", (out.strip(),))
    assert row == (account_id, email, "de-AT", False, "active"), row
    out2 = ok("contact", "add", "--account", account, "--email", unique_email())
    assert out2 != out and re.fullmatch(UUID_RE + "\n", out2)
    assert query_one("SELECT locale FROM cv.contacts WHERE uuid = %s", (out2.strip(),))[0] is None


def test_cvctl_contact_add_refuses_duplicate_in_other_case():
    account, _, account_id = new_account()
    ok("contact", "add", "--account", account, "--email", "Mixed.Case@Example.com")
    line = fails("contact", "add", "--account", account, "--email", "mixed.case@EXAMPLE.COM",
                 status=1, mentions="already has a contact")
    assert "mixed.case@EXAMPLE.COM" in line
    assert query_one("SELECT count(*) FROM cv.contacts WHERE account_id = %s", (account_id,))[0] == 1
    # Another account may have the same address.
    other, _, other_id = new_account()
    ok("contact", "add", "--account", other, "--email", "MIXED.case@example.com")


def test_cvctl_contact_add_rejects_invalid_email_and_locale():
    account, _, account_id = new_account()
    for email in ("plainaddress", "a@b", "@example.com", "a@example.com.", "a b@example.com",
                  '"q"@example.com', "a@example.com\nBcc: x@example.com", "x" * 250 + "@ex.com"):
        fails("contact", "add", "--account", account, "--email", email, status=2,
              mentions="not a valid email")
    fails("contact", "add", "--account", account, status=2, mentions="--email is required")
    fails("contact", "add", "--account", account, "--email", "", status=2)
    for locale in ("x", "de_AT", "de-", "123", "de--AT", "a" * 40):
        fails("contact", "add", "--account", account, "--email", unique_email(), "--locale",
              locale, status=2, mentions="--locale")
    assert counts(account_id)[0] == 0


def test_cvctl_contact_list_shows_the_accounts_contacts():
    account, _, _ = new_account()
    other, _, _ = new_account()
    made = {}
    for i in range(3):
        email = unique_email("list")
        made[ok("contact", "add", "--account", account, "--email", email).strip()] = email
    ok("contact", "add", "--account", other, "--email", unique_email("other"))
    rows = table(ok("contact", "list", "--account", account))
    assert {r["uuid"]: r["email"] for r in rows} == made, rows
    assert all(r["verified"] == "no" and r["status"] == "active" and r["locale"] == "-"
               for r in rows), rows


# ---------------------------------------------------------------- contact import

def write_csv(text, encoding="utf-8"):
    f = tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False)
    f.write(text.encode(encoding) if isinstance(text, str) else text)
    f.close()
    return f.name


def import_csv(account, path):
    r = cvctl("contact", "import", "--account", account, path)
    assert r.returncode == 0, f"import failed: {r!r}"
    assert r.stdout.count("\n") == 1 and r.stdout.endswith("\n"), r
    m = re.fullmatch(r"imported=(\d+) rejected=(\d+)\n", r.stdout)
    assert m, r
    reports = r.stderr.splitlines()
    for line in reports:
        assert re.fullmatch(r"line \d+: \S.*", line), f"report line {line!r}"
    return int(m.group(1)), int(m.group(2)), reports, r.seconds


def test_cvctl_contact_import_of_10000_contacts_with_bad_rows():
    account, _, account_id = new_account()
    tag = uuid.uuid4().hex[:8]
    ok("contact", "add", "--account", account, "--email", f"existing-{tag}@example.com")
    lines = ["email,locale,name"]
    expected = {}          # line number -> reason pattern

    def add(row, reason=None):
        lines.append(row)
        if reason is not None:
            expected[len(lines)] = reason

    for i in range(10000):
        add(f"user{i}-{tag}@example.com,{'de' if i % 3 == 0 else ''},User {i}")
        if i == 100:
            add("not-an-email,,Bad", r"invalid email")
        if i == 2000:
            add(f"USER7-{tag}@EXAMPLE.COM,,Dup", r"duplicate of line 9\b")
        if i == 5000:
            add(f"Existing-{tag}@Example.com,,Old", r"already has a contact")
        if i == 6000:
            add(f"ok-{tag}@example.com,de_DE,Locale", r"invalid locale")
        if i == 7000:
            add(",de,Nobody", r"no email")
        if i == 8000:
            add(f"user{i}-{tag}@example.com,,Again", rf"duplicate of line {len(lines)}\b")
        if i == 9000:
            add("two@@example.com,,Bad", r"invalid email")
    path = write_csv("\n".join(lines) + "\n")
    try:
        imported, rejected, reports, seconds = import_csv(account, path)
    finally:
        os.unlink(path)
    print(f"     contact import: 10000 contacts and {len(expected)} bad rows in {seconds:.2f} s")
    assert (imported, rejected) == (10000, len(expected)), (imported, rejected, reports)
    assert seconds < 10, f"import took {seconds:.1f} s"
    got = {int(r.split(":")[0].split()[1]): r for r in reports}
    assert sorted(got) == sorted(expected), (reports, expected)
    for n, pattern in expected.items():
        assert re.search(pattern, got[n]), (n, got[n], pattern)
    assert query_one("SELECT count(*), count(*) FILTER (WHERE locale = 'de') FROM cv.contacts"
                     " WHERE account_id = %s", (account_id,)) == (10001, 3334)


def test_cvctl_contact_import_reads_quoted_csv():
    account, _, account_id = new_account()
    tag = uuid.uuid4().hex[:8]
    text = ("\ufeff\"Name\",\"E-Mail?\",EMAIL , Locale\r\n"
            f"\"Star, Patrick\",x,patrick-{tag}@example.com,en-GB\r\n"
            "\r\n"
            f"\"He said \"\"hi\"\"\",x, sandy-{tag}@example.com ,\r\n"
            f"\"two\nlines\",x,\"squid-{tag}@example.com\",fr\r\n"
            f"short,x\r\n"
            f"gary,x,gary-{tag}@example.com,de-CH")          # no line end at the end
    path = write_csv(text)
    try:
        imported, rejected, reports, _ = import_csv(account, path)
    finally:
        os.unlink(path)
    assert (imported, rejected) == (4, 1), (imported, rejected, reports)
    assert reports == ["line 7: no email"], reports
    rows = dict(query("SELECT email, locale FROM cv.contacts WHERE account_id = %s", (account_id,)))
    assert rows == {f"patrick-{tag}@example.com": "en-GB", f"sandy-{tag}@example.com": None,
                    f"squid-{tag}@example.com": "fr", f"gary-{tag}@example.com": "de-CH"}, rows


def test_cvctl_contact_import_reports_malformed_rows():
    account, _, account_id = new_account()
    tag = uuid.uuid4().hex[:8]
    text = (f"email\n"
            f"a-{tag}@example.com\n"
            f"\"b-{tag}@example.com\"junk\n"
            f"c-{tag}@exa\x00mple.com\n"
            f"d-{tag}@example.com\n"
            f"\"e-{tag}@example.com\n"
            f"f-{tag}@example.com\n")
    path = write_csv(text)
    try:
        imported, rejected, reports, _ = import_csv(account, path)
    finally:
        os.unlink(path)
    assert (imported, rejected) == (2, 3), (imported, rejected, reports)
    assert reports == ["line 3: text after a closing quote", "line 4: NUL byte in a field",
                       "line 6: unterminated quoted field"], reports
    assert counts(account_id)[0] == 2


def test_cvctl_contact_import_from_stdin():
    account, _, account_id = new_account()
    r = cvctl("contact", "import", "--account", account, "-",
              stdin=f"email\n{unique_email()}\n{unique_email()}\n".encode())
    assert (r.returncode, r.stdout, r.stderr) == (0, "imported=2 rejected=0\n", ""), r
    assert counts(account_id)[0] == 2


def test_cvctl_contact_import_fails_whole_on_a_bad_file():
    account, _, account_id = new_account()
    for text, mentions in (("name,mail\nx,a@example.com\n", "no email column"),
                           ("", "empty"), ("\n\n", "empty"),
                           ("email,Email\na@example.com,b@example.com\n", "two")):
        path = write_csv(text)
        try:
            fails("contact", "import", "--account", account, path, status=1, mentions=mentions)
        finally:
            os.unlink(path)
    fails("contact", "import", "--account", account, "/nonexistent/contacts.csv", status=1,
          mentions="No such file")
    fails("contact", "import", "--account", account, status=2, mentions="missing argument")
    fails("contact", "import", "--account", account, "a.csv", "b.csv", status=2)
    assert counts(account_id)[0] == 0


def test_cvctl_contact_import_writes_nothing_when_the_database_fails():
    """All rows are one transaction: a database error in the second batch
    (a trigger raising on one row) leaves none of the first batch."""
    account, _, account_id = new_account()
    tag = uuid.uuid4().hex[:8]
    boom = f"boom-{tag}@example.com"
    execute("DROP SCHEMA IF EXISTS cvctl_itest CASCADE")
    execute("CREATE SCHEMA cvctl_itest")
    try:
        execute("CREATE FUNCTION cvctl_itest.boom() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN IF NEW.email = '" + boom + "' THEN"
                " RAISE EXCEPTION 'itest: refusing this row'; END IF; RETURN NEW; END $$")
        execute("CREATE TRIGGER cvctl_itest_boom BEFORE INSERT ON cv.contacts"
                " FOR EACH ROW EXECUTE FUNCTION cvctl_itest.boom()")
        rows = [f"row{i}-{tag}@example.com" for i in range(7000)]
        rows[6500] = boom
        path = write_csv("email\n" + "\n".join(rows) + "\n")
        try:
            fails("contact", "import", "--account", account, path, status=1,
                  mentions="itest: refusing this row")
        finally:
            os.unlink(path)
    finally:
        execute("DROP TRIGGER IF EXISTS cvctl_itest_boom ON cv.contacts")
        execute("DROP SCHEMA IF EXISTS cvctl_itest CASCADE")
    assert counts(account_id)[0] == 0


# ---------------------------------------------------------------- events, outbox

def wait_delivered(account_uuid, timeout=15):
    """Waits until the mailer has dealt with every message of the account
    (so no event is added while a test compares listings)."""
    deadline = time.monotonic() + timeout
    while query_one("SELECT count(*) FROM cv.outbox o JOIN cv.accounts a ON a.id = o.account_id"
                    " WHERE a.uuid = %s AND o.status IN ('queued', 'sending')",
                    (account_uuid,))[0] > 0:
        assert time.monotonic() < deadline, "the mailer did not deliver in time"
        time.sleep(0.05)


def test_cvctl_events_prints_one_event_per_line():
    account, key, email = provisioned()
    sent = expect(send(key, email), 200)
    other_email = unique_email("cvctl-other")
    ok("contact", "add", "--account", account, "--email", other_email)
    expect(send(key, other_email), 200)
    wait_delivered(account)

    rows = table(ok("events", "--account", account))
    assert rows and all(r["account"] == account for r in rows), rows
    mine = [r for r in rows if r["event"] == "CODE_SENT" and r["email"] == email]
    assert len(mine) == 1, rows
    event = mine[0]
    assert event["event_id"] == "5001" and event["source"] == "api", event
    assert event["request_id"] == sent.header("X-Request-Id"), event
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"]), event
    assert event["detail"].startswith("{") and '"purpose": "login"' in event["detail"], event

    by_email = table(ok("events", "--email", email.upper()))
    assert by_email and all(r["email"] == email for r in by_email), by_email
    last = table(ok("events", "--account", account, "--limit", "1"))
    assert len(last) == 1 and last[0] == rows[-1], (last, rows)
    for bad in ("0", "100001", "x"):
        fails("events", "--limit", bad, status=2, mentions="--limit")


def test_cvctl_outbox_shows_counts_age_and_failures():
    account = create_account()
    contact = account.add_contact()
    account_uuid = account.uuid
    for status, error, age in (("failed", "550 5.1.1 no such user\r\nsecond line", 0),
                               ("queued", None, 3600), ("expired", "replaced", 0)):
        execute("INSERT INTO cv.outbox (account_id, contact_id, purpose, to_email, app_name,"
                " expires_at, message_id, status, last_error, created_at, next_attempt_at)"
                " VALUES (%s, %s, 'login', %s, 'App', now() + interval '1 day', %s, %s, %s,"
                "  now() - make_interval(secs => %s), now() + interval '1 day')",
                (account.id, contact.id, contact.email, f"<{uuid.uuid4()}@itest>", status, error,
                 age))
    out = ok("outbox", "--account", account_uuid)
    summary, _, failures = out.partition("\n\n")
    got = values(summary)
    assert list(got) == ["queued", "sending", "sent", "failed", "expired", "oldest_queued_age"], got
    assert (got["queued"], got["sending"], got["sent"], got["failed"], got["expired"]) == \
        ("1", "0", "0", "1", "1"), got
    assert 3600 <= int(got["oldest_queued_age"]) < 3700, got
    rows = table(failures)
    assert len(rows) == 1 and rows[0]["to"] == contact.email, rows
    assert rows[0]["last_error"] == "550 5.1.1 no such user\\r\\nsecond line", rows
    assert table(ok("outbox", "--account", account_uuid, "--failures", "0").partition("\n\n")[2]) == []
    totals = values(ok("outbox").partition("\n\n")[0])
    assert int(totals["failed"]) >= 1 and int(totals["queued"]) >= 1, totals
    fails("outbox", "--failures", "x", status=2)


# ---------------------------------------------------------------- configuration

def test_cvctl_connects_by_its_own_connection_string_never_the_configurations():
    """The configuration's database is the responders' role, which may not
    administer anything (sql/functions/privileges.sql): cvctl takes --database, else
    CV_DATABASE, else libpq's environment (PGHOST, PGUSER, ...)."""
    account, _, _ = new_account()
    dsn = dict(kv.split("=", 1) for kv in role_dsn("cv_admin").split())
    libpq_env = {"PGHOST": dsn["host"], "PGPORT": dsn["port"], "PGDATABASE": dsn["dbname"],
                 "PGUSER": dsn["user"]}
    path, remove = stack.private_config(
        "".join(f"{k} = {v}\n" for k, v in stack.config().items() if k != "database") +
        "database = host=/nonexistent-cv-itest dbname=contact_verify user=cv_app\n")
    try:
        rows = table(ok("account", "list", database=False,
                        extra_env={"CV_CONFIG": path, **libpq_env}))
        assert account in [r["uuid"] for r in rows]
        assert account in ok("--database", role_dsn("cv_admin"), "account", "list",
                             database=False, extra_env={"CV_CONFIG": path})
        # Neither a connection string nor libpq's environment: not the file's.
        fails("account", "list", database=False, extra_env={"CV_CONFIG": path}, status=1,
              mentions="database connection failed")
    finally:
        remove()
    # The file is still read for code_secret (an OAuth client's secret hash),
    # and only then.
    assert account in ok("account", "list", extra_env={"CV_CONFIG": "/nonexistent/cv.conf"})
    fails("oauth-client", "add", "--account", account,
          extra_env={"CV_CONFIG": "/nonexistent/cv.conf"}, status=1, mentions="configuration")
    fails("--database", "host=/nonexistent dbname=x", "account", "list", status=1,
          mentions="database connection failed")


def test_cvctl_as_the_responders_role_cannot_administer():
    """cv_app, the responders' role, may only call the endpoints' functions."""
    fails("account", "list", database="cv_app", status=1, mentions="permission denied")
    fails("account", "add", "--name", "x", database="cv_app", status=1,
          mentions="permission denied")


# ---------------------------------------------------------------- migrate

def migration_versions():
    return sorted(p[:-4] for p in os.listdir(os.path.join(SQL_DIR, "migrations"))
                  if re.fullmatch(r"\d{3}_.*\.sql", p))


def function_files():
    return sorted("functions/" + p for p in os.listdir(os.path.join(SQL_DIR, "functions"))
                  if p.endswith(".sql"))


def test_cvctl_migrate_is_a_no_op_on_an_up_to_date_database():
    out = ok("migrate", "--sql-dir", SQL_DIR, database="postgres")
    assert out == "0 applied, database up to date\n", out
    out = ok("migrate", extra_env={"CV_SQL_DIR": SQL_DIR}, database="postgres")
    assert out == "0 applied, database up to date\n", out
    recorded = [r[0] for r in query("SELECT version FROM cv.schema_migrations ORDER BY version")]
    assert recorded == migration_versions() + function_files(), recorded
    fails("migrate", "--sql-dir", "/nonexistent", status=1, mentions="/nonexistent",
          database="postgres")
    empty = tempfile.mkdtemp()
    try:
        os.mkdir(os.path.join(empty, "migrations"))
        fails("migrate", "--sql-dir", empty, status=1, mentions="no migrations",
              database="postgres")
    finally:
        shutil.rmtree(empty)
    # The administrator's role cannot change the schema: migrations need its owner.
    fails("migrate", "--sql-dir", SQL_DIR, status=1, mentions="permission denied")


def test_cvctl_migrate_builds_a_fresh_database_and_rolls_back_the_whole_run_on_a_failure():
    name = f"cvctl_itest_{uuid.uuid4().hex[:12]}"
    dsn = re.sub(r"dbname=\S+", f"dbname={name}", env("CV_PG_DSN"))
    execute(f'CREATE DATABASE "{name}"')
    work = tempfile.mkdtemp()
    try:
        versions, files = migration_versions(), function_files()
        out = ok("--database", dsn, "migrate", "--sql-dir", SQL_DIR)
        assert out == "".join(f"applied {v}\n" for v in versions + files) + \
            f"{len(versions) + len(files)} applied, database up to date\n", out
        assert ok("--database", dsn, "migrate", "--sql-dir", SQL_DIR) == \
            "0 applied, database up to date\n"

        shutil.copytree(os.path.join(SQL_DIR, "migrations"), os.path.join(work, "migrations"))
        shutil.copytree(os.path.join(SQL_DIR, "functions"), os.path.join(work, "functions"))
        with open(os.path.join(work, "migrations", "998_good.sql"), "w") as f:
            f.write("CREATE TABLE cv.itest_good (id integer);\n")
        with open(os.path.join(work, "migrations", "999_broken.sql"), "w") as f:
            f.write("CREATE TABLE cv.itest_broken (id integer);\nSELECT cv.no_such_function();\n")
        r = cvctl("--database", dsn, "migrate", "--sql-dir", work)
        assert r.returncode == 1, r
        assert r.stdout == "", r
        assert r.stderr.count("\n") == 1 and "999_broken failed" in r.stderr, r

        # One transaction: 998_good, which ran before, is gone with it.
        conn = psycopg2.connect(dsn)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT version FROM cv.schema_migrations ORDER BY version")
                assert [v for (v,) in cur.fetchall()] == versions + files
                cur.execute("SELECT to_regclass('cv.itest_good') IS NOT NULL,"
                            " to_regclass('cv.itest_broken') IS NOT NULL")
                assert cur.fetchone() == (False, False)
                cur.execute("SELECT count(*) FROM cv.event_types")
                assert cur.fetchone()[0] > 0
        finally:
            conn.close()
    finally:
        shutil.rmtree(work)
        execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------- tenants

def test_cvctl_tenant_add_list_and_the_tenant_works_on_v4():
    from test_orchestrator import make_jwt
    account, _, _ = provisioned()
    suffix = uuid.uuid4().hex[:8]
    codes = (f"C{suffix}", f"P{suffix}", f"G{suffix}")
    out = values(ok("tenant", "add", "--account", account, "--client-code", codes[0],
                    "--paper-code", codes[1], "--client-group-code", codes[2],
                    "--return-origins", "https://shop.example.com, http://localhost:8080/"))
    assert set(out) == {"id", "secret"} and len(out["secret"]) == 43, out
    rows = [r for r in table(ok("tenant", "list", "--account", account)) if r["id"] == out["id"]]
    assert len(rows) == 1, rows
    assert rows[0]["return_origins"] == "https://shop.example.com http://localhost:8080", rows
    assert out["secret"] not in ok("tenant", "list"), "list must never show a secret"
    email = unique_email("tenant")
    headers = {"Authorization": f"Bearer {make_jwt(out['secret'])}", "X-SourceSystem": "cvctl-test",
               "X-ClientCode": codes[0], "X-PaperCode": codes[1], "X-ClientGroupCode": codes[2]}
    resp = request("POST", "/v4/Users/VerificationCode",
                   {"email": email, "returnUrl": "https://shop.example.com/x"}, headers=headers)
    assert resp.status == 200, resp
    # cvctl events --email shows that user's events with their codes.
    events = ok("events", "--email", email)
    assert "SUBSCRIBE_USER_CREATEPENDING" in events and "4003" in events, events
    assert "cvctl-test" in events, events


def test_cvctl_tenant_add_with_own_secret_prints_no_secret():
    account, _, _ = new_account()
    suffix = uuid.uuid4().hex[:8]
    out = values(ok("tenant", "add", "--account", account, "--client-code", f"C{suffix}",
                    "--paper-code", f"P{suffix}", "--client-group-code", f"G{suffix}",
                    "--secret", "s" * 32, "--issuer", "https://idp.example", "--audience", "cv"))
    assert set(out) == {"id"}, out
    row = query_one("SELECT jwt_secret, jwt_issuer, jwt_audience, return_origins FROM cv.tenants"
                    " WHERE id = %s", (int(out["id"]),))
    assert row == ("s" * 32, "https://idp.example", "cv", []), row


def test_cvctl_tenant_add_rejects_bad_input():
    account, _, account_id = new_account()
    suffix = uuid.uuid4().hex[:8]
    base = ["tenant", "add", "--account", account, "--client-code", f"C{suffix}",
            "--paper-code", f"P{suffix}", "--client-group-code", f"G{suffix}"]
    fails(*base, "--secret", "s" * 31, status=2, mentions="256 bits")
    fails(*base, "--return-origins", "https://shop.example.com/path", status=2, mentions="origin")
    fails(*base, "--return-origins", "javascript:alert(1)", status=2, mentions="origin")
    fails(*base, "--return-origins", "https://a@evil.example", status=2, mentions="origin")
    fails("tenant", "add", "--account", account, "--client-code", "bad code",
          "--paper-code", "P", "--client-group-code", "G", status=2, mentions="--client-code")
    fails("tenant", "add", "--account", account, "--paper-code", "P", "--client-group-code", "G",
          status=2, mentions="--client-code")
    fails("tenant", "add", "--account", str(uuid.uuid4()), "--client-code", f"C{suffix}",
          "--paper-code", "P", "--client-group-code", "G", status=1)
    ok(*base)
    fails(*base, status=1)   # the same three codes twice
    assert query_one("SELECT count(*) FROM cv.tenants WHERE account_id = %s",
                     (account_id,))[0] == 1


def test_cvctl_user_app_portal_settings_and_public_id():
    account, _, account_id = new_account()
    ok("user-app", "add", "--account", account, "--name", "Portal")
    shown = table(ok("user-app", "portal", "--account", account))
    public_id = query_one("SELECT public_id FROM cv.user_apps WHERE account_id = %s",
                          (account_id,))[0]
    assert shown == [{"public_id": public_id, "origins": "", "frame_ancestors": "-",
                      "brand_color": "-", "portal_url": "-", "ticket_ttl": "120",
                      "allow_credentials": "no"}], shown
    changed = table(ok("user-app", "portal", "--account", account, "--origins",
                       "https://shop.example.com, http://localhost:3000/", "--frame-ancestors",
                       "'self' https://shop.example.com", "--brand-color", "#12ab34",
                       "--portal-url", "https://shop.example.com/in", "--ticket-ttl", "60",
                       "--allow-credentials", "yes"))[0]
    assert changed["origins"] == "https://shop.example.com http://localhost:3000", changed
    assert changed["frame_ancestors"] == "'self' https://shop.example.com"
    assert (changed["brand_color"], changed["portal_url"], changed["ticket_ttl"],
            changed["allow_credentials"]) == ("#12ab34", "https://shop.example.com/in", "60", "yes")
    for bad in (["--origins", "https://a.example.com/path"], ["--frame-ancestors", "*"],
                ["--brand-color", "red"], ["--ticket-ttl", "301"], ["--allow-credentials", "1"],
                ["--portal-url", "javascript:alert(1)"]):
        fails("user-app", "portal", "--account", account, *bad, status=2)
    cleared = table(ok("user-app", "portal", "--account", account, "--origins", "",
                       "--frame-ancestors", "", "--brand-color", ""))[0]
    assert (cleared["origins"], cleared["frame_ancestors"], cleared["brand_color"]) == ("", "-", "-")
