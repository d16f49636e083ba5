/*
 * cache.c - the state database (see cache.h).
 *
 * A database that SQLite finds damaged (not a database at all, a page
 * missing or malformed) is never fatal: it is moved aside, named in a
 * warning, and the run goes on from an empty state, since every record in
 * it can be rebuilt by running the nodes again. Damage found when opening
 * (the header, the schema, and every page of the tables a run reads in
 * full) is handled at once; damage met later by some statement fails that
 * statement, and the file is moved aside when the run closes it. A torn
 * WAL needs nothing of ours: SQLite checksums its frames and drops a torn
 * tail, keeping every transaction committed before it.
 */
#include "fusion/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fusion/diag.h"
#include "fusion/statcache.h"
#include "fusion/statedir.h"
#include "fusion/util.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define KEYS_KEPT STR(FX_KEYS_KEPT)	/* FX_KEYS_KEPT, spelled for SQL */

/* The statements a run makes once a node: prepared once, kept (parsing
 * them each time was a tenth of the scheduler's own time). */
enum {
	Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_PUT_NODE, Q_PUT_RESULT, Q_PUT_KEY, Q_TRIM_KEYS,
	NQ
};

static const char *const kept_sql[NQ] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_PUT_NODE] = "INSERT OR REPLACE INTO node(id, key, output, output_hash,"
	    " manifest, started, seconds, log, run_id) VALUES(?,?,?,?,?,?,?,?,?)",
	[Q_PUT_RESULT] = "INSERT OR REPLACE INTO run_node(run_id, node, result,"
	    " seconds) VALUES(?,?,?,?)",
	[Q_PUT_KEY] = "INSERT OR REPLACE INTO node_key(id, key, output, output_hash,"
	    " started, seconds, log, run_id) VALUES(?,?,?,?,?,?,?,?)",
	[Q_TRIM_KEYS] = "DELETE FROM node_key WHERE id=?1 AND key NOT IN (SELECT key FROM"
	    " node_key WHERE id=?1 ORDER BY started DESC LIMIT " KEYS_KEPT ")",
};

struct fx_cache {
	sqlite3 *db;
	char *path;
	bool damaged;		/* a statement met a damaged file: moved aside at close */
	struct stat file;	/* what was opened, so that only that file is moved */
	sqlite3_stmt *kept[NQ];
};

/* Each entry migrates from version i to i+1, together with the stat
 * cache's part of that step (statcache_schema). Never edit a shipped
 * entry: add a new one, so every existing database walks the same path. */
static const char *const migrations[] = {
	/* 1: and the stat table, whose schema is statcache.c's */
	"CREATE TABLE node(id TEXT PRIMARY KEY, key TEXT NOT NULL, output TEXT NOT NULL,"
	" output_hash TEXT NOT NULL, manifest TEXT, started REAL, seconds REAL, log TEXT,"
	" run_id INTEGER) WITHOUT ROWID;"
	"CREATE TABLE run(id INTEGER PRIMARY KEY, started REAL, finished REAL, command TEXT,"
	" status INTEGER, ran INTEGER, cached INTEGER, cutoff INTEGER, failed INTEGER,"
	" skipped INTEGER, fresh INTEGER);"
	"CREATE TABLE run_node(run_id INTEGER NOT NULL, node TEXT NOT NULL, result TEXT NOT NULL,"
	" seconds REAL, PRIMARY KEY(run_id, node)) WITHOUT ROWID;"
	"CREATE INDEX run_node_by_node ON run_node(node, run_id);",
	/* 2: the text of rule files (ignore files), so a no-op run reads none */
	"CREATE TABLE text(path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
	" mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL,"
	" scan_ns INTEGER NOT NULL, body BLOB NOT NULL) WITHOUT ROWID;",
	/* 3: the last few successes of each node by key, so that switching
	 * profiles and back finds what the first one built */
	"CREATE TABLE node_key(id TEXT NOT NULL, key TEXT NOT NULL, output TEXT NOT NULL,"
	" output_hash TEXT NOT NULL, started REAL, seconds REAL, log TEXT, run_id INTEGER,"
	" PRIMARY KEY(id, key)) WITHOUT ROWID;"
	/* and how many nodes a signal stopped while they ran */
	"ALTER TABLE run ADD COLUMN interrupted INTEGER;",
};

_Static_assert(FX_NELEM(migrations) == FX_SCHEMA_VERSION, "one migration per schema version");

const char *
cache_errmsg(struct sqlite3 *db)
{
	int ec = sqlite3_errcode(db);

	/* SQLite says "database or disk is full", or "disk I/O error" when the
	 * WAL index could not grow: the system's errno tells. */
	if (ec == SQLITE_FULL || ((ec == SQLITE_IOERR || ec == SQLITE_CANTOPEN) &&
	    sqlite3_system_errno(db) == ENOSPC))
		return "no space left on device";
	return sqlite3_errmsg(db);
}

static bool
is_damage(int rc)
{
	return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

static int
fail(struct fx_cache *c, const char *what)
{
	c->damaged |= is_damage(sqlite3_errcode(c->db));
	fx_error("%s: %s: %s", c->path, what, cache_errmsg(c->db));
	return -1;
}

int
cache_exec(struct sqlite3 *db, const char *who, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	fx_error("%s: %s", who, cache_errmsg(db));
	return -1;
}

static int
exec_sql(struct fx_cache *c, const char *sql)
{
	if (cache_exec(c->db, c->path, sql) == 0)
		return 0;
	c->damaged |= is_damage(sqlite3_errcode(c->db));
	return -1;
}

/* Kept statement `q`, reset, prepared on first use; NULL on error (left
 * in the connection's error state). */
static sqlite3_stmt *
kept(struct fx_cache *c, int q)
{
	if (!c->kept[q] && sqlite3_prepare_v3(c->db, kept_sql[q], -1, SQLITE_PREPARE_PERSISTENT,
	    &c->kept[q], NULL) != SQLITE_OK)
		return NULL;
	sqlite3_reset(c->kept[q]);
	sqlite3_clear_bindings(c->kept[q]);
	return c->kept[q];
}

static void
drop_kept(struct fx_cache *c)
{
	for (int q = 0; q < NQ; q++) {
		sqlite3_finalize(c->kept[q]);
		c->kept[q] = NULL;
	}
}

/* Run kept statement q (no parameters). */
static int
exec_kept(struct fx_cache *c, int q)
{
	sqlite3_stmt *st = kept(c, q);
	int rc = st ? sqlite3_step(st) : sqlite3_errcode(c->db);

	if (st)
		sqlite3_reset(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	fx_error("%s: %s", c->path, cache_errmsg(c->db));
	c->damaged |= is_damage(sqlite3_errcode(c->db));
	return -1;
}

static int
user_version(struct fx_cache *c)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
migrate(struct fx_cache *c)
{
	int v = user_version(c);
	int want = (int)FX_NELEM(migrations);

	if (v < 0)
		return fail(c, "cannot read schema version");
	if (v == want)
		return 0;
	if (v > want) {
		fx_error("%s: schema version %d is newer than this fusion knows (%d): left as it is",
		    c->path, v, want);
		fx_note("hint: upgrade fusion, or run `fusion cache clear` to start over");
		return -1;
	}
	if (exec_sql(c, "BEGIN IMMEDIATE") < 0)
		return -1;
	/* Re-read under the write lock: another process may have migrated. */
	for (v = user_version(c); v < want; v++) {
		char pragma[64];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", v + 1);
		if (exec_sql(c, statcache_schema(v + 1)) < 0 || exec_sql(c, migrations[v]) < 0 ||
		    exec_sql(c, pragma) < 0) {
			exec_sql(c, "ROLLBACK");
			return -1;
		}
	}
	return exec_sql(c, "COMMIT");
}

/* Run sql without reporting: SQLite's result code. */
static int
quiet_sql(struct fx_cache *c, const char *sql)
{
	return sqlite3_exec(c->db, sql, NULL, NULL, NULL);
}

/* The database and its WAL are the user's alone (statedir.h); SQLite gives
 * a new WAL the mode of the database, an old one is closed here. SQLite
 * follows links, so none of the three may be one (statedir.h): -1, reported. */
static int
private_files(struct fx_cache *c)
{
	int fd = statedir_open(c->path, O_RDWR);

	if (fd < 0 && errno == ELOOP)
		return -1;	/* named by statedir_open */
	if (fd >= 0) {
		fstat(fd, &c->file);
		close(fd);
	}
	for (int i = 0; i < 2; i++) {
		char *p = xasprintf("%s%s", c->path, i ? "-shm" : "-wal");
		struct stat st;
		int rc = lstat(p, &st);
		if (rc == 0 && S_ISLNK(st.st_mode)) {
			fx_error("%s: a symbolic link in the state directory: fusion does not "
			    "follow links there (remove it)", p);
			free(p);
			return -1;
		}
		if (rc == 0 && (st.st_mode & 077) && (fd = open(p, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC)) >= 0) {
			fchmod(fd, 0600);
			close(fd);
		}
		free(p);
	}
	return 0;
}

/*
 * Open c->path. 0: ready; -1: an error, reported; 1: the file is damaged
 * (not reported; SQLite's words in *why). A database from a newer fusion is
 * refused before anything is written to it, and closed without the
 * checkpoint a last connection makes.
 */
static int
open_db(struct fx_cache *c, char **why)
{
	if (private_files(c) < 0)
		return -1;
	if (sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return fail(c, "cannot open");
	/* Readers must not fail while `up` commits; waits are short (one node). */
	sqlite3_busy_timeout(c->db, 10000);
	int v = user_version(c);
	if (v > FX_SCHEMA_VERSION) {
		sqlite3_db_config(c->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
		return migrate(c);	/* refuses it */
	}
	int rc = v < 0 ? sqlite3_errcode(c->db) : quiet_sql(c, "PRAGMA journal_mode=WAL;"
	    " PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;"
	    " SELECT count(*) FROM sqlite_master;");
	if (rc == SQLITE_OK) {
		if (migrate(c) < 0)
			return -1;
		/* Every page of the tables a run reads in full: cheap (they are
		 * read next anyway), and a damaged page shows here. */
		rc = quiet_sql(c, "SELECT count(*) FROM node; SELECT count(*) FROM stat;");
	}
	if (rc == SQLITE_OK)
		return 0;
	if (is_damage(rc)) {
		*why = xstrdup(sqlite3_errmsg(c->db));
		return 1;
	}
	return fail(c, "cannot open");
}

/* A free name beside the database for a damaged copy. */
static char *
aside_name(const char *path)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	struct stat st;

	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime_r(&t, &tm));
	char *p = xasprintf("%s.corrupt-%s", path, stamp);
	for (int i = 2; lstat(p, &st) == 0; i++) {
		free(p);
		p = xasprintf("%s.corrupt-%s.%d", path, stamp, i);
	}
	return p;
}

/* Close the damaged database and move it (and its WAL) aside; the WAL
 * index is SQLite's scratch, dropped. Another fusion may have done so
 * already: only the file that was opened is moved. */
static void
move_aside(struct fx_cache *c, const char *why, const char *then)
{
	struct stat st;

	sqlite3_db_config(c->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
	drop_kept(c);
	sqlite3_close(c->db);
	c->db = NULL;
	c->damaged = false;
	if (stat(c->path, &st) < 0 || st.st_ino != c->file.st_ino || st.st_dev != c->file.st_dev)
		return;
	char *dest = aside_name(c->path);
	char *wal = xasprintf("%s-wal", c->path), *shm = xasprintf("%s-shm", c->path);
	char *dwal = xasprintf("%s-wal", dest);
	if (rename(c->path, dest) < 0) {
		fx_error("%s is damaged (%s) and cannot be moved aside: %s", c->path, why,
		    strerror(errno));
		fx_note("hint: `fusion cache clear` removes it");
	} else {
		/* A WAL with frames goes along (it is part of the evidence); an
		 * empty one, as opening makes, does not. */
		if (stat(wal, &st) == 0 && st.st_size > 0 && rename(wal, dwal) < 0)
			fx_debug("%s: %s", wal, strerror(errno));
		unlink(wal);
		unlink(shm);
		fx_warn("%s is damaged (%s); moved it to %s: %s", c->path, why, dest, then);
	}
	free(dest);
	free(wal);
	free(shm);
	free(dwal);
}

struct fx_cache *
cache_open(const char *statedir)
{
	struct fx_cache *c = xcalloc(1, sizeof(*c));
	char *why = NULL;
	int rc = -1;

	if (statedir_prepare(statedir) == 0) {
		c->path = path_join(statedir, "cache.db");
		rc = open_db(c, &why);
	}
	if (rc == 1) {
		move_aside(c, why, "starting from an empty state (every node runs once)");
		free(why);
		why = NULL;
		rc = open_db(c, &why);
		if (rc == 1)
			fx_error("%s: cannot open: %s", c->path, why);
		free(why);
	}
	if (rc != 0) {
		cache_close(c);
		return NULL;
	}
	return c;
}

void
cache_close(struct fx_cache *c)
{
	if (!c)
		return;
	if (c->damaged)
		move_aside(c, "found during this run", "the next run starts from an empty state");
	drop_kept(c);
	sqlite3_close(c->db);
	free(c->path);
	free(c);
}

sqlite3 *
cache_db(struct fx_cache *c)
{
	return c->db;
}

static char *
col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return xstrdup(s ? (const char *)s : "");
}

int
cache_load_records(struct fx_cache *c, struct fx_map *out)
{
	sqlite3_stmt *st;
	int rc;

	map_init(out, 256);
	if (sqlite3_prepare_v2(c->db, "SELECT id, key, output, output_hash, started, seconds,"
	    " log, run_id FROM node", -1, &st, NULL) != SQLITE_OK)
		return fail(c, "cannot read records");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct fx_record *r = xcalloc(1, sizeof(*r));
		r->id = col_str(st, 0);
		r->key = col_str(st, 1);
		r->output = col_str(st, 2);
		r->output_hash = col_str(st, 3);
		r->started = sqlite3_column_double(st, 4);
		r->seconds = sqlite3_column_double(st, 5);
		r->log = col_str(st, 6);
		r->run_id = sqlite3_column_int64(st, 7);
		map_put(out, r->id, r);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	cache_free_records(out);	/* no half set of records: the caller owns none */
	return fail(c, "cannot read records");
}

static void
record_free(struct fx_record *r)
{
	free(r->id);
	free(r->key);
	free(r->output);
	free(r->output_hash);
	free(r->log);
	free(r);
}

void
cache_free_records(struct fx_map *records)
{
	for (size_t i = 0; i < records->cap; i++)
		if (records->keys[i])
			record_free(records->vals[i]);
	map_free(records);
}

int
cache_manifest(struct fx_cache *c, const char *id, char **out)
{
	sqlite3_stmt *st;

	*out = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT manifest FROM node WHERE id=?", -1, &st, NULL)
	    != SQLITE_OK)
		return fail(c, "cannot read a node's inputs");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*out = col_str(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(c, "cannot read a node's inputs");
	return 0;
}

static int
put_result(struct fx_cache *c, int64_t run_id, const char *id, const char *result,
    double seconds)
{
	sqlite3_stmt *st = kept(c, Q_PUT_RESULT);

	if (!st)
		return fail(c, "cannot record result");
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, result, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 4, seconds);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : fail(c, "cannot record result");
}

/* The success by key too, keeping the last FX_KEYS_KEPT keys of the node.
 * Returns SQLITE_DONE or an error code. */
static int
put_key(struct fx_cache *c, const struct fx_record *r)
{
	sqlite3_stmt *st = kept(c, Q_PUT_KEY), *trim = kept(c, Q_TRIM_KEYS);
	int rc;

	if (!st || !trim)
		return SQLITE_ERROR;
	sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->output, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->output_hash, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 5, r->started);
	sqlite3_bind_double(st, 6, r->seconds);
	sqlite3_bind_text(st, 7, r->log ? r->log : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, r->run_id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return rc;
	sqlite3_bind_text(trim, 1, r->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(trim);
	sqlite3_reset(trim);
	return rc;
}

int
cache_find_key(struct fx_cache *c, const char *id, const char *key, struct fx_record **out)
{
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT output, output_hash, started, seconds, log, run_id"
	    " FROM node_key WHERE id=? AND key=?", -1, &st, NULL) != SQLITE_OK)
		return fail(c, "cannot read records");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct fx_record *r = xcalloc(1, sizeof(*r));
		r->id = xstrdup(id);
		r->key = xstrdup(key);
		r->output = col_str(st, 0);
		r->output_hash = col_str(st, 1);
		r->started = sqlite3_column_double(st, 2);
		r->seconds = sqlite3_column_double(st, 3);
		r->log = col_str(st, 4);
		r->run_id = sqlite3_column_int64(st, 5);
		*out = r;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return 0;
	return fail(c, "cannot read records");
}

void
cache_record_free(struct fx_record *r)
{
	if (r)
		record_free(r);
}

int
cache_put_success(struct fx_cache *c, const struct fx_record *r, const char *manifest,
    const char *result)
{
	int rc;

	if (exec_kept(c, Q_BEGIN) < 0)
		return -1;
	sqlite3_stmt *st = kept(c, Q_PUT_NODE);
	if (!st) {
		fail(c, "cannot record node");
		exec_kept(c, Q_ROLLBACK);
		return -1;
	}
	sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->output, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->output_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, manifest, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 6, r->started);
	sqlite3_bind_double(st, 7, r->seconds);
	sqlite3_bind_text(st, 8, r->log ? r->log : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, r->run_id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		rc = put_key(c, r);
	if (rc != SQLITE_DONE || put_result(c, r->run_id, r->id, result, r->seconds) < 0) {
		if (rc != SQLITE_DONE)
			fail(c, "cannot record node");
		exec_kept(c, Q_ROLLBACK);
		return -1;
	}
	return exec_kept(c, Q_COMMIT);
}

/* Parameters 1-5 of both text statements: the path and its stat data. */
static void
bind_stat(sqlite3_stmt *q, const char *relpath, const struct stat *st)
{
	sqlite3_bind_text(q, 1, relpath, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (int64_t)st->st_size);
	sqlite3_bind_int64(q, 3, ts_ns(st->st_mtim));
	sqlite3_bind_int64(q, 4, ts_ns(st->st_ctim));
	sqlite3_bind_int64(q, 5, (int64_t)st->st_ino);
}

/* The stat cache's rule (statcache.h), racily clean entries included: the
 * mtime must lie in a whole second before the one the text was read in. */
int
cache_get_text(struct fx_cache *c, const char *relpath, const struct stat *st, char **body,
    size_t *len)
{
	sqlite3_stmt *q;
	int found = 0;

	if (sqlite3_prepare_v2(c->db, "SELECT body FROM text WHERE path=? AND size=? AND"
	    " mtime_ns=? AND ctime_ns=? AND ino=? AND mtime_ns/1000000000 < scan_ns/1000000000",
	    -1, &q, NULL) != SQLITE_OK)
		return 0;
	bind_stat(q, relpath, st);
	if (sqlite3_step(q) == SQLITE_ROW) {
		*len = (size_t)sqlite3_column_bytes(q, 0);
		*body = xmalloc(*len + 1);
		if (*len)
			memcpy(*body, sqlite3_column_blob(q, 0), *len);
		(*body)[*len] = '\0';
		found = 1;
	}
	sqlite3_finalize(q);
	return found;
}

int
cache_put_text(struct fx_cache *c, const char *relpath, const struct stat *st, int64_t scan_ns,
    const char *body, size_t len)
{
	sqlite3_stmt *q;

	if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO text(path, size, mtime_ns, ctime_ns,"
	    " ino, scan_ns, body) VALUES(?,?,?,?,?,?,?)", -1, &q, NULL) != SQLITE_OK)
		return fail(c, "cannot record a rule file");
	bind_stat(q, relpath, st);
	sqlite3_bind_int64(q, 6, scan_ns);
	sqlite3_bind_blob(q, 7, body, (int)len, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : fail(c, "cannot record a rule file");
}

int
cache_put_result(struct fx_cache *c, int64_t run_id, const char *id, const char *result,
    double seconds)
{
	return put_result(c, run_id, id, result, seconds);
}

int
cache_forget(struct fx_cache *c, const char *id)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(c->db, "DELETE FROM node WHERE id=?", -1, &st, NULL) != SQLITE_OK)
		return fail(c, "cannot forget node");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(c, "cannot forget node");
}

int64_t
cache_run_begin(struct fx_cache *c, const char *command)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(c->db, "INSERT INTO run(started, command) VALUES(?,?)", -1, &st,
	    NULL) != SQLITE_OK)
		return fail(c, "cannot record run");
	sqlite3_bind_double(st, 1, now_wall());
	sqlite3_bind_text(st, 2, command, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(c, "cannot record run");
	return sqlite3_last_insert_rowid(c->db);
}

int
cache_run_end(struct fx_cache *c, int64_t run_id, int status, const struct fx_run_counts *k)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(c->db, "UPDATE run SET finished=?, status=?, ran=?, cached=?,"
	    " cutoff=?, failed=?, skipped=?, fresh=?, interrupted=? WHERE id=?", -1, &st,
	    NULL) != SQLITE_OK)
		return fail(c, "cannot record run");
	sqlite3_bind_double(st, 1, now_wall());
	sqlite3_bind_int(st, 2, status);
	sqlite3_bind_int(st, 3, k->ran);
	sqlite3_bind_int(st, 4, k->cached);
	sqlite3_bind_int(st, 5, k->cutoff);
	sqlite3_bind_int(st, 6, k->failed);
	sqlite3_bind_int(st, 7, k->skipped);
	sqlite3_bind_int(st, 8, k->fresh);
	sqlite3_bind_int(st, 9, k->interrupted);
	sqlite3_bind_int64(st, 10, run_id);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(c, "cannot record run");
}

double
cache_last_run_of(struct fx_cache *c, const char *id)
{
	sqlite3_stmt *st;
	double t = 0;

	if (sqlite3_prepare_v2(c->db, "SELECT max(r.started) FROM run_node n JOIN run r"
	    " ON r.id=n.run_id WHERE n.node=? AND n.result IN ('ran','cached','cutoff')", -1, &st,
	    NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		t = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return t;
}

static int64_t
count(struct fx_cache *c, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static long long
file_size(const char *dir, const char *name)
{
	char *p = path_join(dir, name);
	struct stat st;
	long long n = stat(p, &st) == 0 ? (long long)st.st_size : 0;
	free(p);
	return n;
}

int
cache_stats(struct fx_cache *c, const char *statedir, struct fx_cache_stats *out)
{
	*out = (struct fx_cache_stats){
		.path = c->path,
		.schema = user_version(c),
		.nodes = count(c, "SELECT count(*) FROM node"),
		.stat_entries = count(c, "SELECT count(*) FROM stat"),
		.runs = count(c, "SELECT count(*) FROM run"),
		.results = count(c, "SELECT count(*) FROM run_node"),
		.bytes = file_size(statedir, "cache.db") + file_size(statedir, "cache.db-wal"),
	};
	return 0;
}

int
cache_remove(const char *statedir)
{
	static const char *const names[] = {"cache.db", "cache.db-wal", "cache.db-shm"};
	int rc = 0;

	for (size_t i = 0; i < FX_NELEM(names); i++) {
		char *p = path_join(statedir, names[i]);
		if (unlink(p) < 0 && errno != ENOENT) {
			fx_error("%s: cannot remove: %s", p, strerror(errno));
			rc = -1;
		}
		free(p);
	}
	return rc;
}

/* Forget the nodes not in `live`: how many, or -1 after reporting. */
static long
gc_nodes(struct fx_cache *c, const char *const *live)
{
	struct fx_map keep = {0};
	struct fx_strv dead = {0};
	sqlite3_stmt *st;

	map_init(&keep, 64);
	for (size_t i = 0; live[i]; i++)
		map_put(&keep, live[i], (void *)live[i]);
	if (sqlite3_prepare_v2(c->db, "SELECT id FROM node", -1, &st, NULL) != SQLITE_OK) {
		map_free(&keep);
		return fail(c, "gc");
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		if (id && !map_get(&keep, id))
			strv_push(&dead, id);
	}
	sqlite3_finalize(st);
	map_free(&keep);
	long n = rc == SQLITE_DONE ? 0 : fail(c, "gc");
	for (size_t i = 0; i < dead.n && n >= 0; i++)
		n = cache_forget(c, dead.v[i]) < 0 ? -1 : n + 1;
	strv_free(&dead);
	return n;
}

/* Drop the recorded text of rule files that are surely gone, by the stat
 * cache's rule (path_gone): how many, or -1 after reporting. */
static long
gc_texts(struct fx_cache *c, const char *root)
{
	struct fx_strv gone = {0};
	sqlite3_stmt *q;
	long n = 0;
	int rc;

	if (sqlite3_prepare_v2(c->db, "SELECT path FROM text", -1, &q, NULL) != SQLITE_OK)
		return fail(c, "gc");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *rel = (const char *)sqlite3_column_text(q, 0);
		char *p = rel ? path_join(root, rel) : NULL;
		if (p && path_gone(p))
			strv_push(&gone, rel);
		free(p);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		n = fail(c, "gc");
	else if (gone.n && sqlite3_prepare_v2(c->db, "DELETE FROM text WHERE path=?", -1, &q,
	    NULL) != SQLITE_OK)
		n = fail(c, "gc");
	for (size_t i = 0; i < gone.n && n >= 0; i++) {
		sqlite3_bind_text(q, 1, gone.v[i], -1, SQLITE_STATIC);
		n = sqlite3_step(q) == SQLITE_DONE ? n + 1 : fail(c, "gc");
		sqlite3_reset(q);
	}
	if (gone.n)
		sqlite3_finalize(q);
	strv_free(&gone);
	return n;
}

int
cache_gc(struct fx_cache *c, const char *const *live, const char *root, int keep_runs,
    struct fx_gc_counts *out)
{
	char sql[256];
	long nodes = gc_nodes(c, live);
	if (nodes < 0)
		return -1;
	struct fx_statcache *sc = statcache_load(c->db);
	long files = sc ? statcache_gc(sc, root) : -1;
	statcache_free(sc);
	long texts = files >= 0 ? gc_texts(c, root) : -1;
	if (texts < 0)
		return -1;
	snprintf(sql, sizeof sql, "DELETE FROM run WHERE id <= (SELECT max(id) FROM run) - %d;"
	    " DELETE FROM run_node WHERE run_id NOT IN (SELECT id FROM run);"
	    " DELETE FROM node_key WHERE id NOT IN (SELECT id FROM node);", keep_runs);
	int64_t before = count(c, "SELECT count(*) FROM run");
	if (exec_sql(c, sql) < 0 || exec_sql(c, "VACUUM") < 0)
		return -1;
	files += texts;
	int64_t after = count(c, "SELECT count(*) FROM run");
	*out = (struct fx_gc_counts){nodes, files, before - after};
	return 0;
}

int
cache_check(const char *statedir, struct fx_buf *msg)
{
	char *path = path_join(statedir, "cache.db");
	struct stat st;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int rc = -1;

	if (stat(path, &st) < 0) {
		free(path);
		return 1;
	}
	/* Read-only and without migrating: a check changes nothing. */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		buf_printf(msg, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
	} else if (sqlite3_busy_timeout(db, 10000), sqlite3_prepare_v2(db, "PRAGMA quick_check",
	    -1, &q, NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW) {
		buf_printf(msg, "%s: %s", path, sqlite3_errmsg(db));
	} else if (strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0) {
		buf_printf(msg, "%s: quick_check: %s", path, sqlite3_column_text(q, 0));
	} else {
		sqlite3_finalize(q);
		q = NULL;
		int v = -1;
		if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
		    sqlite3_step(q) == SQLITE_ROW)
			v = sqlite3_column_int(q, 0);
		if (v > FX_SCHEMA_VERSION)
			buf_printf(msg, "%s has schema %d, newer than this fusion's %d", path, v,
			    FX_SCHEMA_VERSION);
		else
			rc = 0;
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	free(path);
	return rc;
}
