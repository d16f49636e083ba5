/*
 * test_hash.c - digests: of bytes, incrementally, of files (in pieces
 * when big), their hex and packed forms, and the Merkle layout hash.h
 * documents, checked against XXH3 itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "fusion/hash.h"
#include "fusion/util.h"

#define TESTDIR_NAME "hash"
#include "testdir.h"

static fx_hash
xxh(const void *p, size_t n)
{
	XXH128_hash_t h = XXH3_128bits(p, n);
	return (fx_hash){h.high64, h.low64};
}

static void
test_bytes_hex_and_parse(void **state)
{
	const char *s = "hello, fusion";
	fx_hash h = hash_bytes(s, strlen(s));
	assert_true(hash_eq(h, xxh(s, strlen(s))));
	assert_false(hash_eq(h, hash_bytes("", 0)));

	char hex[FX_HASH_HEX], want[FX_HASH_HEX];
	hash_hex(h, hex);
	snprintf(want, sizeof want, "%016llx%016llx", (unsigned long long)h.hi,
	    (unsigned long long)h.lo);
	assert_string_equal(hex, want);
	fx_hash back;
	assert_int_equal(hash_parse(hex, &back), 0);
	assert_true(hash_eq(back, h));
	assert_int_equal(hash_parse("123", &back), -1);
	assert_int_equal(hash_parse("0123456789abcdef0123456789abcdeg", &back), -1);
	assert_int_equal(hash_parse("0123456789abcdef0123456789abcdef0", &back), -1);
	assert_int_equal(hash_parse("0123456789ABCDEF0123456789abcdef", &back), 0);
	assert_int_equal(back.hi, 0x0123456789abcdefULL);
}

/* hi then lo, each big-endian: the stat cache's blobs depend on it. */
static void
test_pack_is_big_endian(void **state)
{
	fx_hash h = {0x0102030405060708ULL, 0x1112131415161718ULL};
	unsigned char b[16];
	static const unsigned char want[16] = {1, 2, 3, 4, 5, 6, 7, 8,
	    0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};

	hash_pack(h, b);
	assert_memory_equal(b, want, 16);
	assert_true(hash_eq(hash_unpack(b), h));
}

static void
test_hasher_pieces(void **state)
{
	struct fx_hasher *h = hasher_new();
	hasher_str(h, "hello, ");
	hasher_str(h, "fusion");
	assert_true(hash_eq(hasher_done(h), xxh("hello, \0fusion", 15)));

	struct fx_hasher *a = hasher_new(), *b = hasher_new();
	hasher_str(a, "ab");
	hasher_str(a, "c");
	hasher_str(b, "a");
	hasher_str(b, "bc");
	fx_hash ha = hasher_done(a), hb = hasher_done(b);
	assert_false(hash_eq(ha, hb));
	assert_true(hash_eq(ha, xxh("ab\0c", 5)));
}

static void
test_hash_file(void **state)
{
	/* Bigger than the read buffer, and not a multiple of it. */
	size_t n = 3 * 256 * 1024 + 17;
	char *data = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i * 7 % 26);
	data[n] = '\0';
	put_file("big", data);
	put_file("small", "tiny");
	put_file("empty", "");

	fx_hash h;
	char *p = at("big");
	assert_int_equal(hash_file(p, &h), 0);
	assert_true(hash_eq(h, xxh(data, n)));
	free(p);
	p = at("small");
	assert_int_equal(hash_file(p, &h), 0);
	assert_true(hash_eq(h, xxh("tiny", 4)));
	free(p);
	p = at("empty");
	assert_int_equal(hash_file(p, &h), 0);
	assert_true(hash_eq(h, xxh("", 0)));
	free(p);
	p = at("nope");
	assert_int_equal(hash_file(p, &h), -1);
	assert_int_equal(errno, ENOENT);
	free(p);
	free(data);
}

/* A digester hashes one file after another with the same buffer; `size`
 * only saves a read, it never cuts a file short. */
static void
test_digester_reuse(void **state)
{
	struct fx_digester *d = digester_new();
	const char *texts[] = {"first file\n", "", "the third, longer than the first\n"};
	fx_hash h;
	uint64_t n;

	for (size_t i = 0; i < FX_NELEM(texts); i++) {
		put_file("f", texts[i]);
		char *p = at("f");
		int fd = open(p, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(digester_fd(d, fd, (int64_t)strlen(texts[i]), &h, &n), 0);
		assert_true(hash_eq(h, xxh(texts[i], strlen(texts[i]))));
		assert_int_equal(n, strlen(texts[i]));
		close(fd);
		fd = open(p, O_RDONLY);
		assert_int_equal(digester_fd(d, fd, 1, &h, &n), 0);	/* grew since stat */
		assert_true(hash_eq(h, xxh(texts[i], strlen(texts[i]))));
		close(fd);
		free(p);
	}
	digester_free(d);
}

/* The Merkle digest, byte for byte as hash.h writes it down; a path
 * longer than the staging buffer is still hashed whole. */
static void
test_merkle_layout(void **state)
{
	size_t longlen = 300 * 1024;
	char *longpath = xmalloc(longlen + 1);
	memset(longpath, 'p', longlen);
	longpath[longlen] = '\0';
	struct fx_tree_entry v[] = {
		{"a.txt", 0100644, {1, 2}},
		{"bin/run", 0100755, {0xffffffffffffffffULL, 0}},
		{"link", 0120000, {3, 4}},
		{longpath, 0100644, {5, 6}},
	};
	struct fx_buf b = {0};

	for (size_t i = 0; i < FX_NELEM(v); i++) {
		char mode[8];
		unsigned char d[16];
		snprintf(mode, sizeof mode, "%06o", v[i].mode);
		buf_add(&b, v[i].path, strlen(v[i].path) + 1);
		buf_add(&b, mode, 7);
		for (int k = 0; k < 8; k++) {
			d[k] = (unsigned char)(v[i].hash.hi >> (56 - 8 * k));
			d[8 + k] = (unsigned char)(v[i].hash.lo >> (56 - 8 * k));
		}
		buf_add(&b, d, 16);
	}
	struct fx_digester *d = digester_new();
	assert_true(hash_eq(digester_tree(d, v, FX_NELEM(v)), xxh(b.s, b.len)));
	assert_true(hash_eq(digester_tree(d, v, 0), xxh("", 0)));	/* no entries */
	digester_free(d);
	buf_free(&b);
	free(longpath);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_hex_and_parse),
		cmocka_unit_test(test_pack_is_big_endian),
		cmocka_unit_test(test_hasher_pieces),
		T(test_hash_file),
		T(test_digester_reuse),
		cmocka_unit_test(test_merkle_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
