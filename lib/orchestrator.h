/*
 * orchestrator.h - the Users Orchestrator dialect (README "Users Orchestrator API"): send
 * and verify registration codes for tenants named by headers, and the
 * verification link's page.
 */
#ifndef CV_ORCHESTRATOR_H
#define CV_ORCHESTRATOR_H

#include "conf.h"
#include "request.h"
#include "response.h"

/* Seconds of clock skew allowed on a tenant JWT's exp and nbf. */
#define CV_UO_LEEWAY 60

/* POST /v4/Users/VerificationCode ({email, returnUrl}) and, with the legacy
 * dialect, POST /VerifyEmail/Resend ({Email, ReturnUrl}). */
enum cv_err cv_uo_send(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply);

/* POST /v4/Users/Verification ({email, verificationCode}). */
enum cv_err cv_uo_verify(const struct cv_conf *conf, struct cv_request *req,
                         struct cv_reply *reply);

/* GET/HEAD (never consumes) and POST (consumes) /v4/Users/VerifyEmail. */
enum cv_err cv_uo_verify_email(const struct cv_conf *conf, struct cv_request *req,
                               struct cv_reply *reply);

#endif
