"""Callers' API keys (README "API", "API, Errors"): every endpoint answers 401
for a missing, unknown, revoked or expired key, 403 for an inactive account,
and checks the key before it says anything about the body."""
import uuid

from stack import (API, assert_error, create_account, execute, expect, jwt_verify, new_api_key,
                   query_one, request, setup)


def endpoints(contact_email="a@example.com", contact_uuid=None):
    """(method, path, body) of each authenticated endpoint."""
    return [
        ("POST", f"{API}/send", {"email": contact_email}),
        ("POST", f"{API}/verify", {"email": contact_email, "code": "123456"}),
        ("GET", f"{API}/auth-token/{contact_uuid or uuid.uuid4()}", None),
        # Refused credentials erase nothing (every test here refuses them).
        ("DELETE", f"{API}/contacts/{contact_uuid or uuid.uuid4()}", None),
    ]


def assert_unauthenticated(resp, invalid_token=None):
    assert_error(resp, 401, 1001, "Unauthenticated.")
    challenge = resp.header("WWW-Authenticate") or ""
    assert challenge.startswith("Bearer"), f"WWW-Authenticate: {challenge!r}"
    if invalid_token is False:
        # RFC 6750 3.1: no error code when the request had no credentials.
        assert "error=" not in challenge, challenge
    if invalid_token is True:
        assert 'error="invalid_token"' in challenge, challenge


def assert_token_expired(resp):
    assert_error(resp, 401, 3000, "The token is expired")
    challenge = resp.header("WWW-Authenticate") or ""
    assert challenge.startswith("Bearer") and 'error="invalid_token"' in challenge, challenge


def test_missing_api_key_answers_401():
    _, contact = setup()
    for method, path, body in endpoints(contact.email, contact.uuid):
        assert_unauthenticated(request(method, path, body), invalid_token=False)
    assert query_one("SELECT count(*) FROM cv.passcodes WHERE contact_id = %s", (contact.id,))[0] == 0


def test_empty_bearer_token_answers_401():
    _, contact = setup()
    for method, path, body in endpoints(contact.email, contact.uuid):
        for value in ("Bearer", "Bearer ", "Bearer    "):
            assert_unauthenticated(request(method, path, body, headers={"Authorization": value}))


def test_unknown_api_key_answers_401():
    _, contact = setup()
    for method, path, body in endpoints(contact.email, contact.uuid):
        assert_unauthenticated(request(method, path, body, key=new_api_key()))
        assert_unauthenticated(request(method, path, body, key="x" * 3000))
        assert_unauthenticated(request(method, path, body, headers={"Authorization": "Bearer a b"}))
    assert query_one("SELECT count(*) FROM cv.passcodes WHERE contact_id = %s", (contact.id,))[0] == 0


def test_revoked_api_key_answers_401():
    account, contact = setup()
    revoked = account.add_key(revoked=True)
    for method, path, body in endpoints(contact.email, contact.uuid):
        assert_unauthenticated(request(method, path, body, key=revoked))
    assert query_one("SELECT count(*) FROM cv.passcodes WHERE contact_id = %s", (contact.id,))[0] == 0


def test_expired_api_key_answers_401_token_expired():
    account, contact = setup()
    expired = account.add_key(expires_in=-1)
    for method, path, body in endpoints(contact.email, contact.uuid):
        assert_token_expired(request(method, path, body, key=expired))
    assert query_one("SELECT count(*) FROM cv.passcodes WHERE contact_id = %s", (contact.id,))[0] == 0


def authorized_token_for(resp, account, contact):
    """The answer is the contact's auth token, signed with the account's secret."""
    assert resp.status == 200, resp
    claims = jwt_verify(resp.json()["data"]["auth_token"], account.token_secret)[1]
    assert (claims["aud"], claims["sub"]) == (account.uuid, contact.uuid), claims


def test_api_key_works_until_it_expires():
    account, contact = setup()
    key = account.add_key(expires_in=3600)
    authorized_token_for(request("GET", f"{API}/auth-token/{contact.uuid}", key=key), account,
                         contact)
    execute("UPDATE cv.api_keys SET expires_at = now() - interval '1 second'"
            " WHERE account_id = %s AND expires_at IS NOT NULL", (account.id,))
    assert_token_expired(request("GET", f"{API}/auth-token/{contact.uuid}", key=key))


def test_revoked_key_that_also_expired_answers_unauthenticated():
    account, contact = setup()
    key = account.add_key(expires_in=-1, revoked=True)
    assert_unauthenticated(request("GET", f"{API}/auth-token/{contact.uuid}", key=key))


def test_basic_authorization_scheme_answers_401():
    account, contact = setup()
    for method, path, body in endpoints(contact.email, contact.uuid):
        for value in (f"Basic {account.key}", "Basic dXNlcjpwYXNz", account.key, f"Token {account.key}"):
            assert_unauthenticated(request(method, path, body, headers={"Authorization": value}))


def test_bearer_scheme_is_case_insensitive():
    account, contact = setup()
    for scheme in ("bearer", "BEARER"):
        resp = request("GET", f"{API}/auth-token/{contact.uuid}",
                       headers={"Authorization": f"{scheme} {account.key}"})
        authorized_token_for(resp, account, contact)


def test_inactive_account_answers_403():
    account, contact = setup(status="inactive")
    for method, path, body in endpoints(contact.email, contact.uuid):
        assert_error(request(method, path, body, key=account.key), 403, 7002, "Account inactive.")
    assert query_one("SELECT count(*) FROM cv.passcodes WHERE contact_id = %s", (contact.id,))[0] == 0


def test_api_key_reaches_only_its_own_account():
    a, contact_a = setup()
    b, contact_b = setup()
    resp = request("GET", f"{API}/auth-token/{contact_b.uuid}", key=a.key)
    assert_error(resp, 400, 55031, "Contact not found.")
    expect(request("GET", f"{API}/auth-token/{contact_a.uuid}", key=a.key), 200)


def bad_bodies():
    """(content type, body) pairs that fail validation in different stages."""
    return [
        ("application/json", b'{}'),                      # missing field
        ("application/json", b'{"email": "nope"}'),       # invalid email
        ("application/json", b'{"email": '),              # invalid JSON
        ("application/json", b'[1, 2]'),                  # not an object
        ("application/x-www-form-urlencoded", b'email=%zz'),  # malformed form
        ("text/plain", b'email=a@example.com'),           # unsupported media type
    ]


def test_missing_key_with_bad_body_answers_401():
    for path in (f"{API}/send", f"{API}/verify"):
        for ctype, body in bad_bodies():
            resp = request("POST", path, body, content_type=ctype)
            assert resp.status == 401, f"{path} {ctype} {body!r}: {resp!r}"
            assert_unauthenticated(resp, invalid_token=False)


def test_unknown_key_with_bad_body_answers_401():
    for path in (f"{API}/send", f"{API}/verify"):
        for ctype, body in bad_bodies():
            resp = request("POST", path, body, content_type=ctype, key=new_api_key())
            assert resp.status == 401, f"{path} {ctype} {body!r}: {resp!r}"
            assert_unauthenticated(resp)


def test_expired_key_with_bad_body_answers_401_token_expired():
    account = create_account()
    expired = account.add_key(expires_in=-1)
    for path in (f"{API}/send", f"{API}/verify"):
        for ctype, body in bad_bodies():
            resp = request("POST", path, body, content_type=ctype, key=expired)
            assert resp.status == 401, f"{path} {ctype} {body!r}: {resp!r}"
            assert_token_expired(resp)


def test_inactive_account_with_bad_body_answers_403():
    account = create_account(status="inactive")
    for ctype, body in bad_bodies():
        resp = request("POST", f"{API}/send", body, content_type=ctype, key=account.key)
        assert resp.status == 403, f"{ctype} {body!r}: {resp!r}"
        assert_error(resp, 403, 7002, "Account inactive.")
