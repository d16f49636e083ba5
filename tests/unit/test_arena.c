/*
 * test_arena.c - the bump allocator (arena.h): blocks aligned for any type
 * and never overlapping, string copies, big blocks beside the chunk being
 * carved, and chunks moved from one arena to another intact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fusion/arena.h"

static void
test_blocks_aligned_and_apart(void **state)
{
	struct fx_arena a = {0};
	unsigned char *prev = NULL;

	for (size_t i = 0; i < 5000; i++) {
		size_t n = 1 + i % 37;
		unsigned char *p = arena_alloc(&a, n);
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
		memset(p, (int)(i & 255), n);
		if (prev)	/* the block before keeps what was written to it */
			assert_int_equal(prev[0], (i - 1) & 255);
		prev = p;
	}
	arena_free(&a);
	assert_null(a.head);
}

static void
test_strndup_copies_and_terminates(void **state)
{
	struct fx_arena a = {0};
	char *s = arena_strndup(&a, "abcdef", 3);
	char *e = arena_strndup(&a, "", 0);

	assert_string_equal(s, "abc");
	assert_string_equal(e, "");
	assert_ptr_not_equal(s, e);
	arena_free(&a);
}

/* A block too big for a chunk must not end the chunk being carved: what
 * follows it still comes from that chunk, right after the earlier block. */
static void
test_big_block_keeps_the_chunk(void **state)
{
	struct fx_arena a = {0};
	char *x = arena_strndup(&a, "x", 1);
	char *big = arena_alloc(&a, 1 << 20);
	char *y = arena_strndup(&a, "y", 1);

	memset(big, 7, 1 << 20);
	assert_ptr_equal(y, x + 2);
	assert_string_equal(x, "x");
	assert_string_equal(y, "y");
	arena_free(&a);
}

static void
test_take_all_moves_chunks(void **state)
{
	struct fx_arena to = {0}, from = {0};
	char *kept = arena_strndup(&to, "kept", 4);
	char *moved[1000];

	for (int i = 0; i < 1000; i++) {
		char name[32];
		int n = snprintf(name, sizeof name, "string %d of many", i);
		moved[i] = arena_strndup(&from, name, (size_t)n);
	}
	arena_take_all(&to, &from);
	assert_null(from.head);
	char *after = arena_strndup(&to, "after", 5);
	assert_ptr_equal(after, kept + 5);	/* `to` carves on where it was */
	for (int i = 0; i < 1000; i++) {
		char name[32];
		snprintf(name, sizeof name, "string %d of many", i);
		assert_string_equal(moved[i], name);
	}
	arena_take_all(&to, &from);	/* nothing to move */
	arena_free(&to);
	assert_null(to.head);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_aligned_and_apart),
		cmocka_unit_test(test_strndup_copies_and_terminates),
		cmocka_unit_test(test_big_block_keeps_the_chunk),
		cmocka_unit_test(test_take_all_moves_chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
