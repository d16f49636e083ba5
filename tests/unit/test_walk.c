/*
 * test_walk.c - the tree walk on real files: entries, modes, links, ignore
 * rules, errors, order, and the Merkle root of what it finds.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "fusion/hash.h"
#include "fusion/ignore.h"
#include "fusion/statcache.h"
#include "fusion/walk.h"
#include "fusion/util.h"

#define TESTDIR_NAME "walk"
#include "testdir.h"

/* Write tmp/rel (making its directories) with an old mtime and mode 644,
 * as a checkout with umask 022 leaves it: every permission bit counts. */
static void
put(const char *rel, const char *content)
{
	put_file(rel, content);
	char *p = at(rel);
	struct timespec ts[2] = {{1600000000, 0}, {1600000000, 0}};
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	free(p);
}

static void
link_to(const char *target, const char *rel)
{
	char *p = at(rel);
	unlink(p);
	assert_int_equal(symlink(target, p), 0);
	free(p);
}

static void
rm(const char *rel)
{
	char *p = at(rel);
	assert_int_equal(unlink(p), 0);
	free(p);
}

static void
shell(const char *fmt, const char *arg)
{
	char *cmd = xasprintf(fmt, arg, arg);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static fx_hash
xxh(const void *p, size_t n)
{
	XXH128_hash_t h = XXH3_128bits(p, n);
	return (fx_hash){h.high64, h.low64};
}

/* The root digest of tree tmp/rel, or of the file when `file`. */
static fx_hash
digest(const char *rel, const struct fx_ignore *ig, const char *ig_key,
    struct fx_walk_stats *stats)
{
	struct fx_walk *r = walk_new(tmp, NULL, 2);
	char *p = at(rel);
	const struct fx_tree *t = walk_tree(r, p, FX_VIEW_BUILD, ig, ig_key);
	assert_int_equal(walk_run(r), 0);
	assert_int_equal(t->err, 0);
	fx_hash h = t->root;
	if (stats)
		*stats = walk_stats(r);
	walk_free(r);
	free(p);
	return h;
}

/* The walk reads files bigger than its read buffer in pieces. */
static void
test_big_files(void **state)
{
	/* Bigger than the read buffer, and not a multiple of it. */
	size_t n = 3 * 256 * 1024 + 17;
	char *data = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i * 7 % 26);
	data[n] = '\0';
	put("big", data);
	put("small", "tiny");
	put("empty", "");

	struct fx_walk *r = walk_new(tmp, NULL, 2);
	const struct fx_tree *t = walk_tree(r, tmp, FX_VIEW_BUILD, NULL, NULL);
	assert_int_equal(walk_run(r), 0);
	assert_int_equal(t->n, 3);
	assert_string_equal(t->v[0].path, "big");
	assert_true(hash_eq(t->v[0].hash, xxh(data, n)));
	assert_true(hash_eq(t->v[1].hash, xxh("", 0)));
	assert_true(hash_eq(t->v[2].hash, xxh("tiny", 4)));
	struct fx_walk_stats st = walk_stats(r);
	assert_int_equal(st.hashed, 3);
	assert_int_equal(st.bytes, n + 4);
	walk_free(r);
	free(data);
}

/* The Merkle root as hash.h documents it, computed independently. */
static fx_hash
merkle(const struct fx_tree *t)
{
	struct fx_buf b = {0};
	for (size_t i = 0; i < t->n; i++) {
		char mode[8];
		unsigned char d[16];
		snprintf(mode, sizeof mode, "%06o", t->v[i].mode);
		buf_add(&b, t->v[i].path, strlen(t->v[i].path) + 1);
		buf_add(&b, mode, 7);
		for (int k = 0; k < 8; k++) {
			d[k] = (unsigned char)(t->v[i].hash.hi >> (56 - 8 * k));
			d[8 + k] = (unsigned char)(t->v[i].hash.lo >> (56 - 8 * k));
		}
		buf_add(&b, d, 16);
	}
	fx_hash h = xxh(b.s ? b.s : "", b.len);
	buf_free(&b);
	return h;
}

static void
make_tree(void)
{
	put("ctx/Containerfile", "FROM scratch\nCOPY . /\n");
	put("ctx/a.txt", "a\n");
	put("ctx/b-c", "dash sorts before slash\n");
	put("ctx/b/x", "x\n");
	put("ctx/b/deep/er/y", "y\n");
	put("ctx/run.sh", "#!/bin/sh\n");
	shell("chmod +x '%s/ctx/run.sh'", tmp);
	link_to("a.txt", "ctx/link");
	shell("mkdir -p '%s/ctx/empty/dir' && mkfifo '%s/ctx/fifo'", tmp);
	/* modes as a checkout with umask 022 leaves them */
	shell("cd '%s/ctx' && chmod 644 Containerfile a.txt b-c b/x b/deep/er/y fifo && chmod 755 run.sh", tmp);
	shell("cd '%s/ctx' && chmod 755 . b b/deep b/deep/er empty empty/dir", tmp);
}

/* make_tree's entries, as a build context (FX_VIEW_BUILD). */
static const char *const tree_paths[] = {
	"Containerfile", "a.txt", "b-c", "b/", "b/deep/", "b/deep/er/", "b/deep/er/y", "b/x",
	"empty/", "empty/dir/", "fifo", "link", "run.sh",
};

static void
test_tree_entries(void **state)
{
	make_tree();
	struct fx_walk *r = walk_new(tmp, NULL, 3);
	char *dir = at("ctx");
	const struct fx_tree *t = walk_tree(r, dir, FX_VIEW_BUILD, NULL, NULL);
	assert_int_equal(walk_run(r), 0);
	assert_string_equal(t->dir, dir);

	assert_int_equal(t->n, FX_NELEM(tree_paths));
	for (size_t i = 0; i < t->n; i++)
		assert_string_equal(t->v[i].path, tree_paths[i]);
	assert_int_equal(t->v[0].mode, 0100644);
	assert_int_equal(t->v[3].mode, 040755);		/* b/ */
	assert_true(hash_eq(t->v[3].hash, xxh("", 0)));
	assert_int_equal(t->v[9].mode, 040755);		/* empty/dir/, empty as it is */
	assert_int_equal(t->v[10].mode, 010644);	/* fifo: never opened */
	assert_true(hash_eq(t->v[10].hash, xxh("", 0)));
	assert_int_equal(t->v[11].mode, 0120000);
	assert_true(hash_eq(t->v[11].hash, xxh("a.txt", 5)));
	assert_int_equal(t->v[12].mode, 0100755);
	assert_true(hash_eq(t->v[6].hash, xxh("y\n", 2)));
	assert_true(hash_eq(t->root, merkle(t)));

	struct fx_walk_stats st = walk_stats(r);
	assert_int_equal(st.files, 8);
	assert_int_equal(st.hashed, 7);
	assert_int_equal(st.cache_hits, 0);
	walk_free(r);
	free(dir);
}

static void
test_file_job(void **state)
{
	put("values/core.yaml", "replicaCount: 1\n");
	link_to("values/core.yaml", "core-link.yaml");
	struct fx_walk *r = walk_new(tmp, NULL, 0);
	char *p = at("values/core.yaml"), *l = at("core-link.yaml");
	const struct fx_tree *t = walk_file(r, p);
	const struct fx_tree *tl = walk_file(r, l);
	assert_int_equal(walk_run(r), 0);
	assert_int_equal(t->n, 1);
	assert_string_equal(t->v[0].path, "core.yaml");
	assert_int_equal(t->v[0].mode, 0100644);
	assert_true(hash_eq(t->v[0].hash, xxh("replicaCount: 1\n", 16)));
	assert_true(hash_eq(t->root, merkle(t)));
	/* A single file is read through a link, as helm or podman would. */
	assert_int_equal(tl->n, 1);
	assert_string_equal(tl->v[0].path, "core-link.yaml");
	assert_true(hash_eq(tl->v[0].hash, t->v[0].hash));
	walk_free(r);
	free(p);
	free(l);
}

static void
test_stable(void **state)
{
	make_tree();
	fx_hash h = digest("ctx", NULL, NULL, NULL);

	/* Elsewhere, written in another order: the same content. */
	put("copy/sub/ctx/b/deep/er/y", "y\n");
	put("copy/sub/ctx/run.sh", "#!/bin/sh\n");
	put("copy/sub/ctx/b/x", "x\n");
	put("copy/sub/ctx/b-c", "dash sorts before slash\n");
	put("copy/sub/ctx/a.txt", "a\n");
	put("copy/sub/ctx/Containerfile", "FROM scratch\nCOPY . /\n");
	link_to("a.txt", "copy/sub/ctx/link");
	shell("cd '%s/copy/sub/ctx' && mkdir -p empty/dir && mkfifo fifo && chmod 755 run.sh", tmp);
	assert_true(hash_eq(digest("copy/sub/ctx", NULL, NULL, NULL), h));

	/* New mtimes, and new owners. */
	shell("touch '%s/ctx/a.txt' '%s/ctx/b/x'", tmp);
	shell("chown -R 65534:65534 '%s/ctx' 2>/dev/null || true", tmp);
	assert_true(hash_eq(digest("ctx", NULL, NULL, NULL), h));
	/* Any thread count. */
	struct fx_walk *r = walk_new(tmp, NULL, 1);
	char *dir = at("ctx");
	const struct fx_tree *t = walk_tree(r, dir, FX_VIEW_BUILD, NULL, NULL);
	assert_int_equal(walk_run(r), 0);
	assert_true(hash_eq(t->root, h));
	walk_free(r);
	free(dir);
}

static void
test_changes(void **state)
{
	make_tree();
	fx_hash base = digest("ctx", NULL, NULL, NULL);
	fx_hash seen[16];
	int n = 0;

	put("ctx/b/x", "X\n");			/* modify */
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	put("ctx/b/x", "x\n");
	assert_true(hash_eq(digest("ctx", NULL, NULL, NULL), base));

	put("ctx/b/new", "");			/* add, even empty */
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	rm("ctx/b/new");
	rm("ctx/a.txt");			/* delete */
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	put("ctx/a2.txt", "a\n");		/* rename */
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	rm("ctx/a2.txt");
	put("ctx/a.txt", "a\n");
	assert_true(hash_eq(digest("ctx", NULL, NULL, NULL), base));

	/* Every permission bit counts, as podman keeps them all (issue 10). */
	shell("chmod +x '%s/ctx/a.txt'", tmp);	/* exec bit */
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	shell("chmod 664 '%s/ctx/a.txt'", tmp);	/* group write */
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	shell("chmod 600 '%s/ctx/a.txt'", tmp);	/* no longer readable by others */
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	shell("chmod 1644 '%s/ctx/a.txt'", tmp);	/* sticky */
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	shell("chmod 644 '%s/ctx/a.txt' && chmod 700 '%s/ctx/b'", tmp);	/* a directory's */
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	shell("chmod 755 '%s/ctx/b' && chmod 711 '%s/ctx/run.sh'", tmp);
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	shell("chmod 755 '%s/ctx/run.sh'", tmp);
	assert_true(hash_eq(digest("ctx", NULL, NULL, NULL), base));

	/* Directories are entries: an empty one added, one left. */
	shell("mkdir '%s/ctx/b/void'", tmp);
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	shell("rmdir '%s/ctx/b/void' && rmdir '%s/ctx/empty/dir'", tmp);
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	shell("mkdir '%s/ctx/empty/dir' && chmod 755 '%s/ctx/empty/dir'", tmp);
	/* A FIFO becomes a file of the same (no) content. */
	shell("rm '%s/ctx/fifo' && touch '%s/ctx/fifo'", tmp);
	shell("chmod 644 '%s/ctx/fifo'", tmp);
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	shell("rm '%s/ctx/fifo' && mkfifo -m 644 '%s/ctx/fifo'", tmp);
	assert_true(hash_eq(digest("ctx", NULL, NULL, NULL), base));

	link_to("b-c", "ctx/link");		/* retarget */
	seen[n++] = digest("ctx", NULL, NULL, NULL);
	link_to("a.txt", "ctx/link");
	put("ctx/b/deep/y", "y\n");		/* move to another directory */
	rm("ctx/b/deep/er/y");
	seen[n++] = digest("ctx", NULL, NULL, NULL);

	for (int i = 0; i < n; i++) {
		assert_false(hash_eq(seen[i], base));
		for (int k = 0; k < i; k++)
			assert_false(hash_eq(seen[i], seen[k]));
	}
}

static void
test_ignore(void **state)
{
	make_tree();
	put("ctx/node_modules/m/index.js", "x");
	put("ctx/log/app.log", "1");
	put("ctx/log/keep.txt", "k");

	struct fx_ignore *prune = ignore_new();
	assert_int_equal(ignore_add_pattern(prune, "node_modules", "test", 1), 0);
	assert_int_equal(ignore_add_pattern(prune, "*.txt", "test", 2), 0);
	struct fx_ignore *keep = ignore_new();
	assert_int_equal(ignore_add_pattern(keep, "log", "test", 1), 0);
	assert_int_equal(ignore_add_pattern(keep, "!log/keep.txt", "test", 2), 0);

	struct fx_walk_stats st;
	fx_hash h = digest("ctx", prune, "p", &st);
	assert_int_equal(st.pruned, 1);
	assert_int_equal(st.files, 9);		/* not a.txt, nor anything in node_modules */
	put("ctx/node_modules/m/index.js", "y");
	put("ctx/node_modules/other", "z");
	put("ctx/a.txt", "changed\n");
	put("ctx/more.txt", "new\n");
	assert_true(hash_eq(digest("ctx", prune, "p", NULL), h));
	put("ctx/b/x", "changed\n");
	assert_false(hash_eq(digest("ctx", prune, "p", NULL), h));

	/* With an exception under it, log/ is walked, not pruned. */
	h = digest("ctx", keep, "k", &st);
	assert_int_equal(st.pruned, 0);
	put("ctx/log/app.log", "2");
	assert_true(hash_eq(digest("ctx", keep, "k", NULL), h));
	put("ctx/log/keep.txt", "K");
	assert_false(hash_eq(digest("ctx", keep, "k", NULL), h));

	ignore_free(prune);
	ignore_free(keep);
}

static void
test_dedup(void **state)
{
	make_tree();
	struct fx_ignore *ig = ignore_new();
	assert_int_equal(ignore_add_pattern(ig, "b", "test", 1), 0);
	struct fx_walk *r = walk_new(tmp, NULL, 2);
	char *dir = at("ctx"), *odd = at("./ctx/b/../"), *f = at("ctx/a.txt");
	const struct fx_tree *a = walk_tree(r, dir, FX_VIEW_BUILD, NULL, NULL);
	const struct fx_tree *b = walk_tree(r, odd, FX_VIEW_BUILD, NULL, NULL);
	const struct fx_tree *c = walk_tree(r, dir, FX_VIEW_BUILD, ig, "b");
	const struct fx_tree *d = walk_tree(r, dir, FX_VIEW_BUILD, ig, "b");
	const struct fx_tree *e = walk_file(r, f);
	const struct fx_tree *g = walk_file(r, f);
	assert_ptr_equal(a, b);
	assert_ptr_equal(c, d);
	assert_ptr_not_equal(a, c);
	assert_ptr_equal(e, g);
	assert_ptr_not_equal(e, a);
	assert_int_equal(walk_run(r), 0);
	assert_int_equal(a->n, FX_NELEM(tree_paths));
	assert_int_equal(c->n, FX_NELEM(tree_paths) - 5);	/* not b/ and the 4 below it */
	assert_false(hash_eq(a->root, c->root));
	assert_int_equal(e->n, 1);
	/* Each request once: 7 files in the tree, 5 again with rules, 1 alone. */
	assert_int_equal(walk_stats(r).files, 15);
	walk_free(r);
	ignore_free(ig);
	free(dir);
	free(odd);
	free(f);
}

static void
test_missing(void **state)
{
	make_tree();
	struct fx_walk *r = walk_new(tmp, NULL, 2);
	char *gone = at("nope"), *ok = at("ctx"), *gonefile = at("nope.yaml");
	const struct fx_tree *t = walk_tree(r, gone, FX_VIEW_BUILD, NULL, NULL);
	const struct fx_tree *good = walk_tree(r, ok, FX_VIEW_BUILD, NULL, NULL);
	const struct fx_tree *f = walk_file(r, gonefile);
	const struct fx_tree *d = walk_file(r, ok);
	assert_int_equal(walk_run(r), -1);
	assert_int_equal(t->err, ENOENT);
	assert_int_equal(t->n, 0);
	assert_int_equal(f->err, ENOENT);
	assert_int_equal(d->err, EISDIR);
	assert_int_equal(good->err, 0);
	assert_int_equal(good->n, FX_NELEM(tree_paths));
	walk_free(r);
	free(gone);
	free(ok);
	free(gonefile);
}

/* The walk of ctx, as an unprivileged user when we are root: 0 if it failed
 * with EACCES as it should. */
static int
walk_unreadable(void)
{
	if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
		return 2;
	struct fx_walk *r = walk_new(tmp, NULL, 2);
	char *dir = at("ctx");
	const struct fx_tree *t = walk_tree(r, dir, FX_VIEW_BUILD, NULL, NULL);
	/* all but b/deep/ (unreadable) and what lies below it */
	int rc = walk_run(r) == -1 && t->err == EACCES && t->n == FX_NELEM(tree_paths) - 3 ? 0 : 1;
	walk_free(r);
	free(dir);
	return rc;
}

static void
test_unreadable_subdir(void **state)
{
	make_tree();
	shell("chmod 755 '%s' && chmod 000 '%s/ctx/b/deep'", tmp);
	/* Root reads anything, so a child drops to nobody. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(walk_unreadable());
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	shell("chmod 755 '%s/ctx/b/deep'", tmp);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Many directories and files: every thread count agrees. */
static void
test_wide(void **state)
{
	char name[64], body[64];
	for (int d = 0; d < 20; d++) {
		for (int f = 0; f < 150; f++) {
			snprintf(name, sizeof name, "w/d%02d/s%d/f%03d", d, f % 3, f);
			snprintf(body, sizeof body, "%d.%d", d, f);
			put(name, body);
		}
	}
	fx_hash h[3];
	int threads[] = {1, 2, 8};
	for (int i = 0; i < 3; i++) {
		struct fx_walk *r = walk_new(tmp, NULL, threads[i]);
		char *dir = at("w");
		const struct fx_tree *t = walk_tree(r, dir, FX_VIEW_BUILD, NULL, NULL);
		assert_int_equal(walk_run(r), 0);
		assert_int_equal(t->n, 3000 + 20 + 60);	/* files, d??/, d??/s?/ */
		for (size_t k = 1; k < t->n; k++)
			assert_true(strcmp(t->v[k - 1].path, t->v[k].path) < 0);
		assert_true(hash_eq(t->root, merkle(t)));
		h[i] = t->root;
		walk_free(r);
		free(dir);
	}
	assert_true(hash_eq(h[0], h[1]));
	assert_true(hash_eq(h[0], h[2]));
}

/* Bytewise order across directories: names sharing long prefixes, '-' and
 * '.' (below '/'), '0' and '_' (above it), bytes above 0x7f. */
static void
test_order(void **state)
{
	const char *names[] = {
		"o/longprefix.c", "o/longprefix-x/a", "o/longprefix/a",
		"o/longprefix/b/c", "o/longprefix0", "o/longprefix_/z", "o/longprefix\xc3\xa9",
		"o/longpr", "o/longpre/fix", "o/long", "o/a", "o/a-", "o/a.", "o/a0/x",
		"o/\xff", "o/A", "o/ab/cdefghij/k", "o/ab/cdefghij.k",
	};
	for (size_t i = 0; i < FX_NELEM(names); i++)
		put(names[i], names[i]);
	struct fx_walk *r = walk_new(tmp, NULL, 2);
	char *dir = at("o");
	const struct fx_tree *t = walk_tree(r, dir, FX_VIEW_BUILD, NULL, NULL);
	assert_int_equal(walk_run(r), 0);
	/* the files, and their 8 directories as entries of their own */
	assert_int_equal(t->n, FX_NELEM(names) + 8);
	for (size_t k = 1; k < t->n; k++)
		assert_true(strcmp(t->v[k - 1].path, t->v[k].path) < 0);
	for (size_t k = 0; k < t->n; k++) {
		if (t->v[k].mode >> 12 == 04)	/* a directory: "path/" */
			continue;
		char *want = xasprintf("o/%s", t->v[k].path);
		assert_true(hash_eq(t->v[k].hash, xxh(want, strlen(want))));
		free(want);
	}
	assert_true(hash_eq(t->root, merkle(t)));
	walk_free(r);
	free(dir);

	/* Many names from a small alphabet: long shared prefixes, duplicates. */
	srand(7);
	for (int i = 0; i < 600; i++) {
		char name[32] = "r/";
		int len = 1 + rand() % 14;
		for (int k = 0; k < len; k++)
			name[2 + k] = "ab-._0"[rand() % 6];
		name[2 + len] = '\0';
		if (strcmp(name, "r/.") == 0 || strcmp(name, "r/..") == 0)
			continue;
		/* Now and then a directory: the name must be free, or one already. */
		char *p = at(name);
		struct stat st;
		bool taken = lstat(p, &st) == 0;
		if (i % 50 == 0 && (!taken || S_ISDIR(st.st_mode)))
			put(strcat(name, "/sub"), name);
		else if (!taken || !S_ISDIR(st.st_mode))
			put(name, name);
		free(p);
	}
	/* Enough names for the radix sort, many sharing their first 8 bytes,
	 * some short, a few directories whose '/' falls inside those 8. */
	for (int i = 0; i < 120; i++) {
		char name[48];
		int k = rand() % 4;
		if (k == 0)
			snprintf(name, sizeof name, "r/samepref%c%d", "ab-._0"[rand() % 6], rand() % 50);
		else if (k == 1)
			snprintf(name, sizeof name, "r/sam%c", "ab-._0"[rand() % 6]);
		else if (k == 2)
			snprintf(name, sizeof name, "r/d%d/x", rand() % 20);
		else
			snprintf(name, sizeof name, "r/samepref%d/x", rand() % 30);
		char *p = at(name);
		char *d = path_dir(p);
		struct stat st;
		bool clash = lstat(d, &st) == 0 && !S_ISDIR(st.st_mode);
		bool taken = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
		if (!clash && !taken)
			put(name, name);
		free(p);
		free(d);
	}
	r = walk_new(tmp, NULL, 2);
	dir = at("r");
	t = walk_tree(r, dir, FX_VIEW_BUILD, NULL, NULL);
	assert_int_equal(walk_run(r), 0);
	assert_true(t->n > 300);
	for (size_t k = 1; k < t->n; k++)
		assert_true(strcmp(t->v[k - 1].path, t->v[k].path) < 0);
	assert_true(hash_eq(t->root, merkle(t)));
	walk_free(r);
	free(dir);
}

/* A run's results live until walk_free; a second run adds new requests. */
static void
test_two_runs(void **state)
{
	make_tree();
	struct fx_walk *r = walk_new(tmp, NULL, 2);
	char *dir = at("ctx"), *f = at("ctx/a.txt");
	const struct fx_tree *t = walk_tree(r, dir, FX_VIEW_BUILD, NULL, NULL);
	assert_int_equal(walk_run(r), 0);
	fx_hash h = t->root;
	const struct fx_tree *ft = walk_file(r, f);
	assert_int_equal(walk_run(r), 0);
	assert_true(hash_eq(t->root, h));
	assert_int_equal(ft->n, 1);
	assert_int_equal(walk_stats(r).files, 9);
	walk_free(r);
	free(dir);
	free(f);
}

/* The tree of ctx in `view`, with `ig`; the caller frees the walk. */
static const struct fx_tree *
walk_ctx(struct fx_walk **r, const char *rel, enum fx_view view, const struct fx_ignore *ig)
{
	char *dir = at(rel);
	*r = walk_new(tmp, NULL, 2);
	const struct fx_tree *t = walk_tree(*r, dir, view, ig, ig ? "ig" : NULL);
	walk_run(*r);
	free(dir);
	return t;
}

static const struct fx_tree_entry *
entry(const struct fx_tree *t, const char *path)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].path, path) == 0)
			return &t->v[i];
	return NULL;
}

/* FIFOs are entries by what they are, never opened (that would block: no
 * one writes); sockets are left out, as the builders leave them; devices
 * count with their numbers. */
static void
test_special_files(void **state)
{
	put("sp/a", "a");
	shell("mkfifo -m 600 '%s/sp/fifo' && python3 -c \"import socket,sys; "
	    "socket.socket(socket.AF_UNIX).bind(sys.argv[1])\" '%s/sp/sock'", tmp);
	struct fx_walk *r;
	const struct fx_tree *t = walk_ctx(&r, "sp", FX_VIEW_BUILD, NULL);
	assert_int_equal(t->err, 0);
	assert_int_equal(t->n, 2);
	assert_string_equal(t->v[1].path, "fifo");
	assert_int_equal(t->v[1].mode, 010600);
	assert_int_equal(walk_stats(r).hashed, 1);
	fx_hash h = t->root;
	walk_free(r);

	if (geteuid() != 0)
		return;
	shell("mknod '%s/sp/null' c 1 3", tmp);
	t = walk_ctx(&r, "sp", FX_VIEW_BUILD, NULL);
	const struct fx_tree_entry *e = entry(t, "null");
	assert_non_null(e);
	assert_int_equal(e->mode >> 12, 02);
	assert_true(hash_eq(e->hash, xxh("1,3", 3)));
	assert_false(hash_eq(t->root, h));
	walk_free(r);
}

/* The builders send the second path of an inode as a link to the first:
 * which entries share an inode counts; their content stays the first's. */
static void
test_hard_links(void **state)
{
	put("hl/a", "same\n");
	put("hl/b", "same\n");
	put("hl/c", "other\n");
	struct fx_walk *r;
	fx_hash copies = walk_ctx(&r, "hl", FX_VIEW_BUILD, NULL)->root;
	walk_free(r);

	shell("cd '%s/hl' && rm b && ln a b", tmp);
	const struct fx_tree *t = walk_ctx(&r, "hl", FX_VIEW_BUILD, NULL);
	assert_false(hash_eq(t->root, copies));
	assert_true(hash_eq(t->v[0].hash, xxh("same\n", 5)));	/* a: the content */
	assert_false(hash_eq(t->v[1].hash, t->v[0].hash));	/* b: a link to a */
	fx_hash linked = t->root;
	walk_free(r);

	/* Another pairing of the same contents is another tree. */
	shell("cd '%s/hl' && rm b && cp a b && ln -f c d && printf 'other\\n' >/dev/null", tmp);
	t = walk_ctx(&r, "hl", FX_VIEW_BUILD, NULL);
	assert_false(hash_eq(t->root, linked));
	walk_free(r);
	/* A link to a file the tree leaves out is no link within it. */
	struct fx_ignore *ig = ignore_new();
	assert_int_equal(ignore_add_pattern(ig, "c", "test", 1), 0);
	t = walk_ctx(&r, "hl", FX_VIEW_BUILD, ig);
	assert_true(hash_eq(entry(t, "d")->hash, xxh("other\n", 6)));
	walk_free(r);
	ignore_free(ig);
}

/* A directory is an entry unless the rules exclude it; an excluded one
 * stays when it holds something re-included (BuildKit sends it then). */
static void
test_excluded_dirs(void **state)
{
	put("ex/keep/a", "a");
	put("ex/drop/b", "b");
	put("ex/both/x", "x");
	put("ex/both/keep.txt", "k");
	put("ex/shown/c.log", "c");
	shell("mkdir '%s/ex/void'", tmp);
	struct fx_ignore *ig = ignore_new();
	const char *text = "drop\nboth\n!both/keep.txt\nshown/*.log\n";
	assert_int_equal(ignore_add_text(ig, text, strlen(text), "test"), 0);
	struct fx_walk *r;
	const struct fx_tree *t = walk_ctx(&r, "ex", FX_VIEW_BUILD, ig);
	const char *want[] = {"both/", "both/keep.txt", "keep/", "keep/a", "shown/", "void/"};
	assert_int_equal(t->n, FX_NELEM(want));
	for (size_t i = 0; i < t->n; i++)
		assert_string_equal(t->v[i].path, want[i]);
	walk_free(r);
	ignore_free(ig);
}

/* A chart as helm loads it: links followed, to files and to directories;
 * modes do not count; a link cycle or a dangling link is an error, as it
 * fails helm. */
static void
test_helm_view(void **state)
{
	put("shared/_helpers.tpl", "{{ define \"x\" }}1{{ end }}\n");
	put("shared/sub/Chart.yaml", "name: sub\n");
	put("chart/Chart.yaml", "name: c\n");
	put("chart/templates/cm.yaml", "kind: ConfigMap\n");
	link_to("../../shared/_helpers.tpl", "chart/templates/_helpers.tpl");
	shell("mkdir -p '%s/chart/charts' && ln -s ../../shared/sub '%s/chart/charts/sub'", tmp);
	struct fx_walk *r;
	const struct fx_tree *t = walk_ctx(&r, "chart", FX_VIEW_HELM, NULL);
	assert_int_equal(t->err, 0);
	const char *want[] = {"Chart.yaml", "charts/sub/Chart.yaml", "templates/_helpers.tpl",
	    "templates/cm.yaml"};
	assert_int_equal(t->n, FX_NELEM(want));
	for (size_t i = 0; i < t->n; i++) {
		assert_string_equal(t->v[i].path, want[i]);
		assert_int_equal(t->v[i].mode, 0100644);
	}
	const char *helpers = "{{ define \"x\" }}1{{ end }}\n";
	assert_true(hash_eq(t->v[2].hash, xxh(helpers, strlen(helpers))));
	fx_hash h = t->root;
	walk_free(r);

	/* an edit of a link's target, file or directory, is a change */
	put("shared/_helpers.tpl", "{{ define \"x\" }}2{{ end }}\n");
	t = walk_ctx(&r, "chart", FX_VIEW_HELM, NULL);
	assert_false(hash_eq(t->root, h));
	h = t->root;
	walk_free(r);
	put("shared/sub/values.yaml", "a: 1\n");
	t = walk_ctx(&r, "chart", FX_VIEW_HELM, NULL);
	assert_false(hash_eq(t->root, h));
	h = t->root;
	walk_free(r);
	/* a mode is not */
	shell("chmod 600 '%s/chart/Chart.yaml' && chmod 700 '%s/chart/templates'", tmp);
	t = walk_ctx(&r, "chart", FX_VIEW_HELM, NULL);
	assert_true(hash_eq(t->root, h));
	walk_free(r);

	/* a link back up is a loop */
	shell("ln -s .. '%s/chart/templates/up'", tmp);
	t = walk_ctx(&r, "chart", FX_VIEW_HELM, NULL);
	assert_int_equal(t->err, ELOOP);
	walk_free(r);
	shell("rm '%s/chart/templates/up' && ln -s nowhere '%s/chart/templates/dangling'", tmp);
	t = walk_ctx(&r, "chart", FX_VIEW_HELM, NULL);
	assert_int_equal(t->err, ENOENT);
	walk_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_big_files, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_tree_entries, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_file_job, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_stable, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_changes, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_ignore, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_dedup, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_missing, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_subdir, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_wide, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_order, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_special_files, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_hard_links, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_excluded_dirs, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_helm_view, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_two_runs, tmpdir_setup, tmpdir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
