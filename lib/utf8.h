/*
 * utf8.h - well-formed UTF-8 (Unicode's Table 3-7: no overlong forms, no
 * surrogates, nothing past U+10FFFF), for every text read from outside: form
 * and JSON bodies, JWT parts.
 * A primitive, of lib/'s lower floor (Makefile.am lists both floors): it
 * knows no request and includes no handler's header.
 */
#ifndef CV_UTF8_H
#define CV_UTF8_H

#include <stddef.h>

/* 1 when the len bytes at s are well-formed UTF-8 without NUL.  Cannot fail. */
int cv_utf8_valid(const char *s, size_t len);

#endif
