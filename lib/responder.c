/*
 * responder.c - the FastCGI/CGI loop.  FCGI_Accept() answers both ways:
 * under a FastCGI server it waits for the next request, under plain CGI it
 * returns once for the request in the environment.
 */
#include "config.h"

#include <fcgi_stdio.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "log.h"
#include "responder.h"

/* 1 when method is one of the space-separated methods (GET implies HEAD). */
static int
method_allowed(const char *methods, const char *method)
{
	size_t n = strlen(method);
	const char *p;

	if (n == 0)
		return 0;   /* strstr(p, "") would match everywhere */
	if (strcmp(method, "HEAD") == 0)
		return method_allowed(methods, "GET");
	for (p = methods; (p = strstr(p, method)) != NULL; p += n)
		if ((p == methods || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
	return 0;
}

/* The Allow header for methods ("GET POST" -> "GET, HEAD, POST"). */
static void
allow_header(const char *methods, char *out, size_t len)
{
	const char *p = methods, *end;
	size_t n = 0;

	out[0] = '\0';
	while (*p != '\0' && n < len) {
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		n += (size_t)snprintf(out + n, len - n, "%s%.*s%s", n ? ", " : "", (int)(end - p), p,
		                      end - p == 3 && strncmp(p, "GET", 3) == 0 ? ", HEAD" : "");
		p = *end == ' ' ? end + 1 : end;
	}
}

static void
serve(const struct cv_endpoint *ep, const struct cv_conf *conf)
{
	struct cv_request req;
	struct cv_reply reply;
	enum cv_err err;
	double start = cv_now_ms();
	int status;
	const char *method = getenv("REQUEST_METHOD");
	char allow[64];
	int allowed;

	if (method == NULL)
		method = "GET";
	allowed = method_allowed(ep->methods, method);
	memset(&reply, 0, sizeof(reply));
	reply.dialect = ep->dialect;
	err = cv_request_read(&req, allowed && ep->read_body && strcmp(method, "POST") == 0);
	cv_client_addr(&conf->trusted_proxies, req.remote_addr, getenv("HTTP_X_FORWARDED_FOR"),
	               req.client_addr);
	if (err == CV_OK && !allowed) {
		allow_header(ep->methods, allow, sizeof(allow));
		reply.allow = allow;
		err = CV_ERR_METHOD_NOT_ALLOWED;
	}
	/* A missing or malformed credential outranks anything wrong with the body. */
	if (allowed && ep->authenticated) {
		enum cv_err auth = cv_auth_bearer(conf, req.authorization, req.credential);

		reply.bad_token = req.authorization != NULL;
		if (auth != CV_OK)
			err = auth;
	}
	if (err == CV_OK)
		err = ep->handle(conf, &req, &reply);
	/* Callers learn nothing about the body before their key is known good. */
	if (ep->authenticated && req.credential[0] != '\0' &&
	    (err == CV_ERR_INVALID_INPUT || err == CV_ERR_UNSUPPORTED_MEDIA ||
	     err == CV_ERR_BODY_TOO_LARGE)) {
		enum cv_err auth = cv_auth_check(req.credential, req.client_addr, &reply.retry_after);

		if (auth != CV_OK)
			err = auth;
	}
	status = err == CV_OK ? cv_respond_ok(&req, &reply) : cv_respond_error(&req, err, &reply);
	cv_log_request(req.request_id, ep->name, status, cv_now_ms() - start);
	json_object_put(reply.data);
	json_object_put(reply.document);
	free(reply.html);
	free(reply.location);
	free(reply.headers);
	cv_request_free(&req);
}

/* Answers the current request 503 (the service cannot work as configured). */
static void
unavailable(const struct cv_endpoint *ep)
{
	struct cv_request req;
	struct cv_reply reply;
	double start = cv_now_ms();
	int status;

	memset(&reply, 0, sizeof(reply));
	reply.dialect = ep->dialect;
	(void)cv_request_read(&req, 0);
	status = cv_respond_error(&req, CV_ERR_UNAVAILABLE, &reply);
	cv_log_request(req.request_id, ep->name, status, cv_now_ms() - start);
	cv_request_free(&req);
}

/*
 * 1 when the configuration file lies inside this request's DOCUMENT_ROOT,
 * where the web server would hand it out to anyone (shared hosting puts
 * files there by habit).  Checked again whenever DOCUMENT_ROOT changes,
 * logged once per change.
 */
static int
config_exposed(const char *path)
{
	static char *checked;
	static int exposed;
	const char *root = getenv("DOCUMENT_ROOT");

	if (root == NULL || *root == '\0')
		return 0;
	if (checked == NULL || strcmp(checked, root) != 0) {
		free(checked);
		checked = strdup(root);
		exposed = cv_conf_exposed(path, root);
		if (exposed)
			cv_log_error("configuration %s lies inside the document root %s, where the web"
			             " server could hand it out: refusing to serve (503) until it is"
			             " moved out", path, root);
	}
	return exposed;
}

int
cv_responder_main(const struct cv_endpoint *ep)
{
	struct cv_conf conf;
	char err[256];
	const char *path = cv_conf_path();
	int cgi = FCGX_IsCGI();

	cv_log_init(ep->name);
	signal(SIGPIPE, SIG_IGN);
	if (geteuid() == 0) {
		cv_log_error("refusing to run as root; start it as an unprivileged user");
		return 1;
	}
	if (cv_conf_load(&conf, path, err, sizeof(err)) != 0) {
		cv_log_error("configuration: %s", err);
		/* A CGI request still gets its envelope; a FastCGI process exits
		 * and the web server answers 502/503 for it. */
		if (cgi && FCGI_Accept() >= 0)
			unavailable(ep);
		return 1;
	}
	/* One request per process: a prepared statement would never be reused,
	 * and preparing costs a round trip.  statements = unnamed: a pooler in
	 * transaction mode (PgBouncer 1.18) cannot keep named ones. */
	if (cgi || conf.unnamed_statements)
		cv_db_unprepared();
	if (cv_db_init(conf.database) != 0) {
		cv_log_error("out of memory");
		cv_conf_free(&conf);
		return 1;
	}
	while (FCGI_Accept() >= 0) {
		if (config_exposed(path))
			unavailable(ep);
		else
			serve(ep, &conf);
	}
	cv_db_close();
	cv_conf_free(&conf);
	return 0;
}
