/*
 * responder.h - the main loop shared by every program in cgi-bin/: load the
 * configuration, accept requests (FastCGI, or one CGI request), check the
 * method, read the request, call the endpoint's handler, write the answer
 * and one log line.
 */
#ifndef CV_RESPONDER_H
#define CV_RESPONDER_H

#include "conf.h"
#include "error.h"
#include "request.h"
#include "response.h"

struct cv_endpoint {
	const char *name;       /* for the log line */
	const char *methods;    /* served methods, space-separated ("GET" also serves HEAD) */
	int         read_body;      /* read the body of POST requests */
	int         authenticated;  /* needs "Authorization: Bearer <api key | access token>" */
	enum cv_dialect dialect;    /* the envelopes of its answers */
	/* Does the work; on CV_OK fills reply->data or reply->document. */
	enum cv_err (*handle)(const struct cv_conf *conf, struct cv_request *req,
	                      struct cv_reply *reply);
};

/* Runs the endpoint until the web server closes the socket (FastCGI) or
 * after one request (CGI).  Returns the process exit status. */
int cv_responder_main(const struct cv_endpoint *endpoint);

#endif
