/*
 * fuzz_portal.c - the parsers of the login portal (lib/portal.c): the API
 * path, the Origin check, Accept-Language, the Cookie header and the CSRF
 * token.  Input: up to four lines -- a path, an Origin or Accept-Language
 * value, a Cookie header, a CSRF token.
 * Links: lib/portal.c lib/origin.c lib/codes.c lib/verification.c lib/validate.c
 *        lib/request.c lib/form.c lib/utf8.c lib/jwt.c lib/crypto.c lib/email.c
 *        lib/error.c lib/keys.c fuzz/stub_db.c
 *
 * Invariants: an accepted path is "<public id>/<code|verify>" exactly; an
 * accepted origin holds no byte a header could be split by and re-parses to
 * itself; the language is "en" or "de"; a cookie value found is non-empty
 * base64url, fits its buffer and stands in the header after "cv_csrf=";
 * a token made for a cookie is valid for it, and the input token is valid
 * only when it is that very token.
 */
#include <ctype.h>

#include "fuzz.h"
#include "origin.h"
#include "portal.h"

static void
check_path(const char *path)
{
	char id[CV_PUBLIC_ID_MAX + 1], again[CV_PUBLIC_ID_MAX + 16];
	const char *action = NULL;

	if (cv_portal_api_path(path, id, &action) != 0)
		return;
	FUZZ_CHECK(cv_portal_public_id_valid(id, strlen(id)));
	FUZZ_CHECK(strcmp(action, "code") == 0 || strcmp(action, "verify") == 0);
	snprintf(again, sizeof(again), "%s/%s", id, action);
	FUZZ_CHECK(strcmp(again, path) == 0);
}

static void
check_origin(const char *origin)
{
	char norm[CV_ORIGIN_MAX + 1];
	const char *p;

	if (!cv_portal_origin_valid(origin))
		return;
	for (p = origin; *p != '\0'; p++)
		FUZZ_CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && *p != ',');
	FUZZ_CHECK(cv_origin_of(origin, norm, sizeof(norm)) == 0 && strcmp(norm, origin) == 0);
}

static void
check_cookie(const char *header)
{
	char out[CV_CSRF_COOKIE_LEN + 1];
	const char *at;
	size_t n, i;

	if (cv_portal_cookie(header, CV_CSRF_COOKIE, out, sizeof(out)) != 0)
		return;
	n = strlen(out);
	FUZZ_CHECK(n > 0 && n < sizeof(out));
	for (i = 0; i < n; i++)
		FUZZ_CHECK(isalnum((unsigned char)out[i]) || out[i] == '-' || out[i] == '_');
	at = strstr(header, CV_CSRF_COOKIE "=");
	FUZZ_CHECK(at != NULL);
}

static void
check_csrf(const char *cookie, const char *token)
{
	static const unsigned char key[] = FUZZ_KEY;
	char made[CV_CSRF_TOKEN_MAX + 1];
	time_t now = 1800000000;

	int made_ok = cv_portal_csrf_token(key, FUZZ_KEY_LEN, "pa_fuzz0000", cookie, now, made,
	                                   sizeof(made)) == 0;

	if (made_ok)
		FUZZ_CHECK(
		    cv_portal_csrf_valid(key, FUZZ_KEY_LEN, "pa_fuzz0000", cookie, made, now));
	if (cv_portal_csrf_valid(key, FUZZ_KEY_LEN, "pa_fuzz0000", cookie, token, now))
		FUZZ_CHECK(made_ok && strcmp(token, made) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size), *line[4] = {"", "", "", ""}, *p, *nl;
	const char *lang;
	int i;

	if (text == NULL)
		return 0;
	for (i = 0, p = text; i < 4 && p != NULL; i++) {
		line[i] = p;
		if ((nl = strchr(p, '\n')) != NULL)
			*nl = '\0';
		p = nl != NULL ? nl + 1 : NULL;
	}
	check_path(line[0]);
	check_origin(line[1]);
	lang = cv_portal_lang(line[1]);
	FUZZ_CHECK(strcmp(lang, "en") == 0 || strcmp(lang, "de") == 0);
	check_cookie(line[2]);
	check_csrf(line[2], line[3]);
	free(text);
	return 0;
}
