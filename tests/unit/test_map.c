/*
 * test_map.c - the string-keyed hash table (map.h): insert, replace, look
 * up, growth far past the first size, keys kept by pointer (or copied by
 * an owning map), and insert-if-absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/map.h"
#include "fusion/util.h"

static void
test_put_get_replace(void **state)
{
	struct fx_map m;
	int a = 1, b = 2, c = 3;

	map_init(&m, 4);
	assert_null(map_get(&m, "build:a"));
	assert_null(map_put(&m, "build:a", &a));
	assert_null(map_put(&m, "build:b", &b));
	assert_ptr_equal(map_get(&m, "build:a"), &a);
	assert_ptr_equal(map_get(&m, "build:b"), &b);
	assert_null(map_get(&m, "build:"));
	assert_null(map_get(&m, "build:ab"));
	assert_int_equal(m.n, 2);
	/* replacing returns the old value and does not add an entry */
	assert_ptr_equal(map_put(&m, "build:a", &c), &a);
	assert_ptr_equal(map_get(&m, "build:a"), &c);
	assert_int_equal(m.n, 2);
	assert_null(map_put(&m, "", &a));	/* the empty key is a key */
	assert_ptr_equal(map_get(&m, ""), &a);
	map_free(&m);
	assert_int_equal(m.cap, 0);
	assert_null(map_get(&m, "build:a"));	/* a freed map is an empty map */
}

/* A zeroed map works without map_init. */
static void
test_zeroed(void **state)
{
	struct fx_map m = {0};
	int v;

	assert_null(map_get(&m, "x"));
	assert_null(map_put(&m, "x", &v));
	assert_ptr_equal(map_get(&m, "x"), &v);
	map_free(&m);
}

static void
test_growth(void **state)
{
	struct fx_map m;
	enum { N = 5000 };
	char **keys = xcalloc(N, sizeof(*keys));

	map_init(&m, 0);
	for (size_t i = 0; i < N; i++) {
		keys[i] = xasprintf("node:%zu", i);
		assert_null(map_put(&m, keys[i], (void *)(i + 1)));
	}
	assert_int_equal(m.n, N);
	assert_true(m.cap >= N * 4 / 3);	/* the load stays below 3/4 */
	for (size_t i = 0; i < N; i++) {
		char k[32];
		snprintf(k, sizeof k, "node:%zu", i);	/* another copy of the key */
		assert_ptr_equal(map_get(&m, k), (void *)(i + 1));
	}
	assert_null(map_get(&m, "node:5000"));
	/* keys are held by pointer, not copied */
	size_t found = 0;
	for (size_t i = 0; i < m.cap; i++)
		if (m.keys[i]) {
			size_t idx = (size_t)m.vals[i] - 1;
			assert_ptr_equal(m.keys[i], keys[idx]);
			found++;
		}
	assert_int_equal(found, N);
	map_free(&m);
	for (size_t i = 0; i < N; i++)
		free(keys[i]);
	free(keys);
}

/* An owning map copies keys made on the fly and frees them with itself
 * (ASan reports a leak or a use after free otherwise), through growth too. */
static void
test_owned_keys(void **state)
{
	struct fx_map m = {.own = true};
	char key[32];
	int v;

	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "anchor%d", i);
		assert_true(map_add(&m, key, &v));
	}
	strcpy(key, "anchor7");
	assert_ptr_equal(map_get(&m, "anchor7"), &v);
	for (size_t i = 0; i < m.cap; i++)
		assert_true(m.keys[i] != key);	/* never the caller's buffer */
	map_free(&m);
	assert_true(m.own);	/* still an owning map, empty */
	assert_null(map_get(&m, "anchor7"));
	assert_true(map_add(&m, key, NULL));
	map_free(&m);
}

/* map_add inserts only what is absent; map_slot finds or makes a slot. */
static void
test_add_and_slot(void **state)
{
	struct fx_map m = {0};
	int a, b;

	assert_null(map_slot(&m, "x", false));	/* a zeroed map: nothing, no table */
	assert_true(map_add(&m, "x", &a));
	assert_false(map_add(&m, "x", &b));
	assert_ptr_equal(map_get(&m, "x"), &a);	/* the first value stays */
	assert_true(map_add(&m, "null", NULL));	/* a NULL value is still a key */
	assert_false(map_add(&m, "null", &b));
	assert_int_equal(m.n, 2);

	void **slot = map_slot(&m, "y", true);
	assert_non_null(slot);
	assert_null(*slot);
	*slot = &b;
	assert_ptr_equal(map_get(&m, "y"), &b);
	assert_ptr_equal(*map_slot(&m, "y", false), &b);
	assert_null(map_slot(&m, "z", false));
	assert_int_equal(m.n, 3);
	map_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_replace),
		cmocka_unit_test(test_zeroed),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_owned_keys),
		cmocka_unit_test(test_add_and_slot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
