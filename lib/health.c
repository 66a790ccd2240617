/*
 * health.c - the health check: one round trip to the database.
 */
#include "config.h"

#include "db.h"
#include "health.h"

enum cv_err
cv_health_check(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	enum cv_err err;
	PGresult *res;

	(void)conf;
	(void)req;
	if ((res = cv_db_exec(CV_STMT_HEALTH, NULL, &err)) == NULL)
		return err;
	PQclear(res);
	if ((reply->document = json_object_new_object()) == NULL)
		return CV_ERR_INTERNAL;
	json_object_object_add(reply->document, "status", json_object_new_string("ok"));
	json_object_object_add(reply->document, "database", json_object_new_string("ok"));
	return CV_OK;
}
