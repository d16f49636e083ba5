/*
 * cache.h - the state database (.fusion/cache.db, SQLite).
 *
 * One database in WAL mode, so readers (graph, why, status) never wait for
 * a running `up`, and one transaction per finished node, so a crash loses at
 * most the nodes in flight. Records use the node id and paths relative to
 * the workspace root only, so a copied workspace keeps its state.
 *
 * Schema (version in PRAGMA user_version; cache_open migrates forward and
 * refuses a database newer than it knows):
 *
 *   stat(path, size, mtime_ns, ctime_ns, ino, mode, hash, scan_ns)
 *        the stat cache (statcache.h; its schema is statcache.c's)
 *   node(id, key, output, output_hash, manifest, started, seconds, log, run_id)
 *        per node, its last success: the key it ran with, what it produced,
 *        the serialised input manifest (for `why`), when and how long;
 *        no row = never succeeded (or forgotten by `down`)
 *   run(id, started, finished, command, status, ran, cached, cutoff, failed,
 *       skipped, fresh)
 *        the run history
 *   run_node(run_id, node, result, seconds)
 *        what each run did to each node it touched
 *   text(path, size, mtime_ns, ctime_ns, ino, scan_ns, body)      (version 2)
 *        the text of rule files (ignore files), kept like the stat cache
 *        keeps digests, so that a no-op run reads no file content
 *   node_key(id, key, output, output_hash, started, seconds, log, run_id)
 *        (version 3) the last FX_KEYS_KEPT successes of each node by key:
 *        a node whose key comes back (a profile switched and back) and
 *        whose kind keeps outputs apart (fx_kind.keyed) is fresh again
 */
#ifndef FUSION_CACHE_H
#define FUSION_CACHE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fusion/map.h"
#include "fusion/util.h"

struct sqlite3;
struct fx_cache;

#define FX_SCHEMA_VERSION 3
/* Successes kept per node in node_key. */
#define FX_KEYS_KEPT 4

/* The last success of a node. */
struct fx_record {
	char *id;
	char *key;
	char *output;
	char *output_hash;
	double started;		/* wall clock, seconds */
	double seconds;
	char *log;		/* relative to the state directory */
	int64_t run_id;
};

/*
 * Open (creating) STATEDIR/cache.db; the directory is prepared first
 * (statedir.h: 0700, writable or a clear error), the database and its WAL
 * are 0600. Returns NULL after reporting.
 *
 * A damaged database (garbage, truncated: SQLite's "not a database" or
 * "malformed") is moved aside to cache.db.corrupt-YYYYMMDD-HHMMSS with a
 * warning naming it, and an empty one is opened: the run goes on from an
 * empty state. A database whose schema is newer than FX_SCHEMA_VERSION is
 * refused ("upgrade fusion") and left exactly as it was.
 */
struct fx_cache *cache_open(const char *statedir);
/* Close; a database found damaged meanwhile is moved aside (as above). */
void cache_close(struct fx_cache *c);
struct sqlite3 *cache_db(struct fx_cache *c);
/* Run `sql` on `db`, reporting a failure as "fusion: WHO: message" (WHO:
 * the database's path, or what was using it). Returns 0 or -1. */
int cache_exec(struct sqlite3 *db, const char *who, const char *sql);
/* SQLite's message for db's last error, or "no space left on device" when
 * that is what it was (SQLite's own words for it vary). */
const char *cache_errmsg(struct sqlite3 *db);

/* Load every node record into `out` (id -> struct fx_record *), one query.
 * Returns 0, or -1 after reporting, with `out` left empty. */
int cache_load_records(struct fx_cache *c, struct fx_map *out);
void cache_free_records(struct fx_map *records);

/* The serialised manifest of a node's last success in *out (malloc'ed;
 * NULL when there is none). Returns 0, or -1 after reporting. */
int cache_manifest(struct fx_cache *c, const char *id, char **out);

/* The success of node `id` under `key` among the last few kept (node_key):
 * *out (free with cache_record_free), or NULL when there is none. Returns
 * 0, or -1 after reporting. */
int cache_find_key(struct fx_cache *c, const char *id, const char *key, struct fx_record **out);
void cache_record_free(struct fx_record *r);

/* Record a node's success (its node and node_key rows, and its run_node
 * row) in one transaction. */
int cache_put_success(struct fx_cache *c, const struct fx_record *r, const char *manifest,
    const char *result);
/* The text of a small rule file (an ignore file) at `relpath` (relative to
 * the workspace root), if its stat data `st` is what it was when the text
 * was recorded and the record is not racily clean (statcache.h): returns 1
 * and a malloc'ed NUL-terminated *body. 0: read the file, then put it. */
int cache_get_text(struct fx_cache *c, const char *relpath, const struct stat *st, char **body,
    size_t *len);
int cache_put_text(struct fx_cache *c, const char *relpath, const struct stat *st, int64_t scan_ns,
    const char *body, size_t len);

/* Record a node's result in this run without touching its last success. */
int cache_put_result(struct fx_cache *c, int64_t run_id, const char *id, const char *result,
    double seconds);
/* Forget a node's last success, so the next `up` runs it again. */
int cache_forget(struct fx_cache *c, const char *id);

int64_t cache_run_begin(struct fx_cache *c, const char *command);
struct fx_run_counts {
	int ran, cached, cutoff, failed, skipped, fresh;
	int interrupted;	/* stopped by a signal while running */
};
int cache_run_end(struct fx_cache *c, int64_t run_id, int status, const struct fx_run_counts *k);

/* The most recent run that ran node `id` or found it fresh after its
 * inputs moved (ran/cached/cutoff): its start time, or 0. */
double cache_last_run_of(struct fx_cache *c, const char *id);

/* `fusion doctor`: is STATEDIR/cache.db healthy (PRAGMA quick_check, a
 * schema this fusion knows)? Opens it read-only, migrates nothing.
 * Returns 0 healthy, 1 no database yet, -1 with the problem in *msg. */
int cache_check(const char *statedir, struct fx_buf *msg);

/* `fusion cache stats|clear|gc`; printing is the command's (cmd_cache.c). */
struct fx_cache_stats {
	const char *path;	/* the database file (the cache's own string) */
	int schema;		/* its schema version */
	int64_t nodes, stat_entries, runs, results;	/* rows; -1 if unreadable */
	long long bytes;	/* the database and its WAL */
};
int cache_stats(struct fx_cache *c, const char *statedir, struct fx_cache_stats *out);
/* `cache clear`: remove STATEDIR/cache.db and its WAL files without
 * opening them, so it works on a damaged database or a newer one too. */
int cache_remove(const char *statedir);

/* `fusion cache export|import FILE` (engine/export.c): the node records
 * (last successes: key, output, manifest), not the stat cache, the run
 * history or log paths, as an SQLite file of their own, for CI systems that
 * keep a directory between runs instead of running a shared cache. Export
 * replaces FILE atomically; import merges, FILE's records replacing this
 * database's records of the same nodes, in one transaction. Both report
 * their errors, set *count to the number of records, and return 0 or -1. */
int cache_export(struct fx_cache *c, const char *path, int *count);
/* Import reads FILE as data (engine/export.c): a regular file, SQLite's
 * defensive settings, `node` a table, rows and values bounded. When *stop
 * becomes non-zero (a signal) it stops, changes nothing and returns -3
 * without reporting. */
int cache_import(struct fx_cache *c, const char *path, int *count,
    const volatile sig_atomic_t *stop);
/* What gc removed: node records, stat and text rows, runs. */
struct fx_gc_counts {
	long nodes, files;
	int64_t runs;
};
/* Drop records of nodes not in `live` (NULL-terminated ids), and the stat
 * and text rows of files that are surely gone below `root` (path_gone: a
 * file that cannot be looked at stays); keep the last `keep_runs` runs.
 * Returns 0 with *out filled, or -1 after reporting (nothing counted). */
int cache_gc(struct fx_cache *c, const char *const *live, const char *root, int keep_runs,
    struct fx_gc_counts *out);

#endif
