/*
 * fuzz_url_origin.c - the returnUrl check of the Users Orchestrator dialect
 * (lib/origin.c cv_origin_of and cv_origin_allowed).
 * Input: the URL, then optionally '\n' and an allow-list (space-separated
 * origins, as a tenant's).
 * Links: lib/origin.c
 *
 * Invariants: an accepted URL's origin is "http://" or "https://" and a
 * host[:port] of letters, digits, dots and hyphens (port digits), in lower
 * case, equal to the URL's start up to case and followed there by the end,
 * '/', '?' or '#'; it re-parses to itself; it fits a buffer of exactly its
 * size and is refused by one byte less, without a write past either.  The
 * allow-list answer is the one of splitting the list on spaces.
 */
#include <ctype.h>
#include <strings.h>

#include "fuzz.h"
#include "origin.h"

#define ORIGIN_MAX 512

/* cv_origin_allowed stated a second way. */
static int
listed(const char *allowed, const char *origin)
{
	size_t n = strlen(origin), k;
	const char *p = allowed;

	while (*p != '\0') {
		k = strcspn(p, " ");
		if (k == n && memcmp(p, origin, n) == 0)
			return 1;
		p += k;
		p += *p == ' ';
	}
	return 0;
}

static void
check_origin(const char *url, const char *origin, const char *allowed)
{
	size_t n = strlen(origin), scheme, i;
	char again[ORIGIN_MAX], *exact;

	FUZZ_CHECK(n < ORIGIN_MAX);
	scheme = strncmp(origin, "https://", 8) == 0 ? 8 : 7;
	FUZZ_CHECK(scheme == 8 || strncmp(origin, "http://", 7) == 0);
	FUZZ_CHECK(n > scheme && strncasecmp(url, origin, n) == 0);
	FUZZ_CHECK(url[n] == '\0' || url[n] == '/' || url[n] == '?' || url[n] == '#');
	/* host: lower-case letters, digits, dots, hyphens; then ":digits" or nothing. */
	for (i = scheme; i < n && origin[i] != ':'; i++)
		FUZZ_CHECK(islower((unsigned char)origin[i]) || isdigit((unsigned char)origin[i]) ||
		           origin[i] == '.' || origin[i] == '-');
	FUZZ_CHECK(i > scheme);
	if (i < n)
		FUZZ_CHECK(i + 1 < n && strspn(origin + i + 1, "0123456789") == n - i - 1);

	FUZZ_CHECK(cv_origin_of(origin, again, sizeof(again)) == 0 && strcmp(again, origin) == 0);
	FUZZ_CHECK((exact = malloc(n + 1)) != NULL);
	FUZZ_CHECK(cv_origin_of(url, exact, n + 1) == 0 && strcmp(exact, origin) == 0);
	free(exact);
	FUZZ_CHECK((exact = malloc(n)) != NULL);
	FUZZ_CHECK(cv_origin_of(url, exact, n) == -1);
	free(exact);

	FUZZ_CHECK(cv_origin_allowed(origin, origin) == 1);
	if (allowed != NULL)
		FUZZ_CHECK(cv_origin_allowed(allowed, origin) == listed(allowed, origin));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = fuzz_strndup(data, size), *allowed = NULL, *nl, origin[ORIGIN_MAX];

	if (url == NULL)
		return 0;
	if ((nl = memchr(url, '\n', size)) != NULL) {
		*nl = '\0';
		allowed = nl + 1;
	}
	if (cv_origin_of(url, origin, sizeof(origin)) == 0)
		check_origin(url, origin, allowed);
	free(url);
	return 0;
}
