/*
 * test_email.c - which addresses the service accepts.
 */
#include "config.h"

#include <string.h>

#include "email.h"
#include "unit.h"

static int
valid(const char *s)
{
	return cv_email_valid(s, strlen(s));
}

int
main(void)
{
	char longer[300];

	CHECK("plain", valid("spongebob@bikinibottom.sea"));
	CHECK("plus and dots", valid("first.last+tag@mail.example.co.uk"));
	CHECK("atext", valid("o'brien!#$%&*=?^_`{|}~-@example.com"));
	CHECK("no at", !valid("example.com"));
	CHECK("two ats", !valid("a@b@example.com"));
	CHECK("no local", !valid("@example.com"));
	CHECK("single-label domain", !valid("a@localhost"));
	CHECK("leading dot", !valid(".a@example.com"));
	CHECK("double dot", !valid("a..b@example.com"));
	CHECK("trailing dot local", !valid("a.@example.com"));
	CHECK("domain trailing dot", !valid("a@example.com."));
	CHECK("hyphen at label start", !valid("a@-example.com"));
	CHECK("hyphen at label end", !valid("a@example-.com"));
	CHECK("space", !valid("a b@example.com"));
	CHECK("quoted", !valid("\"a\"@example.com"));
	CHECK("ip literal", !valid("a@[127.0.0.1]"));
	CHECK("header injection", !valid("a@example.com\r\nBcc: x@example.com"));
	CHECK("non-ascii", !valid("j\xc3\xbcrgen@example.com"));
	memset(longer, 'a', sizeof(longer));
	memcpy(longer + 65, "@example.com", 13);
	CHECK("local part of 65", !valid(longer));
	memset(longer, 'a', sizeof(longer));
	longer[0] = 'x';
	longer[1] = '@';
	for (int i = 2; i < 254; i += 10)
		longer[i] = '.';
	longer[254] = 'b';
	longer[255] = '\0';
	CHECK("255 bytes", !valid(longer));
	return unit_done();
}
