"""A disabled account (README "Operations, cvctl"): after `cvctl account
disable` every credential of it stops at once -- API keys, access tokens,
tenant JWTs, codes, registration and portal links, login tickets -- each
issued before the account was disabled and tried after.  A refused attempt
uses nothing up: once enabled again, what was still valid works."""
import urllib.parse

from stack import (assert_error, auth_token, create_account, mail_code, request, send,
                   send_and_get_code, setup, unique_email, verify, wait_for_mail)
from test_cvctl import ok
from test_oauth import add_client, assert_oauth_error, issued, token_by_form
from test_orchestrator import (ALLOWED, LINK, V4, VERIFY, assert_v4, contact_row, link_token,
                               tenant)
from test_orchestrator import mail_code as registration_code
from test_portal import api, exchange, mailed_link_token, portal_account, ticket_for


def disable(account):
    assert ok("account", "disable", "--account", account.uuid) == ""


def enable(account):
    assert ok("account", "enable", "--account", account.uuid) == ""


def post_link(token):
    return request("POST", LINK, urllib.parse.urlencode({"token": token}),
                   content_type="application/x-www-form-urlencoded")


def test_disabled_account_registration_link_neither_shows_nor_confirms():
    """The Users Orchestrator's link (GET shows the confirm button, POST
    verifies and redirects to the returnUrl) is a credential of the
    account: disabled, it is an invalid link, and the address stays
    unverified."""
    t = tenant()
    email = unique_email()
    assert_v4(t.post(V4, {"email": email, "returnUrl": ALLOWED + "/welcome"}), 200,
              "UsersOrchestrator_S200")
    token = link_token(wait_for_mail(email))
    disable(t.account)
    page = request("GET", f"{LINK}?token={token}")
    assert page.status == 404 and b"Confirm my email" not in page.body, page
    assert token.encode() not in page.body, page
    assert request("HEAD", f"{LINK}?token={token}").status == 404
    done = post_link(token)
    assert done.status == 404 and done.header("Location") is None, done
    assert b"not valid" in done.body, done
    assert contact_row(t.account, email)[1:] == ("pending", False)
    enable(t.account)
    assert request("GET", f"{LINK}?token={token}").status == 200
    done = post_link(token)
    assert done.status == 303 and done.header("Location") == ALLOWED + "/welcome", done
    assert contact_row(t.account, email)[1:] == ("active", True)


def test_disabled_account_api_key_and_access_token_stop():
    account, contact = setup()
    client_id, secret = add_client(account)
    token = issued(token_by_form(client_id, secret))
    disable(account)
    for bearer in (account.key, token):
        assert_error(send(bearer, contact.email), 403, 7002, "Account inactive.")
        assert_error(verify(bearer, contact.email, "123456"), 403, 7002, "Account inactive.")
        assert_error(auth_token(bearer, contact.uuid), 403, 7002, "Account inactive.")
    assert_oauth_error(token_by_form(client_id, secret), 401, "invalid_client")


def test_disabled_account_tenant_jwt_stops():
    t = tenant()
    headers = t.headers()     # one JWT, signed before the account is disabled
    disable(t.account)
    for path, body in ((V4, {"email": unique_email()}),
                       (VERIFY, {"email": unique_email(), "verificationCode": "123456"})):
        assert_v4(request("POST", path, body, headers=headers), 401, "UsersOrchestrator_E401")


def test_disabled_account_codes_stop():
    """A login code (API), a registration code (Users Orchestrator) and a
    portal login code, each mailed before: refused, and not used up."""
    account, contact = setup()
    code, _ = send_and_get_code(contact)
    t = tenant()
    email = unique_email()
    assert_v4(t.post(V4, {"email": email}), 200, "UsersOrchestrator_S200")
    reg_code = registration_code(wait_for_mail(email))
    portal = portal_account()
    member = portal.add_contact()
    assert api(portal, "code", {"email": member.email}).status == 200
    portal_code = mail_code(wait_for_mail(member.email))
    for a in (account, t.account, portal):
        disable(a)
    assert_error(verify(account.key, contact.email, code), 403, 7002, "Account inactive.")
    assert_v4(t.post(VERIFY, {"email": email, "verificationCode": reg_code}), 401,
              "UsersOrchestrator_E401")
    assert_error(api(portal, "verify", {"email": member.email, "code": portal_code}), 404, 1404,
                 "Not found.")
    assert contact.row() == (False, "active") and member.row()[0] is False
    for a in (account, t.account, portal):
        enable(a)
    assert verify(account.key, contact.email, code).status == 200
    assert_v4(t.post(VERIFY, {"email": email, "verificationCode": reg_code}), 200,
              "UsersOrchestrator_S200")
    assert api(portal, "verify", {"email": member.email, "code": portal_code}).status == 200


def test_disabled_account_portal_link_stops():
    portal = portal_account()
    member = portal.add_contact()
    token = mailed_link_token(portal, member)
    disable(portal)
    # The hosted page says so (README, Login portal: 403 "Login unavailable").
    page = request("GET", f"/login/{portal.public_id}?token={token}")
    assert page.status == 403 and b"Login unavailable" in page.body, page
    assert token.encode() not in page.body, page
    assert_error(api(portal, "verify", {"token": token}), 404, 1404, "Not found.")
    assert member.live_passcode()[4] is None, "the refused link was used up"


def test_disabled_account_login_ticket_stops():
    """A ticket of the hosted login, issued before: the account's own key
    and access token cannot exchange it (7002), and it stays unused."""
    portal = portal_account()
    member = portal.add_contact()
    ticket = ticket_for(portal, member)
    client_id, secret = add_client(portal)
    token = issued(token_by_form(client_id, secret))
    disable(portal)
    for bearer in (portal.key, token):
        assert_error(exchange(bearer, ticket), 403, 7002, "Account inactive.")
    other = create_account()
    assert_error(exchange(other.key, ticket), 400, 1410,
                 "The login ticket is invalid or has expired.")
    enable(portal)
    resp = exchange(portal.key, ticket)
    assert resp.status == 200 and resp.json()["data"]["uuid"] == member.uuid, resp
