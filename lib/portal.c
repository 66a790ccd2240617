/*
 * portal.c - the portal's JSON endpoints, its CORS policy and the parsers
 * the hosted page shares.  CORS: an Origin on the app's allow-list gets
 * Access-Control-Allow-Origin (and -Credentials only when the app says so);
 * any other Origin is refused with 403 (code 1403) and no CORS headers, so
 * its JavaScript learns nothing; a request without Origin (a server, curl)
 * is served without CORS headers.  The allow-list check happens inside the
 * one database call of each request.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "codes.h"
#include "crypto.h"
#include "db.h"
#include "email.h"
#include "origin.h"
#include "portal.h"
#include "verification.h"

void
cv_portal_app_read(const PGresult *res, struct cv_portal_app *app)
{
	const char *v;

	memset(app, 0, sizeof(*app));
	if (PQntuples(res) != 1 || PQnfields(res) < CV_PORTAL_COL__MAX)
		return;
	app->name = cv_db_value(res, 0, CV_PORTAL_COL_APP_NAME);
	app->brand_color = cv_db_value(res, 0, CV_PORTAL_COL_BRAND_COLOR);
	app->frame_ancestors = cv_db_value(res, 0, CV_PORTAL_COL_FRAME_ANCESTORS);
	app->origins = cv_db_value(res, 0, CV_PORTAL_COL_ALLOWED_ORIGINS);
	v = cv_db_value(res, 0, CV_PORTAL_COL_ALLOW_CREDENTIALS);
	app->allow_credentials = v != NULL && v[0] == 't';
	app->portal_url = cv_db_value(res, 0, CV_PORTAL_COL_PORTAL_URL);
	v = cv_db_value(res, 0, CV_PORTAL_COL_CODE_LENGTH);
	app->code_length = v != NULL ? atoi(v) : CV_CODE_MIN;
	v = cv_db_value(res, 0, CV_PORTAL_COL_RESEND_COOLDOWN);
	app->resend_cooldown = v != NULL ? atoi(v) : 0;
}

int
cv_portal_public_id_valid(const char *s, size_t len)
{
	size_t i;

	if (len < 8 || len > CV_PUBLIC_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

int
cv_portal_api_path(const char *path, char *public_id, const char **action)
{
	const char *slash = strchr(path, '/');
	size_t n;

	if (slash == NULL || !cv_portal_public_id_valid(path, (size_t)(slash - path)))
		return -1;
	n = (size_t)(slash - path);
	if (strcmp(slash + 1, "code") == 0)
		*action = "code";
	else if (strcmp(slash + 1, "verify") == 0)
		*action = "verify";
	else
		return -1;
	memcpy(public_id, path, n);
	public_id[n] = '\0';
	return 0;
}

int
cv_portal_origin_valid(const char *origin)
{
	char norm[CV_ORIGIN_MAX + 1];

	return origin != NULL && strlen(origin) <= CV_ORIGIN_MAX &&
	       cv_origin_of(origin, norm, sizeof(norm)) == 0 && strcmp(norm, origin) == 0;
}

const char *
cv_portal_lang(const char *header)
{
	static const char *const supported[] = {"en", "de"};
	const char *p = header, *best = "en";
	double best_q = 0.0;
	size_t i, n;

	while (p != NULL && *p != '\0') {
		const char *tag, *end = strchr(p, ','), *semi;
		double q = 1.0;

		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		tag = p;
		n = strcspn(tag, ";-, \t");
		if ((semi = memchr(p, ';', (size_t)(end - p))) != NULL) {
			const char *qs = semi + 1;

			while (qs < end && *qs == ' ')
				qs++;
			if (end - qs >= 2 && qs[0] == 'q' && qs[1] == '=')
				q = strtod(qs + 2, NULL);
		}
		for (i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
			if (n == 2 && strncasecmp(tag, supported[i], 2) == 0 && q > best_q) {
				best = supported[i];
				best_q = q;
			}
		p = *end == ',' ? end + 1 : end;
	}
	return best;
}

int
cv_portal_cookie(const char *header, const char *name, char *out, size_t len)
{
	size_t nlen = strlen(name), vlen;
	const char *p = header, *v;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ';')
			p++;
		v = p + strcspn(p, ";");
		if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			p += nlen + 1;
			vlen = (size_t)(v - p);
			if (vlen == 0 || vlen >= len)
				return -1;
			for (size_t i = 0; i < vlen; i++)
				if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != '_')
					return -1;
			memcpy(out, p, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p = v;
	}
	return -1;
}

/* The base64url MAC of a CSRF token into out (44 bytes). */
static int
csrf_mac(const unsigned char *key, size_t keylen, const char *public_id, const char *cookie,
         long long issued, char out[44])
{
	char msg[256];
	unsigned char mac[CV_SHA256_LEN];
	int n = snprintf(msg, sizeof(msg), "csrf:%s:%lld:%s", public_id, issued, cookie);

	if (n < 0 || (size_t)n >= sizeof(msg) ||
	    cv_hmac_sha256(key, keylen, msg, (size_t)n, mac) != 0)
		return -1;
	cv_b64url_encode(mac, sizeof(mac), out);
	return 0;
}

int
cv_portal_csrf_token(const unsigned char *key, size_t keylen, const char *public_id,
                     const char *cookie, time_t issued, char *out, size_t len)
{
	char mac[44];
	int n;

	if (csrf_mac(key, keylen, public_id, cookie, (long long)issued, mac) != 0)
		return -1;
	n = snprintf(out, len, "%lld.%s", (long long)issued, mac);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

int
cv_portal_csrf_valid(const unsigned char *key, size_t keylen, const char *public_id,
                     const char *cookie, const char *token, time_t now)
{
	char want[44], *end;
	long long issued;

	if (token == NULL || cookie == NULL || !isdigit((unsigned char)token[0]) ||
	    strlen(token) > CV_CSRF_TOKEN_MAX)
		return 0;
	issued = strtoll(token, &end, 10);
	if (*end != '.' || strlen(end + 1) != 43 || issued > (long long)now + 60 ||
	    issued < (long long)now - CV_CSRF_MAX_AGE)
		return 0;
	if (csrf_mac(key, keylen, public_id, cookie, issued, want) != 0)
		return 0;
	return cv_ct_equal(want, end + 1, 43);
}

int
cv_portal_new_ticket(char ticket[CV_TICKET_LEN + 1], char hash[65])
{
	unsigned char raw[32], digest[CV_SHA256_LEN];

	if (cv_random_bytes(raw, sizeof(raw)) != 0)
		return -1;
	cv_b64url_encode(raw, sizeof(raw), ticket);
	OPENSSL_cleanse(raw, sizeof(raw));
	cv_sha256(ticket, CV_TICKET_LEN, digest);
	cv_hex_encode(digest, sizeof(digest), hash);
	return 0;
}

enum cv_err
cv_portal_send(const struct cv_conf *conf, const struct cv_request *req, const char *public_id,
               const char *email, const char *origin, const char *lang, PGresult **res,
               int *retry_after)
{
	struct cv_new_code nc;
	const char *params[CV_PORTAL_SEND_PARAM__MAX];
	enum cv_err err = CV_ERR_INTERNAL;

	*res = NULL;
	/* The same work for every address: the code is made (and sealed)
	 * before the database knows whether anyone has it. */
	if (cv_code_new(conf, "login", &nc) == 0) {
		params[CV_PORTAL_SEND_PARAM_PUBLIC_ID] = public_id;
		params[CV_PORTAL_SEND_PARAM_EMAIL] = email;
		params[CV_PORTAL_SEND_PARAM_ORIGIN] = origin;
		params[CV_PORTAL_SEND_PARAM_CLIENT_ADDR] = req->client_addr;
		params[CV_PORTAL_SEND_PARAM_LANG] = lang;
		params[CV_PORTAL_SEND_PARAM_SEALED] = nc.sealed_hex;
		params[CV_PORTAL_SEND_PARAM_CODE_HASHES] = nc.code_hashes;
		params[CV_PORTAL_SEND_PARAM_LINK_HASH] = nc.link_hash;
		params[CV_PORTAL_SEND_PARAM_PUBLIC_URL] = conf->public_url;
		params[CV_PORTAL_SEND_PARAM_REQUEST_ID] = req->request_id;
		if ((*res = cv_db_exec(CV_STMT_PORTAL_SEND, params, &err)) != NULL)
			err = cv_db_result_wait(*res, CV_PORTAL_SEND_COL_RESULT,
			                        CV_PORTAL_SEND_COL_RETRY_AFTER, retry_after);
	}
	cv_code_wipe(&nc);
	return err;
}

enum cv_err
cv_portal_verify(const struct cv_conf *conf, const struct cv_request *req, const char *public_id,
                 const char *email, const char *code, const char *token, const char *origin,
                 char ticket[CV_TICKET_LEN + 1], PGresult **res, int *retry_after)
{
	char code_hash[65], link_hash[65], ticket_hash[65];
	const char *params[CV_PORTAL_VERIFY_PARAM__MAX];
	enum cv_err err = CV_ERR_INTERNAL;

	*res = NULL;
	if (cv_portal_new_ticket(ticket, ticket_hash) != 0)
		return CV_ERR_INTERNAL;
	if (code != NULL && cv_code_hash(conf, 'c', code, strlen(code), code_hash) != 0)
		return CV_ERR_INTERNAL;
	if (token != NULL && cv_code_hash(conf, 'l', token, strlen(token), link_hash) != 0)
		return CV_ERR_INTERNAL;
	params[CV_PORTAL_VERIFY_PARAM_PUBLIC_ID] = public_id;
	params[CV_PORTAL_VERIFY_PARAM_EMAIL] = email;
	params[CV_PORTAL_VERIFY_PARAM_CODE_HASH] = code != NULL ? code_hash : NULL;
	params[CV_PORTAL_VERIFY_PARAM_LINK_HASH] = token != NULL ? link_hash : NULL;
	params[CV_PORTAL_VERIFY_PARAM_ORIGIN] = origin;
	params[CV_PORTAL_VERIFY_PARAM_CLIENT_ADDR] = req->client_addr;
	params[CV_PORTAL_VERIFY_PARAM_TICKET_HASH] = ticket_hash;
	params[CV_PORTAL_VERIFY_PARAM_REQUEST_ID] = req->request_id;
	if ((*res = cv_db_exec(CV_STMT_PORTAL_VERIFY, params, &err)) != NULL)
		err = cv_db_result_wait(*res, CV_PORTAL_VERIFY_COL_RESULT,
		                        CV_PORTAL_VERIFY_COL_RETRY_AFTER, retry_after);
	return err;
}

/* reply->headers for an allowed origin (or only Vary without one). */
static enum cv_err
cors_headers(struct cv_reply *reply, const char *origin, int credentials, int preflight)
{
	size_t len = 1024;

	free(reply->headers);
	if ((reply->headers = malloc(len)) == NULL)
		return CV_ERR_INTERNAL;
	if (origin == NULL) {
		snprintf(reply->headers, len, "Vary: Origin\r\n");
		return CV_OK;
	}
	snprintf(reply->headers, len, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n%s%s",
	         origin, credentials ? "Access-Control-Allow-Credentials: true\r\n" : "",
	         preflight ? "Access-Control-Allow-Methods: POST, OPTIONS\r\n"
	                     "Access-Control-Allow-Headers: Content-Type\r\n"
	                     "Access-Control-Max-Age: 600\r\n"
	                   : "Access-Control-Expose-Headers: Retry-After, X-Request-Id\r\n");
	return CV_OK;
}

/* Settles the CORS answer of a request whose database call said err about
 * the app: refused origins and unknown apps get no CORS headers. */
static enum cv_err
with_cors(struct cv_reply *reply, enum cv_err err, const char *origin, const PGresult *res,
          int preflight)
{
	struct cv_portal_app app;

	if (err == CV_ERR_ORIGIN_REFUSED || err == CV_ERR_NOT_FOUND || res == NULL)
		return err;
	cv_portal_app_read(res, &app);
	if (cors_headers(reply, origin, app.allow_credentials, preflight) != CV_OK)
		return CV_ERR_INTERNAL;
	return err;
}

enum cv_err
cv_portal_app_fetch(const char *public_id, const char *origin, const char *link_hash,
                    PGresult **res)
{
	const char *params[CV_PORTAL_APP_PARAM__MAX] = {
	    [CV_PORTAL_APP_PARAM_PUBLIC_ID] = public_id,
	    [CV_PORTAL_APP_PARAM_ORIGIN] = origin,
	    [CV_PORTAL_APP_PARAM_LINK_HASH] = link_hash,
	};
	enum cv_err err;

	if ((*res = cv_db_exec(CV_STMT_PORTAL_APP, params, &err)) == NULL)
		return err;
	return cv_db_result(*res, CV_PORTAL_APP_COL_RESULT);
}

/* What both endpoints do with the result of their call: on success the
 * app's settings and an empty reply->data. */
static enum cv_err
settle(enum cv_err err, const PGresult *res, struct cv_reply *reply, struct cv_portal_app *app)
{
	if (err != CV_OK)
		return err;
	cv_portal_app_read(res, app);
	return (reply->data = json_object_new_object()) == NULL ? CV_ERR_INTERNAL : CV_OK;
}

char *
cv_portal_ticket_url(const char *portal_url, const char *ticket)
{
	size_t n = strlen(portal_url) + strlen(ticket) + 16;
	char *url = malloc(n);

	if (url != NULL)
		snprintf(url, n, "%s%cticket=%s", portal_url,
		         strchr(portal_url, '?') != NULL ? '&' : '?', ticket);
	return url;
}

static enum cv_err
api_code(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply,
         const char *public_id, const char *origin, PGresult **res)
{
	char emailbuf[CV_EMAIL_MAX + 1];
	const char *email, *lang = cv_portal_lang(getenv("HTTP_ACCEPT_LANGUAGE"));
	struct cv_portal_app app;
	enum cv_err err;

	if ((email = cv_email_field(req, "email", emailbuf, sizeof(emailbuf))) == NULL)
		return CV_ERR_INVALID_INPUT;
	err = cv_portal_send(conf, req, public_id, email, origin, lang, res, &reply->retry_after);
	if ((err = settle(err, *res, reply, &app)) != CV_OK)
		return err;
	/* The same words for every address (enumeration-safe). */
	json_object_object_add(reply->data, "type", json_object_new_string("Success"));
	json_object_object_add(reply->data, "message",
	                       json_object_new_string("If this address belongs to an account, an "
	                                              "email with a login code is on its way."));
	json_object_object_add(reply->data, "resend_after",
	                       json_object_new_int(app.resend_cooldown));
	return CV_OK;
}

static enum cv_err
api_verify(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply,
           const char *public_id, const char *origin, PGresult **res)
{
	char emailbuf[CV_EMAIL_MAX + 1], codebuf[CV_CODE_INPUT_MAX + 1];
	char tokenbuf[CV_CODE_INPUT_MAX + 1], ticket[CV_TICKET_LEN + 1], *url = NULL;
	const char *email = NULL, *code = NULL, *token = NULL;
	struct json_object *v;
	struct cv_portal_app app;
	enum cv_err err;

	if (json_object_object_get_ex(req->body, "token", &v)) {
		token = cv_request_string(req, "token", CV_CODE_INPUT_MAX, 0, tokenbuf,
		                          sizeof(tokenbuf));
		if (token == NULL)
			return CV_ERR_INVALID_INPUT;
	} else {
		code =
		    cv_request_string(req, "code", CV_CODE_INPUT_MAX, 1, codebuf, sizeof(codebuf));
		email = cv_email_field(req, "email", emailbuf, sizeof(emailbuf));
		if (code == NULL || email == NULL)
			return CV_ERR_INVALID_INPUT;
	}
	err = cv_portal_verify(conf, req, public_id, email, code, token, origin, ticket, res,
	                       &reply->retry_after);
	OPENSSL_cleanse(codebuf, sizeof(codebuf));
	if ((err = settle(err, *res, reply, &app)) != CV_OK)
		return err;
	json_object_object_add(reply->data, "ticket", json_object_new_string(ticket));
	json_object_object_add(
	    reply->data, "expires_in",
	    json_object_new_int(atoi(PQgetvalue(*res, 0, CV_PORTAL_VERIFY_COL_TICKET_TTL))));
	if (app.portal_url != NULL) {
		if ((url = cv_portal_ticket_url(app.portal_url, ticket)) == NULL)
			return CV_ERR_INTERNAL;
		json_object_object_add(reply->data, "redirect_url", json_object_new_string(url));
		free(url);
	}
	return CV_OK;
}

enum cv_err
cv_portal_api(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	char public_id[CV_PUBLIC_ID_MAX + 1];
	const char *action, *origin = getenv("HTTP_ORIGIN");
	int preflight = strcmp(req->method, "OPTIONS") == 0;
	PGresult *res = NULL;
	enum cv_err err;

	if (cv_portal_api_path(req->path_info, public_id, &action) != 0)
		return CV_ERR_NOT_FOUND;
	if (origin != NULL && !cv_portal_origin_valid(origin))
		return CV_ERR_ORIGIN_REFUSED;
	if (preflight) {
		if ((err = cv_portal_app_fetch(public_id, origin, NULL, &res)) == CV_OK)
			reply->status = 204;
	} else {
		err = strcmp(action, "code") == 0
		          ? api_code(conf, req, reply, public_id, origin, &res)
		          : api_verify(conf, req, reply, public_id, origin, &res);
		/* Refused before the call: still only an allowed origin reads why. */
		if (res == NULL && err == CV_ERR_INVALID_INPUT) {
			enum cv_err gated = cv_portal_app_fetch(public_id, origin, NULL, &res);

			if (gated != CV_OK)
				err = gated;
		}
	}
	err = with_cors(reply, err, origin, res, preflight);
	PQclear(res);
	return err;
}

enum cv_err
cv_portal_login_ticket(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	char ticketbuf[CV_CODE_INPUT_MAX + 1], hash[65];
	unsigned char digest[CV_SHA256_LEN];
	const char *ticket, *params[CV_LOGIN_TICKET_PARAM__MAX];
	enum cv_err err;
	PGresult *res;

	ticket =
	    cv_request_string(req, "ticket", CV_CODE_INPUT_MAX, 0, ticketbuf, sizeof(ticketbuf));
	if (ticket == NULL)
		return CV_ERR_INVALID_INPUT;
	cv_sha256(ticket, strlen(ticket), digest);
	cv_hex_encode(digest, sizeof(digest), hash);
	params[CV_LOGIN_TICKET_PARAM_KEY_HASH] = req->credential;
	params[CV_LOGIN_TICKET_PARAM_TICKET_HASH] = hash;
	params[CV_LOGIN_TICKET_PARAM_REQUEST_ID] = req->request_id;
	params[CV_LOGIN_TICKET_PARAM_CLIENT_ADDR] = req->client_addr;
	if ((res = cv_db_exec(CV_STMT_LOGIN_TICKET, params, &err)) == NULL)
		return err;
	err = cv_db_result_wait(res, CV_LOGIN_TICKET_COL_RESULT, CV_LOGIN_TICKET_COL_RETRY_AFTER,
	                        &reply->retry_after);
	if (err == CV_OK) {
		if ((reply->data = json_object_new_object()) == NULL)
			err = CV_ERR_INTERNAL;
		else {
			json_object_object_add(reply->data, "uuid",
			                       json_object_new_string(PQgetvalue(
			                           res, 0, CV_LOGIN_TICKET_COL_CONTACT_UUID)));
			err = cv_contact_token_reply(conf, res, reply);
		}
	}
	PQclear(res);
	return err;
}
