/*
 * fcgi_insert - the "fcgi_insert" floor of tools/bench: fcgi_static plus one
 * prepared INSERT per request, committed on its own (synchronous_commit as
 * the cluster has it).  One round trip and one commit: what a write
 * endpoint cannot avoid.
 */
#include "config.h"

#include <fcgi_stdio.h>

#include <stdlib.h>

#include "refdb.h"

static const char insert_sql[] =
    "INSERT INTO cv_bench.hits (request_id) VALUES ($1) RETURNING id";

int
main(void)
{
	const char *params[1];
	PGresult *res;

	if (refdb_init() != 0)
		return 1;
	while (FCGI_Accept() >= 0) {
		params[0] = getenv("REQUEST_ID") != NULL ? getenv("REQUEST_ID") : "-";
		res = refdb_exec(insert_sql, 1, params);
		if (res != NULL && PQntuples(res) == 1) {
			char body[128];
			int n = snprintf(body, sizeof(body), "{\"data\":{\"id\":%s},\"meta\":[]}",
			                 PQgetvalue(res, 0, 0));

			printf("Status: 200 OK\r\nContent-Type: application/json\r\n"
			       "Cache-Control: no-store\r\nContent-Length: %d\r\n\r\n%s",
			       n, body);
		} else {
			printf("Status: 503 Service Unavailable\r\nContent-Type: application/json\r\n"
			       "Content-Length: 2\r\n\r\n{}");
		}
		PQclear(res);
	}
	return 0;
}
