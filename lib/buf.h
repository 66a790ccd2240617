/*
 * buf.h - a growing string, for the mail the mailer writes (src/mime.c)
 * and the pages of html.h.  After a failed allocation every append is a
 * no-op and failed stays set, so callers check once at the end.  Memory is
 * wiped before it is freed or outgrown: a message holds a login code.
 * A primitive, of lib/'s lower floor (Makefile.am lists both floors): it
 * knows no request and includes no handler's header.
 */
#ifndef CV_BUF_H
#define CV_BUF_H

#include <stddef.h>

struct cv_buf {
	char  *p;       /* NUL-terminated; NULL while empty */
	size_t len, cap;
	int    failed;
};

/* Appends n bytes of s.  Cannot fail (see failed). */
void cv_buf_add(struct cv_buf *b, const char *s, size_t n);

/* Appends the string s. */
void cv_buf_adds(struct cv_buf *b, const char *s);

/* The text of b: "" while it is empty or after a failure.  Cannot fail. */
const char *cv_buf_str(const struct cv_buf *b);

/* Frees b's memory after wiping it and empties b.  b may be empty. */
void cv_buf_wipe(struct cv_buf *b);

#endif
