"""The mailer's directory delivery (README "Configuration", mail_dir: for a
local run without SMTP, one .eml per message that a person can read the code
from). Runs only with --mode dir, after tools/test restarted the mailer
without smtp_url."""
import email.utils
import os

from stack import (assert_exact, auth_token, compact, env, expect, html_part, jwt_verify, mail_code,
                   mail_link, send, send_success_body, setup, verify, wait_for_mail,
                   wait_outbox_final)

MODE = "dir"


def test_dir_mode_send_then_verify_then_auth_token_happy_path():
    account, contact = setup()
    assert_exact(send(account.key, contact.email), 200, send_success_body(contact.email))
    msg = wait_for_mail(contact.email)
    assert os.path.dirname(msg.path) == os.path.normpath(env("CV_MAIL_DIR")), msg.path
    assert msg.path.endswith(".eml"), msg.path
    code = mail_code(msg)
    resp = verify(account.key, contact.email, code)
    assert_exact(resp, 200, compact({"data": {"uuid": contact.uuid}, "meta": {}}))
    resp = auth_token(account.key, contact.uuid)
    assert resp.status == 200, resp
    _, claims = jwt_verify(resp.json()["data"]["auth_token"], account.token_secret)
    assert claims["sub"] == contact.uuid and claims["email_verified"] is True, claims


def test_dir_mode_eml_is_a_complete_message():
    _, contact = setup(code_length=8)
    expect(send(contact.account.key, contact.email), 200)
    msg = wait_for_mail(contact.email)
    for name in ("Message-ID", "Date", "From", "To", "Subject", "MIME-Version", "Auto-Submitted"):
        assert msg[name] is not None, f"header {name} missing"
    assert [a.lower() for _, a in email.utils.getaddresses([str(msg["To"])])] == [contact.email.lower()]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    code = mail_code(msg, 8)
    _, token = mail_link(msg)
    assert code in html_part(msg) and token in html_part(msg)
    assert b"\r\n" in msg.raw, "not CRLF line endings"
    assert msg.raw.count(b"\n") == msg.raw.count(b"\r\n"), "bare LF in the .eml"


def test_dir_mode_outbox_row_is_sent_and_wiped():
    _, contact = setup()
    expect(send(contact.account.key, contact.email), 200)
    msg = wait_for_mail(contact.email)
    status, sealed, message_id, sent_at, _ = wait_outbox_final(contact)
    assert (status, sealed) == ("sent", None), (status, sealed)
    assert str(msg["Message-ID"]).strip() == message_id

