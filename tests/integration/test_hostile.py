"""Hostile input (README "Security model"): the corpus of corpus.py -- about
560 malformed, oversize and ill-authenticated requests to every endpoint,
through nginx -- never gets a 5xx, and every answer is in the envelope of its
endpoint's dialect (nginx's own refusals too; of a request line it could not
read, in the API's envelope). Afterwards every responder still serves."""
import json

from corpus import corpus, send_raw
from stack import expect, request, send
from test_oauth import add_client
from test_orchestrator import Tenant
from test_portal import ORIGIN, Browser, form_field, portal_account

LEGACY_KEYS = {"Code", "Errors", "Result", "SessionId", "RequestId"}


def contact_error(doc, status):
    return (isinstance(doc, dict) and set(doc) - {"errors"} == {"message", "code", "status_code"}
            and doc["status_code"] == status and isinstance(doc["code"], int)
            and isinstance(doc["message"], str) and doc["message"])


def uo_envelope(doc):
    return (isinstance(doc, dict) and list(doc) == ["message", "meta"]
            and isinstance(doc["message"], dict)
            and list(doc["message"]) == ["code", "text", "type"])


def envelope_problem(entry, status, headers, body):
    """None when the answer is in a documented envelope, else why not."""
    dialect = entry.endpoint.dialect
    ctype = headers.get("content-type", "")
    if dialect == "html" and ctype.startswith("text/html"):
        return None if b"<html" in body.lower() else "an HTML answer without a page"
    try:
        doc = json.loads(body)
    except ValueError:
        return f"not JSON ({ctype}): {body[:120]!r}"
    if not ctype.startswith("application/json"):
        return f"JSON with Content-Type {ctype!r}"
    if entry.http_level and contact_error(doc, status):
        return None     # nginx refused a request line it could not read (no path, no dialect)
    ok = {
        "contact": lambda: contact_error(doc, status) or (status < 400 and "data" in doc),
        "health": lambda: contact_error(doc, status) or (status < 400 and "status" in doc),
        "jwks": lambda: contact_error(doc, status) or (status < 400 and "keys" in doc),
        "html": lambda: False,      # a page, also for nginx's own answers
        "oauth": lambda: (set(doc) == {"error", "error_description"} if status >= 400
                          else "access_token" in doc),
        "uo": lambda: uo_envelope(doc),
        "uo_legacy": lambda: list(doc) == ["Code", "Errors", "Result", "SessionId", "RequestId"],
    }[dialect]()
    return None if ok else f"not the {dialect} envelope: {doc!r:.200}"


def test_hostile_corpus_gets_4xx_in_the_envelope_and_never_5xx():
    account = portal_account(resend_cooldown=0)
    contact = account.add_contact()
    tenant = Tenant(account)
    client_id, _ = add_client(account)
    browser = Browser(account)
    page = browser.get()
    portal = {"public_id": account.public_id, "origin": ORIGIN, "cookie": browser.cookie,
              "csrf": form_field(page, "csrf")}
    entries = corpus(account.key, tenant.headers(), contact.email, contact.uuid, client_id, portal)
    assert len(entries) >= 500, len(entries)
    problems = []
    for entry in entries:
        try:
            status, headers, body = send_raw(entry.raw)
        except Exception as e:      # a hang or a dropped connection is a failure too
            problems.append(f"{entry.name}: {type(e).__name__}: {e}")
            continue
        if status >= 500:
            problems.append(f"{entry.name}: {status} {body[:150]!r}")
            continue
        if entry.must_fail and status < 400:
            problems.append(f"{entry.name}: accepted ({status})")
        why = envelope_problem(entry, status, headers, body)
        if why:
            problems.append(f"{entry.name}: {status} {why}")
    print(f"     {len(entries)} hostile requests", flush=True)
    assert not problems, f"{len(problems)} of {len(entries)}:\n" + "\n".join(problems[:60])
    # Nothing crashed: every endpoint still answers from the database.
    expect(request("GET", "/healthz"), 200)
    expect(send(account.key, contact.email), 200)
