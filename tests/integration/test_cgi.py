"""The responders as plain CGI programs (README "Deployment, Shared hosting":
the same binary serves FastCGI and one-shot CGI): run once per request as the
service user, with the request in the environment and the body on standard
input."""
import json
import os

from stack import (compact, config, database_down_config, expect, mail_code, new_api_key,
                   private_config, run_cgi, send_success_body, setup, wait_for_mail)


def assert_cgi_error(result, status, code, message):
    assert result.status == status, f"expected Status {status}: {result!r}"
    assert (result.header("Content-Type") or "").split(";")[0].strip() == "application/json", result
    assert result.json() == {"message": message, "code": code, "status_code": status}, result


def test_cgi_send_answers_same_envelope():
    account, contact = setup()
    result = run_cgi("send", body={"email": contact.email}, key=account.key)
    assert result.returncode == 0, result
    assert result.status == 200, result
    assert result.header("Content-Type") == "application/json", result.headers
    assert result.body == send_success_body(contact.email), result
    assert int(result.header("Content-Length")) == len(result.body), result.headers
    wait_for_mail(contact.email)


def test_cgi_send_verify_auth_token_flow():
    account, contact = setup()
    expect(run_cgi("send", body=f"email={contact.email}", key=account.key,
                   content_type="application/x-www-form-urlencoded"), 200)
    code = mail_code(wait_for_mail(contact.email))
    result = run_cgi("verify", body={"email": contact.email, "code": code}, key=account.key)
    assert result.status == 200 and result.body == compact({"data": {"uuid": contact.uuid}, "meta": {}}), result
    result = run_cgi("auth-token", method="GET", key=account.key, path_info=f"/{contact.uuid}")
    assert result.status == 200, result
    assert list(result.json()) == ["data", "meta"], result


def test_cgi_send_reads_body_without_content_length():
    # Some CGI servers (chunked uploads) give no CONTENT_LENGTH: read to EOF.
    account, contact = setup()
    result = run_cgi("send", body={"email": contact.email}, key=account.key, content_length="")
    assert result.status == 200, result
    wait_for_mail(contact.email)


def test_cgi_send_rejects_body_over_64_kib():
    # Without nginx in front the responder enforces the limit itself.
    account, contact = setup()
    body = json.dumps({"email": contact.email, "pad": "x" * (64 * 1024)}).encode()
    assert_cgi_error(run_cgi("send", body=body, content_type="application/json", key=account.key),
                     413, 1413, "Request body too large.")
    assert_cgi_error(run_cgi("send", body=body, content_type="application/json", key=account.key,
                             content_length=""), 413, 1413, "Request body too large.")


def test_cgi_send_validates_body():
    account, _ = setup()
    result = run_cgi("send", body={"email": "nope"}, key=account.key)
    assert result.status == 400 and result.json() == {
        "message": "Invalid input.", "code": 1003, "status_code": 400,
        "errors": {"email": ["The email must be a valid email address."]}}, result


def test_cgi_missing_key_answers_401():
    result = run_cgi("send", body={"email": "a@example.com"})
    assert_cgi_error(result, 401, 1001, "Unauthenticated.")
    assert (result.header("WWW-Authenticate") or "").startswith("Bearer"), result.headers
    result = run_cgi("send", body={"email": "a@example.com"}, key=new_api_key())
    assert_cgi_error(result, 401, 1001, "Unauthenticated.")


def test_cgi_wrong_method_answers_405_with_allow():
    result = run_cgi("send", method="GET")
    assert_cgi_error(result, 405, 1405, "Method not allowed.")
    assert result.header("Allow") == "POST", result.headers


def test_cgi_healthz():
    result = run_cgi("healthz", method="GET")
    assert result.status == 200 and result.body == b'{"status":"ok","database":"ok"}', result


def test_cgi_answers_503_when_database_unreachable():
    account, contact = setup()
    path, remove = private_config(database_down_config())
    try:
        assert_cgi_error(run_cgi("healthz", method="GET", config_path=path), 503, 1503, "Service unavailable.")
        assert_cgi_error(run_cgi("send", body={"email": contact.email}, key=account.key, config_path=path),
                         503, 1503, "Service unavailable.")
    finally:
        remove()


def test_cgi_bad_key_with_bad_body_answers_401():
    for ctype, body in (("application/json", b'{"email": '), ("text/plain", b"x"),
                        ("application/json", b'{"pad": "' + b"x" * (64 * 1024) + b'"}')):
        result = run_cgi("send", body=body, content_type=ctype, key=new_api_key())
        assert_cgi_error(result, 401, 1001, "Unauthenticated.")


def test_responder_refuses_to_run_as_root():
    result = run_cgi("healthz", method="GET", as_root=True)
    assert result.returncode != 0, result
    assert result.status is None, f"served a request as root: {result!r}"


def test_responder_refuses_world_readable_config():
    path, remove = private_config("".join(f"{k} = {v}\n" for k, v in config().items()))
    try:
        os.chmod(path, 0o644)
        result = run_cgi("healthz", method="GET", config_path=path)
        # Not started: exit status 1, and the CGI request still gets the envelope.
        assert result.returncode != 0, result
        assert_cgi_error(result, 503, 1503, "Service unavailable.")
        assert "readable by all users" in result.stderr, result
    finally:
        remove()


def test_cgi_form_body_names_missing_field():
    account, _ = setup()
    result = run_cgi("verify", body="email=a%40example.com", key=account.key,
                     content_type="application/x-www-form-urlencoded")
    expect(result, 400)
    assert result.json()["errors"] == {"code": ["The code field is required."]}, result
