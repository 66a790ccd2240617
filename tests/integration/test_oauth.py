"""OAuth 2.0 client credentials (README "API, POST /oauth/token", RFC 6749
section 4.4): POST /oauth/token by form, JSON and HTTP Basic; every section
5.2 error; access tokens on all three endpoints; expiry on the database clock;
revocation; a contact auth token is never an access token; failed client
authentications are rate limited per address."""
import base64
import concurrent.futures
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse

from stack import (API, assert_error, auth_limit, auth_token, b64url_decode, code_secret, db_now,
                   epoch_in_transaction, execute, expect, issuer,
                   query_one, request, send, setup)
from test_cvctl import ok, values
from test_secrets import assert_nowhere_at_rest

TOKEN = "/oauth/token"


def access_token_key():
    """The key the service signs access tokens with when the config names
    none: HMAC-SHA256(code_secret, "contact-verify access-token key")."""
    return hmac.new(code_secret(), b"contact-verify access-token key", hashlib.sha256).digest()


def access_token_signing_key():
    """The Ed25519 key the service signs access tokens with, derived as it
    derives it (lib/keys.c): HKDF-SHA256 of the access-token key, info
    "contact-verify access-token Ed25519", as the 32-byte seed."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"contact-verify access-token Ed25519").derive(access_token_key())
    return Ed25519PrivateKey.from_private_bytes(seed)


def access_token_verify(token, **kw):
    """(header, claims) of an access token after PyJWT checked it, EdDSA
    under the service's public key (its JWKS: test_keys.py)."""
    import jwt
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, access_token_signing_key().public_key(), algorithms=["EdDSA"],
                        **kw)
    return header, claims


def add_client(account, token_ttl=None, revoked=False):
    """(client_id, secret) of a new OAuth client of account."""
    secret = secrets.token_urlsafe(32)
    digest = hmac.new(code_secret(), b"o:" + secret.encode(), hashlib.sha256).digest()
    client_id = query_one(
        "INSERT INTO cv.oauth_clients (account_id, name, secret_hash, token_ttl, revoked_at)"
        " VALUES (%s, 'itest', %s, COALESCE(%s, 3600), CASE WHEN %s THEN now() END) RETURNING id",
        (account.id, digest, token_ttl, revoked))[0]
    return client_id, secret


def forget_failures():
    execute("DELETE FROM cv.rate_counters WHERE bucket LIKE 'auth:%%'")


def token_by_form(client_id, secret, grant_type="client_credentials", **kw):
    body = urllib.parse.urlencode({"grant_type": grant_type, "client_id": client_id,
                                   "client_secret": secret})
    return request("POST", TOKEN, body, content_type="application/x-www-form-urlencoded", **kw)


def basic(client_id, secret):
    raw = f"{urllib.parse.quote(str(client_id), safe='')}:{urllib.parse.quote(secret, safe='')}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


def assert_oauth_error(resp, status, error):
    assert resp.status == status, f"expected {status} {error}, got {resp!r}"
    body = resp.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error, body
    assert body["error_description"], body
    assert resp.header("Cache-Control") == "no-store", resp.headers
    assert resp.header("Pragma") == "no-cache", resp.headers
    if status == 401:
        assert (resp.header("WWW-Authenticate") or "").startswith("Basic"), resp.headers


def issued(resp, ttl=3600):
    """The access token of a 200 answer, after checking the answer's shape."""
    assert resp.status == 200, resp
    body = resp.json()
    assert list(body) == ["token_type", "expires_in", "access_token"], body
    assert body["token_type"] == "Bearer" and body["expires_in"] == ttl, body
    assert resp.header("Cache-Control") == "no-store", resp.headers
    assert resp.header("Pragma") == "no-cache", resp.headers
    return body["access_token"]


def test_token_by_form_is_a_signed_at_jwt_with_client_claims():
    forget_failures()
    account, _ = setup()
    client_id, secret = add_client(account)
    token = issued(token_by_form(client_id, secret))
    header, claims = access_token_verify(token)
    assert set(header) == {"alg", "typ", "kid"}, header
    assert header["alg"] == "EdDSA" and header["typ"] == "at+jwt", header
    assert claims["iss"] == issuer() and claims["sub"] == str(client_id), claims
    assert claims["client_id"] == client_id, claims
    assert claims["exp"] - claims["iat"] == 3600, claims
    assert abs(claims["iat"] - db_now()) < 30, claims


def test_token_by_json_body_with_integer_client_id():
    forget_failures()
    account, _ = setup()
    client_id, secret = add_client(account, token_ttl=120)
    resp = request("POST", TOKEN, {"grant_type": "client_credentials", "client_id": client_id,
                                   "client_secret": secret})
    issued(resp, ttl=120)


def test_token_by_http_basic_client_authentication():
    forget_failures()
    account, _ = setup()
    client_id, secret = add_client(account)
    resp = request("POST", TOKEN, "grant_type=client_credentials",
                   content_type="application/x-www-form-urlencoded",
                   headers={"Authorization": basic(client_id, secret)})
    issued(resp)


def test_access_token_authenticates_send_verify_and_auth_token_like_an_api_key():
    forget_failures()
    account, contact = setup()
    client_id, secret = add_client(account)
    token = issued(token_by_form(client_id, secret))
    expect(send(token, contact.email), 200)
    resp = request("POST", f"{API}/verify", {"email": contact.email, "code": "000000"}, key=token)
    assert_error(resp, 400, 13010, "Passcode not found.")
    expect(auth_token(token, contact.uuid), 200)


def test_access_token_sees_only_its_own_account():
    forget_failures()
    account, _ = setup()
    _, other_contact = setup()
    client_id, secret = add_client(account)
    token = issued(token_by_form(client_id, secret))
    assert_error(auth_token(token, other_contact.uuid), 400, 55031, "Contact not found.")


def test_expired_access_token_answers_3000_with_invalid_token():
    forget_failures()
    account, contact = setup()
    client_id, secret = add_client(account, token_ttl=1)
    token = issued(token_by_form(client_id, secret), ttl=1)
    _, claims = access_token_verify(token, options={"verify_exp": False})
    # Expiry is judged by the database clock: wait (bounded) until it passes exp.
    deadline = time.monotonic() + 5
    while db_now() < claims["exp"] and time.monotonic() < deadline:
        time.sleep(0.05)
    resp = auth_token(token, contact.uuid)
    assert_error(resp, 401, 3000, "The token is expired")
    assert 'error="invalid_token"' in (resp.header("WWW-Authenticate") or ""), resp.headers


def test_revoking_a_client_stops_its_tokens_and_new_ones():
    forget_failures()
    account, contact = setup()
    client_id, secret = add_client(account)
    token = issued(token_by_form(client_id, secret))
    expect(auth_token(token, contact.uuid), 200)
    execute("UPDATE cv.oauth_clients SET revoked_at = now() WHERE id = %s", (client_id,))
    assert_error(auth_token(token, contact.uuid), 401, 1001, "Unauthenticated.")
    assert_oauth_error(token_by_form(client_id, secret), 401, "invalid_client")


def test_inactive_account_gets_no_token_and_its_tokens_answer_7002():
    forget_failures()
    account, contact = setup()
    client_id, secret = add_client(account)
    token = issued(token_by_form(client_id, secret))
    execute("UPDATE cv.accounts SET status = 'inactive' WHERE id = %s", (account.id,))
    assert_error(auth_token(token, contact.uuid), 403, 7002, "Account inactive.")
    assert_oauth_error(token_by_form(client_id, secret), 401, "invalid_client")


def test_contact_auth_token_is_refused_as_access_token():
    forget_failures()
    account, contact = setup()
    contact_token = auth_token(account.key, contact.uuid).json()["data"]["auth_token"]
    assert_error(auth_token(contact_token, contact.uuid), 401, 1001, "Unauthenticated.")


def test_forged_access_tokens_are_refused():
    forget_failures()
    account, contact = setup()
    client_id, secret = add_client(account)
    token = issued(token_by_form(client_id, secret))
    head, body, _ = token.split(".")

    def sign(h, c, key):
        enc = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
        signing = f"{enc(h)}.{enc(c)}"
        mac = hmac.new(key, signing.encode(), hashlib.sha256).digest()
        return signing + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    claims = json.loads(b64url_decode(body))
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').rstrip(b"=").decode()
    forged = [
        sign({"alg": "HS256", "typ": "at+jwt"}, claims, b"not the server key, 32 bytes long"),
        sign({"alg": "HS256", "typ": "JWT"}, claims, access_token_key()),
        f"{none_header}.{body}.",
        f"{head}.{body}.{'A' * 43}",
        f"{head}.{body}",
    ]
    for bad in forged:
        assert_error(auth_token(bad, contact.uuid), 401, 1001, "Unauthenticated.")


def test_token_errors_follow_rfc6749_section_5_2():
    forget_failures()
    account, _ = setup()
    client_id, secret = add_client(account)
    form = "application/x-www-form-urlencoded"
    assert_oauth_error(request("POST", TOKEN, f"client_id={client_id}&client_secret={secret}",
                               content_type=form), 400, "invalid_request")
    assert_oauth_error(token_by_form(client_id, secret, grant_type="password"),
                       400, "unsupported_grant_type")
    assert_oauth_error(request("POST", TOKEN, "grant_type=client_credentials", content_type=form),
                       401, "invalid_client")
    assert_oauth_error(request("POST", TOKEN, f"grant_type=client_credentials&client_id={client_id}"
                               f"&client_secret={secret}", content_type=form,
                               headers={"Authorization": basic(client_id, secret)}),
                       400, "invalid_request")
    assert_oauth_error(request("POST", TOKEN, "grant_type=client_credentials", content_type=form,
                               headers={"Authorization": "Basic !!!"}), 401, "invalid_client")
    assert_oauth_error(token_by_form("abc", secret), 401, "invalid_client")
    assert_oauth_error(request("POST", TOKEN, "{bad", content_type="application/json"),
                       400, "invalid_request")
    assert_oauth_error(request("GET", TOKEN), 405, "invalid_request")
    forget_failures()


def test_wrong_or_unknown_client_is_invalid_client():
    forget_failures()
    account, _ = setup()
    client_id, secret = add_client(account)
    assert_oauth_error(token_by_form(client_id, secret + "x"), 401, "invalid_client")
    assert_oauth_error(token_by_form(client_id + 1000000, secret), 401, "invalid_client")
    forget_failures()


def test_failed_client_authentications_are_rate_limited_per_address():
    auth_limit(10)
    account, _ = setup()
    client_id, secret = add_client(account)
    for _ in range(10):
        assert_oauth_error(token_by_form(client_id, "wrong"), 401, "invalid_client")
    resp = token_by_form(client_id, secret)   # even the right secret now waits
    assert_oauth_error(resp, 429, "slow_down")
    assert int(resp.header("Retry-After")) > 0, resp.headers
    forget_failures()
    issued(token_by_form(client_id, secret))


def test_client_secret_is_stored_only_as_keyed_hash():
    """A client made as an administrator makes one (cvctl oauth-client add):
    the secret it shows is taken by the service, and a dump of the database
    holds it in no form (text, or the raw bytes it encodes), before and
    after it was used; the row holds HMAC-SHA256(code_secret, "o:" +
    secret): no hash anyone can compute from the secret alone."""
    forget_failures()
    account, _ = setup()
    out = values(ok("oauth-client", "add", "--account", account.uuid))
    client_id, secret = int(out["client_id"]), out["client_secret"]
    assert_nowhere_at_rest(secret, "client secret")
    issued(token_by_form(client_id, secret))
    assert_nowhere_at_rest(secret, "client secret")
    stored = bytes(query_one("SELECT secret_hash FROM cv.oauth_clients WHERE id = %s",
                             (client_id,))[0])
    assert stored == hmac.new(code_secret(), b"o:" + secret.encode(), hashlib.sha256).digest()


def test_fresh_access_tokens_are_accepted_by_pyjwt_at_once():
    """As auth tokens: iat (and exp = iat + ttl) truncated to whole seconds,
    so PyJWT with no leeway takes every fresh access token."""
    forget_failures()
    account, _ = setup()
    client_id, secret = add_client(account)

    def fetch_and_decode(_):
        _, claims = access_token_verify(issued(token_by_form(client_id, secret)),
                                        issuer=issuer())
        assert claims["exp"] == claims["iat"] + 3600, claims
        return claims

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(fetch_and_decode, range(40)))
    assert len({c["jti"] for c in claims}) == 40


def test_oauth_client_clock_is_truncated_not_rounded():
    """cv.oauth_client's now_epoch (the access token's iat) is never after
    the transaction's clock, in 20 transactions whatever their fraction of
    a second (rounded, half of them would be up to 0.5 s ahead)."""
    for _ in range(20):
        epoch, now = epoch_in_transaction("SELECT now_epoch FROM cv.oauth_client(1, 'itest')")
        assert epoch <= now < epoch + 1, (epoch, now)
