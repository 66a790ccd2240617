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
 * log no error), 403 for a failed CSRF check, 429 (with Retry-After) for a
 * limit.  A link that cannot log in says why, above the email form: 410 for
 * one used, replaced by a newer email, expired or burned by wrong codes,
 * 400 for one that is garbage, incomplete, unknown or another app's.  The
 * page of an app whose account is disabled says that logging in is switched
 * off (403).  The links in the emails of the API's send and of the portal
 * both lead here.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "codes.h"
#include "crypto.h"
#include "db.h"
#include "email.h"
#include "form.h"
#include "html.h"
#include "origin.h"
#include "portal.h"
#include "portal_page.h"
#include "validate.h"
#include "verification.h"

enum msg {
	M_TITLE, M_EMAIL_LABEL, M_SEND, M_SENT, M_CODE_LABEL, M_CODE_HINT, M_LOGIN, M_RESEND,
	M_RESEND_WAIT, M_RESEND_READY, M_OTHER_EMAIL, M_WRONG_CODE, M_TOO_MANY, M_BAD_EMAIL,
	M_CONFIRM_TITLE, M_CONFIRM_TEXT, M_FORM_EXPIRED, M_DONE_TITLE, M_DONE, M_CONTINUE,
	M_USED_TITLE, M_USED, M_REPLACED_TITLE, M_REPLACED, M_EXPIRED_TITLE, M_EXPIRED,
	M_BURNED_TITLE, M_BURNED, M_INVALID_TITLE, M_INVALID, M_OFF_TITLE, M_OFF,
	M__MAX
};

/* The page's words; {s} in M_RESEND_WAIT and M_TOO_MANY is a number of
 * seconds, {a} the user app's name. */
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
		[M_FORM_EXPIRED] = "This form has expired. Please try again.",
		[M_DONE_TITLE] = "Login confirmed",
		[M_DONE] = "Your login to {a} is confirmed. You can close this page.",
		[M_CONTINUE] = "Continue",
		[M_USED_TITLE] = "This link has been used",
		[M_USED] = "You have already logged in with this link or with the code of its "
		           "email. To log in again, ask for a new code below.",
		[M_REPLACED_TITLE] = "This link has been replaced",
		[M_REPLACED] = "A newer email with a new code and link was sent after this one. Use "
		               "the newest email, or ask for a new code below.",
		[M_EXPIRED_TITLE] = "This link has expired",
		[M_EXPIRED] = "Login links work for a limited time only. Ask for a new code below.",
		[M_BURNED_TITLE] = "This link is blocked",
		[M_BURNED] = "The code of this email was entered wrongly too many times, so the code "
		             "and its link no longer work. Ask for a new code below.",
		[M_INVALID_TITLE] = "This link is not valid",
		[M_INVALID] = "Check that you opened the whole link from the email, or ask for a "
		              "new code below.",
		[M_OFF_TITLE] = "Login unavailable",
		[M_OFF] = "Logging in to {a} is switched off at the moment.",
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
		[M_FORM_EXPIRED] = "Dieses Formular ist abgelaufen. Bitte versuchen Sie es erneut.",
		[M_DONE_TITLE] = "Anmeldung bestätigt",
		[M_DONE] = "Ihre Anmeldung bei {a} ist bestätigt. Sie können diese Seite schließen.",
		[M_CONTINUE] = "Weiter",
		[M_USED_TITLE] = "Dieser Link wurde schon verwendet",
		[M_USED] = "Sie haben sich mit diesem Link oder dem Code seiner E-Mail schon "
		           "angemeldet. Um sich erneut anzumelden, fordern Sie unten einen neuen "
		           "Code an.",
		[M_REPLACED_TITLE] = "Dieser Link wurde ersetzt",
		[M_REPLACED] = "Nach dieser E-Mail wurde eine neuere mit neuem Code und Link "
		               "gesendet. Verwenden Sie die neueste E-Mail, oder fordern Sie unten "
		               "einen neuen Code an.",
		[M_EXPIRED_TITLE] = "Dieser Link ist abgelaufen",
		[M_EXPIRED] = "Anmeldelinks gelten nur für begrenzte Zeit. Fordern Sie unten einen "
		              "neuen Code an.",
		[M_BURNED_TITLE] = "Dieser Link ist gesperrt",
		[M_BURNED] = "Der Code dieser E-Mail wurde zu oft falsch eingegeben, deshalb gelten "
		             "der Code und sein Link nicht mehr. Fordern Sie unten einen neuen Code "
		             "an.",
		[M_INVALID_TITLE] = "Dieser Link ist ungültig",
		[M_INVALID] = "Prüfen Sie, ob Sie den ganzen Link aus der E-Mail geöffnet haben, oder "
		              "fordern Sie unten einen neuen Code an.",
		[M_OFF_TITLE] = "Anmeldung nicht möglich",
		[M_OFF] = "Die Anmeldung bei {a} ist zurzeit abgeschaltet.",
	},
};

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

/* Appends message m in the view's language, escaped, with {s} replaced by
 * seconds and {a} by the app's name. */
static void
say(struct cv_buf *p, const struct view *v, enum msg m, int seconds)
{
	const char *text = words[v->lang][m], *at;
	char num[16];
	char *part;

	while ((at = strchr(text, '{')) != NULL && (at[1] == 's' || at[1] == 'a') && at[2] == '}') {
		if ((part = strndup(text, (size_t)(at - text))) == NULL) {
			p->failed = 1;
			return;
		}
		cv_html_text(p, part);
		free(part);
		if (at[1] == 's') {
			snprintf(num, sizeof(num), "%d", seconds);
			cv_buf_adds(p, num);
		} else {
			cv_html_text(p, v->app.name != NULL ? v->app.name : "");
		}
		text = at + 3;
	}
	cv_html_text(p, text);
}

static void
open_page(struct cv_buf *p, const struct view *v, enum msg title)
{
	cv_html_begin(p, v->lang ? "de" : "en", words[v->lang][title], v->app.name);
	cv_buf_adds(p, "<link rel=\"stylesheet\" href=\"/portal/static/portal.css\">\n"
	               "<link rel=\"icon\" href=\"/portal/static/favicon.svg\">\n");
	if (cv_valid_color(v->app.brand_color)) {
		cv_buf_adds(p, "<style nonce=\"");
		cv_buf_adds(p, v->nonce);
		cv_buf_adds(p, "\">:root{--brand:");
		cv_buf_adds(p, v->app.brand_color);
		cv_buf_adds(p, "}</style>\n");
	}
	cv_buf_adds(p, "<script src=\"/portal/static/portal.js\" defer></script>\n");
	cv_html_body(p, "card");
	cv_buf_adds(p, "<p class=\"app\">");
	cv_html_text(p, v->app.name);
	cv_buf_adds(p, "</p>\n<h1>");
	cv_html_text(p, words[v->lang][title]);
	cv_buf_adds(p, "</h1>\n<div id=\"alert\" class=\"alert\" role=\"alert\" aria-live=\"assertive\">");
	if (v->alert != M__MAX)
		say(p, v, v->alert, v->alert_seconds);
	cv_buf_adds(p, "</div>\n");
}

static void
hidden(struct cv_buf *p, const char *name, const char *value)
{
	cv_buf_adds(p, "<input type=\"hidden\" name=\"");
	cv_buf_adds(p, name);
	cv_buf_adds(p, "\" value=\"");
	cv_html_text(p, value);
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
	cv_html_text(p, words[v->lang][M_EMAIL_LABEL]);
	cv_buf_adds(p, "</label>\n<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\""
	       " required autofocus maxlength=\"254\" value=\"");
	cv_html_text(p, email);
	cv_buf_adds(p, "\">\n<button type=\"submit\">");
	cv_html_text(p, words[v->lang][M_SEND]);
	cv_buf_adds(p, "</button>\n</form>\n");
}

static void
code_forms(struct cv_buf *p, const struct view *v, const char *email, int wait)
{
	char num[16];

	snprintf(num, sizeof(num), "%d", v->app.code_length);
	cv_buf_adds(p, "<p id=\"sent\">");
	cv_html_text(p, words[v->lang][M_SENT]);
	cv_buf_adds(p, " <strong>");
	cv_html_text(p, email);
	cv_buf_adds(p, "</strong></p>\n");
	form_open(p, v, "code-form", "code");
	hidden(p, "email", email);
	cv_buf_adds(p, "<label for=\"code\">");
	cv_html_text(p, words[v->lang][M_CODE_LABEL]);
	cv_buf_adds(p, "</label>\n<p class=\"hint\" id=\"code-hint\">");
	cv_html_text(p, words[v->lang][M_CODE_HINT]);
	cv_buf_adds(p, "</p>\n<input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\""
	       " autocomplete=\"one-time-code\" aria-describedby=\"code-hint\" required autofocus"
	       " data-length=\"");
	cv_buf_adds(p, num);
	cv_buf_adds(p, "\">\n<button type=\"submit\">");
	cv_html_text(p, words[v->lang][M_LOGIN]);
	cv_buf_adds(p, "</button>\n</form>\n");
	form_open(p, v, "resend-form", "resend");
	hidden(p, "email", email);
	snprintf(num, sizeof(num), "%d", wait > 0 ? wait : 0);
	cv_buf_adds(p, "<button type=\"submit\" id=\"resend\" class=\"secondary\" data-wait=\"");
	cv_buf_adds(p, num);
	cv_buf_adds(p, "\">");
	cv_html_text(p, words[v->lang][M_RESEND]);
	cv_buf_adds(p, "</button>\n<p id=\"countdown\" class=\"hint\" data-template=\"");
	cv_html_text(p, words[v->lang][M_RESEND_WAIT]);
	cv_buf_adds(p, "\" data-ready=\"");
	cv_html_text(p, words[v->lang][M_RESEND_READY]);
	cv_buf_adds(p, "\">");
	say(p, v, wait > 0 ? M_RESEND_WAIT : M_RESEND_READY, wait);
	cv_buf_adds(p, "</p>\n</form>\n<p><a href=\"/login/");
	cv_buf_adds(p, v->public_id);
	cv_buf_adds(p, "\">");
	cv_html_text(p, words[v->lang][M_OTHER_EMAIL]);
	cv_buf_adds(p, "</a></p>\n");
}

static void
confirm_form(struct cv_buf *p, const struct view *v, const char *token)
{
	cv_buf_adds(p, "<p>");
	cv_html_text(p, words[v->lang][M_CONFIRM_TEXT]);
	cv_buf_adds(p, "</p>\n");
	form_open(p, v, "confirm-form", "link");
	hidden(p, "token", token);
	cv_buf_adds(p, "<button type=\"submit\" autofocus>");
	cv_html_text(p, words[v->lang][M_LOGIN]);
	cv_buf_adds(p, "</button>\n</form>\n");
}

/*
 * The page of a link that cannot log in, for its state as cv.portal_link_state
 * names it ("unknown" also for garbage and missing tokens): what happened,
 * and the email form to ask for a new code.
 */
static void
dead_link(struct cv_buf *p, struct view *v, const char *state)
{
	static const struct {
		const char *state;
		enum msg    title, text;
		int         status;
	} states[] = {
		{"used", M_USED_TITLE, M_USED, 410},
		{"replaced", M_REPLACED_TITLE, M_REPLACED, 410},
		{"expired", M_EXPIRED_TITLE, M_EXPIRED, 410},
		{"burned", M_BURNED_TITLE, M_BURNED, 410},
	};
	enum msg title = M_INVALID_TITLE;
	size_t i;

	v->alert = M_INVALID;
	v->status = 400;
	for (i = 0; state != NULL && i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(state, states[i].state) == 0) {
			title = states[i].title;
			v->alert = states[i].text;
			v->status = states[i].status;
		}
	open_page(p, v, title);
	email_form(p, v, NULL);
}

static enum cv_err
finish(struct cv_buf *p, struct cv_reply *reply, int status)
{
	cv_html_end(p);
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
	    cv_origin_of(v->app.portal_url, portal_origin, sizeof(portal_origin)) != 0)
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

/* token when it has the form of a link token (43 base64url characters),
 * else NULL: garbage is refused without asking the database. */
static const char *
link_token(const char *token)
{
	if (token == NULL || strlen(token) != CV_LINK_TOKEN_LEN ||
	    strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
	        CV_LINK_TOKEN_LEN)
		return NULL;
	return token;
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

/* Reads the app from a cv.portal_app row into the view (*res, cleared
 * first, receives it). */
static enum cv_err
fetch_app(struct view *v, PGresult **res, const char *link_hash)
{
	enum cv_err err;

	PQclear(*res);
	err = cv_portal_app_fetch(v->public_id, NULL, link_hash, res);
	if (*res != NULL)
		cv_portal_app_read(*res, &v->app);
	return err;
}

/* The email step again, with an alert, for a post that names no usable
 * address or carries no valid CSRF token (the app is read on its own). */
static enum cv_err
email_view(struct cv_buf *p, struct view *v, PGresult **res, enum msg alert, const char *email,
           int status)
{
	enum cv_err err = fetch_app(v, res, NULL);

	if (err != CV_OK)
		return err;
	v->alert = alert;
	open_page(p, v, M_TITLE);
	email_form(p, v, email);
	v->status = status;
	return CV_OK;
}

/*
 * For a public id the portal calls did not find: when it names an app whose
 * account is disabled, the page that says logging in is switched off (403);
 * else CV_ERR_NOT_FOUND (the plain 404 page).
 */
static enum cv_err
switched_off(struct cv_buf *p, struct view *v, PGresult **res)
{
	enum cv_err err = fetch_app(v, res, NULL);

	if (err != CV_ERR_NOT_FOUND || *res == NULL || PQntuples(*res) != 1 ||
	    strcmp(PQgetvalue(*res, 0, CV_PORTAL_APP_COL_LINK_STATE), "inactive") != 0)
		return err == CV_OK ? CV_ERR_NOT_FOUND : err;
	free(p->p);
	memset(p, 0, sizeof(*p));
	v->alert = M_OFF;
	open_page(p, v, M_OFF_TITLE);
	v->status = 403;
	return CV_OK;
}

/* 303 to the portal with the ticket, or without a portal URL a page that
 * says the login is confirmed (the ticket is then left to expire). */
static enum cv_err
logged_in(struct cv_buf *p, struct cv_reply *reply, struct view *v, const char *ticket)
{
	const char *url = v->app.portal_url;

	open_page(p, v, M_DONE_TITLE);
	if (url == NULL) {
		cv_buf_adds(p, "<p id=\"done\">");
		say(p, v, M_DONE, 0);
		cv_buf_adds(p, "</p>\n");
		v->status = 200;
		return CV_OK;
	}
	if ((reply->location = cv_portal_ticket_url(url, ticket)) == NULL)
		return CV_ERR_INTERNAL;
	cv_buf_adds(p, "<p><a href=\"");
	cv_html_text(p, reply->location);
	cv_buf_adds(p, "\">");
	cv_html_text(p, words[v->lang][M_CONTINUE]);
	cv_buf_adds(p, "</a></p>\n");
	v->status = 303;
	return CV_OK;
}

/* GET and HEAD: show, never consume.  Without a token the email step; with
 * one (the email's link) the one-click confirmation, or why it cannot log
 * in. */
static enum cv_err
get_page(const struct cv_conf *conf, struct cv_buf *p, struct view *v, PGresult **res)
{
	struct json_object *query = NULL, *qv;
	const char *qs = getenv("QUERY_STRING"), *token = NULL, *state;
	int has_token = 0;
	char hash[65];
	enum cv_err err;

	if (qs != NULL && *qs != '\0') {
		/* A query that does not parse is a link cut or mangled in transit. */
		if (cv_form_parse(qs, strlen(qs), &query) != CV_OK)
			has_token = 1;
		else if (json_object_object_get_ex(query, "token", &qv)) {
			has_token = 1;
			token = link_token(json_object_get_string(qv));
		}
	}
	if (token != NULL && cv_code_hash(conf, 'l', token, strlen(token), hash) != 0) {
		err = CV_ERR_INTERNAL;
		goto out;
	}
	if ((err = fetch_app(v, res, token != NULL ? hash : NULL)) != CV_OK)
		goto out;
	state = token != NULL ? PQgetvalue(*res, 0, CV_PORTAL_APP_COL_LINK_STATE) : NULL;
	if (state != NULL && strcmp(state, "valid") == 0) {
		open_page(p, v, M_CONFIRM_TITLE);
		confirm_form(p, v, token);
		v->status = 200;
	} else if (has_token) {
		dead_link(p, v, state);
	} else {
		open_page(p, v, M_TITLE);
		email_form(p, v, NULL);
		v->status = 200;
	}
out:
	json_object_put(query);
	return err;
}

/* POST step=link: the button of the email's link.  Uses up the link and
 * its code through cv.portal_verify, as the JSON login/verify does. */
static enum cv_err
link_step(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply,
          struct cv_buf *p, struct view *v, PGresult **res, int *retry_after)
{
	char ticket[CV_TICKET_LEN + 1];
	const char *token = link_token(field(req, "token"));
	enum cv_err err;

	if (token == NULL) {
		if ((err = fetch_app(v, res, NULL)) == CV_OK)
			dead_link(p, v, NULL);
		return err;
	}
	err = cv_portal_verify(conf, req, v->public_id, NULL, NULL, token, NULL, ticket, res,
	                       retry_after);
	if (*res == NULL)
		return err;
	cv_portal_app_read(*res, &v->app);
	if (err == CV_OK)
		return logged_in(p, reply, v, ticket);
	if (err == CV_ERR_TOO_MANY_ATTEMPTS) {
		v->alert = M_TOO_MANY;
		v->alert_seconds = *retry_after;
		open_page(p, v, M_TITLE);
		email_form(p, v, NULL);
		v->status = 429;
		return CV_OK;
	}
	if (err != CV_ERR_PASSCODE_NOT_FOUND)
		return err;
	dead_link(p, v, cv_db_value(*res, 0, CV_PORTAL_VERIFY_COL_LINK_STATE));
	return CV_OK;
}

/* POST: every form carries a valid CSRF token, then its step runs. */
static enum cv_err
post_page(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply,
          struct cv_buf *p, struct view *v, PGresult **res, int *retry_after, const char *cookie)
{
	char ticket[CV_TICKET_LEN + 1], emailbuf[CV_EMAIL_MAX + 1], codebuf[16];
	const char *step = field(req, "step"), *email, *code;
	enum cv_err err;
	int wait;

	if (cookie == NULL || !cv_portal_csrf_valid(conf->code_secret, conf->code_secret_len,
	                                            v->public_id, cookie, field(req, "csrf"),
	                                            time(NULL)))
		return email_view(p, v, res, M_FORM_EXPIRED, NULL, 403);
	if (step != NULL && strcmp(step, "link") == 0)
		return link_step(conf, req, reply, p, v, res, retry_after);
	/* email, resend and code all name the address. */
	email = cv_email_field(req, "email", emailbuf, sizeof(emailbuf));
	if (email == NULL || step == NULL ||
	    (strcmp(step, "email") != 0 && strcmp(step, "resend") != 0 &&
	     strcmp(step, "code") != 0))
		return email_view(p, v, res, M_BAD_EMAIL, field(req, "email"), 200);
	if (strcmp(step, "code") == 0) {
		code = code_digits(field(req, "code"), codebuf, sizeof(codebuf));
		err = cv_portal_verify(conf, req, v->public_id, email, code != NULL ? code : "x",
		                       NULL, NULL, ticket, res, retry_after);
		OPENSSL_cleanse(codebuf, sizeof(codebuf));
		if (*res == NULL)
			return err;
		cv_portal_app_read(*res, &v->app);
		if (err == CV_OK)
			return logged_in(p, reply, v, ticket);
		wait = 0;
	} else {
		err = cv_portal_send(conf, req, v->public_id, email, NULL, v->lang ? "de" : "en",
		                     res, retry_after);
		if (*res == NULL)
			return err;
		cv_portal_app_read(*res, &v->app);
		wait = v->app.resend_cooldown;
	}
	if (err == CV_ERR_NOT_FOUND || err == CV_ERR_INTERNAL)
		return err;
	v->status = 200;
	if (err == CV_ERR_TOO_MANY_ATTEMPTS) {
		v->alert = M_TOO_MANY;
		v->alert_seconds = wait = *retry_after;
		v->status = 429;
	} else if (err != CV_OK) {
		v->alert = M_WRONG_CODE;
	}
	open_page(p, v, M_TITLE);
	code_forms(p, v, email, wait);
	return CV_OK;
}

enum cv_err
cv_portal_page(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	struct view v;
	struct cv_buf p = {NULL, 0, 0, 0};
	char cookie[CV_CSRF_COOKIE_LEN + 1], new_cookie[CV_CSRF_COOKIE_LEN + 1] = "";
	unsigned char raw[32], nonce[16];
	int have_cookie, retry_after = 0;
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
	OPENSSL_cleanse(raw, sizeof(raw));
	if (cv_portal_csrf_token(conf->code_secret, conf->code_secret_len, v.public_id,
	                         have_cookie ? cookie : new_cookie, time(NULL), v.csrf,
	                         sizeof(v.csrf)) != 0)
		return CV_ERR_INTERNAL;

	if (strcmp(req->method, "POST") != 0)
		err = get_page(conf, &p, &v, &res);
	else
		err = post_page(conf, req, reply, &p, &v, &res, &retry_after,
		                have_cookie ? cookie : NULL);
	if (err == CV_ERR_NOT_FOUND)
		err = switched_off(&p, &v, &res);
	if (err == CV_OK)
		err = finish(&p, reply, v.status);
	if (err == CV_OK)
		err = page_headers(conf, reply, &v, have_cookie ? NULL : new_cookie, retry_after);
	if (err != CV_OK && reply->html == NULL)
		free(p.p);
	PQclear(res);
	return err;
}
