"""Signing keys of contact auth tokens (issue 18, README "Verifying auth
tokens"): ES256 and EdDSA keys made by cvctl account key, their JWKS at
/accounts/{uuid}/.well-known/jwks.json, the server's access-token JWKS and
the RFC 8414 metadata, rotation with overlap, and algorithm confusion.
Tokens are checked by libraries no one here wrote: PyJWT's PyJWKClient
(Debian's python3-jwt with python3-cryptography) fetching the JWKS over the
real nginx, jose's createRemoteJWKSet (Debian's node-jose, jose 4.11 by
panva, on Debian's nodejs), golang-jwt (Debian's
golang-github-golang-jwt-jwt-dev, v4) and the openssl command with a PEM
made from the JWKS; the README's examples run as they are printed."""
import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import subprocess
import tempfile
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from stack import (API, assert_error, auth_token, b64url_decode, create_account, env, execute,
                   expect, issuer, public_url, query, query_one, request, setup)
from test_cvctl import fails, ok, table, values
from test_oauth import access_token_key, access_token_signing_key, add_client, issued, token_by_form


def jwks_url(account):
    return f"{env('CV_BASE_URL').rstrip('/')}/accounts/{account.uuid}/.well-known/jwks.json"


def add_key(account, alg, activate=True):
    """A new key of alg for account (activated unless told): its kid."""
    out = values(ok("account", "key", "add", "--account", account.uuid, "--alg", alg))
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", out["kid"]), out
    assert ("secret" in out) == (alg == "HS256"), out
    if activate:
        ok("account", "key", "activate", "--account", account.uuid, "--kid", out["kid"])
    return out["kid"]


def contact_token(account, contact):
    resp = expect(auth_token(account.key, contact.uuid), 200)
    return resp.json()["data"]["auth_token"]


def pyjwk_decode(account, token, algorithms=("ES256", "EdDSA")):
    """The claims of token as PyJWT checks them with the key PyJWKClient
    fetched from the account's JWKS URL (a fresh client: no cache)."""
    key = jwt.PyJWKClient(jwks_url(account), cache_keys=False).get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=list(algorithms), audience=account.uuid,
                      issuer=issuer())


def jwks(account):
    resp = expect(request("GET", f"/accounts/{account.uuid}/.well-known/jwks.json"), 200)
    return resp.json()["keys"]


def keys_of(account):
    """{kid: (alg, state)} of the account's stored keys."""
    return {kid: (alg, state) for kid, alg, state in query(
        "SELECT kid, alg, state FROM cv.signing_keys WHERE account_id = %s", (account.id,))}


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_es256_and_eddsa_contact_tokens_verify_with_pyjwkclient_through_the_jwks_url():
    for alg in ("ES256", "EdDSA"):
        account, contact = setup()
        kid = add_key(account, alg)
        token = contact_token(account, contact)
        assert jwt.get_unverified_header(token) == {"alg": alg, "typ": "JWT", "kid": kid}
        claims = pyjwk_decode(account, token, algorithms=[alg])
        assert claims["sub"] == contact.uuid and claims["email"] == contact.email, claims
        assert claims["exp"] == claims["iat"] + 3600, claims


def test_openssl_verifies_the_signatures_with_a_pem_made_from_the_jwks():
    for alg in ("EdDSA", "ES256"):
        account, contact = setup()
        kid = add_key(account, alg)
        token = contact_token(account, contact)
        [jwk] = [k for k in jwks(account) if k["kid"] == kid]
        if alg == "EdDSA":
            public = ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
        else:
            public = ec.EllipticCurvePublicNumbers(
                int.from_bytes(b64url_decode(jwk["x"]), "big"),
                int.from_bytes(b64url_decode(jwk["y"]), "big"), ec.SECP256R1()).public_key()
        pem = public.public_bytes(serialization.Encoding.PEM,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        head, payload, sig = token.split(".")
        raw = b64url_decode(sig)
        assert len(raw) == 64
        with tempfile.TemporaryDirectory() as tmp:
            paths = {n: os.path.join(tmp, n) for n in ("key.pem", "data", "sig")}
            with open(paths["key.pem"], "wb") as f:
                f.write(pem)
            for data in (f"{head}.{payload}".encode(), f"{head}.{payload}x".encode()):
                with open(paths["data"], "wb") as f:
                    f.write(data)
                with open(paths["sig"], "wb") as f:
                    if alg == "EdDSA":
                        f.write(raw)
                    else:   # JWS r || s -> the DER openssl reads
                        f.write(encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                                     int.from_bytes(raw[32:], "big")))
                if alg == "EdDSA":
                    cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", paths["key.pem"],
                           "-rawin", "-in", paths["data"], "-sigfile", paths["sig"]]
                else:
                    cmd = ["openssl", "dgst", "-sha256", "-verify", paths["key.pem"],
                           "-signature", paths["sig"], paths["data"]]
                p = subprocess.run(cmd, capture_output=True, timeout=30)
                good = data.endswith(payload.encode())
                assert (p.returncode == 0) == good, (alg, good, p)
                assert (b"Verified" in p.stdout + p.stderr) == good, (alg, p)


def test_jwks_has_each_published_public_key_and_never_hs256_or_retired():
    account = create_account()
    es = add_key(account, "ES256", activate=False)
    ed = add_key(account, "EdDSA", activate=False)
    add_key(account, "HS256", activate=False)
    retired = add_key(account, "EdDSA", activate=False)
    ok("account", "key", "retire", "--account", account.uuid, "--kid", retired)
    keys = jwks(account)
    assert [k["kid"] for k in keys] == [es, ed], keys
    assert keys[0].keys() == {"kty", "crv", "x", "y", "kid", "alg", "use"}, keys[0]
    assert (keys[0]["kty"], keys[0]["crv"], keys[0]["alg"], keys[0]["use"]) == \
        ("EC", "P-256", "ES256", "sig")
    assert keys[1].keys() == {"kty", "crv", "x", "kid", "alg", "use"}, keys[1]
    assert (keys[1]["kty"], keys[1]["crv"], keys[1]["alg"], keys[1]["use"]) == \
        ("OKP", "Ed25519", "EdDSA", "sig")
    for k in keys:
        assert "d" not in k
        # kid: the RFC 7638 thumbprint of the public key.
        members = {m: k[m] for m in ("crv", "kty", "x", "y") if m in k}
        text = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
        assert k["kid"] == b64(hashlib.sha256(text).digest()), k
    # An account with only HS256 keys publishes an empty set.
    assert jwks(create_account()) == []


def test_rotation_with_overlap_then_retire():
    account, contact = setup(token_ttl=60)
    first = add_key(account, "EdDSA")
    before = contact_token(account, contact)
    second = add_key(account, "EdDSA", activate=False)
    # Published, not signing: tokens still come from the first key.
    assert jwt.get_unverified_header(contact_token(account, contact))["kid"] == first
    ok("account", "key", "activate", "--account", account.uuid, "--kid", second)
    after = contact_token(account, contact)
    assert jwt.get_unverified_header(after)["kid"] == second
    # Both published: a verifier accepts the token signed before activation.
    assert pyjwk_decode(account, before)["sub"] == contact.uuid
    assert pyjwk_decode(account, after)["sub"] == contact.uuid
    # The first key signed tokens that are valid for up to 60 s more.
    line = fails("account", "key", "retire", "--account", account.uuid, "--kid", first,
                 mentions="--force")
    assert "valid until" in line, line
    assert keys_of(account)[first] == ("EdDSA", "published")
    ok("account", "key", "retire", "--account", account.uuid, "--kid", first, "--force")
    assert [k["kid"] for k in jwks(account)] == [second]
    try:
        pyjwk_decode(account, before)
        raise AssertionError("a token of a retired key verified")
    except jwt.exceptions.PyJWKClientError:
        pass
    assert pyjwk_decode(account, after)["sub"] == contact.uuid


def test_retire_is_allowed_once_the_tokens_of_the_key_have_expired():
    account, contact = setup(token_ttl=60)
    first = add_key(account, "ES256")
    second = add_key(account, "ES256")
    # Pretend the switch happened two token lifetimes ago.
    execute("UPDATE cv.signing_keys SET superseded_at = now() - interval '120 seconds'"
            " WHERE kid = %s", (first,))
    ok("account", "key", "retire", "--account", account.uuid, "--kid", first)
    assert keys_of(account) == {first: ("ES256", "retired"), second: ("ES256", "active")}
    # A key that never signed can go at once.
    spare = add_key(account, "ES256", activate=False)
    ok("account", "key", "retire", "--account", account.uuid, "--kid", spare)


def test_cvctl_key_errors_are_clear_and_change_nothing():
    account = create_account()
    active = add_key(account, "EdDSA")
    retired = add_key(account, "EdDSA", activate=False)
    ok("account", "key", "retire", "--account", account.uuid, "--kid", retired)
    before = query("SELECT * FROM cv.signing_keys WHERE account_id = %s ORDER BY id", (account.id,))
    fails("account", "key", "add", "--account", account.uuid, "--alg", "RS256", status=2,
          mentions="--alg must be HS256, ES256 or EdDSA")
    fails("account", "key", "add", "--account", account.uuid, "--alg", "eddsa", status=2)
    fails("account", "key", "add", "--account", account.uuid, mentions="--alg is required")
    fails("account", "key", "retire", "--account", account.uuid, "--kid", active,
          mentions="activate another key first")
    fails("account", "key", "activate", "--account", account.uuid, "--kid", retired,
          mentions="is retired")
    fails("account", "key", "activate", "--account", account.uuid, "--kid", active,
          mentions="already active")
    fails("account", "key", "retire", "--account", account.uuid, "--kid", retired,
          mentions="retired already")
    fails("account", "key", "activate", "--account", account.uuid, "--kid", "A" * 22,
          mentions="has no key")
    fails("account", "key", "activate", "--account", str(uuid.uuid4()), "--kid", active)
    fails("account", "key", "rotate", "--account", account.uuid, mentions="unknown command")
    assert query("SELECT * FROM cv.signing_keys WHERE account_id = %s ORDER BY id",
                 (account.id,)) == before


def test_key_list_shows_the_implicit_key_and_never_a_secret():
    account = create_account()
    hs = values(ok("account", "key", "add", "--account", account.uuid, "--alg", "HS256"))
    ed = add_key(account, "EdDSA")
    out = ok("account", "key", "list", "--account", account.uuid)
    rows = table(out)
    assert [(r["kid"], r["alg"], r["state"]) for r in rows] == [
        (account.uuid.replace("-", ""), "HS256", "published"),
        (hs["kid"], "HS256", "published"), (ed, "EdDSA", "active")], rows
    assert hs["secret"] not in out and account.token_secret not in out
    # The HS256 key's secret is stored sealed, not as given.
    sealed = query_one("SELECT sealed FROM cv.signing_keys WHERE kid = %s", (hs["kid"],))[0]
    assert hs["secret"].encode() not in bytes(sealed)


def test_hs256_key_signs_under_its_kid_and_old_secret_tokens_still_verify():
    account, contact = setup()
    before = contact_token(account, contact)
    out = values(ok("account", "rotate-secret", "--account", account.uuid))
    after = contact_token(account, contact)
    assert jwt.get_unverified_header(after) == {"alg": "HS256", "typ": "JWT", "kid": out["kid"]}
    # The business holds both secrets during the overlap and picks by kid.
    secrets_by_kid = {account.uuid.replace("-", ""): account.token_secret, out["kid"]: out["secret"]}
    for token in (before, after):
        secret = secrets_by_kid[jwt.get_unverified_header(token)["kid"]]
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=account.uuid)
        assert claims["sub"] == contact.uuid
    assert jwks(account) == []


def hs256(header, payload, secret):
    """A token of header (a dict) and payload (base64url) signed HS256 with
    secret (bytes)."""
    signing = f"{b64(json.dumps(header).encode())}.{payload}"
    return signing + "." + b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest())


def forgeries(account, kid, token):
    """{what: token} of tokens no verifier may take for account, whose
    ES256 key kid signed token: a changed signature, the claims re-signed
    HS256 with the public key (PEM) as the secret, alg none, and a token of
    another account (ES256 too)."""
    head, payload, sig = token.split(".")
    [jwk] = [k for k in jwks(account) if k["kid"] == kid]
    public = ec.EllipticCurvePublicNumbers(
        int.from_bytes(b64url_decode(jwk["x"]), "big"),
        int.from_bytes(b64url_decode(jwk["y"]), "big"), ec.SECP256R1()).public_key()
    pem = public.public_bytes(serialization.Encoding.PEM,
                              serialization.PublicFormat.SubjectPublicKeyInfo)


    other, other_contact = setup()
    add_key(other, "ES256")
    return {
        # The first character: the last ones carry padding bits.
        "changed signature": f"{head}.{payload}." + ("B" if sig[0] == "A" else "A") + sig[1:],
        "HS256 with the public key as secret": hs256({"alg": "HS256", "typ": "JWT", "kid": kid}, payload, pem),
        "alg none": f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT', 'kid': kid}).encode())}.{payload}.",
        "another account's token": contact_token(other, other_contact),
    }


def test_algorithm_confusion_is_refused_by_every_verifier():
    account, contact = setup()
    kid = add_key(account, "ES256")
    token = contact_token(account, contact)
    for name, bad in forgeries(account, kid, token).items():
        try:
            pyjwk_decode(account, bad, algorithms=["ES256", "EdDSA"])
            raise AssertionError(f"PyJWT took the {name}")
        except (jwt.exceptions.PyJWTError, jwt.exceptions.PyJWKClientError):
            pass
        # As a bearer credential of the API (lib/auth.c) ...
        assert_error(auth_token(bad, contact.uuid), 401, 1001, "Unauthenticated.")
    # ... and the server's own access tokens, re-signed the same ways.
    account_client, secret = add_client(account)
    good = issued(token_by_form(account_client, secret))
    head, payload, _ = good.split(".")


    raw_public = access_token_signing_key().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    for bad in (hs256({"alg": "HS256", "typ": "at+jwt"}, payload, raw_public),
                hs256({"alg": "HS256", "typ": "at+jwt",
                       "kid": jwt.get_unverified_header(good)["kid"]}, payload, raw_public),
                f"{b64(json.dumps({'alg': 'none', 'typ': 'at+jwt'}).encode())}.{payload}.",
                f"{b64(json.dumps({'alg': 'EdDSA', 'typ': 'at+jwt', 'kid': kid}).encode())}"
                f".{payload}.{good.split('.')[2]}"):
        assert_error(auth_token(bad, contact.uuid), 401, 1001, "Unauthenticated.")
    expect(auth_token(good, contact.uuid), 200)


def test_a_tampered_access_token_is_refused_after_the_good_one_was_cached():
    account, contact = setup()
    client_id, secret = add_client(account)
    good = issued(token_by_form(client_id, secret))
    # Enough requests that every worker of auth-token has checked it once.
    for _ in range(12):
        expect(auth_token(good, contact.uuid), 200)
    head, payload, sig = good.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["client_id"] += 1
    flipped_sig = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    for bad in (f"{head}.{b64(json.dumps(claims).encode())}.{sig}", f"{head}.{payload}.{flipped_sig}",
                f"{head}.{payload}.{sig}A", good[:-1]):
        for _ in range(6):
            assert_error(auth_token(bad, contact.uuid), 401, 1001, "Unauthenticated.")
    expect(auth_token(good, contact.uuid), 200)


def test_legacy_hs256_access_tokens_keep_verifying_until_they_expire():
    account, contact = setup()
    client_id, _ = add_client(account)
    now = query_one("SELECT floor(extract(epoch FROM now()))::bigint")[0]
    claims = {"iss": issuer(), "sub": str(client_id), "client_id": client_id, "iat": now,
              "exp": now + 600, "jti": b64(os.urandom(16))}
    legacy = jwt.encode(claims, access_token_key(), algorithm="HS256", headers={"typ": "at+jwt"})
    expect(auth_token(legacy, contact.uuid), 200)
    claims["exp"] = now - 5
    expired = jwt.encode(claims, access_token_key(), algorithm="HS256", headers={"typ": "at+jwt"})
    resp = auth_token(expired, contact.uuid)
    assert resp.status == 401, resp


def test_server_jwks_verifies_access_tokens_and_metadata_points_to_it():
    meta = expect(request("GET", "/.well-known/oauth-authorization-server"), 200).json()
    base = public_url()
    assert meta == {
        "issuer": issuer(),
        "token_endpoint": f"{base}/oauth/token",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }, meta
    [key] = expect(request("GET", "/.well-known/jwks.json"), 200).json()["keys"]
    assert key.keys() == {"kty", "crv", "x", "kid", "alg", "use"}, key
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert "d" not in key
    account, _ = setup()
    client_id, secret = add_client(account)
    token = issued(token_by_form(client_id, secret))
    assert jwt.get_unverified_header(token)["kid"] == key["kid"]
    url = env("CV_BASE_URL").rstrip("/") + "/.well-known/jwks.json"
    signing = jwt.PyJWKClient(url, cache_keys=False).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, signing.key, algorithms=["EdDSA"], issuer=issuer())
    assert claims["client_id"] == client_id


def test_well_known_answers_are_cacheable_with_etag_and_304():
    account = create_account()
    add_key(account, "EdDSA", activate=False)
    for path in (f"/accounts/{account.uuid}/.well-known/jwks.json", "/.well-known/jwks.json",
                 "/.well-known/oauth-authorization-server"):
        resp = expect(request("GET", path), 200)
        etag = resp.header("ETag")
        assert re.fullmatch(r'"[A-Za-z0-9_-]{22}"', etag or ""), resp.headers
        assert resp.header("Cache-Control") == "public, max-age=300", resp.headers
        assert resp.header("Content-Type") == "application/json", resp.headers
        assert expect(request("GET", path), 200).header("ETag") == etag
        for match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            again = request("GET", path, headers={"If-None-Match": match})
            assert again.status == 304 and again.body == b"", (match, again)
            assert again.header("ETag") == etag, again.headers
        changed = request("GET", path, headers={"If-None-Match": '"AAAAAAAAAAAAAAAAAAAAAA"'})
        assert changed.status == 200 and changed.body == resp.body
        head = request("HEAD", path)
        assert head.status == 200 and head.body == b"" and head.header("ETag") == etag
    # A new published key is a new body: a new ETag.
    path = f"/accounts/{account.uuid}/.well-known/jwks.json"
    etag = request("GET", path).header("ETag")
    add_key(account, "ES256", activate=False)
    assert expect(request("GET", path, headers={"If-None-Match": etag}), 200).header("ETag") != etag


def test_jwks_of_an_unknown_disabled_or_malformed_account_is_the_404_envelope():
    disabled = create_account(status="inactive")
    add_key(disabled, "EdDSA")
    for path in (f"/accounts/{uuid.uuid4()}/.well-known/jwks.json",
                 f"/accounts/{disabled.uuid}/.well-known/jwks.json",
                 "/accounts/not-a-uuid/.well-known/jwks.json",
                 "/accounts/%27;select/.well-known/jwks.json"):
        resp = request("GET", path)
        assert_error(resp, 404, 1404, "Not found.")
        assert resp.header("Cache-Control") == "no-store", resp.headers
    resp = request("POST", "/.well-known/jwks.json", b"{}", content_type="application/json")
    assert resp.status == 405 and resp.header("Allow") == "GET, HEAD", resp


def readme_example(lang):
    """The example in lang (the code block's language) of README
    "Verifying auth tokens"."""
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md"),
              encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## Verifying auth tokens"):]
    section = section[:section.index("\n## ", 1)]
    return re.search(rf"```{lang}\n(.*?)```", section, re.S).group(1)


def test_readme_python_example_verifies_a_token():
    account, contact = setup()
    add_key(account, "EdDSA")
    token = contact_token(account, contact)
    scope = {}
    exec(readme_example("python"), scope)   # defines verify_auth_token
    claims = scope["verify_auth_token"](token, env("CV_BASE_URL").rstrip("/"), account.uuid,
                                        issuer())
    assert claims["sub"] == contact.uuid and claims["email"] == contact.email
    try:
        # The signature's first character changed: the last ones carry
        # padding bits, so "AA" there was sometimes the same signature.
        head, payload, sig = token.split(".")
        tampered = f"{head}.{payload}." + ("B" if sig[0] == "A" else "A") + sig[1:]
        scope["verify_auth_token"](tampered, env("CV_BASE_URL").rstrip("/"),
                                   account.uuid, issuer())
        raise AssertionError("the README example took a tampered token")
    except jwt.exceptions.InvalidSignatureError:
        pass



@contextlib.contextmanager
def readme_verifier(lang):
    """The README's example in lang ("js": Node with jose; "go": golang-jwt)
    made into a program: arguments BASE, the account uuid, the issuer and
    the token; it prints the claims as JSON and exits 0, or exits non-zero
    with the library's error.  Yields the command to run it with."""
    with tempfile.TemporaryDirectory(prefix=f"readme-{lang}.") as work:
        if lang == "js":
            # ESM resolves the bare 'jose' from a node_modules beside the
            # program; Debian keeps node-jose in /usr/share/nodejs.
            os.mkdir(os.path.join(work, "node_modules"))
            os.symlink("/usr/share/nodejs/jose", os.path.join(work, "node_modules", "jose"))
            path = os.path.join(work, "verify.mjs")
            with open(path, "w", encoding="utf-8") as f:
                f.write("const [BASE, accountUuid, ISSUER, token] = process.argv.slice(2)\n"
                        + readme_example("js")
                        + "process.stdout.write(JSON.stringify(payload))\n")
            yield ["node", path]
            return
        # Go: a module whose one requirement is replaced by Debian's copy
        # in /usr/share/gocode, so the build needs no network.
        with open(os.path.join(work, "go.mod"), "w", encoding="utf-8") as f:
            f.write("module verify\n\ngo 1.19\n\nrequire github.com/golang-jwt/jwt/v4 v4.0.0\n\n"
                    "replace github.com/golang-jwt/jwt/v4 => "
                    "/usr/share/gocode/src/github.com/golang-jwt/jwt\n")
        path = os.path.join(work, "verify.go")
        with open(path, "w", encoding="utf-8") as f:
            f.write('package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\n' + readme_example("go")
                    + "\nfunc main() {\n"
                    + "\tclaims, err := verifyAuthToken(os.Args[4], os.Args[1], os.Args[2], os.Args[3])\n"
                    + "\tif err != nil {\n\t\tfmt.Fprintln(os.Stderr, \"refused:\", err)\n"
                    + "\t\tos.Exit(1)\n\t}\n\tjson.NewEncoder(os.Stdout).Encode(claims)\n}\n")
        go_env = {"GOPROXY": "off", "GOFLAGS": "-mod=mod", "HOME": work,
                  "GOPATH": os.path.join(work, "gopath"), "GOCACHE": os.path.join(work, "cache"),
                  "PATH": os.environ["PATH"]}
        r = subprocess.run(["go", "build", "-o", os.path.join(work, "verify"), "."], cwd=work,
                           env=go_env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        yield [os.path.join(work, "verify")]


def readme_example_checks(lang, error_mark):
    """The README example of lang verifies an EdDSA and an ES256 token of
    an account through its JWKS URL and refuses every forgery, each with
    the library's own error (its text holds error_mark)."""
    account, contact = setup()
    base = env("CV_BASE_URL").rstrip("/")
    with readme_verifier(lang) as cmd:
        def verify(token):
            r = subprocess.run(cmd + [base, account.uuid, issuer(), token], capture_output=True,
                               text=True, timeout=60)
            return r.returncode, r.stdout, r.stderr

        for alg in ("EdDSA", "ES256"):
            kid = add_key(account, alg)
            token = contact_token(account, contact)
            rc, out, err = verify(token)
            assert rc == 0, (lang, alg, err)
            claims = json.loads(out)
            assert claims["sub"] == contact.uuid and claims["email"] == contact.email, claims
            assert claims["aud"] == account.uuid and claims["iss"] == issuer(), claims
        # The ES256 key signs now: its forgeries.
        for name, bad in forgeries(account, kid, token).items():
            rc, out, err = verify(bad)
            assert rc != 0 and out == "", f"{lang} took the {name}: {out}"
            assert error_mark in err, (lang, name, err)


def test_readme_node_example_verifies_with_jose_and_refuses_forgeries():
    # jose's errors carry its codes: ERR_JWS_*, ERR_JOSE_*, ERR_JWKS_*.
    readme_example_checks("js", "ERR_J")


def test_readme_go_example_verifies_with_golang_jwt_and_refuses_forgeries():
    readme_example_checks("go", "refused:")
