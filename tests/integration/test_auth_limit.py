"""Failed authentications per client address (README "Configuration, Limits"):
API keys, access tokens and OAuth client secrets share one allowance per
address (cv.auth_limits); past it every authenticated endpoint answers 429
with Retry-After and 1029 (OAuth: slow_down) -- also for a valid key, so that
the limit does not tell a guesser which guess was right.  The client address
is set with X-Forwarded-For, which the test stack's trusted_proxies
(127.0.0.1) makes the stack believe (test_forwarded.py)."""
import concurrent.futures
import secrets
import urllib.parse

from stack import (API, assert_error, auth_limit, auth_token, config, create_account, execute,
                   expect, query, request, send, setup, verify)
from test_limits import assert_limited
from test_oauth import TOKEN, add_client, assert_oauth_error, issued


def addr():
    """A fresh client address (TEST-NET-3), so that tests share no bucket."""
    return f"203.0.113.{secrets.randbelow(250) + 1}"


def fresh_addr():
    a = addr()
    execute("DELETE FROM cv.rate_counters WHERE bucket = %s", ("auth:" + a,))
    return a


def frm(a):
    assert "127.0.0.1" in config().get("trusted_proxies", ""), \
        "the test stack's cv.conf must trust 127.0.0.1 (CV_TRUSTED_PROXIES in tools/test)"
    return {"headers": {"X-Forwarded-For": a}}


def bad_key():
    return secrets.token_urlsafe(32)


def test_failed_api_keys_are_limited_per_address():
    auth_limit(3, 900)
    account, contact = setup()
    a, b = fresh_addr(), fresh_addr()
    while b == a:
        b = fresh_addr()
    for _ in range(3):
        assert_error(send(bad_key(), contact.email, **frm(a)), 401, 1001, "Unauthenticated.")
    assert_limited(send(bad_key(), contact.email, **frm(a)), 900)
    assert_limited(verify(bad_key(), contact.email, "123456", **frm(a)), 900)
    # Another address is not affected.
    expect(send(account.key, contact.email, **frm(b)), 200)


def test_blocked_address_is_refused_even_with_a_valid_key():
    auth_limit(2, 600)
    account, contact = setup()
    a = fresh_addr()
    for _ in range(2):
        expect(auth_token(bad_key(), contact.uuid, **frm(a)), 401)
    # Valid and invalid keys get the same answer: the limit leaks nothing.
    for resp in (send(account.key, contact.email, **frm(a)),
                 verify(account.key, contact.email, "123456", **frm(a)),
                 auth_token(account.key, contact.uuid, **frm(a)),
                 auth_token(bad_key(), contact.uuid, **frm(a))):
        assert_limited(resp, 600)


def test_block_ends_with_the_window():
    auth_limit(2, 900)
    account, contact = setup()
    a = fresh_addr()
    for _ in range(2):
        expect(send(bad_key(), contact.email, **frm(a)), 401)
    resp = send(account.key, contact.email, **frm(a))
    assert_limited(resp, 900)
    assert int(resp.header("Retry-After")) > 890, resp.headers
    # Move the window's start 15 minutes back (database clock).
    execute("UPDATE cv.rate_counters SET window_start = window_start - interval '900 seconds'"
            " WHERE bucket = %s", ("auth:" + a,))
    expect(send(account.key, contact.email, **frm(a)), 200)
    expect(send(bad_key(), contact.email, **frm(a)), 401)   # a new window: counted afresh


def test_parallel_burst_gets_exactly_the_allowance():
    auth_limit(5, 900)
    _, contact = setup()
    a = fresh_addr()

    def one(_):
        return send(bad_key(), contact.email, **frm(a)).status

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(one, range(30)))
    assert sorted(statuses) == [401] * 5 + [429] * 25, statuses


def test_bad_key_with_a_bad_body_counts_too():
    # The early check of a credential (body invalid) must not be a way
    # around the limit.
    auth_limit(2, 900)
    _, contact = setup()
    a = fresh_addr()
    for _ in range(2):
        expect(request("POST", f"{API}/send", b"{not json", content_type="application/json",
                       key=bad_key(), **frm(a)), 401)
    assert_limited(request("POST", f"{API}/send", b"{not json", content_type="application/json",
                           key=bad_key(), **frm(a)), 900)
    assert_limited(send(bad_key(), contact.email, **frm(a)), 900)


def test_expired_key_is_not_a_failed_guess():
    auth_limit(1, 900)
    account, contact = setup()
    expired = account.add_key(expires_in=-60)
    a = fresh_addr()
    for _ in range(3):
        assert_error(send(expired, contact.email, **frm(a)), 401, 3000, "The token is expired")
    expect(send(account.key, contact.email, **frm(a)), 200)


def test_inactive_account_is_not_a_failed_guess():
    auth_limit(1, 900)
    account, contact = setup()
    inactive = create_account(status="inactive")
    a = fresh_addr()
    for _ in range(3):
        assert_error(send(inactive.key, contact.email, **frm(a)), 403, 7002, "Account inactive.")
    expect(send(account.key, contact.email, **frm(a)), 200)


def test_oauth_and_api_keys_share_one_allowance():
    auth_limit(3, 900)
    account, contact = setup()
    client_id, secret = add_client(account)
    a = fresh_addr()
    form = "application/x-www-form-urlencoded"

    def token(s):
        body = urllib.parse.urlencode({"grant_type": "client_credentials",
                                       "client_id": client_id, "client_secret": s})
        return request("POST", TOKEN, body, content_type=form, **frm(a))

    expect(send(bad_key(), contact.email, **frm(a)), 401)
    assert_oauth_error(token("wrong"), 401, "invalid_client")
    expect(verify(bad_key(), contact.email, "123456", **frm(a)), 401)
    resp = token(secret)                      # blocked: even the right secret
    assert_oauth_error(resp, 429, "slow_down")
    assert 0 < int(resp.header("Retry-After")) <= 900, resp.headers
    assert_limited(send(account.key, contact.email, **frm(a)), 900)
    # Elsewhere the client still gets its token, and the token works.
    other = fresh_addr()
    while other == a:
        other = fresh_addr()
    body = urllib.parse.urlencode({"grant_type": "client_credentials",
                                   "client_id": client_id, "client_secret": secret})
    at = issued(request("POST", TOKEN, body, content_type=form, **frm(other)))
    expect(send(at, contact.email, **frm(other)), 200)


def test_parallel_wrong_client_secrets_get_exactly_the_allowance():
    auth_limit(4, 900)
    account, _ = setup()
    client_id, _ = add_client(account)
    a = fresh_addr()
    body = urllib.parse.urlencode({"grant_type": "client_credentials",
                                   "client_id": client_id, "client_secret": "wrong"})

    def one(_):
        return request("POST", TOKEN, body, content_type="application/x-www-form-urlencoded",
                       **frm(a)).status

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(one, range(20)))
    assert sorted(statuses) == [401] * 4 + [429] * 16, statuses


def test_auth_limit_defaults():
    # The migration's defaults (the suite runs with its own row values).
    defaults = dict(query(
        "SELECT column_name, column_default FROM information_schema.columns"
        " WHERE table_schema = 'cv' AND table_name = 'auth_limits'"
        "   AND column_name IN ('max_failures', 'window_seconds')"))
    assert defaults == {"max_failures": "10", "window_seconds": "900"}, defaults
    assert not query("SELECT 1 FROM information_schema.tables"
                     " WHERE table_schema = 'cv' AND table_name = 'auth_failures'")


def test_login_ticket_exchange_counts_failed_keys_and_keeps_the_ticket():
    # The portal's ticket exchange (README "Login portal") is authenticated
    # with the API key like the rest: wrong keys use up the allowance, and a
    # blocked address spends nothing, not even with the right key.
    from test_portal import exchange, portal_account, ticket_for
    auth_limit(2, 900)
    account = portal_account()
    contact = account.add_contact()
    ticket = ticket_for(account, contact)
    a = fresh_addr()
    path = f"{API}/login-ticket"
    for _ in range(2):
        assert_error(request("POST", path, {"ticket": ticket}, key=bad_key(), **frm(a)),
                     401, 1001, "Unauthenticated.")
    assert_limited(request("POST", path, {"ticket": ticket}, key=account.key, **frm(a)), 900)
    got = exchange(account.key, ticket)
    assert got.status == 200 and got.json()["data"]["uuid"] == contact.uuid, got
