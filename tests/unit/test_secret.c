/*
 * test_secret.c - secrets (secret.h): the keyed hash is stable under one
 * state directory's salt and differs under another's; the salt is 32
 * bytes, 0600, made once; masking replaces every occurrence in a buffer
 * and leaves other text alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/secret.h"
#include "fusion/util.h"

#define TESTDIR_NAME "secret"
#include "testdir.h"

static void
test_mac_keyed_per_state_dir(void **state)
{
	char *a = at("a"), *b = at("b"), *salt = at("a/salt");
	char h1[65], h2[65], h3[65], h4[65];
	struct fx_buf msg = {0};
	struct stat st;

	assert_int_equal(secret_mac(a, "hunter2", 7, h1, &msg), 0);
	assert_int_equal(secret_mac(a, "hunter2", 7, h2, &msg), 0);
	assert_int_equal(secret_mac(a, "hunter3", 7, h3, &msg), 0);
	assert_int_equal(secret_mac(b, "hunter2", 7, h4, &msg), 0);
	assert_string_equal(h1, h2);
	assert_string_not_equal(h1, h3);
	assert_string_not_equal(h1, h4);	/* another salt */
	assert_int_equal(strlen(h1), 64);
	assert_int_equal(stat(salt, &st), 0);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* the salt is read back, not made again: the same hash after a reload */
	assert_int_equal(secret_mac(b, "x", 1, h4, &msg), 0);
	assert_int_equal(secret_mac(a, "hunter2", 7, h2, &msg), 0);
	assert_string_equal(h1, h2);
	buf_free(&msg);
	free(a);
	free(b);
	free(salt);
}

static void
test_bad_salt_is_an_error(void **state)
{
	char *a = at("a");
	char h[65];
	struct fx_buf msg = {0};

	put_file("a/salt", "short");
	assert_int_equal(secret_mac(a, "x", 1, h, &msg), -1);
	assert_non_null(strstr(msg.s, "salt"));
	buf_free(&msg);
	free(a);
}

static void
test_mask_buf(void **state)
{
	struct fx_strv sec = {0};
	struct fx_buf b = {0};

	strv_push(&sec, "pw");
	strv_push(&sec, "");	/* never masks everything */
	strv_push(&sec, "tok,en");
	buf_puts(&b, "pw=pw tok,en and pwd; nothing else");
	secret_mask_buf(&b, &sec);
	assert_string_equal(b.s, "***=*** *** and ***d; nothing else");
	buf_reset(&b);
	buf_puts(&b, "clean");
	secret_mask_buf(&b, &sec);
	assert_string_equal(b.s, "clean");
	buf_free(&b);
	strv_free(&sec);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_mac_keyed_per_state_dir),
		T(test_bad_salt_is_an_error),
		T(test_mask_buf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
