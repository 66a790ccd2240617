#!/usr/bin/python3
"""run.py - the login portal in a real browser: Debian's chromium
(/usr/bin/chromium, headless) driven through Debian's chromedriver
(/usr/bin/chromedriver, package chromium-driver) by Debian's python3-selenium,
against the stack tools/test started.  Nothing is downloaded: the driver is
named explicitly, so Selenium Manager is never asked for one.

    /usr/bin/python3 tests/browser/run.py     (tools/test runs it in the normal variant)

Environment (set by tools/test): CV_BASE_URL, CV_PG_DSN (psql connection
string, superuser), CV_MAILDIR (the SMTP server's Maildir); optional
CV_BROWSER_ARTIFACTS (default <repo>/test-artifacts/browser) for the
screenshots of every step (and browser-log.txt, chromedriver.log), CHROMIUM
(default /usr/bin/chromium), CHROMEDRIVER (default /usr/bin/chromedriver).

Each test logs in as a new contact of one demo-like account made here (psql)
and deleted at the end.  The code and the link are read from the delivered
mail.  Every SEVERE entry of chromedriver's browser log (console errors,
uncaught exceptions, failed loads and CSP violations) in any test fails the
suite ("no console errors").  Waits are explicit (WebDriverWait on a
condition), never sleeps.  Prints "ok   NAME" or "FAIL NAME: REASON" per test
and as its last line "N passed, M failed"; exit status 1 when a test failed.
chromedriver and every chromium process are gone when it ends, also on
failure or SIGTERM: run.py is their subreaper and kills what is left by PID.
"""
import base64
import ctypes
import email
import email.policy
import email.utils
import glob
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

BASE = os.environ.get("CV_BASE_URL", "")
DSN = os.environ.get("CV_PG_DSN", "")
MAILDIR = os.environ.get("CV_MAILDIR", "")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS = os.environ.get("CV_BROWSER_ARTIFACTS") or os.path.join(ROOT, "test-artifacts", "browser")
CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or "/usr/bin/chromedriver"
COOLDOWN = 3            # seconds: short, so the countdown can be watched to its end
STEP_TIMEOUT = 15       # seconds for any one wait
POLL = 0.05             # seconds between two looks of a wait
VIEWPORT = (480, 760)
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--lang=en-US",
                  f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}"]

try:
    from selenium import webdriver
    from selenium.common.exceptions import (NoSuchElementException,
                                            StaleElementReferenceException, WebDriverException)
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.remote_connection import RemoteConnection
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.wait import WebDriverWait
except ImportError as e:
    print(f"run.py: {e} (Debian's python3-selenium, for /usr/bin/python3; running {sys.executable})")
    print("0 passed, 1 failed")
    sys.exit(1)


class Terminated(BaseException):
    """SIGTERM or SIGINT: not a test failure a test may catch."""


def on_signal(signum, frame):
    raise Terminated(signal.Signals(signum).name)


# --- setup through psql, as the business would have it --------------------

def psql(sql, **variables):
    args = ["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", DSN]
    for k, v in variables.items():
        args += ["-v", f"{k}={v}"]
    r = subprocess.run(args, input=sql, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"psql failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout.strip()


class Account:
    def __init__(self, id_, public_id, key):
        self.id, self.public_id, self.key = id_, public_id, key


def create_account():
    """An account with an API key and a user app set up for the hosted page."""
    key = "cv_browser_" + secrets.token_hex(24)
    row = psql(f"""
WITH a AS (
	INSERT INTO cv.accounts (name, token_secret, sends_per_hour, verifies_per_email, verifies_per_ip)
	VALUES ('browser-test', encode(gen_random_uuid()::text::bytea, 'hex'), 100, 100, 10000)
	RETURNING id, uuid
), k AS (
	INSERT INTO cv.api_keys (account_id, key_hash, name)
	SELECT id, sha256(convert_to(:'key', 'UTF8')), 'browser' FROM a
), u AS (
	INSERT INTO cv.user_apps (account_id, name, portal_url, sender_email, resend_cooldown,
	                          brand_color, allowed_origins)
	SELECT id, 'Browser Test Shop', :'portal', 'no-reply@example.com', {COOLDOWN}, '#7a2e8c',
	       ARRAY[:'base']
	  FROM a
	RETURNING public_id
)
SELECT a.id || ' ' || u.public_id FROM a, u;""", key=key, portal=f"{BASE}/portal/static/demo.html",
               base=BASE)
    id_, public_id = row.split(" ")
    return Account(id_, public_id, key)


class Contact:
    def __init__(self, email_addr, uuid):
        self.email, self.uuid = email_addr, uuid


def add_contact(account):
    addr = f"browser-{int(time.time() * 1000)}-{random.randrange(10 ** 6)}@example.com"
    uuid = psql("INSERT INTO cv.contacts (account_id, email) VALUES (:'acc', :'email') RETURNING uuid",
                acc=account.id, email=addr)
    return Contact(addr, uuid)


# --- the mail ----------------------------------------------------------------

seen_mail = set()


def complete_mail_to(to):
    """The text part of a delivered, complete message to `to` not handed out
    before, or None."""
    for sub in ("new", "cur"):
        try:
            names = os.listdir(os.path.join(MAILDIR, sub))
        except FileNotFoundError:
            continue
        for name in sorted(names):
            path = os.path.join(MAILDIR, sub, name)
            if name.startswith(".") or path in seen_mail:
                continue
            try:
                with open(path, "rb") as f:
                    raw = f.read()
            except FileNotFoundError:
                continue        # moved from new/ to cur/ meanwhile
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            if to.lower() not in (a.lower() for _, a in email.utils.getaddresses(msg.get_all("To", []))):
                continue
            if msg.is_multipart():
                boundary = msg.get_boundary()
                if boundary is None or ("--" + boundary + "--").encode() not in raw:
                    continue    # not complete yet
            part = msg.get_body(preferencelist=("plain",))
            if part is None:
                continue
            seen_mail.add(path)
            return part.get_content()   # quoted-printable and charset decoded
    return None


def wait_for_mail(to):
    return WebDriverWait(None, STEP_TIMEOUT, poll_frequency=POLL).until(
        lambda _: complete_mail_to(to), f"no mail to {to} in {MAILDIR} after {STEP_TIMEOUT} s")


def code_of(text):
    found = re.findall(r"(?<!\d)\d{6}(?!\d)", re.sub(r"\S+://\S+", " ", text))
    if len(found) != 1:
        raise AssertionError(f"expected one code in the mail, found {found}")
    return found[0]


def link_of(text, account):
    m = re.search(r"https?://\S+/login/" + re.escape(account.public_id) + r"\?token=[A-Za-z0-9_-]{43}", text)
    if m is None:
        raise AssertionError(f"no login link in the mail:\n{text}")
    return m.group(0)


def exchange(account, ticket):
    """The business backend's side: the uuid and auth token for the ticket."""
    req = urllib.request.Request(
        f"{BASE}/api/v3/oauth/clients/contact-verification/login-ticket", method="POST",
        data=json.dumps({"ticket": ticket}).encode(),
        headers={"Authorization": f"Bearer {account.key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=STEP_TIMEOUT) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    if status != 200:
        raise AssertionError(f"ticket exchange answered {status}: {body.decode(errors='replace')}")
    return json.loads(body)["data"]


# --- the browser ---------------------------------------------------------------

def check(cond, message):
    if not cond:
        raise AssertionError(message)


def wait(d, condition, what, timeout=STEP_TIMEOUT):
    """WebDriverWait on condition; on timeout an error saying what was awaited."""
    return WebDriverWait(d, timeout, poll_frequency=POLL,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                         ).until(condition, f"{what} (waited {timeout} s)")


def visible(d, css):
    """The element css, once it is there and visible."""
    return wait(d, EC.visibility_of_element_located((By.CSS_SELECTOR, css)), f"no visible {css}")


def the_one(d, css, what, match):
    """The one visible element of css for which match(element) holds; None
    while there is none, an error when there are several."""
    found = [e for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed() and match(e)]
    if len(found) > 1:
        raise AssertionError(f"{len(found)} elements are {what}")
    return found[0] if found else None


def by_label(d, label):
    """The form field whose accessible name (its <label>) contains label."""
    what = f"a field labelled {label!r}"
    return wait(d, lambda d: the_one(d, "input:not([type=hidden]), select, textarea", what,
                                     lambda e: label.lower() in e.accessible_name.lower()), f"no {what}")


def by_role(d, role, name):
    """The element of the ARIA role whose accessible name contains name."""
    what = f"a {role} named {name!r}"
    return wait(d, lambda d: the_one(d, "button, input, a, [role]", what,
                                     lambda e: e.aria_role == role
                                     and name.lower() in e.accessible_name.lower()), f"no {what}")


def fill(element, text):
    element.clear()
    element.send_keys(text)


def text_of(d, css):
    return d.find_element(By.CSS_SELECTOR, css).get_property("textContent")


def active(d, prop="id"):
    """A property of the focused element ("" when nothing has the focus)."""
    return d.execute_script("var e = document.activeElement;"
                            " return e && e !== document.body ? String(e[arguments[0]]) : '';", prop)


def keys(d, *sequence):
    """Keys pressed on the keyboard, into whatever has the focus."""
    ActionChains(d).send_keys(*sequence).perform()


def shot(d, name):
    """A screenshot of the whole page (not only the viewport)."""
    path = os.path.join(ARTIFACTS, f"{name}.png")
    try:
        size = d.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        data = d.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "scale": 1, "width": max(VIEWPORT[0], math.ceil(size["width"])),
                     "height": max(VIEWPORT[1], math.ceil(size["height"]))}})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
    except WebDriverException:
        d.save_screenshot(path)


def new_page(d):
    """A fresh tab (the previous ones closed), no cookies, the viewport set."""
    old = d.window_handles
    d.switch_to.new_window("tab")
    tab = d.current_window_handle
    for h in old:
        d.switch_to.window(h)
        d.close()
    d.switch_to.window(tab)
    d.execute_cdp_cmd("Network.clearBrowserCookies", {})
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False})


def expect_portal(d, account, contact, name):
    """After the last form the browser lands on the portal with ?ticket=."""
    wait(d, lambda d: re.search(r"/portal/static/demo\.html\?ticket=", d.current_url),
         f"not on the portal with a ticket but at {d.current_url}")
    wait(d, lambda d: "ticket" in text_of(d, "#title"), "the portal did not show the ticket")
    shot(d, name)
    ticket = urllib.parse.parse_qs(urllib.parse.urlsplit(d.current_url).query)["ticket"][0]
    got = exchange(account, ticket)
    check(got["uuid"] == contact.uuid, f"ticket names {got['uuid']}, not {contact.uuid}")
    check(len(got["auth_token"].split(".")) == 3, "no auth token")


def email_step(d, account, contact, prefix):
    d.get(f"{BASE}/login/{account.public_id}")
    shot(d, f"{prefix}-1-email")
    fill(by_label(d, "Email address"), contact.email)
    by_role(d, "button", "Email me a login code").click()
    visible(d, "#code")
    shot(d, f"{prefix}-2-code")


def confirm_link(d, account, contact, confirm_shot, portal_shot):
    """Open the link of the contact's mail: one button, then the portal."""
    d.get(link_of(wait_for_mail(contact.email), account))
    visible(d, "#confirm-form")
    check(text_of(d, "h1") == "Confirm your login", "no confirmation step")
    shot(d, confirm_shot)
    by_role(d, "button", "Log in").click()
    expect_portal(d, account, contact, portal_shot)


# --- the tests -------------------------------------------------------------------

def login_with_code_from_mail(d, account):
    contact = add_contact(account)
    email_step(d, account, contact, "code")
    code = code_of(wait_for_mail(contact.email))
    # Pasted with a space, as people copy it: the field keeps the digits.
    # Input.insertText is what a paste does to the field (one input event
    # with the whole text, no key events).
    d.execute_script("arguments[0].focus();", d.find_element(By.ID, "code"))
    d.execute_cdp_cmd("Input.insertText", {"text": f"{code[:3]} {code[3:]}"})
    value = d.find_element(By.ID, "code").get_property("value")
    check(value == code, f"the code field holds {value!r}")
    shot(d, "code-3-typed")
    by_role(d, "button", "Log in").click()
    expect_portal(d, account, contact, "code-4-portal")


def login_with_link_from_mail(d, account):
    contact = add_contact(account)
    email_step(d, account, contact, "link")
    confirm_link(d, account, contact, "link-3-confirm", "link-4-portal")


def login_with_link_of_api_send_mail(d, account):
    """The business's backend starts the login (POST .../send, the API's own
    mail); the contact clicks the mail's link: one button, then the portal."""
    contact = add_contact(account)
    req = urllib.request.Request(
        f"{BASE}/api/v3/oauth/clients/contact-verification/send", method="POST",
        data=json.dumps({"email": contact.email}).encode(),
        headers={"Authorization": f"Bearer {account.key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=STEP_TIMEOUT) as resp:
        check(resp.status == 200, f"send answered {resp.status}")
    confirm_link(d, account, contact, "api-link-1-confirm", "api-link-2-portal")


def resend_countdown(d, account):
    contact = add_contact(account)
    email_step(d, account, contact, "resend")
    # The cooldown is short: look at the countdown before waiting for the mail.
    resend = d.find_element(By.ID, "resend")
    check(not resend.is_enabled(), "resend is enabled during the cooldown")
    text = text_of(d, "#countdown")
    check(re.search(r"in [1-9]\d* s", text), f"no countdown: {text}")
    shot(d, "resend-3-countdown")
    wait_for_mail(contact.email)
    wait(d, lambda d: resend.is_enabled(), "resend still disabled after the cooldown",
         timeout=COOLDOWN + 5)
    check("new code now" in text_of(d, "#countdown"), "countdown did not end")
    shot(d, "resend-4-ready")
    resend.click()
    wait(d, EC.staleness_of(resend), "the resend did not load a new page")
    visible(d, "#code")
    second = code_of(wait_for_mail(contact.email))
    check(re.fullmatch(r"\d{6}", second), "no second code")
    check(not d.find_element(By.ID, "resend").is_enabled(), "the countdown did not restart")


def wrong_code_message(d, account):
    contact = add_contact(account)
    email_step(d, account, contact, "wrong")
    code = code_of(wait_for_mail(contact.email))
    wrong = "111111" if code == "000000" else "000000"
    fill(d.find_element(By.ID, "code"), wrong)
    by_role(d, "button", "Log in").click()
    alert = visible(d, "#alert:not(:empty)")
    text = alert.get_property("textContent")
    check("not right or has expired" in text, f"alert says: {text}")
    check(alert.get_attribute("role") == "alert", "the error is not announced")
    check(active(d) == "code", "the code field does not have the focus after a wrong code")
    shot(d, "wrong-3-message")
    fill(d.find_element(By.ID, "code"), code)
    by_role(d, "button", "Log in").click()
    expect_portal(d, account, contact, "wrong-4-portal")


def keyboard_only(d, account):
    contact = add_contact(account)
    d.get(f"{BASE}/login/{account.public_id}")
    focused = active(d)
    check(focused == "email", f"the page opens with focus on {focused or 'nothing'}")
    keys(d, contact.email)
    keys(d, Keys.TAB)
    focused = active(d, "textContent")
    check("Email me a login code" in focused, f"Tab went to {focused or 'nothing'}")
    shot(d, "keyboard-1-email")
    keys(d, Keys.ENTER)
    visible(d, "#code")
    focused = active(d)
    check(focused == "code", f"the code step opens with focus on {focused or 'nothing'}")
    code = code_of(wait_for_mail(contact.email))
    keys(d, code)
    shot(d, "keyboard-2-code")
    keys(d, Keys.ENTER)
    expect_portal(d, account, contact, "keyboard-3-portal")


TESTS = [login_with_code_from_mail, login_with_link_from_mail, login_with_link_of_api_send_mail,
         resend_countdown, wrong_code_message, keyboard_only]


# --- running them -----------------------------------------------------------------

def reason(e):
    """The first line of what went wrong."""
    msg = e.msg if isinstance(e, WebDriverException) and e.msg else str(e)
    return (msg.strip().splitlines() or [type(e).__name__])[0]


def where(e):
    """The frames of this file in e's traceback, innermost last."""
    frames = [f for f in traceback.extract_tb(e.__traceback__)
              if f.filename == __file__ and f.name not in ("main", "check")]
    return [f"run.py:{f.lineno} in {f.name}: {f.line}" for f in frames[-3:]]


class Browser:
    """chromedriver and chromium, started by start() and surely gone after stop()."""

    def __init__(self):
        self.driver = None
        self.service = None
        self.profile = None
        self.log = []           # every browser log entry: (test, entry)

    def start(self):
        for what, path, package in (("chromedriver", CHROMEDRIVER, "chromium-driver"),
                                    ("chromium", CHROMIUM, "chromium")):
            if not os.access(path, os.X_OK):
                raise RuntimeError(f"{what} {path} is missing or not executable"
                                   f" (apt-get install {package})")
        self.profile = tempfile.mkdtemp(prefix="cv-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS + [f"--user-data-dir={self.profile}"]:
            options.add_argument(flag)
        options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        log = open(os.path.join(ARTIFACTS, "chromedriver.log"), "wb")
        self.service = Service(executable_path=CHROMEDRIVER, log_file=log)
        RemoteConnection.set_timeout(60)    # no command waits forever on a hung driver
        try:
            self.driver = webdriver.Chrome(service=self.service, options=options)
        except WebDriverException as e:
            if not log.closed:      # Chrome() stops the service (closing log) when it fails
                log.flush()
            with open(log.name, errors="replace") as f:
                said = [line for line in f.read().splitlines()
                        if line.strip() and not re.match(r"(Starting ChromeDriver|Only local connections"
                                                         r"|Please see https|ChromeDriver was started)", line)]
            raise RuntimeError(f"no browser session from {CHROMEDRIVER} with {CHROMIUM}: {reason(e)}"
                               + "".join(f"\n     {line}" for line in said[-10:])
                               + f"\n     (chromedriver's output: {os.path.relpath(log.name)})") from None
        self.driver.set_page_load_timeout(STEP_TIMEOUT)
        self.driver.set_script_timeout(STEP_TIMEOUT)

    def severe(self, test):
        """The SEVERE entries of the browser log since the last call."""
        entries = self.driver.get_log("browser")
        self.log += [(test, e) for e in entries]
        return [f"{test}: [{e.get('source')}] {e.get('message')}" for e in entries if e.get("level") == "SEVERE"]

    def stop(self, graceful=True):
        """The session ended, chromedriver stopped, and any process left of
        them (our children: run.py is their subreaper) killed by PID."""
        if graceful and self.driver is not None:
            try:
                self.driver.quit()      # ends chromium, then stops chromedriver
            except Exception as e:      # noqa: BLE001 - the kill below still happens
                print(f"run.py: ending the browser session: {reason(e)}", file=sys.stderr)
        leftover = kill_children()
        if leftover:
            print(f"run.py: killed what was left of chromedriver/chromium: {', '.join(leftover)}",
                  file=sys.stderr)
        if self.service is not None and hasattr(self.service.log_file, "close"):
            self.service.log_file.close()
        if self.profile:
            shutil.rmtree(self.profile, ignore_errors=True)
        if self.log:
            with open(os.path.join(ARTIFACTS, "browser-log.txt"), "w") as f:
                for test, e in self.log:
                    f.write(f"{test}: {e.get('level')} [{e.get('source')}] {e.get('message')}\n")


def children():
    """[(pid, command)] of our living child processes (zombies are reaped)."""
    me, found = os.getpid(), []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                s = f.read()
        except OSError:
            continue
        comm, rest = s[s.index("(") + 1:s.rindex(")")], s[s.rindex(")") + 2:].split()
        if int(rest[1]) == me:
            found.append((int(stat.split("/")[2]), comm, rest[0]))
    live = []
    for pid, comm, state in found:
        if state == "Z":
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        else:
            live.append((pid, comm))
    return live


def kill_children():
    """SIGKILL, by PID, every child left (orphaned grandchildren become
    children of the subreaper) until none is; a list of what was killed."""
    killed = []
    while True:
        kids = children()
        if not kids:
            return killed
        for pid, comm in kids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(f"{comm}[{pid}]")
            except ProcessLookupError:
                pass
        for pid, _ in kids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def become_subreaper():
    """Orphans of our descendants (chromium's processes, should chromedriver
    die first) become our children, so that kill_children() finds them."""
    PR_SET_CHILD_SUBREAPER = 36
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print(f"run.py: prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}", file=sys.stderr)


def main():
    for name in ("CV_BASE_URL", "CV_PG_DSN", "CV_MAILDIR"):
        if not os.environ.get(name):
            print(f"run.py: {name} is not set (tools/test sets it)")
            print("0 passed, 1 failed")
            return 1
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    become_subreaper()
    os.makedirs(ARTIFACTS, exist_ok=True)
    for old in glob.glob(os.path.join(ARTIFACTS, "*.png")):
        os.unlink(old)
    started = time.monotonic()
    browser, account, graceful = Browser(), None, True
    passed = failed = 0
    console_errors = []
    try:
        try:
            browser.start()
        except (RuntimeError, WebDriverException) as e:
            print(f"FAIL start the browser: {reason(e) if isinstance(e, WebDriverException) else e}")
            failed += 1
            return 1
        d = browser.driver
        browser.severe("(start)")
        account = create_account()
        for test in TESTS:
            name = test.__name__
            t = time.monotonic()
            try:
                new_page(d)
                test(d, account)
                passed += 1
                print(f"ok   {name}  ({time.monotonic() - t:.1f} s)", flush=True)
            except Exception as e:      # noqa: BLE001 - a test fails by raising anything
                failed += 1
                print(f"FAIL {name}: {reason(e)}")
                for line in where(e):
                    print(f"     {line}")
                sys.stdout.flush()
                try:
                    shot(d, f"{name}-failure")
                except Exception:       # noqa: BLE001 - the browser may be gone
                    pass
            try:
                console_errors += browser.severe(name)
            except WebDriverException as e:
                console_errors.append(f"{name}: the browser log could not be read: {reason(e)}")
        if not console_errors:
            passed += 1
            print("ok   no_console_errors")
        else:
            failed += 1
            print(f"FAIL no_console_errors: {len(console_errors)}")
            for e in console_errors[:20]:
                print(f"     {e}")
            if len(console_errors) > 20:
                print(f"     ... {len(console_errors) - 20} more in"
                      f" {os.path.relpath(os.path.join(ARTIFACTS, 'browser-log.txt'))}")
    except Terminated as e:
        graceful = False
        failed += 1
        print(f"FAIL terminated by {e} (tools/test's time limit?)")
    except Exception as e:      # noqa: BLE001 - setup (psql) or the driver broke outside a test
        failed += 1
        print(f"FAIL {reason(e)}")
        for line in where(e):
            print(f"     {line}")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        browser.stop(graceful)
        if account is not None:
            try:
                psql("DELETE FROM cv.accounts WHERE id = :'acc'", acc=account.id)
            except RuntimeError as e:
                print(f"run.py: {e}", file=sys.stderr)
        print(f"browser: {passed + failed} tests in {time.monotonic() - started:.1f} s,"
              f" screenshots in {os.path.relpath(ARTIFACTS)}")
        print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
