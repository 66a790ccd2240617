/*
 * email.c - the address check.  It refuses much that RFC 5321 allows
 * (quoted strings, IP literals, non-ASCII) because such addresses are rare in
 * real sign-ups and common in attacks on the mail path.
 */
#include "config.h"

#include <string.h>

#include "email.h"

static int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

int
cv_email_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t at, i, label = 0, labels = 1;

	if (len < 3 || len > CV_EMAIL_MAX)
		return 0;
	for (at = 0; at < len && s[at] != '@'; at++)
		;
	if (at == 0 || at > 64 || at >= len - 1)
		return 0;
	for (i = 0; i < at; i++) {
		if (s[i] == '.') {
			if (i == 0 || i == at - 1 || s[i - 1] == '.')
				return 0;
		} else if (!is_atext(s[i])) {
			return 0;
		}
	}
	for (i = at + 1; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			labels++;
		} else if (is_ldh(s[i])) {
			if (label == 0 && s[i] == '-')
				return 0;
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && s[len - 1] != '-' && labels >= 2;
}
