/*
 * oauth.h - POST /oauth/token: the OAuth 2.0 client credentials grant
 * (RFC 6749 section 4.4, README "API, POST /oauth/token").
 */
#ifndef CV_OAUTH_H
#define CV_OAUTH_H

#include "conf.h"
#include "request.h"
#include "response.h"

/*
 * Authenticates the client (HTTP Basic, or client_id and client_secret in
 * the body; not both) and answers {"token_type":"Bearer","expires_in":N,
 * "access_token":JWT}.  Errors carry reply->description for the RFC 6749
 * envelope; failed client authentications are counted per client address.
 */
enum cv_err cv_oauth_token(const struct cv_conf *conf, struct cv_request *req,
                           struct cv_reply *reply);

#endif
