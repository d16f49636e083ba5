/*
 * test_cache.c - the state database (cache.h) on a real SQLite file in a
 * temporary directory: schema creation and versioning, node records and
 * manifests, forgetting, the run history, clear and gc, and WAL mode's
 * promise that readers never wait for a running `up`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/cache.h"
#include "fusion/util.h"

#define TESTDIR_NAME "cache"
#include "testdir.h"
#include "capture.h"

struct t {
	char *root;	/* the temporary directory */
	char *dir;	/* the state directory under it */
	struct fx_cache *c;
};

static int
setup(void **state)
{
	struct t *t = xcalloc(1, sizeof(*t));

	/* a state directory that does not exist yet: cache_open creates it */
	t->root = tmpdir_new();
	t->dir = xasprintf("%s/state/.fusion", t->root);
	t->c = cache_open(t->dir);
	assert_non_null(t->c);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct t *t = *state;

	cache_close(t->c);
	tmpdir_free(t->root);
	free(t->dir);
	free(t);
	return 0;
}

/* The first column of the first row of `sql`, as text ("" for NULL). */
static char *
query(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	char *s = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	int rc = sqlite3_step(st);
	assert_true(rc == SQLITE_ROW || rc == SQLITE_DONE);
	if (rc == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(st, 0);
		s = xstrdup(v ? (const char *)v : "");
	}
	sqlite3_finalize(st);
	return s;
}

static void
assert_query(sqlite3 *db, const char *sql, const char *want)
{
	char *got = query(db, sql);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
put(struct t *t, const char *id, const char *key, const char *manifest, int64_t run)
{
	struct fx_record r = {.id = (char *)id, .key = (char *)key, .output = "sha256:1",
	    .output_hash = "0123456789abcdef0123456789abcdef", .started = 1000.5,
	    .seconds = 2.25, .log = "logs/x.log", .run_id = run};

	assert_int_equal(cache_put_success(t->c, &r, manifest, "ran"), 0);
}

static void
test_open_schema(void **state)
{
	struct t *t = *state;
	sqlite3 *db = cache_db(t->c);
	char *p = xasprintf("%s/cache.db", t->dir);

	assert_int_equal(access(p, F_OK), 0);
	free(p);
	assert_query(db, "PRAGMA user_version", "3");
	assert_int_equal(FX_SCHEMA_VERSION, 3);
	assert_query(db, "PRAGMA journal_mode", "wal");
	assert_query(db, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master"
	    " WHERE type='table' ORDER BY name)", "node,node_key,run,run_node,stat,text");
}

static void
test_reopen_idempotent(void **state)
{
	struct t *t = *state;
	struct fx_map rec;

	put(t, "build:a", "k1", "m1", 1);
	cache_close(t->c);
	t->c = cache_open(t->dir);
	assert_non_null(t->c);
	assert_query(cache_db(t->c), "PRAGMA user_version", "3");
	assert_query(cache_db(t->c), "SELECT count(*) FROM sqlite_master WHERE type='table'", "6");
	assert_int_equal(cache_load_records(t->c, &rec), 0);
	assert_int_equal(rec.n, 1);
	assert_non_null(map_get(&rec, "build:a"));
	cache_free_records(&rec);
}

/* A database from a newer fusion is refused, not downgraded or wiped. */
static void
test_newer_schema_refused(void **state)
{
	struct t *t = *state;
	char *p = xasprintf("%s/cache.db", t->dir);
	sqlite3 *db;

	put(t, "build:a", "k1", "m1", 1);
	cache_close(t->c);
	t->c = NULL;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	/* a newer fusion might keep another journal mode: rollback here */
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=DELETE; PRAGMA user_version=99",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	char *before, *after;
	size_t n, m;
	assert_int_equal(read_file(p, &before, &n), 0);
	capture_begin();
	assert_null(cache_open(t->dir));
	char *out = capture_end();
	assert_non_null(strstr(out, "schema version 99 is newer than this fusion knows (3): left as it is"));
	assert_non_null(strstr(out, "hint: upgrade fusion, or run `fusion cache clear` to start over"));
	free(out);
	/* not a byte changed (the journal mode neither, nor a checkpoint) */
	assert_int_equal(read_file(p, &after, &m), 0);
	assert_int_equal(n, m);
	assert_memory_equal(before, after, n);
	free(before);
	free(after);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_query(db, "PRAGMA user_version", "99");
	assert_query(db, "SELECT count(*) FROM node", "1");
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	free(p);
}

/* A state directory that cannot be created is an error, not a crash. */
static void
test_open_unwritable(void **state)
{
	struct t *t = *state;
	char *file = xasprintf("%s/plainfile", t->dir);
	char *under = xasprintf("%s/sub", file);

	assert_int_equal(write_file_atomic(file, "x", 1), 0);
	assert_null(cache_open(under));
	free(file);
	free(under);
}

static void
test_records_round_trip(void **state)
{
	struct t *t = *state;
	struct fx_map rec;

	put(t, "build:a", "k1", "m1", 3);
	struct fx_record r = {.id = "release:b", .key = "k2", .output = "7",
	    .output_hash = "ffffffffffffffffffffffffffffffff", .started = 1700000000.25,
	    .seconds = 0.5, .log = NULL, .run_id = 4};
	assert_int_equal(cache_put_success(t->c, &r, NULL, "cached"), 0);

	assert_int_equal(cache_load_records(t->c, &rec), 0);
	assert_int_equal(rec.n, 2);
	const struct fx_record *a = map_get(&rec, "build:a");
	assert_non_null(a);
	assert_string_equal(a->id, "build:a");
	assert_string_equal(a->key, "k1");
	assert_string_equal(a->output, "sha256:1");
	assert_string_equal(a->output_hash, "0123456789abcdef0123456789abcdef");
	assert_true(a->started == 1000.5);
	assert_true(a->seconds == 2.25);
	assert_string_equal(a->log, "logs/x.log");
	assert_int_equal(a->run_id, 3);
	const struct fx_record *b = map_get(&rec, "release:b");
	assert_non_null(b);
	assert_string_equal(b->output, "7");
	assert_string_equal(b->log, "");	/* NULL log is stored as "" */
	assert_true(b->started == 1700000000.25);
	cache_free_records(&rec);

	/* the run_node row goes with the success, in the same transaction */
	sqlite3 *db = cache_db(t->c);
	assert_query(db, "SELECT result || ' ' || seconds FROM run_node WHERE run_id=3 AND"
	    " node='build:a'", "ran 2.25");
	assert_query(db, "SELECT result FROM run_node WHERE run_id=4 AND node='release:b'",
	    "cached");
}

/* A new success replaces the last one. */
static void
test_put_replaces(void **state)
{
	struct t *t = *state;
	struct fx_map rec;

	put(t, "build:a", "k1", "m1", 1);
	put(t, "build:a", "k2", "m2", 2);
	assert_int_equal(cache_load_records(t->c, &rec), 0);
	assert_int_equal(rec.n, 1);
	assert_string_equal(((struct fx_record *)map_get(&rec, "build:a"))->key, "k2");
	cache_free_records(&rec);
	char *m;
	assert_int_equal(cache_manifest(t->c, "build:a", &m), 0);
	assert_string_equal(m, "m2");
	free(m);
	assert_query(cache_db(t->c), "SELECT count(*) FROM run_node WHERE node='build:a'", "2");
}

static void
test_empty_records(void **state)
{
	struct t *t = *state;
	struct fx_map rec;

	assert_int_equal(cache_load_records(t->c, &rec), 0);
	assert_int_equal(rec.n, 0);
	assert_null(map_get(&rec, "build:a"));
	cache_free_records(&rec);
}

static void
test_manifest(void **state)
{
	struct t *t = *state;
	const char *text = "arg:A\t1\nsrc:x\t100644:00\n";

	put(t, "build:a", "k", text, 1);
	put(t, "build:nomanifest", "k", NULL, 1);
	char *m;
	assert_int_equal(cache_manifest(t->c, "build:a", &m), 0);
	assert_string_equal(m, text);
	free(m);
	assert_int_equal(cache_manifest(t->c, "build:nomanifest", &m), 0);
	assert_null(m);
	assert_int_equal(cache_manifest(t->c, "build:unknown", &m), 0);
	assert_null(m);

	/* A database that cannot answer is an error, not "no record". */
	assert_int_equal(sqlite3_exec(cache_db(t->c), "ALTER TABLE node RENAME TO gone", NULL, NULL,
	    NULL), SQLITE_OK);
	capture_begin();
	int rc = cache_manifest(t->c, "build:a", &m);
	char *err = capture_end();
	assert_int_equal(rc, -1);
	assert_null(m);
	assert_int_equal(errors_in(err), 1);
	free(err);
}

static void
test_forget(void **state)
{
	struct t *t = *state;
	struct fx_map rec;

	put(t, "build:a", "k", "m", 1);
	put(t, "build:b", "k", "m", 1);
	assert_int_equal(cache_forget(t->c, "build:a"), 0);
	assert_int_equal(cache_forget(t->c, "build:never"), 0);
	assert_int_equal(cache_load_records(t->c, &rec), 0);
	assert_int_equal(rec.n, 1);
	assert_null(map_get(&rec, "build:a"));
	assert_non_null(map_get(&rec, "build:b"));
	cache_free_records(&rec);
	char *m;
	assert_int_equal(cache_manifest(t->c, "build:a", &m), 0);
	assert_null(m);
	/* the history of what runs did stays */
	assert_query(cache_db(t->c), "SELECT count(*) FROM run_node WHERE node='build:a'", "1");
}

/* Runs are numbered as they begin; the end records status and counts. */
static void
test_run_history(void **state)
{
	struct t *t = *state;
	sqlite3 *db = cache_db(t->c);
	double before = now_wall();
	int64_t r1 = cache_run_begin(t->c, "up core-api");
	int64_t r2 = cache_run_begin(t->c, "down");
	struct fx_run_counts k = {.ran = 1, .cached = 2, .cutoff = 3, .failed = 4, .skipped = 5,
	    .fresh = 6};

	assert_true(r1 > 0);
	assert_true(r2 > r1);
	assert_query(db, "SELECT command FROM run WHERE id=1", "up core-api");
	/* unfinished: no finish time, no status */
	assert_query(db, "SELECT coalesce(finished, 'none') || ' ' || coalesce(status, 'none')"
	    " FROM run WHERE id=1", "none none");
	assert_int_equal(cache_run_end(t->c, r1, 1, &k), 0);
	char *sql = xasprintf("SELECT started >= %f AND finished >= started FROM run WHERE id=%lld",
	    before - 1, (long long)r1);
	assert_query(db, sql, "1");
	free(sql);
	sql = xasprintf("SELECT status||ran||cached||cutoff||failed||skipped||fresh FROM run"
	    " WHERE id=%lld", (long long)r1);
	assert_query(db, sql, "1123456");
	free(sql);
	assert_query(db, "SELECT coalesce(status, 'none') FROM run WHERE id=2", "none");
}

static void
test_put_result(void **state)
{
	struct t *t = *state;
	sqlite3 *db = cache_db(t->c);
	struct fx_map rec;

	int64_t run = cache_run_begin(t->c, "up");
	assert_int_equal(cache_put_result(t->c, run, "build:a", "failed", 1.5), 0);
	assert_int_equal(cache_put_result(t->c, run, "load:a", "skipped", 0), 0);
	/* the same node again in the same run: the later result wins */
	assert_int_equal(cache_put_result(t->c, run, "load:a", "cutoff", 0.25), 0);
	assert_query(db, "SELECT group_concat(node || '=' || result || '/' || seconds, ' ') FROM"
	    " (SELECT * FROM run_node ORDER BY node)", "build:a=failed/1.5 load:a=cutoff/0.25");
	/* results never touch the last success */
	assert_int_equal(cache_load_records(t->c, &rec), 0);
	assert_int_equal(rec.n, 0);
	cache_free_records(&rec);
}

/* The start of the newest run in which the node succeeded (ran, cached, or
 * was left fresh by cutoff); failures and skips do not count. */
static void
test_last_run_of(void **state)
{
	struct t *t = *state;
	sqlite3 *db = cache_db(t->c);

	assert_true(cache_last_run_of(t->c, "build:a") == 0);
	int64_t r1 = cache_run_begin(t->c, "up");
	int64_t r2 = cache_run_begin(t->c, "up");
	int64_t r3 = cache_run_begin(t->c, "up");
	assert_int_equal(sqlite3_exec(db, "UPDATE run SET started=100 WHERE id=1;"
	    " UPDATE run SET started=200 WHERE id=2; UPDATE run SET started=300 WHERE id=3;",
	    NULL, NULL, NULL), SQLITE_OK);
	cache_put_result(t->c, r3, "build:a", "failed", 1);
	assert_true(cache_last_run_of(t->c, "build:a") == 0);
	cache_put_result(t->c, r1, "build:a", "ran", 1);
	assert_true(cache_last_run_of(t->c, "build:a") == 100);
	cache_put_result(t->c, r2, "build:a", "cached", 1);
	assert_true(cache_last_run_of(t->c, "build:a") == 200);
	cache_put_result(t->c, r3, "load:a", "skipped", 0);
	assert_true(cache_last_run_of(t->c, "load:a") == 0);
	cache_put_result(t->c, r3, "load:a", "cutoff", 0);
	assert_true(cache_last_run_of(t->c, "load:a") == 300);
	assert_true(cache_last_run_of(t->c, "build:a") == 200);
}

/* `cache clear` removes the files without opening them, so it works
 * whatever they hold; the next open starts empty. */
static void
test_clear(void **state)
{
	struct t *t = *state;
	char *p = xasprintf("%s/cache.db", t->dir);
	struct stat st;

	put(t, "build:a", "k", "m", cache_run_begin(t->c, "up"));
	cache_close(t->c);
	t->c = NULL;
	assert_int_equal(write_file_atomic(p, "not a database at all", 21), 0);
	assert_int_equal(cache_remove(t->dir), 0);
	assert_int_equal(lstat(p, &st), -1);
	assert_int_equal(cache_remove(t->dir), 0);	/* nothing there: fine */
	t->c = cache_open(t->dir);
	assert_non_null(t->c);
	assert_query(cache_db(t->c), "SELECT count(*) FROM node", "0");
	assert_query(cache_db(t->c), "PRAGMA user_version", "3");
	free(p);
}

/* The names in dir that start with prefix, joined by spaces. */
static char *
names_with(const char *dir, const char *prefix)
{
	struct fx_strv v = {0};
	struct fx_buf b = {0};
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			strv_push(&v, e->d_name);
	closedir(d);
	for (size_t i = 0; i < v.n; i++)
		buf_printf(&b, "%s%s", i ? " " : "", v.v[i]);
	strv_free(&v);
	return buf_detach(&b);
}

/* A damaged database: moved aside with a warning that names where, and an
 * empty one opened in its place. `damage` spoils the file at p. */
static void
check_moved_aside(struct t *t, void (*damage)(const char *p), const char *why)
{
	char *p = xasprintf("%s/cache.db", t->dir);
	char *before, *after, *copy, *out;
	size_t n, m;

	put(t, "build:a", "k", "m", 1);
	cache_close(t->c);
	t->c = NULL;
	damage(p);
	assert_int_equal(read_file(p, &before, &n), 0);
	capture_begin();
	t->c = cache_open(t->dir);
	out = capture_end();
	assert_non_null(t->c);
	assert_int_equal(errors_in(out), 0);
	assert_query(cache_db(t->c), "SELECT count(*) FROM node", "0");
	/* the damaged file, byte for byte, beside the new one */
	char *aside = names_with(t->dir, "cache.db.corrupt-");
	assert_int_not_equal(strlen(aside), 0);
	assert_null(strchr(aside, ' '));
	copy = xasprintf("%s/%s", t->dir, aside);
	assert_int_equal(read_file(copy, &after, &m), 0);
	assert_int_equal(n, m);
	assert_memory_equal(before, after, n);
	char *want = xasprintf("fusion: warning: %s is damaged (%s); moved it to %s: starting from "
	    "an empty state", p, why, copy);
	if (!strstr(out, want))
		fail_msg("want \"%s\" in \"%s\"", want, out);
	/* and the new one works */
	put(t, "build:b", "k", "m", 1);
	assert_query(cache_db(t->c), "SELECT count(*) FROM node", "1");
	free(want);
	free(aside);
	free(copy);
	free(before);
	free(after);
	free(out);
	free(p);
}

static void
garbage(const char *p)
{
	char junk[8192];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 7 + 3);
	assert_int_equal(write_file_atomic(p, junk, sizeof junk), 0);
}

/* Keep the header, lose the rest past the second page. */
static void
truncated(const char *p)
{
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_true(st.st_size > 4 * 4096);
	assert_int_equal(truncate(p, 2 * 4096), 0);
}

static void
test_garbage_moved_aside(void **state)
{
	check_moved_aside(*state, garbage, "file is not a database");
}

static void
test_truncated_moved_aside(void **state)
{
	struct t *t = *state;
	/* enough rows for the node table to span several pages */
	for (int i = 0; i < 200; i++) {
		char id[32];
		snprintf(id, sizeof id, "build:s%03d", i);
		put(t, id, "k", "a manifest line long enough to fill pages quickly, repeated", 1);
	}
	check_moved_aside(t, truncated, "database disk image is malformed");
}

/* Overwrite the root page of `table` in the database at p with junk. */
static void
spoil_root_page(const char *p, const char *table)
{
	sqlite3 *db;
	char *sql = xasprintf("SELECT rootpage FROM sqlite_master WHERE name='%s'", table);

	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	char *root = query(db, sql), *size = query(db, "PRAGMA page_size");
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	long pg = atol(root), n = atol(size);
	assert_true(pg > 1 && n >= 512);
	char *junk = xmalloc((size_t)n);
	for (long i = 0; i < n; i++)
		junk[i] = (char)(i * 13 + 5);
	FILE *f = fopen(p, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, (pg - 1) * n, SEEK_SET), 0);
	assert_int_equal(fwrite(junk, 1, (size_t)n, f), (size_t)n);
	assert_int_equal(fclose(f), 0);
	free(junk);
	free(root);
	free(size);
	free(sql);
}

/* Damage that opening does not see (a table a run only writes to) fails
 * the statement that meets it; the file is moved aside when the run
 * closes the database, so the next run starts from an empty state. */
static void
test_damage_found_later(void **state)
{
	struct t *t = *state;
	char *p = xasprintf("%s/cache.db", t->dir);

	put(t, "build:a", "k", "m", cache_run_begin(t->c, "up"));
	cache_close(t->c);	/* checkpointed: every table in the file */
	t->c = NULL;
	spoil_root_page(p, "run");
	capture_begin();
	t->c = cache_open(t->dir);
	char *out = capture_end();
	assert_non_null(t->c);
	assert_string_equal(out, "");
	free(out);
	assert_query(cache_db(t->c), "SELECT count(*) FROM node", "1");

	capture_begin();
	assert_true(cache_run_begin(t->c, "up") < 0);
	cache_close(t->c);
	t->c = NULL;
	out = capture_end();
	char *aside = names_with(t->dir, "cache.db.corrupt-");
	assert_int_not_equal(strlen(aside), 0);
	char *want = xasprintf("fusion: %s: cannot record run: database disk image is malformed", p);
	if (!strstr(out, want))
		fail_msg("want \"%s\" in \"%s\"", want, out);
	free(want);
	want = xasprintf("fusion: warning: %s is damaged (found during this run); moved it to "
	    "%s/%s: the next run starts from an empty state", p, t->dir, aside);
	if (!strstr(out, want))
		fail_msg("want \"%s\" in \"%s\"", want, out);

	/* the next open: empty, and it works */
	t->c = cache_open(t->dir);
	assert_non_null(t->c);
	assert_query(cache_db(t->c), "SELECT count(*) FROM node", "0");
	assert_true(cache_run_begin(t->c, "up") > 0);
	free(want);
	free(aside);
	free(out);
	free(p);
}

/* A torn WAL: SQLite drops the torn frame and keeps every transaction
 * committed before it; nothing is moved aside. */
static void
test_torn_wal_keeps_committed(void **state)
{
	struct t *t = *state;
	char *p = xasprintf("%s/cache.db", t->dir), *wal = xasprintf("%s-wal", p);
	char *db, *w;
	size_t n, wn;
	struct stat st;

	put(t, "build:a", "k", "m", 1);
	cache_close(t->c);	/* checkpointed: build:a is in the database file */
	t->c = cache_open(t->dir);
	put(t, "build:b", "k", "m", 1);	/* in the WAL only, for now */
	/* what a crash leaves: the files as they are, WAL and all */
	assert_int_equal(read_file(p, &db, &n), 0);
	assert_int_equal(read_file(wal, &w, &wn), 0);
	assert_true(wn > 32 + 24 + 4096);
	cache_close(t->c);
	t->c = NULL;
	assert_int_equal(write_file_atomic(p, db, n), 0);
	/* the last frame torn in its middle */
	assert_int_equal(write_file_atomic(wal, w, wn - 1000), 0);
	t->c = cache_open(t->dir);
	assert_non_null(t->c);
	assert_query(cache_db(t->c), "SELECT group_concat(id) FROM node", "build:a");
	char *aside = names_with(t->dir, "cache.db.corrupt-");
	assert_string_equal(aside, "");
	assert_int_equal(stat(p, &st), 0);
	free(aside);
	free(db);
	free(w);
	free(wal);
	free(p);
}

/* The database and its WAL are the user's alone, in a directory of theirs. */
static void
test_private(void **state)
{
	struct t *t = *state;
	char *p = xasprintf("%s/cache.db", t->dir), *wal = xasprintf("%s-wal", p);
	struct stat st;

	put(t, "build:a", "k", "m", 1);
	assert_int_equal(stat(t->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(wal, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* an old state, open to all, is closed when next opened */
	cache_close(t->c);
	assert_int_equal(chmod(t->dir, 0755), 0);
	assert_int_equal(chmod(p, 0644), 0);
	t->c = cache_open(t->dir);
	assert_int_equal(stat(t->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(wal);
	free(p);
}

static void
test_gc(void **state)
{
	struct t *t = *state;
	sqlite3 *db = cache_db(t->c);
	const char *const live[] = {"build:a", "release:a", NULL};
	struct fx_map rec;

	for (int i = 0; i < 5; i++) {
		int64_t run = cache_run_begin(t->c, "up");
		put(t, "build:a", "k", "m", run);
		put(t, "build:gone", "k", "m", run);
	}
	put(t, "release:a", "k", "m", 5);
	char *root = xasprintf("%s/ws", t->dir);
	assert_int_equal(mkdir_p(root, 0755), 0);
	struct fx_gc_counts k;
	assert_int_equal(cache_gc(t->c, live, root, 2, &k), 0);
	free(root);
	assert_int_equal(k.nodes, 1);	/* build:gone */
	assert_int_equal(k.files, 0);
	assert_int_equal(k.runs, 3);

	assert_int_equal(cache_load_records(t->c, &rec), 0);
	assert_int_equal(rec.n, 2);
	assert_non_null(map_get(&rec, "build:a"));
	assert_non_null(map_get(&rec, "release:a"));
	assert_null(map_get(&rec, "build:gone"));
	cache_free_records(&rec);
	/* the last two runs are kept, with their results only */
	assert_query(db, "SELECT group_concat(id, ',') FROM (SELECT id FROM run ORDER BY id)", "4,5");
	assert_query(db, "SELECT count(*) FROM run_node WHERE run_id NOT IN (4, 5)", "0");
	assert_query(db, "SELECT count(*) FROM run_node WHERE run_id IN (4, 5)", "5");
}

/*
 * gc drops the stat row and the text row of a file by one rule: only what
 * is surely gone. A path that cannot be looked at (a symlink loop on the
 * way: ELOOP) keeps both; a deleted one loses both.
 */
static void
test_gc_one_rule_for_files(void **state)
{
	struct t *t = *state;
	sqlite3 *db = cache_db(t->c);
	const char *const live[] = {NULL};
	char *root = xasprintf("%s/ws", t->dir);
	char *loop = xasprintf("%s/loop", root);
	struct fx_gc_counts k;

	assert_int_equal(mkdir_p(root, 0755), 0);
	assert_int_equal(symlink("loop", loop), 0);
	assert_int_equal(sqlite3_exec(db,
	    "INSERT INTO stat VALUES('loop/x', 1, 2, 3, 4, 5, zeroblob(16), 6),"
	    " ('gone/x', 1, 2, 3, 4, 5, zeroblob(16), 6);"
	    "INSERT INTO text VALUES('loop/x', 1, 2, 3, 4, 6, x'00'), ('gone/x', 1, 2, 3, 4, 6, x'00');",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(cache_gc(t->c, live, root, 10, &k), 0);
	assert_int_equal(k.files, 2);	/* gone/x: its stat row and its text row */
	assert_query(db, "SELECT group_concat(path) FROM stat", "loop/x");
	assert_query(db, "SELECT group_concat(path) FROM text", "loop/x");
	free(loop);
	free(root);
}

/* A delete that fails fails gc: nothing is reported as removed. */
static void
test_gc_failed_delete(void **state)
{
	struct t *t = *state;
	sqlite3 *db = cache_db(t->c);
	const char *const live[] = {NULL};
	struct fx_gc_counts k = {-7, -7, -7};

	put(t, "build:gone", "k", "m", 1);
	assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER keep BEFORE DELETE ON node"
	    " BEGIN SELECT RAISE(ABORT, 'read-only for this test'); END;", NULL, NULL, NULL), SQLITE_OK);
	capture_begin();
	int rc = cache_gc(t->c, live, t->dir, 10, &k);
	char *err = capture_end();
	assert_int_equal(rc, -1);
	assert_int_equal(k.nodes, -7);	/* untouched */
	assert_non_null(strstr(err, "read-only for this test"));
	free(err);
	assert_query(db, "SELECT count(*) FROM node", "1");
}

/*
 * WAL: while one connection holds a write transaction open (a node being
 * recorded), another process's reader (graph, status) reads the last
 * committed state at once instead of waiting.
 */
static void
test_wal_reader_not_blocked(void **state)
{
	struct t *t = *state;
	sqlite3 *db = cache_db(t->c);
	char *p = xasprintf("%s/cache.db", t->dir);
	sqlite3 *reader;

	put(t, "build:a", "k", "m", 1);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE; DELETE FROM node;"
	    " INSERT INTO node(id, key, output, output_hash) VALUES('build:b', 'k', 'o', 'h');",
	    NULL, NULL, NULL), SQLITE_OK);

	/* no busy timeout: a blocked read would fail with SQLITE_BUSY at once */
	assert_int_equal(sqlite3_open_v2(p, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_query(reader, "SELECT group_concat(id) FROM node", "build:a");

	/* and cache_open of the same directory reads too (it migrates nothing) */
	struct fx_cache *c2 = cache_open(t->dir);
	assert_non_null(c2);
	struct fx_map rec;
	assert_int_equal(cache_load_records(c2, &rec), 0);
	assert_int_equal(rec.n, 1);
	assert_non_null(map_get(&rec, "build:a"));
	cache_free_records(&rec);

	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	assert_query(reader, "SELECT group_concat(id) FROM node", "build:b");
	assert_int_equal(cache_load_records(c2, &rec), 0);
	assert_non_null(map_get(&rec, "build:b"));
	cache_free_records(&rec);
	cache_close(c2);
	assert_int_equal(sqlite3_close(reader), SQLITE_OK);
	free(p);
}

/*
 * WAL, the other way round: a reader in the middle of a read transaction
 * does not stop `up` from committing a node, and keeps its own snapshot.
 */
static void
test_wal_writer_not_blocked(void **state)
{
	struct t *t = *state;
	char *p = xasprintf("%s/cache.db", t->dir);
	sqlite3 *reader;

	put(t, "build:a", "k1", "m", 1);
	assert_int_equal(sqlite3_open_v2(p, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_query(reader, "SELECT key FROM node", "k1");

	/* fail at once rather than after the 10 s busy timeout */
	sqlite3_busy_timeout(cache_db(t->c), 0);
	put(t, "build:a", "k2", "m", 2);
	assert_query(reader, "SELECT key FROM node", "k1");
	assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	assert_query(reader, "SELECT key FROM node", "k2");
	assert_int_equal(sqlite3_close(reader), SQLITE_OK);
	free(p);
}

/* A key seen again (a profile switched and back) is found among the last
 * FX_KEYS_KEPT successes of its node, and only there. */
static void
test_keys_kept(void **state)
{
	struct t *t = *state;
	struct fx_record *r;
	char key[8];

	put(t, "build:a", "k1", "m1", 1);
	put(t, "build:a", "k2", "m2", 2);
	assert_int_equal(cache_find_key(t->c, "build:a", "k1", &r), 0);
	assert_non_null(r);
	assert_string_equal(r->output, "sha256:1");
	assert_string_equal(r->key, "k1");
	cache_record_free(r);
	assert_int_equal(cache_find_key(t->c, "build:b", "k1", &r), 0);
	assert_null(r);
	for (int i = 3; i <= 2 + FX_KEYS_KEPT; i++) {
		snprintf(key, sizeof key, "k%d", i);
		struct fx_record rec = {.id = "build:a", .key = key, .output = "o",
		    .output_hash = "h", .started = 1000 + i, .run_id = i};
		assert_int_equal(cache_put_success(t->c, &rec, "m", "ran"), 0);
	}
	assert_query(cache_db(t->c), "SELECT count(*) FROM node_key WHERE id='build:a'",
	    FX_KEYS_KEPT == 4 ? "4" : "?");
	assert_int_equal(cache_find_key(t->c, "build:a", "k1", &r), 0);
	assert_null(r);		/* the oldest went */
	assert_int_equal(cache_find_key(t->c, "build:a", "k3", &r), 0);
	assert_non_null(r);
	cache_record_free(r);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_schema),
		T(test_reopen_idempotent),
		T(test_keys_kept),
		T(test_newer_schema_refused),
		T(test_garbage_moved_aside),
		T(test_truncated_moved_aside),
		T(test_torn_wal_keeps_committed),
		T(test_damage_found_later),
		T(test_private),
		T(test_open_unwritable),
		T(test_records_round_trip),
		T(test_put_replaces),
		T(test_empty_records),
		T(test_manifest),
		T(test_forget),
		T(test_run_history),
		T(test_put_result),
		T(test_last_run_of),
		T(test_clear),
		T(test_gc),
		T(test_gc_one_rule_for_files),
		T(test_gc_failed_delete),
		T(test_wal_reader_not_blocked),
		T(test_wal_writer_not_blocked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
