/*
 * test_origin.c - the origin of a URL and the allow-list check (lib/origin.c)
 * that stand between a verification link's returnUrl and an open redirect.
 */
#include "config.h"

#include <string.h>

#include "origin.h"
#include "unit.h"

static int
origin_is(const char *url, const char *want)
{
	char origin[256];

	return cv_origin_of(url, origin, sizeof(origin)) == 0 && strcmp(origin, want) == 0;
}

static int
refused(const char *url)
{
	char origin[256];

	return cv_origin_of(url, origin, sizeof(origin)) == -1;
}

int
main(void)
{
	static const char allowed[] = "https://shop.example.com http://localhost:8080";

	CHECK("https origin",
	      origin_is("https://Shop.Example.com/welcome?x=1#y", "https://shop.example.com"));
	CHECK("port kept", origin_is("http://localhost:8080/", "http://localhost:8080"));
	CHECK("no path", origin_is("https://shop.example.com", "https://shop.example.com"));
	CHECK("query right after host",
	      origin_is("https://shop.example.com?a=b", "https://shop.example.com"));
	CHECK("scheme-relative refused", refused("//evil.example"));
	CHECK("relative refused", refused("/welcome"));
	CHECK("javascript refused", refused("javascript:alert(1)"));
	CHECK("data refused", refused("data:text/html,x"));
	CHECK("userinfo refused", refused("https://shop.example.com@evil.example/"));
	CHECK("userinfo with colon refused", refused("https://shop.example.com:443@evil.example/"));
	CHECK("backslash refused", refused("https://shop.example.com\\@evil.example/"));
	CHECK("space refused", refused("https://shop.example.com /x"));
	CHECK("CRLF refused", refused("https://shop.example.com/\r\nSet-Cookie: x=1"));
	CHECK("empty host refused", refused("https:///path"));
	CHECK("bad port refused", refused("https://shop.example.com:x/"));
	CHECK("empty port refused", refused("https://shop.example.com:/"));
	CHECK("non-ascii refused", refused("https://sh\xc3\xb6p.example.com/"));
	CHECK("allowed origin", cv_origin_allowed(allowed, "https://shop.example.com"));
	CHECK("second allowed origin", cv_origin_allowed(allowed, "http://localhost:8080"));
	CHECK("prefix is not allowed", !cv_origin_allowed(allowed, "https://shop.example.co"));
	CHECK("suffix host not allowed",
	      !cv_origin_allowed(allowed, "https://shop.example.com.evil.example"));
	CHECK("other port not allowed", !cv_origin_allowed(allowed, "http://localhost:8081"));
	CHECK("http is not https", !cv_origin_allowed(allowed, "http://shop.example.com"));
	CHECK("empty origin is not allowed (and ends)", !cv_origin_allowed(allowed, ""));
	return unit_done();
}
