/*
 * test_remote.c - the shared cache's protocol (remote.h) without a server:
 * the file:// back-end (round trips, misses, corrupt and truncated blobs,
 * writes by temporary file and rename, a full disk), the record format,
 * the digests and URL handling. HTTP is tested against a real nginx in
 * tests/cli/remote.bats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/remote.h"

#define TESTDIR_NAME "remote"
#include "testdir.h"

/* The outcome of one transfer. */
struct got {
	int calls;
	enum fx_remote_status status;
	char *msg;
	char *body;
	size_t len;
	uint64_t bytes;
};

static void
done(void *arg, const struct fx_remote_res *res)
{
	struct got *g = arg;

	g->calls++;
	g->status = res->status;
	free(g->msg);
	free(g->body);
	g->msg = xstrdup(res->msg);
	g->body = xstrndup(res->body, res->len);
	g->len = res->len;
	g->bytes = res->bytes;
}

static void
got_free(struct got *g)
{
	free(g->msg);
	free(g->body);
	*g = (struct got){0};
}

static struct fx_remote *
open_dir(const char *dir)
{
	struct fx_buf err = {0};
	char *url = xasprintf("file://%s", dir);
	struct fx_remote_conf c = {.url = url};
	struct fx_remote *r = remote_open(&c, &err);

	assert_non_null(r);
	free(url);
	buf_free(&err);
	return r;
}

/* Run the queue until nothing is pending. */
static void
drain(struct fx_remote *r)
{
	for (int i = 0; i < 10000 && remote_pending(r); i++)
		remote_wait(r, -1, 10);
	assert_int_equal(remote_pending(r), 0);
}

static void
put_mem(struct fx_remote *r, const char *area, const char *name, const char *data,
    struct got *g)
{
	struct fx_remote_req q = {.op = FX_REMOTE_PUT, .area = area, .name = name, .data = data,
	    .len = strlen(data), .done = done, .arg = g};
	remote_start(r, &q);
	assert_int_equal(g->calls, 0);	/* never called back from remote_start */
	drain(r);
	assert_int_equal(g->calls, 1);
}

static void
get(struct fx_remote *r, const char *area, const char *name, const char *path,
    const char *sha, uint64_t size, struct got *g)
{
	struct fx_remote_req q = {.op = FX_REMOTE_GET, .area = area, .name = name, .path = path,
	    .sha256 = sha, .size = size, .done = done, .arg = g};
	remote_start(r, &q);
	drain(r);
	assert_int_equal(g->calls, 1);
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
	closedir(d);
	return n;
}

static void
test_sha256(void **state)
{
	char hex[FX_SHA256_HEX];
	uint64_t size = 0;

	sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	put_file("f", "abc");
	char *f = at("f");
	assert_int_equal(sha256_file(f, hex, &size), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(size, 3);
	free(f);
	f = at("missing");
	assert_int_equal(sha256_file(f, hex, &size), -1);
	free(f);
}

/* The record's name depends on the node id and key, nothing else. */
static void
test_ac_name(void **state)
{
	char a[FX_SHA256_HEX], b[FX_SHA256_HEX], c[FX_SHA256_HEX];

	remote_ac_name("chart:a", "0123", a);
	remote_ac_name("chart:b", "0123", b);
	remote_ac_name("chart:a", "0124", c);
	assert_string_not_equal(a, b);
	assert_string_not_equal(a, c);
	remote_ac_name("chart:a", "0123", b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 64);
}

static void
test_record_round_trip(void **state)
{
	struct fx_remote_record in = {.node = "build:core-api", .output = "sha256:0f3c",
	    .output_hash = "1a2b", .size = 52428800}, out;
	struct fx_buf b = {0}, msg = {0};

	memset(in.blob, 'e', 64);
	assert_int_equal(remote_record_format(&in, &b), 0);
	assert_string_equal(b.s, "fusion-ac 1\nnode build:core-api\noutput sha256:0f3c\n"
	    "output-hash 1a2b\nblob eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	    " 52428800\n");
	assert_int_equal(remote_record_parse(b.s, b.len, &out, &msg), 0);
	assert_string_equal(out.node, in.node);
	assert_string_equal(out.output, in.output);
	assert_string_equal(out.output_hash, in.output_hash);
	assert_string_equal(out.blob, in.blob);
	assert_int_equal(out.size, in.size);
	remote_record_free(&out);
	/* a newer fusion's extra fields are ignored */
	buf_puts(&b, "signed-by someone\n");
	assert_int_equal(remote_record_parse(b.s, b.len, &out, &msg), 0);
	remote_record_free(&out);
	buf_free(&b);
	/* a value with a line break cannot be stored */
	in.output = "two\nlines";
	assert_int_equal(remote_record_format(&in, &b), -1);
	buf_free(&b);
	buf_free(&msg);
}

static void
test_record_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"fusion-ac 2\nnode a\noutput o\noutput-hash h\nblob "
		    "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee 1\n",
		"fusion-ac 1\nnode a\noutput o\noutput-hash h\n",			/* no blob */
		"fusion-ac 1\nnode a\noutput o\nblob "
		    "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee 1\n",	/* no hash */
		"fusion-ac 1\nnode a\noutput o\noutput-hash h\nblob EEEE 1\n",		/* not a digest */
		"fusion-ac 1\nnode a\noutput o\noutput-hash h\nblob "
		    "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee -1\n",	/* a size */
		"fusion-ac 1\nnode a\nnode b\noutput o\noutput-hash h\nblob "
		    "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee 1\n",	/* twice */
		"fusion-ac 1\nnode\n",
		"<html>500 Internal Server Error</html>",
	};
	struct fx_remote_record rec;
	struct fx_buf msg = {0};

	for (size_t i = 0; i < FX_NELEM(bad); i++) {
		buf_reset(&msg);
		assert_int_equal(remote_record_parse(bad[i], strlen(bad[i]), &rec, &msg), -1);
		assert_true(msg.len > 0);
		assert_null(rec.node);
	}
	/* a NUL inside */
	assert_int_equal(remote_record_parse("fusion-ac 1\n\0x", 14, &rec, &msg), -1);
	buf_free(&msg);
}

static void
test_open_urls(void **state)
{
	struct fx_buf err = {0};
	struct fx_remote_conf c = {.url = "ftp://host/x"};

	assert_null(remote_open(&c, &err));
	assert_non_null(strstr(err.s, "http://, https:// or file://"));
	buf_reset(&err);
	c.url = "file://relative/dir";
	assert_null(remote_open(&c, &err));
	assert_non_null(strstr(err.s, "absolute path"));
	/* credentials never appear in messages */
	c.url = "https://user:secret@cache.example:8443/fusion/";
	struct fx_remote *r = remote_open(&c, &err);
	assert_non_null(r);
	assert_string_equal(remote_url(r), "https://cache.example:8443/fusion");
	remote_close(r);
	c.url = "file://localhost/srv/cache/";
	r = remote_open(&c, &err);
	assert_string_equal(remote_url(r), "file:///srv/cache");
	remote_close(r);
	/* a header value must not smuggle in a second header */
	c.url = "http://cache.example";
	c.header = "Authorization";
	c.header_value = "Bearer x\r\nX-Evil: 1";
	buf_reset(&err);
	assert_null(remote_open(&c, &err));
	assert_null(strstr(err.s, "Bearer"));	/* nor is the value printed */
	buf_free(&err);
}

static void
test_file_round_trip(void **state)
{
	char *dir = at("cache");
	struct fx_remote *r = open_dir(dir);
	struct got g = {0};
	char sha[FX_SHA256_HEX];

	/* a miss */
	get(r, "ac", "0000", NULL, NULL, 0, &g);
	assert_int_equal(g.status, FX_REMOTE_MISSING);
	got_free(&g);
	/* a record in memory */
	put_mem(r, "ac", "0000", "record", &g);
	assert_int_equal(g.status, FX_REMOTE_OK);
	got_free(&g);
	get(r, "ac", "0000", NULL, NULL, 0, &g);
	assert_int_equal(g.status, FX_REMOTE_OK);
	assert_string_equal(g.body, "record");
	got_free(&g);
	/* a 3 MB blob from a file, moved 1 MiB per wait, into a file */
	char *src = at("blob"), *dst = at("restored");
	struct fx_buf big = {0};
	for (int i = 0; i < 300000; i++)
		buf_printf(&big, "%09d\n", i);
	assert_int_equal(write_file_atomic(src, big.s, big.len), 0);
	sha256_hex(big.s, big.len, sha);
	struct fx_remote_req q = {.op = FX_REMOTE_PUT, .area = "cas", .name = sha, .path = src,
	    .label = "build:x", .done = done, .arg = &g};
	remote_start(r, &q);
	remote_wait(r, -1, 0);
	struct fx_remote_progress p;
	assert_true(remote_progress(r, &p));
	assert_string_equal(p.label, "build:x");
	assert_int_equal(p.total, big.len);
	assert_true(p.done > 0 && p.done < big.len);
	/* not there under its name before it is whole */
	char *final = xasprintf("%s/cas/%s", dir, sha);
	assert_int_equal(access(final, F_OK), -1);
	drain(r);
	assert_int_equal(g.status, FX_REMOTE_OK);
	assert_int_equal(g.bytes, big.len);
	assert_int_equal(access(final, F_OK), 0);
	got_free(&g);
	struct fx_remote_req h = {.op = FX_REMOTE_HEAD, .area = "cas", .name = sha, .done = done,
	    .arg = &g};
	remote_start(r, &h);
	drain(r);
	assert_int_equal(g.status, FX_REMOTE_OK);
	got_free(&g);
	get(r, "cas", sha, dst, sha, big.len, &g);
	assert_int_equal(g.status, FX_REMOTE_OK);
	char *text;
	size_t len;
	assert_int_equal(read_file(dst, &text, &len), 0);
	assert_int_equal(len, big.len);
	assert_memory_equal(text, big.s, len);
	free(text);
	got_free(&g);
	/* no temporary file stays behind */
	char *cas = xasprintf("%s/cas", dir);
	assert_int_equal(count_entries(cas), 1);
	free(cas);
	remote_close(r);
	buf_free(&big);
	free(final);
	free(src);
	free(dst);
	free(dir);
}

static void
test_file_corrupt_and_truncated(void **state)
{
	char *dir = at("cache");
	struct fx_remote *r = open_dir(dir);
	struct got g = {0};
	char sha[FX_SHA256_HEX];
	char *dst = at("restored");

	sha256_hex("the blob", 8, sha);
	put_mem(r, "cas", sha, "the blob", &g);
	got_free(&g);
	/* the expected size disagrees: cut short, or longer than recorded */
	get(r, "cas", sha, dst, sha, 9, &g);
	assert_int_equal(g.status, FX_REMOTE_CORRUPT);
	assert_non_null(strstr(g.msg, "8 bytes, expected 9"));
	assert_int_equal(access(dst, F_OK), -1);	/* no half file left */
	got_free(&g);
	get(r, "cas", sha, dst, sha, 7, &g);
	assert_int_equal(g.status, FX_REMOTE_CORRUPT);
	got_free(&g);
	/* the bytes changed under the same name */
	char *obj = xasprintf("%s/cas/%s", dir, sha);
	assert_int_equal(write_file_atomic(obj, "the blub", 8), 0);
	get(r, "cas", sha, dst, sha, 8, &g);
	assert_int_equal(g.status, FX_REMOTE_CORRUPT);
	assert_non_null(strstr(g.msg, "SHA-256"));
	assert_int_equal(access(dst, F_OK), -1);
	got_free(&g);
	/* a record larger than a record may be */
	char *huge = xmalloc(2 << 20);
	memset(huge, 'x', (2 << 20) - 1);
	huge[(2 << 20) - 1] = '\0';
	put_mem(r, "ac", "big", huge, &g);
	got_free(&g);
	get(r, "ac", "big", NULL, NULL, 0, &g);
	assert_int_equal(g.status, FX_REMOTE_CORRUPT);
	got_free(&g);
	free(huge);
	free(obj);
	free(dst);
	remote_close(r);
	free(dir);
}

/* An object that is no regular file (a FIFO would block the open for
 * ever; a directory, a device, a link) is a fault of that object, found
 * without blocking; HEAD does not take one for the object either. */
static void
test_file_not_regular(void **state)
{
	char *dir = at("cache");
	struct fx_remote *r = open_dir(dir);
	struct got g = {0};
	char sha[FX_SHA256_HEX];
	char *dst = at("restored");
	const char *kinds[] = {"fifo", "dir", "link", "device"};

	sha256_hex("the blob", 8, sha);
	put_mem(r, "cas", sha, "the blob", &g);
	got_free(&g);
	char *obj = xasprintf("%s/cas/%s", dir, sha);
	char *real = xasprintf("%s/cas/real", dir);
	assert_int_equal(rename(obj, real), 0);
	for (size_t i = 0; i < FX_NELEM(kinds); i++) {
		int rc = i == 0 ? mkfifo(obj, 0644) : i == 1 ? mkdir(obj, 0755) :
		    i == 2 ? symlink(real, obj) : symlink("/dev/zero", obj);
		assert_int_equal(rc, 0);
		get(r, "cas", sha, dst, sha, 8, &g);
		assert_int_equal(g.status, FX_REMOTE_CORRUPT);
		assert_non_null(strstr(g.msg, "not a regular file"));
		assert_int_equal(access(dst, F_OK), -1);
		got_free(&g);
		struct fx_remote_req q = {.op = FX_REMOTE_HEAD, .area = "cas", .name = sha,
		    .done = done, .arg = &g};
		remote_start(r, &q);
		drain(r);
		assert_int_equal(g.status, FX_REMOTE_CORRUPT);
		got_free(&g);
		assert_int_equal(i == 1 ? rmdir(obj) : unlink(obj), 0);
	}
	free(real);
	free(obj);
	free(dst);
	remote_close(r);
	free(dir);
}

/* A record may claim any size: more than the limit is refused before a
 * byte moves; the default limit is FX_REMOTE_MAX_BLOB. */
static void
test_file_blob_limit(void **state)
{
	char *dir = at("cache");
	char *url = xasprintf("file://%s", dir);
	struct fx_buf err = {0};
	struct fx_remote_conf c = {.url = url, .max_blob = 4};
	struct fx_remote *small = remote_open(&c, &err), *r = open_dir(dir);
	struct got g = {0};
	char sha[FX_SHA256_HEX];
	char *dst = at("restored");

	sha256_hex("the blob", 8, sha);
	put_mem(r, "cas", sha, "the blob", &g);
	got_free(&g);
	get(small, "cas", sha, dst, sha, 8, &g);
	assert_int_equal(g.status, FX_REMOTE_CORRUPT);
	assert_non_null(strstr(g.msg, "claims 8 bytes, more than the limit of 4"));
	assert_int_equal(g.bytes, 0);
	got_free(&g);
	get(r, "cas", sha, dst, sha, FX_REMOTE_MAX_BLOB + 1, &g);
	assert_int_equal(g.status, FX_REMOTE_CORRUPT);
	assert_non_null(strstr(g.msg, "more than the limit of 8589934592"));
	got_free(&g);
	get(r, "cas", sha, dst, sha, 8, &g);
	assert_int_equal(g.status, FX_REMOTE_OK);
	got_free(&g);
	free(dst);
	remote_close(small);
	remote_close(r);
	free(url);
	free(dir);
	buf_free(&err);
}

/* A full disk while downloading: a local fault, and no file left. */
static void
test_file_full_disk(void **state)
{
	char *dir = at("cache");
	struct fx_remote *r = open_dir(dir);
	struct got g = {0};
	char sha[FX_SHA256_HEX];

	sha256_hex("the blob", 8, sha);
	put_mem(r, "cas", sha, "the blob", &g);
	got_free(&g);
	get(r, "cas", sha, "/dev/full", sha, 8, &g);
	assert_int_equal(g.status, FX_REMOTE_LOCAL);
	assert_non_null(strstr(g.msg, "No space left on device"));
	got_free(&g);
	/* and an upload from a file that cannot be read */
	char *missing = at("missing");
	struct fx_remote_req q = {.op = FX_REMOTE_PUT, .area = "cas", .name = "abc",
	    .path = missing, .done = done, .arg = &g};
	remote_start(r, &q);
	drain(r);
	assert_int_equal(g.status, FX_REMOTE_LOCAL);
	got_free(&g);
	char *obj = xasprintf("%s/cas/abc", dir);
	assert_int_equal(access(obj, F_OK), -1);
	free(obj);
	free(missing);
	remote_close(r);
	free(dir);
}

/* A shared directory that cannot be written is the server's fault, and
 * cancelling leaves no temporary object. */
static void
test_file_down_and_cancel(void **state)
{
	char *file = at("not-a-dir");
	struct fx_remote *r;
	struct got g = {0};

	put_file("not-a-dir", "x");
	r = open_dir(file);
	put_mem(r, "ac", "0000", "record", &g);
	assert_int_equal(g.status, FX_REMOTE_DOWN);
	got_free(&g);
	remote_close(r);

	char *dir = at("cache");
	r = open_dir(dir);
	struct fx_buf big = {0};
	buf_grow(&big, 3 << 20);
	memset(big.s, 'y', 3 << 20);
	big.len = 3 << 20;
	struct fx_remote_req q = {.op = FX_REMOTE_PUT, .area = "cas", .name = "abc",
	    .data = big.s, .len = big.len, .done = done, .arg = &g};
	remote_start(r, &q);
	remote_wait(r, -1, 0);
	remote_cancel_all(r);
	drain(r);
	assert_int_equal(g.status, FX_REMOTE_CANCELLED);
	got_free(&g);
	char *cas = xasprintf("%s/cas", dir);
	assert_int_equal(count_entries(cas), 0);
	free(cas);
	remote_close(r);
	buf_free(&big);
	free(dir);
	free(file);
}

static void
test_format_bytes(void **state)
{
	char s[32];

	remote_format_bytes(999, s, sizeof s);
	assert_string_equal(s, "999 B");
	remote_format_bytes(52400000, s, sizeof s);
	assert_string_equal(s, "52.4 MB");
	remote_format_bytes(1500, s, sizeof s);
	assert_string_equal(s, "1.5 kB");
	remote_format_bytes(2500000000ULL, s, sizeof s);
	assert_string_equal(s, "2.50 GB");
}

#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sha256),
		cmocka_unit_test(test_ac_name),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_record_rejects),
		cmocka_unit_test(test_open_urls),
		T(test_file_round_trip),
		T(test_file_corrupt_and_truncated),
		T(test_file_full_disk),
		T(test_file_not_regular),
		T(test_file_blob_limit),
		T(test_file_down_and_cancel),
		cmocka_unit_test(test_format_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
