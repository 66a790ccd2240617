#!/usr/bin/python3
"""drive.py - drives responders with many requests for tools/valgrind:
for each NAME=PID given, one thread sends --requests requests to that
endpoint through nginx on one keep-alive connection, nine in ten of the
kind that succeeds (or answers the endpoint's everyday error) and one in ten
malformed or unauthenticated, so that both paths are checked for leaks.
Reads VmData of PID (/proc/PID/status) after a fifth of the requests (at
least 2,000: valgrind's own translation cache grows until then) and at the
end, and writes "NAME SERVED VMDATA_EARLY_KB VMDATA_END_KB" lines to
--vmdata-out.  Prints "N passed, M failed" (one per endpoint: every answer
below 500, none lost).

Needs what stack.py needs: CV_BASE_URL, CV_PG_DSN, CV_CONFIG, CV_BIN_DIR,
CV_STATE_DIR, CV_SERVICE_USER.
"""
import argparse
import hashlib
import http.client
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import stack  # noqa: E402
from test_oauth import TOKEN, add_client  # noqa: E402
from test_orchestrator import LEGACY, V4, VERIFY, Tenant  # noqa: E402
from test_portal import ORIGIN, Browser, form_field, portal_account  # noqa: E402


def vmdata_kb(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmData for {pid}")


def login_tickets(account, contacts, count):
    """count login tickets of account's contacts, stored as the portal's
    verify stores them (the SHA-256) but valid for a day: the 5-minute
    ticket_ttl would run out under valgrind."""
    tickets = [secrets.token_urlsafe(32) for _ in range(count)]
    stack.execute("INSERT INTO cv.login_tickets (ticket_hash, account_id, contact_id, expires_at)"
                  " SELECT h, %s, c, now() + interval '1 day'"
                  " FROM unnest(%s::bytea[], %s::bigint[]) AS t (h, c)",
                  (account.id, [hashlib.sha256(t.encode()).digest() for t in tickets],
                   [contacts[n % len(contacts)].id for n in range(count)]))
    return tickets


def workloads(requests, n_contacts=50):
    """{responder: function(i) -> (method, path, body, headers)}."""
    stack.auth_limit(stack.SUITE_AUTH_FAILURES)
    account = stack.create_account(limits=stack.NO_LIMITS)
    contacts = [account.add_contact() for _ in range(n_contacts)]
    tenant = Tenant(account)
    client_id, secret = add_client(account)
    bearer = {"Authorization": f"Bearer {account.key}", "Content-Type": "application/json"}
    bad = {"Authorization": "Bearer not-a-key", "Content-Type": "application/json"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    uo = dict(tenant.headers(), **{"Content-Type": "application/json"})
    api = stack.API
    # The login portal: an app with no limits and no resend cooldown.
    portal = portal_account(limits=stack.NO_LIMITS, resend_cooldown=0)
    portal_contacts = [portal.add_contact() for _ in range(n_contacts)]
    login = f"/portal/v1/{portal.public_id}/login/"
    origin = {"Origin": ORIGIN, "Content-Type": "application/json"}
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    page_path = f"/login/{portal.public_id}"
    browser = Browser(portal)
    page_csrf = []      # the hosted page's CSRF token, from its first GET (the responder is up)

    def portal_email(i):
        return portal_contacts[i % n_contacts].email

    def page_form(i):
        if not page_csrf:
            page_csrf.append(form_field(browser.get(timeout=120), "csrf"))
        fields = {"csrf": page_csrf[0], "step": "email", "email": portal_email(i)}
        return ("POST", page_path, urllib.parse.urlencode(fields),
                dict(form, Cookie=f"cv_csrf={browser.cookie}"))

    # login-ticket: each even request spends a ticket made beforehand, the
    # odd everyday ones ask for unknown tickets (the everyday 1410).
    spent = range(0, requests, 2)
    tickets = dict(zip(spent, login_tickets(portal, portal_contacts, len(spent))))
    portal_bearer = dict(bearer, Authorization=f"Bearer {portal.key}")

    def email(i):
        return contacts[i % n_contacts].email

    def pick(i, good, wrong):
        return wrong(i) if i % 10 == 9 else good(i)

    return {
        "send": lambda i: pick(i, lambda i: ("POST", f"{api}/send", {"email": email(i)}, bearer),
                               lambda i: ("POST", f"{api}/send", {"email": email(i)}, bad)),
        "verify": lambda i: pick(
            i, lambda i: ("POST", f"{api}/verify", {"email": email(i), "code": "000000"}, bearer),
            lambda i: ("POST", f"{api}/verify", b'{"email": [', bearer)),
        "auth-token": lambda i: pick(
            i, lambda i: ("GET", f"{api}/auth-token/{contacts[i % n_contacts].uuid}", None, bearer),
            lambda i: ("GET", f"{api}/auth-token/not-a-uuid", None, bad)),
        "oauth-token": lambda i: pick(
            i, lambda i: ("POST", TOKEN, urllib.parse.urlencode(
                {"grant_type": "client_credentials", "client_id": client_id,
                 "client_secret": secret}), form),
            lambda i: ("POST", TOKEN, "grant_type=client_credentials&client_id=1&client_secret=x",
                       form)),
        "uo-verification-code": lambda i: pick(
            i, lambda i: ("POST", V4, {"email": f"uo{i % n_contacts}-{account.id}@example.com"}, uo),
            lambda i: ("POST", V4, {"email": "not-an-email"}, uo)),
        "uo-resend": lambda i: pick(
            i, lambda i: ("POST", LEGACY, {"Email": f"uo{i % n_contacts}-{account.id}@example.com"},
                          uo),
            lambda i: ("POST", LEGACY, {"Email": 5}, uo)),
        "uo-verification": lambda i: pick(
            i, lambda i: ("POST", VERIFY, {"email": f"uo{i % n_contacts}-{account.id}@example.com",
                                           "verificationCode": "000000"}, uo),
            lambda i: ("POST", VERIFY, {"email": "x"}, dict(uo, Authorization="Bearer a.b.c"))),
        "uo-verify-email": lambda i: pick(
            i, lambda i: ("GET", "/v4/Users/VerifyEmail?token=" + "A" * 43, None, {}),
            lambda i: ("POST", "/v4/Users/VerifyEmail?token=%00", None, {})),
        "healthz": lambda i: pick(i, lambda i: ("GET", "/healthz", None, {}),
                                  lambda i: ("POST", "/healthz", b"{}", {})),
        "portal-api": lambda i: pick(
            i, lambda i: (("POST", login + "code", {"email": portal_email(i)}, origin),
                          ("POST", login + "verify", {"email": portal_email(i), "code": "000000"},
                           origin),
                          ("OPTIONS", login + "verify", None, preflight))[i % 3],
            lambda i: ("POST", login + "code", b'{"email": [', origin)),
        "portal-page": lambda i: pick(
            i, lambda i: page_form(i) if i % 2 else ("GET", page_path, None, {}),
            lambda i: ("POST", page_path, "step=email&email=%00", form)),
        "login-ticket": lambda i: pick(
            i, lambda i: ("POST", f"{api}/login-ticket",
                          {"ticket": tickets.get(i) or secrets.token_urlsafe(32)}, portal_bearer),
            lambda i: ("POST", f"{api}/login-ticket", {"ticket": "x" * 43}, bad)),
    }


class Driver(threading.Thread):
    def __init__(self, name, pid, make, requests):
        super().__init__(daemon=True)
        self.name_, self.pid, self.make, self.requests = name, pid, make, requests
        self.served = 0
        self.problems = []
        self.early = self.late = None

    def run(self):
        base = urllib.parse.urlsplit(stack.env("CV_BASE_URL"))
        conn = None
        for i in range(self.requests):
            if i == min(self.requests - 1, max(self.requests // 5, 2000)):
                self.early = vmdata_kb(self.pid)
            method, path, body, headers = self.make(i)
            if isinstance(body, dict):
                body = json.dumps(body)
            for attempt in range(2):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(base.hostname, base.port, timeout=120)
                    conn.request(method, path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    if resp.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                    break
                except (http.client.HTTPException, OSError):
                    conn = None     # nginx closed the keep-alive connection: once more
                    if attempt == 1:
                        raise
            self.served += 1
            if resp.status >= 500:
                self.problems.append(f"{method} {path}: {resp.status} {data[:100]!r}")
        self.late = vmdata_kb(self.pid)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--vmdata-out", required=True)
    parser.add_argument("responders", nargs="+", help="NAME=PID")
    args = parser.parse_args()
    loads = workloads(args.requests)
    drivers = []
    for item in args.responders:
        name, pid = item.split("=")
        drivers.append(Driver(name, int(pid), loads[name], args.requests))
    start = time.monotonic()
    for d in drivers:
        d.start()
    passed = failed = 0
    with open(args.vmdata_out, "w", encoding="ascii") as out:
        for d in drivers:
            d.join()
            ok = d.served == args.requests and not d.problems and d.late is not None
            print(f"{'ok  ' if ok else 'FAIL'} {d.name_}: {d.served} requests,"
                  f" VmData {d.early} kB -> {d.late} kB"
                  + (f"; {len(d.problems)} 5xx, first: {d.problems[0]}" if d.problems else ""),
                  flush=True)
            out.write(f"{d.name_} {d.served} {d.early} {d.late}\n")
            passed += ok
            failed += not ok
    print(f"drive.py: {time.monotonic() - start:.0f} s", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
