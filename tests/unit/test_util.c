/*
 * test_util.c - the small helpers (util.h): lexical paths (clean, join,
 * under, dir) and their edge cases, JSON string escaping, growable buffers
 * and string vectors, whole-file reads (bounded ones too), atomic writes and
 * mkdir -p.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/util.h"

#define TESTDIR_NAME "util"
#include "testdir.h"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entries of dir, sorted and joined by spaces. */
static char *
listing(const char *dir)
{
	struct fx_strv v = {0};
	struct fx_buf b = {0};
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			strv_push(&v, e->d_name);
	closedir(d);
	qsort(v.v, v.n, sizeof(*v.v), cmp_str);
	for (size_t i = 0; i < v.n; i++)
		buf_printf(&b, "%s%s", i ? " " : "", v.v[i]);
	strv_free(&v);
	return buf_detach(&b);
}

#define CLEAN(in, want) do { \
	char *got_ = path_clean(in); \
	assert_string_equal(got_, want); \
	free(got_); \
} while (0)

static void
test_path_clean(void **state)
{
	CLEAN("/a/../b", "/b");
	CLEAN("a/../../b", "../b");
	CLEAN("/a/b/c", "/a/b/c");
	CLEAN("/", "/");
	CLEAN("//", "/");
	CLEAN("/..", "/");
	CLEAN("/../a", "/a");	/* ".." at the root stays at the root */
	CLEAN("/a/b/../../..", "/");
	CLEAN("//a//b/", "/a/b");
	CLEAN("a/", "a");
	CLEAN("a/b///", "a/b");
	CLEAN("./a/./b/.", "a/b");
	CLEAN("", ".");
	CLEAN(".", ".");
	CLEAN("./", ".");
	CLEAN("a/..", ".");
	CLEAN("..", "..");
	CLEAN("../../a/..", "../..");
	CLEAN("../a/../..", "../..");
	CLEAN("a/b/../c/", "a/c");
	CLEAN("a/b/../../c/../d", "d");
	/* names that only look like dots */
	CLEAN("..a/b", "..a/b");
	CLEAN("/a/.b/..c/...", "/a/.b/..c/...");
}

#define JOIN(a, b, want) do { \
	char *got_ = path_join(a, b); \
	assert_string_equal(got_, want); \
	free(got_); \
} while (0)

static void
test_path_join(void **state)
{
	JOIN("/ws", "svc", "/ws/svc");
	JOIN("/ws/", "svc/", "/ws/svc");
	JOIN("/ws", "/abs/x", "/abs/x");	/* an absolute b wins */
	JOIN("/ws", "./a//b/.", "/ws/a/b");
	JOIN("/ws", "", "/ws");
	JOIN("/ws", ".", "/ws");
	JOIN("/", "a", "/a");
	JOIN("a", "b", "a/b");
	JOIN("", "a/b", "a/b");
	JOIN(NULL, "a/b", "a/b");
	/* ".." is resolved lexically, as path_clean does (the catalog's
	 * "../helm" paths rely on it), not left alone as util.h says */
	JOIN("/ws/local-dev/config", "../helm/values", "/ws/local-dev/helm/values");
	JOIN("/ws", "../../..", "/");
	JOIN("a", "../../b", "../b");
}

static void
test_path_under(void **state)
{
	const char *p = "/ws/svc/src/main.c";

	assert_ptr_equal(path_under(p, "/ws/svc"), p + 8);
	assert_string_equal(path_under(p, "/ws"), "svc/src/main.c");
	assert_string_equal(path_under("/ws/svc", "/ws/svc"), "");
	assert_null(path_under("/ws/svc2/x", "/ws/svc"));	/* a prefix, not a parent */
	assert_null(path_under("/ws/sv", "/ws/svc"));
	assert_null(path_under("/ws", "/ws/svc"));
	assert_null(path_under("/other/x", "/ws"));
	assert_string_equal(path_under("/a/b", "/"), "a/b");
	assert_string_equal(path_under("/", "/"), "");
	assert_null(path_under("rel/a", "/"));
}

#define DIRNAME(in, want) do { \
	char *got_ = path_dir(in); \
	assert_string_equal(got_, want); \
	free(got_); \
} while (0)

static void
test_path_dir(void **state)
{
	DIRNAME("/a/b", "/a");
	DIRNAME("/a/b/c.log", "/a/b");
	DIRNAME("/a", "/");
	DIRNAME("/", "/");
	DIRNAME("a", ".");
	DIRNAME("a/b", "a");
	DIRNAME("logs/build:core-api.log", "logs");
	DIRNAME("", ".");
}

#define JSON(in, want) do { \
	struct fx_buf b_ = {0}; \
	buf_json_str(&b_, in); \
	assert_string_equal(b_.s, want); \
	buf_free(&b_); \
} while (0)

#define NAME(in, want) do { \
	struct fx_buf b_ = {0}; \
	buf_put_name(&b_, in); \
	assert_string_equal(b_.s, want); \
	assert_int_equal(name_is_plain(in), strcmp(in, want) == 0); \
	buf_free(&b_); \
} while (0)

/* A file name on one line: as it is, or quoted with C escapes. */
static void
test_put_name(void **state)
{
	NAME("app/models/account.rb", "app/models/account.rb");
	NAME("my file.txt", "my file.txt");
	NAME("caf\xc3\xa9.txt", "caf\xc3\xa9.txt");
	NAME("new\nline.txt", "\"new\\nline.txt\"");
	NAME("caf\xe9.txt", "\"caf\\xe9.txt\"");
	NAME("tab\there\r", "\"tab\\there\\r\"");
	NAME("say \"hi\"", "\"say \\\"hi\\\"\"");
	NAME("back\\slash", "\"back\\\\slash\"");
	NAME("bell\a\x7f", "\"bell\\x07\\x7f\"");
}

static void
test_json_str(void **state)
{
	JSON("", "\"\"");
	JSON("build:core-api", "\"build:core-api\"");
	JSON("say \"hi\"", "\"say \\\"hi\\\"\"");
	JSON("C:\\dir", "\"C:\\\\dir\"");
	JSON("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
	JSON("\x01\x1f\b\f", "\"\\u0001\\u001f\\u0008\\u000c\"");
	JSON("caf\xc3\xa9 \x7f /", "\"caf\xc3\xa9 \x7f /\"");	/* UTF-8, DEL and / as they are */
	/* not UTF-8 (Latin-1, a cut sequence, an overlong '/', a surrogate):
	 * U+FFFD per bad byte, so the output stays UTF-8 */
	JSON("caf\xe9.txt", "\"caf\xef\xbf\xbd.txt\"");
	JSON("x\xc3", "\"x\xef\xbf\xbd\"");
	JSON("\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	JSON("\xed\xa0\x80!", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!\"");
	JSON("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");

	/* it appends */
	struct fx_buf b = {0};
	buf_puts(&b, "{\"k\":");
	buf_json_str(&b, "v");
	buf_putc(&b, '}');
	assert_string_equal(b.s, "{\"k\":\"v\"}");
	buf_free(&b);
}

static void
test_buf_grows_resets_detaches(void **state)
{
	struct fx_buf b = {0};

	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%04d,", i);
	assert_int_equal(b.len, 5000);
	assert_int_equal(strlen(b.s), 5000);
	assert_true(strncmp(b.s + 4995, "0999,", 5) == 0);
	assert_true(b.cap > b.len);

	size_t cap = b.cap;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.s, "");
	assert_int_equal(b.cap, cap);	/* the allocation is kept */

	buf_add(&b, "a\0b", 3);	/* bytes, NULs included */
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.s, "a\0b", 4);
	char *s = buf_detach(&b);
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	free(s);

	s = buf_detach(&b);	/* an empty buffer detaches as "" */
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);

	s = xasprintf("%s-%d-%.1f", "x", 42, 1.5);
	assert_string_equal(s, "x-42-1.5");
	free(s);
	buf_free(&b);
}

static void
test_strv(void **state)
{
	struct fx_strv v = {0};
	char src[] = "podman";

	char **argv = strv_argv(&v);	/* an empty vector is an empty argv */
	assert_non_null(argv);
	assert_null(argv[0]);
	assert_int_equal(v.n, 0);

	strv_push(&v, src);
	src[0] = 'X';	/* push copies */
	strv_take(&v, xstrdup("build"));
	for (int i = 0; i < 20; i++)
		strv_take(&v, xasprintf("arg%02d", i));
	assert_int_equal(v.n, 22);
	argv = strv_argv(&v);
	assert_string_equal(argv[0], "podman");
	assert_string_equal(argv[1], "build");
	assert_string_equal(argv[21], "arg19");
	assert_null(argv[22]);
	assert_true(strv_has(&v, "arg07"));
	assert_false(strv_has(&v, "Xodman"));
	assert_false(strv_has(&v, "arg"));

	strv_free(&v);
	assert_null(v.v);
	assert_int_equal(v.n, 0);
}

static void
test_hex(void **state)
{
	const unsigned char in[] = {0x00, 0x0f, 0xa5, 0xff};
	char out[9];

	hex_encode(in, sizeof in, out);
	assert_string_equal(out, "000fa5ff");
	hex_encode(in, 0, out);
	assert_string_equal(out, "");
}

static void
test_read_file(void **state)
{
	char *p = at("big");
	size_t n = 300000;
	char *data = xmalloc(n);
	char *got;
	size_t len;

	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	assert_int_equal(write_file_atomic(p, data, n), 0);
	assert_int_equal(read_file(p, &got, &len), 0);
	assert_int_equal(len, n);
	assert_memory_equal(got, data, n);
	assert_int_equal(got[len], '\0');
	free(got);
	free(data);
	free(p);

	p = at("empty");
	assert_int_equal(write_file_atomic(p, "", 0), 0);
	assert_int_equal(read_file(p, &got, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(got, "");
	free(got);
	free(p);

	p = at("missing");
	errno = 0;
	assert_int_equal(read_file(p, &got, &len), -1);
	assert_int_equal(errno, ENOENT);
	free(p);
}

/* A bounded read stops one byte past its limit, whatever the source holds:
 * a pipe with 64 KiB waiting keeps all but max + 1 of them. */
static void
test_read_fd_limit(void **state)
{
	int fds[2];
	static char chunk[65536];
	char *got = NULL;
	size_t len = 0, rest = 0;
	ssize_t r;

	memset(chunk, 'x', sizeof chunk);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], chunk, sizeof chunk), (ssize_t)sizeof chunk);
	close(fds[1]);
	errno = 0;
	assert_int_equal(read_fd(fds[0], 1000, &got, &len), -1);
	assert_int_equal(errno, EFBIG);
	assert_null(got);
	while ((r = read(fds[0], chunk, sizeof chunk)) > 0)
		rest += (size_t)r;
	assert_int_equal(rest, sizeof chunk - 1001);
	close(fds[0]);

	/* At the limit exactly: read whole. */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], chunk, 1000), 1000);
	close(fds[1]);
	assert_int_equal(read_fd(fds[0], 1000, &got, &len), 0);
	assert_int_equal(len, 1000);
	assert_int_equal(got[len], '\0');
	free(got);
	close(fds[0]);
}

static void
test_write_file_atomic(void **state)
{
	char *p = at("out");
	char *got;
	size_t len;
	struct stat st;

	assert_int_equal(write_file_atomic(p, "first\n", 6), 0);
	assert_int_equal(write_file_atomic(p, "x\0y", 3), 0);	/* replaces, bytes as given */
	assert_int_equal(read_file(p, &got, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(got, "x\0y", 3);
	free(got);
	assert_int_equal(stat(p, &st), 0);
	mode_t mask = umask(0);
	umask(mask);
	assert_int_equal(st.st_mode & 0777, 0600 & ~mask);
	char *ls = listing(tmp);
	assert_string_equal(ls, "out");	/* no temporary file is left behind */
	free(ls);
	free(p);

	/* a missing directory fails with errno, and leaves nothing */
	p = at("nodir/out");
	errno = 0;
	assert_int_equal(write_file_atomic(p, "x", 1), -1);
	assert_int_equal(errno, ENOENT);
	free(p);

	/* so does a target that is a directory; the temp file is removed */
	p = at("adir");
	assert_int_equal(mkdir(p, 0755), 0);
	errno = 0;
	assert_int_equal(write_file_atomic(p, "x", 1), -1);
	assert_int_equal(errno, EISDIR);
	ls = listing(tmp);
	assert_string_equal(ls, "adir out");
	free(ls);
	free(p);
}

static void
test_mkdir_p(void **state)
{
	char *p = at("a/b/c");
	struct stat st;

	assert_int_equal(mkdir_p(p, 0755), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(mkdir_p(p, 0755), 0);	/* existing is fine */
	free(p);

	p = at("x/y/");
	assert_int_equal(mkdir_p(p, 0755), 0);
	free(p);
	p = at("x/y");
	assert_int_equal(stat(p, &st), 0);
	free(p);

	/* a file in the way is an error */
	p = at("file");
	assert_int_equal(write_file_atomic(p, "x", 1), 0);
	free(p);
	p = at("file/sub");
	errno = 0;
	assert_int_equal(mkdir_p(p, 0755), -1);
	assert_int_equal(errno, ENOTDIR);
	free(p);
}

/* Stat times and clocks become one number the stat cache and the text
 * table compare: whole seconds and nanoseconds, also before 1970. */
static void
test_ts_ns(void **state)
{
	assert_int_equal(ts_ns((struct timespec){2, 5}), 2000000005);
	assert_int_equal(ts_ns((struct timespec){0, 999999999}), 999999999);
	assert_int_equal(ts_ns((struct timespec){-1, 500000000}), -500000000);
	assert_int_equal(ts_ns((struct timespec){1700000000, 123}), 1700000000000000123);
}

/* The monotonic clock never goes back; the wall clocks read the epoch. */
static void
test_clocks(void **state)
{
	double a = now_mono(), b = now_mono();
	assert_true(b >= a);
	assert_true(now_wall() > 1600000000.0);
	assert_true(now_ns() > (int64_t)1600000000 * 1000000000);
}

/* -j's default: never fewer than one job. */
static void
test_cpu_count_at_least_one(void **state)
{
	assert_true(cpu_count() >= 1);
}

/* Checked allocation never answers NULL, even for nothing; xstrndup cuts. */
static void
test_alloc_edges(void **state)
{
	void *z = xcalloc(0, 0);
	assert_non_null(z);
	free(z);
	char *s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = xstrndup("ab", 10);	/* shorter than n: the whole string */
	assert_string_equal(s, "ab");
	free(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_clean),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_path_under),
		cmocka_unit_test(test_path_dir),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_put_name),
		cmocka_unit_test(test_buf_grows_resets_detaches),
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_hex),
		T(test_read_file),
		cmocka_unit_test(test_read_fd_limit),
		T(test_write_file_atomic),
		T(test_mkdir_p),
		cmocka_unit_test(test_ts_ns),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_cpu_count_at_least_one),
		cmocka_unit_test(test_alloc_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
