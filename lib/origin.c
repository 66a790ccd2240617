/*
 * origin.c - origins of URLs and allow-lists of origins (origin.h).
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "origin.h"

int
cv_origin_of(const char *url, char *origin, size_t len)
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
cv_origin_allowed(const char *allowed, const char *origin)
{
	size_t n = strlen(origin);
	const char *p;

	if (n == 0)
		return 0; /* strstr(p, "") would match everywhere */
	for (p = allowed; (p = strstr(p, origin)) != NULL; p += n)
		if ((p == allowed || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
	return 0;
}
