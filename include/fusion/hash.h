/*
 * hash.h - content hashing: XXH3-128 digests, and the parallel walk that
 * hashes directory trees (build contexts, charts) and single files (values,
 * containerfiles) through the stat cache.
 *
 * A tree's digest is a Merkle hash over its entries sorted by path (bytewise):
 * for each entry, the relative path, the mode and the content digest. Only
 * what git would keep counts in the mode: regular file 0100644 or 0100755
 * (the owner exec bit decides), symlink 0120000 (its digest is the digest of
 * the link's target text; links are never followed). Directories are implied
 * by their files; empty directories do not count (as in git). Other file
 * types (sockets, fifos, devices) are skipped.
 *
 * Exactly, the root digest is XXH3-128 over the concatenation, entry after
 * entry in strcmp order of their paths, of
 *
 *     path  NUL  mode as six octal digits ("100644")  NUL  digest
 *
 * where digest is the entry's 16 bytes, hi then lo, each big-endian. A tree
 * with no entries has the digest of no bytes. fx_hash itself is XXH3-128's
 * high64 (hi) and low64 (lo); hash_hex() prints hi then lo.
 *
 * Keys are pure content: no mtimes, no absolute paths. Paths inside a tree
 * are relative to the tree's root; stat cache keys are relative to the
 * workspace root, so a copied workspace re-hashes (new inodes) but yields
 * the same digests.
 *
 * Usage: create a run with hashrun_new(), queue trees and files (identical
 * requests are hashed once and share one result), call hashrun_run(), then
 * read the results; they live until hashrun_free(). Requests queued after a
 * run are hashed by the next hashrun_run().
 *
 * The walk runs on a pool of threads sharing one queue of directories to
 * read and batches of files to hash, so one big tree is spread over every
 * thread too. A file the stat cache answers is never opened. Handed a stat
 * cache from statcache_open() whose rows are not read yet, hashrun_run()
 * reads them on one thread while the others read directories.
 */
#ifndef FUSION_HASH_H
#define FUSION_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fx_ignore;
struct fx_statcache;

/* A 128-bit content digest (XXH3-128). */
typedef struct {
	uint64_t hi, lo;
} fx_hash;

#define FX_HASH_HEX 33	/* 32 hex digits and a NUL */

fx_hash hash_bytes(const void *p, size_t n);
void hash_hex(fx_hash h, char out[FX_HASH_HEX]);
bool hash_eq(fx_hash a, fx_hash b);
/* Parse 32 hex digits; returns 0 or -1. */
int hash_parse(const char *hex, fx_hash *out);

/* Incremental hashing over several pieces (wraps XXH3 streaming state). */
struct fx_hasher;
struct fx_hasher *hasher_new(void);
void hasher_add(struct fx_hasher *h, const void *p, size_t n);
/* Add a string with a terminating NUL so that ("ab","c") != ("a","bc"). */
void hasher_str(struct fx_hasher *h, const char *s);
fx_hash hasher_done(struct fx_hasher *h);	/* frees h */

/* Hash a file's content now (no stat cache; a link is followed). Returns 0
 * or -1 with errno. */
int hash_file(const char *path, fx_hash *out);

struct fx_tree_entry {
	char *path;		/* relative to the tree root, '/'-separated */
	unsigned mode;		/* 0100644, 0100755 or 0120000 */
	fx_hash hash;		/* content digest (symlink: of its target text) */
};

struct fx_tree {
	char *dir;		/* absolute path that was walked (or the file) */
	struct fx_tree_entry *v;	/* sorted by path */
	size_t n;
	fx_hash root;		/* the Merkle digest */
	int err;		/* 0, or errno of a failure (the walk reports it) */
};

struct fx_hash_stats {
	uint64_t files;		/* entries seen (stat'ed) */
	uint64_t hashed;	/* files whose content was read */
	uint64_t bytes;		/* bytes read */
	uint64_t cache_hits;	/* entries answered by the stat cache */
	uint64_t racy;		/* cache entries not trusted because racily clean */
	uint64_t pruned;	/* directories skipped by ignore rules */
};

struct fx_hashrun;

/*
 * `root` is the workspace root: stat cache keys are paths relative to it,
 * and absolute for what lies outside it. `sc` may be NULL (no stat cache:
 * every file is read). `threads` <= 0 means the number of CPUs. Relative
 * paths, here and below, are taken from the current directory; paths are
 * cleaned lexically (".." and symlinks in them are not resolved).
 */
struct fx_hashrun *hashrun_new(const char *root, struct fx_statcache *sc, int threads);

/*
 * Queue the tree under absolute `dir`, filtered by `ig` (may be NULL; the run
 * does not take ownership, and `ig` must live until hashrun_run returns).
 * `ig_key` identifies the rule set for de-duplication (e.g. the ignore
 * text); requests with the same dir and ig_key share one result.
 */
const struct fx_tree *hashrun_tree(struct fx_hashrun *r, const char *dir,
    const struct fx_ignore *ig, const char *ig_key);

/* Queue one file: a tree with one entry whose path is the file's base name.
 * Unlike entries of a tree, a link here is followed, as the tools that read
 * such a file (helm's values, a Containerfile) follow it. Identical paths
 * share one result. */
const struct fx_tree *hashrun_file(struct fx_hashrun *r, const char *path);

/*
 * Hash everything queued, in parallel. Missing files and unreadable
 * directories are reported ("fusion: path: reason") and set the tree's err
 * (its first errno; the rest of the tree is still hashed). Returns 0 if
 * every tree was hashed, -1 otherwise. New digests are handed to the stat
 * cache (statcache_put); saving it is the caller's business.
 */
int hashrun_run(struct fx_hashrun *r);

struct fx_hash_stats hashrun_stats(const struct fx_hashrun *r);
void hashrun_free(struct fx_hashrun *r);

#endif
