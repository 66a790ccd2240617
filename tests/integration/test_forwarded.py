"""The client address of the per-address limits (lib/client_addr.c): nginx's
REMOTE_ADDR, or, when that is a trusted proxy (trusted_proxies; the test
stack trusts 127.0.0.1), the right-most X-Forwarded-For hop that is not one;
IPv6 per /64; a malformed hop read on the way there makes the header count
for nothing (REMOTE_ADDR), hops left of the client are not read at all.
Seen here in the name of the verify-per-address bucket (cv.verify_limits, sql/functions/limits.sql) through
nginx, and with other configurations through the CGI program; the README's
table of examples is checked row by row."""
import os
import re

from stack import (assert_error, config, create_account, expect, private_config, query, run_cgi,
                   verify)


def verify_buckets(account):
    return sorted(b for (b,) in query("SELECT bucket FROM cv.rate_counters WHERE bucket LIKE %s",
                                      (f"verify-ip:{account.id}:%",)))


def client_of(xff):
    """The client address the stack counted a verify under, for this header."""
    assert "127.0.0.1" in config().get("trusted_proxies", ""), \
        "the test stack's cv.conf must trust 127.0.0.1 (CV_TRUSTED_PROXIES in tools/test)"
    account = create_account()
    contact = account.add_contact()
    headers = {} if xff is None else {"X-Forwarded-For": xff}
    resp = verify(account.key, contact.email, "123456", headers=headers)
    assert_error(resp, 400, 13010, "Passcode not found.")
    buckets = verify_buckets(account)
    assert len(buckets) == 1, buckets
    return buckets[0].split(":", 2)[2]


def test_without_forwarded_for_the_client_is_remote_addr():
    assert client_of(None) == "127.0.0.1"


def test_trusted_proxy_forwards_the_client():
    assert client_of("198.51.100.23") == "198.51.100.23"


def test_rightmost_untrusted_hop_wins_over_spoofed_ones():
    assert client_of("6.6.6.6, 1.2.3.4, 198.51.100.23, 127.0.0.1") == "198.51.100.23"


def test_malformed_forwarded_for_falls_back_to_remote_addr():
    for xff in ("198.51.100.23, not-an-address", "198.51.100.23,,", "unknown", ",",
                "198.51.100.23:port", "[2001:db8::1"):
        assert client_of(xff) == "127.0.0.1", xff


def test_hops_left_of_the_client_are_not_read():
    # The client is the right-most hop that is no trusted proxy; what the
    # client wrote left of it, garbage or empty, changes nothing.
    assert client_of("not-an-address, 198.51.100.23") == "198.51.100.23"
    assert client_of(", 198.51.100.23") == "198.51.100.23"


def test_ipv6_clients_are_counted_per_64():
    assert client_of("2001:db8:7:8:aaaa:bbbb:cccc:dddd") == "2001:db8:7:8::/64"
    assert client_of("[2001:db8:7:8::1]:4433") == "2001:db8:7:8::/64"


def test_per_address_verify_limit_follows_the_forwarded_client():
    account = create_account(limits={"verifies_per_ip": 2})
    contact = account.add_contact()
    for _ in range(2):
        expect(verify(account.key, contact.email, "123456",
                      headers={"X-Forwarded-For": "198.51.100.40"}), 400)
    resp = verify(account.key, contact.email, "123456",
                  headers={"X-Forwarded-For": "198.51.100.40"})
    assert_error(resp, 429, 1029, "Too many attempts.")
    # Another client behind the same proxy is not limited.
    expect(verify(account.key, contact.email, "123456",
                  headers={"X-Forwarded-For": "198.51.100.41"}), 400)


def untrusting_config(trusted):
    """A copy of the stack's configuration with another trusted_proxies."""
    lines = [f"{k} = {v}" for k, v in config().items() if k != "trusted_proxies"]
    if trusted is not None:
        lines.append(f"trusted_proxies = {trusted}")
    return private_config("\n".join(lines) + "\n")


def test_untrusted_remote_addr_ignores_forwarded_for():
    path, remove = untrusting_config("10.0.0.0/8")
    try:
        account = create_account()
        contact = account.add_contact()
        res = run_cgi("verify", body={"email": contact.email, "code": "123456"},
                      key=account.key, config_path=path,
                      extra_env={"HTTP_X_FORWARDED_FOR": "198.51.100.23"})
        assert res.status == 400, res
        assert verify_buckets(account) == [f"verify-ip:{account.id}:127.0.0.1"]
    finally:
        remove()


def readme_examples():
    """The rows of the README's table of X-Forwarded-For examples (Limits):
    [(header or None, client address)]."""
    readme = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    table = text.split("| `X-Forwarded-For` | counts under |", 1)
    assert len(table) == 2, "README.md (Limits) has no table of X-Forwarded-For examples"
    rows = []
    for line in table[1].splitlines()[2:]:
        m = re.fullmatch(r"\s*\| (\(none\)|`([^`]*)`) \| `([^`]+)` \|", line)
        if not m:
            break
        rows.append((m.group(2), m.group(3)))
    return rows


def test_the_readme_examples_of_forwarded_for_hold():
    # As the README states them: REMOTE_ADDR 127.0.0.1 and trusted_proxies
    # "127.0.0.1, 10.0.0.0/8", through the CGI program.
    rows = readme_examples()
    assert len(rows) >= 8 and ("not-an-address, 198.51.100.23", "198.51.100.23") in rows, rows
    path, remove = untrusting_config("127.0.0.1, 10.0.0.0/8")
    try:
        for xff, client in rows:
            account = create_account()
            contact = account.add_contact()
            res = run_cgi("verify", body={"email": contact.email, "code": "123456"},
                          key=account.key, config_path=path,
                          extra_env={} if xff is None else {"HTTP_X_FORWARDED_FOR": xff})
            assert res.status == 400, res
            assert verify_buckets(account) == [f"verify-ip:{account.id}:{client}"], (xff, client)
    finally:
        remove()


def test_bad_trusted_proxies_refuses_to_start():
    for bad in ("localhost", "10.0.0.0/33", "10.0.0.1:80"):
        path, remove = untrusting_config(bad)
        try:
            res = run_cgi("healthz", method="GET", config_path=path)
            # Not started: exit status 1 (the CGI request still gets the envelope).
            assert res.returncode != 0 and res.status in (None, 503), (bad, res)
            assert "trusted_proxies" in res.stderr, (bad, res.stderr)
        finally:
            remove()
