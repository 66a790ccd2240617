/*
 * cvctl.c - the administrator's command line tool of contact-verify: main(),
 * the table of commands with their help, and output.  It provisions
 * accounts, API keys, OAuth clients, user apps, their email templates and
 * contacts, shows events and the mail outbox, and applies migrations, talking
 * straight to PostgreSQL (cvctl_db.c).  Each command is one transaction
 * whose output is released only after it committed; a failing command prints
 * one line on stderr and writes nothing.  Secrets appear only in the one-time
 * key=, secret= and client_secret= lines of the commands that make them.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cvctl.h"

struct command {
	const char *group;
	const char *name;   /* NULL: the group is the command (events, outbox, migrate) */
	int (*run)(struct cvctl *, int, char **);
	const char *summary;
};

static const struct command commands[] = {
	{"account", "add", cvctl_account_add, "create an account (prints uuid= and secret=)"},
	{"account", "list", cvctl_account_list, "list the accounts"},
	{"account", "set", cvctl_account_set, "rename an account or change its token lifetime"},
	{"account", "disable", cvctl_account_disable, "make an account inactive (its calls get 403)"},
	{"account", "enable", cvctl_account_enable, "make an account active again"},
	{"account", "rotate-secret", cvctl_account_rotate_secret,
	 "sign with a new HS256 key from now on (prints kid= and secret=)"},
	{"account", "key", cvctl_account_key,
	 "add, activate, retire or list the account's signing keys"},
	{"api-key", "add", cvctl_api_key_add, "create an API key (prints id= and key= once)"},
	{"api-key", "list", cvctl_api_key_list, "list an account's API keys (never the keys)"},
	{"api-key", "revoke", cvctl_api_key_revoke, "revoke an API key"},
	{"oauth-client", "add", cvctl_oauth_client_add,
	 "create an OAuth client (prints client_id= and client_secret=)"},
	{"oauth-client", "list", cvctl_oauth_client_list, "list OAuth clients"},
	{"oauth-client", "revoke", cvctl_oauth_client_revoke, "revoke an OAuth client and its tokens"},
	{"tenant", "add", cvctl_tenant_add,
	 "create a Users Orchestrator tenant (prints id= and, when generated, secret=)"},
	{"tenant", "list", cvctl_tenant_list, "list tenants (never their secrets)"},
	{"template", "set", cvctl_template_set, "store a user app's email template"},
	{"template", "show", cvctl_template_show,
	 "show the template a locale gets (the app's own or the built-in one)"},
	{"template", "list", cvctl_template_list, "list a user app's own templates"},
	{"template", "delete", cvctl_template_delete,
	 "delete a stored template (its locale falls back again)"},
	{"user-app", "add", cvctl_user_app_add, "create an account's user app (Contacts Portal)"},
	{"user-app", "list", cvctl_user_app_list, "list user apps"},
	{"user-app", "set", cvctl_user_app_set, "change an account's user app"},
	{"user-app", "portal", cvctl_user_app_portal,
	 "show (public id) or change a user app's login portal settings"},
	{"contact", "add", cvctl_contact_add, "add a contact (prints its uuid)"},
	{"contact", "list", cvctl_contact_list, "list an account's contacts"},
	{"contact", "import", cvctl_contact_import, "import contacts from a CSV file"},
	{"contact", "delete", cvctl_contact_delete,
	 "erase a contact: its codes, mail, login tickets and counters"},
	{"contact", "export", cvctl_contact_export, "print everything stored about a contact (JSON)"},
	{"events", NULL, cvctl_events, "show recent events"},
	{"outbox", NULL, cvctl_outbox, "show the mail queue and recent delivery failures"},
	{"migrate", NULL, cvctl_migrate, "bring the database up to date (migrations, then functions)"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The options of each group's commands, for `cvctl GROUP --help`. */
static const struct {
	const char *group;
	const char *text;
} group_help[] = {
	{"account",
	 "usage: cvctl account add --name NAME [--token-ttl SECONDS]\n"
	 "       cvctl account list\n"
	 "       cvctl account set --account UUID [--name NAME] [--token-ttl SECONDS]\n"
	 "                         [--auth-token-format object|string]\n"
	 "                         [--events-retention DAYS] [--codes-retention DAYS]\n"
	 "                         [--mail-retention DAYS]\n"
	 "       cvctl account disable --account UUID\n"
	 "       cvctl account enable --account UUID\n"
	 "       cvctl account rotate-secret --account UUID\n"
	 "       cvctl account key add --account UUID --alg HS256|ES256|EdDSA\n"
	 "       cvctl account key activate --account UUID --kid KID\n"
	 "       cvctl account key retire --account UUID --kid KID [--force]\n"
	 "       cvctl account key list --account UUID\n"
	 "\n"
	 "add prints uuid=UUID and secret=SECRET: the secret (64 characters) is the HMAC key\n"
	 "of the account's contact auth tokens, shown only here and by rotate-secret.\n"
	 "--token-ttl is the lifetime of those tokens, 60 to 2592000 seconds (default 3600).\n"
	 "--auth-token-format is the shape of auth-token's answer: object (the default,\n"
	 "{\"data\":{\"auth_token\":\"...\"}}) or string ({\"data\":\"...\"}, for the public\n"
	 "PHP SDK).\n"
	 "Signing keys (README \"Verifying auth tokens\"): key add makes a key, published\n"
	 "but not signing, and prints kid= (and secret= for HS256, shown only there);\n"
	 "key activate makes it sign the account's tokens from now on, while the key\n"
	 "before stays published; key retire takes a key out of the JWKS, refused while\n"
	 "a token it signed may still be valid unless --force.  rotate-secret is key add\n"
	 "--alg HS256 and key activate in one step.\n"
	 "--events-retention, --codes-retention and --mail-retention: days the account's\n"
	 "events (default 90), ended codes (30) and ended mail (30) are kept, 1 to 36500;\n"
	 "cv-mailer's housekeeping deletes older ones.\n"},
	{"api-key",
	 "usage: cvctl api-key add --account UUID [--name NAME] [--expires-in SECONDS]\n"
	 "       cvctl api-key list --account UUID\n"
	 "       cvctl api-key revoke --id ID\n"
	 "\n"
	 "add prints id=ID and key=cv_...; the key is shown only this once (the database keeps\n"
	 "its SHA-256).  Without --expires-in the key does not expire.\n"},
	{"oauth-client",
	 "usage: cvctl oauth-client add --account UUID [--name NAME] [--token-ttl SECONDS]\n"
	 "       cvctl oauth-client list [--account UUID]\n"
	 "       cvctl oauth-client revoke --id ID\n"
	 "\n"
	 "add prints client_id=ID and client_secret=SECRET; the secret is shown only this once\n"
	 "(the database keeps an HMAC of it under the configuration's code_secret).\n"
	 "--token-ttl is the lifetime of the client's access tokens, 1 to 86400 seconds\n"
	 "(default 3600).\n"},
	{"tenant",
	 "usage: cvctl tenant add --account UUID --client-code CODE --paper-code CODE\n"
	 "                        --client-group-code CODE [--secret SECRET] [--issuer ISS]\n"
	 "                        [--audience AUD] [--return-origins ORIGINS]\n"
	 "       cvctl tenant list [--account UUID]\n"
	 "\n"
	 "A tenant of the Users Orchestrator API is named by the X-ClientCode, X-PaperCode and\n"
	 "X-ClientGroupCode headers and signs its JWTs (HS256) with SECRET, at least 32 bytes;\n"
	 "without --secret one is made and printed once as secret=.  --issuer and --audience\n"
	 "are the iss and aud its tokens must carry.  --return-origins lists, separated by\n"
	 "commas or spaces, the origins (https://host[:port]) a returnUrl may lead to.\n"},
	{"template",
	 "usage: cvctl template set --account UUID --purpose PURPOSE [--locale LOCALE]\n"
	 "                          --subject SUBJECT (--text-file FILE | --text TEXT)\n"
	 "                          (--html-file FILE | --html HTML)\n"
	 "       cvctl template show --account UUID --purpose PURPOSE [--locale LOCALE]\n"
	 "                           [--part subject|text|html]\n"
	 "       cvctl template list --account UUID\n"
	 "       cvctl template delete --account UUID --purpose PURPOSE [--locale LOCALE]\n"
	 "\n"
	 "PURPOSE is login (the login code) or verify_email (the registration code).\n"
	 "LOCALE is a language tag such as de or de-AT (any case); without it, the app's\n"
	 "default template.  A contact with locale de-AT gets the app's de-AT template,\n"
	 "else its de template, else its default one, else the built-in template of the\n"
	 "closest built-in language (German or English).\n"
	 "Placeholders: {{code}}, {{link}}, {{app_name}}, {{expiry_minutes}} and\n"
	 "{{expiry}} (\"10 minutes\", in the template's language); values are HTML-escaped\n"
	 "in the HTML body.  An unknown {{name}} is refused, and each body must use\n"
	 "{{code}} or {{link}}.  The subject is one line of at most 500 bytes, each body\n"
	 "at most 65536 bytes of UTF-8 (CRLF is read as LF; FILE - is stdin).\n"
	 "show prints source= (app or built-in), locale=, subject=, then the text and\n"
	 "HTML bodies; --part prints only that part, as it is.\n"},
	{"user-app",
	 "usage: cvctl user-app add --account UUID --name NAME [SETTINGS]\n"
	 "       cvctl user-app set --account UUID [--name NAME] [SETTINGS]\n"
	 "       cvctl user-app list [--account UUID]\n"
	 "       cvctl user-app portal --account UUID [PORTAL SETTINGS]\n"
	 "\n"
	 "SETTINGS (set changes only those given; an empty text value clears it):\n"
	 "  --portal-url URL         the Contacts Portal (http:// or https://)\n"
	 "  --sender-name NAME       the From name of the emails\n"
	 "  --sender-email EMAIL     the From address of the emails\n"
	 "  --code-length N          digits of a code, 6 to 10 (default 6)\n"
	 "  --login-ttl SECONDS      lifetime of a login code, 60 to 86400 (default 600)\n"
	 "  --verify-ttl SECONDS     lifetime of a registration code, 60 to 2592000 (default 86400)\n"
	 "  --resend-cooldown SECONDS  wait between two sends to a contact, 0 to 3600 (default 60)\n"
	 "\n"
	 "PORTAL SETTINGS (README, \"Login portal\"; portal prints public_id and all of them):\n"
	 "  --origins \"ORIGIN ...\"   origins whose JavaScript may call /portal/v1/ (\"\" none)\n"
	 "  --frame-ancestors \"SRC ...\"  origins (or 'self') that may frame the hosted page\n"
	 "                           (\"\" none, the default)\n"
	 "  --brand-color #RRGGBB    the hosted page's colour (\"\" the default)\n"
	 "  --portal-url URL         where the page sends the browser with ?ticket=\n"
	 "  --ticket-ttl SECONDS     lifetime of a login ticket, 10 to 300 (default 120)\n"
	 "  --allow-credentials yes|no  Access-Control-Allow-Credentials (default no)\n"},
	{"contact",
	 "usage: cvctl contact add --account UUID --email EMAIL [--locale LOCALE]\n"
	 "       cvctl contact list --account UUID\n"
	 "       cvctl contact import --account UUID FILE\n"
	 "       cvctl contact delete --account UUID (--email EMAIL | --uuid UUID)\n"
	 "       cvctl contact export --account UUID (--email EMAIL | --uuid UUID)\n"
	 "\n"
	 "add prints the new contact's uuid.  An address the account already has, in any\n"
	 "case, is refused.  import reads a CSV file (RFC 4180; FILE - is stdin) whose header\n"
	 "names an email column and optionally a locale column; it adds all valid rows in one\n"
	 "transaction, reports each rejected row on stderr as \"line N: reason\" and prints\n"
	 "imported=N rejected=M.\n"
	 "delete erases the contact in one transaction: its codes, its mail (queued mail is\n"
	 "never sent), its login tickets and the rate-limit counters of its address; its\n"
	 "events stay, without it.  Prints erased=UUID (also for --uuid of a contact erased\n"
	 "before).  Auth tokens issued before stay valid until they expire.  export prints\n"
	 "everything stored about the contact as JSON; codes are shown as \"hashed\", mail\n"
	 "bodies as \"sealed\".\n"},
	{"events",
	 "usage: cvctl events [--account UUID] [--email EMAIL] [--limit N]\n"
	 "\n"
	 "Prints the newest N events (default 100, at most 100000), oldest first, one per line:\n"
	 "time, event code, event id, account uuid, contact email, source system, request id,\n"
	 "detail (JSON).\n"},
	{"outbox",
	 "usage: cvctl outbox [--account UUID] [--failures N]\n"
	 "\n"
	 "Prints the number of messages per status (queued, sending, sent, failed, expired),\n"
	 "the age in seconds of the oldest queued message, and the N most recent failed\n"
	 "deliveries (default 10).\n"},
	{"migrate",
	 "usage: cvctl migrate [--sql-dir DIR]\n"
	 "\n"
	 "In one transaction: applies each DIR/migrations/NNN_*.sql not yet recorded in\n"
	 "cv.schema_migrations, in order, then each DIR/functions/NAME.sql whose checksum changed\n"
	 "(all of them after a migration), drops the functions of schema cv that no file defines\n"
	 "and grants the roles their rights.  DIR defaults to $CV_SQL_DIR, else " CV_SQL_DIR ".\n"},
};

static void
usage(FILE *f)
{
	size_t i;
	const char *group = "";

	fputs("usage: cvctl [--database CONNINFO] [--config FILE] COMMAND [OPTIONS]\n"
	      "       cvctl COMMAND --help\n"
	      "\n"
	      "The database is --database, else $CV_DATABASE, else libpq's environment\n"
	      "(PGHOST, PGUSER, PGSERVICE, ...): connect as the administrator's role cv_admin\n"
	      "(migrate: as the schema's owner).  The configuration file (--config, else\n"
	      "$CV_CONFIG, else " CV_DEFAULT_CONFIG ") gives code_secret.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (i = 0; i < NCOMMANDS; i++) {
		char words[64];

		snprintf(words, sizeof(words), "%s%s%s", commands[i].group,
		         commands[i].name != NULL ? " " : "",
		         commands[i].name != NULL ? commands[i].name : "");
		if (i > 0 && strcmp(group, commands[i].group) != 0)
			fputc('\n', f);
		group = commands[i].group;
		fprintf(f, "  %-28s %s\n", words, commands[i].summary);
	}
	fputs("\nSee cvctl(8).\n", f);
}

static const char *
help_of(const char *group)
{
	size_t i;

	for (i = 0; i < sizeof(group_help) / sizeof(group_help[0]); i++)
		if (strcmp(group_help[i].group, group) == 0)
			return group_help[i].text;
	return NULL;
}

/* Formats into cv->error unless an error is already there. */
static int
set_error(struct cvctl *cv, int rc, const char *fmt, va_list ap)
{
	char *p, *q;

	if (cv->failed)
		return rc;
	cv->failed = rc;
	vsnprintf(cv->error, sizeof(cv->error), fmt, ap);
	/* One line: runs of white space (libpq's messages hold "\n\t") become
	 * one space. */
	for (p = q = cv->error; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ') {
			if (q > cv->error && q[-1] != ' ')
				*q++ = ' ';
		} else {
			*q++ = *p;
		}
	}
	while (q > cv->error && q[-1] == ' ')
		q--;
	*q = '\0';
	return rc;
}

int
cvctl_fail(struct cvctl *cv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(cv, CVCTL_FAIL, fmt, ap);
	va_end(ap);
	return CVCTL_FAIL;
}

int
cvctl_usage(struct cvctl *cv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(cv, CVCTL_USAGE, fmt, ap);
	va_end(ap);
	return CVCTL_USAGE;
}

void
cvctl_put_field(FILE *f, const char *s)
{
	const unsigned char *p;

	if (s == NULL) {
		fputc('-', f);
		return;
	}
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '\\':
			fputs("\\\\", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\x%02x", *p);
			else
				fputc(*p, f);
		}
	}
}

void
cvctl_print_table(struct cvctl *cv, const PGresult *res)
{
	int r, c, rows = PQntuples(res), cols = PQnfields(res);

	for (c = 0; c < cols; c++)
		fprintf(cv->out, "%s%s", c > 0 ? "\t" : "", PQfname(res, c));
	fputc('\n', cv->out);
	for (r = 0; r < rows; r++) {
		for (c = 0; c < cols; c++) {
			if (c > 0)
				fputc('\t', cv->out);
			cvctl_put_field(cv->out, cv_db_value(res, r, c));
		}
		fputc('\n', cv->out);
	}
}

int
cvctl_list_by_account(struct cvctl *cv, int argc, char **argv, int account_flags,
                      enum cvctl_stmt st)
{
	const char *account = NULL;
	const struct cvctl_opt opts[] = {
		{"--account", &account, account_flags},
		{NULL, NULL, 0},
	};
	char id[32];
	const char *params[ST_BY_ACCOUNT_PARAM__MAX] = {NULL};
	PGresult *res;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 || (rc = cvctl_begin(cv)) != 0)
		return rc;
	if (account != NULL) {
		if ((rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
			return rc;
		params[ST_BY_ACCOUNT_PARAM_ACCOUNT_ID] = id;
	}
	if ((res = cvctl_exec(cv, st, params)) == NULL)
		return CVCTL_FAIL;
	cvctl_print_table(cv, res);
	PQclear(res);
	return 0;
}

/* Closes a memory stream and writes what it holds to f; wipes the memory
 * (it may hold a secret).  Returns 0, or -1 when the stream had failed. */
static int
release(FILE **stream, char **buf, size_t *len, FILE *f)
{
	int rc = 0;

	if (*stream == NULL)
		return 0;
	if (fclose(*stream) != 0)
		rc = -1;
	*stream = NULL;
	if (*buf != NULL) {
		if (f != NULL && rc == 0 && *len > 0 && fwrite(*buf, 1, *len, f) != *len)
			rc = -1;
		OPENSSL_cleanse(*buf, *len);
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

static const struct command *
find_command(const char *group, const char *name, int *group_known)
{
	size_t i;

	*group_known = 0;
	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].group, group) != 0)
			continue;
		*group_known = 1;
		if (commands[i].name == NULL || (name != NULL && strcmp(commands[i].name, name) == 0))
			return &commands[i];
	}
	return NULL;
}

/* 1 when argv holds --help or -h before a "--". */
static int
wants_help(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* Reads the global options before the command; returns the index of the
 * command word, or -1 with the error set. */
static int
global_options(struct cvctl *cv, int argc, char **argv)
{
	int i;
	const char *v;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char **slot = NULL;
		size_t n = 0;

		if (strncmp(argv[i], "--database", n = strlen("--database")) == 0)
			slot = &cv->database;
		else if (strncmp(argv[i], "--config", n = strlen("--config")) == 0)
			slot = &cv->config_path;
		if (slot == NULL || (argv[i][n] != '\0' && argv[i][n] != '=')) {
			cvctl_usage(cv, "unknown option %s (see cvctl --help)", argv[i]);
			return -1;
		}
		if (argv[i][n] == '=') {
			v = argv[i] + n + 1;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			cvctl_usage(cv, "%s needs a value", argv[i]);
			return -1;
		}
		*slot = v;
	}
	return i;
}

int
main(int argc, char **argv)
{
	struct cvctl cv;
	const struct command *cmd;
	char words[64];
	int at, known, rc;

	memset(&cv, 0, sizeof(cv));
	cv.command = "cvctl";
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	                  strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return CVCTL_OK;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("cvctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return CVCTL_OK;
	}
	cv.database = getenv("CV_DATABASE");
	if (cv.database != NULL && *cv.database == '\0')
		cv.database = NULL;
	cv.config_path = cv_conf_path();
	if ((at = global_options(&cv, argc, argv)) < 0) {
		rc = CVCTL_USAGE;
		goto out;
	}
	if (at >= argc) {
		rc = cvctl_usage(&cv, "missing command (see cvctl --help)");
		goto out;
	}
	if (strcmp(argv[at], "help") == 0 && at + 1 < argc) {
		/* "cvctl help GROUP" is "cvctl GROUP --help". */
		at++;
		if (help_of(argv[at]) == NULL) {
			rc = cvctl_usage(&cv, "unknown command %s (see cvctl --help)", argv[at]);
			goto out;
		}
		fputs(help_of(argv[at]), stdout);
		return CVCTL_OK;
	}
	cmd = find_command(argv[at], at + 1 < argc ? argv[at + 1] : NULL, &known);
	if (cmd == NULL) {
		if (known && wants_help(argc - at - 1, argv + at + 1)) {
			fputs(help_of(argv[at]), stdout);
			return CVCTL_OK;
		}
		if (known && at + 1 >= argc)
			rc = cvctl_usage(&cv, "%s: missing command (see cvctl %s --help)", argv[at],
			                 argv[at]);
		else if (known)
			rc = cvctl_usage(&cv, "%s: unknown command %s (see cvctl %s --help)", argv[at],
			                 argv[at + 1], argv[at]);
		else
			rc = cvctl_usage(&cv, "unknown command %s (see cvctl --help)", argv[at]);
		goto out;
	}
	snprintf(words, sizeof(words), "%s%s%s", cmd->group, cmd->name != NULL ? " " : "",
	         cmd->name != NULL ? cmd->name : "");
	cv.command = words;
	at += cmd->name != NULL ? 2 : 1;
	if (wants_help(argc - at, argv + at)) {
		fputs(help_of(cmd->group), stdout);
		return CVCTL_OK;
	}

	cv.out = open_memstream(&cv.out_buf, &cv.out_len);
	cv.note = open_memstream(&cv.note_buf, &cv.note_len);
	if (cv.out == NULL || cv.note == NULL) {
		rc = cvctl_fail(&cv, "out of memory");
		goto out;
	}
	rc = cmd->run(&cv, argc - at, argv + at);
	if (rc == CVCTL_OK && cv.in_transaction)
		rc = cvctl_commit(&cv);
	if (rc != CVCTL_OK) {
		cvctl_rollback(&cv);
		if (!cv.failed)
			cvctl_fail(&cv, "failed");
	}
out:
	if (cv.failed && rc == CVCTL_OK)
		rc = cv.failed;
	/* What a failed command printed is dropped. */
	if (release(&cv.note, &cv.note_buf, &cv.note_len, rc == CVCTL_OK ? stderr : NULL) != 0 ||
	    release(&cv.out, &cv.out_buf, &cv.out_len, rc == CVCTL_OK ? stdout : NULL) != 0) {
		if (rc == CVCTL_OK)
			rc = cvctl_fail(&cv, "out of memory");
	}
	if (fflush(stdout) != 0 && rc == CVCTL_OK)
		rc = cvctl_fail(&cv, "writing the output failed");
	if (rc != CVCTL_OK)
		fprintf(stderr, "cvctl: %s%s%s\n", strcmp(cv.command, "cvctl") != 0 ? cv.command : "",
		        strcmp(cv.command, "cvctl") != 0 ? ": " : "", cv.error);
	if (cv.conn != NULL)
		PQfinish(cv.conn);
	if (cv.conf_loaded)
		cv_conf_free(&cv.conf);
	return rc;
}
