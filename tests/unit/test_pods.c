/*
 * test_pods.c - reading kubectl's pod listing (rules/pods.c): the columns
 * rules_pods_argv asks for, each pod once, kubectl's own messages (which
 * share the pipe) taken for no pod.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fusion/rules.h"

#define UID1 "0b6c1d9e-3f52-4a8b-9c1d-2e3f4a5b6c7d"
#define UID2 "9f8e7d6c-5b4a-4321-8fed-cba987654321"

static void
test_name_and_uid(void **state)
{
	struct fx_pods pods = {0};

	rules_pods_parse("core-api-7d9f8-x2x7q   " UID1 "\n"
	    "core-api-7d9f8-k8s2p   " UID2 "\n", &pods);
	assert_int_equal(pods.n, 2);
	assert_string_equal(pods.v[0].name, "core-api-7d9f8-x2x7q");
	assert_string_equal(pods.v[0].uid, UID1);
	assert_string_equal(pods.v[1].name, "core-api-7d9f8-k8s2p");
	assert_string_equal(pods.v[1].uid, UID2);
	rules_pods_free(&pods);
	assert_int_equal(pods.n, 0);
	assert_null(pods.v);
}

/* "No resources found in dev namespace." and errors are no pods; neither
 * is a line whose second column is not a UID. */
static void
test_messages_are_no_pods(void **state)
{
	struct fx_pods pods = {0};

	rules_pods_parse("No resources found in dev namespace.\n"
	    "error: You must be logged in to the server (Unauthorized)\n"
	    "db-0 not-a-uid\n"
	    "db-0 " UID1 "x\n"
	    "db-0 0b6c1d9e-3f52-4a8b-9c1d-2e3f4a5b6czz\n", &pods);
	assert_int_equal(pods.n, 0);
	rules_pods_parse(NULL, &pods);
	rules_pods_parse("", &pods);
	assert_int_equal(pods.n, 0);
	rules_pods_free(&pods);
}

/* One listing per selector adds to the same set: a pod two selectors pick
 * comes once; a pod made again under its name (another UID) is another. */
static void
test_each_pod_once(void **state)
{
	struct fx_pods pods = {0};

	rules_pods_parse("db-0 " UID1 "\n", &pods);
	rules_pods_parse("db-0 " UID1 "\ndb-0 " UID2, &pods);	/* no final newline */
	assert_int_equal(pods.n, 2);
	assert_string_equal(pods.v[0].uid, UID1);
	assert_string_equal(pods.v[1].name, "db-0");
	assert_string_equal(pods.v[1].uid, UID2);
	rules_pods_free(&pods);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_and_uid),
		cmocka_unit_test(test_messages_are_no_pods),
		cmocka_unit_test(test_each_pod_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
