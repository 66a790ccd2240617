/*
 * orchestrator.c - the Users Orchestrator endpoints.  A request names its
 * tenant by X-ClientCode, X-PaperCode and X-ClientGroupCode and proves
 * itself with an HS256 JWT under the tenant's secret (README "Users Orchestrator API"); then one
 * SQL function does the work (sql/003_orchestrator.sql).  returnUrl must
 * lead to an origin on the tenant's allow-list: it is refused otherwise,
 * never replaced.  The link page shows state on GET and HEAD and consumes
 * the token only on POST, because mail scanners fetch links.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "db.h"
#include "email.h"
#include "form.h"
#include "jwt.h"
#include "orchestrator.h"
#include "verification.h"

#define RETURN_URL_MAX 2048
#define HEADER_MAX 64

struct tenant {
	char id[24];
	char source[HEADER_MAX + 1];   /* X-SourceSystem, recorded on events */
	char origins[4096];            /* the allow-list, space-separated */
};

/* Copies the header named by the CGI variable into out; records an E400_00
 * detail when it is missing, empty or too long. */
static int
required_header(struct cv_request *req, struct cv_reply *reply, const char *var,
                const char *name, char *out, size_t len)
{
	const char *v = getenv(var);
	static char detail[96];
	size_t i, n;

	if (v == NULL || (n = strlen(v)) == 0 || n >= len) {
		snprintf(detail, sizeof(detail), "The %s header is required.", name);
		reply->description = detail;
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e) {
			snprintf(detail, sizeof(detail), "The %s header is malformed.", name);
			reply->description = detail;
			return -1;
		}
	}
	memcpy(out, v, n + 1);
	(void)req;
	return 0;
}

/* 1 when the claim name of claims is a string equal to want or, for "aud",
 * an array holding it. */
static int
claim_matches(struct json_object *claims, const char *name, const char *want)
{
	struct json_object *v;
	size_t i;

	if (!json_object_object_get_ex(claims, name, &v))
		return 0;
	if (json_object_is_type(v, json_type_string))
		return strcmp(json_object_get_string(v), want) == 0;
	if (json_object_is_type(v, json_type_array))
		for (i = 0; i < json_object_array_length(v); i++) {
			struct json_object *item = json_object_array_get_idx(v, i);

			if (json_object_is_type(item, json_type_string) &&
			    strcmp(json_object_get_string(item), want) == 0)
				return 1;
		}
	return 0;
}

/* The token of "Authorization: Bearer <jwt>" (or a bare JWT), or NULL. */
static const char *
bearer_token(const char *header)
{
	if (header == NULL)
		return NULL;
	if (strncasecmp(header, "Bearer ", 7) == 0)
		header += 7;
	while (*header == ' ')
		header++;
	return *header != '\0' ? header : NULL;
}

/*
 * Checks the headers and the JWT of a Users Orchestrator request and fills
 * tenant.  Errors: CV_ERR_INVALID_INPUT (a header missing, with
 * reply->description), CV_ERR_UNAUTHENTICATED, or a database error.
 */
static enum cv_err
authenticate(struct cv_request *req, struct cv_reply *reply, struct tenant *tenant)
{
	char client[HEADER_MAX + 1], paper[HEADER_MAX + 1], group[HEADER_MAX + 1];
	const char *params[3], *token, *issuer, *audience;
	struct json_object *claims = NULL, *v;
	enum cv_err err;
	PGresult *res = NULL;
	long long now, exp, nbf;

	if (required_header(req, reply, "HTTP_X_SOURCESYSTEM", "X-SourceSystem", tenant->source,
	                    sizeof(tenant->source)) != 0 ||
	    required_header(req, reply, "HTTP_X_CLIENTCODE", "X-ClientCode", client,
	                    sizeof(client)) != 0 ||
	    required_header(req, reply, "HTTP_X_PAPERCODE", "X-PaperCode", paper, sizeof(paper)) != 0 ||
	    required_header(req, reply, "HTTP_X_CLIENTGROUPCODE", "X-ClientGroupCode", group,
	                    sizeof(group)) != 0)
		return CV_ERR_INVALID_INPUT;
	if ((token = bearer_token(req->authorization)) == NULL)
		return CV_ERR_UNAUTHENTICATED;
	params[0] = client;
	params[1] = paper;
	params[2] = group;
	if ((res = cv_db_exec(CV_STMT_UO_TENANT, params, &err)) == NULL)
		return err;
	err = CV_ERR_UNAUTHENTICATED;
	if (PQntuples(res) != 1 || PQgetvalue(res, 0, 5)[0] != 't')
		goto out;
	claims = cv_jwt_verify(PQgetvalue(res, 0, 1), strlen(PQgetvalue(res, 0, 1)), NULL, token,
	                       strlen(token));
	if (claims == NULL)
		goto out;
	/* exp is required; exp and nbf are judged by the database clock. */
	now = atoll(PQgetvalue(res, 0, 6));
	if (!json_object_object_get_ex(claims, "exp", &v) || !json_object_is_type(v, json_type_int) ||
	    (exp = json_object_get_int64(v)) + CV_UO_LEEWAY <= now)
		goto out;
	if (json_object_object_get_ex(claims, "nbf", &v) &&
	    (!json_object_is_type(v, json_type_int) ||
	     (nbf = json_object_get_int64(v)) - CV_UO_LEEWAY > now))
		goto out;
	issuer = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
	audience = PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3);
	if ((issuer != NULL && !claim_matches(claims, "iss", issuer)) ||
	    (audience != NULL && !claim_matches(claims, "aud", audience)))
		goto out;
	snprintf(tenant->id, sizeof(tenant->id), "%s", PQgetvalue(res, 0, 0));
	snprintf(tenant->origins, sizeof(tenant->origins), "%s", PQgetvalue(res, 0, 4));
	err = CV_OK;
out:
	json_object_put(claims);
	PQclear(res);
	return err;
}

int
cv_uo_url_origin(const char *url, char *origin, size_t len)
{
	const char *p, *host, *end;
	size_t scheme_len, i, n;

	if (strncasecmp(url, "https://", 8) == 0)
		scheme_len = 5;
	else if (strncasecmp(url, "http://", 7) == 0)
		scheme_len = 4;
	else
		return -1;
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '\\')
			return -1;
	host = url + scheme_len + 3;
	end = host + strcspn(host, "/?#");
	if (end == host || memchr(host, '@', (size_t)(end - host)) != NULL)
		return -1;
	/* host[:port]: letters, digits, dots, hyphens; port digits only. */
	for (i = 0; host + i < end && host[i] != ':'; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '.' && host[i] != '-')
			return -1;
	if (i == 0)
		return -1;
	if (host + i < end) {
		if (host + i + 1 == end)
			return -1;
		for (p = host + i + 1; p < end; p++)
			if (!isdigit((unsigned char)*p))
				return -1;
	}
	n = scheme_len + 3 + (size_t)(end - host);
	if (n >= len)
		return -1;
	for (i = 0; i < n; i++)
		origin[i] = (char)tolower((unsigned char)url[i]);
	origin[n] = '\0';
	return 0;
}

int
cv_uo_origin_allowed(const char *allowed, const char *origin)
{
	size_t n = strlen(origin);
	const char *p;

	if (n == 0)
		return 0;   /* strstr(p, "") would match everywhere */
	for (p = allowed; (p = strstr(p, origin)) != NULL; p += n)
		if ((p == allowed || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
	return 0;
}

/* A body field in the dialect's casing ("email" / "Email"), else the other. */
static const char *
field_name(struct cv_request *req, const char *camel, const char *pascal, int legacy)
{
	const char *first = legacy ? pascal : camel, *second = legacy ? camel : pascal;

	return json_object_object_get_ex(req->body, first, NULL) ||
	               !json_object_object_get_ex(req->body, second, NULL)
	           ? first : second;
}

static enum cv_err
success(struct cv_request *req, struct cv_reply *reply, const char *text)
{
	reply->document = cv_uo_envelope(req, reply->dialect, 200, "UsersOrchestrator_S200", text);
	return reply->document != NULL ? CV_OK : CV_ERR_INTERNAL;
}

enum cv_err
cv_uo_send(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	int legacy = reply->dialect == CV_DIALECT_UO_LEGACY;
	char emailbuf[CV_EMAIL_MAX + 1], urlbuf[RETURN_URL_MAX + 1], origin[300];
	static char detail[160];
	const char *email, *return_url = NULL, *name, *params[9];
	struct cv_new_code nc;
	struct tenant tenant;
	enum cv_err err;
	PGresult *res = NULL;

	memset(&nc, 0, sizeof(nc));
	if ((err = authenticate(req, reply, &tenant)) != CV_OK)
		return err;
	email = cv_email_field(req, field_name(req, "email", "Email", legacy), emailbuf,
	                       sizeof(emailbuf));
	if (email == NULL)
		return CV_ERR_INVALID_INPUT;
	name = field_name(req, "returnUrl", "ReturnUrl", legacy);
	if (json_object_object_get_ex(req->body, name, NULL) &&
	    !json_object_is_type(json_object_object_get(req->body, name), json_type_null)) {
		return_url = cv_request_string(req, name, RETURN_URL_MAX, 0, urlbuf, sizeof(urlbuf));
		if (return_url == NULL)
			return CV_ERR_INVALID_INPUT;
		if (cv_uo_url_origin(return_url, origin, sizeof(origin)) != 0) {
			snprintf(detail, sizeof(detail),
			         "The %s must be an absolute http or https URL.", name);
			reply->description = detail;
			return CV_ERR_INVALID_INPUT;
		}
		if (!cv_uo_origin_allowed(tenant.origins, origin)) {
			snprintf(detail, sizeof(detail),
			         "The %s is not on the tenant's list of allowed origins.", name);
			reply->description = detail;
			return CV_ERR_INVALID_INPUT;
		}
	}
	if (cv_new_code(conf, "verify_email", &nc) != 0)
		return CV_ERR_INTERNAL;
	params[0] = tenant.id;
	params[1] = email;
	params[2] = return_url;
	params[3] = nc.sealed_hex;
	params[4] = nc.code_hashes;
	params[5] = nc.link_hash;
	params[6] = conf->public_url;
	params[7] = tenant.source;
	params[8] = req->request_id;
	if ((res = cv_db_exec(CV_STMT_UO_SEND, params, &err)) == NULL)
		goto out;
	switch (atoi(PQgetvalue(res, 0, 0))) {
	case 0:
		err = success(req, reply, "Verification code sent.");
		break;
	case 16:
		err = CV_ERR_ALREADY_VERIFIED;
		break;
	case 1029:
		reply->retry_after = atoi(PQgetvalue(res, 0, 1));
		err = CV_ERR_TOO_MANY_ATTEMPTS;
		break;
	default:   /* 14: the tenant's account has no user app to send as */
		reply->description = "The tenant has no user app to send the email.";
		err = CV_ERR_INVALID_INPUT;
		break;
	}
out:
	PQclear(res);
	cv_new_code_wipe(&nc);
	return err;
}

enum cv_err
cv_uo_verify(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	char emailbuf[CV_EMAIL_MAX + 1], codebuf[CV_CODE_INPUT_MAX + 1], hash[65];
	const char *email, *code, *params[6];
	struct tenant tenant;
	enum cv_err err;
	PGresult *res;

	if ((err = authenticate(req, reply, &tenant)) != CV_OK)
		return err;
	email = cv_email_field(req, "email", emailbuf, sizeof(emailbuf));
	code = cv_request_string(req, "verificationCode", CV_CODE_INPUT_MAX, 1, codebuf,
	                         sizeof(codebuf));
	if (email == NULL || code == NULL)
		return CV_ERR_INVALID_INPUT;
	if (cv_code_hash(conf, 'c', code, strlen(code), hash) != 0)
		return CV_ERR_INTERNAL;
	params[0] = tenant.id;
	params[1] = email;
	params[2] = hash;
	params[3] = req->client_addr;
	params[4] = tenant.source;
	params[5] = req->request_id;
	if ((res = cv_db_exec(CV_STMT_UO_VERIFY, params, &err)) == NULL)
		return err;
	switch (atoi(PQgetvalue(res, 0, 0))) {
	case 0:
		err = success(req, reply, "Email verified.");
		break;
	case 1029:
		reply->retry_after = atoi(PQgetvalue(res, 0, 1));
		err = CV_ERR_TOO_MANY_ATTEMPTS;
		break;
	case 14:
		err = CV_ERR_NOT_REGISTERED;
		break;
	case 16:
		err = CV_ERR_ALREADY_VERIFIED;
		break;
	default:
		err = CV_ERR_CODE_INVALID;
		break;
	}
	PQclear(res);
	return err;
}

/* Appends text to the page with &, <, >, " and ' escaped. */
static void
append_escaped(char *page, size_t len, const char *text)
{
	size_t n = strlen(page);
	const char *rep;

	for (; *text != '\0' && n + 7 < len; text++) {
		if ((rep = cv_html_entity(*text)) == NULL) {
			page[n++] = *text;
			continue;
		}
		memcpy(page + n, rep, strlen(rep));
		n += strlen(rep);
	}
	page[n] = '\0';
}

/*
 * Builds the link page: title and message, and with token the form that
 * confirms (a POST, so that fetching the link changes nothing).
 */
static enum cv_err
page(struct cv_reply *reply, int status, const char *app_name, const char *title,
     const char *message, const char *token)
{
	size_t len = 4096;
	char *html = malloc(len);

	if (html == NULL)
		return CV_ERR_INTERNAL;
	snprintf(html, len,
	         "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	         "<title>");
	append_escaped(html, len, title);
	strncat(html, "</title>\n<style>body{font-family:system-ui,sans-serif;max-width:32rem;"
	              "margin:3rem auto;padding:0 1rem;line-height:1.5}button{font-size:1.1rem;"
	              "padding:.6rem 1.2rem}</style>\n</head>\n<body>\n<main>\n",
	        len - strlen(html) - 1);
	if (app_name != NULL && *app_name != '\0') {
		strncat(html, "<p>", len - strlen(html) - 1);
		append_escaped(html, len, app_name);
		strncat(html, "</p>\n", len - strlen(html) - 1);
	}
	strncat(html, "<h1>", len - strlen(html) - 1);
	append_escaped(html, len, title);
	strncat(html, "</h1>\n<p>", len - strlen(html) - 1);
	append_escaped(html, len, message);
	strncat(html, "</p>\n", len - strlen(html) - 1);
	if (token != NULL) {
		strncat(html, "<form method=\"post\" action=\"/v4/Users/VerifyEmail\">\n"
		              "<input type=\"hidden\" name=\"token\" value=\"",
		        len - strlen(html) - 1);
		append_escaped(html, len, token);
		strncat(html, "\">\n<button type=\"submit\">Confirm my email</button>\n</form>\n",
		        len - strlen(html) - 1);
	}
	strncat(html, "</main>\n</body>\n</html>\n", len - strlen(html) - 1);
	reply->html = html;
	reply->status = status;
	return CV_OK;
}

/* The page for a link that can no longer be used. */
static enum cv_err
dead_link_page(struct cv_reply *reply, const char *state, const char *app_name)
{
	if (strcmp(state, "used") == 0)
		return page(reply, 410, app_name, "This link has been used",
		            "This email address is already confirmed, or a newer email replaced this "
		            "one. If you still need to confirm, ask for a new email.", NULL);
	if (strcmp(state, "expired") == 0)
		return page(reply, 410, app_name, "This link has expired",
		            "Links are valid for a limited time. Ask for a new email to confirm your "
		            "address.", NULL);
	return page(reply, 404, app_name, "This link is not valid",
	            "Check that you opened the whole link from the email, or ask for a new one.",
	            NULL);
}

enum cv_err
cv_uo_verify_email(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	struct json_object *query = NULL, *v;
	const char *token = NULL, *qs, *params[2];
	char hash[65];
	enum cv_err err;
	PGresult *res = NULL;
	int post = strcmp(req->method, "POST") == 0;

	if (post) {
		if (json_object_object_get_ex(req->body, "token", &v) &&
		    json_object_is_type(v, json_type_string))
			token = json_object_get_string(v);
	} else if ((qs = getenv("QUERY_STRING")) != NULL &&
	           cv_form_parse(qs, strlen(qs), &query) == CV_OK &&
	           json_object_object_get_ex(query, "token", &v)) {
		token = json_object_get_string(v);
	}
	if (token == NULL || strlen(token) != 43 ||
	    cv_code_hash(conf, 'l', token, strlen(token), hash) != 0) {
		err = dead_link_page(reply, "unknown", NULL);
		goto out;
	}
	params[0] = hash;
	params[1] = req->request_id;
	if ((res = cv_db_exec(post ? CV_STMT_UO_LINK_CONSUME : CV_STMT_UO_LINK_STATE, params,
	                      &err)) == NULL)
		goto out;
	if (!post) {
		if (strcmp(PQgetvalue(res, 0, 0), "valid") == 0)
			err = page(reply, 200, PQgetvalue(res, 0, 1), "Confirm your email address",
			           "Press the button to confirm that this email address is yours.", token);
		else
			err = dead_link_page(reply, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	} else if (strcmp(PQgetvalue(res, 0, 0), "verified") != 0) {
		err = dead_link_page(reply, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2));
	} else if (!PQgetisnull(res, 0, 1)) {
		/* Checked against the tenant's allow-list when the link was sent. */
		if ((reply->location = strdup(PQgetvalue(res, 0, 1))) == NULL) {
			err = CV_ERR_INTERNAL;
			goto out;
		}
		err = page(reply, 303, PQgetvalue(res, 0, 2), "Email confirmed",
		           "Your email address is confirmed. Continue to the site.", NULL);
	} else {
		err = page(reply, 200, PQgetvalue(res, 0, 2), "Email confirmed",
		           "Your email address is confirmed. You can close this page.", NULL);
	}
out:
	PQclear(res);
	json_object_put(query);
	return err;
}
