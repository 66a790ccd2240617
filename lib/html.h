/*
 * html.h - HTML on a growing string (buf.h): escaped text, and the frame of
 * every page the service writes (the Users Orchestrator's link page, the
 * login portal's pages, the HTML error pages).  Like cv_buf_add, nothing
 * here fails: a failed allocation stays in the buffer's failed flag.
 * A primitive, of lib/'s lower floor (Makefile.am lists both floors): it
 * knows no request and includes no handler's header.
 */
#ifndef CV_HTML_H
#define CV_HTML_H

#include "buf.h"

/* Appends s (NULL reads as "") with & < > " ' as character references, for
 * text and quoted attribute values. */
void cv_html_text(struct cv_buf *b, const char *s);

/*
 * Opens a page: the doctype, <html lang="lang">, and a head with the
 * charset, the viewport and the title (escaped; with " – " and the escaped
 * title_suffix unless that is NULL).  The head stays open for the caller's
 * stylesheets and scripts; cv_html_body closes it.
 */
void cv_html_begin(struct cv_buf *b, const char *lang, const char *title, const char *title_suffix);

/* Closes the head and opens the body's <main> (with class="main_class"
 * unless that is NULL, a name the caller knows to need no escaping). */
void cv_html_body(struct cv_buf *b, const char *main_class);

/* Closes <main>, the body and the document. */
void cv_html_end(struct cv_buf *b);

#endif
