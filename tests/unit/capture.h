/*
 * capture.h - what the code under test prints on stderr, for the unit
 * tests that check the one reporting path (diag.h): capture_begin() sends
 * stderr to a temporary file, capture_end() restores it and returns what
 * was printed (malloc'ed), errors_in() counts the error lines in that text
 * ("fusion: ..." but not "fusion: warning: ...").
 *
 * Everything is static and marked unused (each test file is its own
 * program). Captures do not nest.
 */
#ifndef FX_CAPTURE_H
#define FX_CAPTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/util.h"

static FILE *capture_file __attribute__((unused));
static int capture_saved __attribute__((unused)) = -1;

static __attribute__((unused)) void
capture_begin(void)
{
	capture_file = tmpfile();
	assert_non_null(capture_file);
	fflush(stderr);
	capture_saved = dup(2);
	assert_true(capture_saved >= 0);
	assert_int_equal(dup2(fileno(capture_file), 2), 2);
}

static __attribute__((unused)) char *
capture_end(void)
{
	struct fx_buf b = {0};
	char chunk[4096];
	size_t n;

	fflush(stderr);
	dup2(capture_saved, 2);
	close(capture_saved);
	capture_saved = -1;
	rewind(capture_file);
	while ((n = fread(chunk, 1, sizeof chunk, capture_file)) > 0)
		buf_add(&b, chunk, n);
	fclose(capture_file);
	capture_file = NULL;
	return buf_detach(&b);
}

static __attribute__((unused)) int
errors_in(const char *text)
{
	int n = 0;

	for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
		if (strncmp(p, "fusion: ", 8) == 0 && strncmp(p, "fusion: warning: ", 17) != 0)
			n++;
	return n;
}

#endif
