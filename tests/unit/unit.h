/*
 * unit.h - the whole unit-test "framework": CHECK records a pass or prints
 * the failed expression, unit_done prints "N passed, M failed" and gives the
 * exit status.
 */
#ifndef CV_UNIT_H
#define CV_UNIT_H

#include <stdio.h>

static int unit_passed, unit_failed;

#define CHECK(name, expr)                                                          \
	do {                                                                       \
		if (expr) {                                                        \
			unit_passed++;                                             \
		} else {                                                           \
			unit_failed++;                                             \
			printf("FAIL %s (%s:%d: %s)\n", name, __FILE__, __LINE__, #expr); \
		}                                                                  \
	} while (0)

static inline int
unit_done(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed == 0 ? 0 : 1;
}

#endif
