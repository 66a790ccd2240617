/*
 * buf.c - a growing string (buf.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
cv_buf_add(struct cv_buf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->failed)
		return;
	if (n >= SIZE_MAX / 2 - b->len) {
		b->failed = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap != 0 ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = malloc(cap)) == NULL) {
			b->failed = 1;
			return;
		}
		/* Not realloc: the old block may hold a code and is wiped first. */
		if (b->len > 0)
			memcpy(p, b->p, b->len);
		if (b->p != NULL) {
			memset(b->p, 0, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
cv_buf_adds(struct cv_buf *b, const char *s)
{
	cv_buf_add(b, s, strlen(s));
}

const char *
cv_buf_str(const struct cv_buf *b)
{
	return (b->p != NULL && !b->failed) ? b->p : "";
}

void
cv_buf_wipe(struct cv_buf *b)
{
	if (b->p != NULL) {
		/* A volatile pointer keeps the compiler from dropping the stores. */
		volatile char *v = b->p;
		size_t i;

		for (i = 0; i < b->cap; i++)
			v[i] = 0;
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}
