/*
 * statcache.c - the stat cache (see statcache.h).
 *
 * The loaded rows sit in one dense array, found through an open-addressing
 * table of indexes. Nothing changes that array while a scan runs, so
 * lookups take no lock. Puts go to a pending array under a mutex and join
 * the table when saved.
 *
 * A row in memory holds the 64-bit XXH3 of its path, not the path: 100,000
 * rows are 6.4 MB, where the paths alone took half as much again. A wrong
 * match would need two paths with one hash, and then the file at the one
 * to have the other's inode, ctime, mtime, size and mode: that is the same
 * inode (a hard link), whose content, and so digest, is the same anyway.
 * The paths stay in the database, where saving and collecting need them.
 */
#include "fusion/statcache.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "fusion/arena.h"
#include "fusion/cache.h"
#include "fusion/diag.h"
#include "fusion/util.h"

#define SHARDS 8

/* A row: the key is the XXH3 of its path; racy is fixed when it is
 * recorded (the racy rule compares the file's mtime with that scan). */
struct ent {
	uint64_t key;
	int64_t size, mtime, ctime;
	uint64_t ino;
	uint32_t mode, racy;
	fx_hash h;
};

struct entv {
	struct ent *v;
	size_t n, cap;
};

/* A put waiting to be saved: a row with its path and its scan. */
struct put {
	const char *path;
	uint32_t len, mode;
	int64_t size, mtime, ctime, scan;
	uint64_t ino;
	fx_hash h;
};

struct putv {
	struct put *v;
	size_t n, cap;
};

/*
 * Puts wait here until saved. A thread keeps to one shard of several, each
 * with its own lock, so that threads hashing flat out seldom meet.
 */
struct shard {
	pthread_mutex_t mu;	/* guards what follows */
	struct putv pend;
	struct fx_arena strs;
	uint64_t pnew;		/* puts of paths not loaded */
	char pad[64];		/* keeps two shards off one cache line */
};

struct fx_statcache {
	sqlite3 *db;
	sqlite3 *rdb;		/* our own connection for the load, or NULL */
	sqlite3_stmt *query;	/* the load, until statcache_fill() runs it */
	struct entv ents;
	uint32_t *slots;	/* 1-based indexes into ents; 0 is empty */
	size_t mask;
	_Atomic int64_t scan_ns;
	struct shard shards[SHARDS];
};

/* The stat table's part of each step of the state database's schema
 * (cache.c's migrations): index v - 1 takes version v - 1 to v. */
static const char *const schema[] = {
	"CREATE TABLE stat(path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
	" mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL,"
	" mode INTEGER NOT NULL, hash BLOB NOT NULL, scan_ns INTEGER NOT NULL) WITHOUT ROWID;",
};

const char *
statcache_schema(int version)
{
	return version >= 1 && (size_t)version <= FX_NELEM(schema) ? schema[version - 1] : "";
}

/* Pending entries gathered for saving. */
struct pref {
	const struct put *p;
	uint32_t shard, idx;	/* put order within a shard: later wins */
};

/* The puts to save: pointers into the shards' pending arrays (a copy of
 * every entry would double the largest allocation of a cold scan). */
struct pending {
	const struct put **v;
	size_t n;
};

static struct ent *
entv_push(struct entv *ev)
{
	ev->v = xgrowarray(ev->v, &ev->cap, ev->n + 1, sizeof(*ev->v));
	return &ev->v[ev->n++];
}

static struct put *
putv_push(struct putv *pv)
{
	pv->v = xgrowarray(pv->v, &pv->cap, pv->n + 1, sizeof(*pv->v));
	return &pv->v[pv->n++];
}

static uint64_t
key_of(const char *path, size_t len)
{
	return XXH3_64bits(path, len);
}

/* Whole seconds, rounded down also before 1970. */
static int64_t
ns_sec(int64_t ns)
{
	int64_t s = ns / 1000000000;
	return ns % 1000000000 < 0 ? s - 1 : s;
}

/* The trust the racy rule gives a file with this mtime recorded in a scan
 * that started at scan_ns: none if the mtime is not in a whole second
 * before the scan's. */
static uint32_t
racy_at(int64_t mtime, int64_t scan_ns)
{
	return ns_sec(mtime) >= ns_sec(scan_ns);
}

static void
slot_insert(struct fx_statcache *sc, uint64_t key, uint32_t idx)
{
	size_t i = (size_t)key & sc->mask;

	while (sc->slots[i])
		i = (i + 1) & sc->mask;
	sc->slots[i] = idx;
}

/* Rebuild the slots for every entry, at most half full. */
static void
reindex(struct fx_statcache *sc)
{
	size_t cap = 16;

	while (cap < 2 * sc->ents.n)
		cap *= 2;
	free(sc->slots);
	sc->slots = xcalloc(cap, sizeof(*sc->slots));
	sc->mask = cap - 1;
	for (size_t i = 0; i < sc->ents.n; i++)
		slot_insert(sc, sc->ents.v[i].key, (uint32_t)i + 1);
}

static struct ent *
find(const struct fx_statcache *sc, uint64_t key)
{
	if (!sc->slots)
		return NULL;
	for (size_t i = (size_t)key & sc->mask; sc->slots[i]; i = (i + 1) & sc->mask) {
		struct ent *e = &sc->ents.v[sc->slots[i] - 1];
		if (e->key == key)
			return e;
	}
	return NULL;
}

/* Messages name the database file, as cache.c's do. */
static const char *
who(sqlite3 *db)
{
	const char *f = sqlite3_db_filename(db, "main");
	return f && *f ? f : "stat cache";
}

static void
db_error(sqlite3 *db)
{
	fx_error("%s: stat cache: %s", who(db), cache_errmsg(db));
}

/* Run the query statcache_open() prepared. The rows come in path order,
 * which the walk's lookups, a directory at a time, also follow. */
static int
fill_rows(struct fx_statcache *sc, char **err)
{
	sqlite3_stmt *st = sc->query;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(st, 0);
		int len = sqlite3_column_bytes(st, 0);
		const unsigned char *blob = sqlite3_column_blob(st, 6);
		if (!path || sqlite3_column_bytes(st, 6) != 16 || !blob || len > INT32_MAX)
			continue;	/* not ours to judge: such a row just never matches */
		struct ent *e = entv_push(&sc->ents);
		e->key = key_of(path, (size_t)len);
		e->size = sqlite3_column_int64(st, 1);
		e->mtime = sqlite3_column_int64(st, 2);
		e->ctime = sqlite3_column_int64(st, 3);
		e->ino = (uint64_t)sqlite3_column_int64(st, 4);
		e->mode = (uint32_t)sqlite3_column_int64(st, 5);
		e->h = hash_unpack(blob);
		e->racy = racy_at(e->mtime, sqlite3_column_int64(st, 7));
	}
	if (rc != SQLITE_DONE)
		*err = xstrdup(cache_errmsg(sc->rdb ? sc->rdb : sc->db));
	sqlite3_finalize(st);
	sc->query = NULL;
	sqlite3_close(sc->rdb);
	sc->rdb = NULL;
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * The rows are read on a connection of our own when the database is a
 * file: read-only, without SQLite's per-call mutex (one thread uses it),
 * and mapping the file rather than copying it page by page. It also leaves
 * the caller's connection to the caller while another thread reads. An
 * in-memory database has no second way in: then the caller's is used.
 */
static sqlite3 *
reader(sqlite3 *db)
{
	const char *file = sqlite3_db_filename(db, "main");
	sqlite3 *r = NULL;

	if (!file || !file[0])
		return NULL;
	if (sqlite3_open_v2(file, &r, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		sqlite3_close(r);
		return NULL;
	}
	sqlite3_busy_timeout(r, 5000);
	sqlite3_exec(r, "PRAGMA mmap_size=1073741824", NULL, NULL, NULL);
	return r;
}

struct fx_statcache *
statcache_open(struct sqlite3 *db)
{
	struct fx_statcache *sc = xcalloc(1, sizeof(*sc));

	for (int i = 0; i < SHARDS; i++)
		pthread_mutex_init(&sc->shards[i].mu, NULL);
	sc->db = db;
	atomic_init(&sc->scan_ns, now_ns());
	sc->rdb = db ? reader(db) : NULL;
	sqlite3 *q = sc->rdb ? sc->rdb : db;
	if (q && sqlite3_prepare_v2(q,
	    "SELECT path, size, mtime_ns, ctime_ns, ino, mode, hash, scan_ns FROM stat",
	    -1, &sc->query, NULL) != SQLITE_OK) {
		db_error(q);
		statcache_free(sc);
		return NULL;
	}
	if (!sc->query)
		reindex(sc);
	return sc;
}

int
statcache_fill(struct fx_statcache *sc, char **err)
{
	*err = NULL;
	if (!sc->query)
		return 0;
	int rc = fill_rows(sc, err);
	reindex(sc);	/* what was read before a failure still holds */
	return rc;
}

bool
statcache_filled(const struct fx_statcache *sc)
{
	return !sc->query;
}

/* For the calls that need the rows and run alone. */
static int
fill_now(struct fx_statcache *sc)
{
	char *err;

	if (statcache_fill(sc, &err) == 0)
		return 0;
	fx_error("stat cache: %s", err);
	free(err);
	return -1;
}

struct fx_statcache *
statcache_load(struct sqlite3 *db)
{
	struct fx_statcache *sc = statcache_open(db);

	if (sc && fill_now(sc) < 0) {
		statcache_free(sc);
		return NULL;
	}
	return sc;
}

void
statcache_set_scan_start(struct fx_statcache *sc, int64_t ns)
{
	atomic_store_explicit(&sc->scan_ns, ns, memory_order_relaxed);
}

/* Answer q from the table; key is the hash of its path. */
static void
answer(const struct fx_statcache *sc, struct fx_statq *q, uint64_t key)
{
	const struct ent *e = find(sc, key);

	q->hit = q->racy = false;
	if (!e || e->size != q->size || e->mtime != q->mtime_ns ||
	    e->ctime != q->ctime_ns || e->ino != q->ino || e->mode != q->mode)
		return;
	/* The file could have been rewritten, same size, within the second
	 * the recording scan started in without its mtime moving. */
	if (e->racy) {
		q->racy = true;
		return;
	}
	q->hash = e->h;
	q->hit = true;
}

/*
 * Each lookup waits on two or three cache misses, the table slot first.
 * Hashing a run of keys and prefetching their slots before resolving any
 * lets those misses overlap; the entries and their paths then come in the
 * order the rows were loaded, path order, which is the walk's order too.
 */
void
statcache_lookup_batch(struct fx_statcache *sc, struct fx_statq *q, size_t n)
{
	enum { RUN = 32 };
	uint64_t h[RUN];

	for (size_t at = 0; at < n; at += RUN) {
		size_t k = n - at < RUN ? n - at : RUN;
		for (size_t i = 0; i < k; i++) {
			h[i] = key_of(q[at + i].path, q[at + i].len);
			if (sc->slots)
				__builtin_prefetch(&sc->slots[(size_t)h[i] & sc->mask]);
		}
		for (size_t i = 0; i < k; i++)
			answer(sc, &q[at + i], h[i]);
	}
}

static struct shard *
my_shard(struct fx_statcache *sc)
{
	static atomic_uint next;
	static _Thread_local unsigned mine = UINT_MAX;

	if (mine == UINT_MAX)
		mine = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed) % SHARDS;
	return &sc->shards[mine];
}

void
statcache_put(struct fx_statcache *sc, const char *relpath,
    const struct stat *st, fx_hash h)
{
	size_t len = strlen(relpath);
	bool known = find(sc, key_of(relpath, len)) != NULL;
	struct shard *sh = my_shard(sc);

	pthread_mutex_lock(&sh->mu);
	struct put *p = putv_push(&sh->pend);
	p->path = arena_strndup(&sh->strs, relpath, len);
	p->len = (uint32_t)len;
	p->scan = atomic_load_explicit(&sc->scan_ns, memory_order_relaxed);
	p->mode = (uint32_t)st->st_mode;
	p->size = st->st_size;
	p->mtime = ts_ns(st->st_mtim);
	p->ctime = ts_ns(st->st_ctim);
	p->ino = (uint64_t)st->st_ino;
	p->h = h;
	if (!known)
		sh->pnew++;
	pthread_mutex_unlock(&sh->mu);
}

/* Run fn inside a transaction unless the caller already holds one. */
static int
in_txn(sqlite3 *db, int (*fn)(struct fx_statcache *, void *), struct fx_statcache *sc, void *arg)
{
	bool own = sqlite3_get_autocommit(db) != 0;

	if (own && cache_exec(db, who(db), "BEGIN IMMEDIATE") < 0)
		return -1;
	int rc = fn(sc, arg);
	if (own) {
		if (rc == 0)
			rc = cache_exec(db, who(db), "COMMIT");
		if (rc < 0)
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc;
}

/* Rows per INSERT: one statement step per 32 rows costs SQLite a good deal
 * less than 32 steps. */
#define ROWS 32

static sqlite3_stmt *
prepare_insert(sqlite3 *db, int rows)
{
	struct fx_buf b = {0};
	sqlite3_stmt *st = NULL;

	buf_puts(&b, "INSERT OR REPLACE INTO stat"
	    "(path, size, mtime_ns, ctime_ns, ino, mode, hash, scan_ns) VALUES ");
	for (int i = 0; i < rows; i++)
		buf_puts(&b, i ? ",(?,?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?,?)");
	if (sqlite3_prepare_v2(db, b.s, -1, &st, NULL) != SQLITE_OK)
		st = NULL;
	buf_free(&b);
	return st;
}

static void
bind_row(sqlite3_stmt *st, int row, const struct put *p, unsigned char *blob)
{
	int k = row * 8;
	hash_pack(p->h, blob);
	sqlite3_bind_text(st, k + 1, p->path, (int)p->len, SQLITE_STATIC);
	sqlite3_bind_int64(st, k + 2, p->size);
	sqlite3_bind_int64(st, k + 3, p->mtime);
	sqlite3_bind_int64(st, k + 4, p->ctime);
	sqlite3_bind_int64(st, k + 5, (sqlite3_int64)p->ino);
	sqlite3_bind_int64(st, k + 6, p->mode);
	sqlite3_bind_blob(st, k + 7, blob, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, k + 8, p->scan);
}

static int
write_pending(struct fx_statcache *sc, void *arg)
{
	const struct pending *v = arg;
	sqlite3_stmt *many = prepare_insert(sc->db, ROWS), *one = prepare_insert(sc->db, 1);
	unsigned char blobs[ROWS][16];
	int rc = many && one ? SQLITE_DONE : SQLITE_ERROR;
	size_t i = 0;

	while (rc == SQLITE_DONE && i < v->n) {
		sqlite3_stmt *st = v->n - i >= ROWS ? many : one;
		int rows = st == many ? ROWS : 1;
		for (int r = 0; r < rows; r++)
			bind_row(st, r, v->v[i + (size_t)r], blobs[r]);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		i += (size_t)rows;
	}
	if (rc != SQLITE_DONE)
		db_error(sc->db);
	sqlite3_finalize(many);
	sqlite3_finalize(one);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
cmp_pref(const void *pa, const void *pb)
{
	const struct pref *a = pa, *b = pb;
	size_t n = a->p->len < b->p->len ? a->p->len : b->p->len;
	int c = memcmp(a->p->path, b->p->path, n);

	if (c)
		return c;
	if (a->p->len != b->p->len)
		return a->p->len < b->p->len ? -1 : 1;
	if (a->shard != b->shard)
		return a->shard < b->shard ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/*
 * Every shard's puts, one per path (the last put of a path wins), sorted
 * by path: SQLite then inserts into the b-tree in order, pages filling
 * one after the other, which is far cheaper than in hashing order.
 */
static void
gather(struct fx_statcache *sc, struct pending *out)
{
	size_t n = 0, k = 0;

	for (int i = 0; i < SHARDS; i++)
		n += sc->shards[i].pend.n;
	struct pref *v = xreallocarray(NULL, n ? n : 1, sizeof(*v));
	for (uint32_t i = 0; i < SHARDS; i++)
		for (size_t x = 0; x < sc->shards[i].pend.n; x++)
			v[k++] = (struct pref){&sc->shards[i].pend.v[x], i, (uint32_t)x};
	qsort(v, n, sizeof(*v), cmp_pref);
	out->v = xreallocarray(NULL, n ? n : 1, sizeof(*out->v));
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		bool last = i + 1 == n || v[i + 1].p->len != v[i].p->len ||
		    memcmp(v[i + 1].p->path, v[i].p->path, v[i].p->len) != 0;
		if (last)
			out->v[out->n++] = v[i].p;
	}
	free(v);
}

/*
 * Fold the saved puts into the table, a shard at a time, each shard's
 * memory (puts and paths) freed as soon as it is in: the table grows while
 * the pending arrays shrink, rather than both at their largest at once.
 * Shards go in the order gather() sorted them, and within one the puts in
 * their order, so the put that wins a path here is the one saved.
 */
static void
merge(struct fx_statcache *sc)
{
	size_t total = 0;

	for (int i = 0; i < SHARDS; i++)
		total += sc->shards[i].pend.n;
	/* Room for all at once: growing by doubling would leave up to half
	 * of the largest array unused. */
	if (sc->ents.cap < sc->ents.n + total) {
		sc->ents.cap = sc->ents.n + total;
		sc->ents.v = xreallocarray(sc->ents.v, sc->ents.cap, sizeof(*sc->ents.v));
	}
	for (int i = 0; i < SHARDS; i++) {
		struct shard *sh = &sc->shards[i];
		for (size_t x = 0; x < sh->pend.n; x++) {
			const struct put *p = &sh->pend.v[x];
			struct ent row = {
				.key = key_of(p->path, p->len), .size = p->size, .mtime = p->mtime,
				.ctime = p->ctime, .ino = p->ino, .mode = p->mode,
				.racy = racy_at(p->mtime, p->scan), .h = p->h,
			};
			struct ent *e = find(sc, row.key);
			if (e) {
				*e = row;
				continue;
			}
			*entv_push(&sc->ents) = row;
			if (2 * sc->ents.n > sc->mask + 1)
				reindex(sc);
			else
				slot_insert(sc, row.key, (uint32_t)sc->ents.n);
		}
		arena_free(&sh->strs);
		free(sh->pend.v);
		sh->pend = (struct putv){0};
		sh->pnew = 0;
	}
}

int
statcache_save(struct fx_statcache *sc)
{
	struct pending v = {0};
	int rc = 0;

	if (fill_now(sc) < 0)
		return -1;
	for (int i = 0; i < SHARDS; i++)
		pthread_mutex_lock(&sc->shards[i].mu);
	gather(sc, &v);
	if (v.n && sc->db)
		rc = in_txn(sc->db, write_pending, sc, &v);
	free(v.v);
	if (rc == 0)
		merge(sc);
	for (int i = SHARDS - 1; i >= 0; i--)
		pthread_mutex_unlock(&sc->shards[i].mu);
	return rc;
}

/* The rows to delete: their paths, read from the database. */
struct gone {
	struct fx_strv paths;
};

static int
delete_rows(struct fx_statcache *sc, void *arg)
{
	const struct gone *g = arg;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(sc->db, "DELETE FROM stat WHERE path = ?", -1, &st, NULL) != SQLITE_OK) {
		db_error(sc->db);
		return -1;
	}
	int rc = SQLITE_DONE;
	for (size_t i = 0; i < g->paths.n && rc == SQLITE_DONE; i++) {
		sqlite3_bind_text(st, 1, g->paths.v[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	}
	if (rc != SQLITE_DONE)
		db_error(sc->db);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The recorded paths whose file is gone (the table holds no paths). */
static int
find_gone(struct fx_statcache *sc, const char *root, struct gone *g)
{
	sqlite3_stmt *st;
	struct fx_buf path = {0};
	int rc;

	if (sqlite3_prepare_v2(sc->db, "SELECT path FROM stat", -1, &st, NULL) != SQLITE_OK) {
		db_error(sc->db);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(st, 0);
		if (!p)
			continue;
		buf_reset(&path);
		if (p[0] != '/') {	/* trees outside the root are keyed absolute */
			buf_puts(&path, root);
			buf_putc(&path, '/');
		}
		buf_puts(&path, p);
		if (path_gone(path.s))
			strv_push(&g->paths, p);
	}
	buf_free(&path);
	if (rc != SQLITE_DONE)
		db_error(sc->db);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

long
statcache_gc(struct fx_statcache *sc, const char *root)
{
	struct gone g = {0};

	if (fill_now(sc) < 0)
		return -1;
	if (!sc->db)
		return 0;	/* nothing recorded, nothing to collect */
	if (find_gone(sc, root, &g) < 0 ||
	    (g.paths.n && in_txn(sc->db, delete_rows, sc, &g) < 0)) {
		strv_free(&g.paths);
		return -1;
	}
	long n = (long)g.paths.n;
	for (size_t i = 0; i < g.paths.n; i++) {
		struct ent *e = find(sc, key_of(g.paths.v[i], strlen(g.paths.v[i])));
		if (e)
			e->mode = UINT32_MAX;	/* no file has this mode: dropped below */
	}
	strv_free(&g.paths);
	size_t k = 0;
	for (size_t i = 0; i < sc->ents.n; i++)
		if (sc->ents.v[i].mode != UINT32_MAX)
			sc->ents.v[k++] = sc->ents.v[i];
	sc->ents.n = k;
	if (n)
		reindex(sc);
	return n;
}

uint64_t
statcache_count(const struct fx_statcache *sc)
{
	struct fx_statcache *m = (struct fx_statcache *)sc;	/* the locks only */
	uint64_t n = sc->ents.n;

	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&m->shards[i].mu);
		n += sc->shards[i].pnew;
		pthread_mutex_unlock(&m->shards[i].mu);
	}
	return n;
}

void
statcache_free(struct fx_statcache *sc)
{
	if (!sc)
		return;
	sqlite3_finalize(sc->query);
	sqlite3_close(sc->rdb);
	free(sc->ents.v);
	free(sc->slots);
	for (int i = 0; i < SHARDS; i++) {
		free(sc->shards[i].pend.v);
		arena_free(&sc->shards[i].strs);
		pthread_mutex_destroy(&sc->shards[i].mu);
	}
	free(sc);
}
