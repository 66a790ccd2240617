/*
 * well_known.h - the public documents of /.well-known (RFC 8615): an
 * account's JWKS of its contact-token keys, the server's JWKS of its
 * access-token key (RFC 7517), and the OAuth 2.0 Authorization Server
 * Metadata (RFC 8414).  Cacheable: Cache-Control public, a strong ETag of
 * the body, 304 for a matching If-None-Match.
 */
#ifndef CV_WELL_KNOWN_H
#define CV_WELL_KNOWN_H

#include "conf.h"
#include "request.h"
#include "response.h"

/* PATH_INFO "accounts/{uuid}" (the account's JWKS), "jwks" (the server's)
 * or "oauth-authorization-server"; anything else, an unknown or disabled
 * account included, is CV_ERR_NOT_FOUND. */
enum cv_err cv_well_known(const struct cv_conf *conf, struct cv_request *req,
                          struct cv_reply *reply);

#endif
