"""Secrets at rest (README "Security model"): a database dump reveals no code,
link token or API key, not even while the mail waits (the outbox holds them
sealed with AES-256-GCM); logs hold none of them."""
import base64
import glob
import hashlib
import os
import subprocess

from stack import (auth_token, code_hash, env, expect, held_mail, jwt_verify, mail_code, mail_link,
                   passcode_not_found, query, query_one, scan_database, send, setup, verify,
                   wait_for_mail, wait_outbox_final, wrong_code)
from test_cvctl import ok, values


def database_dump():
    """pg_dump of the whole database (data and schema), as bytes."""
    pg_dump = os.path.join(env("CV_PG_BINDIR"), "pg_dump")
    p = subprocess.run([pg_dump, "--no-password", "-d", env("CV_PG_DSN")], capture_output=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_database_dump_never_holds_plaintext_code_or_link():
    # A 10-digit code, so that no other number in the dump looks like it.
    account, contact = setup(code_length=10)
    with held_mail(contact.email):
        expect(send(account.key, contact.email), 200)
        oid, sealed, status = query_one("SELECT id, sealed, status FROM cv.outbox"
                                        " WHERE contact_id = %s", (contact.id,))
        assert status == "queued" and sealed is not None, (status, sealed)
        before = database_dump()
    held_mail.release(oid)
    msg = wait_for_mail(contact.email)
    code, token = mail_code(msg, 10), mail_link(msg)[1]
    # While the mail waited, the database held it only sealed (AES-256-GCM).
    assert code.encode() not in before, "plaintext code in a dump taken before delivery"
    assert token.encode() not in before, "plaintext link token in a dump taken before delivery"
    assert contact.live_passcode()[1].tobytes() == code_hash(code)
    status, sealed = wait_outbox_final(contact)[:2]
    assert (status, sealed) == ("sent", None), (status, sealed)
    after = database_dump()
    assert code.encode() not in after and token.encode() not in after
    expect(verify(account.key, contact.email, code), 200)


def test_altered_sealed_code_is_never_sent():
    account, contact = setup()
    with held_mail(contact.email):
        expect(send(account.key, contact.email), 200)
        oid = query_one("SELECT id FROM cv.outbox WHERE contact_id = %s", (contact.id,))[0]
        # Flip one bit of the ciphertext: GCM's tag no longer matches.
        query("UPDATE cv.outbox SET sealed = set_byte(sealed, 20, get_byte(sealed, 20) # 1)"
              " WHERE id = %s RETURNING id", (oid,))
    held_mail.release(oid)
    status, sealed = wait_outbox_final(contact)[:2]
    assert (status, sealed) == ("failed", None), (status, sealed)
    error = query_one("SELECT last_error FROM cv.outbox WHERE id = %s", (oid,))[0]
    assert "sealed" in error, error


def assert_nowhere_at_rest(secret, what):
    """No column of any table holds secret (base64url, with or without the
    API key's "cv_" prefix), and no dump of the database the bytes it
    encodes."""
    bare = secret.removeprefix("cv_")
    found = scan_database(sorted({secret, bare}))
    assert found == {secret: [], bare: []}, f"the {what} is stored in {found}"
    raw = base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    dump = database_dump()
    assert raw not in dump and raw.hex().encode() not in dump, \
        f"the bytes of the {what} are in a database dump"


def test_no_table_holds_plaintext_api_key():
    """A key made as an administrator makes one (cvctl api-key add): it
    authenticates, and no dump of the database holds it; the row holds its
    SHA-256, what cv.authenticate compares."""
    account, contact = setup()
    key = values(ok("api-key", "add", "--account", account.uuid))["key"]
    assert_nowhere_at_rest(key, "API key")
    resp = auth_token(key, contact.uuid)
    assert resp.status == 200, resp
    jwt_verify(resp.json()["data"]["auth_token"], account.token_secret)
    assert_nowhere_at_rest(key, "API key")
    stored = query("SELECT key_hash FROM cv.api_keys WHERE account_id = %s", (account.id,))
    assert hashlib.sha256(key.encode()).digest() in [row[0].tobytes() for row in stored], stored


def test_events_hold_no_code_or_link_token():
    account, contact = setup(code_length=10)
    expect(send(account.key, contact.email), 200)
    msg = wait_for_mail(contact.email)
    code, token = mail_code(msg, 10), mail_link(msg)[1]
    passcode_not_found(verify(account.key, contact.email, wrong_code(code)))
    expect(verify(account.key, contact.email, code), 200)
    wait_outbox_final(contact)
    details = query("SELECT event_code, detail::text FROM cv.events WHERE contact_id = %s", (contact.id,))
    assert details
    for event_code, detail in details:
        assert code not in detail and token not in detail, f"{event_code} detail holds a secret: {detail}"


def test_logs_hold_no_codes_keys_or_tokens():
    account, contact = setup(code_length=10)
    expect(send(account.key, contact.email), 200)
    msg = wait_for_mail(contact.email)
    code, token = mail_code(msg, 10), mail_link(msg)[1]
    expect(verify(account.key, contact.email, code), 200)
    resp = auth_token(account.key, contact.uuid)
    jwt = resp.json()["data"]["auth_token"]
    jwt_verify(jwt, account.token_secret)
    wait_outbox_final(contact)
    secrets_ = {"code": code, "link token": token, "API key": account.key,
                "auth token signature": jwt.rsplit(".", 1)[1], "account secret": account.token_secret}
    # Every log of the stack but the test SMTP server's (it stands for the
    # recipient's mail system, which of course sees the code).
    logs = [p for p in glob.glob(os.path.join(env("CV_STATE_DIR"), "log", "*.log"))
            if os.path.basename(p) != "smtp.log"]
    assert logs, "no log files found"
    for path in logs:
        with open(path, "rb") as f:
            data = f.read()
        for what, value in secrets_.items():
            assert value.encode() not in data, f"{os.path.basename(path)} holds the {what}"
