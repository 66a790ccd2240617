"""The link in the email of POST .../send (issue 16, README "API, POST
.../send" and "Login portal"): read from the really delivered mail, it leads
to the hosted login page of the account's user app, where GET and HEAD consume
nothing and the button's POST (CSRF-protected) uses up link and code together
and ends in 303 to the portal URL with a login ticket, which the backend
exchanges for the contact's uuid and auth token.  Every link that cannot log
in shows an HTML page that says why, with the status that fits; none of it
reaches the responders' or the mailer's logs."""
import glob
import os
import threading
import urllib.parse

from stack import (API, Browser, create_account, database_down_config, env, execute, expect,
                   form_field, jwt_verify, mail_code, mail_link, page_text, passcode_not_found,
                   private_config, public_url, query, query_one, request, responders, run_cgi,
                   send, verify, wait_for_mail, wrong_code)

PORTAL_URL = "https://shop.example.com/after-login"


def account_with_portal(**app):
    return create_account(portal_url=PORTAL_URL, **app)


def mailed_link(account, contact):
    """POST .../send, then the link and the code of the mail it delivered."""
    expect(send(account.key, contact.email), 200)
    msg = wait_for_mail(contact.email)
    link, token = mail_link(msg)
    return link, token, mail_code(msg)


def assert_page(resp, status, title):
    """An HTML page (never a JSON envelope) with status and the heading title."""
    assert resp.status == status, f"expected {status} ({title}), got {resp!r}"
    ctype = resp.header("Content-Type") or ""
    assert ctype.startswith("text/html"), f"Content-Type {ctype!r}: {resp!r}"
    if resp.sent.startswith("HEAD "):
        return
    text = page_text(resp)
    assert text.startswith("<!DOCTYPE html>"), text[:200]
    assert f"<h1>{title}</h1>" in text, f"no heading {title!r} in:\n{text}"


def assert_dead_link(resp, status, title):
    """The page of a link that cannot log in: why, and the form for a new code."""
    assert_page(resp, status, title)
    assert resp.header("Location") is None, resp
    assert 'name="step" value="email"' in page_text(resp), page_text(resp)


def press_button(browser, link):
    """Opens the link like a person and presses its button: the POST's answer."""
    shown = browser.open(link)
    assert_page(shown, 200, "Confirm your login")
    return browser.post({"csrf": form_field(shown, "csrf"), "step": "link",
                         "token": form_field(shown, "token")})


def ticket_of(resp):
    location = resp.header("Location")
    assert location and location.startswith(PORTAL_URL + "?ticket="), resp
    return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["ticket"][0]


def exchange(key, ticket):
    return request("POST", f"{API}/login-ticket", {"ticket": ticket}, key=key)


def tickets_of(contact):
    return query_one("SELECT count(*) FROM cv.login_tickets WHERE contact_id = %s",
                     (contact.id,))[0]


# ---------------------------------------------------------------- the link

def test_send_link_leads_to_the_hosted_page_of_the_user_app():
    account = account_with_portal()
    contact = account.add_contact()
    link, token, _ = mailed_link(account, contact)
    assert link == f"{public_url()}/login/{account.public_id}?token={token}", link
    assert_page(Browser(account).open(link), 200, "Confirm your login")


def test_send_link_get_and_head_consume_nothing():
    account = account_with_portal()
    contact = account.add_contact()
    link, _, _ = mailed_link(account, contact)
    browser = Browser(account)
    for _ in range(2):      # a mail scanner, then the person
        assert_page(browser.open(link), 200, "Confirm your login")
    head = browser.open(link, method="HEAD")
    assert_page(head, 200, "Confirm your login")
    assert head.body == b""
    assert contact.live_passcode()[4] is None, "GET or HEAD used the link up"
    assert contact.row()[0] is False, "GET or HEAD marked the email verified"
    assert tickets_of(contact) == 0
    expect(press_button(browser, link), 303)


def test_send_link_post_answers_303_to_portal_with_ticket():
    account = account_with_portal()
    contact = account.add_contact()
    link, _, _ = mailed_link(account, contact)
    done = press_button(Browser(account), link)
    assert done.status == 303, done
    ticket_of(done)
    assert contact.row() == (True, "active"), "the email is not marked verified"


def test_send_link_ticket_is_exchanged_for_uuid_and_token():
    account = account_with_portal()
    contact = account.add_contact()
    link, _, _ = mailed_link(account, contact)
    ticket = ticket_of(press_button(Browser(account), link))
    resp = exchange(account.key, ticket)
    assert resp.status == 200, resp
    data = resp.json()["data"]
    assert set(data) == {"uuid", "auth_token"} and data["uuid"] == contact.uuid, data
    _, claims = jwt_verify(data["auth_token"], account.token_secret)
    assert claims["sub"] == contact.uuid and claims["email_verified"] is True, claims
    assert exchange(account.key, ticket).status == 400, "a ticket was exchanged twice"


def test_send_link_records_the_events_of_a_verify():
    account = account_with_portal()
    contact = account.add_contact()
    link, _, _ = mailed_link(account, contact)
    expect(press_button(Browser(account), link), 303)
    verified = [e for e in contact.events() if e[0] == "CODE_VERIFIED"]
    assert len(verified) == 1, contact.events()
    assert '"via": "link"' in verified[0][2], verified


def test_send_link_post_without_valid_csrf_is_refused_and_the_link_kept():
    account = account_with_portal()
    contact = account.add_contact()
    link, token, _ = mailed_link(account, contact)
    stranger = Browser(account)     # a cross-site form: no cv_csrf cookie, no token
    resp = stranger.post({"step": "link", "token": token})
    assert_page(resp, 403, "Log in")
    browser = Browser(account)
    browser.open(link)
    resp = browser.post({"csrf": "1." + "A" * 43, "step": "link", "token": token})
    assert_page(resp, 403, "Log in")
    assert contact.live_passcode()[4] is None and tickets_of(contact) == 0
    expect(press_button(browser, link), 303)


def test_send_link_uses_up_the_code_of_its_mail():
    account = account_with_portal()
    contact = account.add_contact()
    link, _, code = mailed_link(account, contact)
    expect(press_button(Browser(account), link), 303)
    passcode_not_found(verify(account.key, contact.email, code))


def test_send_code_uses_up_the_link_of_its_mail():
    account = account_with_portal()
    contact = account.add_contact()
    link, token, code = mailed_link(account, contact)
    expect(verify(account.key, contact.email, code), 200)
    browser = Browser(account)
    assert_dead_link(browser.open(link), 410, "This link has been used")
    resp = browser.post({"csrf": form_field(browser.open(link), "csrf"), "step": "link",
                         "token": token})
    assert_dead_link(resp, 410, "This link has been used")
    assert tickets_of(contact) == 0


def test_send_link_without_portal_url_confirms_and_names_the_app():
    account = create_account()      # a user app without portal_url
    contact = account.add_contact()
    link, _, _ = mailed_link(account, contact)
    done = press_button(Browser(account), link)
    assert_page(done, 200, "Login confirmed")
    assert done.header("Location") is None
    app_name = f"App {account.name}"
    assert f"Your login to {app_name} is confirmed." in page_text(done), page_text(done)
    assert contact.row() == (True, "active")


# ---------------------------------------------------------------- links that cannot log in

def test_send_link_expired_on_the_database_clock_shows_410():
    account = account_with_portal()
    contact = account.add_contact()
    link, token, _ = mailed_link(account, contact)
    browser = Browser(account)
    csrf = form_field(browser.open(link), "csrf")
    execute("UPDATE cv.passcodes SET expires_at = now() - interval '1 second'"
            " WHERE contact_id = %s", (contact.id,))
    assert_dead_link(browser.open(link), 410, "This link has expired")
    resp = browser.post({"csrf": csrf, "step": "link", "token": token})
    assert_dead_link(resp, 410, "This link has expired")
    assert tickets_of(contact) == 0 and contact.row()[0] is False


def test_send_link_used_shows_410():
    account = account_with_portal()
    contact = account.add_contact()
    link, token, _ = mailed_link(account, contact)
    browser = Browser(account)
    csrf = form_field(browser.open(link), "csrf")
    expect(browser.post({"csrf": csrf, "step": "link", "token": token}), 303)
    assert_dead_link(browser.open(link), 410, "This link has been used")
    resp = browser.post({"csrf": csrf, "step": "link", "token": token})
    assert_dead_link(resp, 410, "This link has been used")
    assert tickets_of(contact) == 1


def test_send_link_replaced_by_a_newer_send_shows_410():
    account = account_with_portal()
    contact = account.add_contact()
    old_link, old_token, _ = mailed_link(account, contact)
    new_link, _, _ = mailed_link(account, contact)
    browser = Browser(account)
    assert_dead_link(browser.open(old_link), 410, "This link has been replaced")
    csrf = form_field(browser.open(new_link), "csrf")
    resp = browser.post({"csrf": csrf, "step": "link", "token": old_token})
    assert_dead_link(resp, 410, "This link has been replaced")
    assert tickets_of(contact) == 0
    expect(press_button(browser, new_link), 303)


def test_send_link_burned_by_five_wrong_codes_shows_410_and_does_not_log_in():
    account = account_with_portal()
    contact = account.add_contact()
    link, token, code = mailed_link(account, contact)
    browser = Browser(account)
    csrf = form_field(browser.open(link), "csrf")
    for _ in range(5):
        passcode_not_found(verify(account.key, contact.email, wrong_code(code)))
    assert_dead_link(browser.open(link), 410, "This link is blocked")
    resp = browser.post({"csrf": csrf, "step": "link", "token": token})
    assert_dead_link(resp, 410, "This link is blocked")
    assert tickets_of(contact) == 0 and contact.row()[0] is False
    assert contact.live_passcode()[4] is None


def test_send_link_with_garbage_token_shows_400():
    account = account_with_portal()
    contact = account.add_contact()
    _, token, _ = mailed_link(account, contact)
    browser = Browser(account)
    csrf = form_field(browser.get(), "csrf")
    for garbage in ("?token=abc", "?token=" + token[:-1], "?token=" + token + "A",
                    "?token=" + "%21" * 43, "?token=%zz", "?token=" + "A" * 43):
        assert_dead_link(browser.get(garbage), 400, "This link is not valid")
    for bad in ("abc", token[:-1], "!" * 43, "A" * 43, token + " "):
        resp = browser.post({"csrf": csrf, "step": "link", "token": bad})
        assert_dead_link(resp, 400, "This link is not valid")
    assert contact.live_passcode()[4] is None and tickets_of(contact) == 0


def test_send_link_with_missing_token_shows_400():
    account = account_with_portal()
    browser = Browser(account)
    csrf = form_field(browser.get(), "csrf")
    assert_dead_link(browser.get("?token="), 400, "This link is not valid")
    assert_dead_link(browser.get("?token"), 400, "This link is not valid")
    resp = browser.post({"csrf": csrf, "step": "link"})
    assert_dead_link(resp, 400, "This link is not valid")
    resp = browser.post({"csrf": csrf, "step": "link", "token": ""})
    assert_dead_link(resp, 400, "This link is not valid")


def test_send_link_of_another_account_shows_400_and_stays_usable():
    account = account_with_portal()
    contact = account.add_contact()
    link, token, _ = mailed_link(account, contact)
    other = account_with_portal()
    elsewhere = Browser(other)
    assert_dead_link(elsewhere.get(f"?token={token}"), 400, "This link is not valid")
    csrf = form_field(elsewhere.get(), "csrf")
    resp = elsewhere.post({"csrf": csrf, "step": "link", "token": token})
    assert_dead_link(resp, 400, "This link is not valid")
    assert contact.live_passcode()[4] is None and tickets_of(contact) == 0
    expect(press_button(Browser(account), link), 303)


def test_send_link_of_a_disabled_account_stops_working():
    account = account_with_portal()
    contact = account.add_contact()
    link, token, _ = mailed_link(account, contact)
    browser = Browser(account)
    csrf = form_field(browser.open(link), "csrf")
    execute("UPDATE cv.accounts SET status = 'inactive' WHERE id = %s", (account.id,))
    shown = browser.open(link)
    assert_page(shown, 403, "Login unavailable")
    assert f"Logging in to App {account.name} is switched off" in page_text(shown), page_text(shown)
    assert "<form" not in page_text(shown)
    resp = browser.post({"csrf": csrf, "step": "link", "token": token})
    assert_page(resp, 403, "Login unavailable")
    assert resp.header("Location") is None
    assert contact.live_passcode()[4] is None and tickets_of(contact) == 0
    assert contact.row()[0] is False
    execute("UPDATE cv.accounts SET status = 'active' WHERE id = %s", (account.id,))
    expect(press_button(browser, link), 303)


def test_send_link_concurrent_posts_log_in_exactly_once():
    account = account_with_portal()
    contact = account.add_contact()
    link, token, _ = mailed_link(account, contact)
    browser = Browser(account)
    csrf = form_field(browser.open(link), "csrf")
    n = 8
    start = threading.Barrier(n)
    answers = [None] * n

    def click(i):
        start.wait()
        answers[i] = browser.post({"csrf": csrf, "step": "link", "token": token})

    threads = [threading.Thread(target=click, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(a.status for a in answers)
    assert statuses == [303] + [410] * (n - 1), statuses
    for a in answers:
        if a.status == 410:
            assert_dead_link(a, 410, "This link has been used")
    assert tickets_of(contact) == 1
    assert [e[0] for e in contact.events()].count("CODE_VERIFIED") == 1, contact.events()
    winner = next(a for a in answers if a.status == 303)
    assert exchange(account.key, ticket_of(winner)).json()["data"]["uuid"] == contact.uuid


# ---------------------------------------------------------------- logs

def service_logs():
    """The responders' and the mailers' logs of the stack (not nginx's, not
    the SMTP server's: it stands for the recipient's mail system)."""
    log_dir = os.path.join(env("CV_STATE_DIR"), "log")
    paths = [os.path.join(log_dir, f"{name}.log") for name in responders()]
    paths += glob.glob(os.path.join(log_dir, "mailer*.log"))
    return [p for p in paths if os.path.exists(p)]


def test_send_link_token_never_reaches_the_responders_or_the_mailers_logs():
    account = account_with_portal()
    contact = account.add_contact()
    link, token, _ = mailed_link(account, contact)
    path = link[len(public_url()):]
    browser = Browser(account)
    shown = browser.open(link)
    browser.open(link, method="HEAD")
    csrf = form_field(shown, "csrf")
    form = "application/x-www-form-urlencoded"
    # Every path that answers with an error, and the ones next door.
    Browser(account).post({"step": "link", "token": token})                       # no cookie
    browser.post({"csrf": "1." + "A" * 43, "step": "link", "token": token})       # bad CSRF
    request("POST", path, f'{{"step":"link","token":"{token}"}}',
            content_type="application/json", headers={"Cookie": f"cv_csrf={browser.cookie}"})
    request("POST", path, f"token={token}", content_type="text/plain")           # 415
    request("PUT", path, f"token={token}", content_type=form)                    # 405
    request("GET", f"/login/confirm?token={token}")                              # old links
    request("GET", f"/v4/Users/VerifyEmail?token={token}")
    request("POST", "/v4/Users/VerifyEmail", f"token={token}", content_type=form)
    cgi_env = {"QUERY_STRING": f"token={token}", "REQUEST_URI": path}
    too_large = run_cgi("portal-page", body=f"step=link&token={token}&pad=" + "x" * 70000,
                        content_type=form, path_info=account.public_id, extra_env=cgi_env)
    assert too_large.status == 413, too_large
    conf, remove = private_config(database_down_config())
    try:
        down = run_cgi("portal-page", method="GET", path_info=account.public_id,
                       config_path=conf, extra_env=cgi_env)
        assert down.status == 503, down
    finally:
        remove()
    done = browser.post({"csrf": csrf, "step": "link", "token": token})
    ticket = ticket_of(done)
    browser.open(link)                                                            # used: 410
    request("POST", f"/portal/v1/{account.public_id}/login/verify", {"token": token})
    secrets_ = {"link token": token, "login ticket": ticket}
    for result in (too_large, down):
        for what, value in secrets_.items():
            assert value not in result.stderr, f"portal-page as CGI logged the {what}"
    logs = service_logs()
    assert len(logs) > len(responders()) // 2, f"logs not found: {logs}"
    for log in logs:
        with open(log, "rb") as f:
            data = f.read()
        for what, value in secrets_.items():
            assert value.encode() not in data, f"{os.path.basename(log)} holds the {what}"
    # The mail itself went through the mailer, whose log names it by id only.
    assert query("SELECT 1 FROM cv.outbox WHERE contact_id = %s AND status = 'sent'",
                 (contact.id,)), "the mail was not recorded as sent"
