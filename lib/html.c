/*
 * html.c - escaped text and the frame of a page (html.h).
 */
#include "config.h"

#include <stddef.h>

#include "html.h"

/* The character reference that stands for c in text and quoted attribute
 * values, or NULL when c stands for itself. */
static const char *
entity(char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	default:
		return NULL;
	}
}

void
cv_html_text(struct cv_buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		const char *rep = entity(*s);

		if (rep != NULL)
			cv_buf_adds(b, rep);
		else
			cv_buf_add(b, s, 1);
	}
}

void
cv_html_begin(struct cv_buf *b, const char *lang, const char *title, const char *title_suffix)
{
	cv_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"");
	cv_buf_adds(b, lang);
	cv_buf_adds(b, "\">\n<head>\n<meta charset=\"utf-8\">\n"
	               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	               "<title>");
	cv_html_text(b, title);
	if (title_suffix != NULL) {
		cv_buf_adds(b, " \xe2\x80\x93 ");
		cv_html_text(b, title_suffix);
	}
	cv_buf_adds(b, "</title>\n");
}

void
cv_html_body(struct cv_buf *b, const char *main_class)
{
	cv_buf_adds(b, "</head>\n<body>\n<main");
	if (main_class != NULL) {
		cv_buf_adds(b, " class=\"");
		cv_buf_adds(b, main_class);
		cv_buf_adds(b, "\"");
	}
	cv_buf_adds(b, ">\n");
}

void
cv_html_end(struct cv_buf *b)
{
	cv_buf_adds(b, "</main>\n</body>\n</html>\n");
}
