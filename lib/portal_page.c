/*
 * portal_page.c - the hosted login page.  Every form post carries a CSRF
 * token bound to the app, its time and the browser's cv_csrf cookie
 * (portal.h); GET never changes anything (mail scanners fetch the link in
 * the email), so the link's page asks for one click, whose POST consumes
 * it.  Every page is sent with a CSP that allows no inline script (the
 * brand colour is one nonce'd style rule), frame-ancestors from the app,
 * Referrer-Policy: no-referrer (the URL may hold a link token) and nosniff.
 * Answers to a wrong step keep the page in the same place with the reason
 * in the role="alert" region: with 200 for what a person mistypes (a wrong
 * code, a malformed address: the form is simply shown again, and browsers
 * log no error), 403 for a failed CSRF check, 410 for a used link and 429
 * (with Retry-After) for a limit.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "email.h"
#include "form.h"
#include "orchestrator.h"
#include "portal.h"
#include "portal_page.h"
#include "verification.h"

enum msg {
	M_TITLE, M_EMAIL_LABEL, M_SEND, M_SENT, M_CODE_LABEL, M_CODE_HINT, M_LOGIN, M_RESEND,
	M_RESEND_WAIT, M_RESEND_READY, M_OTHER_EMAIL, M_WRONG_CODE, M_TOO_MANY, M_BAD_EMAIL,
	M_CONFIRM_TITLE, M_CONFIRM_TEXT, M_LINK_DEAD, M_FORM_EXPIRED, M_DONE, M_CONTINUE,
	M__MAX
};

/* The page's words; {s} in M_RESEND_WAIT and M_TOO_MANY is a number of
 * seconds. */
static const char *const words[2][M__MAX] = {
	{
		[M_TITLE] = "Log in",
		[M_EMAIL_LABEL] = "Email address",
		[M_SEND] = "Email me a login code",
		[M_SENT] = "If this address belongs to an account, we have emailed a login code "
		           "and a link to it.",
		[M_CODE_LABEL] = "Login code",
		[M_CODE_HINT] = "Type or paste the code from the email.",
		[M_LOGIN] = "Log in",
		[M_RESEND] = "Send a new code",
		[M_RESEND_WAIT] = "You can ask for a new code in {s} s.",
		[M_RESEND_READY] = "Did not get it? You can ask for a new code now.",
		[M_OTHER_EMAIL] = "Use another email address",
		[M_WRONG_CODE] = "That code is not right or has expired. Check the email and try "
		                 "again, or ask for a new code.",
		[M_TOO_MANY] = "Too many attempts. Please wait {s} s and try again.",
		[M_BAD_EMAIL] = "Please enter a valid email address.",
		[M_CONFIRM_TITLE] = "Confirm your login",
		[M_CONFIRM_TEXT] = "Press the button to log in. (This extra step keeps email "
		                   "scanners from using your link.)",
		[M_LINK_DEAD] = "This link has been used or has expired. Ask for a new code below.",
		[M_FORM_EXPIRED] = "This form has expired. Please try again.",
		[M_DONE] = "You are logged in. You can close this page.",
		[M_CONTINUE] = "Continue",
	},
	{
		[M_TITLE] = "Anmelden",
		[M_EMAIL_LABEL] = "E-Mail-Adresse",
		[M_SEND] = "Anmeldecode per E-Mail senden",
		[M_SENT] = "Falls diese Adresse zu einem Konto gehört, haben wir einen Anmeldecode "
		           "und einen Link an sie gesendet.",
		[M_CODE_LABEL] = "Anmeldecode",
		[M_CODE_HINT] = "Geben Sie den Code aus der E-Mail ein oder fügen Sie ihn ein.",
		[M_LOGIN] = "Anmelden",
		[M_RESEND] = "Neuen Code senden",
		[M_RESEND_WAIT] = "Einen neuen Code können Sie in {s} s anfordern.",
		[M_RESEND_READY] = "Nichts angekommen? Sie können jetzt einen neuen Code anfordern.",
		[M_OTHER_EMAIL] = "Andere E-Mail-Adresse verwenden",
		[M_WRONG_CODE] = "Dieser Code ist falsch oder abgelaufen. Prüfen Sie die E-Mail und "
		                 "versuchen Sie es erneut, oder fordern Sie einen neuen Code an.",
		[M_TOO_MANY] = "Zu viele Versuche. Bitte warten Sie {s} s und versuchen Sie es erneut.",
		[M_BAD_EMAIL] = "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
		[M_CONFIRM_TITLE] = "Anmeldung bestätigen",
		[M_CONFIRM_TEXT] = "Drücken Sie die Schaltfläche, um sich anzumelden. (Dieser Schritt "
		                   "verhindert, dass E-Mail-Scanner Ihren Link verwenden.)",
		[M_LINK_DEAD] = "Dieser Link wurde schon verwendet oder ist abgelaufen. Fordern Sie "
		                "unten einen neuen Code an.",
		[M_FORM_EXPIRED] = "Dieses Formular ist abgelaufen. Bitte versuchen Sie es erneut.",
		[M_DONE] = "Sie sind angemeldet. Sie können diese Seite schließen.",
		[M_CONTINUE] = "Weiter",
	},
};

/* Appends message m of lang with {s} replaced by seconds, escaped. */
static void
say(struct cv_buf *p, int lang, enum msg m, int seconds)
{
	const char *text = words[lang][m], *at = strstr(text, "{s}");
	char num[16];
	char *part;

	if (at == NULL) {
		cv_buf_html(p, text);
		return;
	}
	if ((part = strndup(text, (size_t)(at - text))) == NULL) {
		p->failed = 1;
		return;
	}
	cv_buf_html(p, part);
	free(part);
	snprintf(num, sizeof(num), "%d", seconds);
	cv_buf_adds(p, num);
	cv_buf_html(p, at + 3);
}

/* Everything one rendering needs. */
struct view {
	int                  lang;       /* index into words */
	const char          *public_id;  /* checked: [A-Za-z0-9_-] */
	char                 csrf[CV_CSRF_TOKEN_MAX + 1];
	char                 nonce[32];
	struct cv_portal_app app;
	int                  status;
	enum msg             alert;      /* M__MAX: none */
	int                  alert_seconds;
};

static void
open_page(struct cv_buf *p, const struct view *v, enum msg title)
{
	cv_buf_adds(p, "<!DOCTYPE html>\n<html lang=\"");
	cv_buf_adds(p, v->lang ? "de" : "en");
	cv_buf_adds(p, "\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	cv_buf_html(p, words[v->lang][title]);
	if (v->app.name != NULL) {
		cv_buf_adds(p, " \xe2\x80\x93 ");
		cv_buf_html(p, v->app.name);
	}
	cv_buf_adds(p, "</title>\n<link rel=\"stylesheet\" href=\"/portal/static/portal.css\">\n"
	       "<link rel=\"icon\" href=\"/portal/static/favicon.svg\">\n");
	if (cv_portal_color_valid(v->app.brand_color)) {
		cv_buf_adds(p, "<style nonce=\"");
		cv_buf_adds(p, v->nonce);
		cv_buf_adds(p, "\">:root{--brand:");
		cv_buf_adds(p, v->app.brand_color);
		cv_buf_adds(p, "}</style>\n");
	}
	cv_buf_adds(p, "<script src=\"/portal/static/portal.js\" defer></script>\n</head>\n<body>\n"
	       "<main class=\"card\">\n<p class=\"app\">");
	cv_buf_html(p, v->app.name);
	cv_buf_adds(p, "</p>\n<h1>");
	cv_buf_html(p, words[v->lang][title]);
	cv_buf_adds(p, "</h1>\n<div id=\"alert\" class=\"alert\" role=\"alert\" aria-live=\"assertive\">");
	if (v->alert != M__MAX)
		say(p, v->lang, v->alert, v->alert_seconds);
	cv_buf_adds(p, "</div>\n");
}

static void
hidden(struct cv_buf *p, const char *name, const char *value)
{
	cv_buf_adds(p, "<input type=\"hidden\" name=\"");
	cv_buf_adds(p, name);
	cv_buf_adds(p, "\" value=\"");
	cv_buf_html(p, value);
	cv_buf_adds(p, "\">\n");
}

static void
form_open(struct cv_buf *p, const struct view *v, const char *id, const char *step)
{
	cv_buf_adds(p, "<form method=\"post\" action=\"/login/");
	cv_buf_adds(p, v->public_id);
	cv_buf_adds(p, "\" id=\"");
	cv_buf_adds(p, id);
	cv_buf_adds(p, "\">\n");
	hidden(p, "csrf", v->csrf);
	hidden(p, "step", step);
}

static void
email_form(struct cv_buf *p, const struct view *v, const char *email)
{
	form_open(p, v, "email-form", "email");
	cv_buf_adds(p, "<label for=\"email\">");
	cv_buf_html(p, words[v->lang][M_EMAIL_LABEL]);
	cv_buf_adds(p, "</label>\n<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\""
	       " required autofocus maxlength=\"254\" value=\"");
	cv_buf_html(p, email);
	cv_buf_adds(p, "\">\n<button type=\"submit\">");
	cv_buf_html(p, words[v->lang][M_SEND]);
	cv_buf_adds(p, "</button>\n</form>\n");
}

static void
code_forms(struct cv_buf *p, const struct view *v, const char *email, int wait)
{
	char num[16];

	snprintf(num, sizeof(num), "%d", v->app.code_length);
	cv_buf_adds(p, "<p id=\"sent\">");
	cv_buf_html(p, words[v->lang][M_SENT]);
	cv_buf_adds(p, " <strong>");
	cv_buf_html(p, email);
	cv_buf_adds(p, "</strong></p>\n");
	form_open(p, v, "code-form", "code");
	hidden(p, "email", email);
	cv_buf_adds(p, "<label for=\"code\">");
	cv_buf_html(p, words[v->lang][M_CODE_LABEL]);
	cv_buf_adds(p, "</label>\n<p class=\"hint\" id=\"code-hint\">");
	cv_buf_html(p, words[v->lang][M_CODE_HINT]);
	cv_buf_adds(p, "</p>\n<input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\""
	       " autocomplete=\"one-time-code\" aria-describedby=\"code-hint\" required autofocus"
	       " data-length=\"");
	cv_buf_adds(p, num);
	cv_buf_adds(p, "\">\n<button type=\"submit\">");
	cv_buf_html(p, words[v->lang][M_LOGIN]);
	cv_buf_adds(p, "</button>\n</form>\n");
	form_open(p, v, "resend-form", "resend");
	hidden(p, "email", email);
	snprintf(num, sizeof(num), "%d", wait > 0 ? wait : 0);
	cv_buf_adds(p, "<button type=\"submit\" id=\"resend\" class=\"secondary\" data-wait=\"");
	cv_buf_adds(p, num);
	cv_buf_adds(p, "\">");
	cv_buf_html(p, words[v->lang][M_RESEND]);
	cv_buf_adds(p, "</button>\n<p id=\"countdown\" class=\"hint\" data-template=\"");
	cv_buf_html(p, words[v->lang][M_RESEND_WAIT]);
	cv_buf_adds(p, "\" data-ready=\"");
	cv_buf_html(p, words[v->lang][M_RESEND_READY]);
	cv_buf_adds(p, "\">");
	say(p, v->lang, wait > 0 ? M_RESEND_WAIT : M_RESEND_READY, wait);
	cv_buf_adds(p, "</p>\n</form>\n<p><a href=\"/login/");
	cv_buf_adds(p, v->public_id);
	cv_buf_adds(p, "\">");
	cv_buf_html(p, words[v->lang][M_OTHER_EMAIL]);
	cv_buf_adds(p, "</a></p>\n");
}

static void
confirm_form(struct cv_buf *p, const struct view *v, const char *token)
{
	cv_buf_adds(p, "<p>");
	cv_buf_html(p, words[v->lang][M_CONFIRM_TEXT]);
	cv_buf_adds(p, "</p>\n");
	form_open(p, v, "confirm-form", "link");
	hidden(p, "token", token);
	cv_buf_adds(p, "<button type=\"submit\" autofocus>");
	cv_buf_html(p, words[v->lang][M_LOGIN]);
	cv_buf_adds(p, "</button>\n</form>\n");
}

static enum cv_err
finish(struct cv_buf *p, struct cv_reply *reply, int status)
{
	cv_buf_adds(p, "</main>\n</body>\n</html>\n");
	if (p->failed)
		return CV_ERR_INTERNAL;    /* the caller frees p->p */
	reply->html = p->p;
	reply->status = status;
	return CV_OK;
}

/* The security headers (and the cookie, Retry-After) of a page. */
static enum cv_err
page_headers(const struct cv_conf *conf, struct cv_reply *reply, const struct view *v,
             const char *new_cookie, int retry_after)
{
	char portal_origin[CV_ORIGIN_MAX + 1] = "", extra[256] = "";
	size_t len = 2048;
	int n;

	if (v->app.portal_url != NULL &&
	    cv_uo_url_origin(v->app.portal_url, portal_origin, sizeof(portal_origin)) != 0)
		portal_origin[0] = '\0';
	if (new_cookie != NULL)
		snprintf(extra, sizeof(extra),
		         "Set-Cookie: " CV_CSRF_COOKIE "=%s; Path=/login; HttpOnly; SameSite=Lax%s\r\n",
		         new_cookie, strncmp(conf->public_url, "https:", 6) == 0 ? "; Secure" : "");
	if (retry_after > 0)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "Retry-After: %d\r\n",
		         retry_after);
	if ((reply->headers = malloc(len)) == NULL)
		return CV_ERR_INTERNAL;
	/* form-action: the redirect after the last post goes to the portal. */
	n = snprintf(reply->headers, len,
	             "Content-Security-Policy: default-src 'none'; script-src 'self'; "
	             "style-src 'self' 'nonce-%s'; img-src 'self'; form-action 'self'%s%s; "
	             "frame-ancestors %s; base-uri 'none'\r\n"
	             "Referrer-Policy: no-referrer\r\n%s",
	             v->nonce, portal_origin[0] ? " " : "", portal_origin,
	             v->app.frame_ancestors != NULL ? v->app.frame_ancestors : "'none'", extra);
	return n > 0 && (size_t)n < len ? CV_OK : CV_ERR_INTERNAL;
}

static const char *
field(struct cv_request *req, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req->body, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The digits of a typed or pasted code ("123 456" -> "123456") into out. */
static const char *
code_digits(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; in != NULL && *in != '\0'; in++) {
		if (*in >= '0' && *in <= '9') {
			if (n + 1 >= len)
				return NULL;
			out[n++] = *in;
		} else if (*in != ' ' && *in != '-' && *in != '\t') {
			return NULL;
		}
	}
	out[n] = '\0';
	return n > 0 ? out : NULL;
}

/* The email step again, with an alert, for a post that names no usable
 * address or carries no valid CSRF token (the app is read on its own). */
static enum cv_err
email_view(struct cv_buf *p, struct view *v, PGresult **res, enum msg alert, const char *email,
           int status)
{
	enum cv_err err = cv_portal_app_fetch(v->public_id, NULL, NULL, res);

	if (err != CV_OK)
		return err;
	cv_portal_app_read(*res, &v->app);
	v->alert = alert;
	open_page(p, v, M_TITLE);
	email_form(p, v, email);
	v->status = status;
	return CV_OK;
}

/* 303 to the portal with the ticket, or a "logged in" page without one. */
static enum cv_err
logged_in(struct cv_buf *p, struct cv_reply *reply, struct view *v, const char *ticket)
{
	const char *url = v->app.portal_url;

	open_page(p, v, M_TITLE);
	if (url == NULL) {
		cv_buf_adds(p, "<p>");
		cv_buf_html(p, words[v->lang][M_DONE]);
		cv_buf_adds(p, "</p>\n");
		return finish(p, reply, 200);
	}
	if ((reply->location = cv_portal_ticket_url(url, ticket)) == NULL)
		return CV_ERR_INTERNAL;
	cv_buf_adds(p, "<p><a href=\"");
	cv_buf_html(p, reply->location);
	cv_buf_adds(p, "\">");
	cv_buf_html(p, words[v->lang][M_CONTINUE]);
	cv_buf_adds(p, "</a></p>\n");
	return finish(p, reply, 303);
}

enum cv_err
cv_portal_page(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	struct view v;
	struct cv_buf p = {NULL, 0, 0, 0};
	char cookie[CV_CSRF_COOKIE_LEN + 1], new_cookie[CV_CSRF_COOKIE_LEN + 1];
	char hash[65], ticket[CV_TICKET_LEN + 1], emailbuf[CV_EMAIL_MAX + 1], codebuf[16];
	unsigned char raw[32], nonce[16];
	struct json_object *query = NULL, *qv;
	const char *qs, *token = NULL, *step, *email = NULL, *code;
	int have_cookie, retry_after = 0, wait;
	PGresult *res = NULL;
	enum cv_err err;

	memset(&v, 0, sizeof(v));
	v.public_id = req->path_info;
	v.alert = M__MAX;
	v.lang = strcmp(cv_portal_lang(getenv("HTTP_ACCEPT_LANGUAGE")), "de") == 0;
	if (!cv_portal_public_id_valid(v.public_id, strlen(v.public_id)))
		return CV_ERR_NOT_FOUND;
	have_cookie = cv_portal_cookie(getenv("HTTP_COOKIE"), CV_CSRF_COOKIE, cookie,
	                               sizeof(cookie)) == 0 && strlen(cookie) == CV_CSRF_COOKIE_LEN;
	if (cv_random_bytes(nonce, sizeof(nonce)) != 0 ||
	    (!have_cookie && cv_random_bytes(raw, sizeof(raw)) != 0))
		return CV_ERR_INTERNAL;
	cv_b64url_encode(nonce, sizeof(nonce), v.nonce);
	if (!have_cookie)
		cv_b64url_encode(raw, sizeof(raw), new_cookie);
	if (cv_portal_csrf_token(conf->code_secret, conf->code_secret_len, v.public_id,
	                         have_cookie ? cookie : new_cookie, time(NULL), v.csrf,
	                         sizeof(v.csrf)) != 0)
		return CV_ERR_INTERNAL;

	if (strcmp(req->method, "POST") != 0) {
		/* GET/HEAD: show, never consume. */
		if ((qs = getenv("QUERY_STRING")) != NULL && *qs != '\0' &&
		    cv_form_parse(qs, strlen(qs), &query) == CV_OK &&
		    json_object_object_get_ex(query, "token", &qv) &&
		    strlen(json_object_get_string(qv)) == CV_LINK_TOKEN_LEN)
			token = json_object_get_string(qv);
		if (token != NULL && cv_code_hash(conf, 'l', token, strlen(token), hash) != 0) {
			err = CV_ERR_INTERNAL;
			goto out;
		}
		if ((err = cv_portal_app_fetch(v.public_id, NULL, token != NULL ? hash : NULL, &res)) != CV_OK)
			goto out;
		cv_portal_app_read(res, &v.app);
		if (token != NULL && strcmp(PQgetvalue(res, 0, 10), "valid") == 0) {
			open_page(&p, &v, M_CONFIRM_TITLE);
			confirm_form(&p, &v, token);
		} else {
			if (token != NULL || (query != NULL && json_object_object_get_ex(query, "token", &qv)))
				v.alert = M_LINK_DEAD;
			open_page(&p, &v, M_TITLE);
			email_form(&p, &v, NULL);
		}
		v.status = 200;
		goto render;
	}

	step = field(req, "step");
	if (!have_cookie || !cv_portal_csrf_valid(conf->code_secret, conf->code_secret_len,
	                                          v.public_id, cookie, field(req, "csrf"),
	                                          time(NULL))) {
		if ((err = email_view(&p, &v, &res, M_FORM_EXPIRED, NULL, 403)) != CV_OK)
			goto out;
		goto render;
	}
	if (step != NULL && strcmp(step, "link") == 0) {
		token = field(req, "token");
		if (token == NULL || strlen(token) != CV_LINK_TOKEN_LEN)
			token = "-";    /* never matches: the same answer as a used link */
		err = cv_portal_verify(conf, req, v.public_id, NULL, NULL, token, NULL, ticket, &res,
		                       &retry_after);
		if (res == NULL)
			goto out;
		cv_portal_app_read(res, &v.app);
		if (err == CV_OK) {
			err = logged_in(&p, reply, &v, ticket);
			goto headers;
		}
		if (err == CV_ERR_NOT_FOUND || err == CV_ERR_INTERNAL)
			goto out;
		v.alert = err == CV_ERR_TOO_MANY_ATTEMPTS ? M_TOO_MANY : M_LINK_DEAD;
		v.alert_seconds = retry_after;
		open_page(&p, &v, M_TITLE);
		email_form(&p, &v, NULL);
		v.status = err == CV_ERR_TOO_MANY_ATTEMPTS ? 429 : 410;
		goto render;
	}
	/* email, resend and code all name the address. */
	email = cv_email_field(req, "email", emailbuf, sizeof(emailbuf));
	if (email == NULL || step == NULL ||
	    (strcmp(step, "email") != 0 && strcmp(step, "resend") != 0 && strcmp(step, "code") != 0)) {
		if ((err = email_view(&p, &v, &res, M_BAD_EMAIL, field(req, "email"), 200)) != CV_OK)
			goto out;
		goto render;
	}
	if (strcmp(step, "code") == 0) {
		code = code_digits(field(req, "code"), codebuf, sizeof(codebuf));
		err = cv_portal_verify(conf, req, v.public_id, email, code != NULL ? code : "x", NULL,
		                       NULL, ticket, &res, &retry_after);
		OPENSSL_cleanse(codebuf, sizeof(codebuf));
		if (res == NULL)
			goto out;
		cv_portal_app_read(res, &v.app);
		if (err == CV_OK) {
			err = logged_in(&p, reply, &v, ticket);
			goto headers;
		}
		wait = 0;
	} else {
		err = cv_portal_send(conf, req, v.public_id, email, NULL,
		                     v.lang ? "de" : "en", &res, &retry_after);
		if (res == NULL)
			goto out;
		cv_portal_app_read(res, &v.app);
		wait = v.app.resend_cooldown;
	}
	if (err == CV_ERR_NOT_FOUND || err == CV_ERR_INTERNAL)
		goto out;
	if (err == CV_ERR_TOO_MANY_ATTEMPTS) {
		v.alert = M_TOO_MANY;
		v.alert_seconds = wait = retry_after;
		v.status = 429;
	} else if (err != CV_OK) {
		v.alert = M_WRONG_CODE;
		v.status = 200;
	} else {
		v.status = 200;
	}
	open_page(&p, &v, M_TITLE);
	code_forms(&p, &v, email, wait);
render:
	err = finish(&p, reply, v.status);
headers:
	if (err == CV_OK)
		err = page_headers(conf, reply, &v, have_cookie ? NULL : new_cookie, retry_after);
out:
	if (err != CV_OK && reply->html == NULL)
		free(p.p);
	PQclear(res);
	json_object_put(query);
	OPENSSL_cleanse(raw, sizeof(raw));
	return err;
}
