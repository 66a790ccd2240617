/*
 * fcgi_select - the "fcgi_select" floor of tools/bench: fcgi_static plus one
 * prepared SELECT per request, the lookup of one contact by primary key
 * (the contact number comes in the query string, "?id=N").  No transaction
 * of its own, no commit: what a read endpoint cannot avoid.
 */
#include "config.h"

#include <fcgi_stdio.h>

#include <stdlib.h>
#include <string.h>

#include "refdb.h"

static const char select_sql[] = "SELECT uuid, email FROM cv.contacts WHERE id = $1::bigint";

/* The digits of "id=" in QUERY_STRING, or "1". */
static const char *
contact_id(char *buf, size_t len)
{
	const char *q = getenv("QUERY_STRING");
	size_t n = 0;

	if (q != NULL && strncmp(q, "id=", 3) == 0)
		for (q += 3; n + 1 < len && q[n] >= '0' && q[n] <= '9'; n++)
			buf[n] = q[n];
	if (n == 0)
		buf[n++] = '1';
	buf[n] = '\0';
	return buf;
}

int
main(void)
{
	char id[24];
	const char *params[1];
	PGresult *res;

	if (refdb_init() != 0)
		return 1;
	while (FCGI_Accept() >= 0) {
		params[0] = contact_id(id, sizeof(id));
		res = refdb_exec(select_sql, 1, params);
		if (res != NULL && PQntuples(res) == 1) {
			char body[512];
			int n = snprintf(body, sizeof(body),
			                 "{\"data\":{\"uuid\":\"%s\",\"email\":\"%s\"},\"meta\":[]}",
			                 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));

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
