/*
 * walk.h - the parallel walk: hashes directory trees (build contexts,
 * charts) and single files (values, containerfiles) into struct fx_tree
 * (hash.h: entries, modes, the Merkle digest), through the stat cache.
 *
 * Paths inside a tree are relative to the tree's root; stat cache keys are
 * relative to the workspace root, so a copied workspace re-hashes (new
 * inodes) but yields the same digests.
 *
 * Usage: create a walk with walk_new(), queue trees and files (identical
 * requests are hashed once and share one result), call walk_run(), then
 * read the results; they live until walk_free(). Requests queued after a
 * run are hashed by the next walk_run().
 *
 * The walk runs on a pool of threads sharing one queue of directories to
 * read and batches of files to hash, so one big tree is spread over every
 * thread too. A file the stat cache answers is never opened. Handed a stat
 * cache from statcache_open() whose rows are not read yet, walk_run()
 * reads them on one thread while the others read directories.
 */
#ifndef FUSION_WALK_H
#define FUSION_WALK_H

#include <stdint.h>

#include "fusion/hash.h"

struct fx_ignore;
struct fx_statcache;

/*
 * How a tree is read (hash.h says what its entries are):
 *
 *   FX_VIEW_BUILD  as the image builders send a build context (COPY .):
 *                  regular files, symlinks (never followed), directories
 *                  (entries of their own, empty ones too), FIFOs and
 *                  devices (never opened), each with its permission bits;
 *                  hard links as such; sockets are left out, as podman and
 *                  BuildKit leave them.
 *   FX_VIEW_PODMAN as FX_VIEW_BUILD, as podman sends it: without the
 *                  setuid and setgid bits, which podman strips (podman
 *                  4.3; the sticky bit stays).
 *   FX_VIEW_HELM   as helm loads a chart: the content of every file,
 *                  symlinks followed, to files and to directories (a link
 *                  back into a directory it is inside of is an error, as
 *                  helm fails on it); modes and directories do not count.
 */
enum fx_view {
	FX_VIEW_BUILD,
	FX_VIEW_PODMAN,
	FX_VIEW_HELM,
};

struct fx_walk_stats {
	uint64_t files;		/* entries seen (stat'ed) */
	uint64_t hashed;	/* files whose content was read */
	uint64_t bytes;		/* bytes read */
	uint64_t cache_hits;	/* entries answered by the stat cache */
	uint64_t racy;		/* cache entries not trusted because racily clean */
	uint64_t pruned;	/* directories skipped by ignore rules */
};

struct fx_walk;

/*
 * `root` is the workspace root: stat cache keys are paths relative to it,
 * and absolute for what lies outside it. `sc` may be NULL (no stat cache:
 * every file is read). `threads` <= 0 means the number of CPUs. Relative
 * paths, here and below, are taken from the current directory; paths are
 * cleaned lexically (".." and symlinks in them are not resolved).
 */
struct fx_walk *walk_new(const char *root, struct fx_statcache *sc, int threads);

/*
 * Queue the tree under absolute `dir`, read in `view`, filtered by `ig` (may
 * be NULL; the walk does not take ownership, and `ig` must live until
 * walk_run returns). `ig_key` identifies the rule set for de-duplication
 * (e.g. the ignore text); requests with the same dir, view and ig_key share
 * one result.
 */
const struct fx_tree *walk_tree(struct fx_walk *w, const char *dir, enum fx_view view,
    const struct fx_ignore *ig, const char *ig_key);

/* Queue one file: a tree with one entry whose path is the file's base name.
 * Unlike entries of a tree, a link here is followed, as the tools that read
 * such a file (helm's values, a Containerfile) follow it. Identical paths
 * share one result. */
const struct fx_tree *walk_file(struct fx_walk *w, const char *path);

/*
 * Hash everything queued, in parallel. Missing files and unreadable
 * directories are reported ("fusion: path: reason") and set the tree's err
 * (its first errno; the rest of the tree is still hashed). A file or
 * directory of a tree that is gone between the listing of its directory
 * and its reading is taken as never there: the walk lost a race with
 * whatever removed it, and the next run sees it as it is. Returns 0 if
 * every tree was hashed, -1 otherwise. New digests are handed to the stat
 * cache (statcache_put); saving it is the caller's business.
 */
int walk_run(struct fx_walk *w);

struct fx_walk_stats walk_stats(const struct fx_walk *w);
void walk_free(struct fx_walk *w);

#endif
