/*
 * orchestrator.c - the Users Orchestrator endpoints.  A request names its
 * tenant by X-ClientCode, X-PaperCode and X-ClientGroupCode and proves
 * itself with an HS256 JWT under the tenant's secret (README "Users Orchestrator API"); then one
 * SQL function does the work (sql/functions/orchestrator.sql).  returnUrl must
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

#include "codes.h"
#include "db.h"
#include "email.h"
#include "form.h"
#include "html.h"
#include "jwt.h"
#include "orchestrator.h"
#include "origin.h"
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
	const char *params[CV_UO_TENANT_PARAM__MAX], *token, *issuer, *audience, *secret;
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
	params[CV_UO_TENANT_PARAM_CLIENT_CODE] = client;
	params[CV_UO_TENANT_PARAM_PAPER_CODE] = paper;
	params[CV_UO_TENANT_PARAM_CLIENT_GROUP_CODE] = group;
	if ((res = cv_db_exec(CV_STMT_UO_TENANT, params, &err)) == NULL)
		return err;
	err = CV_ERR_UNAUTHENTICATED;
	if (PQntuples(res) != 1 || PQgetvalue(res, 0, CV_UO_TENANT_COL_ACCOUNT_ACTIVE)[0] != 't')
		goto out;
	secret = PQgetvalue(res, 0, CV_UO_TENANT_COL_JWT_SECRET);
	claims = cv_jwt_verify(secret, strlen(secret), NULL, token, strlen(token));
	if (claims == NULL)
		goto out;
	/* exp is required; exp and nbf are judged by the database clock. */
	now = atoll(PQgetvalue(res, 0, CV_UO_TENANT_COL_NOW_EPOCH));
	if (!json_object_object_get_ex(claims, "exp", &v) || !json_object_is_type(v, json_type_int) ||
	    (exp = json_object_get_int64(v)) + CV_UO_LEEWAY <= now)
		goto out;
	if (json_object_object_get_ex(claims, "nbf", &v) &&
	    (!json_object_is_type(v, json_type_int) ||
	     (nbf = json_object_get_int64(v)) - CV_UO_LEEWAY > now))
		goto out;
	issuer = cv_db_value(res, 0, CV_UO_TENANT_COL_JWT_ISSUER);
	audience = cv_db_value(res, 0, CV_UO_TENANT_COL_JWT_AUDIENCE);
	if ((issuer != NULL && !claim_matches(claims, "iss", issuer)) ||
	    (audience != NULL && !claim_matches(claims, "aud", audience)))
		goto out;
	snprintf(tenant->id, sizeof(tenant->id), "%s",
	         PQgetvalue(res, 0, CV_UO_TENANT_COL_TENANT_ID));
	snprintf(tenant->origins, sizeof(tenant->origins), "%s",
	         PQgetvalue(res, 0, CV_UO_TENANT_COL_RETURN_ORIGINS));
	err = CV_OK;
out:
	json_object_put(claims);
	PQclear(res);
	return err;
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
	const char *email, *return_url = NULL, *name, *params[CV_UO_SEND_PARAM__MAX];
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
		if (cv_origin_of(return_url, origin, sizeof(origin)) != 0) {
			snprintf(detail, sizeof(detail),
			         "The %s must be an absolute http or https URL.", name);
			reply->description = detail;
			return CV_ERR_INVALID_INPUT;
		}
		if (!cv_origin_allowed(tenant.origins, origin)) {
			snprintf(detail, sizeof(detail),
			         "The %s is not on the tenant's list of allowed origins.", name);
			reply->description = detail;
			return CV_ERR_INVALID_INPUT;
		}
	}
	if (cv_code_new(conf, "verify_email", &nc) != 0)
		return CV_ERR_INTERNAL;
	params[CV_UO_SEND_PARAM_TENANT_ID] = tenant.id;
	params[CV_UO_SEND_PARAM_EMAIL] = email;
	params[CV_UO_SEND_PARAM_RETURN_URL] = return_url;
	params[CV_UO_SEND_PARAM_SEALED] = nc.sealed_hex;
	params[CV_UO_SEND_PARAM_CODE_HASHES] = nc.code_hashes;
	params[CV_UO_SEND_PARAM_LINK_HASH] = nc.link_hash;
	params[CV_UO_SEND_PARAM_PUBLIC_URL] = conf->public_url;
	params[CV_UO_SEND_PARAM_SOURCE_SYSTEM] = tenant.source;
	params[CV_UO_SEND_PARAM_REQUEST_ID] = req->request_id;
	if ((res = cv_db_exec(CV_STMT_UO_SEND, params, &err)) == NULL)
		goto out;
	/* A result of lib/errors.def's table; any other is an internal error
	 * (cv_db_result), never a misleading answer. */
	switch (err = cv_db_result_wait(res, CV_UO_SEND_COL_RESULT, CV_UO_SEND_COL_RETRY_AFTER,
	                                &reply->retry_after)) {
	case CV_OK:
		err = success(req, reply, "Verification code sent.");
		break;
	case CV_ERR_USER_APP_NOT_FOUND:   /* the tenant's account has no user app to send as */
		reply->description = "The tenant has no user app to send the email.";
		err = CV_ERR_INVALID_INPUT;
		break;
	case CV_ERR_ALREADY_VERIFIED:
	case CV_ERR_TOO_MANY_ATTEMPTS:
		break;
	default:
		err = CV_ERR_INTERNAL;
		break;
	}
out:
	PQclear(res);
	cv_code_wipe(&nc);
	return err;
}

enum cv_err
cv_uo_verify(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	char emailbuf[CV_EMAIL_MAX + 1], codebuf[CV_CODE_INPUT_MAX + 1], hash[65];
	const char *email, *code, *params[CV_UO_VERIFY_PARAM__MAX];
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
	params[CV_UO_VERIFY_PARAM_TENANT_ID] = tenant.id;
	params[CV_UO_VERIFY_PARAM_EMAIL] = email;
	params[CV_UO_VERIFY_PARAM_CODE_HASH] = hash;
	params[CV_UO_VERIFY_PARAM_CLIENT_ADDR] = req->client_addr;
	params[CV_UO_VERIFY_PARAM_SOURCE_SYSTEM] = tenant.source;
	params[CV_UO_VERIFY_PARAM_REQUEST_ID] = req->request_id;
	if ((res = cv_db_exec(CV_STMT_UO_VERIFY, params, &err)) == NULL)
		return err;
	switch (err = cv_db_result_wait(res, CV_UO_VERIFY_COL_RESULT, CV_UO_VERIFY_COL_RETRY_AFTER,
	                                &reply->retry_after)) {
	case CV_OK:
		err = success(req, reply, "Email verified.");
		break;
	case CV_ERR_TOO_MANY_ATTEMPTS:
	case CV_ERR_NOT_REGISTERED:
	case CV_ERR_CODE_INVALID:
	case CV_ERR_ALREADY_VERIFIED:
		break;
	default:
		err = CV_ERR_INTERNAL;
		break;
	}
	PQclear(res);
	return err;
}

/*
 * Builds the link page: title and message, and with token the form that
 * confirms (a POST, so that fetching the link changes nothing).
 */
static enum cv_err
page(struct cv_reply *reply, int status, const char *app_name, const char *title,
     const char *message, const char *token)
{
	struct cv_buf html = {NULL, 0, 0, 0};

	cv_html_begin(&html, "en", title, NULL);
	cv_buf_adds(&html,
	            "<style>body{font-family:system-ui,sans-serif;max-width:32rem;"
	            "margin:3rem auto;padding:0 1rem;line-height:1.5}button{font-size:1.1rem;"
	            "padding:.6rem 1.2rem}</style>\n");
	cv_html_body(&html, NULL);
	if (app_name != NULL && *app_name != '\0') {
		cv_buf_adds(&html, "<p>");
		cv_html_text(&html, app_name);
		cv_buf_adds(&html, "</p>\n");
	}
	cv_buf_adds(&html, "<h1>");
	cv_html_text(&html, title);
	cv_buf_adds(&html, "</h1>\n<p>");
	cv_html_text(&html, message);
	cv_buf_adds(&html, "</p>\n");
	if (token != NULL) {
		cv_buf_adds(&html, "<form method=\"post\" action=\"/v4/Users/VerifyEmail\">\n"
		                   "<input type=\"hidden\" name=\"token\" value=\"");
		cv_html_text(&html, token);
		cv_buf_adds(&html,
		            "\">\n<button type=\"submit\">Confirm my email</button>\n</form>\n");
	}
	cv_html_end(&html);
	if (html.failed) {
		cv_buf_wipe(&html);
		return CV_ERR_INTERNAL;
	}
	reply->html = html.p;
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

/* GET and HEAD: the page of the link whose token hashes to hash, with the
 * button that confirms while it is valid. */
static enum cv_err
link_state(struct cv_reply *reply, const char *hash, const char *token)
{
	const char *params[CV_UO_LINK_STATE_PARAM__MAX] = {
	    [CV_UO_LINK_STATE_PARAM_LINK_HASH] = hash,
	};
	const char *state, *app_name;
	enum cv_err err;
	PGresult *res;

	if ((res = cv_db_exec(CV_STMT_UO_LINK_STATE, params, &err)) == NULL)
		return err;
	state = PQgetvalue(res, 0, CV_UO_LINK_STATE_COL_STATE);
	app_name = PQgetvalue(res, 0, CV_UO_LINK_STATE_COL_APP_NAME);
	if (strcmp(state, "valid") == 0)
		err = page(reply, 200, app_name, "Confirm your email address",
		           "Press the button to confirm that this email address is yours.", token);
	else
		err = dead_link_page(reply, state, app_name);
	PQclear(res);
	return err;
}

/* POST: uses up the link whose token hashes to hash, and leads on to its
 * returnUrl when it has one. */
static enum cv_err
link_consume(const struct cv_request *req, struct cv_reply *reply, const char *hash)
{
	const char *params[CV_UO_LINK_CONSUME_PARAM__MAX] = {
	    [CV_UO_LINK_CONSUME_PARAM_LINK_HASH] = hash,
	    [CV_UO_LINK_CONSUME_PARAM_REQUEST_ID] = req->request_id,
	};
	const char *state, *app_name, *return_url;
	enum cv_err err;
	PGresult *res;

	if ((res = cv_db_exec(CV_STMT_UO_LINK_CONSUME, params, &err)) == NULL)
		return err;
	state = PQgetvalue(res, 0, CV_UO_LINK_CONSUME_COL_STATE);
	app_name = PQgetvalue(res, 0, CV_UO_LINK_CONSUME_COL_APP_NAME);
	return_url = cv_db_value(res, 0, CV_UO_LINK_CONSUME_COL_RETURN_URL);
	if (strcmp(state, "verified") != 0) {
		err = dead_link_page(reply, state, app_name);
	} else if (return_url != NULL) {
		/* Checked against the tenant's allow-list when the link was sent. */
		if ((reply->location = strdup(return_url)) == NULL)
			err = CV_ERR_INTERNAL;
		else
			err = page(reply, 303, app_name, "Email confirmed",
			           "Your email address is confirmed. Continue to the site.", NULL);
	} else {
		err = page(reply, 200, app_name, "Email confirmed",
		           "Your email address is confirmed. You can close this page.", NULL);
	}
	PQclear(res);
	return err;
}

enum cv_err
cv_uo_verify_email(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	struct json_object *query = NULL, *v;
	const char *token = NULL, *qs;
	char hash[65];
	enum cv_err err;
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
	if (token == NULL || strlen(token) != CV_LINK_TOKEN_LEN ||
	    cv_code_hash(conf, 'l', token, strlen(token), hash) != 0) {
		err = dead_link_page(reply, "unknown", NULL);
		goto out;
	}
	err = post ? link_consume(req, reply, hash) : link_state(reply, hash, token);
out:
	json_object_put(query);
	return err;
}
