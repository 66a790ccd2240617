/*
 * test_mime.c - what cv-mailer puts on the wire: the headers every message
 * carries, CRLF line ends, the code in the text part, HTML escaping, RFC 2047
 * encoding of non-ASCII header text, refusal of header injection, and the
 * templates: built-in German by locale, an app's own template expanded with
 * its values escaped where needed.  The small MIME reader below (unfolding,
 * base64, quoted-printable, encoded-words) exists only to look at the output
 * the way a mail client would.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../src/mime.h"
#include "unit.h"

#define CODE "493817"
#define LINK "https://cv.example.com/login/confirm?token=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd"
#define MSGID "<0b8d5d2e-8f0c-4a52-9a43-5f3b8f0e7c11@contact-verify>"

static struct cv_mail
base_mail(void)
{
	struct cv_mail m = {
		.purpose = "login",
		.to_email = "contact@example.com",
		.from_name = NULL,
		.from_email = "no-reply@example.com",
		.app_name = "Acme Portal",
		.code = CODE,
		.link = LINK,
		.message_id = MSGID,
		.expires_in = 598,
		.date = 1700000000,
	};
	return m;
}

/* Composes m; NULL (and a FAIL line) when composition fails. */
static char *
compose(const struct cv_mail *m, size_t *len)
{
	const char *why = NULL;
	int oom = 0;
	char *msg = cv_mime_compose(m, len, &why, &oom);

	if (msg == NULL)
		printf("compose failed: %s\n", why != NULL ? why : "(no reason)");
	return msg;
}

/* The length of the header block (up to and without the empty line). */
static size_t
header_block_len(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");

	return end != NULL ? (size_t)(end - msg) + 2 : strlen(msg);
}

/* Copies the unfolded value of the first header called name into out.
 * Returns 1 when found. */
static int
header(const char *msg, const char *name, char *out, size_t len)
{
	size_t hlen = header_block_len(msg), nlen = strlen(name), o = 0;
	const char *p = msg, *end = msg + hlen;

	if (len > 0)
		out[0] = '\0';
	while (p < end) {
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			p += nlen + 1;
			while (*p == ' ')
				p++;
			while (p < end && o + 1 < len) {
				if (p[0] == '\r' && p[1] == '\n') {
					if (p[2] != ' ' && p[2] != '\t')
						break;
					p += 2;  /* unfold: drop the CRLF, keep the WSP */
					continue;
				}
				out[o++] = *p++;
			}
			out[o] = '\0';
			return 1;
		}
		p = strstr(p, "\r\n");
		if (p == NULL)
			break;
		p += 2;
	}
	return 0;
}

/* 1 when some line of the header block starts with name and ':'. */
static int
has_header_line(const char *msg, const char *name)
{
	char value[2048];

	return header(msg, name, value, sizeof(value));
}

static int
b64_value(char c)
{
	const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != '\0' ? strchr(alphabet, c) : NULL;

	return p != NULL ? (int)(p - alphabet) : -1;
}

/* Decodes n chars of padded base64 into out; returns the length or -1. */
static long
b64_decode(const char *in, size_t n, unsigned char *out)
{
	long o = 0;
	size_t i;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		int a = b64_value(in[i]), b = b64_value(in[i + 1]);
		int c = in[i + 2] == '=' ? 0 : b64_value(in[i + 2]);
		int d = in[i + 3] == '=' ? 0 : b64_value(in[i + 3]);

		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -1;
		out[o++] = (unsigned char)(a << 2 | b >> 4);
		if (in[i + 2] != '=')
			out[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
		if (in[i + 3] != '=')
			out[o++] = (unsigned char)((c & 3) << 6 | d);
	}
	return o;
}

/*
 * Decodes a header value made of "=?UTF-8?B?...?=" words (whitespace
 * between two words dropped, RFC 2047 section 6.2) and plain text into out.
 * Returns 0, or -1 on a malformed word.  *words counts the words seen.
 */
static int
decode_words(const char *v, char *out, size_t len, int *words)
{
	size_t o = 0;
	int after_word = 0;
	const char *q;
	unsigned char tmp[256];
	long n;

	*words = 0;
	while (*v != '\0') {
		if (strncmp(v, "=?UTF-8?B?", 10) == 0 && (q = strstr(v + 10, "?=")) != NULL) {
			if ((size_t)(q - v - 10) > sizeof(tmp) || (n = b64_decode(v + 10, (size_t)(q - v - 10), tmp)) < 0 ||
			    o + (size_t)n + 1 > len)
				return -1;
			memcpy(out + o, tmp, (size_t)n);
			o += (size_t)n;
			v = q + 2;
			after_word = 1;
			(*words)++;
			continue;
		}
		if (after_word && (*v == ' ' || *v == '\t')) {
			q = v + strspn(v, " \t");
			if (strncmp(q, "=?", 2) == 0) {
				v = q;
				continue;
			}
		}
		after_word = 0;
		if (o + 2 > len)
			return -1;
		out[o++] = *v++;
	}
	out[o] = '\0';
	return 0;
}

/* Decodes quoted-printable text (CRLF line ends) into out. */
static void
qp_decode(const char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (in[i] == '=' && i + 2 < n && in[i + 1] == '\r' && in[i + 2] == '\n') {
			i += 2;
		} else if (in[i] == '=' && i + 2 < n) {
			char hex[3] = {in[i + 1], in[i + 2], '\0'};

			out[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
}

/*
 * Finds the body part of content type type ("text/plain") and writes its
 * decoded body to out (malloc'ed, caller frees).  *cte gets the transfer
 * encoding.  Returns 1 when found.
 */
static int
part(const char *msg, const char *type, char **out, char cte[32])
{
	char ct[256], boundary[128], delim[140], *p, *start, *end;
	size_t n;

	*out = NULL;
	if (!header(msg, "Content-Type", ct, sizeof(ct)) ||
	    (p = strstr(ct, "boundary=\"")) == NULL)
		return 0;
	n = strcspn(p + 10, "\"");
	if (n >= sizeof(boundary))
		return 0;
	memcpy(boundary, p + 10, n);
	boundary[n] = '\0';
	snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	for (p = strstr(msg, delim); p != NULL; p = strstr(p + 1, delim)) {
		char head[512], want[128];

		start = p + strlen(delim);
		if (strncmp(start, "--", 2) == 0)
			break;
		start += 2;  /* CRLF after the delimiter */
		end = strstr(start, "\r\n\r\n");
		if (end == NULL || (size_t)(end - start) + 3 > sizeof(head))
			return 0;
		memcpy(head, start, (size_t)(end - start) + 2);
		head[end - start + 2] = '\0';
		memcpy(head + (end - start) + 2, "\r\n", 3);
		snprintf(want, sizeof(want), "%s;", type);
		if (!header(head, "Content-Type", ct, sizeof(ct)) || strncmp(ct, want, strlen(want)) != 0)
			continue;
		if (!header(head, "Content-Transfer-Encoding", cte, 32))
			return 0;
		start = end + 4;
		end = strstr(start, delim);
		if (end == NULL)
			return 0;
		if ((*out = malloc((size_t)(end - start) + 1)) == NULL)
			return 0;
		if (strcmp(cte, "quoted-printable") == 0) {
			qp_decode(start, (size_t)(end - start), *out);
		} else {
			memcpy(*out, start, (size_t)(end - start));
			(*out)[end - start] = '\0';
		}
		return 1;
	}
	return 0;
}

static void
headers_carry_everything_a_client_needs(void)
{
	struct cv_mail m = base_mail();
	char v[1024];
	size_t len;
	char *msg = compose(&m, &len);

	CHECK("compose succeeds", msg != NULL);
	if (msg == NULL)
		return;
	CHECK("length matches", strlen(msg) == len);
	CHECK("From", header(msg, "From", v, sizeof(v)) && strcmp(v, "no-reply@example.com") == 0);
	CHECK("To", header(msg, "To", v, sizeof(v)) && strcmp(v, "contact@example.com") == 0);
	CHECK("Subject", header(msg, "Subject", v, sizeof(v)) &&
	                 strcmp(v, "Your login code for Acme Portal") == 0);
	CHECK("Date", header(msg, "Date", v, sizeof(v)) &&
	              strcmp(v, "Tue, 14 Nov 2023 22:13:20 +0000") == 0);
	CHECK("Message-ID is the row's", header(msg, "Message-ID", v, sizeof(v)) && strcmp(v, MSGID) == 0);
	CHECK("MIME-Version", header(msg, "MIME-Version", v, sizeof(v)) && strcmp(v, "1.0") == 0);
	CHECK("Auto-Submitted", header(msg, "Auto-Submitted", v, sizeof(v)) &&
	                        strcmp(v, "auto-generated") == 0);
	CHECK("multipart/alternative", header(msg, "Content-Type", v, sizeof(v)) &&
	                               strncmp(v, "multipart/alternative; boundary=\"", 33) == 0);
	free(msg);
}

static void
message_id_is_stable_across_retries(void)
{
	struct cv_mail m = base_mail();
	char a[256] = "", b[256] = "", ca[512] = "", cb[512] = "";
	size_t len;
	char *first = compose(&m, &len), *second;

	m.date += 300;  /* a retry five minutes later, with less time left */
	m.expires_in -= 300;
	second = compose(&m, &len);
	CHECK("both compose", first != NULL && second != NULL);
	if (first != NULL && second != NULL) {
		header(first, "Message-ID", a, sizeof(a));
		header(second, "Message-ID", b, sizeof(b));
		CHECK("same Message-ID", strcmp(a, MSGID) == 0 && strcmp(a, b) == 0);
		header(first, "Content-Type", ca, sizeof(ca));
		header(second, "Content-Type", cb, sizeof(cb));
		CHECK("same boundary", strcmp(ca, cb) == 0);
		header(second, "Date", a, sizeof(a));
		CHECK("new Date", strcmp(a, "Tue, 14 Nov 2023 22:18:20 +0000") == 0);
	}
	free(first);
	free(second);
}

static void
date_is_rfc5322_in_utc(void)
{
	char d[64];

	CHECK("epoch", cv_mime_date(0, d, sizeof(d)) == 0 &&
	               strcmp(d, "Thu, 01 Jan 1970 00:00:00 +0000") == 0);
	CHECK("leap day", cv_mime_date(951782400, d, sizeof(d)) == 0 &&
	                  strcmp(d, "Tue, 29 Feb 2000 00:00:00 +0000") == 0);
	CHECK("too small a buffer", cv_mime_date(0, d, 10) == -1 && d[0] == '\0');
}

static void
every_line_ends_in_crlf_and_fits(void)
{
	struct cv_mail m = base_mail();
	size_t len, i, col = 0, maxcol = 0, maxhead = 0, hlen;
	int bare = 0;
	char *msg;

	m.app_name = "Caf\xc3\xa9 Z\xc3\xbcrich";  /* forces a quoted-printable part */
	msg = compose(&m, &len);
	if (msg == NULL) {
		CHECK("compose succeeds", 0);
		return;
	}
	hlen = header_block_len(msg);
	for (i = 0; i < len; i++) {
		if (i == hlen)
			maxhead = maxcol;
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			bare = 1;
		if (msg[i] == '\r' && msg[i + 1] != '\n')
			bare = 1;
		if (msg[i] == '\r' || msg[i] == '\n') {
			col = 0;
		} else if (++col > maxcol) {
			maxcol = col;
		}
	}
	CHECK("no bare LF or CR", !bare);
	CHECK("ends with CRLF", len >= 2 && strcmp(msg + len - 2, "\r\n") == 0);
	CHECK("header lines of at most 78", maxhead <= 78);
	/* The 7bit text part keeps the link on one line. */
	CHECK("every line at most 998", maxcol <= 998);
	for (i = 0; i < hlen; i++) {
		if ((unsigned char)msg[i] >= 0x80)
			break;
	}
	CHECK("headers are 7-bit", i == hlen);
	free(msg);
}

static void
text_part_holds_the_code_and_link(void)
{
	struct cv_mail m = base_mail();
	char cte[32], *text = NULL, *msg;
	size_t len;

	msg = compose(&m, &len);
	CHECK("text part found", msg != NULL && part(msg, "text/plain", &text, cte));
	if (text != NULL) {
		CHECK("ascii text is 7bit", strcmp(cte, "7bit") == 0);
		CHECK("code in text",
		      strstr(text, "Your login code is " CODE ". It expires in 10 minutes.") != NULL);
		CHECK("link in text, on its own line", strstr(text, "\r\n" LINK "\r\n") != NULL);
		CHECK("disclaimer", strstr(text, "If you did not ask for this code, ignore this email.") != NULL);
		CHECK("raw message greppable for the code", strstr(msg, CODE) != NULL);
	}
	free(text);
	free(msg);

	/* With a non-ASCII app name a part is quoted-printable (the link is
	 * then broken over lines); decoded it still holds the code and the
	 * whole link. */
	m.app_name = "Caf\xc3\xa9";
	msg = compose(&m, &len);
	text = NULL;
	CHECK("html part found", msg != NULL && part(msg, "text/html", &text, cte));
	if (text != NULL) {
		CHECK("non-ASCII part is quoted-printable", strcmp(cte, "quoted-printable") == 0);
		CHECK("app name decodes", strstr(text, "<strong>Caf\xc3\xa9</strong>") != NULL);
		CHECK("code in decoded part", strstr(text, ">" CODE "<") != NULL);
		CHECK("whole link in decoded part", strstr(text, "\"" LINK "\"") != NULL);
	}
	free(text);
	free(msg);
}

static void
html_part_escapes_every_value(void)
{
	struct cv_mail m = base_mail();
	char cte[32], *html = NULL, *msg;
	size_t len;

	m.app_name = "<script>alert('x')</script> & \"Co\"";
	msg = compose(&m, &len);
	CHECK("html part found", msg != NULL && part(msg, "text/html", &html, cte));
	if (html != NULL) {
		CHECK("no raw script tag", strstr(html, "<script>") == NULL);
		CHECK("escaped", strstr(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
		                              "&quot;Co&quot;") != NULL);
		CHECK("code prominent", strstr(html, ">" CODE "</p>") != NULL);
		CHECK("link as href", strstr(html, "<a href=\"" LINK "\">") != NULL);
		CHECK("utf-8 declared", strstr(html, "<meta charset=\"UTF-8\">") != NULL);
	}
	free(html);
	free(msg);
}

static void
non_ascii_header_text_is_rfc2047(void)
{
	struct cv_mail m = base_mail();
	char v[1024] = "", decoded[1024] = "";
	size_t len;
	int words = 0;
	char *msg;

	m.app_name = "Caf\xc3\xa9 Z\xc3\xbcrich";
	m.from_name = "B\xc3\xa4" "ckerei M\xc3\xbcller";
	msg = compose(&m, &len);
	if (msg == NULL) {
		CHECK("compose succeeds", 0);
		return;
	}
	CHECK("subject encoded", header(msg, "Subject", v, sizeof(v)) &&
	                         strncmp(v, "=?UTF-8?B?", 10) == 0);
	CHECK("subject decodes", decode_words(v, decoded, sizeof(decoded), &words) == 0 &&
	                         strcmp(decoded, "Your login code for Caf\xc3\xa9 Z\xc3\xbcrich") == 0);
	CHECK("from name encoded", header(msg, "From", v, sizeof(v)) &&
	                           strncmp(v, "=?UTF-8?B?", 10) == 0);
	CHECK("from decodes", decode_words(v, decoded, sizeof(decoded), &words) == 0 &&
	                      strcmp(decoded, "B\xc3\xa4" "ckerei M\xc3\xbcller <no-reply@example.com>") == 0);
	free(msg);

	/* A long name of two-byte characters spans several words; none may
	 * split a character. */
	m.app_name = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
	msg = compose(&m, &len);
	if (msg == NULL) {
		CHECK("compose succeeds", 0);
		return;
	}
	header(msg, "Subject", v, sizeof(v));
	CHECK("long subject decodes", decode_words(v, decoded, sizeof(decoded), &words) == 0 &&
	                              strncmp(decoded, "Your login code for ", 20) == 0 &&
	                              strcmp(decoded + 20, m.app_name) == 0);
	CHECK("several words", words >= 2);
	{
		/* Each word on its own must be whole UTF-8: no word starts with a
		 * continuation byte. */
		const char *p = v;
		int split = 0;
		unsigned char one[128];
		long n;

		while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
			const char *q = strstr(p + 10, "?=");

			if (q == NULL || (n = b64_decode(p + 10, (size_t)(q - p - 10), one)) <= 0 ||
			    (one[0] & 0xC0) == 0x80 || (one[n - 1] & 0xE0) == 0xC0)
				split = 1;
			p = q != NULL ? q : p + 10;
		}
		CHECK("no character split between words", !split);
	}
	free(msg);
}

static void
ascii_sender_name_is_quoted(void)
{
	struct cv_mail m = base_mail();
	char v[512];
	size_t len;
	char *msg;

	m.from_name = "Bob \"the\" Builder\\";
	msg = compose(&m, &len);
	CHECK("quoted-string", msg != NULL && header(msg, "From", v, sizeof(v)) &&
	                       strcmp(v, "\"Bob \\\"the\\\" Builder\\\\\" <no-reply@example.com>") == 0);
	free(msg);
}

static void
header_injection_is_refused(void)
{
	struct cv_mail m = base_mail();
	const char *why = NULL;
	size_t len;
	int oom = 1;
	char *msg;

	m.app_name = "Evil\r\nBcc: victim@example.com";
	m.from_name = "Mallory\nReply-To: x@evil.example";
	msg = compose(&m, &len);
	CHECK("names with CR/LF still compose", msg != NULL);
	if (msg != NULL) {
		CHECK("no Bcc header", !has_header_line(msg, "Bcc"));
		CHECK("no Reply-To header", !has_header_line(msg, "Reply-To"));
		CHECK("no line starts with Bcc anywhere", strstr(msg, "\nBcc:") == NULL);
		CHECK("no line starts with Reply-To anywhere", strstr(msg, "\nReply-To:") == NULL);
	}
	free(msg);

	m = base_mail();
	m.to_email = "contact@example.com\r\nBcc: victim@example.com";
	msg = cv_mime_compose(&m, &len, &why, &oom);
	CHECK("recipient with CRLF refused", msg == NULL && why != NULL && oom == 0);
	free(msg);

	m = base_mail();
	m.from_email = "Sender <no-reply@example.com>";
	msg = cv_mime_compose(&m, &len, &why, &oom);
	CHECK("sender with angle brackets refused", msg == NULL && oom == 0);
	free(msg);

	m = base_mail();
	m.message_id = "<x@y>\r\nBcc: victim@example.com";
	msg = cv_mime_compose(&m, &len, &why, &oom);
	CHECK("Message-ID with CRLF refused", msg == NULL && oom == 0);
	free(msg);

	m = base_mail();
	m.link = "javascript:alert(1)";
	msg = cv_mime_compose(&m, &len, &why, &oom);
	CHECK("non-http link refused", msg == NULL && oom == 0);
	free(msg);
}

static void
addresses_are_checked(void)
{
	CHECK("plain", cv_mime_address_ok("a@example.com"));
	CHECK("localhost", cv_mime_address_ok("no-reply@localhost"));
	CHECK("NULL", !cv_mime_address_ok(NULL));
	CHECK("no at", !cv_mime_address_ok("example.com"));
	CHECK("empty local", !cv_mime_address_ok("@example.com"));
	CHECK("empty domain", !cv_mime_address_ok("a@"));
	CHECK("space", !cv_mime_address_ok("a b@example.com"));
	CHECK("angle", !cv_mime_address_ok("<a@example.com>"));
	CHECK("lf", !cv_mime_address_ok("a@example.com\n"));
	CHECK("8-bit", !cv_mime_address_ok("j\xc3\xbcrgen@example.com"));
}

static void
verify_email_has_its_own_wording(void)
{
	struct cv_mail m = base_mail();
	char v[512], cte[32], *text = NULL, *msg;
	size_t len;
	const char *why = NULL;
	int oom = 1;

	m.purpose = "verify_email";
	m.expires_in = 86390;
	msg = compose(&m, &len);
	CHECK("subject", msg != NULL && header(msg, "Subject", v, sizeof(v)) &&
	                 strcmp(v, "Confirm your email for Acme Portal") == 0);
	CHECK("text part", msg != NULL && part(msg, "text/plain", &text, cte));
	if (text != NULL) {
		CHECK("code and hours", strstr(text, CODE ". It expires in 24 hours.") != NULL);
		CHECK("link", strstr(text, LINK) != NULL);
	}
	free(text);
	free(msg);

	m.purpose = "newsletter";
	msg = cv_mime_compose(&m, &len, &why, &oom);
	CHECK("unknown purpose refused", msg == NULL && oom == 0 && why != NULL);
	free(msg);
}

static void
expiry_reads_naturally(void)
{
	struct cv_mail m = base_mail();
	long secs[] = {600, 61, 60, 1, 0, -5, 7200, 86400, 3 * 86400 + 1};
	const char *want[] = {"10 minutes.", "2 minutes.", "1 minute.", "1 minute.", "1 minute.",
	                      "1 minute.", "120 minutes.", "24 hours.", "3 days."};
	char cte[32], *text, *msg, label[64];
	size_t i, len;

	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		m.expires_in = secs[i];
		text = NULL;
		msg = compose(&m, &len);
		snprintf(label, sizeof(label), "expiry %ld s reads %s", secs[i], want[i]);
		CHECK(label, msg != NULL && part(msg, "text/plain", &text, cte) &&
		             strstr(text, want[i]) != NULL && strstr(text, "in 0 ") == NULL);
		free(text);
		free(msg);
	}
}

static void
message_without_link_is_refused(void)
{
	struct cv_mail m = base_mail();
	const char *why = NULL;
	size_t len;
	int oom = 1;
	char *msg;

	m.link = NULL;
	msg = cv_mime_compose(&m, &len, &why, &oom);
	CHECK("no link refused", msg == NULL && oom == 0 && why != NULL);
	free(msg);
}

/* The subject of msg, decoded into out. */
static int
decoded_subject(const char *msg, char *out, size_t len)
{
	char v[1024];
	int words = 0;

	return msg != NULL && header(msg, "Subject", v, sizeof(v)) &&
	       decode_words(v, out, len, &words) == 0;
}

static void
german_locales_get_the_german_builtin(void)
{
	const char *locales[] = {"de", "de-AT", "DE_at", "de-Latn-CH"};
	struct cv_mail m = base_mail();
	char subject[512], cte[32], label[64], *text, *html, *msg;
	size_t i, len;

	for (i = 0; i < sizeof(locales) / sizeof(locales[0]); i++) {
		m.locale = locales[i];
		text = html = NULL;
		msg = compose(&m, &len);
		snprintf(label, sizeof(label), "%s: German subject", locales[i]);
		CHECK(label, decoded_subject(msg, subject, sizeof(subject)) &&
		             strcmp(subject, "Ihr Anmeldecode f\xc3\xbcr Acme Portal") == 0);
		snprintf(label, sizeof(label), "%s: German text", locales[i]);
		CHECK(label, msg != NULL && part(msg, "text/plain", &text, cte) &&
		             strstr(text, "Ihr Anmeldecode lautet " CODE
		                          ". Er ist 10 Minuten g\xc3\xbcltig.") != NULL &&
		             strstr(text, "\r\n" LINK "\r\n") != NULL);
		snprintf(label, sizeof(label), "%s: German HTML", locales[i]);
		CHECK(label, msg != NULL && part(msg, "text/html", &html, cte) &&
		             strstr(html, "<html lang=\"de\">") != NULL &&
		             strstr(html, ">" CODE "</p>") != NULL);
		free(text);
		free(html);
		free(msg);
	}

	m.purpose = "verify_email";
	m.locale = "de-CH";
	m.expires_in = 86390;
	msg = compose(&m, &len);
	text = NULL;
	CHECK("verify_email in German",
	      decoded_subject(msg, subject, sizeof(subject)) &&
	          strcmp(subject,
	                 "Best\xc3\xa4tigen Sie Ihre E-Mail-Adresse f\xc3\xbcr Acme Portal") == 0);
	CHECK("German hours", msg != NULL && part(msg, "text/plain", &text, cte) &&
	                      strstr(text, "Er ist 24 Stunden g\xc3\xbcltig.") != NULL);
	free(text);
	free(msg);
}

static void
other_locales_get_english(void)
{
	const char *locales[] = {"en", "en-GB", "fr", "dee", "d", ""};
	struct cv_mail m = base_mail();
	char v[256], label[64], *msg;
	size_t i, len;

	for (i = 0; i < sizeof(locales) / sizeof(locales[0]); i++) {
		m.locale = locales[i];
		msg = compose(&m, &len);
		snprintf(label, sizeof(label), "locale \"%s\" reads English", locales[i]);
		CHECK(label, msg != NULL && header(msg, "Subject", v, sizeof(v)) &&
		             strcmp(v, "Your login code for Acme Portal") == 0);
		free(msg);
	}
}

static void
custom_template_is_expanded_with_escaping(void)
{
	const struct cv_template custom = {
		NULL,
		"{{app_name}}: {{ code }} ({{expiry_minutes}} min)",
		"Code {{code}}, {{expiry}}, for {{app_name}}:\n{{link}}\n",
		"<p>{{app_name}}</p><a href=\"{{link}}\">{{code}}</a>",
	};
	struct cv_mail m = base_mail();
	char v[512], cte[32], *text = NULL, *html = NULL, *msg;
	size_t len;

	m.template = &custom;
	m.app_name = "<b>\"Tom & Jerry\"</b>\r\nBcc: victim@example.com";
	m.expires_in = 601;
	msg = compose(&m, &len);
	CHECK("custom subject, header-safe",
	      decoded_subject(msg, v, sizeof(v)) &&
	          strcmp(v, "<b>\"Tom & Jerry\"</b>  Bcc: victim@example.com: " CODE " (11 min)") ==
	              0);
	CHECK("no Bcc header", msg != NULL && !has_header_line(msg, "Bcc"));
	CHECK("custom text, values as they are",
	      msg != NULL && part(msg, "text/plain", &text, cte) &&
	          strcmp(text, "Code " CODE ", 11 minutes, for <b>\"Tom & Jerry\"</b>  Bcc: "
	                       "victim@example.com:\r\n" LINK "\r\n") == 0);
	CHECK("custom html, values escaped",
	      msg != NULL && part(msg, "text/html", &html, cte) &&
	          strcmp(html, "<p>&lt;b&gt;&quot;Tom &amp; Jerry&quot;&lt;/b&gt;  Bcc: "
	                       "victim@example.com</p><a href=\"" LINK "\">" CODE "</a>") == 0);
	free(text);
	free(html);
	free(msg);
}

static void
expiry_words_follow_the_template_language(void)
{
	struct cv_template custom = {NULL, "S", "{{code}} {{expiry}}\n", "<p>{{code}}</p>"};
	struct cv_mail m = base_mail();
	char cte[32], *text = NULL, *msg;
	size_t len;

	m.template = &custom;
	m.locale = "de-AT";
	msg = compose(&m, &len);
	CHECK("default template: the contact's language",
	      msg != NULL && part(msg, "text/plain", &text, cte) &&
	          strcmp(text, CODE " 10 Minuten\r\n") == 0);
	free(text);
	free(msg);
	custom.lang = "en";
	text = NULL;
	msg = compose(&m, &len);
	CHECK("template of a locale: its language",
	      msg != NULL && part(msg, "text/plain", &text, cte) &&
	          strcmp(text, CODE " 10 minutes\r\n") == 0);
	free(text);
	free(msg);
}

static void
custom_template_with_unknown_placeholder_is_refused(void)
{
	const struct cv_template custom = {NULL, "Hi {{name}}", "{{code}}\n", "<p>{{code}}</p>"};
	struct cv_mail m = base_mail();
	const char *why = NULL;
	size_t len;
	int oom = 1;
	char *msg;

	m.template = &custom;
	msg = cv_mime_compose(&m, &len, &why, &oom);
	CHECK("unknown placeholder refused", msg == NULL && oom == 0 && why != NULL);
	free(msg);
}

static void
boundary_never_appears_in_a_body(void)
{
	struct cv_mail m = base_mail();
	char ct[256], boundary[64], *msg, *p;
	size_t len;
	int count = 0;

	m.app_name = "=_cv_ =?UTF-8?B?QQ==?= tricky";
	msg = compose(&m, &len);
	if (msg == NULL) {
		CHECK("compose succeeds", 0);
		return;
	}
	CHECK("subject with =? is encoded", header(msg, "Subject", ct, sizeof(ct)) &&
	                                    strncmp(ct, "=?UTF-8?B?", 10) == 0);
	header(msg, "Content-Type", ct, sizeof(ct));
	p = strstr(ct, "boundary=\"");
	snprintf(boundary, sizeof(boundary), "%.*s", p != NULL ? (int)strcspn(p + 10, "\"") : 0,
	         p != NULL ? p + 10 : "");
	for (p = msg; (p = strstr(p, boundary)) != NULL; p++)
		count++;
	/* One in Content-Type, two delimiters, the close delimiter. */
	CHECK("boundary only where it belongs", boundary[0] != '\0' && count == 4);
	free(msg);
}

int
main(void)
{
	headers_carry_everything_a_client_needs();
	message_id_is_stable_across_retries();
	date_is_rfc5322_in_utc();
	every_line_ends_in_crlf_and_fits();
	text_part_holds_the_code_and_link();
	html_part_escapes_every_value();
	non_ascii_header_text_is_rfc2047();
	ascii_sender_name_is_quoted();
	header_injection_is_refused();
	addresses_are_checked();
	verify_email_has_its_own_wording();
	expiry_reads_naturally();
	message_without_link_is_refused();
	german_locales_get_the_german_builtin();
	other_locales_get_english();
	custom_template_is_expanded_with_escaping();
	expiry_words_follow_the_template_language();
	custom_template_with_unknown_placeholder_is_refused();
	boundary_never_appears_in_a_body();
	return unit_done();
}
