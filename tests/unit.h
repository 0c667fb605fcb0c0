/* unit.h: the C unit tests' checks. A failed check prints where and what,
 * and the test exits 1 at the end (unit_exit). */
#ifndef SIPROF_UNIT_H
#define SIPROF_UNIT_H

#include <stdio.h>
#include <stdlib.h>

static int unit_failed, unit_checks;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		unit_checks++;                                                 \
		if (!(cond)) {                                                 \
			unit_failed++;                                         \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, \
				__LINE__, #cond);                              \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
		}                                                              \
	} while (0)

static inline int
unit_exit(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, unit_checks, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif
