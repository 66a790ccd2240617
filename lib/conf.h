/*
 * conf.h - the configuration file of contact-verify: `key = value` lines,
 * `#` comments, path from $CV_CONFIG (else cv.conf beside the program, else
 * CV_DEFAULT_CONFIG).  It holds secrets, so a world-readable file is
 * refused, and the responders refuse one inside the web server's
 * DOCUMENT_ROOT.
 */
#ifndef CV_CONF_H
#define CV_CONF_H

#include <stddef.h>

#include "client_addr.h"

#define CV_SECRET_MIN 32   /* bytes: every HMAC key is at least 256 bits */
#define CV_SECRET_MAX 64

struct cv_conf {
	char         *database;      /* the responders' libpq connection string; "" = libpq env */
	char         *mailer_database;  /* the mailer's (its own role); NULL when not set */
	unsigned char code_secret[CV_SECRET_MAX];  /* HMAC key for codes, links */
	size_t        code_secret_len;
	unsigned char access_token_key[CV_SECRET_MAX];  /* HS256 key of OAuth access tokens */
	size_t        access_token_key_len;
	unsigned char outbox_key[32];  /* AES-256-GCM key of codes in the outbox (derived) */
	char         *issuer;        /* "iss" of tokens, RFC 8414 issuer; default public_url */
	char         *public_url;    /* base of the links in emails, no "/" at end */
	char         *mail_dir;      /* directory delivery (.eml files) */
	char         *smtp_url;      /* smtp:// or smtps://; NULL = directory */
	char         *smtp_username;
	char         *smtp_password;
	char         *mail_from;     /* default sender address */
	struct cv_proxies trusted_proxies;  /* whose X-Forwarded-For is believed */
	int           unnamed_statements;  /* statements = unnamed: never PQprepare (PgBouncer) */
};

/* The path named by $CV_CONFIG; else cv.conf in the directory of the
 * running program when there is one (shared hosting: no root needed);
 * else the built-in default.  Cannot fail. */
const char *cv_conf_path(void);

/* 1 when the file path lies inside document_root (both resolved), where
 * the web server could hand it out; 0 otherwise, or when either cannot be
 * resolved or document_root is NULL or "". */
int cv_conf_exposed(const char *path, const char *document_root);

/*
 * Reads path into conf (zeroed first).  Returns 0, or -1 with a message
 * (never containing a secret) in err.  $CV_SMTP_URL and $CV_MAIL_DIR
 * override the file.  Without access_token_secret the access-token key is
 * derived from code_secret (HMAC with a fixed label), so one secret suffices;
 * the outbox key is always derived that way.  The caller frees with cv_conf_free.
 */
int cv_conf_load(struct cv_conf *conf, const char *path, char *err, size_t errlen);

/* Frees the strings of conf and wipes its secrets.  conf may be zeroed. */
void cv_conf_free(struct cv_conf *conf);

#endif
