"""GET .../auth-token/{uuid} (README "API, GET .../auth-token"): the whole
flow, the JWT (RFC 7519, HS256 with the account's secret) and its claims, and
the lookups that fail."""
import concurrent.futures
import re
import uuid

from stack import (API, assert_error, assert_exact, auth_token, compact, create_account, db_now,
                   execute, expect, issuer, jwt_verify, mail_code, pyjwt_decode, query_one,
                   request, send, send_and_get_code, send_success_body, setup, verify,
                   wait_for_mail)


def token_of(resp):
    assert resp.status == 200, f"auth-token: {resp!r}"
    body = resp.json()
    assert set(body) == {"data", "meta"} and body["meta"] == [], body
    assert set(body["data"]) == {"auth_token"}, body
    token = body["data"]["auth_token"]
    assert isinstance(token, str)
    assert resp.body == compact({"data": {"auth_token": token}, "meta": []}), resp.body
    return token


def check_claims(claims, account, contact, verified, ttl, before, after):
    assert set(claims) == {"iss", "aud", "sub", "email", "email_verified", "iat", "exp", "jti"}, claims
    assert claims["iss"] == issuer(), claims
    assert claims["aud"] == account.uuid, claims
    assert claims["sub"] == contact.uuid, claims
    assert claims["email"] == contact.email, claims
    assert claims["email_verified"] is verified, claims
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int), claims
    assert before - 2 <= claims["iat"] <= after + 2, f"iat {claims['iat']} not in [{before}, {after}]"
    assert claims["exp"] == claims["iat"] + ttl, claims
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16, claims


def test_send_then_verify_then_auth_token_happy_path():
    account, contact = setup()
    resp = send(account.key, contact.email)
    assert_exact(resp, 200, send_success_body(contact.email))
    msg = wait_for_mail(contact.email)
    code = mail_code(msg)
    resp = verify(account.key, contact.email, code)
    assert_exact(resp, 200, compact({"data": {"uuid": contact.uuid}, "meta": {}}))
    contact_uuid = resp.json()["data"]["uuid"]
    before = db_now()
    resp = auth_token(account.key, contact_uuid)
    after = db_now()
    header, claims = jwt_verify(token_of(resp), account.token_secret)
    # The implicit key of the account's token_secret: its kid is the
    # account's uuid without dashes (sql/functions/keys.sql).
    assert header == {"alg": "HS256", "typ": "JWT", "kid": account.uuid.replace("-", "")}, header
    check_claims(claims, account, contact, True, 3600, before, after)


def test_auth_token_for_unverified_contact_says_email_verified_false():
    account, contact = setup()
    before = db_now()
    resp = auth_token(account.key, contact.uuid)
    header, claims = jwt_verify(token_of(resp), account.token_secret)
    check_claims(claims, account, contact, False, 3600, before, db_now())


def test_auth_token_lifetime_follows_account_token_ttl():
    account, contact = setup(token_ttl=120)
    before = db_now()
    _, claims = jwt_verify(token_of(auth_token(account.key, contact.uuid)), account.token_secret)
    check_claims(claims, account, contact, False, 120, before, db_now())


def test_auth_token_header_segment_is_exactly_hs256_jwt():
    account, contact = setup()
    token = token_of(auth_token(account.key, contact.uuid))
    header_part, payload_part, sig_part = token.split(".")
    assert "=" not in token, "base64url segments must not be padded"
    assert len(sig_part) == 43, sig_part
    assert re.fullmatch(r"[A-Za-z0-9_-]+", header_part + payload_part + sig_part)


def test_auth_token_jti_is_unique_per_token():
    account, contact = setup()
    jtis = {jwt_verify(token_of(auth_token(account.key, contact.uuid)), account.token_secret)[1]["jti"]
            for _ in range(5)}
    assert len(jtis) == 5, jtis


def test_auth_token_does_not_verify_with_another_secret():
    account, contact = setup()
    token = token_of(auth_token(account.key, contact.uuid))
    jwt_verify(token, account.token_secret)
    try:
        jwt_verify(token, account.token_secret + "x")
    except AssertionError as e:
        assert "signature does not verify" in str(e), e
    else:
        raise AssertionError("the token verifies with a different secret")


def test_auth_token_rejects_malformed_uuid():
    account, contact = setup()
    for bad in ("not-a-uuid", contact.uuid[:-1], contact.uuid + "0", contact.uuid.replace("-", ""),
                "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "'%20OR%201=1"):
        assert_error(auth_token(account.key, bad), 400, 55031, "Contact not found.")


def test_auth_token_rejects_unknown_uuid():
    account, _ = setup()
    assert_error(auth_token(account.key, str(uuid.uuid4())), 400, 55031, "Contact not found.")


def test_auth_token_rejects_contact_of_another_account():
    _, contact = setup()
    other = create_account()
    assert_error(auth_token(other.key, contact.uuid), 400, 55031, "Contact not found.")


def test_auth_token_accepts_uppercase_uuid():
    account, contact = setup()
    _, claims = jwt_verify(token_of(auth_token(account.key, contact.uuid.upper())), account.token_secret)
    assert claims["sub"] == contact.uuid


def test_auth_token_requires_account_secret():
    account, contact = setup(token_secret=None)
    assert_error(auth_token(account.key, contact.uuid), 400, 1053, "Account secret is invalid")


def test_auth_token_rejects_secret_shorter_than_32_bytes():
    account, contact = setup(token_secret="s" * 31)
    assert_error(auth_token(account.key, contact.uuid), 400, 1053, "Account secret is invalid")
    account, contact = setup(token_secret="")
    assert_error(auth_token(account.key, contact.uuid), 400, 1053, "Account secret is invalid")


def test_auth_token_accepts_secret_of_exactly_32_bytes():
    account, contact = setup(token_secret="s" * 32)
    jwt_verify(token_of(auth_token(account.key, contact.uuid)), account.token_secret)


def test_auth_token_counts_secret_length_in_utf8_bytes():
    # 11 characters, 33 bytes: long enough; the MAC key is the UTF-8 bytes.
    account, contact = setup(token_secret="\u20ac" * 11)
    jwt_verify(token_of(auth_token(account.key, contact.uuid)), account.token_secret.encode("utf-8"))
    # 16 characters, 16 bytes: too short.
    account, contact = setup(token_secret="abcdefghijklmnop")
    assert_error(auth_token(account.key, contact.uuid), 400, 1053, "Account secret is invalid")


def test_auth_token_without_uuid_is_contact_not_found():
    account, _ = setup()
    assert_error(request("GET", f"{API}/auth-token/", key=account.key), 400, 55031, "Contact not found.")


def test_auth_token_rejects_other_methods_with_405():
    account, contact = setup()
    for method in ("POST", "PUT", "DELETE"):
        resp = request(method, f"{API}/auth-token/{contact.uuid}", key=account.key)
        assert_error(resp, 405, 1405, "Method not allowed.")
        assert resp.header("Allow") == "GET, HEAD", resp.header("Allow")


def test_auth_token_email_claim_is_stored_address():
    account = create_account()
    contact = account.add_contact(f"Mixed.Case{uuid.uuid4().hex[:8]}@Example.COM")
    code, _ = send_and_get_code(contact)
    expect(verify(account.key, contact.email.lower(), code), 200)
    _, claims = jwt_verify(token_of(auth_token(account.key, contact.uuid)), account.token_secret)
    assert claims["email"] == contact.email and claims["email_verified"] is True, claims


# ---------------------------------------------------------------- auth_token_format

def test_auth_token_format_object_is_the_default():
    account, contact = setup()
    assert query_one("SELECT auth_token_format FROM cv.accounts WHERE id = %s",
                     (account.id,)) == ("object",)
    jwt_verify(token_of(auth_token(account.key, contact.uuid)), account.token_secret)


def test_auth_token_format_string_answers_the_token_as_data():
    account, contact = setup()
    execute("UPDATE cv.accounts SET auth_token_format = 'string' WHERE id = %s", (account.id,))
    resp = auth_token(account.key, contact.uuid)
    assert resp.status == 200, resp
    token = resp.json()["data"]
    assert isinstance(token, str), resp
    assert resp.body == compact({"data": token, "meta": []}), resp.body
    _, claims = jwt_verify(token, account.token_secret)
    assert claims["sub"] == contact.uuid and claims["aud"] == account.uuid, claims
    # Errors keep their envelope.
    assert_error(auth_token(account.key, str(uuid.uuid4())), 400, 55031, "Contact not found.")


def test_login_ticket_answer_keeps_uuid_and_token_whatever_the_format():
    account, contact = setup(portal_url="https://shop.example.com/after-login")
    execute("UPDATE cv.accounts SET auth_token_format = 'string' WHERE id = %s", (account.id,))
    portal = f"/portal/v1/{account.public_id}/login"
    expect(request("POST", f"{portal}/code", {"email": contact.email}), 200)
    code = mail_code(wait_for_mail(contact.email))
    resp = expect(request("POST", f"{portal}/verify", {"email": contact.email, "code": code}), 200)
    resp = request("POST", f"{API}/login-ticket", {"ticket": resp.json()["data"]["ticket"]},
                   key=account.key)
    assert resp.status == 200, resp
    data = resp.json()["data"]
    assert set(data) == {"uuid", "auth_token"} and data["uuid"] == contact.uuid, resp
    jwt_verify(data["auth_token"], account.token_secret)


def test_fresh_auth_tokens_are_accepted_by_pyjwt_at_once():
    """Anyone with the account secret verifies a token with any JWT library
    the moment it arrives: iat is the moment of issue truncated to whole
    seconds, never rounded up into the future (PyJWT refuses an iat later
    than its clock, leeway 0: "The token is not yet valid (iat)").  Rounded,
    about half of these 40 would fail."""
    account, contact = setup()

    def fetch_and_decode(_):
        token = token_of(auth_token(account.key, contact.uuid))
        return pyjwt_decode(token, account.token_secret, audience=account.uuid,
                            issuer=issuer())

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(fetch_and_decode, range(40)))
    assert len({c["jti"] for c in claims}) == 40
    assert all(c["sub"] == contact.uuid for c in claims), claims[0]
