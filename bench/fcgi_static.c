/*
 * fcgi_static - the "fcgi_static" floor of tools/bench: a minimal libfcgi
 * responder that answers every request with the same small JSON document
 * and the headers the real responders send.  It reads nothing and touches
 * no database, so it costs what nginx + FastCGI + libfcgi cost.
 */
#include "config.h"

#include <fcgi_stdio.h>

int
main(void)
{
	static const char body[] = "{\"data\":{\"type\":\"Success\"},\"meta\":[]}";

	while (FCGI_Accept() >= 0)
		printf("Status: 200 OK\r\n"
		       "Content-Type: application/json\r\n"
		       "Cache-Control: no-store\r\n"
		       "Content-Length: %d\r\n"
		       "\r\n"
		       "%s",
		       (int)sizeof(body) - 1, body);
	return 0;
}
