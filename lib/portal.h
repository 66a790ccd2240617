/*
 * portal.h - the browser-facing login portal (README, "Login portal"): the
 * public JSON endpoints POST /portal/v1/{app_public_id}/login/code and
 * /login/verify with their CORS policy, the backend's ticket exchange POST
 * /login-ticket, and the small pure parsers they and the hosted page
 * (portal_page.h) share.  The database calls are in sql/functions/portal.sql.
 */
#ifndef CV_PORTAL_H
#define CV_PORTAL_H

#include <stddef.h>
#include <time.h>

#include <libpq-fe.h>

#include "conf.h"
#include "error.h"
#include "request.h"
#include "response.h"

#define CV_PUBLIC_ID_MAX   64
#define CV_TICKET_LEN      43 /* 256 random bits, base64url */
#define CV_ORIGIN_MAX      255
#define CV_CSRF_COOKIE     "cv_csrf"
#define CV_CSRF_COOKIE_LEN 43   /* 256 random bits, base64url */
#define CV_CSRF_TOKEN_MAX  64   /* "<unix time>.<43 base64url>" */
#define CV_CSRF_MAX_AGE    7200 /* seconds a form stays valid */

/* What a portal statement says about the app (its CV_PORTAL_COLUMNS, see
 * lib/db.h); the strings belong to the PGresult and are NULL when SQL NULL. */
struct cv_portal_app {
	const char *name;
	const char *brand_color;
	const char *frame_ancestors;
	const char *origins; /* space-separated allow-list */
	const char *portal_url;
	int allow_credentials;
	int code_length;
	int resend_cooldown;
};

/* Fills app from row 0 of res (a portal statement's).  Cannot fail. */
void cv_portal_app_read(const PGresult *res, struct cv_portal_app *app);

/* 1 when the len bytes at s are a well-formed public id
 * ([A-Za-z0-9_-]{8,64}).  Cannot fail. */
int cv_portal_public_id_valid(const char *s, size_t len);

/*
 * Splits the PATH_INFO of portal-api, "<public_id>/<action>", copying the
 * id to public_id (CV_PUBLIC_ID_MAX + 1 bytes) and pointing *action at
 * "code" or "verify".  Returns 0, or -1 for anything else.
 */
int cv_portal_api_path(const char *path, char *public_id, const char **action);

/* 1 when origin is exactly a serialised http(s) origin
 * ("scheme://host[:port]", lowercase, no path): safe to echo in a header. */
int cv_portal_origin_valid(const char *origin);

/* The page language for an Accept-Language header (NULL allowed): "de" or
 * "en" (the fallback), by quality then order.  Cannot fail. */
const char *cv_portal_lang(const char *accept_language);

/*
 * The value of cookie name in a Cookie header, copied to out (len bytes)
 * when it is at most len - 1 bytes of base64url.  Returns 0 or -1.
 */
int cv_portal_cookie(const char *header, const char *name, char *out, size_t len);

/*
 * The CSRF token of the hosted page's forms: "<issued>.<MAC>", the MAC being
 * base64url HMAC-SHA256 under key of "csrf:<public_id>:<issued>:<cookie>",
 * so a token is bound to the app, to its time and to the browser's
 * cv_csrf cookie (a double submit that an attacker cannot forge without
 * reading the cookie).  Writes CV_CSRF_TOKEN_MAX + 1 bytes at most.
 * Returns 0 or -1.
 */
int cv_portal_csrf_token(const unsigned char *key, size_t keylen, const char *public_id,
                         const char *cookie, time_t issued, char *out, size_t len);

/* 1 when token is a CSRF token for public_id and cookie issued at most
 * CV_CSRF_MAX_AGE seconds before now (and not in the future).  Constant
 * time in the MAC.  Cannot fail. */
int cv_portal_csrf_valid(const unsigned char *key, size_t keylen, const char *public_id,
                         const char *cookie, const char *token, time_t now);

/*
 * A fresh login ticket (CV_TICKET_LEN + 1 bytes) and the hex SHA-256 the
 * database keeps (65 bytes).  Returns 0 or -1.
 */
int cv_portal_new_ticket(char ticket[CV_TICKET_LEN + 1], char hash[65]);

/*
 * The portal's own calls (shared by portal-api and portal-page):
 * cv.portal_send and cv.portal_verify with the code, link token and ticket
 * made here.  email, code or token may be NULL as the call needs; origin
 * NULL means no Origin header.  On a result row (whatever the result) *res
 * holds it for the caller to read and PQclear; ticket receives the ticket on
 * success of verify, and *retry_after the seconds to wait when a limit
 * refused the request.  Return the result as an error (CV_OK on success).
 */
enum cv_err cv_portal_send(const struct cv_conf *conf, const struct cv_request *req,
                           const char *public_id, const char *email, const char *origin,
                           const char *lang, PGresult **res, int *retry_after);
enum cv_err cv_portal_verify(const struct cv_conf *conf, const struct cv_request *req,
                             const char *public_id, const char *email, const char *code,
                             const char *token, const char *origin, char ticket[CV_TICKET_LEN + 1],
                             PGresult **res, int *retry_after);

/* portal_url with "?ticket=<ticket>" (or "&ticket=" when it has a query),
 * for the caller to free; NULL when out of memory. */
/*
 * The app's row (cv.portal_app): its settings, whether origin (NULL: none
 * sent) may call it, and with link_hash (or NULL) the state of that link.
 * For a preflight, a request refused before its own call, and the hosted
 * page's views that need no other call.  *res is the result (or NULL),
 * which the caller clears.
 */
enum cv_err cv_portal_app_fetch(const char *public_id, const char *origin,
                                const char *link_hash, PGresult **res);

char *cv_portal_ticket_url(const char *portal_url, const char *ticket);

/* OPTIONS and POST /portal/v1/{app_public_id}/login/{code,verify}. */
enum cv_err cv_portal_api(const struct cv_conf *conf, struct cv_request *req,
                          struct cv_reply *reply);

/* POST /api/v3/oauth/clients/contact-verification/login-ticket (API key). */
enum cv_err cv_portal_login_ticket(const struct cv_conf *conf, struct cv_request *req,
                                   struct cv_reply *reply);

#endif
