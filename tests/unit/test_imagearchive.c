/*
 * test_imagearchive.c - the names an image archive would apply, read
 * before it is loaded (imagearchive.h): the JSON checks on their own, and
 * the tar reader on archives written here, member by member.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/imagearchive.h"

#define TESTDIR_NAME "imagearchive"
#include "testdir.h"

static const char ref[] = "localhost/core-api:fx-0123456789abcdef";

static int
check(const char *index, const char *manifest)
{
	struct fx_buf msg = {0};
	int rc = image_archive_check_json(index, manifest, ref, &msg);

	buf_free(&msg);
	return rc;
}

static void
test_json(void **state)
{
	(void)state;
	/* what podman save and docker save write for the node's own tag */
	assert_int_equal(check("{\"manifests\":[{\"annotations\":{\"org.opencontainers.image."
	    "ref.name\":\"localhost/core-api:fx-0123456789abcdef\"}}]}", NULL), 0);
	assert_int_equal(check("{\"manifests\":[{\"annotations\":{\"io.containerd.image.name\":"
	    "\"localhost/core-api:fx-0123456789abcdef\",\"org.opencontainers.image.ref.name\":"
	    "\"fx-0123456789abcdef\"}}]}", "[{\"Config\":\"c\",\"RepoTags\":["
	    "\"localhost/core-api:fx-0123456789abcdef\"],\"Layers\":[]}]"), 0);
	assert_int_equal(check("{}", "[{\"RepoTags\":null}]"), 0);
	assert_int_equal(check("{\"manifests\":[{\"digest\":\"sha256:1\"}]}", NULL), 0);
	/* another name, in either file, in any spelling of the key */
	assert_int_equal(check("{\"manifests\":[{\"annotations\":{\"org.opencontainers.image."
	    "ref.name\" : \"docker.io/library/ruby:3.3\"}}]}", NULL), -1);
	assert_int_equal(check("{\"manifests\":[{\"annotations\":{\"io.containerd.image.name\":"
	    "\"docker.io/library/ruby:3.3\"}}]}", NULL), -1);
	assert_int_equal(check(NULL, "[{\"RepoTags\":[\"localhost/core-api:fx-0123456789abcdef\","
	    " \"ruby:3.3\"]}]"), -1);
	assert_int_equal(check(NULL, "[{\"repotags\":[\"ruby:3.3\"]}]"), -1);
	assert_int_equal(check(NULL, "[{\"RepoTags\":\"ruby:3.3\"}]"), -1);
	/* a key behind escapes or Unicode case folding */
	assert_int_equal(check("{\"manifests\":[{\"annotations\":{\"org.opencontainers.image."
	    "ref\\u002ename\":\"ruby:3.3\"}}]}", NULL), -1);
	assert_int_equal(check(NULL, "[{\"RepoTag\xc5\xbf\":[\"ruby:3.3\"]}]"), -1);
}

/* A ustar header for `name` of `type` and `size` bytes. */
static void
header(FILE *f, const char *name, char type, size_t size, const char *magic)
{
	unsigned char h[512] = {0};
	unsigned sum = 0;

	strncpy((char *)h, name, 100);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 124, 12, "%011o", (unsigned)size & 07777777777);
	h[156] = (unsigned char)type;
	memcpy(h + 257, magic, 6);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	fwrite(h, 1, 512, f);
}

static void
member(FILE *f, const char *name, char type, const char *body)
{
	static const char pad[512];
	size_t n = strlen(body);

	header(f, name, type, n, "ustar");
	fwrite(body, 1, n, f);
	fwrite(pad, 1, (512 - n % 512) % 512, f);
}

static const char good[] = "{\"manifests\":[{\"annotations\":{\"org.opencontainers.image.ref.name\":"
    "\"localhost/core-api:fx-0123456789abcdef\"}}]}";
static const char evil[] = "{\"manifests\":[{\"annotations\":{\"org.opencontainers.image.ref.name\":"
    "\"docker.io/library/ruby:3.3\"}}]}";

/* An archive of the members given as name, type, body triples. */
static int
archive(const char *const *m, size_t n)
{
	static const char end[1024];
	char *path = at("a.tar");
	FILE *f = fopen(path, "w");
	struct fx_buf msg = {0};

	assert_non_null(f);
	for (size_t i = 0; i + 2 < n; i += 3)
		member(f, m[i], m[i + 1][0], m[i + 2]);
	fwrite(end, 1, sizeof end, f);
	fclose(f);
	int rc = image_archive_check(path, ref, &msg);
	buf_free(&msg);
	free(path);
	return rc;
}

#define ARCHIVE(...) archive((const char *const[]){__VA_ARGS__}, \
	sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

static void
test_tar(void **state)
{
	(void)state;
	assert_int_equal(ARCHIVE("blobs/", "5", "", "blobs/sha256/x", "0", "data",
	    "oci-layout", "0", "{}", "index.json", "0", good), 0);
	assert_int_equal(ARCHIVE("./index.json", "0", evil), -1);
	assert_int_equal(ARCHIVE("blobs//../index.json", "0", good), -1);	/* ".." */
	assert_int_equal(ARCHIVE("/./index.json", "0", evil), -1);
	/* a second index.json, however spelt, would be the one extracted */
	assert_int_equal(ARCHIVE("index.json", "0", good, ".//index.json", "0", good), -1);
	/* links, extended headers, a compressed archive */
	assert_int_equal(ARCHIVE("index.json", "2", "blobs/sha256/x"), -1);
	assert_int_equal(ARCHIVE("x", "2", "."), -1);
	/* docker's layer links, and its legacy repositories beside a manifest */
	assert_int_equal(ARCHIVE("0123/layer.tar", "2", "../0123.tar", "repositories", "0", "{}",
	    "manifest.json", "0", "[{\"RepoTags\":[\"localhost/core-api:fx-0123456789abcdef\"]}]"), 0);
	assert_int_equal(ARCHIVE("repositories", "0", "{\"ruby\":{\"3.3\":\"x\"}}"), -1);
	assert_int_equal(ARCHIVE("index.json", "1", "blobs/sha256/x"), -1);
	assert_int_equal(ARCHIVE("PaxHeaders/x", "x", "30 path=index.json\n", "x", "0", evil), -1);
	char *gz = at("a.tar.gz");
	put_file("a.tar.gz", "\x1f\x8b\x08\x00 not a tar at all, but long enough? no");
	struct fx_buf msg = {0};
	assert_int_equal(image_archive_check(gz, ref, &msg), -1);
	buf_free(&msg);
	free(gz);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		T(test_tar),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
