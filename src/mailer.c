/*
 * mailer.c - cv-mailer, the long-running program that delivers the outbox
 * (README "Logs, schema, events").  The responders only queue a row and NOTIFY cv_outbox;
 * this program claims due rows (cv.outbox_claim: FOR UPDATE SKIP LOCKED and
 * a lease, so several mailers may run), looks up the user app's template
 * for each (cv.outbox_template; the built-in one when the app has none),
 * writes the message (mime.c), delivers it over SMTP with libcurl or into a
 * directory of .eml files, and records the outcome (cv.outbox_record, which
 * also writes the event).  Mail whose code a newer send replaced (or that
 * was used) before it went out is not sent but recorded as expired.  Each
 * message is sent inside a transaction that holds its row and its contact
 * (cv.outbox_hold) from before the SMTP exchange until its outcome is
 * recorded, so that an erasure of the contact waits for it, or was first
 * and the message is not sent at all.  When idle it also does the
 * database's housekeeping, at start and then hourly: cv.housekeeping, then
 * cv.expire_history in batches (EXPIRE_BATCH rows), each followed by a
 * pause as long as it took, during which mail is served as usual.
 * Delivery is at least once: a mailer that dies, or loses the database,
 * between sending and recording leaves the row 'sending' until the lease
 * ends, and it is then sent again with the same Message-ID.
 *
 * It waits with poll() on the database socket for a NOTIFY, or for at most
 * IDLE_WAIT_MS so that retries coming due are noticed, and so is mail
 * queued without a NOTIFY (cv.queue_code sends none while other mail is
 * due, which the mailer is then about to claim; a race can leave one such
 * row to the next look, at most IDLE_WAIT_MS later); a lost database is
 * retried with backoff, never given up on.  SIGTERM and SIGINT let the
 * message in hand finish and be recorded, hand the rest of the batch back
 * to the queue, and exit 0.  Codes, links and bodies are never logged.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "codes.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "mime.h"

#define BATCH_SIZE      20
#define LEASE_SECONDS   120      /* how long a claimed row is ours (--lease) */
#define LEASE_MIN       5
#define LEASE_MAX       3600
#define SEND_MAX_S      65       /* one SMTP attempt (CURLOPT_TIMEOUT) plus recording */
#define IDLE_WAIT_MS    1000     /* longest sleep without a NOTIFY */
#define BACKOFF_MIN_MS  1000     /* database reconnects: 1 s doubling to 30 s */
#define BACKOFF_MAX_MS  30000
#define HOUSEKEEPING_MS (3600 * 1000.0)  /* cv.housekeeping: at start, then hourly */
#define EXPIRE_BATCH    5000     /* cv.expire_history: rows of each kind per transaction */
#define RETRY_BASE_S    30       /* delivery retries: 30 s doubling to 1 h, jittered */
#define RETRY_MAX_S     3600
#define RECORD_RETRY_MS 500      /* recording after a lost database, within the lease */
#define RECORD_SPARE_MS 2000     /* ... of the lease left for the last try */
#define DEFAULT_FROM    "no-reply@localhost"

static volatile sig_atomic_t stopping;

struct mailer {
	struct cv_conf conf;
	int            once;          /* --once: exit when nothing is due */
	int            lease;         /* seconds a claimed row is ours (--lease) */
	int            send_max;      /* seconds one message may take, sending and recording */
	const char    *default_from;  /* conf.mail_from or DEFAULT_FROM */
	/* SMTP delivery; curl == NULL means directory delivery. */
	CURL          *curl;
	char          *smtp_url;      /* conf.smtp_url without our query; curl_free */
	char           curl_error[CURL_ERROR_SIZE];
	char           smtp_reply[256];  /* the server's last 4xx/5xx reply line */
	/* The connection that holds our LISTEN, and its backend, to notice when
	 * db.c has replaced it (NULL: LISTEN again). */
	PGconn        *listen_conn;
	int            listen_pid;
	double         housekept_at;  /* cv_now_ms() of the last housekeeping; 0: never */
	/* The expiry of history under way (cv.expire_history), and its totals. */
	int            expiring;
	long long      expired_events, expired_codes, expired_mail, expire_batches;
	double         expire_started;
	double         expire_due;  /* cv_now_ms() when the next batch may run */
};

/* One row of a claim, pointing into the PGresult. */
struct outbox_row {
	const char *id, *to_email, *app_name, *sender_name, *sender_email;
	const char *purpose, *message_id;
	/* Opened from the row's sealed value (NULL when it cannot be: wiped,
	 * altered, or sealed under another key); wiped after each message. */
	const char *code, *link;
	char        code_buf[CV_CODE_MAX + 1];
	char        link_buf[2400];
	long long   expires_in;  /* seconds the code has left at the claim */
	long long   created;     /* epoch seconds */
	int         attempts;    /* this attempt's number, from 1 */
	int         superseded;  /* 1: its code was replaced or used; not to be sent */
};

/* The template of one message, as cv.outbox_template found it. */
struct message_template {
	PGresult          *res;         /* holds the strings below; NULL when none */
	const char        *locale;      /* the contact's locale, or NULL */
	struct cv_template custom;      /* the app's own template ... */
	int                has_custom;  /* ... when this is 1; else the built-in one */
};

/* What happened to one message, as cv.outbox_record takes it. */
struct outcome {
	const char *result;          /* "sent", "retry", "failed" or "expired" */
	int         retry_seconds;
	char        error[512];      /* "" when none */
};

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: cv-mailer [--once] [--lease SECONDS] [--help]\n"
	           "Delivers the contact-verify outbox: over SMTP when smtp_url is set, else\n"
	           "as .eml files in mail_dir.  The configuration file is $CV_CONFIG\n"
	           "(default %s); $CV_SMTP_URL and $CV_MAIL_DIR override it.\n"
	           "  --once           deliver everything that is due now and do the\n"
	           "                   housekeeping, then exit\n"
	           "  --lease SECONDS  how long a claimed message is this mailer's (%d to %d,\n"
	           "                   default %d): a mailer that dies leaves its claimed\n"
	           "                   messages to the others after this long.  A lease under\n"
	           "                   %d s also cuts the time allowed for one SMTP attempt to\n"
	           "                   under half the lease (for tests and quick takeover).\n"
	           "smtp_url: smtps://host[:465] for implicit TLS; smtp://host[:587] upgrades\n"
	           "with STARTTLS when the server offers it, and smtp://...?starttls=required\n"
	           "refuses to send without it.\n",
	        cv_conf_path(), LEASE_MIN, LEASE_MAX, LEASE_SECONDS, SEND_MAX_S + 30);
}

/* The seconds of --lease s, or -1 when s is not a whole number from
 * LEASE_MIN to LEASE_MAX. */
static int
parse_lease(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < LEASE_MIN || v > LEASE_MAX)
		return -1;
	return (int)v;
}

/* Sets *out; error (NULL for none) is cut to fit.  Cannot fail. */
static void
set_outcome(struct outcome *out, const char *result, int retry_seconds, const char *error)
{
	size_t n = error != NULL ? strlen(error) : 0;

	if (n >= sizeof(out->error))
		n = sizeof(out->error) - 1;
	out->result = result;
	out->retry_seconds = retry_seconds;
	if (n > 0)
		memcpy(out->error, error, n);
	out->error[n] = '\0';
}

/* Seconds before the next try after failed attempt number attempts:
 * min(30 * 2^(attempts-1), 3600), times a random factor in [0.5, 1] so that
 * a burst of failures does not come back as a burst.  Cannot fail. */
static int
retry_delay(int attempts)
{
	unsigned char r[2];
	long base = RETRY_BASE_S;
	double factor = 0.75;
	int i, s;

	for (i = 1; i < attempts && base < RETRY_MAX_S; i++)
		base *= 2;
	if (base > RETRY_MAX_S)
		base = RETRY_MAX_S;
	if (cv_random_bytes(r, sizeof(r)) == 0)
		factor = 0.5 + 0.5 * (double)(r[0] << 8 | r[1]) / 65535.0;
	s = (int)((double)base * factor);
	return s < 1 ? 1 : s;
}

/* Sleeps ms milliseconds, or less when a signal arrives. */
static void
pause_ms(int ms)
{
	if (!stopping)
		(void)poll(NULL, 0, ms);
}

/* ---- directory delivery ------------------------------------------------ */

/* fsyncs directory dir so that a rename in it survives a crash.  Returns 0
 * or -1 with errno set. */
static int
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * Writes msg to mail_dir as <created>-<id>.eml: into a hidden .tmp file in
 * the same directory, fsync, rename, so a reader never sees half a message.
 * A second delivery of the same row replaces the first.  I/O errors are
 * temporary failures.
 */
static void
deliver_to_dir(const struct mailer *m, const struct outbox_row *row, const char *msg,
               size_t len, struct outcome *out)
{
	char path[PATH_MAX], tmp[PATH_MAX], error[PATH_MAX + 64];
	const char *dir = m->conf.mail_dir, *step = "open";
	int fd = -1, made = 0, n1, n2;
	size_t off = 0;
	ssize_t w;

	n1 = snprintf(path, sizeof(path), "%s/%lld-%s.eml", dir, row->created, row->id);
	n2 = snprintf(tmp, sizeof(tmp), "%s/.%lld-%s.eml.%ld.tmp", dir, row->created, row->id,
	              (long)getpid());
	if (row->id[0] == '\0' || strspn(row->id, "0123456789") != strlen(row->id)) {
		set_outcome(out, "failed", 0, "outbox id is not a number");
		return;
	}
	if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof(path) || (size_t)n2 >= sizeof(tmp)) {
		set_outcome(out, "retry", retry_delay(row->attempts), "mail_dir: path too long");
		return;
	}
	(void)unlink(tmp);  /* left by a crashed process that had our PID */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		goto fail;
	made = 1;
	step = "fchmod";
	if (fchmod(fd, 0640) != 0)  /* whatever the umask */
		goto fail;
	step = "write";
	while (off < len) {
		if ((w = write(fd, msg + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	step = "fsync";
	if (fsync(fd) != 0)
		goto fail;
	step = "close";
	n1 = close(fd);
	fd = -1;
	if (n1 != 0)
		goto fail;
	step = "rename";
	if (rename(tmp, path) != 0)
		goto fail;
	if (sync_dir(dir) != 0)  /* the file is there; only durability is in doubt */
		cv_log_error("mail_dir %s: fsync: %s", dir, strerror(errno));
	set_outcome(out, "sent", 0, NULL);
	return;
fail:
	snprintf(error, sizeof(error), "mail_dir %s: %s: %s", dir, step, strerror(errno));
	set_outcome(out, "retry", retry_delay(row->attempts), error);
	if (fd >= 0)
		close(fd);
	if (made)
		(void)unlink(tmp);
}

/* ---- SMTP delivery ----------------------------------------------------- */

/* The bytes of one message as curl reads them. */
struct upload {
	const char *data;
	size_t      len, off;
};

static size_t
read_message(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nitems, left = u->len - u->off;

	if (n > left)
		n = left;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	return n;
}

/*
 * curl's debug hook, used only to keep the server's last error reply line
 * (curl's own error text has just the number; the reply to the QUIT that
 * follows a failure is not an error and does not replace it).  Everything
 * we send (AUTH credentials, the message) is ignored; the reply is kept as
 * printable ASCII only.  Cannot fail.
 */
static int
on_curl_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *arg)
{
	struct mailer *m = arg;
	size_t i, o = 0;

	(void)curl;
	if (type != CURLINFO_HEADER_IN || size < 3 || (data[0] != '4' && data[0] != '5'))
		return 0;
	for (i = 0; i < size && o + 1 < sizeof(m->smtp_reply); i++) {
		if (data[i] == '\r' || data[i] == '\n')
			break;
		m->smtp_reply[o++] = (data[i] >= ' ' && data[i] < 0x7f) ? data[i] : '?';
	}
	m->smtp_reply[o] = '\0';
	return 0;
}

/* 1 when an SMTP failure is our credentials (or the relay's demand for
 * them): a configuration problem to fix, not a reason to drop mail. */
static int
auth_problem(CURLcode rc, long code)
{
	return rc == CURLE_LOGIN_DENIED || code == 530 || code == 534 || code == 535 || code == 538;
}

/*
 * Sends msg to row->to_email from envelope sender from over the one curl
 * handle (its connection is kept for the next message).  Success is 'sent';
 * a 5xx reply is 'failed' with the server's text, except for authentication
 * trouble; anything else (4xx, refused, timeouts, TLS) is 'retry'.
 */
static void
deliver_by_smtp(struct mailer *m, const struct outbox_row *row, const char *from,
                const char *msg, size_t len, struct outcome *out)
{
	struct upload upload = {msg, len, 0};
	struct curl_slist *rcpt = NULL;
	char envelope_from[300], envelope_to[300];
	CURLcode rc;
	long code = 0;

	snprintf(envelope_from, sizeof(envelope_from), "<%s>", from);
	snprintf(envelope_to, sizeof(envelope_to), "<%s>", row->to_email);
	if ((rcpt = curl_slist_append(NULL, envelope_to)) == NULL) {
		set_outcome(out, "retry", retry_delay(row->attempts), "out of memory");
		return;
	}
	m->curl_error[0] = '\0';
	m->smtp_reply[0] = '\0';
	if (curl_easy_setopt(m->curl, CURLOPT_MAIL_FROM, envelope_from) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_MAIL_RCPT, rcpt) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_READDATA, &upload) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len) != CURLE_OK) {
		set_outcome(out, "retry", retry_delay(row->attempts), "curl_easy_setopt failed");
		goto out;
	}
	rc = curl_easy_perform(m->curl);
	if (rc == CURLE_OK) {
		set_outcome(out, "sent", 0, NULL);
		goto out;
	}
	(void)curl_easy_getinfo(m->curl, CURLINFO_RESPONSE_CODE, &code);
	if (m->smtp_reply[0] != '\0')
		set_outcome(out, "retry", 0, m->smtp_reply);
	else
		set_outcome(out, "retry", 0,
		            m->curl_error[0] != '\0' ? m->curl_error : curl_easy_strerror(rc));
	if (code >= 500 && code <= 599 && !auth_problem(rc, code))
		out->result = "failed";
	else
		out->retry_seconds = retry_delay(row->attempts);
out:
	(void)curl_easy_setopt(m->curl, CURLOPT_MAIL_RCPT, NULL);
	(void)curl_easy_setopt(m->curl, CURLOPT_READDATA, NULL);
	curl_slist_free_all(rcpt);
}

/* ---- one message --------------------------------------------------------- */

/* cv_db_exec for the mailer: when the database is lost, db.c has closed the
 * connection that held our LISTEN, so it is forgotten (ensure_listening
 * opens a new one). */
static PGresult *
exec_stmt(struct mailer *m, enum cv_stmt stmt, const char *const *params, enum cv_err *err)
{
	PGresult *res = cv_db_exec(stmt, params, err);

	if (res == NULL && *err == CV_ERR_UNAVAILABLE)
		m->listen_conn = NULL;
	return res;
}

/* Column col of row i of a result as a number, or dflt when it is NULL. */
static long long
number(const PGresult *res, int i, int col, long long dflt)
{
	const char *s = cv_db_value(res, i, col);

	return s != NULL ? strtoll(s, NULL, 10) : dflt;
}

/* Fills row from row i of a claim, opening the sealed code and link. */
static void
read_row(const struct mailer *m, const PGresult *res, int i, struct outbox_row *row)
{
	char token[CV_LINK_TOKEN_LEN + 1];
	const char *s, *base = cv_db_value(res, i, CV_OUTBOX_CLAIM_COL_LINK_BASE);
	int code_length = (int)number(res, i, CV_OUTBOX_CLAIM_COL_CODE_LENGTH, 0);

	row->id = cv_db_value(res, i, CV_OUTBOX_CLAIM_COL_ID);
	row->to_email = cv_db_value(res, i, CV_OUTBOX_CLAIM_COL_TO_EMAIL);
	row->purpose = cv_db_value(res, i, CV_OUTBOX_CLAIM_COL_PURPOSE);
	row->code = row->link = NULL;
	if (row->purpose != NULL && base != NULL &&
	    cv_code_unseal(&m->conf, row->purpose,
	                   cv_db_value(res, i, CV_OUTBOX_CLAIM_COL_SEALED_HEX), code_length,
	                   row->code_buf, token) == 0 &&
	    (size_t)snprintf(row->link_buf, sizeof(row->link_buf), "%s%s", base, token) <
	        sizeof(row->link_buf)) {
		row->code = row->code_buf;
		row->link = row->link_buf;
	}
	OPENSSL_cleanse(token, sizeof(token));
	row->app_name = cv_db_value(res, i, CV_OUTBOX_CLAIM_COL_APP_NAME);
	row->sender_name = cv_db_value(res, i, CV_OUTBOX_CLAIM_COL_SENDER_NAME);
	row->sender_email = cv_db_value(res, i, CV_OUTBOX_CLAIM_COL_SENDER_EMAIL);
	row->message_id = cv_db_value(res, i, CV_OUTBOX_CLAIM_COL_MESSAGE_ID);
	row->expires_in = number(res, i, CV_OUTBOX_CLAIM_COL_EXPIRES_IN, 0);
	row->attempts = (int)number(res, i, CV_OUTBOX_CLAIM_COL_ATTEMPTS, 1);
	row->created = number(res, i, CV_OUTBOX_CLAIM_COL_CREATED_EPOCH, 0);
	s = cv_db_value(res, i, CV_OUTBOX_CLAIM_COL_SUPERSEDED);
	row->superseded = s != NULL && strcmp(s, "t") == 0;
}

/*
 * Looks up the template of row (cv.outbox_template: the user app's own for
 * the contact's locale, or none) into *t, which the caller releases with
 * PQclear(t->res).  Returns 0, or -1 with a temporary failure in *out when
 * the database did not answer.
 */
static int
load_template(struct mailer *m, const struct outbox_row *row, struct message_template *t,
              struct outcome *out)
{
	const char *params[CV_OUTBOX_TEMPLATE_PARAM__MAX] = {
	    [CV_OUTBOX_TEMPLATE_PARAM_OUTBOX_ID] = row->id,
	};
	enum cv_err err = CV_OK;
	PGresult *res;

	memset(t, 0, sizeof(*t));
	if ((res = exec_stmt(m, CV_STMT_OUTBOX_TEMPLATE, params, &err)) == NULL) {
		set_outcome(out, "retry", retry_delay(row->attempts), "template lookup failed");
		return -1;
	}
	t->res = res;
	if (PQntuples(res) != 1)
		return 0;  /* the row is gone: recording says so */
	t->locale = cv_db_value(res, 0, CV_OUTBOX_TEMPLATE_COL_LOCALE);
	if (!PQgetisnull(res, 0, CV_OUTBOX_TEMPLATE_COL_SUBJECT)) {
		const char *lang = PQgetvalue(res, 0, CV_OUTBOX_TEMPLATE_COL_TEMPLATE_LOCALE);

		t->has_custom = 1;
		/* The words of {{expiry}}: the template's language, or for the
		 * app's default template ('') the contact's. */
		t->custom.lang = *lang != '\0' ? lang : NULL;
		t->custom.subject = PQgetvalue(res, 0, CV_OUTBOX_TEMPLATE_COL_SUBJECT);
		t->custom.text = PQgetvalue(res, 0, CV_OUTBOX_TEMPLATE_COL_TEXT_BODY);
		t->custom.html = PQgetvalue(res, 0, CV_OUTBOX_TEMPLATE_COL_HTML_BODY);
	}
	return 0;
}

/*
 * Replaces in text, in place, every occurrence of secret by mark (which is
 * no longer than secret and cannot be part of it), and a prefix of secret
 * of at least 8 bytes that ends text (a reply line cut short) by "...".
 * Cannot fail.
 */
static void
redact(char *text, const char *secret, const char *mark)
{
	size_t slen = secret != NULL ? strlen(secret) : 0, mlen = strlen(mark), tlen, n;
	char *at;

	if (slen == 0 || mlen > slen)
		return;
	while ((at = strstr(text, secret)) != NULL) {
		memcpy(at, mark, mlen);
		memmove(at + mlen, at + slen, strlen(at + slen) + 1);
	}
	tlen = strlen(text);
	for (n = slen - 1; n >= 8; n--)
		if (tlen >= n && memcmp(text + tlen - n, secret, n) == 0) {
			memcpy(text + tlen - n, "...", 4);
			break;
		}
}

/* Composes row with template t and delivers it, filling *out.  Never
 * touches the database. */
static void
deliver(struct mailer *m, const struct outbox_row *row, const struct message_template *t,
        struct outcome *out)
{
	struct cv_mail mail = {0};
	const char *why = NULL;
	char *msg;
	size_t len = 0, n;
	int oom = 0;

	/* A retry with no delay past the expiry is what cv.outbox_record turns
	 * into 'expired': a code that can no longer be used is not sent. */
	if (row->expires_in <= 0) {
		set_outcome(out, "retry", 0, "code expired before delivery");
		return;
	}
	if (row->code == NULL) {
		set_outcome(out, "failed", 0,
		            "the sealed code cannot be opened (wiped, altered, or another code_secret)");
		return;
	}
	mail.purpose = row->purpose;
	mail.to_email = row->to_email;
	mail.from_name = row->sender_name;
	mail.from_email = (row->sender_email != NULL && *row->sender_email != '\0')
	                      ? row->sender_email
	                      : m->default_from;
	mail.app_name = row->app_name;
	mail.code = row->code;
	mail.link = row->link;
	mail.message_id = row->message_id;
	mail.expires_in = (long)row->expires_in;
	mail.date = time(NULL);
	mail.locale = t->locale;
	mail.template = t->has_custom ? &t->custom : NULL;
	if ((msg = cv_mime_compose(&mail, &len, &why, &oom)) == NULL) {
		if (oom)
			set_outcome(out, "retry", retry_delay(row->attempts), why);
		else
			set_outcome(out, "failed", 0, why);
		return;
	}
	if (m->curl != NULL)
		/* Bounces go to the operator's address when there is one, whatever
		 * From the app shows. */
		deliver_by_smtp(m, row, m->conf.mail_from != NULL ? m->conf.mail_from : mail.from_email,
		                msg, len, out);
	else
		deliver_to_dir(m, row, msg, len, out);
	OPENSSL_cleanse(msg, len);
	free(msg);
	/* A server's refusal may quote the message (a filter naming the URL it
	 * refused): the error goes to the log, the outbox and an event. */
	redact(out->error, row->code, "[code]");
	if ((n = strlen(row->link)) > CV_LINK_TOKEN_LEN)
		redact(out->error, row->link + n - CV_LINK_TOKEN_LEN, "[link token]");
}

/* Ends hold()'s transaction: COMMIT (commit != 0) or ROLLBACK.  Returns 0,
 * or -1 when the database did not take it. */
static int
end_hold(int commit)
{
	PGconn *conn = cv_db_conn();
	PGresult *res;
	int rc;

	if (conn == NULL)
		return -1;
	res = PQexec(conn, commit ? "COMMIT" : "ROLLBACK");
	rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc != 0)
		cv_log_error("%s failed: %s", commit ? "COMMIT" : "ROLLBACK",
		             res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	PQclear(res);
	return rc;
}

/*
 * Begins the transaction that holds row's message while it is sent
 * (cv.outbox_hold).  Returns 1 held, 0 the row is gone (its contact was
 * erased: the transaction is ended, nothing is to be sent), -1 the
 * database failed (nothing is held).
 */
static int
hold(struct mailer *m, const struct outbox_row *row)
{
	const char *params[CV_OUTBOX_HOLD_PARAM__MAX];
	enum cv_err err = CV_OK;
	PGconn *conn = cv_db_conn();
	PGresult *res;
	int held;

	if (conn == NULL)
		return -1;
	/* Utility statements of this connection's transaction, as LISTEN. */
	res = PQexec(conn, "BEGIN");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		cv_log_error("BEGIN failed: %s",
		             res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	params[CV_OUTBOX_HOLD_PARAM_OUTBOX_ID] = row->id;
	if ((res = exec_stmt(m, CV_STMT_OUTBOX_HOLD, params, &err)) == NULL) {
		end_hold(0);
		return -1;
	}
	held = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, CV_OUTBOX_HOLD_COL_HELD), "t") == 0;
	PQclear(res);
	if (!held) {
		end_hold(0);
		cv_log_info("outbox id=%s message_id=%s not sent: the row is gone (its contact was "
		            "erased)", row->id, row->message_id != NULL ? row->message_id : "-");
	}
	return held;
}

/*
 * Records out for row through cv.outbox_record and logs the one line of
 * this message.  A lost database (a failover) is tried again every
 * RECORD_RETRY_MS while the lease taken at claimed_at (cv_now_ms) leaves
 * RECORD_SPARE_MS, so that a message delivered just before the primary
 * went away is not handed to another mailer and delivered twice.  Returns
 * 0, or -1 when the database did not take it (the row then stays 'sending'
 * until its lease ends).
 */
static int
record(struct mailer *m, const struct outbox_row *row, const struct outcome *out,
       double claimed_at)
{
	char retry[16], detail[600];
	const char *params[CV_OUTBOX_RECORD_PARAM__MAX];
	const char *status;
	enum cv_err err = CV_OK;
	PGresult *res;

	snprintf(retry, sizeof(retry), "%d", out->retry_seconds);
	params[CV_OUTBOX_RECORD_PARAM_OUTBOX_ID] = row->id;
	params[CV_OUTBOX_RECORD_PARAM_OUTCOME] = out->result;
	params[CV_OUTBOX_RECORD_PARAM_ERROR] = out->error[0] != '\0' ? out->error : NULL;
	params[CV_OUTBOX_RECORD_PARAM_RETRY_SECONDS] = retry;
	detail[0] = '\0';
	if (strcmp(out->result, "retry") == 0)
		snprintf(detail, sizeof(detail), " retry_in=%ds", out->retry_seconds);
	if (out->error[0] != '\0')
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), " error=\"%s\"",
		         out->error);
	while ((res = exec_stmt(m, CV_STMT_OUTBOX_RECORD, params, &err)) == NULL &&
	       err == CV_ERR_UNAVAILABLE && !stopping &&
	       cv_now_ms() + RECORD_RETRY_MS < claimed_at + m->lease * 1000.0 - RECORD_SPARE_MS) {
		cv_log_error("outbox id=%s: database lost while recording; trying again in %d ms",
		             row->id, RECORD_RETRY_MS);
		pause_ms(RECORD_RETRY_MS);
	}
	if (res == NULL) {
		cv_log_error("outbox id=%s message_id=%s attempt=%d outcome=%s%s NOT RECORDED: the row "
		             "stays 'sending' and is claimed again after its lease (%d s), so it may "
		             "be delivered twice with the same Message-ID",
		             row->id, row->message_id != NULL ? row->message_id : "-", row->attempts,
		             out->result, detail, m->lease);
		return -1;
	}
	status = PQntuples(res) == 1 && !PQgetisnull(res, 0, CV_OUTBOX_RECORD_COL_STATUS)
	             ? PQgetvalue(res, 0, CV_OUTBOX_RECORD_COL_STATUS)
	             : "(row gone)";
	cv_log_info("outbox id=%s message_id=%s attempt=%d outcome=%s status=%s%s", row->id,
	            row->message_id != NULL ? row->message_id : "-", row->attempts, out->result,
	            status, detail);
	PQclear(res);
	return 0;
}

/* ---- the loop ------------------------------------------------------------ */

/*
 * Claims up to BATCH_SIZE due rows, delivers and records each in turn.
 * Rows not started when we stop, or too late to finish within the lease,
 * are handed back as a 'retry' due at once.  Returns the number of rows
 * claimed, or -1 when the database failed (the caller backs off).
 */
static int
process_batch(struct mailer *m)
{
	char limit[16], lease[16];
	const char *params[CV_OUTBOX_CLAIM_PARAM__MAX];
	const char *reason;
	struct outbox_row row;
	struct message_template template;
	struct outcome out;
	enum cv_err err = CV_OK;
	PGresult *res;
	double claimed_at;
	int i, n, held, erased, rc = -1;

	snprintf(limit, sizeof(limit), "%d", BATCH_SIZE);
	snprintf(lease, sizeof(lease), "%d", m->lease);
	params[CV_OUTBOX_CLAIM_PARAM_LIMIT] = limit;
	params[CV_OUTBOX_CLAIM_PARAM_LEASE_SECONDS] = lease;
	if ((res = exec_stmt(m, CV_STMT_OUTBOX_CLAIM, params, &err)) == NULL) {
		return -1;
	}
	claimed_at = cv_now_ms();
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		read_row(m, res, i, &row);
		reason = NULL;
		held = erased = 0;
		if (stopping)
			reason = "not attempted: mailer stopping";
		else if (cv_now_ms() - claimed_at > (m->lease - m->send_max) * 1000.0)
			reason = "not attempted: lease running out";
		if (reason != NULL) {
			set_outcome(&out, "retry", 0, reason);
		} else if (row.superseded) {
			/* A newer code replaced this one (or it was used): the mail
			 * would carry a code that no longer works. */
			set_outcome(&out, "expired", 0, "replaced by a newer code");
		} else if (load_template(m, &row, &template, &out) == 0) {
			/* The template first: a statement that db.c may repeat on a
			 * new connection has no place in the holding transaction. */
			if ((held = hold(m, &row)) > 0)
				deliver(m, &row, &template, &out);
			erased = held == 0;
			PQclear(template.res);
		}
		OPENSSL_cleanse(row.code_buf, sizeof(row.code_buf));
		OPENSSL_cleanse(row.link_buf, sizeof(row.link_buf));
		if (erased)
			continue;  /* hold() logged it; there is nothing to record */
		/* A COMMIT that failed (the primary lost under it) took the record
		 * with it: record again, on a new connection, within the lease. */
		if (held < 0 || record(m, &row, &out, claimed_at) != 0 ||
		    (held > 0 && end_hold(1) != 0 && record(m, &row, &out, claimed_at) != 0)) {
			if (held > 0)
				(void)end_hold(0);
			if (i + 1 < n)
				cv_log_error("%d more claimed row(s) wait for their lease to end", n - i - 1);
			goto out;
		}
	}
	rc = n;
out:
	PQclear(res);
	return rc;
}

/* Sends the server's notices (such as the FATAL line of a shutdown) to our
 * log rather than libpq's bare stderr line. */
static void
on_notice(void *arg, const char *message)
{
	size_t n = strlen(message);

	(void)arg;
	while (n > 0 && message[n - 1] == '\n')
		n--;
	cv_log_info("database: %.*s", (int)n, message);
}

/*
 * Makes sure we are connected and LISTENing on cv_outbox, connecting and
 * LISTENing again when db.c has opened a new connection.  Returns 0, or -1
 * when the database cannot be reached.
 */
static int
ensure_listening(struct mailer *m)
{
	PGconn *conn = cv_db_conn();
	PGresult *res;

	if (conn == NULL) {
		m->listen_conn = NULL;
		return -1;
	}
	if (conn == m->listen_conn && PQbackendPID(conn) == m->listen_pid)
		return 0;
	PQsetNoticeProcessor(conn, on_notice, NULL);
	/* A utility statement with nothing to bind that belongs to this very
	 * connection, so it is sent here rather than through db.c's table. */
	res = PQexec(conn, "LISTEN cv_outbox");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		cv_log_error("LISTEN cv_outbox failed: %s",
		             res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn));
		PQclear(res);
		cv_db_close();
		m->listen_conn = NULL;
		return -1;
	}
	PQclear(res);
	m->listen_conn = conn;
	m->listen_pid = PQbackendPID(conn);
	cv_log_info("connected to the database, listening on cv_outbox");
	return 0;
}

/* Reads what the server has sent and frees the notifications.  Returns
 * how many there were, or -1 when the connection is lost (it is closed). */
static int
take_notifications(struct mailer *m)
{
	PGnotify *note;
	int n = 0;

	if (PQconsumeInput(m->listen_conn) == 0 || PQstatus(m->listen_conn) != CONNECTION_OK) {
		cv_log_error("database connection lost: %s", PQerrorMessage(m->listen_conn));
		cv_db_close();
		m->listen_conn = NULL;
		return -1;
	}
	while ((note = PQnotifies(m->listen_conn)) != NULL) {
		PQfreemem(note);
		n++;
	}
	return n;
}

/* Waits until a NOTIFY arrives, timeout_ms pass, a signal comes or the
 * connection drops, whichever is first. */
static void
wait_for_work(struct mailer *m, int timeout_ms)
{
	struct pollfd pfd;
	int r;

	/* Notifications that came in while we were busy mean work now. */
	if (m->listen_conn == NULL || take_notifications(m) != 0 || stopping)
		return;
	pfd.fd = PQsocket(m->listen_conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (pfd.fd < 0) {
		cv_db_close();
		m->listen_conn = NULL;
		return;
	}
	r = poll(&pfd, 1, timeout_ms);
	if (r > 0)
		(void)take_notifications(m);
	else if (r < 0 && errno != EINTR) {
		cv_log_error("poll: %s", strerror(errno));
		pause_ms(BACKOFF_MIN_MS);
	}
}

/* Deletes the rows that can no longer mean anything (cv.housekeeping:
 * rate-limit counters whose window ended, expired login tickets) when an
 * hour has passed since the last time, or always with --once.  It never
 * holds up the mail: a lost database is tried again once it is back, any
 * other failure in an hour. */
static void
housekeeping(struct mailer *m)
{
	enum cv_err err;
	PGresult *res;
	double last = m->housekept_at;

	if (m->expiring || (!m->once && last != 0 && cv_now_ms() - last < HOUSEKEEPING_MS))
		return;
	m->housekept_at = cv_now_ms();
	if ((res = exec_stmt(m, CV_STMT_HOUSEKEEPING, NULL, &err)) == NULL) {
		if (err == CV_ERR_UNAVAILABLE) {
			m->housekept_at = last;
			return;
		}
		cv_log_error("housekeeping failed; trying again in an hour");
		return;
	}
	if (PQntuples(res) == 1)
		cv_log_info(
		    "housekeeping: deleted %s rate-limit counters whose window ended and %s "
		    "expired login tickets",
		    PQgetvalue(res, 0, CV_HOUSEKEEPING_COL_COUNTERS),
		    PQgetvalue(res, 0, CV_HOUSEKEEPING_COL_TICKETS));
	PQclear(res);
	/* Then the history past its retention, a batch at a time. */
	m->expiring = 1;
	m->expired_events = m->expired_codes = m->expired_mail = m->expire_batches = 0;
	m->expire_started = m->expire_due = cv_now_ms();
}

/*
 * One batch of the expiry of history (cv.expire_history), when one is under
 * way and its pause has passed: at most EXPIRE_BATCH events, codes and
 * mails past their account's retention, in a short transaction of their
 * own.  The next batch is due after a pause as long as this one took.  The
 * expiry ends when a batch finds less than a full batch of each (logged
 * with the totals) or fails (tried again at the next housekeeping; after a
 * lost database, once it is back).
 */
static void
expire_when_due(struct mailer *m)
{
	char batch[16];
	const char *params[CV_EXPIRE_HISTORY_PARAM__MAX];
	enum cv_err err = CV_OK;
	PGresult *res;
	double start = cv_now_ms();
	long long events, codes, mail;

	if (!m->expiring || start < m->expire_due)
		return;
	snprintf(batch, sizeof(batch), "%d", EXPIRE_BATCH);
	params[CV_EXPIRE_HISTORY_PARAM_BATCH] = batch;
	if ((res = exec_stmt(m, CV_STMT_EXPIRE_HISTORY, params, &err)) == NULL) {
		if (err != CV_ERR_UNAVAILABLE) {
			cv_log_error("expiring history failed; trying again at the next housekeeping");
			m->expiring = 0;
		}
		return;
	}
	events = atoll(PQgetvalue(res, 0, CV_EXPIRE_HISTORY_COL_EVENTS));
	codes = atoll(PQgetvalue(res, 0, CV_EXPIRE_HISTORY_COL_CODES));
	mail = atoll(PQgetvalue(res, 0, CV_EXPIRE_HISTORY_COL_MAIL));
	PQclear(res);
	m->expired_events += events;
	m->expired_codes += codes;
	m->expired_mail += mail;
	m->expire_batches++;
	if (events < EXPIRE_BATCH && codes < EXPIRE_BATCH && mail < EXPIRE_BATCH) {
		m->expiring = 0;
		cv_log_info("housekeeping: expired %lld events, %lld codes and %lld mails past their "
		            "account's retention in %lld batches, %.1f s",
		            m->expired_events, m->expired_codes, m->expired_mail, m->expire_batches,
		            (cv_now_ms() - m->expire_started) / 1000.0);
		return;
	}
	m->expire_due = cv_now_ms() + (cv_now_ms() - start);
}

/* The main loop.  Returns the exit status: 0 when stopped by a signal or,
 * with --once, when nothing is due; 1 when --once cannot reach the
 * database. */
static int
run(struct mailer *m)
{
	int backoff = 0, n, pause;

	while (!stopping) {
		n = ensure_listening(m) == 0 ? process_batch(m) : -1;
		if (n < 0) {
			if (m->once) {
				cv_log_error("database not usable, giving up (--once)");
				return 1;
			}
			backoff = backoff == 0 ? BACKOFF_MIN_MS
			                       : (backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
			                                                       : backoff * 2);
			cv_log_error("database not usable, trying again in %d s", backoff / 1000);
			pause_ms(backoff);
			continue;
		}
		backoff = 0;
		/* The expiry goes on between batches of mail too, so that a queue
		 * that is never empty does not hold it up. */
		expire_when_due(m);
		/* Claim again until nothing is due: a row queued while this batch
		 * was in hand may not have sent a NOTIFY (cv.queue_code skips it
		 * when other mail is due), and the claim that ends the loop began
		 * after this batch's rows were committed 'sending'. */
		if (n > 0)
			continue;
		housekeeping(m);
		pause = IDLE_WAIT_MS;
		if (m->expiring) {
			double due = m->expire_due - cv_now_ms();

			pause = due <= 0 ? 0 : due < IDLE_WAIT_MS ? (int)due + 1 : IDLE_WAIT_MS;
		}
		if (m->once) {
			if (!m->expiring)
				return 0;
			pause_ms(pause);
			continue;
		}
		wait_for_work(m, pause);
	}
	return 0;
}

/* ---- setup --------------------------------------------------------------- */

/*
 * Prepares SMTP delivery from conf.smtp_url: checks the scheme, takes our
 * own query (?starttls=required) off the URL, and sets every option that is
 * the same for all messages on one curl handle.  Returns 0, or -1 with a
 * message in err.
 */
static int
setup_smtp(struct mailer *m, char *err, size_t errlen)
{
	CURLU *url = NULL;
	char *scheme = NULL, *query = NULL, *host = NULL, *port = NULL;
	long use_ssl = CURLUSESSL_TRY;
	/* One attempt, leaving 5 s of send_max for recording (60 s by default),
	 * or 1 s under a short lease (send_max is at least 2). */
	long smtp_timeout = m->send_max > 10 ? m->send_max - 5 : m->send_max - 1;
	long connect_timeout = smtp_timeout < 10 ? smtp_timeout : 10;
	const char *tls = "STARTTLS when offered";
	int rc = -1;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		return -1;
	}
	if ((url = curl_url()) == NULL ||
	    curl_url_set(url, CURLUPART_URL, m->conf.smtp_url, 0) != CURLUE_OK ||
	    curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(url, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen, "smtp_url is not a URL");
		goto out;
	}
	if (strcmp(scheme, "smtps") == 0) {
		use_ssl = CURLUSESSL_ALL;
		tls = "implicit TLS";
	} else if (strcmp(scheme, "smtp") != 0) {
		snprintf(err, errlen, "smtp_url must start with smtp:// or smtps://");
		goto out;
	}
	if (curl_url_get(url, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
		if (strcmp(query, "starttls=required") != 0) {
			snprintf(err, errlen, "smtp_url: the only query understood is ?starttls=required");
			goto out;
		}
		if (use_ssl == CURLUSESSL_TRY) {
			use_ssl = CURLUSESSL_ALL;
			tls = "STARTTLS required";
		}
	}
	(void)curl_url_get(url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	if (curl_url_set(url, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
	    curl_url_get(url, CURLUPART_URL, &m->smtp_url, 0) != CURLUE_OK ||
	    (m->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (curl_easy_setopt(m->curl, CURLOPT_URL, m->smtp_url) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps") != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_USE_SSL, use_ssl) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_READFUNCTION, read_message) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_CONNECTTIMEOUT, connect_timeout) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_TIMEOUT, smtp_timeout) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    /* A kept connection older than this is not trusted to still work. */
	    curl_easy_setopt(m->curl, CURLOPT_MAXAGE_CONN, 60L) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_ERRORBUFFER, m->curl_error) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_DEBUGFUNCTION, on_curl_debug) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_DEBUGDATA, m) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_VERBOSE, 1L) != CURLE_OK ||
	    (m->conf.smtp_username != NULL &&
	     (curl_easy_setopt(m->curl, CURLOPT_USERNAME, m->conf.smtp_username) != CURLE_OK ||
	      curl_easy_setopt(m->curl, CURLOPT_PASSWORD,
	                       m->conf.smtp_password != NULL ? m->conf.smtp_password : "") !=
	          CURLE_OK))) {
		snprintf(err, errlen, "this libcurl lacks an SMTP option we need");
		goto out;
	}
	/* Host and port only: the URL may hold credentials. */
	cv_log_info("delivering by SMTP to %s:%s (%s)", host, port != NULL ? port : "?", tls);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(query);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(url);
	return rc;
}

/* Checks the delivery settings and prepares SMTP or directory delivery.
 * Returns 0, or -1 with a message in err. */
static int
setup_delivery(struct mailer *m, char *err, size_t errlen)
{
	struct stat st;

	m->default_from = m->conf.mail_from != NULL ? m->conf.mail_from : DEFAULT_FROM;
	if (!cv_mime_address_ok(m->default_from)) {
		snprintf(err, errlen, "mail_from must be a plain address like no-reply@example.com");
		return -1;
	}
	if (m->conf.smtp_url != NULL)
		return setup_smtp(m, err, errlen);
	if (m->conf.mail_dir == NULL || *m->conf.mail_dir == '\0') {
		snprintf(err, errlen, "set smtp_url (SMTP delivery) or mail_dir (directory delivery)");
		return -1;
	}
	if (stat(m->conf.mail_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "mail_dir %s is not a directory", m->conf.mail_dir);
		return -1;
	}
	cv_log_info("delivering into directory %s", m->conf.mail_dir);
	return 0;
}

int
main(int argc, char **argv)
{
	struct mailer m;
	struct sigaction sa;
	char err[512];
	int i, rc = 2;

	memset(&m, 0, sizeof(m));
	m.lease = LEASE_SECONDS;
	cv_log_init("cv-mailer");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0) {
			m.once = 1;
		} else if (strcmp(argv[i], "--lease") == 0 && i + 1 < argc) {
			if ((m.lease = parse_lease(argv[++i])) < 0) {
				fprintf(stderr, "cv-mailer: --lease must be %d to %d seconds\n",
				        LEASE_MIN, LEASE_MAX);
				return 2;
			}
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "cv-mailer: unknown argument: %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	/* A message must be sent and recorded well within the lease, or another
	 * mailer could claim it meanwhile; a short lease shortens that time. */
	m.send_max = m.lease > SEND_MAX_S + 30 ? SEND_MAX_S : m.lease / 2;
	if (geteuid() == 0) {
		cv_log_error("refusing to run as root; start it as an unprivileged user");
		return 2;
	}
	if (cv_conf_load(&m.conf, cv_conf_path(), err, sizeof(err)) != 0) {
		cv_log_error("configuration: %s", err);
		return 2;
	}
	umask(027);
	if (setup_delivery(&m, err, sizeof(err)) != 0) {
		cv_log_error("configuration: %s", err);
		goto out;
	}
	/* Its own role (cv_mailer), never the responders' database: each may
	 * run only its own SQL functions (README, Security model). */
	if (m.conf.mailer_database == NULL) {
		cv_log_error("configuration: mailer_database is not set (the mailer's connection "
		             "string, role cv_mailer; see contact-verify.conf(5))");
		goto out;
	}
	if (m.conf.unnamed_statements)
		cv_db_unprepared();
	if (cv_db_init(m.conf.mailer_database) != 0) {
		cv_log_error("out of memory");
		rc = 1;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	/* SA_RESTART keeps file writes whole; poll() is cut short regardless. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	cv_log_info("started%s, lease %d s", m.once ? " (--once)" : "", m.lease);
	rc = run(&m);
	cv_log_info("stopped");
out:
	cv_db_close();
	if (m.curl != NULL)
		curl_easy_cleanup(m.curl);
	curl_free(m.smtp_url);
	if (m.conf.smtp_url != NULL)
		curl_global_cleanup();
	cv_conf_free(&m.conf);
	return rc;
}
