/*
 * export.c - `fusion cache export|import FILE`: node records moved between
 * machines (see cache.h).
 *
 * The file is an SQLite database of its own, marked as ours by its
 * application_id, with one table: node(id, key, output, output_hash,
 * manifest, started, seconds), the last successes. Not the stat cache (its
 * inodes and mtimes mean nothing elsewhere), not the run history, not log
 * paths. Export writes a temporary file beside FILE and renames it; import
 * reads FILE read-only and writes every record in one transaction.
 *
 * A file to import may come from anywhere (a CI cache, a tarball), so it
 * is data, never code: it must be a regular file, SQLite reads it with its
 * defensive settings (no views, no triggers, no schema trusted), `node`
 * must be a plain table, and its size bounds the work (no sort, no
 * temporary storage; at most IMPORT_MAX_ROWS records of at most
 * IMPORT_MAX_VALUE bytes each). A signal stops it: nothing is changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/cache.h"
#include "fusion/diag.h"
#include "fusion/util.h"

#define EXPORT_APP_ID 0x66786e72	/* "fxnr": fusion node records */
#define EXPORT_VERSION 1
#define IMPORT_MAX_ROWS 1000000		/* records: far more than any catalog has nodes */
#define IMPORT_MAX_VALUE (64 << 20)	/* bytes of one value (a manifest) */

static const char export_schema[] =
    "PRAGMA application_id=1719168626; PRAGMA user_version=1;"
    "CREATE TABLE node(id TEXT PRIMARY KEY, key TEXT NOT NULL, output TEXT NOT NULL,"
    " output_hash TEXT NOT NULL, manifest TEXT, started REAL, seconds REAL) WITHOUT ROWID;";

_Static_assert(EXPORT_APP_ID == 1719168626, "the schema's application_id");

static int
db_fail(sqlite3 *db, const char *path, const char *what)
{
	fx_error("%s: %s: %s", path, what, sqlite3_errmsg(db));
	return -1;
}

/* Copy the seven columns of every row `from` yields into `to`'s statement,
 * at most `max` rows (-3: more). */
static int
copy_rows(sqlite3_stmt *from, sqlite3_stmt *to, int *count, int max)
{
	int rc;

	*count = 0;
	while ((rc = sqlite3_step(from)) == SQLITE_ROW) {
		if (*count >= max)
			return -3;
		for (int i = 0; i < 4; i++)
			if (sqlite3_column_type(from, i) != SQLITE_TEXT)
				return -2;	/* a record without id, key or output */
		for (int i = 0; i < 7; i++)
			sqlite3_bind_value(to, i + 1, sqlite3_column_value(from, i));
		if (sqlite3_step(to) != SQLITE_DONE)
			return -1;
		sqlite3_reset(to);
		(*count)++;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

static const char select_sql[] =
    "SELECT id, key, output, output_hash, manifest, started, seconds FROM node ORDER BY id";
/* Import reads the table as it lies: an ORDER BY of a table without the
 * primary key would sort in temporary storage. */
static const char import_sql[] =
    "SELECT id, key, output, output_hash, manifest, started, seconds FROM node";

int
cache_export(struct fx_cache *c, const char *path, int *count)
{
	char *tmp = xasprintf("%s.tmp-%ld", path, (long)getpid());
	sqlite3 *out = NULL;
	sqlite3_stmt *from = NULL, *to = NULL;
	int rc = -1;

	unlink(tmp);
	if (sqlite3_open_v2(tmp, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		db_fail(out, path, "cannot create");
		goto done;
	}
	if (sqlite3_exec(out, export_schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(out, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(out, path, "cannot write");
		goto done;
	}
	if (sqlite3_prepare_v2(cache_db(c), select_sql, -1, &from, NULL) != SQLITE_OK) {
		db_fail(cache_db(c), "the state database", "cannot read records");
		goto done;
	}
	if (sqlite3_prepare_v2(out, "INSERT INTO node VALUES(?,?,?,?,?,?,?)", -1, &to, NULL) !=
	    SQLITE_OK || copy_rows(from, to, count, INT32_MAX) != 0 ||
	    sqlite3_exec(out, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(out, path, "cannot write");
		goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(from);
	sqlite3_finalize(to);
	if (out && sqlite3_close(out) != SQLITE_OK && rc == 0)
		rc = db_fail(out, path, "cannot write");
	if (rc == 0 && rename(tmp, path) < 0) {
		fx_error("%s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

static int
pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* SQLite's progress handler: a signal interrupts the statement. */
static int
stopped(void *arg)
{
	const volatile sig_atomic_t *stop = arg;

	return stop && *stop;
}

/* A file to import must be a regular file: a FIFO or a device would block
 * or never end. Opened without blocking, then looked at. */
static int
regular_file(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		fx_error("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		fx_error("%s: not a regular file", path);
		return -1;
	}
	return 0;
}

/* Open FILE as data: read-only, defensive, no view or trigger, the schema
 * not trusted, values bounded, temporary storage in memory. */
static sqlite3 *
open_import(const char *path, const volatile sig_atomic_t *stop)
{
	sqlite3 *in = NULL;

	if (regular_file(path) < 0)
		return NULL;
	if (sqlite3_open_v2(path, &in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		db_fail(in, path, "cannot open");
		sqlite3_close(in);
		return NULL;
	}
	sqlite3_db_config(in, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(in, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(in, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_db_config(in, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(in, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_limit(in, SQLITE_LIMIT_LENGTH, IMPORT_MAX_VALUE);
	sqlite3_limit(in, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_exec(in, "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384", NULL, NULL, NULL);
	sqlite3_progress_handler(in, 1000, stopped, (void *)stop);
	return in;
}

/* `node` must be a table: a view would be a query of the file's choosing. */
static int
node_is_table(sqlite3 *in, const char *path)
{
	sqlite3_stmt *st;
	bool table = false;

	if (sqlite3_prepare_v2(in, "SELECT type FROM sqlite_schema WHERE name = 'node'", -1, &st,
	    NULL) != SQLITE_OK)
		return db_fail(in, path, "cannot read its schema");
	if (sqlite3_step(st) == SQLITE_ROW)
		table = strcmp((const char *)sqlite3_column_text(st, 0), "table") == 0;
	sqlite3_finalize(st);
	if (!table) {
		fx_error("%s: its \"node\" is not a table: not a file of `fusion cache export`",
		    path);
		return -1;
	}
	return 0;
}

int
cache_import(struct fx_cache *c, const char *path, int *count,
    const volatile sig_atomic_t *stop)
{
	sqlite3 *in = NULL, *db = cache_db(c);
	sqlite3_stmt *from = NULL, *to = NULL;
	int rc = -1;

	if (!(in = open_import(path, stop)))
		return -1;
	int app = pragma_int(in, "PRAGMA application_id");
	int version = pragma_int(in, "PRAGMA user_version");
	if (app != EXPORT_APP_ID) {
		fx_error("%s: not a file of `fusion cache export`", path);
		goto done;
	}
	if (version != EXPORT_VERSION) {
		fx_error("%s: export format %d; this fusion reads format %d", path, version,
		    EXPORT_VERSION);
		goto done;
	}
	if (node_is_table(in, path) < 0)
		goto done;
	if (sqlite3_prepare_v2(in, import_sql, -1, &from, NULL) != SQLITE_OK) {
		db_fail(in, path, "cannot read records");
		goto done;
	}
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, "the state database", "cannot write");
		goto done;
	}
	/* The log of another machine's run is not here: no log path. */
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO node(id, key, output, output_hash,"
	    " manifest, started, seconds, log, run_id) VALUES(?,?,?,?,?,?,?,'',NULL)", -1, &to,
	    NULL) != SQLITE_OK) {
		db_fail(db, "the state database", "cannot write");
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto done;
	}
	int copied = copy_rows(from, to, count, IMPORT_MAX_ROWS);
	if (copied == 0 && stop && *stop)
		copied = -4;
	if (copied != 0 || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		if (copied == -4 || (stop && *stop))
			rc = -3;	/* the caller knows why */
		else if (copied == -2)
			fx_error("%s: a record without its id, key or output", path);
		else if (copied == -3)
			fx_error("%s: more than %d records", path, IMPORT_MAX_ROWS);
		else
			db_fail(copied ? in : db, copied ? path : "the state database", "cannot import");
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(from);
	sqlite3_finalize(to);
	sqlite3_close(in);
	return rc;
}
