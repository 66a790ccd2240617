/*
 * health.h - GET /healthz: answers {"status":"ok","database":"ok"} when the
 * database answers, the 1503 envelope when it does not.
 */
#ifndef CV_HEALTH_H
#define CV_HEALTH_H

#include "conf.h"
#include "request.h"
#include "response.h"

enum cv_err cv_health_check(const struct cv_conf *conf, struct cv_request *req,
                            struct cv_reply *reply);

#endif
