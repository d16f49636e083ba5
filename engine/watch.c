/*
 * watch.c - watching the sources for changes: inotify, or polling stat
 * data where inotify cannot be had (see watch.h).
 */
#include "fusion/watch.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/inotify.h>
#endif

#include "fusion/diag.h"
#include "fusion/ignore.h"
#include "fusion/map.h"

#ifdef __linux__
/* Everything that can change what a builder or helm would read; reads
 * (IN_ACCESS, IN_CLOSE_NOWRITE), such as fusion's own hashing, are not. */
#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | \
	IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)
#endif

struct root {
	char *path;			/* absolute */
	char *key;			/* identity of the ignore rules ("" for none) */
	const struct fx_ignore *ig;	/* tree only; may be NULL */
	bool file;
	bool named;			/* named again since watch_begin */
	bool stale;			/* must be walked (again) at watch_end */
	bool rekeyed;			/* its rules changed: drop its watches first */
	bool attached;			/* file: counted in its directory's nfiles */
};

/* A directory holding an inotify watch. */
struct dir {
	int wd;
	char *path;
	struct root **trees;		/* tree roots whose walk reached it */
	size_t ntrees;
	size_t nfiles;			/* file roots that live in it */
};

/* Stat data of one path, as the polling walk last saw it. */
struct sent {
	int64_t size, mtime, ctime;
	uint64_t ino;
	uint32_t mode;
	bool seen;
	char path[];
};

struct snap {
	struct fx_map map;		/* path -> struct sent */
	struct sent **v;
	size_t n, cap;
};

struct fx_watch {
	int fd;				/* inotify, -1 when polling */
	bool polling;
	int poll_ms;
	int64_t next_poll;		/* monotonic ns */
	bool lost;			/* changes were lost: say so at the next read */
	struct root **roots;
	size_t nroots, caproots;
	struct fx_map files;		/* path of a file root -> its root */
	struct dir **bywd;		/* indexed by watch descriptor */
	size_t capwd, ndirs;
	struct fx_strv excluded;
	struct snap snap;
	/* Since the last watch_settle: each path reported, mapped to &born if
	 * its first event made it (it did not exist before), else to &seen. */
	struct fx_map batch;
};

static char born, seen;

/* What one watch_read or walk reports: each path once. */
struct out {
	struct fx_strv *v;
	struct fx_map seen;
	struct fx_map *batch;
};

static int64_t
mono_ns(void)
{
	return (int64_t)(now_mono() * 1e9);
}

/* Report path, which the event made (`made`: created, or moved in with a
 * directory) or changed. */
static void
report(struct out *o, const char *path, bool made)
{
	if (!o)
		return;
	if (o->batch)
		map_add(o->batch, path, made ? &born : &seen);
	if (map_get(&o->seen, path))
		return;
	strv_push(o->v, path);
	map_put(&o->seen, o->v->v[o->v->n - 1], o->v->v[o->v->n - 1]);
}

static bool
excluded(const struct fx_watch *w, const char *path)
{
	for (size_t i = 0; i < w->excluded.n; i++)
		if (path_under(path, w->excluded.v[i]))
			return true;
	return false;
}

/* Is `path` (under tree root r) left out by r's rules? */
static bool
ignored(const struct root *r, const char *path, bool is_dir)
{
	const char *rel = path_under(path, r->path);

	if (!rel)
		return true;
	return *rel && r->ig && ignore_match(r->ig, rel, is_dir);
}

static bool
prunable(const struct root *r, const char *path)
{
	const char *rel = path_under(path, r->path);

	return !rel || (*rel && r->ig && ignore_dir_prunable(r->ig, rel));
}

/* Does a current root cover `path`? (Polling: a path no walk saw any more
 * was removed, unless its root went or its rules now leave it out.) */
static bool
covered(const struct fx_watch *w, const char *path, bool is_dir)
{
	if (map_get(&w->files, path))
		return true;
	for (size_t i = 0; i < w->nroots; i++)
		if (!w->roots[i]->file && !ignored(w->roots[i], path, is_dir))
			return true;
	return false;
}

/* ---- polling: stat snapshots ---- */

static void
snap_free(struct snap *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	if (s->map.cap)
		map_free(&s->map);
	*s = (struct snap){0};
}

/* Record path's stat data (once per path). Returns the entry, or NULL if
 * it was there already. */
static struct sent *
snap_add(struct snap *s, const char *path, const struct stat *st)
{
	if (!s->map.cap)
		map_init(&s->map, 256);
	if (map_get(&s->map, path))
		return NULL;
	size_t len = strlen(path);
	struct sent *e = xmalloc(sizeof(*e) + len + 1);
	*e = (struct sent){.size = st->st_size, .ino = st->st_ino, .mode = st->st_mode,
	    .mtime = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
	    .ctime = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec};
	memcpy(e->path, path, len + 1);
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n++] = e;
	map_put(&s->map, e->path, e);
	return e;
}

static bool
same_stat(const struct sent *a, const struct sent *b)
{
	return a->size == b->size && a->mtime == b->mtime && a->ctime == b->ctime &&
	    a->ino == b->ino && a->mode == b->mode;
}

/*
 * The one walk of a tree root r from `top`: directories the rules prune
 * are never read; `enter` (may be NULL) is called for each directory
 * before it is read (false: skip it), `visit` for each entry the rules
 * keep. With `stat_all` every entry is lstat'ed (else only those whose
 * type readdir does not give); `st` is NULL when not.
 */
struct visitor {
	bool (*enter)(struct fx_watch *w, struct root *r, const char *dir, void *ctx);
	void (*visit)(const char *path, const struct stat *st, bool dir, void *ctx);
	bool stat_all;
	void *ctx;
};

static bool
tree_walk(struct fx_watch *w, struct root *r, const char *top, const struct visitor *v)
{
	struct fx_strv todo = {0};
	bool entered = false;

	strv_push(&todo, top);
	/* An inotify walk stops when the watcher falls back to polling. */
	for (size_t i = 0; i < todo.n && !(v->enter && w->polling); i++) {
		if (excluded(w, todo.v[i]) || (v->enter && !v->enter(w, r, todo.v[i], v->ctx)))
			continue;
		entered |= i == 0;
		DIR *dp = opendir(todo.v[i]);
		struct dirent *e;
		if (!dp)
			continue;
		while ((e = readdir(dp))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char *p = xasprintf("%s/%s", todo.v[i], e->d_name);
			struct stat st;
			bool have = false;
			if (v->stat_all || e->d_type == DT_UNKNOWN) {
				have = lstat(p, &st) == 0;
				if (!have) {	/* vanished meanwhile */
					free(p);
					continue;
				}
			}
			bool dir = have ? S_ISDIR(st.st_mode) : e->d_type == DT_DIR;
			if (excluded(w, p) || (dir ? prunable(r, p) : ignored(r, p, false))) {
				free(p);
				continue;
			}
			if (!dir || !ignored(r, p, true))
				v->visit(p, have ? &st : NULL, dir, v->ctx);
			if (dir)
				strv_take(&todo, p);
			else
				free(p);
		}
		closedir(dp);
	}
	strv_free(&todo);
	return entered;
}

static void
snap_visit(const char *path, const struct stat *st, bool dir, void *ctx)
{
	snap_add(ctx, path, st);
}

/* Walk root r into s: every path its rules keep, with its stat data. */
static void
snap_root(struct fx_watch *w, struct root *r, struct snap *s)
{
	struct stat st;
	const struct visitor v = {NULL, snap_visit, true, s};

	if (r->file) {
		if (stat(r->path, &st) == 0)
			snap_add(s, r->path, &st);
		return;
	}
	if (excluded(w, r->path) || stat(r->path, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	snap_add(s, r->path, &st);
	tree_walk(w, r, r->path, &v);
}

/* One polling walk over every root: report what differs from the last. */
static void
poll_scan(struct fx_watch *w, struct out *o)
{
	struct snap now = {0};

	for (size_t i = 0; i < w->nroots; i++)
		snap_root(w, w->roots[i], &now);
	for (size_t i = 0; i < now.n; i++) {
		struct sent *old = w->snap.map.cap ? map_get(&w->snap.map, now.v[i]->path) : NULL;
		if (old)
			old->seen = true;
		/* A directory's own times move with its entries, which are
		 * reported themselves: only its appearance and mode count. */
		if (!old || (S_ISDIR(old->mode) ? old->mode != now.v[i]->mode :
		    !same_stat(old, now.v[i])))
			report(o, now.v[i]->path, !old);
	}
	for (size_t i = 0; i < w->snap.n; i++) {
		struct sent *e = w->snap.v[i];
		if (!e->seen && covered(w, e->path, S_ISDIR(e->mode)))
			report(o, e->path, false);
	}
	snap_free(&w->snap);
	w->snap = now;
	w->next_poll = mono_ns() + (int64_t)w->poll_ms * 1000000;
}

/* ---- inotify ---- */

static void
warn_fallback(struct fx_watch *w, const char *what, int err)
{
	char *limit = NULL;
	size_t len;

	/* The limit of this user namespace (Linux 5.11 on); the sysctl's
	 * value elsewhere, and what a user raises either way. */
	if (read_file("/proc/sys/user/max_inotify_watches", &limit, &len) == 0 ||
	    read_file("/proc/sys/fs/inotify/max_user_watches", &limit, &len) == 0)
		limit[strcspn(limit, "\n")] = '\0';
	if (err == ENOSPC) {
		fx_warn("inotify: the limit of watches per user is reached (fs.inotify.max_user_watches"
		    " = %s); watching by polling every %.1fs instead, which costs CPU", limit ? limit : "?",
		    w->poll_ms / 1000.0);
		fx_note("raise it: sudo sysctl fs.inotify.max_user_watches=524288 (and put the line"
		    " in /etc/sysctl.d/ to keep it)");
	} else if (err == EMFILE) {
		fx_warn("inotify: no instance left (fs.inotify.max_user_instances is reached); watching"
		    " by polling every %.1fs instead", w->poll_ms / 1000.0);
		fx_note("raise it: sudo sysctl fs.inotify.max_user_instances=512");
	} else {
		fx_warn("%s: %s; watching by polling every %.1fs instead", what, strerror(err),
		    w->poll_ms / 1000.0);
	}
	free(limit);
}

static void
dir_free(struct dir *d)
{
	free(d->path);
	free(d->trees);
	free(d);
}

/* Mark the roots that lose their watches with d (its top directory, or the
 * directory of a file root) to be walked again at the next sync. */
static void
roots_lose(struct fx_watch *w, const struct dir *d)
{
	for (size_t i = 0; i < d->ntrees; i++)
		if (strcmp(d->trees[i]->path, d->path) == 0)
			d->trees[i]->stale = true;
	for (size_t i = 0; d->nfiles && i < w->nroots; i++) {
		struct root *r = w->roots[i];
		if (!r->file)
			continue;
		char *parent = path_dir(r->path);
		if (strcmp(parent, d->path) == 0) {
			r->stale = true;
			r->attached = false;
		}
		free(parent);
	}
}

/* Forget the directory of watch descriptor wd; with `rm`, also remove the
 * watch from the kernel (otherwise it is gone already: IN_IGNORED). */
static void
forget(struct fx_watch *w, int wd, bool rm)
{
	struct dir *d = w->bywd[wd];

#ifdef __linux__
	if (rm && w->fd >= 0)
		inotify_rm_watch(w->fd, wd);
#else
	(void)rm;
#endif
	roots_lose(w, d);
	dir_free(d);
	w->bywd[wd] = NULL;
	w->ndirs--;
}

/* Remove the watches of `path` and of every directory below it. */
static void
forget_below(struct fx_watch *w, const char *path)
{
	for (size_t wd = 0; wd < w->capwd; wd++)
		if (w->bywd[wd] && path_under(w->bywd[wd]->path, path))
			forget(w, (int)wd, true);
}

static void
forget_all(struct fx_watch *w)
{
	for (size_t wd = 0; wd < w->capwd; wd++)
		if (w->bywd[wd]) {
			dir_free(w->bywd[wd]);
			w->bywd[wd] = NULL;
		}
	w->ndirs = 0;
}

/* Give up inotify: from now on every poll interval walks the roots. */
static void
fall_back(struct fx_watch *w, const char *what, int err)
{
	warn_fallback(w, what, err);
	w->polling = true;
	w->lost = true;
}

/* After fall_back: drop the inotify state, take the first snapshot. Run
 * where no dir pointer is held. */
static void
settle(struct fx_watch *w)
{
	if (!w->polling || w->fd < 0)
		return;
	close(w->fd);
	w->fd = -1;
	forget_all(w);
	snap_free(&w->snap);
	poll_scan(w, NULL);
}

/* Watch directory `path`, or find its watch. NULL if it cannot be watched
 * (gone, not a directory, no permission, or the limit: then fall back). */
static struct dir *
watch_dir(struct fx_watch *w, const char *path)
{
#ifdef __linux__
	int wd = inotify_add_watch(w->fd, path, WATCH_MASK);

	if (wd < 0) {
		if (errno == ENOSPC || errno == ENOMEM)
			fall_back(w, "inotify_add_watch", ENOSPC);
		else if (errno != ENOENT && errno != ENOTDIR && errno != EACCES)
			fx_debug("watch %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((size_t)wd >= w->capwd) {
		size_t cap = w->capwd ? w->capwd : 64;
		while (cap <= (size_t)wd)
			cap *= 2;
		w->bywd = xreallocarray(w->bywd, cap, sizeof(*w->bywd));
		memset(w->bywd + w->capwd, 0, (cap - w->capwd) * sizeof(*w->bywd));
		w->capwd = cap;
	}
	if (!w->bywd[wd]) {
		struct dir *d = xcalloc(1, sizeof(*d));
		d->wd = wd;
		d->path = xstrdup(path);
		w->bywd[wd] = d;
		w->ndirs++;
	}
	return w->bywd[wd];
#else
	(void)w;
	(void)path;
	return NULL;
#endif
}

static void
attach(struct dir *d, struct root *r)
{
	for (size_t i = 0; i < d->ntrees; i++)
		if (d->trees[i] == r)
			return;
	d->trees = xreallocarray(d->trees, d->ntrees + 1, sizeof(*d->trees));
	d->trees[d->ntrees++] = r;
}

/* tree_walk's enter for inotify: the watch first, then the reading. */
static bool
watch_enter(struct fx_watch *w, struct root *r, const char *dir, void *ctx)
{
	struct dir *d = watch_dir(w, dir);

	if (d)
		attach(d, r);
	return d != NULL;
}

/* What the walk of a directory that just appeared finds appeared with it. */
static void
report_visit(const char *path, const struct stat *st, bool dir, void *ctx)
{
	report(ctx, path, true);
}

/*
 * Watch every directory of tree root r from `top` down that its rules
 * keep: each watch is added before its directory is read, so nothing
 * created meanwhile goes unseen. With `o`, report what the walk finds (a
 * directory that just appeared: its files may predate its watch). True if
 * `top` itself is watched.
 */
static bool
walk(struct fx_watch *w, struct root *r, const char *top, struct out *o)
{
	const struct visitor v = {watch_enter, report_visit, false, o};

	return tree_walk(w, r, top, &v);
}

/* A file root: a watch on its directory; the file is matched by name. */
static bool
watch_file_root(struct fx_watch *w, struct root *r)
{
	char *parent = path_dir(r->path);
	struct dir *d = excluded(w, r->path) ? NULL : watch_dir(w, parent);

	if (d && !r->attached) {
		d->nfiles++;
		r->attached = true;
	}
	free(parent);
	return d != NULL;
}

#ifdef __linux__
/* One event of directory d's watch. */
static void
on_event(struct fx_watch *w, const struct inotify_event *ev, struct out *o)
{
	struct dir *d = ev->wd >= 0 && (size_t)ev->wd < w->capwd ? w->bywd[ev->wd] : NULL;

	if (!d)
		return;
	if (ev->mask & IN_IGNORED) {	/* deleted, or moved and removed by us */
		forget(w, ev->wd, false);
		return;
	}
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
		for (size_t i = 0; i < d->ntrees; i++)
			if (strcmp(d->trees[i]->path, d->path) == 0)
				report(o, d->path, false);
		if (ev->mask & IN_MOVE_SELF)	/* its path is wrong now */
			forget(w, ev->wd, true);
		return;
	}
	if (!ev->len)
		return;
	char *p = xasprintf("%s/%s", d->path, ev->name);
	bool dir = ev->mask & IN_ISDIR;
	if (excluded(w, p)) {
		free(p);
		return;
	}
	bool made = ev->mask & IN_CREATE;
	if (map_get(&w->files, p))
		report(o, p, made);
	if (dir && (ev->mask & IN_MOVED_FROM))
		forget_below(w, p);
	/* Walking a new directory may add trees to d: iterate over a copy. */
	size_t n = d->ntrees;
	struct root **trees = xcalloc(n + 1, sizeof(*trees));
	if (n)
		memcpy(trees, d->trees, n * sizeof(*trees));
	for (size_t i = 0; i < n && !w->polling; i++) {
		struct root *r = trees[i];
		if (dir && prunable(r, p))
			continue;
		if (!ignored(r, p, dir))
			report(o, p, made);
		if (dir && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
			walk(w, r, p, o);
	}
	free(trees);
	free(p);
}
#endif

/* ---- the API ---- */

struct fx_watch *
watch_new(int poll_ms)
{
	struct fx_watch *w = xcalloc(1, sizeof(*w));

	w->fd = -1;
	w->batch.own = true;
	w->poll_ms = poll_ms > 0 ? poll_ms : FX_WATCH_POLL_MS;
	map_init(&w->files, 16);
	if (poll_ms > 0) {
		w->polling = true;
		return w;
	}
#ifdef __linux__
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		warn_fallback(w, "inotify_init1", errno);
		w->polling = true;
	}
#else
	fx_warn("no inotify on this system: watching by polling every %.1fs", w->poll_ms / 1000.0);
	w->polling = true;
#endif
	return w;
}

static void
root_free(struct root *r)
{
	free(r->path);
	free(r->key);
	free(r);
}

void
watch_free(struct fx_watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	forget_all(w);
	free(w->bywd);
	for (size_t i = 0; i < w->nroots; i++)
		root_free(w->roots[i]);
	free(w->roots);
	map_free(&w->files);
	strv_free(&w->excluded);
	snap_free(&w->snap);
	map_free(&w->batch);
	free(w);
}

void
watch_exclude(struct fx_watch *w, const char *path)
{
	if (!strv_has(&w->excluded, path))
		strv_push(&w->excluded, path);
}

void
watch_begin(struct fx_watch *w)
{
	for (size_t i = 0; i < w->nroots; i++)
		w->roots[i]->named = false;
}

static void
name_root(struct fx_watch *w, const char *path, bool file, const struct fx_ignore *ig,
    const char *key)
{
	char *clean = path_clean(path);

	if (!key)
		key = "";
	for (size_t i = 0; i < w->nroots; i++) {
		struct root *r = w->roots[i];
		if (r->file != file || strcmp(r->path, clean) != 0)
			continue;
		if (strcmp(r->key, key) != 0) {	/* new rules: walk again */
			free(r->key);
			r->key = xstrdup(key);
			r->stale = r->rekeyed = true;
		}
		r->ig = ig;
		r->named = true;
		free(clean);
		return;
	}
	struct root *r = xcalloc(1, sizeof(*r));
	r->path = clean;
	r->key = xstrdup(key);
	r->ig = ig;
	r->file = file;
	r->named = r->stale = true;
	if (w->nroots == w->caproots) {
		w->caproots = w->caproots ? 2 * w->caproots : 16;
		w->roots = xreallocarray(w->roots, w->caproots, sizeof(*w->roots));
	}
	w->roots[w->nroots++] = r;
}

void
watch_tree(struct fx_watch *w, const char *dir, const struct fx_ignore *ig, const char *ig_key)
{
	name_root(w, dir, false, ig, ig_key);
}

void
watch_file(struct fx_watch *w, const char *path)
{
	name_root(w, path, true, NULL, "");
}

/* Detach root r from every directory; a directory nobody needs any more
 * loses its watch. */
static void
detach(struct fx_watch *w, struct root *r)
{
	char *parent = r->file && r->attached ? path_dir(r->path) : NULL;

	r->attached = false;
	for (size_t wd = 0; wd < w->capwd; wd++) {
		struct dir *d = w->bywd[wd];
		if (!d)
			continue;
		if (parent && d->nfiles && strcmp(d->path, parent) == 0)
			d->nfiles--;
		for (size_t i = 0; i < d->ntrees; i++)
			if (d->trees[i] == r) {
				d->trees[i] = d->trees[--d->ntrees];
				break;
			}
		if (!d->ntrees && !d->nfiles) {
#ifdef __linux__
			inotify_rm_watch(w->fd, d->wd);
#endif
			dir_free(d);
			w->bywd[wd] = NULL;
			w->ndirs--;
		}
	}
	free(parent);
}

int
watch_end(struct fx_watch *w)
{
	size_t k = 0;

	for (size_t i = 0; i < w->nroots; i++) {
		struct root *r = w->roots[i];
		if (r->named) {
			w->roots[k++] = r;
			continue;
		}
		if (!w->polling)
			detach(w, r);
		root_free(r);
	}
	w->nroots = k;
	map_free(&w->files);
	map_init(&w->files, w->nroots);
	for (size_t i = 0; i < w->nroots; i++)
		if (w->roots[i]->file)
			map_put(&w->files, w->roots[i]->path, w->roots[i]);
	/* Files first: they are few, and hold the catalog. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < w->nroots && !w->polling; i++) {
			struct root *r = w->roots[i];
			if (!r->stale || r->file != (pass == 0))
				continue;
			if (r->rekeyed)
				detach(w, r);
			r->rekeyed = false;
			bool ok = r->file ? watch_file_root(w, r) : walk(w, r, r->path, NULL);
			r->stale = !ok;	/* gone: tried again at the next sync */
		}
	if (!w->polling)
		return 0;
	if (w->fd >= 0) {
		settle(w);	/* the first snapshot covers every root */
	} else {
		/* New roots join the snapshot without being reported. */
		for (size_t i = 0; i < w->nroots; i++)
			if (w->roots[i]->stale)
				snap_root(w, w->roots[i], &w->snap);
		if (!w->next_poll)
			w->next_poll = mono_ns() + (int64_t)w->poll_ms * 1000000;
	}
	for (size_t i = 0; i < w->nroots; i++)
		w->roots[i]->stale = w->roots[i]->rekeyed = false;
	return 0;
}

int
watch_fd(const struct fx_watch *w)
{
	return w->polling ? -1 : w->fd;
}

int
watch_timeout(const struct fx_watch *w)
{
	if (!w->polling)
		return -1;
	int64_t left = w->next_poll - mono_ns();
	return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

int
watch_read(struct fx_watch *w, struct fx_strv *changed)
{
	struct out o = {.v = changed, .batch = &w->batch};

	map_init(&o.seen, 64);
	for (size_t i = 0; i < changed->n; i++)
		map_put(&o.seen, changed->v[i], changed->v[i]);
#ifdef __linux__
	/* Aligned as inotify(7) asks. */
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (!w->polling && w->fd >= 0) {
		ssize_t len = read(w->fd, buf, sizeof buf);
		if (len <= 0)
			break;
		for (char *p = buf; p < buf + len && !w->polling;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				/* Lost: the next sync walks everything again, for the
				 * directories whose creation went unseen. */
				w->lost = true;
				for (size_t i = 0; i < w->nroots; i++)
					w->roots[i]->stale = true;
			} else {
				on_event(w, ev, &o);
			}
			p += sizeof(*ev) + ev->len;
		}
	}
#endif
	if (w->polling && w->fd >= 0)
		settle(w);
	else if (w->polling && watch_timeout(w) == 0)
		poll_scan(w, &o);
	map_free(&o.seen);
	int lost = w->lost;
	w->lost = false;
	return lost;
}

void
watch_settle(struct fx_watch *w, struct fx_strv *changed)
{
	size_t k = 0;
	struct stat st;

	for (size_t i = 0; i < changed->n; i++) {
		char *p = changed->v[i];
		if (map_get(&w->batch, p) == &born && lstat(p, &st) < 0 && errno == ENOENT)
			free(p);
		else
			changed->v[k++] = p;
	}
	changed->n = k;
	map_free(&w->batch);
}

bool
watch_polling(const struct fx_watch *w)
{
	return w->polling;
}

size_t
watch_dirs(const struct fx_watch *w)
{
	return w->ndirs;
}
