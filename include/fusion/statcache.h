/*
 * statcache.h - the stat cache: (path, size, mtime_ns, ctime_ns, inode,
 * mode) -> content digest, kept in the SQLite table `stat` of the state
 * database (cache.h), so that an unchanged file is never read again.
 *
 * As git trusts its index, fusion trusts a file whose stat data is unchanged.
 * One exception, the "racily clean" entry (git's racy-git problem): a file
 * written in the same timestamp granule as the scan that recorded it could be
 * rewritten, same size, without its mtime moving. So an entry is trusted only
 * if the file's mtime lies in a whole second strictly before the second in
 * which the recording scan started; otherwise the file is re-hashed (and the
 * entry re-recorded, so the next scan trusts it). Whole seconds cover file
 * systems with coarse timestamps.
 *
 * Paths are relative to the workspace root, so records stay valid when the
 * workspace and its state directory are copied elsewhere together (a copy
 * has new inodes and ctimes, so it is re-hashed once, to the same digests).
 *
 * A lookup matches only if size, mtime_ns, ctime_ns, inode and st_mode are
 * all equal to the recorded ones. In memory a row is found by the 64-bit
 * XXH3 of its path, not by the path (statcache.c says why that is exact). The `hash` blob holds the 16 bytes of the
 * digest, hi then lo, each big-endian.
 *
 * Thread safety: after statcache_load(), statcache_lookup_batch() may be
 * called from many threads at once, without locks: it reads only the rows
 * loaded (and saved since). statcache_put()
 * may be called from many threads too (it locks one of several shards).
 * statcache_save() and statcache_gc() run alone. Nothing reaches SQLite
 * until statcache_save(), which writes every put since the last save in
 * one transaction (joining the caller's, if one is open).
 *
 * Speed: a load reads about 100,000 rows in a few tens of milliseconds,
 * most of it SQLite's own per-row work. When `db` is a file, the rows are
 * read on a connection of the cache's own (read-only, no per-call mutex,
 * the file mapped) that is closed once they are in; it sees what was
 * committed. Saving uses the caller's connection: opening that one with
 * SQLITE_OPEN_NOMUTEX (fusion uses it from one thread at a time) spares a
 * mutex round trip per bound value.
 */
#ifndef FUSION_STATCACHE_H
#define FUSION_STATCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fusion/hash.h"

struct sqlite3;
struct fx_statcache;

/* The SQL that creates or changes the `stat` table in step `version` of
 * the state database's schema (cache.c runs it with the other tables'
 * part of that step, in one transaction); "" when that step leaves the
 * table alone. */
const char *statcache_schema(int version);

/* Load every row of the `stat` table into memory. `db` may be NULL (an
 * empty, in-memory-only cache). Returns NULL after reporting on error. */
struct fx_statcache *statcache_load(struct sqlite3 *db);

/*
 * statcache_load() in two halves, so that reading the rows can overlap
 * other work. statcache_open() prepares the one query (a missing table is
 * reported here) and returns at once; statcache_fill() runs it. Until then
 * the cache holds nothing: lookups miss, puts are kept. walk_run() fills
 * a cache it is handed unfilled on one of its threads while the others read
 * directories, deferring lookups until the rows are in. statcache_save()
 * and statcache_gc() fill first. statcache_fill() must not run alongside
 * any other call on the cache (nor, for an in-memory `db`, which it then
 * reads through, alongside other use of `db`); it returns 0, or -1 with a
 * message in *err (free it; the rows read so far stay).
 */
struct fx_statcache *statcache_open(struct sqlite3 *db);
int statcache_fill(struct fx_statcache *sc, char **err);
bool statcache_filled(const struct fx_statcache *sc);

/* Start of the current scan (CLOCK_REALTIME, ns): entries put during this
 * scan are stamped with it. statcache_load() and statcache_open() set it to
 * "now": a stamp no later than the first read of any file is all the racy
 * rule needs. */
void statcache_set_scan_start(struct fx_statcache *sc, int64_t ns);

/*
 * Look paths up, as a walk does, a directory at a time: each query hits
 * when its path was recorded with the same stat data and the entry is not
 * racily clean (`racy` is set when the stat data matched but the entry was
 * not trusted). The table's memory for all of them is fetched before any is
 * resolved.
 */
struct fx_statq {
	const char *path;	/* in: the key, `len` bytes */
	uint32_t len;
	uint32_t mode;		/* in: the file's stat data (st_mode, ...) */
	int64_t size, mtime_ns, ctime_ns;
	uint64_t ino;
	fx_hash hash;		/* out: the digest, if hit */
	bool hit, racy;		/* out: trusted; matched but racily clean */
};
void statcache_lookup_batch(struct fx_statcache *sc, struct fx_statq *q, size_t n);

/* Record a digest computed now for the file with stat data `st` (kept in
 * memory, and seen by lookups only once saved). */
void statcache_put(struct fx_statcache *sc, const char *relpath,
    const struct stat *st, fx_hash h);

/* Write the entries put since the last save (or the load), in one
 * transaction; from then on lookups see them. Returns 0 or -1. */
int statcache_save(struct fx_statcache *sc);

/* Delete rows whose file is surely gone under `root` (path_gone: an lstat
 * per row, and a file that cannot be looked at stays; rows keyed by an
 * absolute path are checked as they are). Returns the number of rows
 * deleted, or -1. Puts not yet saved are left alone. */
long statcache_gc(struct fx_statcache *sc, const char *root);

/* Number of entries held: the rows loaded, and puts of paths not loaded
 * (counted per put until saved). */
uint64_t statcache_count(const struct fx_statcache *sc);

void statcache_free(struct fx_statcache *sc);

#endif
