/*
 * cgi_connect - the "cgi_connect" floor of tools/bench's CGI runs: a plain
 * CGI program (one process per request, under fcgiwrap) that reads cv.conf,
 * connects to PostgreSQL as the responders do and runs SELECT 1.  The most
 * any CGI program that opens a connection per request can do; CGI
 * auth_token is measured against it.
 */
#include "config.h"

#include <stdio.h>

#include "refdb.h"

int
main(void)
{
	PGresult *res;

	if (refdb_init() != 0)
		return 1;
	res = refdb_exec("SELECT 1", 0, NULL);
	if (res != NULL && PQntuples(res) == 1)
		printf("Status: 200 OK\r\nContent-Type: application/json\r\n"
		       "Cache-Control: no-store\r\nContent-Length: 37\r\n\r\n"
		       "{\"data\":{\"type\":\"Success\"},\"meta\":[]}");
	else
		printf("Status: 503 Service Unavailable\r\nContent-Type: application/json\r\n"
		       "Content-Length: 2\r\n\r\n{}");
	PQclear(res);
	refdb_finish();
	return 0;
}
