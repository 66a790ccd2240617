/*
 * validate.c - checks of short values by their form (validate.h).
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "validate.h"

int
cv_valid_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		             (s[i] >= 'A' && s[i] <= 'F'))) {
			return 0;
		}
	}
	return 1;
}

int
cv_valid_color(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 7 || s[0] != '#')
		return 0;
	for (i = 1; i < 7; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}
