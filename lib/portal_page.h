/*
 * portal_page.h - the hosted login page GET|POST /login/{app_public_id}:
 * server-rendered HTML that works as plain forms without JavaScript
 * (portal/static/portal.js only adds the resend countdown and tidies pasted
 * codes).  Steps: email -> code (or the email's link -> one click to
 * confirm) -> 303 to the app's portal URL with ?ticket=.
 */
#ifndef CV_PORTAL_PAGE_H
#define CV_PORTAL_PAGE_H

#include "conf.h"
#include "error.h"
#include "request.h"
#include "response.h"

enum cv_err cv_portal_page(const struct cv_conf *conf, struct cv_request *req,
                           struct cv_reply *reply);

#endif
