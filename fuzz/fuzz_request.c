/*
 * fuzz_request.c - the CGI/FastCGI request reader (lib/request.c
 * cv_request_read: environment, CONTENT_LENGTH, the bounded body read from
 * libfcgi's stdin, then the body parsers) and the bearer credential of that
 * request (lib/auth.c cv_auth_bearer, access tokens under FUZZ_KEY).
 * Input: one line for each of REQUEST_METHOD, CONTENT_TYPE, CONTENT_LENGTH,
 * PATH_INFO, HTTP_AUTHORIZATION, REMOTE_ADDR and REQUEST_ID (an empty or
 * missing line leaves the variable unset), then the body as standard input.
 * An Authorization ending in ".*" gets the harness's HS256 signature there,
 * so the claims checks of access tokens are reached.  As the responders do,
 * only POST reads a body.
 * Links: lib/request.c lib/form.c lib/utf8.c lib/crypto.c lib/auth.c lib/jwt.c lib/error.c
 *        lib/keys.c fuzz/stub_db.c
 *
 * Invariants: the reader gives back the variables as they are (PATH_INFO
 * without leading '/', method "GET" when unset), a request id of 1 to 64
 * characters of [A-Za-z0-9_-] that is REQUEST_ID when that is one, one of the
 * four documented errors, 413 for any declared length over 64 KiB, else
 * exactly what cv_request_parse makes of the first CONTENT_LENGTH bytes of
 * standard input (of all of it without one); the credential is "" on
 * refusal, else 64 lowercase hex digits or "oauth:<client>:<exp>" with both
 * positive.
 */
#include <stdio.h>
#include <strings.h>

#include <json-c/json.h>

#include "auth.h"
#include "fuzz.h"
#include "request.h"

static void set_fcgi_stdin(void *stream);

enum {
	METHOD,
	CONTENT_TYPE,
	CONTENT_LENGTH,
	PATH_INFO,
	AUTHORIZATION,
	REMOTE_ADDR,
	REQUEST_ID,
	VARS
};
static const char *const names[VARS] = {"REQUEST_METHOD", "CONTENT_TYPE",       "CONTENT_LENGTH",
                                        "PATH_INFO",      "HTTP_AUTHORIZATION", "REMOTE_ADDR",
                                        "REQUEST_ID"};

static struct cv_conf conf;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memcpy(conf.access_token_key, FUZZ_KEY, FUZZ_KEY_LEN);
	conf.access_token_key_len = FUZZ_KEY_LEN;
	return 0;
}

/* 1 when s is a request id the reader keeps: 1 to 64 of [A-Za-z0-9_-]. */
static int
good_request_id(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= CV_REQUEST_ID_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

/* The Authorization value, its token's ".*" replaced by a signature. */
static char *
authorization(const char *value)
{
	const char *token = strrchr(value, ' ');
	size_t lead, len;
	char *signed_token, *out;

	token = token != NULL ? token + 1 : value;
	lead = (size_t)(token - value);
	if ((signed_token = fuzz_sign_star(token, strlen(token), &len)) == NULL)
		return strdup(value);
	if ((out = malloc(lead + len + 1)) != NULL) {
		memcpy(out, value, lead);
		memcpy(out + lead, signed_token, len);
		out[lead + len] = '\0';
	}
	free(signed_token);
	return out;
}

static void
check_credential(const char *header)
{
	char credential[CV_CREDENTIAL_MAX + 1];
	long long client, exp;
	enum cv_err err;
	int end = 0;

	memset(credential, 'x', sizeof(credential));
	err = cv_auth_bearer(&conf, header, credential);
	FUZZ_CHECK(err == CV_OK || err == CV_ERR_UNAUTHENTICATED);
	if (err != CV_OK) {
		FUZZ_CHECK(credential[0] == '\0');
		return;
	}
	FUZZ_CHECK(header != NULL && strncasecmp(header, "Bearer ", 7) == 0);
	if (strncmp(credential, "oauth:", 6) == 0) {
		FUZZ_CHECK(sscanf(credential, "oauth:%lld:%lld%n", &client, &exp, &end) == 2);
		FUZZ_CHECK(credential[end] == '\0' && client > 0 && exp > 0);
	} else {
		FUZZ_CHECK(strlen(credential) == 64 &&
		           strspn(credential, "0123456789abcdef") == 64);
	}
}

/*
 * The reader's result must be cv_request_parse's on the len bytes of body it
 * may read: at most CONTENT_LENGTH (RFC 3875 section 4.2: a script must not
 * read more, even when more is there), all of them without one.
 */
static void
same_as_parse(const struct cv_request *req, enum cv_err err, const char *content_type,
              const char *body, size_t len)
{
	struct cv_request want;

	memset(&want, 0, sizeof(want));
	FUZZ_CHECK(cv_request_parse(&want, content_type, body, len) == err);
	FUZZ_CHECK(json_object_equal(want.body, req->body));
	FUZZ_CHECK(json_object_equal(want.field_errors, req->field_errors));
	cv_request_free(&want);
}

static void
check_request(char *vars[VARS], const char *body, size_t bodylen)
{
	struct cv_request req;
	const char *cl = vars[CONTENT_LENGTH], *path = vars[PATH_INFO];
	int want_body = vars[METHOD] != NULL && strcmp(vars[METHOD], "POST") == 0;
	FILE *in = fmemopen((void *)body, bodylen, "r");
	enum cv_err err;

	FUZZ_CHECK(in != NULL);
	set_fcgi_stdin(in);
	err = cv_request_read(&req, want_body);
	set_fcgi_stdin(NULL);
	fclose(in);

	FUZZ_CHECK(strcmp(req.method, vars[METHOD] != NULL ? vars[METHOD] : "GET") == 0);
	while (path != NULL && *path == '/')
		path++;
	FUZZ_CHECK(strcmp(req.path_info, path != NULL ? path : "") == 0);
	if (vars[AUTHORIZATION] == NULL)
		FUZZ_CHECK(req.authorization == NULL);
	else
		FUZZ_CHECK(req.authorization != NULL &&
		           strcmp(req.authorization, vars[AUTHORIZATION]) == 0);
	FUZZ_CHECK(strcmp(req.remote_addr, vars[REMOTE_ADDR] != NULL ? vars[REMOTE_ADDR] : "") ==
	           0);
	FUZZ_CHECK(good_request_id(req.request_id));
	if (vars[REQUEST_ID] != NULL && good_request_id(vars[REQUEST_ID]))
		FUZZ_CHECK(strcmp(req.request_id, vars[REQUEST_ID]) == 0);

	FUZZ_CHECK(err == CV_OK || err == CV_ERR_INVALID_INPUT || err == CV_ERR_BODY_TOO_LARGE ||
	           err == CV_ERR_UNSUPPORTED_MEDIA);
	if (!want_body)
		FUZZ_CHECK(err == CV_OK && json_object_object_length(req.body) == 0);
	if (want_body && cl != NULL && strspn(cl, "0123456789") == strlen(cl)) {
		const char *digits = cl + strspn(cl, "0");
		unsigned long long declared = 0;

		if (strlen(digits) > 12 || (declared = strtoull(digits, NULL, 10)) > CV_BODY_MAX)
			FUZZ_CHECK(err == CV_ERR_BODY_TOO_LARGE);
		else
			same_as_parse(&req, err, vars[CONTENT_TYPE], body,
			              declared < bodylen ? (size_t)declared : bodylen);
	} else if (want_body && cl == NULL && bodylen <= CV_BODY_MAX) {
		same_as_parse(&req, err, vars[CONTENT_TYPE], body, bodylen);
	}
	if (err == CV_OK)
		FUZZ_CHECK(json_object_is_type(req.body, json_type_object) &&
		           req.field_errors == NULL);
	else
		FUZZ_CHECK(req.body == NULL);
	/* A malformed CONTENT_LENGTH is the one refusal without a field error. */
	if (err == CV_ERR_INVALID_INPUT && req.field_errors == NULL)
		FUZZ_CHECK(cl != NULL && strspn(cl, "0123456789") != strlen(cl));

	check_credential(req.authorization);
	cv_request_free(&req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *vars[VARS] = {NULL}, *line;
	const uint8_t *end = data + size, *nl;
	int i;

	for (i = 0; i < VARS && data < end; i++) {
		if ((nl = memchr(data, '\n', (size_t)(end - data))) == NULL)
			nl = end;
		/* Up to a NUL, as the environment would hold it. */
		FUZZ_CHECK((line = fuzz_strndup(data, (size_t)(nl - data))) != NULL);
		if (line[0] != '\0') {
			vars[i] = i == AUTHORIZATION ? authorization(line) : strdup(line);
			FUZZ_CHECK(vars[i] != NULL);
		}
		free(line);
		data = nl < end ? nl + 1 : end;
	}
	for (i = 0; i < VARS; i++) {
		if (vars[i] != NULL)
			setenv(names[i], vars[i], 1);
		else
			unsetenv(names[i]);
	}
	check_request(vars, (const char *)data, (size_t)(end - data));
	for (i = 0; i < VARS; i++)
		free(vars[i]);
	return 0;
}

/*
 * libfcgi renames stdio (FILE, fread, printf...) in <fcgi_stdio.h>, which
 * request.c reads its body through; included last so that the harness above
 * keeps the real stdio.  Outside FCGI_Accept, FCGI_stdin reads the stream
 * set here.
 */
#include <fcgi_stdio.h>

static void
set_fcgi_stdin(void *stream)
{
	FCGI_stdin->stdio_stream = stream;
}
