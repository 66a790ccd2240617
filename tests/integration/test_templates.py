"""Email templates (README "Configuration, Email templates"): the built-in
English and German ones chosen by the contact's locale, a user app's own
templates per purpose and locale with the fallback de-AT -> de -> the app's
default -> built-in, their placeholders expanded (HTML-escaped in the HTML
part, header-safe in the subject), and cvctl template set|show|list|delete,
which store and explain them.  The templates reach the mail the stack's mailer
sends over SMTP."""
import os
import tempfile

from stack import (execute, expect, html_part, mail_code, mail_link, query, send, setup,
                   text_part, verify, wait_for_mail)
from test_cvctl import fails, ok

LOGIN_TEXT = "{{app_name}} login: {{code}} ({{expiry_minutes}} min)\n{{link}}\n"
LOGIN_HTML = "<p>{{code}}</p><a href=\"{{link}}\">{{link}}</a>"


def with_locale(contact, locale):
    execute("UPDATE cv.contacts SET locale = %s WHERE id = %s", (locale, contact.id))
    return contact


def set_template(account, subject, locale=None, purpose="login", text=LOGIN_TEXT,
                 html=LOGIN_HTML):
    args = ["template", "set", "--account", account.uuid, "--purpose", purpose,
            "--subject", subject, "--text", text, "--html", html]
    if locale is not None:
        args += ["--locale", locale]
    return ok(*args)


def subject_for(contact):
    """POST send for contact; the subject of the mail it gets."""
    expect(send(contact.account.key, contact.email), 200)
    return str(wait_for_mail(contact.email)["Subject"])


def test_de_at_contact_gets_the_german_builtin_template():
    account, contact = setup(name="Bäckerei")
    with_locale(contact, "de-AT")
    expect(send(account.key, contact.email), 200)
    msg = wait_for_mail(contact.email)
    code = mail_code(msg)
    assert str(msg["Subject"]) == "Ihr Anmeldecode für Bäckerei", msg["Subject"]
    text = text_part(msg)
    assert f"Ihr Anmeldecode lautet {code}. Er ist 10 Minuten gültig." in text, text
    assert mail_link(msg)[0] in text
    html = html_part(msg)
    assert '<html lang="de">' in html and f">{code}</p>" in html, html
    expect(verify(account.key, contact.email, code), 200)


def test_contact_of_another_language_gets_the_english_builtin_template():
    account, contact = setup(name="Shop")
    with_locale(contact, "fr-CA")
    assert subject_for(contact) == "Your login code for Shop"


def test_app_templates_fall_back_from_region_to_language_to_default():
    account, _ = setup(name="Shop")
    set_template(account, "default {{app_name}}")
    set_template(account, "de {{app_name}}", locale="de")
    de_at, de_ch, de, fr, none = (with_locale(account.add_contact(), loc)
                                  for loc in ("de-AT", "de-CH", "de", "fr", None))
    assert subject_for(de_at) == "de Shop"
    assert subject_for(de_ch) == "de Shop"
    assert subject_for(de) == "de Shop"
    assert subject_for(fr) == "default Shop"
    assert subject_for(none) == "default Shop"
    # A template for the region wins over the language's, in any case.
    set_template(account, "de-AT {{app_name}}", locale="DE-at")
    assert subject_for(de_at) == "de-AT Shop"
    assert subject_for(with_locale(account.add_contact(), "de_AT")) == "de-AT Shop"
    assert subject_for(de_ch) == "de Shop"


def test_app_default_template_wins_over_the_german_builtin():
    account, contact = setup(name="Shop")
    set_template(account, "Our code for {{app_name}}")
    with_locale(contact, "de-AT")
    expect(send(account.key, contact.email), 200)
    msg = wait_for_mail(contact.email)
    assert str(msg["Subject"]) == "Our code for Shop", msg["Subject"]
    code = mail_code(msg)
    assert text_part(msg) == f"Shop login: {code} (10 min)\n{mail_link(msg)[0]}\n", text_part(msg)
    expect(verify(account.key, contact.email, code), 200)


def test_app_template_of_the_other_purpose_is_not_used():
    account, contact = setup(name="Shop")
    set_template(account, "Confirm for {{app_name}}", purpose="verify_email")
    with_locale(contact, "de")
    assert subject_for(contact) == "Ihr Anmeldecode für Shop"


def test_app_template_values_are_escaped_in_html_and_kept_out_of_headers():
    account, contact = setup(name="Tom & Jerry <script>alert(1)</script>\r\nBcc: victim@example.net")
    set_template(account, "{{app_name}}: {{code}}",
                 html="<h1>{{app_name}}</h1><p>{{code}}</p><a href=\"{{link}}\">go</a>"
                      "<p>{{expiry}}</p>")
    expect(send(account.key, contact.email), 200)
    msg = wait_for_mail(contact.email)
    code = mail_code(msg)
    assert msg["Bcc"] is None, str(msg)
    rcpt = [a.strip().lower() for a in str(msg["X-RcptTo"]).split(",")]
    assert rcpt == [contact.email.lower()], rcpt
    assert str(msg["Subject"]) == \
        f"Tom & Jerry <script>alert(1)</script>  Bcc: victim@example.net: {code}", msg["Subject"]
    html = html_part(msg)
    assert "<script>" not in html, html
    assert "<h1>Tom &amp; Jerry &lt;script&gt;alert(1)&lt;/script&gt;  Bcc: victim@example.net</h1>" \
        in html, html
    assert "<p>10 minutes</p>" in html, html
    link = mail_link(msg)[0]
    assert f'<a href="{link}">' in html, html
    assert text_part(msg).startswith("Tom & Jerry <script>alert(1)</script>  Bcc: "), text_part(msg)


def write(directory, name, data):
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_cvctl_template_set_show_list_delete():
    account, _ = setup()
    a = account.uuid
    with tempfile.TemporaryDirectory() as d:
        # CRLF line ends and a byte order mark are read as plain UTF-8 text.
        text = write(d, "text.txt", b"\xef\xbb\xbfHallo,\r\ndein Code: {{code}}\r\n{{link}}\r\n")
        html = write(d, "body.html", "<p>Grüße: {{ code }}</p>\n".encode())
        assert ok("template", "set", "--account", a, "--purpose", "login", "--locale", "de",
                  "--subject", "Dein Code für {{app_name}}", "--text-file", text,
                  "--html-file", html) == "template=created\n"
    shown = ok("template", "show", "--account", a, "--purpose", "login", "--locale", "de-AT")
    head = shown.split("text:\n")[0]
    assert head.startswith("source=app\nlocale=de\nupdated=") and \
        head.endswith("subject=Dein Code für {{app_name}}\n"), shown
    assert shown.endswith("text:\nHallo,\ndein Code: {{code}}\n{{link}}\n"
                          "html:\n<p>Grüße: {{ code }}</p>\n"), shown
    assert ok("template", "show", "--account", a, "--purpose", "login", "--locale", "de",
              "--part", "text") == "Hallo,\ndein Code: {{code}}\n{{link}}\n"
    assert ok("template", "show", "--account", a, "--purpose", "login", "--locale", "de",
              "--part", "subject") == "Dein Code für {{app_name}}\n"
    # Without a template of its own, a locale is shown what it falls back to.
    shown = ok("template", "show", "--account", a, "--purpose", "verify_email", "--locale",
               "de-AT")
    assert shown.startswith("source=built-in\nlocale=de\nsubject=Bestätigen Sie Ihre E-Mail-Adresse"
                            " für {{app_name}}\ntext:\n"), shown
    shown = ok("template", "show", "--account", a, "--purpose", "login")
    assert shown.startswith("source=built-in\nlocale=en\nsubject=Your login code for"), shown
    # Setting it again replaces it.
    assert set_template(account, "Neu {{app_name}}", locale="de") == "template=updated\n"
    assert set_template(account, "Default") == "template=created\n"
    listed = ok("template", "list", "--account", a).splitlines()
    assert listed[0] == "purpose\tlocale\tsubject\tcreated\tupdated", listed
    assert [line.split("\t")[:3] for line in listed[1:]] == \
        [["login", "-", "Default"], ["login", "de", "Neu {{app_name}}"]], listed
    assert ok("template", "delete", "--account", a, "--purpose", "login", "--locale", "de") == \
        "template=deleted\n"
    shown = ok("template", "show", "--account", a, "--purpose", "login", "--locale", "de")
    assert shown.startswith("source=app\nlocale=-\n"), shown
    fails("template", "delete", "--account", a, "--purpose", "login", "--locale", "de", status=1,
          mentions="no login template for de")
    assert query("SELECT locale FROM cv.templates t JOIN cv.user_apps u ON u.id = t.user_app_id"
                 " WHERE u.account_id = %s", (account.id,)) == [("",)]


def test_cvctl_template_set_refuses_what_cannot_be_sent():
    account, _ = setup()
    base = ["template", "set", "--account", account.uuid, "--purpose", "login"]
    good = ["--subject", "S", "--text", "{{code}}", "--html", "<p>{{code}}</p>"]

    def refused(*args, mentions, status=2):
        fails(*args, status=status, mentions=mentions)

    refused(*base, "--subject", "Hi {{first_name}}", *good[2:], mentions="{{first_name}}")
    refused(*base, "--subject", "S", "--text", "Code {{code}", "--html", "{{code}}",
            mentions="unknown placeholder")
    refused(*base, "--subject", "S", "--text", "Hello", "--html", "{{code}}",
            mentions="neither {{code}} nor {{link}}")
    refused(*base, "--subject", "Line\nBcc: x@example.com", *good[2:], mentions="one line")
    refused(*base, *good, "--text-file", "/dev/null", mentions="--text")
    refused(*base, "--subject", "S", "--html", "{{code}}", mentions="--text")
    refused("template", "set", "--account", account.uuid, "--purpose", "newsletter", *good,
            mentions="--purpose")
    refused(*base, "--locale", "de_AT!", *good, mentions="--locale")
    refused(*base, "--subject", "S", "--text", "{{code}}" + "x" * 65536, "--html", "{{code}}",
            mentions="longer than 65536")
    with tempfile.TemporaryDirectory() as d:
        latin1 = write(d, "latin1.txt", "Grüße {{code}}".encode("latin-1"))
        refused(*base, "--subject", "S", "--text-file", latin1, "--html", "{{code}}",
                mentions="UTF-8")
        binary = write(d, "nul.txt", b"{{code}}\x00")
        refused(*base, "--subject", "S", "--text-file", binary, "--html", "{{code}}",
                mentions="NUL")
        refused(*base, "--subject", "S", "--text-file", os.path.join(d, "missing"),
                "--html", "{{code}}", mentions="missing", status=1)
    refused("template", "set", "--account", "00000000-0000-4000-8000-000000000000", "--purpose",
            "login", *good, mentions="no account", status=1)
    no_app, _ = setup(user_app=False)
    refused("template", "set", "--account", no_app.uuid, "--purpose", "login", *good,
            mentions="no user app", status=1)
    refused("template", "show", "--account", account.uuid, "--purpose", "login", "--part", "all",
            mentions="--part")
    assert query("SELECT count(*) FROM cv.templates t JOIN cv.user_apps u ON u.id = t.user_app_id"
                 " WHERE u.account_id = %s", (account.id,)) == [(0,)]
