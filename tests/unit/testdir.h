/*
 * testdir.h - the temporary directory a unit test works in, shared by the
 * tests/unit/test_*.c programs instead of each keeping its own copy.
 *
 * Define TESTDIR_NAME before including it: directories are made with
 * mkdtemp as /tmp/fx-<TESTDIR_NAME>-XXXXXX. tmpdir_setup and
 * tmpdir_teardown are cmocka setup/teardown functions that give each test
 * a fresh `tmp` and remove it (rm -rf) afterwards; a file whose setup does
 * more calls them from its own. tmpdir_new and tmpdir_free do the same for
 * a directory the test keeps elsewhere. at() names a path under tmp and
 * put_file() writes a file there.
 *
 * Everything is static (each test file is its own program) and marked
 * unused, since no file needs all of it.
 */
#ifndef FX_TESTDIR_H
#define FX_TESTDIR_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fusion/util.h"

#ifndef TESTDIR_NAME
#error "define TESTDIR_NAME before including testdir.h"
#endif

#define TESTDIR_UNUSED __attribute__((unused))

/* The current test's directory (tmpdir_setup .. tmpdir_teardown). */
static char *tmp TESTDIR_UNUSED;

/* A fresh directory /tmp/fx-TESTDIR_NAME-XXXXXX; free with tmpdir_free. */
static TESTDIR_UNUSED char *
tmpdir_new(void)
{
	char t[] = "/tmp/fx-" TESTDIR_NAME "-XXXXXX";

	assert_non_null(mkdtemp(t));
	return xstrdup(t);
}

/* Remove dir and everything under it, then free the name. */
static TESTDIR_UNUSED void
tmpdir_free(char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
}

static TESTDIR_UNUSED int
tmpdir_setup(void **state)
{
	tmp = tmpdir_new();
	return 0;
}

static TESTDIR_UNUSED int
tmpdir_teardown(void **state)
{
	tmpdir_free(tmp);
	tmp = NULL;
	return 0;
}

/* tmp/rel, allocated. */
static TESTDIR_UNUSED char *
at(const char *rel)
{
	return xasprintf("%s/%s", tmp, rel);
}

/* Write tmp/rel with content, making its directories. */
static TESTDIR_UNUSED void
put_file(const char *rel, const char *content)
{
	char *p = at(rel);
	char *d = path_dir(p);

	assert_int_equal(mkdir_p(d, 0755), 0);
	assert_int_equal(write_file_atomic(p, content, strlen(content)), 0);
	free(d);
	free(p);
}

#endif
