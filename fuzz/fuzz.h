/*
 * fuzz.h - what the libFuzzer targets share: FUZZ_CHECK, which turns a
 * broken invariant into a crash libFuzzer saves; the fixed HS256 key the JWT
 * seeds are signed with (fuzz/seeds.py uses the same bytes); and helpers that
 * sign a token so that a target can reach the code behind the signature check.
 */
#ifndef CV_FUZZ_H
#define CV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "jwt.h"

#define FUZZ_CHECK(expr)                                                                           \
	do {                                                                                       \
		if (!(expr)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
			        #expr);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The key of every token the targets sign or verify: 32 bytes, no NUL. */
#define FUZZ_KEY     "contact-verify-fuzz-key-32-bytes"
#define FUZZ_KEY_LEN (sizeof(FUZZ_KEY) - 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * A new NUL-terminated copy of the size bytes at data, or NULL when out of
 * memory.  Exactly size + 1 bytes, so ASan sees any read past the end.
 */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/*
 * When the token text (len bytes) ends in ".*", returns a new token whose
 * '*' is replaced by the HS256 signature of what precedes the final '.'
 * under FUZZ_KEY, with its length in *outlen; else NULL.  So an input can
 * carry any header and claims and still pass the signature check.
 */
static inline char *
fuzz_sign_star(const char *token, size_t len, size_t *outlen)
{
	char *out;

	if (len < 2 || token[len - 1] != '*' || token[len - 2] != '.')
		return NULL;
	if ((out = malloc(len - 1 + CV_JWT_SIG_LEN + 1)) == NULL)
		return NULL;
	memcpy(out, token, len - 1);
	if (cv_jwt_signature(FUZZ_KEY, FUZZ_KEY_LEN, token, len - 2, out + len - 1) != 0) {
		free(out);
		return NULL;
	}
	*outlen = len - 1 + CV_JWT_SIG_LEN;
	return out;
}

#endif
