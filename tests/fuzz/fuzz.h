/*
 * fuzz.h - what the fuzz targets share.
 *
 * Each target is one file defining LLVMFuzzerTestOneInput. It is linked
 * twice: with clang's libFuzzer (`make fuzz`, and one minute each in `make
 * test`), and with replay.c, a plain main() that runs the saved inputs of
 * tests/fuzz/regress/TARGET once each, so that every input that ever crashed
 * is replayed by every build (`make test`, `make check`, `make valgrind`).
 *
 * A target checks the contract of the code it drives, not only that it
 * survives: a broken promise calls fuzz_fail(), which aborts, and both
 * libFuzzer and replay.c report that as a crash.
 */
#ifndef FUSION_FUZZ_H
#define FUSION_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* qsort comparison of two char * (strcmp order). */
static inline int
fuzz_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#define fuzz_fail(...) \
	do { \
		fprintf(stderr, "fuzz: %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} while (0)

#define fuzz_assert(cond) \
	do { \
		if (!(cond)) \
			fuzz_fail("broken promise: %s", #cond); \
	} while (0)

#endif
