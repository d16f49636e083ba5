/*
 * watch.h - watching files for changes: what wakes the dev loop
 * (`fusion up --watch`).
 *
 * A watch set is a list of roots: trees (a directory and everything below
 * it that the tree's ignore rules keep) and single files. The watcher says
 * which paths under its roots changed (created, written, removed, renamed,
 * chmod-ed), as absolute paths; never how: the stat cache and the keys
 * decide what a change means. So a missed or doubled event can make a pass
 * late or needless, never wrong.
 *
 * inotify (Linux): one watch per directory, added before the directory is
 * read, so that nothing created meanwhile is missed. The ignore rules
 * prune: a directory they exclude with no exception below it
 * (ignore_dir_prunable) gets no watch at all, so its churn (tmp/, log/,
 * node_modules/) never even wakes fusion; a file they exclude in a watched
 * directory is dropped before it is reported. A single file is watched
 * through its directory and matched by name: editors save by writing a new
 * file and renaming it over the old one, which a watch on the old inode
 * would lose. A directory that appears is walked, watched, and its files
 * are reported (they may have been written before its watch existed).
 * When the kernel's queue overflows (IN_Q_OVERFLOW) events are lost:
 * watch_read says so, and the next sync walks every root again.
 *
 * Polling: where inotify is not available (not Linux, no instance left),
 * or when the watch limit (fs.inotify.max_user_watches) is reached, the
 * watcher warns once, naming the sysctl to raise, and falls back to
 * polling: every poll interval it walks the roots and compares each path's
 * stat data (size, mtime, ctime, inode, mode) with the last walk, as the
 * stat cache does, reading no content. watch_new(poll_ms > 0) polls from
 * the start (network file systems, where inotify sees no remote writes).
 *
 * Idle costs nothing: the caller blocks in poll(2) on watch_fd() with the
 * timeout watch_timeout() gives (-1 with inotify: no timer at all).
 *
 * Paths under an excluded prefix (watch_exclude: fusion's state directory,
 * which a pass writes) are never watched nor reported.
 */
#ifndef FUSION_WATCH_H
#define FUSION_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "fusion/util.h"

struct fx_ignore;
struct fx_watch;

/* Poll interval of the fallback, when none was asked for. */
#define FX_WATCH_POLL_MS 1000

/* poll_ms > 0: poll every poll_ms milliseconds from the start; 0: inotify,
 * falling back to polling every FX_WATCH_POLL_MS. */
struct fx_watch *watch_new(int poll_ms);
void watch_free(struct fx_watch *w);

/* Never watch nor report `path` and what lies below it. */
void watch_exclude(struct fx_watch *w, const char *path);

/*
 * (Re)declare the roots: watch_begin, then every root (again), then
 * watch_end. A root named as before (same path, same ignore key) keeps its
 * watches and is not walked again; a new one, or one whose rules changed,
 * is walked; roots not named again are dropped.
 *
 * watch_tree: the directory `dir` (absolute) and what lies below it, minus
 * what `ig` excludes (may be NULL). `ig` is used until the next
 * watch_begin, so it must live that long; `ig_key` identifies its rules
 * (e.g. the ignore file's text). watch_file: one file (absolute; it need
 * not exist yet).
 *
 * watch_end returns 0. Roots that cannot be watched (a directory that is
 * gone) are tried again at the next sync; the walk of a tree reports
 * nothing, since the caller hashes what it declares.
 */
void watch_begin(struct fx_watch *w);
void watch_tree(struct fx_watch *w, const char *dir, const struct fx_ignore *ig,
    const char *ig_key);
void watch_file(struct fx_watch *w, const char *path);
int watch_end(struct fx_watch *w);

/* The descriptor to poll for POLLIN (inotify), or -1 when polling. */
int watch_fd(const struct fx_watch *w);
/* Milliseconds until watch_read has something to look at when polling
 * (0: now), or -1 with inotify (wait for watch_fd). */
int watch_timeout(const struct fx_watch *w);

/*
 * What changed since the last call, without blocking: appends absolute
 * paths to *changed (each at most once per call). Returns 0, or 1 when
 * changes were lost (the kernel's queue overflowed, or the watcher just
 * fell back to polling): anything under the roots may have changed.
 */
int watch_read(struct fx_watch *w, struct fx_strv *changed);

/*
 * Drop from `changed` (paths watch_read gave) those that came and went
 * since the last call: made by their first event (created, or brought in
 * with a directory) and gone now. A file that did not exist before and
 * does not exist now is no change: an editor's or sed -i's temp file,
 * renamed over the file it saves, a build tool's scratch file. Then start
 * over: the next call looks at what comes after this one.
 */
void watch_settle(struct fx_watch *w, struct fx_strv *changed);

/* Is the watcher polling (fallback or asked for)? */
bool watch_polling(const struct fx_watch *w);
/* Directories holding an inotify watch (0 when polling). */
size_t watch_dirs(const struct fx_watch *w);

#endif
