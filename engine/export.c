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
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/cache.h"
#include "fusion/diag.h"
#include "fusion/util.h"

#define EXPORT_APP_ID 0x66786e72	/* "fxnr": fusion node records */
#define EXPORT_VERSION 1

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

/* Copy the seven columns of every row `from` yields into `to`'s statement. */
static int
copy_rows(sqlite3_stmt *from, sqlite3_stmt *to, int *count)
{
	int rc;

	*count = 0;
	while ((rc = sqlite3_step(from)) == SQLITE_ROW) {
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
	    SQLITE_OK || copy_rows(from, to, count) != 0 ||
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

int
cache_import(struct fx_cache *c, const char *path, int *count)
{
	sqlite3 *in = NULL, *db = cache_db(c);
	sqlite3_stmt *from = NULL, *to = NULL;
	int rc = -1;

	if (access(path, R_OK) < 0) {
		fx_error("%s: %s", path, strerror(errno));
		return -1;
	}
	if (sqlite3_open_v2(path, &in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		db_fail(in, path, "cannot open");
		goto done;
	}
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
	if (sqlite3_prepare_v2(in, select_sql, -1, &from, NULL) != SQLITE_OK) {
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
	int copied = copy_rows(from, to, count);
	if (copied != 0 || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		if (copied == -2)
			fx_error("%s: a record without its id, key or output", path);
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
