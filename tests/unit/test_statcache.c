/*
 * test_statcache.c - the stat cache on a real SQLite file, through the walk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "fusion/hash.h"
#include "fusion/statcache.h"
#include "fusion/walk.h"
#include "fusion/util.h"

#define OLD 1600000000	/* an mtime long before any scan */

#define TESTDIR_NAME "statcache"
#include "testdir.h"

static sqlite3 *db;

/* One lookup, as the walk makes them (statcache_lookup_batch): true with
 * *out on a hit; *racy (may be NULL) when matched but not trusted. */
static bool
lookup(struct fx_statcache *sc, const char *path, const struct stat *st, fx_hash *out,
    bool *racy)
{
	struct fx_statq q = {
		.path = path, .len = (uint32_t)strlen(path), .mode = (uint32_t)st->st_mode,
		.size = st->st_size, .mtime_ns = ts_ns(st->st_mtim), .ctime_ns = ts_ns(st->st_ctim),
		.ino = (uint64_t)st->st_ino,
	};

	statcache_lookup_batch(sc, &q, 1);
	if (racy)
		*racy = q.racy;
	if (q.hit)
		*out = q.hash;
	return q.hit;
}

/* The schema cache.c creates; kept verbatim. */
static const char ddl[] =
    "CREATE TABLE stat(path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
    " ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, mode INTEGER NOT NULL, hash BLOB NOT NULL,"
    " scan_ns INTEGER NOT NULL) WITHOUT ROWID;";

static int
setup(void **state)
{
	tmpdir_setup(state);
	char *p = at("cache.db");
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, ddl, NULL, NULL, NULL), SQLITE_OK);
	free(p);
	return 0;
}

static int
teardown(void **state)
{
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	return tmpdir_teardown(state);
}

static void
set_mtime(const char *rel, int64_t sec, long nsec)
{
	char *p = at(rel);
	struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	free(p);
}

static void
put_at(const char *rel, const char *content, int64_t mtime)
{
	put_file(rel, content);
	set_mtime(rel, mtime, 0);
}

static void
put(const char *rel, const char *content)
{
	put_at(rel, content, OLD);
}

static fx_hash
xxh(const char *s)
{
	XXH128_hash_t h = XXH3_128bits(s, strlen(s));
	return (fx_hash){h.high64, h.low64};
}

static long
rows(void)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM stat", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

struct scan {
	fx_hash root;
	struct fx_walk_stats st;
};

/* Scan tmp/rel with a cache loaded from the database (and save it), as a
 * run of fusion would; scan_ns, if set, is the scan's start. */
static struct scan
scan(const char *rel, int64_t scan_ns)
{
	struct fx_statcache *sc = statcache_load(db);
	assert_non_null(sc);
	if (scan_ns)
		statcache_set_scan_start(sc, scan_ns);
	struct fx_walk *r = walk_new(tmp, sc, 2);
	char *dir = at(rel);
	const struct fx_tree *t = walk_tree(r, dir, FX_VIEW_BUILD, NULL, NULL);
	assert_int_equal(walk_run(r), 0);
	struct scan s = {t->root, walk_stats(r)};
	walk_free(r);
	assert_int_equal(statcache_save(sc), 0);
	statcache_free(sc);
	free(dir);
	return s;
}

static void
make_tree(void)
{
	put("ws/svc/Containerfile", "FROM scratch\n");
	put("ws/svc/src/main.c", "int main(void) { return 0; }\n");
	put("ws/svc/src/util.c", "/* util */\n");
	put("ws/svc/README", "svc\n");
	char *l = at("ws/svc/latest");
	assert_int_equal(symlink("README", l), 0);
	struct timespec ts[2] = {{OLD, 0}, {OLD, 0}};
	assert_int_equal(utimensat(AT_FDCWD, l, ts, AT_SYMLINK_NOFOLLOW), 0);
	free(l);
}

static void
test_noop_scan(void **state)
{
	make_tree();
	struct scan a = scan("ws/svc", 0);
	assert_int_equal(a.st.files, 5);
	assert_int_equal(a.st.hashed, 5);
	assert_int_equal(a.st.cache_hits, 0);
	assert_int_equal(rows(), 5);

	/* Nothing changed, everything older than the scan: nothing is read. */
	struct scan b = scan("ws/svc", 0);
	assert_true(hash_eq(a.root, b.root));
	assert_int_equal(b.st.files, 5);
	assert_int_equal(b.st.cache_hits, 5);
	assert_int_equal(b.st.hashed, 0);
	assert_int_equal(b.st.bytes, 0);
	assert_int_equal(b.st.racy, 0);

	/* One file changes: only it is read. */
	put("ws/svc/src/util.c", "/* utility */\n");
	struct scan c = scan("ws/svc", 0);
	assert_int_equal(c.st.hashed, 1);
	assert_int_equal(c.st.cache_hits, 4);
	assert_false(hash_eq(c.root, a.root));
	assert_int_equal(rows(), 5);
}

static void
test_keys_relative(void **state)
{
	make_tree();
	put("outside/x", "x\n");
	struct fx_statcache *sc = statcache_load(db);
	char *ws = at("ws"), *out = at("outside");
	struct fx_walk *r = walk_new(ws, sc, 2);
	walk_tree(r, ws, FX_VIEW_BUILD, NULL, NULL);
	walk_tree(r, out, FX_VIEW_BUILD, NULL, NULL);
	char *f = at("ws/svc/README");
	walk_file(r, f);
	assert_int_equal(walk_run(r), 0);
	walk_free(r);
	assert_int_equal(statcache_save(sc), 0);
	statcache_free(sc);

	/* Relative to the workspace root; a tree outside it is keyed absolute. */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT path, hash FROM stat ORDER BY path", -1, &st, NULL), SQLITE_OK);
	char *abs_x = at("outside/x");
	const char *want[] = {abs_x, "svc/Containerfile", "svc/README", "svc/latest", "svc/src/main.c", "svc/src/util.c"};
	for (size_t i = 0; i < FX_NELEM(want); i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), want[i]);
		assert_int_equal(sqlite3_column_bytes(st, 1), 16);
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);

	/* The blob is hi then lo, big-endian. */
	fx_hash h = xxh("svc\n");
	unsigned char be[16];
	for (int k = 0; k < 8; k++) {
		be[k] = (unsigned char)(h.hi >> (56 - 8 * k));
		be[8 + k] = (unsigned char)(h.lo >> (56 - 8 * k));
	}
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT hash FROM stat WHERE path = 'svc/README'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_memory_equal(sqlite3_column_blob(st, 0), be, 16);
	sqlite3_finalize(st);
	free(abs_x);
	free(ws);
	free(out);
	free(f);
}

/* Rows read by walk_run on one thread while the others walk: lookups
 * wait for them, and every file is still answered from the cache. */
static void
test_open_unfilled(void **state)
{
	char name[64];
	struct stat fake = {0};
	struct fx_statcache *sc = statcache_load(db);
	for (int i = 0; i < 20000; i++) {	/* enough rows to take a while */
		snprintf(name, sizeof name, "other/%05d", i);
		statcache_put(sc, name, &fake, (fx_hash){1, 2});
	}
	assert_int_equal(statcache_save(sc), 0);
	statcache_free(sc);
	for (int d = 0; d < 30; d++) {
		for (int f = 0; f < 20; f++) {
			snprintf(name, sizeof name, "ws/svc/d%02d/f%02d", d, f);
			put(name, name);
		}
	}
	make_tree();
	struct scan a = scan("ws/svc", 0);
	assert_int_equal(a.st.hashed, 605);

	for (int round = 0; round < 3; round++) {
		sc = statcache_open(db);
		assert_non_null(sc);
		assert_false(statcache_filled(sc));
		struct fx_walk *r = walk_new(tmp, sc, 2 + round);
		char *dir = at("ws/svc"), *file = at("ws/svc/README");
		const struct fx_tree *t = walk_tree(r, dir, FX_VIEW_BUILD, NULL, NULL);
		const struct fx_tree *f = walk_file(r, file);
		assert_int_equal(walk_run(r), 0);
		assert_true(statcache_filled(sc));
		assert_true(hash_eq(t->root, a.root));
		assert_true(hash_eq(f->v[0].hash, xxh("svc\n")));
		struct fx_walk_stats st = walk_stats(r);
		assert_int_equal(st.hashed, 0);
		assert_int_equal(st.cache_hits, 606);
		walk_free(r);
		assert_int_equal(statcache_count(sc), 20605);
		statcache_free(sc);
		free(dir);
		free(file);
	}

	/* Unfilled, saving and collecting read the rows first. */
	sc = statcache_open(db);
	assert_int_equal(statcache_save(sc), 0);
	assert_true(statcache_filled(sc));
	statcache_free(sc);
	sc = statcache_open(db);
	assert_int_equal(statcache_gc(sc, tmp), 20000);	/* the made-up rows */
	statcache_free(sc);
}

/* Relative names are taken from the current directory. */
static void
test_relative_root(void **state)
{
	make_tree();
	char *cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(tmp), 0);
	struct fx_statcache *sc = statcache_load(db);
	struct fx_walk *r = walk_new("ws", sc, 2);
	const struct fx_tree *t = walk_tree(r, "ws/svc/src", FX_VIEW_BUILD, NULL, NULL);
	const struct fx_tree *f = walk_file(r, "./ws/svc/README");
	assert_int_equal(walk_run(r), 0);
	char *abs = at("ws/svc/src");
	assert_string_equal(t->dir, abs);
	assert_int_equal(f->n, 1);
	walk_free(r);
	assert_int_equal(statcache_save(sc), 0);
	statcache_free(sc);
	assert_int_equal(chdir(cwd), 0);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT path FROM stat ORDER BY path", -1, &st, NULL), SQLITE_OK);
	const char *want[] = {"svc/README", "svc/src/main.c", "svc/src/util.c"};
	for (size_t i = 0; i < FX_NELEM(want); i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), want[i]);
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	free(abs);
	free(cwd);
}

/* A copied workspace has new inodes: read once more, same digests. */
static void
test_copied_workspace(void **state)
{
	make_tree();
	struct scan a = scan("ws/svc", 0);
	char *cmd = xasprintf("cp -a '%s/ws' '%s/ws2'", tmp, tmp);
	assert_int_equal(system(cmd), 0);
	free(cmd);

	struct fx_statcache *sc = statcache_load(db);
	char *ws2 = at("ws2"), *svc = at("ws2/svc");
	struct fx_walk *r = walk_new(ws2, sc, 2);
	const struct fx_tree *t = walk_tree(r, svc, FX_VIEW_BUILD, NULL, NULL);
	assert_int_equal(walk_run(r), 0);
	assert_true(hash_eq(t->root, a.root));
	assert_int_equal(walk_stats(r).hashed, 5);
	walk_free(r);
	statcache_free(sc);
	free(ws2);
	free(svc);
}

static void
test_racy_scan(void **state)
{
	int64_t now = (int64_t)time(NULL);
	make_tree();
	/* Written in the very second the recording scan starts. */
	put_at("ws/svc/README", "svc\n", now);
	struct scan a = scan("ws/svc", now * 1000000000 + 999999999);
	assert_int_equal(a.st.hashed, 5);

	struct scan b = scan("ws/svc", (now + 2) * 1000000000);
	assert_true(hash_eq(a.root, b.root));
	assert_int_equal(b.st.racy, 1);
	assert_int_equal(b.st.hashed, 1);
	assert_int_equal(b.st.cache_hits, 4);

	/* Re-recorded by a later scan, it is trusted from then on. */
	struct scan c = scan("ws/svc", (now + 4) * 1000000000);
	assert_int_equal(c.st.racy, 0);
	assert_int_equal(c.st.hashed, 0);
	assert_int_equal(c.st.cache_hits, 5);
}

/* Same size, mtime put back: only the ctime tells, and it does. */
static void
test_same_size_rewrite(void **state)
{
	make_tree();
	struct scan a = scan("ws/svc", 0);
	char *p = at("ws/svc/src/util.c");
	struct stat before, after;
	assert_int_equal(lstat(p, &before), 0);
	/* Timestamps are coarse on some kernels: rewrite until ctime moves. */
	for (int i = 0; i < 1000; i++) {
		int fd = open(p, O_WRONLY | O_TRUNC);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "/* UTIL */\n", 11), 11);
		assert_int_equal(close(fd), 0);
		set_mtime("ws/svc/src/util.c", OLD, 0);
		assert_int_equal(lstat(p, &after), 0);
		if (after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
		    after.st_ctim.tv_nsec != before.st_ctim.tv_nsec)
			break;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);

	struct scan b = scan("ws/svc", 0);
	assert_int_equal(b.st.hashed, 1);
	assert_false(hash_eq(a.root, b.root));
	free(p);
}

/* The racy rule and the stat match, one lookup at a time. */
static void
test_lookup_rule(void **state)
{
	struct stat st = {0};
	st.st_size = 42;
	st.st_ino = 7;
	st.st_mode = S_IFREG | 0644;
	st.st_mtim = (struct timespec){1000, 500000000};
	st.st_ctim = (struct timespec){1000, 600000000};
	fx_hash h = {1, 2}, out = {0, 0};
	bool racy;

	struct fx_statcache *sc = statcache_load(db);
	statcache_set_scan_start(sc, 1000LL * 1000000000 + 900000000);
	statcache_put(sc, "same-second", &st, h);
	statcache_set_scan_start(sc, 1001LL * 1000000000);
	statcache_put(sc, "next-second", &st, h);
	/* Before saving, lookups see only what was loaded. */
	assert_false(lookup(sc, "next-second", &st, &out, &racy));
	assert_false(racy);
	assert_int_equal(statcache_save(sc), 0);
	statcache_free(sc);

	sc = statcache_load(db);
	assert_int_equal(statcache_count(sc), 2);
	assert_false(lookup(sc, "same-second", &st, &out, &racy));
	assert_true(racy);
	assert_true(lookup(sc, "next-second", &st, &out, &racy));
	assert_false(racy);
	assert_true(hash_eq(out, h));
	assert_true(lookup(sc, "next-second", &st, &out, NULL));

	/* Any stat field that moved is a miss, not a racy one. */
	struct stat m;
	m = st; m.st_size++;
	assert_false(lookup(sc, "next-second", &m, &out, &racy));
	assert_false(racy);
	m = st; m.st_ino++;
	assert_false(lookup(sc, "next-second", &m, &out, &racy));
	m = st; m.st_mode |= 0100;
	assert_false(lookup(sc, "next-second", &m, &out, &racy));
	m = st; m.st_mtim.tv_nsec++;
	assert_false(lookup(sc, "next-second", &m, &out, &racy));
	m = st; m.st_ctim.tv_nsec++;
	assert_false(lookup(sc, "next-second", &m, &out, &racy));
	assert_false(racy);
	assert_false(lookup(sc, "absent", &st, &out, &racy));
	assert_false(racy);
	statcache_free(sc);

	/* Whole seconds, also before 1970: -0.5s lies in second -1. */
	sc = statcache_load(NULL);
	st.st_mtim = (struct timespec){-1, 500000000};
	statcache_set_scan_start(sc, 0);
	statcache_put(sc, "old", &st, h);
	st.st_mtim = (struct timespec){0, 0};
	statcache_put(sc, "epoch", &st, h);
	assert_int_equal(statcache_save(sc), 0);	/* no database: kept in memory */
	st.st_mtim = (struct timespec){-1, 500000000};
	assert_true(lookup(sc, "old", &st, &out, &racy));
	st.st_mtim = (struct timespec){0, 0};
	assert_false(lookup(sc, "epoch", &st, &out, &racy));
	assert_true(racy);
	statcache_free(sc);
}

static void
test_round_trip(void **state)
{
	struct fx_statcache *sc = statcache_load(db);
	struct stat st = {0};
	char name[32];
	int n = 3000;

	statcache_set_scan_start(sc, 2000LL * 1000000000);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "dir%d/file%d", i % 10, i);
		st.st_size = i;
		st.st_ino = (ino_t)(UINT64_MAX - (uint64_t)i);	/* beyond SQLite's signed range */
		st.st_mode = S_IFREG | 0755;
		st.st_mtim = (struct timespec){1000, i};
		st.st_ctim = (struct timespec){1001, i};
		statcache_put(sc, name, &st, (fx_hash){UINT64_MAX - (uint64_t)i, (uint64_t)i << 32});
	}
	/* A later put of the same path wins. */
	st.st_size = 0;
	st.st_ino = (ino_t)UINT64_MAX;
	st.st_mtim = (struct timespec){1000, 0};
	st.st_ctim = (struct timespec){1001, 0};
	statcache_put(sc, "dir0/file0", &st, (fx_hash){5, 5});
	assert_int_equal(statcache_save(sc), 0);
	assert_int_equal(rows(), n);
	assert_int_equal(statcache_count(sc), n);
	/* Saved entries are visible to the same cache. */
	fx_hash out;
	assert_true(lookup(sc, "dir0/file0", &st, &out, NULL));
	assert_true(hash_eq(out, ((fx_hash){5, 5})));
	statcache_free(sc);

	sc = statcache_load(db);
	assert_int_equal(statcache_count(sc), n);
	for (int i = 1; i < n; i++) {
		snprintf(name, sizeof name, "dir%d/file%d", i % 10, i);
		st.st_size = i;
		st.st_ino = (ino_t)(UINT64_MAX - (uint64_t)i);
		st.st_mtim = (struct timespec){1000, i};
		st.st_ctim = (struct timespec){1001, i};
		assert_true(lookup(sc, name, &st, &out, NULL));
		assert_true(hash_eq(out, ((fx_hash){UINT64_MAX - (uint64_t)i, (uint64_t)i << 32})));
	}
	st.st_size = 0;
	st.st_ino = (ino_t)UINT64_MAX;
	st.st_mtim = (struct timespec){1000, 0};
	st.st_ctim = (struct timespec){1001, 0};
	assert_true(lookup(sc, "dir0/file0", &st, &out, NULL));
	assert_true(hash_eq(out, ((fx_hash){5, 5})));
	statcache_free(sc);
}

/* Saving inside the caller's transaction joins it. */
static void
test_save_in_txn(void **state)
{
	struct fx_statcache *sc = statcache_load(db);
	struct stat st = {0};
	statcache_put(sc, "a", &st, (fx_hash){1, 1});
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(statcache_save(sc), 0);
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(rows(), 0);
	statcache_free(sc);
}

/* An in-memory database has no file to read the rows through: the
 * caller's connection does. */
static void
test_memory_db(void **state)
{
	sqlite3 *mem;
	assert_int_equal(sqlite3_open(":memory:", &mem), SQLITE_OK);
	assert_int_equal(sqlite3_exec(mem, ddl, NULL, NULL, NULL), SQLITE_OK);
	struct fx_statcache *sc = statcache_load(mem);
	struct stat st = {0};
	st.st_mtim.tv_sec = 1000;
	statcache_put(sc, "a/b", &st, (fx_hash){7, 8});
	assert_int_equal(statcache_save(sc), 0);
	statcache_free(sc);
	sc = statcache_open(mem);
	assert_non_null(sc);
	char *err;
	assert_int_equal(statcache_fill(sc, &err), 0);
	assert_null(err);
	fx_hash h;
	assert_true(lookup(sc, "a/b", &st, &h, NULL));
	assert_true(hash_eq(h, ((fx_hash){7, 8})));
	statcache_free(sc);
	assert_int_equal(sqlite3_close(mem), SQLITE_OK);
}

static void
test_load_errors(void **state)
{
	assert_int_equal(sqlite3_exec(db, "DROP TABLE stat", NULL, NULL, NULL), SQLITE_OK);
	assert_null(statcache_load(db));
	assert_null(statcache_open(db));
	struct fx_statcache *sc = statcache_load(NULL);
	assert_non_null(sc);
	assert_int_equal(statcache_count(sc), 0);
	statcache_free(sc);
	assert_int_equal(sqlite3_exec(db, ddl, NULL, NULL, NULL), SQLITE_OK);
}

static void
test_gc(void **state)
{
	make_tree();
	put("outside/x", "x\n");
	struct fx_statcache *sc = statcache_load(db);
	char *ws = at("ws"), *out = at("outside");
	struct fx_walk *r = walk_new(ws, sc, 2);
	walk_tree(r, ws, FX_VIEW_BUILD, NULL, NULL);
	walk_tree(r, out, FX_VIEW_BUILD, NULL, NULL);
	assert_int_equal(walk_run(r), 0);
	walk_free(r);
	assert_int_equal(statcache_save(sc), 0);
	statcache_free(sc);
	assert_int_equal(rows(), 6);

	char *p = at("ws/svc/src/main.c"), *q = at("outside/x"), *l = at("ws/svc/latest");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(unlink(q), 0);
	/* latest now dangles, but a link that exists stays. */
	char *readme = at("ws/svc/README");
	assert_int_equal(unlink(readme), 0);

	sc = statcache_load(db);
	assert_int_equal(statcache_gc(sc, ws), 3);
	assert_int_equal(rows(), 3);
	assert_int_equal(statcache_count(sc), 3);
	assert_int_equal(statcache_gc(sc, ws), 0);
	struct stat st;
	assert_int_equal(lstat(l, &st), 0);
	fx_hash h;
	assert_true(lookup(sc, "svc/latest", &st, &h, NULL));
	statcache_free(sc);
	free(ws);
	free(out);
	free(p);
	free(q);
	free(l);
	free(readme);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_noop_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_relative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_unfilled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copied_workspace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_racy_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_size_rewrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_in_txn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
