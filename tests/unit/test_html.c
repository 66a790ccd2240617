/*
 * test_html.c - escaped text and the frame of every page (lib/html.c): the
 * five characters that could end a text or an attribute value, and the
 * bytes of a page's head and body around what a caller adds.
 */
#include "config.h"

#include <string.h>

#include "html.h"
#include "unit.h"

static void
text(void)
{
	struct cv_buf b = {NULL, 0, 0, 0};

	cv_html_text(&b, "<a href=\"x\">Tom & 'Jerry'</a>");
	CHECK("escaped",
	      strcmp(cv_buf_str(&b),
	             "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;") == 0);
	cv_buf_wipe(&b);
	cv_html_text(&b, NULL);
	CHECK("NULL is empty", strcmp(cv_buf_str(&b), "") == 0 && !b.failed);
	cv_html_text(&b, "Gr\xc3\xbc\xc3\x9f"
	                 "e");
	CHECK("UTF-8 kept", strcmp(cv_buf_str(&b), "Gr\xc3\xbc\xc3\x9f"
	                                           "e") == 0);
	cv_buf_wipe(&b);
}

static void
frame(void)
{
	struct cv_buf b = {NULL, 0, 0, 0};

	cv_html_begin(&b, "de", "Log <in>", "A&B");
	cv_html_body(&b, "card");
	cv_buf_adds(&b, "<p>x</p>\n");
	cv_html_end(&b);
	CHECK("page with suffix and class",
	      strcmp(cv_buf_str(&b),
	             "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n"
	             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	             "<title>Log &lt;in&gt; \xe2\x80\x93 A&amp;B</title>\n</head>\n<body>\n"
	             "<main class=\"card\">\n<p>x</p>\n</main>\n</body>\n</html>\n") == 0);
	cv_buf_wipe(&b);
	cv_html_begin(&b, "en", "T", NULL);
	cv_html_body(&b, NULL);
	cv_html_end(&b);
	CHECK("page plain", strstr(cv_buf_str(&b),
	                           "<title>T</title>\n</head>\n<body>\n<main>\n</main>\n") != NULL);
	cv_buf_wipe(&b);
}

int
main(void)
{
	text();
	frame();
	return unit_done();
}
