/*
 * origin.h - web origins ("scheme://host[:port]", RFC 6454) of http(s)
 * URLs, and allow-lists of them: what stands between a returnUrl and an open
 * redirect, between a browser's Origin and CORS, and what cvctl accepts for
 * a tenant's or a portal's allow-list.
 * A primitive, of lib/'s lower floor (Makefile.am lists both floors): it
 * knows no request and includes no handler's header.
 */
#ifndef CV_ORIGIN_H
#define CV_ORIGIN_H

#include <stddef.h>

/*
 * Writes the origin ("scheme://host[:port]", lowercased) of an absolute
 * http(s) URL to origin (len bytes) and returns 0; -1 for anything else:
 * other schemes, scheme-relative or relative URLs, userinfo, backslashes,
 * white space or control characters, an empty host, an origin that does not
 * fit.  Pure.
 */
int cv_origin_of(const char *url, char *origin, size_t len);

/* 1 when origin is one of the space-separated origins of allowed.  Cannot
 * fail. */
int cv_origin_allowed(const char *allowed, const char *origin);

#endif
