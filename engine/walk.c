/*
 * walk.c - the parallel walk (see walk.h).
 *
 * The walk is a pool of threads around one LIFO queue of work items: read
 * a directory, look its files up in the stat cache, hash a batch of files,
 * finish a tree; and, once, read the stat cache's rows. Every directory is
 * an item of its own so that one big tree spreads over all threads, and the
 * files the stat cache cannot answer go out in batches so that reading
 * content, the slow part of a cold scan, spreads too. LIFO keeps the walk
 * depth-first, which bounds the queue.
 *
 * While one thread reads the stat cache's rows from SQLite, the others
 * list and stat directories; their lookups are parked until the rows are
 * in. On two cores that hides most of the load behind the walk.
 *
 * A tree holds one descriptor on its root while it has items outstanding;
 * everything below is opened relative to it, so no absolute path is built
 * per file and a tree never holds a descriptor per pending directory.
 *
 * Each directory keeps its entries in the order of the tree, so a finished
 * tree is laid out by walking it, never by sorting all its paths.
 *
 * Ownership: path strings are carved from per-thread arenas that the walk
 * keeps until walk_free() (the trees point at them); a tree's directory
 * nodes, entries and stat data from its job's arenas (one per thread),
 * freed as soon as finish() has copied the entries into the tree, so a
 * walk holds the scratch of the trees in flight only, and the largest part
 * of a cold scan's memory is gone before the stat cache is saved; items
 * from per-thread arenas freed when walk_run() returns. A job's refs and err
 * change only under the run lock; a directory's entries are written by the
 * thread that reads it, their digests by the threads that look them up or
 * hash them, and all are read by finish() only after the lock has ordered
 * those.
 */
#include "fusion/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fusion/arena.h"
#include "fusion/diag.h"
#include "fusion/dirlist.h"
#include "fusion/ignore.h"
#include "fusion/statcache.h"
#include "fusion/util.h"

#define BATCH_FILES 64
#define BATCH_BYTES (4 * 1024 * 1024)


enum { IT_DIR, IT_FILE, IT_CHECK, IT_HASH, IT_FINISH, IT_FILL };

/* What the stat cache compares, kept from a file's stat to its lookup. */
struct fst {
	int64_t size, mtime_ns, ctime_ns;	/* ns: a timespec takes twice the room */
	uint64_t ino, dev;
	uint32_t mode;
	uint32_t nlink;		/* more than 1: a hard link, maybe to another entry */
	uint32_t plen;		/* strlen of the entry's path */
};

/*
 * One directory of a tree: its files, its subdirectories, and both in the
 * order of the tree (see dirlist.h), so that finish() lays the tree out by
 * walking it rather than by sorting every path of it.
 */
struct dirnode {
	struct fx_tree_entry *ents;	/* the files; mode 0: gone before it was read */
	struct fst *fst;	/* and their stat data */
	uint32_t n;
	/* FX_VIEW_BUILD: the directory as an entry of its own ("rel/"), kept
	 * unless it is excluded and holds no entry. */
	const char *path;
	unsigned mode;
	bool excluded, gone;
	size_t below;		/* entries below it, set when the tree is laid out */
	/* FX_VIEW_HELM: what it is, to tell a symlink cycle */
	struct dirnode *parent;
	uint64_t dev, ino;
	struct dirnode **subs;
	uint32_t nsubs;
	int32_t *order;		/* >= 0: file ents[i]; < 0: subdirectory subs[~i] */
	uint32_t norder;
	uint32_t *pend;		/* files the stat cache could not answer */
	uint32_t npend;
};

struct job;

struct item {
	struct item *next;
	int kind;
	struct job *job;
	struct dirnode *dn;	/* the directory to read, look up or hash */
	const char *rel;	/* IT_DIR: relative to the tree root, "" for it */
	uint32_t lo, hi;	/* IT_HASH: a range of dn->pend */
};

struct job {
	struct fx_tree t;	/* callers hold &t */
	struct job *next;
	const struct fx_ignore *ig;
	char *ig_key;
	char *key;		/* stat cache key of the root; "" is the workspace root */
	char *kpre;		/* what goes before a tree path in a key: key and '/' */
	size_t koff;		/* its length */
	bool single, queued;
	enum fx_view view;
	int rootfd;
	size_t refs;		/* items outstanding */
	struct dirnode *top;
	/* Its directory nodes, entries and stat data, an arena per thread
	 * (threads carve at once), all freed as soon as finish() has laid
	 * the tree out: a walk of many trees then holds the scratch of only
	 * those in flight, and later trees reuse the memory. */
	struct fx_arena *mem;
	int nmem;
};

struct fx_walk {
	char *root;
	struct fx_statcache *sc;
	int threads;
	struct job *jobs, **tail;
	struct fx_arena arena;	/* the workers' arenas, once they are done */
	struct fx_walk_stats stats;
	atomic_int noatime;

	/* Set once the stat cache's rows are in; lookups wait for it. */
	atomic_bool ready;

	pthread_mutex_t mu;	/* guards the queue, the jobs' refs and err */
	pthread_cond_t cv;
	struct item *queue;
	struct item *parked;	/* lookups waiting for the rows */
	size_t active;		/* items queued, parked or being worked on */
	char *fill_err;		/* the thread that fills, until it retires */
};

struct worker {
	struct fx_walk *r;
	int id;			/* its arena in each job's mem */
	pthread_t tid;
	struct fx_digester *dg;
	char link[PATH_MAX];	/* a symlink's target */
	struct fx_arena arena;	/* path strings, kept with the walk */
	struct fx_arena scratch;	/* items, freed when walk_run ends */
	struct fx_walk_stats st;
	struct item *out;	/* items made by the current item */
	size_t nout;
	/* scratch, reused from one directory to the next */
	struct fx_dirlist dl;
	uint32_t *pend;
	size_t npend, cpend;
	struct fx_buf key;
	struct fx_statq *q;	/* a directory's lookups */
	size_t cq;
	struct fx_buf qkeys;
};

static char *
abs_path(const char *p)
{
	if (p[0] == '/')
		return path_clean(p);
	char *cwd = getcwd(NULL, 0);
	char *r = path_join(cwd ? cwd : "/", p);
	free(cwd);
	return r;
}

struct fx_walk *
walk_new(const char *root, struct fx_statcache *sc, int threads)
{
	struct fx_walk *r = xcalloc(1, sizeof(*r));

	r->root = abs_path(root);
	r->sc = sc;
	r->threads = threads > 0 ? threads : cpu_count();
	r->tail = &r->jobs;
	atomic_init(&r->noatime, 1);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	return r;
}

static bool
same_key(const struct job *j, enum fx_view view, const struct fx_ignore *ig, const char *ig_key)
{
	if (j->view != view)
		return false;
	if (!j->ig_key || !ig_key)	/* without a key only the same rules match */
		return !j->ig_key && !ig_key && j->ig == ig;
	return strcmp(j->ig_key, ig_key) == 0;
}

static struct job *
add_job(struct fx_walk *r, char *path, bool single)
{
	struct job *j = xcalloc(1, sizeof(*j));
	const char *rel = path_under(path, r->root);

	j->t.dir = path;
	j->single = single;
	/* With the '/' that joins it to a tree path, when it needs one. */
	const char *key = rel ? rel : path;
	size_t n = strlen(key);
	bool sep = n && key[n - 1] != '/';
	j->key = xstrdup(key);
	j->kpre = xasprintf("%s%s", key, sep ? "/" : "");
	j->koff = n + sep;
	j->rootfd = -1;
	*r->tail = j;
	r->tail = &j->next;
	return j;
}

const struct fx_tree *
walk_tree(struct fx_walk *r, const char *dir, enum fx_view view, const struct fx_ignore *ig,
    const char *ig_key)
{
	char *path = abs_path(dir);

	for (struct job *j = r->jobs; j; j = j->next) {
		if (!j->single && strcmp(j->t.dir, path) == 0 && same_key(j, view, ig, ig_key)) {
			free(path);
			return &j->t;
		}
	}
	struct job *j = add_job(r, path, false);
	j->view = view;
	j->ig = ig;
	j->ig_key = ig_key ? xstrdup(ig_key) : NULL;
	return &j->t;
}

const struct fx_tree *
walk_file(struct fx_walk *r, const char *file)
{
	char *path = abs_path(file);

	for (struct job *j = r->jobs; j; j = j->next) {
		if (j->single && strcmp(j->t.dir, path) == 0) {
			free(path);
			return &j->t;
		}
	}
	return &add_job(r, path, true)->t;
}

/* Report a failure, under the lock: diag is not thread-safe. */
static void
fail(struct worker *w, struct job *j, const char *rel, int err)
{
	struct fx_walk *r = w->r;

	pthread_mutex_lock(&r->mu);
	if (rel && rel[0])
		fx_error("%s/%s: %s", j->t.dir, rel, strerror(err));
	else
		fx_error("%s: %s", j->t.dir, strerror(err));
	if (!j->t.err)
		j->t.err = err;
	pthread_mutex_unlock(&r->mu);
}

static struct item *
new_item(struct worker *w, int kind, struct job *j, struct dirnode *dn)
{
	struct item *it = arena_alloc(&w->scratch, sizeof(*it));

	*it = (struct item){.kind = kind, .job = j, .dn = dn};
	return it;
}

static void
emit(struct worker *w, struct item *it)
{
	it->next = w->out;
	w->out = it;
	w->nout++;
}

/* n bytes of job j's scratch, from this thread's arena of it. */
static void *
jalloc(struct worker *w, struct job *j, size_t n)
{
	return arena_alloc(&j->mem[w->id], n);
}

static struct dirnode *
new_dirnode(struct worker *w, struct job *j)
{
	struct dirnode *dn = jalloc(w, j, sizeof(*dn));

	*dn = (struct dirnode){0};
	return dn;
}

/* Append `name` to the key of a directory, the first `base` bytes of b. */
static const char *
key_of(struct fx_buf *b, size_t base, const char *name, size_t len)
{
	b->len = base;
	if (base && b->s[base - 1] != '/')
		buf_putc(b, '/');
	buf_add(b, name, len);
	return b->s;
}

/* Start b with the key of directory `rel` of job j; returns its length. */
static size_t
key_base(struct fx_buf *b, const struct job *j, const char *rel)
{
	buf_reset(b);
	buf_puts(b, j->key);
	if (rel[0]) {
		if (b->len && b->s[b->len - 1] != '/')
			buf_putc(b, '/');
		buf_puts(b, rel);
	}
	return b->len;
}

static int
open_file(struct worker *w, int dirfd, const char *path, bool follow)
{
	int flags = O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);

	/* O_NOATIME spares an inode write per file, but needs ownership. */
	if (atomic_load_explicit(&w->r->noatime, memory_order_relaxed)) {
		int fd = openat(dirfd, path, flags | O_NOATIME);
		if (fd >= 0 || errno != EPERM)
			return fd;
		atomic_store_explicit(&w->r->noatime, 0, memory_order_relaxed);
	}
	return openat(dirfd, path, flags);
}

static int
hash_content(struct worker *w, int dirfd, const char *path, const struct stat *st,
    bool follow, fx_hash *out)
{
	uint64_t n = 0;

	if (S_ISLNK(st->st_mode)) {
		ssize_t len = readlinkat(dirfd, path, w->link, sizeof w->link);
		if (len < 0)
			return -1;
		if ((size_t)len == sizeof w->link) {	/* no such link can be made */
			errno = ENAMETOOLONG;
			return -1;
		}
		*out = hash_bytes(w->link, (size_t)len);
		n = (uint64_t)len;
	} else {
		int fd = open_file(w, dirfd, path, follow);
		if (fd < 0)
			return -1;
		int rc = digester_fd(w->dg, fd, st->st_size, out, &n);
		int e = errno;
		close(fd);
		errno = e;
		if (rc < 0)
			return -1;
	}
	w->st.hashed++;
	w->st.bytes += n;
	return 0;
}

/* Is the tree read as a builder sends it (FX_VIEW_BUILD or FX_VIEW_PODMAN)? */
static bool
build_view(enum fx_view v)
{
	return v != FX_VIEW_HELM;
}

/* The permission bits a view keeps: podman drops setuid and setgid from
 * what it copies (the sticky bit stays). */
static unsigned
perm_bits(enum fx_view v, mode_t mode)
{
	return mode & (v == FX_VIEW_PODMAN ? 01777 : 07777);
}

static unsigned
git_mode(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return 0120000;
	return st->st_mode & S_IXUSR ? 0100755 : 0100644;
}

/* An entry's mode in the job's view (walk.h). A single file counts as git
 * would keep it. */
static unsigned
entry_mode(const struct job *j, const struct stat *st)
{
	if (j->single)
		return git_mode(st);
	if (j->view == FX_VIEW_HELM)
		return 0100644;
	if (S_ISLNK(st->st_mode))
		return 0120000;
	return (st->st_mode & S_IFMT) | perm_bits(j->view, st->st_mode);
}

/* A FIFO or a device has no content to read: its digest is what it is. */
static bool
special(mode_t mode)
{
	return S_ISFIFO(mode) || S_ISCHR(mode) || S_ISBLK(mode);
}

static fx_hash
special_hash(const struct stat *st)
{
	char dev[64];
	int n = 0;

	if (!S_ISFIFO(st->st_mode))
		n = snprintf(dev, sizeof dev, "%u,%u", major(st->st_rdev), minor(st->st_rdev));
	return hash_bytes(dev, (size_t)n);
}

/* Was a file or directory gone (or replaced) between the listing and its
 * reading? Then the walk lost a race and takes it as never there. A loop in
 * a chart's symlinks is an error, as helm fails on it. */
static bool
gone(const struct job *j, int err)
{
	return err == ENOENT || err == ENOTDIR || err == EISDIR ||
	       (err == ELOOP && build_view(j->view));
}

static void
record(struct worker *w, const char *key, const struct stat *st, fx_hash h)
{
	if (w->r->sc)
		statcache_put(w->r->sc, key, st, h);
}

static void
add_subdir(struct worker *w, struct job *j, struct dirnode *dn, const char *rel, size_t len)
{
	if (j->ig && ignore_dir_prunable(j->ig, rel)) {
		w->st.pruned++;
		return;
	}
	struct dirnode *sub = new_dirnode(w, j);
	sub->parent = dn;
	if (build_view(j->view)) {
		char *p = arena_alloc(&w->arena, len + 2);
		memcpy(p, rel, len);
		memcpy(p + len, "/", 2);
		sub->path = p;
		sub->excluded = j->ig && ignore_match(j->ig, rel, true);
	}
	dn->order[dn->norder++] = ~(int32_t)dn->nsubs;
	dn->subs[dn->nsubs++] = sub;
	struct item *it = new_item(w, IT_DIR, j, sub);
	it->rel = arena_strndup(&j->mem[w->id], rel, len);
	emit(w, it);
}

static void emit_batches(struct worker *w, struct job *j, struct dirnode *dn);

static struct timespec
ns_ts(int64_t ns)
{
	struct timespec ts = {ns / 1000000000, ns % 1000000000};

	if (ts.tv_nsec < 0) {	/* before 1970 */
		ts.tv_sec--;
		ts.tv_nsec += 1000000000;
	}
	return ts;
}

static void
fst_set(struct fst *f, const struct stat *st)
{
	f->size = st->st_size;
	f->mtime_ns = ts_ns(st->st_mtim);
	f->ctime_ns = ts_ns(st->st_ctim);
	f->ino = (uint64_t)st->st_ino;
	f->dev = (uint64_t)st->st_dev;
	f->nlink = (uint32_t)st->st_nlink;
	f->mode = st->st_mode;
}

static void
fst_get(const struct fst *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_size = f->size;
	st->st_mtim = ns_ts(f->mtime_ns);
	st->st_ctim = ns_ts(f->ctime_ns);
	st->st_ino = (ino_t)f->ino;
	st->st_mode = f->mode;
}

static void
add_file(struct worker *w, struct job *j, struct dirnode *dn, int dfd,
    const struct fx_dirname *k, const char *rel, size_t len)
{
	struct stat st;

	/* An ignored file is never stat'ed; that is most of a node_modules. */
	if (j->ig && ignore_match(j->ig, rel, false))
		return;
	if (fstatat(dfd, k->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (!gone(j, errno))	/* gone since readdir: as if never there */
			fail(w, j, rel, errno);
		return;
	}
	/* helm reads what a link points to, a file or a whole directory; one
	 * that points nowhere fails it. */
	if (j->view == FX_VIEW_HELM && S_ISLNK(st.st_mode)) {
		if (fstatat(dfd, k->name, &st, 0) < 0) {
			fail(w, j, rel, errno);
			return;
		}
		if (S_ISDIR(st.st_mode)) {
			add_subdir(w, j, dn, rel, len);
			return;
		}
	}
	/* Replaced by a directory meanwhile: the scan lost that race. Sockets
	 * the builders skip. */
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode) && !special(st.st_mode))
		return;
	struct fx_tree_entry *e = &dn->ents[dn->n];
	e->path = arena_strndup(&w->arena, rel, len);
	e->mode = entry_mode(j, &st);
	e->hash = special(st.st_mode) ? special_hash(&st) : (fx_hash){0, 0};
	fst_set(&dn->fst[dn->n], &st);
	dn->fst[dn->n].plen = (uint32_t)len;
	dn->order[dn->norder++] = (int32_t)dn->n++;
	w->st.files++;
}

/* The stat cache key of file e of job j, given the key of its root in the
 * first `base` bytes of b. */
static const char *
file_key(struct fx_buf *b, size_t base, const struct job *j, const struct dirnode *dn, uint32_t i)
{
	if (j->single)
		return j->key;
	key_of(b, base, dn->ents[i].path, dn->fst[i].plen);
	return b->s;
}

static int
hash_entry(struct worker *w, const struct job *j, struct fx_tree_entry *e, const struct stat *st)
{
	if (j->single)
		return hash_content(w, AT_FDCWD, j->t.dir, st, true, &e->hash);
	return hash_content(w, j->rootfd, e->path, st, j->view == FX_VIEW_HELM, &e->hash);
}

/* Hash entry e, or take it out of the tree if it is gone since its stat. */
static bool
hash_or_drop(struct worker *w, struct job *j, struct fx_tree_entry *e, const struct stat *st)
{
	if (hash_entry(w, j, e, st) == 0)
		return true;
	if (!j->single && gone(j, errno))
		e->mode = 0;
	else
		fail(w, j, e->path, errno);
	return false;
}

/* Put the stat cache keys of dn's files into w->q, their text in w->qkeys. */
static void
make_queries(struct worker *w, const struct job *j, const struct dirnode *dn)
{
	w->q = xgrowarray(w->q, &w->cq, dn->n, sizeof(*w->q));
	buf_reset(&w->qkeys);
	for (uint32_t i = 0; i < dn->n; i++) {
		if (j->single) {
			buf_puts(&w->qkeys, j->key);
		} else {
			buf_add(&w->qkeys, j->kpre, j->koff);
			buf_add(&w->qkeys, dn->ents[i].path, dn->fst[i].plen);
		}
		buf_putc(&w->qkeys, '\0');
	}
	/* Only now is the text where it stays. */
	const char *p = w->qkeys.s;
	for (uint32_t i = 0; i < dn->n; i++) {
		const struct fst *f = &dn->fst[i];
		size_t len = strlen(p);
		w->q[i] = (struct fx_statq){
			.path = p, .len = (uint32_t)len, .mode = f->mode, .size = f->size,
			.mtime_ns = f->mtime_ns, .ctime_ns = f->ctime_ns,
			.ino = f->ino,
		};
		p += len + 1;
	}
}

/*
 * Answer the files of dn from the stat cache, all at once (see
 * statcache_lookup_batch). A link is read at once; files to read go out in
 * batches.
 */
static void
check_dir(struct worker *w, struct job *j, struct dirnode *dn)
{
	struct fx_statcache *sc = w->r->sc;

	if (sc) {
		make_queries(w, j, dn);
		statcache_lookup_batch(sc, w->q, dn->n);
	}
	for (uint32_t i = 0; i < dn->n; i++) {
		struct fx_tree_entry *e = &dn->ents[i];
		if (special(dn->fst[i].mode))	/* hashed by what it is already */
			continue;
		if (sc && w->q[i].hit) {
			e->hash = w->q[i].hash;
			w->st.cache_hits++;
			continue;
		}
		if (sc && w->q[i].racy)
			w->st.racy++;
		if (!S_ISLNK(dn->fst[i].mode)) {
			w->pend = xgrowarray(w->pend, &w->cpend, w->npend + 1, sizeof(*w->pend));
			w->pend[w->npend++] = i;
			continue;
		}
		/* A link has no content to open: read it now. */
		struct stat st;
		fst_get(&dn->fst[i], &st);
		if (hash_or_drop(w, j, e, &st))
			record(w, sc ? w->q[i].path : NULL, &st, e->hash);
	}
	emit_batches(w, j, dn);
}

/* Look up now if the rows are in, else park the directory until they are. */
static void
check_or_park(struct worker *w, struct job *j, struct dirnode *dn)
{
	if (atomic_load_explicit(&w->r->ready, memory_order_acquire))
		check_dir(w, j, dn);
	else
		emit(w, new_item(w, IT_CHECK, j, dn));
}

/* Queue the files of dn that need reading, in batches. */
static void
emit_batches(struct worker *w, struct job *j, struct dirnode *dn)
{
	uint32_t lo = 0;
	int64_t bytes = 0;

	if (!w->npend)
		return;
	dn->pend = jalloc(w, j, w->npend * sizeof(*dn->pend));
	memcpy(dn->pend, w->pend, w->npend * sizeof(*dn->pend));
	dn->npend = (uint32_t)w->npend;
	w->npend = 0;
	for (uint32_t i = 0; i < dn->npend; i++) {
		bytes += dn->fst[dn->pend[i]].size;
		if (i + 1 - lo < BATCH_FILES && bytes < BATCH_BYTES && i + 1 < dn->npend)
			continue;
		struct item *it = new_item(w, IT_HASH, j, dn);
		it->lo = lo;
		it->hi = i + 1;
		emit(w, it);
		lo = i + 1;
		bytes = 0;
	}
}

static int
open_dir(struct job *j, const char *rel)
{
	int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;

	/* A chart's links to directories are followed, as helm does. */
	if (rel[0])
		return openat(j->rootfd, rel, flags | (build_view(j->view) ? O_NOFOLLOW : 0));
	/* The root may be a symlink; it is what was asked for. */
	j->rootfd = open(j->t.dir, flags);
	if (j->rootfd < 0)
		return -1;
	return fcntl(j->rootfd, F_DUPFD_CLOEXEC, 0);
}

/*
 * What a directory is: a context's directory counts with its mode (one
 * fstat of the descriptor the walk reads it through); a chart's must not be
 * one it is already inside of, through a link. False after reporting.
 */
static bool
known(struct worker *w, struct job *j, struct dirnode *dn, int fd, const char *rel)
{
	struct stat st;

	if ((build_view(j->view) && !rel[0]) || j->single)
		return true;
	if (fstat(fd, &st) < 0) {
		fail(w, j, rel, errno);
		return false;
	}
	dn->mode = S_IFDIR | perm_bits(j->view, st.st_mode);
	dn->dev = (uint64_t)st.st_dev;
	dn->ino = (uint64_t)st.st_ino;
	for (const struct dirnode *p = dn->parent; p && j->view == FX_VIEW_HELM; p = p->parent)
		if (p->dev == dn->dev && p->ino == dn->ino) {
			fail(w, j, rel, ELOOP);
			return false;
		}
	return true;
}

/* Read one directory: list it, sort it, stat each entry in that order. */
static void
read_dir(struct worker *w, struct item *it)
{
	struct job *j = it->job;
	struct dirnode *dn = it->dn;
	int fd = open_dir(j, it->rel);

	if (fd < 0 && it->rel[0] && gone(j, errno)) {	/* gone since its parent's listing */
		dn->gone = true;
		return;
	}
	if (fd >= 0 && !known(w, j, dn, fd, it->rel)) {
		close(fd);
		return;
	}
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		fail(w, j, it->rel, errno);	/* the tree is not used: no entry either */
		dn->gone = true;
		if (fd >= 0)
			close(fd);
		return;
	}
	if (dirlist_read(&w->dl, d) < 0)
		fail(w, j, it->rel, errno);
	size_t ndirs = w->dl.ndirs, n = w->dl.n;
	/* In a chart, a link may turn out to be a directory. */
	size_t nsubs = j->view == FX_VIEW_HELM ? n : ndirs;
	dn->ents = jalloc(w, j, (n - ndirs) * sizeof(*dn->ents));
	dn->fst = jalloc(w, j, (n - ndirs) * sizeof(*dn->fst));
	dn->subs = jalloc(w, j, nsubs * sizeof(*dn->subs));
	dn->order = jalloc(w, j, n * sizeof(*dn->order));
	size_t base = key_base(&w->key, j, it->rel);
	for (size_t i = 0; i < n; i++) {
		const struct fx_dirname *k = &w->dl.v[i];
		const char *rel = key_of(&w->key, base, k->name, k->len) + j->koff;
		size_t len = w->key.len - j->koff;
		if (k->dir)
			add_subdir(w, j, dn, rel, len);
		else
			add_file(w, j, dn, dirfd(d), k, rel, len);
	}
	closedir(d);
	check_or_park(w, j, dn);
}

static void
hash_batch(struct worker *w, struct item *it)
{
	struct job *j = it->job;
	struct dirnode *dn = it->dn;
	size_t base = key_base(&w->key, j, "");

	for (uint32_t i = it->lo; i < it->hi; i++) {
		struct fx_tree_entry *e = &dn->ents[dn->pend[i]];
		struct stat st;
		fst_get(&dn->fst[dn->pend[i]], &st);
		if (hash_or_drop(w, j, e, &st))
			record(w, file_key(&w->key, base, j, dn, dn->pend[i]), &st, e->hash);
	}
}

/* One file: stat follows a link, as the tools that read the file will. */
static void
read_file_job(struct worker *w, struct item *it)
{
	struct job *j = it->job;
	struct dirnode *dn = it->dn;
	struct stat st;

	if (stat(j->t.dir, &st) < 0) {
		fail(w, j, NULL, errno);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(w, j, NULL, S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
		return;
	}
	const char *slash = strrchr(j->t.dir, '/');
	const char *name = slash ? slash + 1 : j->t.dir;
	struct fx_tree_entry *e = jalloc(w, j, sizeof(*e));
	e->path = arena_strndup(&w->arena, name, strlen(name));
	e->mode = git_mode(&st);
	e->hash = (fx_hash){0, 0};
	dn->ents = e;
	dn->fst = jalloc(w, j, sizeof(*dn->fst));
	fst_set(dn->fst, &st);
	dn->fst->plen = (uint32_t)strlen(e->path);
	dn->n = 1;
	dn->order = jalloc(w, j, sizeof(*dn->order));
	dn->order[0] = 0;
	dn->norder = 1;
	w->st.files++;
	check_or_park(w, j, dn);
}

/* Is directory sub an entry of its own, with `below` entries under it? */
static bool
dir_entry(const struct dirnode *sub, size_t below)
{
	return sub->path && !sub->gone && (!sub->excluded || below > 0);
}

/* Entries of the tree below dn (directories that are entries included);
 * each subdirectory keeps its own count. */
static size_t
count_entries(struct dirnode *dn)
{
	size_t n = 0;

	for (uint32_t i = 0; i < dn->n; i++)
		n += dn->ents[i].mode != 0;
	for (uint32_t i = 0; i < dn->nsubs; i++) {
		struct dirnode *sub = dn->subs[i];
		sub->below = count_entries(sub);
		n += sub->below + dir_entry(sub, sub->below);
	}
	return n;
}

/* Files that may share their inode with another entry, in tree order. */
struct links {
	struct link {
		uint64_t dev, ino;
		size_t at;
	} *v;
	size_t n, cap;
};

static void
lay_out(const struct dirnode *dn, struct fx_tree *t, struct links *l)
{
	static const unsigned char nothing[1];

	for (uint32_t i = 0; i < dn->norder; i++) {
		int32_t o = dn->order[i];
		if (o >= 0) {
			const struct fst *f = &dn->fst[o];
			if (dn->ents[o].mode == 0)
				continue;
			if (l && f->nlink > 1 && S_ISREG(f->mode)) {
				l->v = xgrowarray(l->v, &l->cap, l->n + 1, sizeof(*l->v));
				l->v[l->n++] = (struct link){f->dev, f->ino, t->n};
			}
			t->v[t->n++] = dn->ents[o];
			continue;
		}
		const struct dirnode *sub = dn->subs[~o];
		if (dir_entry(sub, sub->below))
			t->v[t->n++] = (struct fx_tree_entry){(char *)sub->path, sub->mode,
			    hash_bytes(nothing, 0)};
		lay_out(sub, t, l);
	}
}

static int
cmp_link(const void *pa, const void *pb)
{
	const struct link *a = pa, *b = pb;

	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return a->at < b->at ? -1 : a->at > b->at;
}

/*
 * Hard links: the builders send the second and later paths of one inode as
 * links to the first, so which entries share an inode is part of what is
 * sent. Each later path's digest names the first path of its group (in
 * tree order) instead of the content, which that first entry holds.
 */
static void
mark_links(struct fx_tree *t, struct links *l)
{
	qsort(l->v, l->n, sizeof(*l->v), cmp_link);
	for (size_t i = 0, k; i < l->n; i = k) {
		const struct link *first = &l->v[i];
		for (k = i + 1; k < l->n && l->v[k].dev == first->dev && l->v[k].ino == first->ino; k++) {
			struct fx_hasher *h = hasher_new();
			hasher_str(h, "hard link to");
			hasher_str(h, t->v[first->at].path);
			t->v[l->v[k].at].hash = hasher_done(h);
		}
	}
}

/* The job's directory nodes, entries and stat data go. */
static void
job_scratch_free(struct job *j)
{
	for (int i = 0; i < j->nmem; i++)
		arena_free(&j->mem[i]);
	free(j->mem);
	j->mem = NULL;
	j->nmem = 0;
	j->top = NULL;
}

/* Every item of the tree is done: lay it out in order and digest it. Its
 * scratch is not needed after that. */
static void
finish(struct worker *w, struct item *it)
{
	struct job *j = it->job;
	size_t n = count_entries(j->top);
	struct links l = {0};

	if (j->rootfd >= 0)
		close(j->rootfd);
	j->rootfd = -1;
	j->t.v = n ? xreallocarray(NULL, n, sizeof(*j->t.v)) : NULL;
	j->t.n = 0;
	lay_out(j->top, &j->t, build_view(j->view) && !j->single ? &l : NULL);
	if (l.n > 1)
		mark_links(&j->t, &l);
	free(l.v);
	j->t.root = digester_tree(w->dg, j->t.v, j->t.n);
	job_scratch_free(j);
}

static void
process(struct worker *w, struct item *it)
{
	switch (it->kind) {
	case IT_DIR: read_dir(w, it); break;
	case IT_FILE: read_file_job(w, it); break;
	case IT_CHECK: check_dir(w, it->job, it->dn); break;
	case IT_HASH: hash_batch(w, it); break;
	case IT_FINISH: finish(w, it); break;
	case IT_FILL:
		if (statcache_fill(w->r->sc, &w->r->fill_err) < 0 && !w->r->fill_err)
			w->r->fill_err = xstrdup("cannot read");
		break;
	}
}

/* Under the lock: the rows are in; let the parked lookups go. */
static size_t
filled(struct fx_walk *r)
{
	size_t n = 0;

	if (r->fill_err) {
		fx_warn("stat cache: %s; files will be read again", r->fill_err);
		free(r->fill_err);
		r->fill_err = NULL;
	}
	atomic_store_explicit(&r->ready, true, memory_order_release);
	while (r->parked) {
		struct item *o = r->parked;
		r->parked = o->next;
		o->next = r->queue;
		r->queue = o;
		n++;
	}
	return n;
}

/* Under the lock: hand over what the finished item made. */
static void
retire(struct worker *w, struct item *it)
{
	struct fx_walk *r = w->r;
	struct job *j = it->job;
	size_t made = w->nout, woke = w->nout;
	bool ready = atomic_load_explicit(&r->ready, memory_order_relaxed);

	while (w->out) {
		struct item *o = w->out;
		struct item **to = o->kind == IT_CHECK && !ready ? &r->parked : &r->queue;
		w->out = o->next;
		o->next = *to;
		*to = o;
	}
	w->nout = 0;
	r->active += made;
	if (it->kind == IT_FILL)
		woke += filled(r);
	if (j)
		j->refs += made;
	if (j && it->kind != IT_FINISH && --j->refs == 0) {
		struct item *f = new_item(w, IT_FINISH, j, NULL);
		f->next = r->queue;
		r->queue = f;
		r->active++;
		woke++;
	}
	r->active--;
	if (woke > 1 || r->active == 0)
		pthread_cond_broadcast(&r->cv);
	else if (woke == 1)
		pthread_cond_signal(&r->cv);
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct fx_walk *r = w->r;
	struct item *it = NULL;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		if (it)
			retire(w, it);
		while (!r->queue && r->active)
			pthread_cond_wait(&r->cv, &r->mu);
		if (!r->queue)
			break;
		it = r->queue;
		r->queue = it->next;
		pthread_mutex_unlock(&r->mu);
		process(w, it);
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static void
add_stats(struct fx_walk_stats *a, const struct fx_walk_stats *b)
{
	a->files += b->files;
	a->hashed += b->hashed;
	a->bytes += b->bytes;
	a->cache_hits += b->cache_hits;
	a->racy += b->racy;
	a->pruned += b->pruned;
}

/*
 * Queue the root item of every job not run yet, and the reading of the
 * stat cache's rows if they are not in: queued last, it is taken first,
 * and the other threads read directories meanwhile. Returns how many.
 */
static size_t
queue_jobs(struct fx_walk *r, struct worker *w)
{
	size_t n = 0;
	bool fill = r->sc && !statcache_filled(r->sc);

	atomic_store_explicit(&r->ready, !fill, memory_order_relaxed);
	for (struct job *j = r->jobs; j; j = j->next) {
		if (j->queued)
			continue;
		j->queued = true;
		j->nmem = r->threads;
		j->mem = xcalloc((size_t)j->nmem, sizeof(*j->mem));
		j->top = new_dirnode(w, j);
		struct item *it = new_item(w, j->single ? IT_FILE : IT_DIR, j, j->top);
		it->rel = "";
		it->next = r->queue;
		r->queue = it;
		j->refs = 1;
		n++;
	}
	if (fill) {
		struct item *it = new_item(w, IT_FILL, NULL, NULL);
		it->next = r->queue;
		r->queue = it;
		n++;
	}
	r->active += n;
	return n;
}

static void
worker_done(struct fx_walk *r, struct worker *w)
{
	arena_take_all(&r->arena, &w->arena);
	arena_free(&w->scratch);
	add_stats(&r->stats, &w->st);
	dirlist_free(&w->dl);
	free(w->pend);
	buf_free(&w->key);
	buf_free(&w->qkeys);
	free(w->q);
	digester_free(w->dg);
}

int
walk_run(struct fx_walk *r)
{
	int nw = r->threads;
	struct worker *ws = xcalloc((size_t)nw, sizeof(*ws));

	for (int i = 0; i < nw; i++) {
		ws[i].r = r;
		ws[i].id = i;
		ws[i].dg = digester_new();
	}
	size_t n = queue_jobs(r, &ws[0]);
	/* The calling thread is worker 0. */
	int started = 1;
	for (int i = 1; i < nw && n; i++, started++)
		if (pthread_create(&ws[i].tid, NULL, work, &ws[i]) != 0)
			break;
	work(&ws[0]);
	for (int i = 1; i < started; i++)
		pthread_join(ws[i].tid, NULL);
	for (int i = 0; i < nw; i++)
		worker_done(r, &ws[i]);
	free(ws);
	/* The scratch was carved in every thread's malloc arena, where what
	 * comes next (the stat cache's save, on this thread) cannot reuse
	 * it: give its pages back. */
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	int rc = 0;
	for (struct job *j = r->jobs; j; j = j->next) {
		job_scratch_free(j);	/* finish() did, unless the job never ran */
		if (j->t.err)
			rc = -1;
	}
	return rc;
}

struct fx_walk_stats
walk_stats(const struct fx_walk *r)
{
	return r->stats;
}

void
walk_free(struct fx_walk *r)
{
	if (!r)
		return;
	while (r->jobs) {
		struct job *j = r->jobs;
		r->jobs = j->next;
		job_scratch_free(j);
		free(j->t.dir);
		free(j->t.v);
		free(j->ig_key);
		free(j->key);
		free(j->kpre);
		free(j);
	}
	arena_free(&r->arena);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r->fill_err);
	free(r->root);
	free(r);
}
