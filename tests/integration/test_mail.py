"""The email a send produces, as the real SMTP server received it from the
mailer (README "Security model", "Logs, schema, events"): envelope, headers,
MIME structure, code and link, and the outbox row after delivery."""
import email.utils
import html.parser
import re

from stack import (assert_exact, compact, db_now, expect, held_mail, html_part, link_pattern, mail_code,
                   mail_link, public_url, query_one, send, send_and_get_code, settle_outbox, setup,
                   verify, wait_for_mail, wait_outbox_final)


class Elements(html.parser.HTMLParser):
    """The start tags of an HTML document and the text of each element."""
    VOID = {"br", "hr", "img", "input", "link", "meta", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text, self.open = [], {}, []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in self.VOID:
            return
        self.open.append(tag)
        self.text.setdefault(tag, []).append("")

    def handle_endtag(self, tag):
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag):]

    def handle_data(self, data):
        if self.open:
            self.text[self.open[-1]][-1] += data


def test_email_arrives_over_smtp_with_envelope_to_the_contact():
    account, contact = setup()
    code, msg = send_and_get_code(contact)
    # aiosmtpd's Mailbox handler records the SMTP envelope in X-RcptTo / X-MailFrom.
    assert msg["X-RcptTo"] is not None, "not delivered through the SMTP server"
    assert [a.strip().lower() for a in str(msg["X-RcptTo"]).split(",")] == [contact.email.lower()], \
        msg["X-RcptTo"]
    assert msg["X-MailFrom"] and "@" in str(msg["X-MailFrom"]), msg["X-MailFrom"]
    resp = verify(account.key, contact.email, code)
    assert_exact(resp, 200, compact({"data": {"uuid": contact.uuid}, "meta": {}}))


def test_email_has_the_required_headers():
    account, contact = setup(sender_name="Shop Support")
    sender = query_one("SELECT sender_email FROM cv.user_apps WHERE id = %s", (account.app,))[0]
    _, msg = send_and_get_code(contact)
    for name in ("Message-ID", "Date", "From", "To", "Subject", "MIME-Version", "Auto-Submitted"):
        assert msg[name] is not None and str(msg[name]).strip(), f"header {name} missing:\n{msg}"
        assert len(msg.get_all(name)) == 1, f"header {name} appears {len(msg.get_all(name))} times"
    assert [a.lower() for _, a in email.utils.getaddresses([str(msg["To"])])] == [contact.email.lower()]
    assert [a.lower() for _, a in email.utils.getaddresses([str(msg["From"])])] == [sender.lower()], msg["From"]
    assert str(msg["MIME-Version"]).strip() == "1.0"
    assert str(msg["Auto-Submitted"]).strip().lower() == "auto-generated", msg["Auto-Submitted"]
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(msg["Message-ID"]).strip()), msg["Message-ID"]
    date = email.utils.parsedate_to_datetime(str(msg["Date"]))
    assert date.tzinfo is not None and abs(date.timestamp() - db_now()) < 300, msg["Date"]


def test_email_message_id_is_the_outbox_message_id():
    _, contact = setup()
    _, msg = send_and_get_code(contact)
    row = wait_outbox_final(contact)
    assert str(msg["Message-ID"]).strip() == row[2], (msg["Message-ID"], row[2])


def test_email_is_multipart_alternative_with_text_and_html():
    _, contact = setup()
    _, msg = send_and_get_code(contact)
    assert msg.get_content_type() == "multipart/alternative", msg.get_content_type()
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"], parts
    for part in msg.iter_parts():
        assert part.get_content_charset() in ("utf-8", "us-ascii"), part.get_content_charset()
    assert not msg.defects, msg.defects


def test_email_text_part_has_code_and_login_link():
    account, contact = setup()
    code, msg = send_and_get_code(contact)
    assert re.fullmatch(r"\d{6}", code)
    link, token = mail_link(msg)
    assert link == f"{public_url()}/login/{account.public_id}?token={token}", link
    html = html_part(msg)
    assert code in html, "the HTML part lacks the code"
    assert re.search(link_pattern(), html.replace("&amp;", "&")), "the HTML part lacks the link"
    assert token in html


def test_email_link_tokens_differ_per_send():
    _, contact = setup()
    _, first = send_and_get_code(contact)
    _, second = send_and_get_code(contact)
    assert mail_link(first)[1] != mail_link(second)[1]


def test_outbox_row_is_sent_and_wiped_after_delivery():
    _, contact = setup()
    send_and_get_code(contact)
    status, sealed, _, sent_at, attempts = wait_outbox_final(contact)
    assert status == "sent", status
    assert sealed is None, "the outbox still holds the sealed code and link after delivery"
    assert sent_at is not None and attempts == 1, (sent_at, attempts)


def test_email_html_part_escapes_app_name():
    _, contact = setup(name='Tom & Jerry <script>alert(1)</script>')
    _, msg = send_and_get_code(contact)
    html = html_part(msg)
    assert "<script>" not in html, "the app name reaches the HTML part unescaped"
    assert "<strong>Tom &amp; Jerry &lt;script&gt;alert(1)&lt;/script&gt;</strong>" in html, html
    # As a mail client reads it: no script element, the name as text.
    page = Elements()
    page.feed(html)
    page.close()
    assert "script" not in page.tags, page.tags
    assert page.text["title"] == ["Your login code for Tom & Jerry <script>alert(1)</script>"], \
        page.text
    assert page.text["strong"] == ["Tom & Jerry <script>alert(1)</script>"], page.text


def test_email_carries_non_ascii_app_name_intact():
    name = "Caf\u00e9 Z\u00fcrich \u2615"
    _, contact = setup(name=name)
    _, msg = send_and_get_code(contact)
    assert name in str(msg["Subject"]), f"Subject {msg['Subject']!r} lacks {name!r}"
    assert name in html_part(msg), "the HTML part lacks the app name"
    assert all(b < 0x80 for b in msg.raw.split(b"\r\n\r\n", 1)[0].replace(b"\n", b"")), \
        "raw 8-bit bytes in the header block (RFC 2047 encoded-words expected)"


def test_email_header_injection_through_app_name_is_harmless():
    _, contact = setup(name="Shop\r\nBcc: victim@example.net", sender_name="Evil\r\nX-Injected: yes")
    _, msg = send_and_get_code(contact)
    assert msg["Bcc"] is None and msg["X-Injected"] is None, str(msg)
    rcpt = [a.strip().lower() for a in str(msg["X-RcptTo"]).split(",")]
    assert rcpt == [contact.email.lower()], rcpt



def test_newer_send_drops_mail_still_queued_for_replaced_code():
    account, contact = setup()
    with held_mail(contact.email):
        expect(send(account.key, contact.email), 200)
        first = query_one("SELECT id FROM cv.outbox WHERE contact_id = %s", (contact.id,))[0]
    expect(send(account.key, contact.email), 200)
    code = mail_code(wait_for_mail(contact.email))
    held_mail.release(first)
    assert settle_outbox(contact) == 1
    row = query_one("SELECT status, sealed, attempts, last_error FROM cv.outbox WHERE id = %s",
                    (first,))
    assert row == ("expired", None, 0, "replaced by a newer code"), row
    assert [e[1] for e in contact.events()].count(5009) == 1, contact.events()
    expect(verify(account.key, contact.email, code), 200)
