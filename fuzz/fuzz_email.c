/*
 * fuzz_email.c - the address check (lib/email.c cv_email_valid) against a
 * second, independent statement of the same rules: a POSIX extended regular
 * expression for the shape plus the length limits of email.h.
 * Links: lib/email.c
 *
 * Invariants: cv_email_valid agrees with the reference on every input; it
 * reads only the len bytes given (the copy has no NUL after them); its
 * verdict does not change when the address is lowercased.
 */
#include <ctype.h>
#include <regex.h>

#include "email.h"
#include "fuzz.h"

#define ATEXT "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
#define LABEL "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"

static regex_t shape;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(regcomp(&shape, "^" ATEXT "+(\\." ATEXT "+)*@" LABEL "(\\." LABEL ")+$",
	                   REG_EXTENDED | REG_NOSUB) == 0);
	return 0;
}

/* The rules of email.h, stated a second way. */
static int
reference(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len), *p, *dot;
	char *copy;
	int ok;

	if (len < 3 || len > CV_EMAIL_MAX || memchr(s, '\0', len) != NULL || at == NULL ||
	    at - s > 64)
		return 0;
	for (p = at + 1; p < s + len; p = dot + 1) {
		if ((dot = memchr(p, '.', (size_t)(s + len - p))) == NULL)
			dot = s + len;
		if (dot - p > 63)
			return 0;
	}
	copy = fuzz_strndup((const uint8_t *)s, len);
	FUZZ_CHECK(copy != NULL);
	ok = regexec(&shape, copy, 0, NULL, 0) == 0;
	free(copy);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int valid = cv_email_valid((const char *)data, size);
	char *lower;
	size_t i;

	FUZZ_CHECK(valid == 0 || valid == 1);
	FUZZ_CHECK(valid == reference((const char *)data, size));
	if ((lower = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	for (i = 0; i < size; i++)
		lower[i] = (char)tolower(data[i]);
	FUZZ_CHECK(cv_email_valid(lower, size) == valid);
	free(lower);
	return 0;
}
