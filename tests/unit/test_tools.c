/*
 * test_tools.c - reading a tool's version (rules/tools.c) from what each
 * tool's version command prints: the first N.N[.N] is the tool's own,
 * whatever words, "v" or build suffix come around it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fusion/rules.h"

static void
expect(const char *said, int major, int minor, int patch)
{
	int v[3] = {-1, -1, -1};

	assert_true(rules_version_parse(said, v));
	assert_int_equal(v[0], major);
	assert_int_equal(v[1], minor);
	assert_int_equal(v[2], patch);
}

/* The lines the version commands of rules' tool tables print. */
static void
test_each_tools_line(void **state)
{
	expect("v3.14.2+gc309b6f\n", 3, 14, 2);				/* helm version --short */
	expect("Client Version: v1.29.0\nKustomize Version: v5.0.4-0.20230601165947-6ce0bf390ce3\n",
	    1, 29, 0);							/* kubectl version --client */
	expect("git version 2.39.2\n", 2, 39, 2);
	expect("podman version 4.9.3\n", 4, 9, 3);
	expect("Docker version 25.0.3, build 4debf41\n", 25, 0, 3);
	expect("v1.32.0\n", 1, 32, 0);					/* minikube version --short */
	expect("kind v0.20.0 go1.20.4 linux/amd64\n", 0, 20, 0);
	expect("k3d version v5.6.0\nk3s version v1.27.4-k3s1 (default)\n", 5, 6, 0);
}

/* A number with no dot is not a version; two parts are N.N.0. */
static void
test_numbers_without_a_dot(void **state)
{
	int v[3];

	expect("tool 2 build 7, release 3.1\n", 3, 1, 0);
	assert_false(rules_version_parse("command not found: 127\n", v));
	assert_false(rules_version_parse("", v));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_tools_line),
		cmocka_unit_test(test_numbers_without_a_dot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
