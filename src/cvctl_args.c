/*
 * cvctl_args.c - the options of cvctl's commands and the checks of their
 * values.  Every value is checked here, before a command opens its
 * transaction, so that bad input costs no database work and the message
 * names the option; the database's own constraints stay the last line of
 * defence.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cvctl.h"
#include "email.h"
#include "validate.h"

int
cvctl_parse(struct cvctl *cv, int argc, char **argv, const struct cvctl_opt *opts,
            const char **positional, size_t npositional)
{
	size_t got = 0, n;
	int i, options_done = 0;
	const struct cvctl_opt *o;

	for (i = 0; i < argc; i++) {
		const char *arg = argv[i], *value;

		if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
			if (got == npositional)
				return cvctl_usage(cv, "unexpected argument \"%s\"", arg);
			positional[got++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			options_done = 1;
			continue;
		}
		for (o = opts; o->name != NULL; o++) {
			n = strlen(o->name);
			if (strncmp(arg, o->name, n) == 0 && (arg[n] == '\0' || arg[n] == '='))
				break;
		}
		if (o->name == NULL)
			return cvctl_usage(cv, "unknown option %.*s", (int)strcspn(arg, "="), arg);
		if (*o->value != NULL)
			return cvctl_usage(cv, "%s is given twice", o->name);
		if (arg[n] == '=') {
			value = arg + n + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			return cvctl_usage(cv, "%s needs a value", o->name);
		}
		if (*value == '\0' && !(o->flags & OPT_EMPTY_OK))
			return cvctl_usage(cv, "%s must not be empty", o->name);
		*o->value = value;
	}
	for (o = opts; o->name != NULL; o++)
		if ((o->flags & OPT_REQUIRED) && *o->value == NULL)
			return cvctl_usage(cv, "%s is required", o->name);
	if (got < npositional)
		return cvctl_usage(cv, "missing argument (see cvctl %s --help)", cv->command);
	return 0;
}

int
cvctl_check_uuid(struct cvctl *cv, const char *option, const char *value)
{
	if (value == NULL || cv_valid_uuid(value))
		return 0;
	return cvctl_usage(cv, "%s: not a uuid: \"%.40s\"", option, value);
}

int
cvctl_check_int(struct cvctl *cv, const char *option, const char *value, long long min,
                long long max, long long *out)
{
	char *end;
	long long n;

	if (value == NULL)
		return 0;
	errno = 0;
	n = strtoll(value, &end, 10);
	if (!isdigit((unsigned char)value[0]) || *end != '\0' || errno != 0 || n < min || n > max)
		return cvctl_usage(cv, "%s must be a whole number from %lld to %lld, not \"%.40s\"",
		                   option, min, max, value);
	if (out != NULL)
		*out = n;
	return 0;
}

int
cvctl_check_text(struct cvctl *cv, const char *option, const char *value, size_t max)
{
	const unsigned char *p;

	if (value == NULL)
		return 0;
	if (strlen(value) > max)
		return cvctl_usage(cv, "%s is longer than %zu bytes", option, max);
	for (p = (const unsigned char *)value; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return cvctl_usage(cv, "%s must not contain control characters", option);
	return 0;
}

int
cvctl_check_email(struct cvctl *cv, const char *option, const char *value)
{
	if (value == NULL || cv_email_valid(value, strlen(value)))
		return 0;
	return cvctl_usage(cv, "%s: not a valid email address: \"%.80s\"", option, value);
}

int
cvctl_locale_valid(const char *value)
{
	size_t i, n = strlen(value), letters = 0;

	if (n == 0 || n > 35)
		return 0;
	while (letters < n && isalpha((unsigned char)value[letters]))
		letters++;
	if (letters < 2 || letters > 8)
		return 0;
	for (i = letters; i < n; i++) {
		if (value[i] == '-') {
			if (i + 1 == n || value[i + 1] == '-')
				return 0;
		} else if (!isalnum((unsigned char)value[i])) {
			return 0;
		}
	}
	return 1;
}

int
cvctl_check_locale(struct cvctl *cv, const char *option, const char *value)
{
	if (value == NULL || cvctl_locale_valid(value))
		return 0;
	return cvctl_usage(cv, "%s: not a language tag such as de or de-AT: \"%.40s\"", option,
	                   value);
}

int
cvctl_check_url(struct cvctl *cv, const char *option, const char *value)
{
	const unsigned char *p;
	size_t scheme;

	if (value == NULL)
		return 0;
	if (strncmp(value, "https://", 8) == 0)
		scheme = 8;
	else if (strncmp(value, "http://", 7) == 0)
		scheme = 7;
	else
		return cvctl_usage(cv, "%s must start with http:// or https://", option);
	if (value[scheme] == '\0' || value[scheme] == '/' || strlen(value) > 2000)
		return cvctl_usage(cv, "%s: not a URL: \"%.80s\"", option, value);
	for (p = (const unsigned char *)value; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return cvctl_usage(cv, "%s must not contain spaces or control characters",
			                   option);
	return 0;
}
