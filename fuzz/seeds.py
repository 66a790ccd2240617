#!/usr/bin/env python3
"""fuzz/seeds.py - writes the seed corpora fuzz/corpus/<target>/<name>.

The seeds are committed; run this again only to change them (it rewrites
the files it names and leaves others, such as inputs added by
`tools/fuzz --merge`, alone).  Tokens are signed with the key of fuzz/fuzz.h.
"""
import base64
import hashlib
import hmac
import json
import os

KEY = b"contact-verify-fuzz-key-32-bytes"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt(header, claims, key=KEY, sign=True):
    text = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")).encode())
    if not sign:
        return text + "."
    return text + "." + b64url(hmac.new(key, text.encode(), hashlib.sha256).digest())


def request(method, ctype, clen, path, auth, addr, rid, body):
    """The input of fuzz_request: one line per variable ("" = unset), then
    the body; clen None is the body's length."""
    if clen is None:
        clen = str(len(body.encode()))
    return "\n".join([method, ctype, clen, path, auth, addr, rid, body]).encode()


ACCESS = {"alg": "HS256", "typ": "at+jwt"}
CONTACT = {"alg": "HS256", "typ": "JWT"}
CLIENT = {"iss": "http://127.0.0.1:8080", "sub": "1", "client_id": 1,
          "iat": 1700000000, "exp": 1700003600, "jti": "f3c1b2a4d5e6"}
USER = {"iss": "http://127.0.0.1:8080", "aud": "8f14e45f-ceea-467f-a0e6-6b3f2d7c9a01",
        "sub": "0b9a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d", "email": "spongebob@bikinibottom.sea",
        "email_verified": True, "iat": 1700000000, "exp": 1700003600, "jti": "a1b2c3"}
API_KEY = "cvk_7d1f0c9e4b2a8f3e6d5c4b3a29180f7e"

SEEDS = {
    "fuzz_form": {
        "email": b"email=spongebob%40bikinibottom.sea",
        "email-code": b"email=spongebob%40bikinibottom.sea&code=012345",
        "oauth": b"grant_type=client_credentials&client_id=1&client_secret=s3cr%2Bt%2F%3D",
        "name-alone": b"remember&email=a%40b.co",
        "duplicate": b"code=1&code=2",
        "utf8": b"name=J%C3%BCrgen+M%C3%BCller&city=%E2%82%AC%F0%9F%98%80",
        "empty-pairs": b"&&a=&=b&",
        "bad-escape": b"email=%zz",
        "short-escape": b"email=%4",
        "nul": b"email=a%00b",
        "overlong": b"x=%C0%AF",
        "surrogate": b"x=%ED%A0%80",
        "spaces": b"email=+spongebob%40bikinibottom.sea+",
        "raw-utf8": "note=caf\u00e9".encode(),
    },
    "fuzz_json_body": {
        "verify": b'application/json\n{"email":"spongebob@bikinibottom.sea","code":"012345"}',
        "code-number": b'application/json; charset=utf-8\n{"email":"a@b.co","code":123456}',
        "code-big": b'application/json\n{"code":12345678901234567890,"n":-9223372036854775808}',
        "form": b"application/x-www-form-urlencoded\nemail=a%40b.co&code=012345",
        "sniff-json": b'\n  {"email": " spaced@b.co ",\n "code": "1"}  \n',
        "sniff-form": b"\nemail=a%40b.co",
        "no-type": b'{"grant_type":"client_credentials","client_id":1,"client_secret":"x"}',
        "plus-json": b'application/vnd.api+json\n{"data":{"type":"x","id":"1"}}',
        "plain": b"text/plain\nhello",
        "array": b"application/json\n[1,2,3]",
        "deep": b'application/json\n{"a":' + b"[" * 20 + b"1" + b"]" * 20 + b"}",
        "nul-escape": b'application/json\n{"email":"a\\u0000@b.co"}',
        "surrogate-escape": b'application/json\n{"email":"\\ud800@b.co"}',
        "duplicate": b'application/json\n{"email":"x@y.co","email":"y@z.co"}',
        "trailing-comma": b'application/json\n{"a":1,}',
        "bad-utf8": b'application/json\n{"a":"\xff"}',
        "types": b'application/json\n{"a":null,"b":true,"c":1.5e3,"d":{},"e":[],"f":""}',
        "uo-send": b'application/json\n{"email":"a@b.co","returnUrl":"https://example.com/x"}',
        "uo-legacy": b'application/json\n{"Email":"a@b.co","ReturnUrl":null}',
        "long-field": b'application/json\n{"email":"' + b"a" * 300 + b'@b.co"}',
    },
    "fuzz_jwt": {
        "access": jwt(ACCESS, CLIENT).encode(),
        "contact": jwt(CONTACT, USER).encode(),
        "no-typ": jwt({"alg": "HS256"}, CLIENT).encode(),
        "other-key": jwt(ACCESS, CLIENT, key=b"another-key-of-thirty-two-bytes!").encode(),
        "alg-none": jwt({"alg": "none", "typ": "JWT"}, USER, sign=False).encode(),
        "alg-none-signed": jwt({"alg": "none", "typ": "JWT"}, USER).encode(),
        "alg-hs512": jwt({"alg": "HS512", "typ": "JWT"}, USER).encode(),
        "crit": jwt({"alg": "HS256", "typ": "at+jwt", "crit": ["exp"]}, CLIENT).encode(),
        "star": (jwt(ACCESS, CLIENT, sign=False) + "*").encode(),
        "star-array": (b64url(b'{"alg":"HS256"}') + "." + b64url(b"[1]") + ".*").encode(),
        "empty-header": b".e30.*",
        "bad-header": b"e30x.e30.*",
        "two-parts": b"eyJhbGciOiJIUzI1NiJ9.e30",
        "four-parts": b"a.b.c.d",
        "json": json.dumps(ACCESS).encode() + b"\n" + json.dumps(CLIENT).encode(),
        "json-none": b'{"alg":"none","typ":"at+jwt"}\n{"client_id":1}',
        "json-dup-alg": b'{"alg":"none","alg":"HS256","typ":"JWT"}\n{}',
        "json-deep": b'{"alg":"HS256"}\n{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":1}}}}}}}}',
        "json-not-object": b'{"alg":"HS256"}\n"claims"',
        "json-trailing": b'{"alg":"HS256"} x\n{}',
    },
    "fuzz_request": {
        "send-json": request("POST", "application/json", None, "/send", "Bearer " + API_KEY,
                             "127.0.0.1", "0123456789abcdef0123",
                             '{"email":"spongebob@bikinibottom.sea"}'),
        "verify-form": request("POST", "application/x-www-form-urlencoded", None, "/verify",
                               "Bearer " + jwt(ACCESS, CLIENT), "10.0.0.1", "",
                               "email=a%40b.co&code=012345"),
        "star-token": request("POST", "", "", "", "Bearer " + jwt(ACCESS, CLIENT, sign=False) +
                              "*", "::1", "", "{}"),
        "star-bad-claims": request("POST", "", "", "", "Bearer " +
                                   b64url(json.dumps(ACCESS).encode()) + "." +
                                   b64url(b'{"client_id":"1","exp":-5}') + ".*", "", "", ""),
        "auth-token": request("GET", "", "", "//auth-token/8f14e45f-ceea-467f-a0e6-6b3f2d7c9a01",
                              "bearer   " + API_KEY + "   ", "127.0.0.1", "req_1-2", ""),
        "too-large": request("POST", "application/json", "70000", "/send", "Bearer k", "", "",
                             "{}"),
        "bad-length": request("POST", "application/json", "12x", "", "", "", "", "{}"),
        "short-body": request("POST", "application/json", "100", "", "", "", "", '{"a":1}'),
        "long-stdin": request("POST", "application/x-www-form-urlencoded", "14", "/verify", "", "",
                              "", "email=a%40b.co&code=999999"),
        "no-length": request("POST", "", "", "", "", "", "", "email=a%40b.co\n"),
        "plain-text": request("POST", "text/plain", None, "", "Basic dXNlcjpwYXNz", "", "",
                              "hello"),
        "contact-token": request("GET", "", "", "healthz", "Bearer " + jwt(CONTACT, USER), "",
                                 "bad id!", ""),
        "head": request("HEAD", "", "", "/", "Bearer a.b", "", "x" * 70, ""),
    },
    "fuzz_email": {
        "plain": b"spongebob@bikinibottom.sea",
        "short": b"a@b.co",
        "tagged": b"first.last+tag@sub.example.com",
        "atext": b"!#$%&'*+-/=?^_`{|}~@example.com",
        "upper": b"Patrick.Star@Bikini-Bottom.SEA",
        "double-dot": b"a..b@example.com",
        "leading-dot": b".a@example.com",
        "trailing-dot": b"a.@example.com",
        "hyphen-start": b"a@-example.com",
        "hyphen-end": b"a@example-.com",
        "one-label": b"a@localhost",
        "empty-label": b"a@example..com",
        "domain-dot": b"a@example.com.",
        "local-64": b"a" * 64 + b"@example.com",
        "local-65": b"a" * 65 + b"@example.com",
        "label-63": b"a@" + b"b" * 63 + b".com",
        "label-64": b"a@" + b"b" * 64 + b".com",
        "total-254": b"a" * 64 + b"@" + b".".join([b"b" * 63, b"c" * 63, b"d" * 61]),
        "total-255": b"a" * 64 + b"@" + b".".join([b"b" * 63, b"c" * 63, b"d" * 62]),
        "quoted": b'"john doe"@example.com',
        "literal": b"a@[127.0.0.1]",
        "two-at": b"a@b@example.com",
        "non-ascii": "j\u00fcrgen@example.com".encode(),
        "nul": b"a@exa\x00mple.com",
        "space": b" a@example.com",
    },
    "fuzz_url_origin": {
        "https": b"https://example.com/return?x=1#top",
        "port": b"http://localhost:8080/x",
        "upper": b"HTTPS://Example.COM/Path",
        "bare": b"https://example.com",
        "query": b"https://example.com?next=/",
        "userinfo": b"https://user:pass@example.com/",
        "empty-port": b"https://example.com:/",
        "bad-port": b"https://example.com:8o/",
        "scheme-relative": b"//example.com/x",
        "javascript": b"javascript:alert(1)",
        "backslash": b"https://example.com\\@evil.com/",
        "space": b"https://exa mple.com/",
        "empty-host": b"https:///x",
        "ftp": b"ftp://example.com/",
        "allowed": b"https://example.com/x\nhttps://example.com https://other.org",
        "allowed-port": b"https://example.com:443/\nhttps://example.com",
        "allowed-prefix": b"https://example.co/\nhttps://example.com  https://example.co",
    },
    "fuzz_codec": {
        "b64-hello": b"aGVsbG8",
        "b64-four": b"AAAA",
        "b64-url-chars": b"-_-_",
        "b64-padded": b"abc=",
        "b64-one": b"x",
        "b64-nonzero-tail": b"aGVsbG9",
        "hex-lower": b"00ff7f80",
        "hex-mixed": b"DEADbeef",
        "hex-odd": b"abc",
        "utf8-euro": "\u20ac".encode(),
        "utf8-emoji": "\U0001f600".encode(),
        "utf8-surrogate": b"\xed\xa0\x80",
        "utf8-too-big": b"\xf4\x90\x80\x80",
        "utf8-overlong": b"\xc0\xaf",
        "utf8-truncated": b"\xe2\x82",
        "utf8-nul": b"a\x00b",
    },
}


def main():
    for target, seeds in SEEDS.items():
        d = os.path.join(ROOT, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    print(sum(len(s) for s in SEEDS.values()), "seeds in", len(SEEDS), "corpora")


if __name__ == "__main__":
    main()
