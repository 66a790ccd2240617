/*
 * conf.c - reads the configuration file.  Unknown keys are errors (a typo in
 * a secret's name must not silently fall back to nothing), and so is a file
 * that other users can read.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "conf.h"
#include "crypto.h"

#ifndef CV_DEFAULT_CONFIG
#define CV_DEFAULT_CONFIG "/etc/contact-verify/cv.conf"
#endif

const char *
cv_conf_path(void)
{
	static char beside[4096];
	const char *p = getenv("CV_CONFIG");
	ssize_t n;
	char *slash;

	if (p != NULL && *p != '\0')
		return p;
	/* Shared hosting: cv.conf in the directory of the program itself. */
	n = readlink("/proc/self/exe", beside, sizeof(beside) - sizeof("/cv.conf"));
	if (n > 0 && (size_t)n < sizeof(beside) - sizeof("/cv.conf")) {
		beside[n] = '\0';
		if ((slash = strrchr(beside, '/')) != NULL) {
			memcpy(slash + 1, "cv.conf", sizeof("cv.conf"));
			if (access(beside, F_OK) == 0)
				return beside;
		}
	}
	return CV_DEFAULT_CONFIG;
}

int
cv_conf_exposed(const char *path, const char *document_root)
{
	char file[PATH_MAX], root[PATH_MAX];
	size_t n;

	if (document_root == NULL || *document_root == '\0' ||
	    realpath(path, file) == NULL || realpath(document_root, root) == NULL)
		return 0;
	n = strlen(root);
	if (n == 1)
		return 1;   /* the document root is "/" */
	return strncmp(file, root, n) == 0 && file[n] == '/';
}

static void
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Replaces *slot with a copy of value.  Returns 0 or -1 (out of memory). */
static int
set_string(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

static int
set_key(struct cv_conf *conf, const char *key, const char *value, char *err, size_t errlen,
        int lineno)
{
	static const struct {
		const char *name;
		size_t      offset;
	} strings[] = {
		{"database", offsetof(struct cv_conf, database)},
		{"mailer_database", offsetof(struct cv_conf, mailer_database)},
		{"issuer", offsetof(struct cv_conf, issuer)},
		{"public_url", offsetof(struct cv_conf, public_url)},
		{"mail_dir", offsetof(struct cv_conf, mail_dir)},
		{"smtp_url", offsetof(struct cv_conf, smtp_url)},
		{"smtp_username", offsetof(struct cv_conf, smtp_username)},
		{"smtp_password", offsetof(struct cv_conf, smtp_password)},
		{"mail_from", offsetof(struct cv_conf, mail_from)},
	};
	size_t i, n;

	if (strcmp(key, "code_secret") == 0 || strcmp(key, "access_token_secret") == 0) {
		unsigned char *secret = key[0] == 'c' ? conf->code_secret : conf->access_token_key;

		n = strlen(value);
		if (n % 2 != 0 || n / 2 < CV_SECRET_MIN || n / 2 > CV_SECRET_MAX ||
		    cv_hex_decode(value, secret, n / 2) != 0) {
			fail(err, errlen, "line %d: %s must be %d to %d bytes in hex", lineno, key,
			     CV_SECRET_MIN, CV_SECRET_MAX);
			return -1;
		}
		*(key[0] == 'c' ? &conf->code_secret_len : &conf->access_token_key_len) = n / 2;
		return 0;
	}
	if (strcmp(key, "statements") == 0) {
		if (strcmp(value, "named") != 0 && strcmp(value, "unnamed") != 0) {
			fail(err, errlen, "line %d: statements must be named or unnamed", lineno);
			return -1;
		}
		conf->unnamed_statements = value[0] == 'u';
		return 0;
	}
	if (strcmp(key, "trusted_proxies") == 0) {
		if (cv_proxies_parse(value, &conf->trusted_proxies) != 0) {
			fail(err, errlen, "line %d: trusted_proxies must be addresses or CIDR blocks",
			     lineno);
			return -1;
		}
		return 0;
	}
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		if (strcmp(key, strings[i].name) == 0) {
			if (set_string((char **)((char *)conf + strings[i].offset), value) != 0) {
				fail(err, errlen, "out of memory");
				return -1;
			}
			return 0;
		}
	}
	fail(err, errlen, "line %d: unknown key \"%s\"", lineno, key);
	return -1;
}

int
cv_conf_load(struct cv_conf *conf, const char *path, char *err, size_t errlen)
{
	FILE *f;
	struct stat st;
	char line[1024], *key, *value, *eq;
	const char *env;
	int lineno = 0, rc = -1;
	size_t n;

	memset(conf, 0, sizeof(*conf));
	if ((f = fopen(path, "r")) == NULL) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) != 0 || (st.st_mode & S_IROTH)) {
		fail(err, errlen, "%s: holds secrets but is readable by all users (chmod o-r)", path);
		goto out;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		n = strlen(line);
		if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
			fail(err, errlen, "%s: line %d is too long", path, lineno);
			goto out;
		}
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			fail(err, errlen, "%s: line %d: expected key = value", path, lineno);
			goto out;
		}
		*eq = '\0';
		value = trim(eq + 1);
		key = trim(key);
		if (set_key(conf, key, value, err, errlen, lineno) != 0)
			goto out;
	}
	if ((env = getenv("CV_SMTP_URL")) != NULL && set_string(&conf->smtp_url, env) != 0)
		goto out;
	if ((env = getenv("CV_MAIL_DIR")) != NULL && *env != '\0' &&
	    set_string(&conf->mail_dir, env) != 0)
		goto out;
	if (conf->smtp_url != NULL && *conf->smtp_url == '\0') {
		free(conf->smtp_url);
		conf->smtp_url = NULL;
	}
	if (conf->code_secret_len == 0) {
		fail(err, errlen, "%s: code_secret is missing", path);
		goto out;
	}
	if (conf->access_token_key_len == 0) {
		static const char label[] = "contact-verify access-token key";

		if (cv_hmac_sha256(conf->code_secret, conf->code_secret_len, label, sizeof(label) - 1,
		                   conf->access_token_key) != 0)
			goto out;
		conf->access_token_key_len = CV_SHA256_LEN;
	}
	{
		static const char label[] = "contact-verify outbox key";

		if (cv_hmac_sha256(conf->code_secret, conf->code_secret_len, label, sizeof(label) - 1,
		                   conf->outbox_key) != 0)
			goto out;
	}
	if (conf->database == NULL && set_string(&conf->database, "") != 0)
		goto out;
	if (conf->public_url == NULL && set_string(&conf->public_url, "http://127.0.0.1:8080") != 0)
		goto out;
	n = strlen(conf->public_url);
	while (n > 0 && conf->public_url[n - 1] == '/')
		conf->public_url[--n] = '\0';
	/* RFC 8414: the issuer is the server's URL (/.well-known/oauth-authorization-server). */
	if (conf->issuer == NULL && set_string(&conf->issuer, conf->public_url) != 0)
		goto out;
	rc = 0;
out:
	fclose(f);
	if (rc != 0)
		cv_conf_free(conf);
	return rc;
}

void
cv_conf_free(struct cv_conf *conf)
{
	/* The connection strings may hold a password= too. */
	if (conf->smtp_password != NULL)
		OPENSSL_cleanse(conf->smtp_password, strlen(conf->smtp_password));
	if (conf->database != NULL)
		OPENSSL_cleanse(conf->database, strlen(conf->database));
	if (conf->mailer_database != NULL)
		OPENSSL_cleanse(conf->mailer_database, strlen(conf->mailer_database));
	free(conf->database);
	free(conf->mailer_database);
	free(conf->issuer);
	free(conf->public_url);
	free(conf->mail_dir);
	free(conf->smtp_url);
	free(conf->smtp_username);
	free(conf->smtp_password);
	free(conf->mail_from);
	OPENSSL_cleanse(conf, sizeof(*conf));
}
