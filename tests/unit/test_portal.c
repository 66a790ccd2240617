/*
 * test_portal.c - the pure parsers of the login portal (lib/portal.c):
 * public ids and API paths, Origin values, Accept-Language, cookies, the
 * CSRF token and tickets.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "portal.h"
#include "unit.h"

static void
public_ids(void)
{
	CHECK("id plain", cv_portal_public_id_valid("pa_0123abcd", 11));
	CHECK("id too short", !cv_portal_public_id_valid("pa_01", 5));
	CHECK("id slash", !cv_portal_public_id_valid("pa_0123/abcd", 12));
	CHECK("id dot", !cv_portal_public_id_valid("pa_0123.abcd", 12));
	CHECK("id 65",
	      !cv_portal_public_id_valid(
	          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 65));
}

static void
api_paths(void)
{
	char id[CV_PUBLIC_ID_MAX + 1];
	const char *action = NULL;

	CHECK("path code", cv_portal_api_path("pa_12345678/code", id, &action) == 0 &&
	                       strcmp(id, "pa_12345678") == 0 && strcmp(action, "code") == 0);
	CHECK("path verify", cv_portal_api_path("pa_12345678/verify", id, &action) == 0 &&
	                         strcmp(action, "verify") == 0);
	CHECK("path other action", cv_portal_api_path("pa_12345678/delete", id, &action) != 0);
	CHECK("path trailing slash", cv_portal_api_path("pa_12345678/code/", id, &action) != 0);
	CHECK("path no action", cv_portal_api_path("pa_12345678", id, &action) != 0);
	CHECK("path bad id", cv_portal_api_path("pa_1234..78/code", id, &action) != 0);
	CHECK("path empty", cv_portal_api_path("", id, &action) != 0);
}

static void
origins(void)
{
	CHECK("origin https", cv_portal_origin_valid("https://shop.example.com"));
	CHECK("origin port", cv_portal_origin_valid("http://127.0.0.1:8080"));
	CHECK("origin path", !cv_portal_origin_valid("https://shop.example.com/"));
	CHECK("origin upper", !cv_portal_origin_valid("https://Shop.example.com"));
	CHECK("origin null", !cv_portal_origin_valid("null"));
	CHECK("origin crlf", !cv_portal_origin_valid("https://a.com\r\nSet-Cookie: x=1"));
	CHECK("origin userinfo", !cv_portal_origin_valid("https://u@a.com"));
	CHECK("origin NULL", !cv_portal_origin_valid(NULL));
}

static void
languages(void)
{
	CHECK("lang none", strcmp(cv_portal_lang(NULL), "en") == 0);
	CHECK("lang empty", strcmp(cv_portal_lang(""), "en") == 0);
	CHECK("lang de-AT", strcmp(cv_portal_lang("de-AT,de;q=0.9,en;q=0.8"), "de") == 0);
	CHECK("lang q order", strcmp(cv_portal_lang("en;q=0.5, de;q=0.8"), "de") == 0);
	CHECK("lang first wins", strcmp(cv_portal_lang("en-GB, de"), "en") == 0);
	CHECK("lang unsupported", strcmp(cv_portal_lang("fr-CH, fr;q=0.9"), "en") == 0);
	CHECK("lang fallback later", strcmp(cv_portal_lang("fr, de;q=0.3"), "de") == 0);
	/* "de;q=x": an unreadable weight counts as 0, so the fallback wins. */
	CHECK("lang garbage", strcmp(cv_portal_lang(";;,,q=,de;q=x"), "en") == 0);
}

static void
cookies(void)
{
	char out[44];

	CHECK("cookie only", cv_portal_cookie("cv_csrf=abc_-9", "cv_csrf", out, sizeof(out)) == 0 &&
	                         strcmp(out, "abc_-9") == 0);
	CHECK("cookie among",
	      cv_portal_cookie("a=1; cv_csrf=xyz; b=2", "cv_csrf", out, sizeof(out)) == 0 &&
	          strcmp(out, "xyz") == 0);
	CHECK("cookie prefix name",
	      cv_portal_cookie("xcv_csrf=1", "cv_csrf", out, sizeof(out)) != 0);
	CHECK("cookie missing", cv_portal_cookie("a=1", "cv_csrf", out, sizeof(out)) != 0);
	CHECK("cookie NULL", cv_portal_cookie(NULL, "cv_csrf", out, sizeof(out)) != 0);
	CHECK("cookie bad char",
	      cv_portal_cookie("cv_csrf=a\"b", "cv_csrf", out, sizeof(out)) != 0);
	CHECK("cookie too long", cv_portal_cookie("cv_csrf=0123456789", "cv_csrf", out, 5) != 0);
	CHECK("cookie empty", cv_portal_cookie("cv_csrf=", "cv_csrf", out, sizeof(out)) != 0);
}

static void
csrf(void)
{
	static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";
	static const unsigned char other[32] = "fedcba9876543210fedcba9876543210";
	const char *cookie = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	char token[CV_CSRF_TOKEN_MAX + 1], bad[CV_CSRF_TOKEN_MAX + 1];
	time_t now = 1800000000;

	CHECK("csrf make",
	      cv_portal_csrf_token(key, 32, "pa_12345678", cookie, now, token, sizeof(token)) == 0);
	CHECK("csrf valid", cv_portal_csrf_valid(key, 32, "pa_12345678", cookie, token, now + 10));
	CHECK("csrf other app", !cv_portal_csrf_valid(key, 32, "pa_87654321", cookie, token, now));
	CHECK("csrf other cookie",
	      !cv_portal_csrf_valid(key, 32, "pa_12345678", "BBBB", token, now));
	CHECK("csrf other key",
	      !cv_portal_csrf_valid(other, 32, "pa_12345678", cookie, token, now));
	CHECK("csrf too old", !cv_portal_csrf_valid(key, 32, "pa_12345678", cookie, token,
	                                            now + CV_CSRF_MAX_AGE + 1));
	CHECK("csrf future",
	      !cv_portal_csrf_valid(key, 32, "pa_12345678", cookie, token, now - 120));
	memcpy(bad, token, sizeof(bad));
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
	CHECK("csrf altered mac", !cv_portal_csrf_valid(key, 32, "pa_12345678", cookie, bad, now));
	/* Ten seconds later, still young and not in the future: only the MAC,
	 * which covers the time, can refuse it. */
	snprintf(bad, sizeof(bad), "%lld%s", (long long)now + 10, strchr(token, '.'));
	CHECK("csrf altered time",
	      !cv_portal_csrf_valid(key, 32, "pa_12345678", cookie, bad, now + 20));
	CHECK("csrf NULL", !cv_portal_csrf_valid(key, 32, "pa_12345678", cookie, NULL, now));
	CHECK("csrf empty", !cv_portal_csrf_valid(key, 32, "pa_12345678", cookie, "", now));
	CHECK("csrf no dot",
	      !cv_portal_csrf_valid(key, 32, "pa_12345678", cookie, "1800000000", now));
}

static void
tickets(void)
{
	char t1[CV_TICKET_LEN + 1], t2[CV_TICKET_LEN + 1], h[65], want[65];
	unsigned char digest[SHA256_DIGEST_LENGTH];
	size_t i;

	CHECK("ticket made",
	      cv_portal_new_ticket(t1, h) == 0 && strlen(t1) == CV_TICKET_LEN && strlen(h) == 64);
	SHA256((const unsigned char *)t1, strlen(t1), digest);
	for (i = 0; i < sizeof(digest); i++)
		snprintf(want + 2 * i, 3, "%02x", digest[i]);
	CHECK("ticket hash is SHA-256 of the ticket", strcmp(h, want) == 0);
	CHECK("ticket fresh", cv_portal_new_ticket(t2, h) == 0 && strcmp(t1, t2) != 0);
}

int
main(void)
{
	public_ids();
	api_paths();
	origins();
	languages();
	cookies();
	csrf();
	tickets();
	return unit_done();
}
