/*
 * hash.h - content digests: XXH3-128 of bytes and of files, and the Merkle
 * digest of a tree of entries. The parallel walk that finds and hashes a
 * tree's entries through the stat cache is walk.h's.
 *
 * A tree's digest is a Merkle hash over its entries sorted by path (bytewise):
 * for each entry, the relative path, the mode and the content digest. The
 * walk (walk.h) decides which entries a tree has and what their modes say:
 * for a build context, what the builders keep: the file type and all the
 * permission bits (0100600, 0104755, 040700, 010644 a FIFO, 020644 a
 * character device, 0120000 a symlink, whose digest is that of its target
 * text); a directory is an entry "dir/" (with the '/', which sorts it just
 * before what it holds) whose digest is that of no bytes; a FIFO's digest
 * is that of no bytes, a device's that of "major,minor"; a hard link's that
 * of the path it links to. For a chart, content only: every file 0100644.
 * A single file (containerfile, values) counts as git keeps it: 0100644 or
 * 0100755 (the owner exec bit decides).
 *
 * Exactly, the root digest is XXH3-128 over the concatenation, entry after
 * entry in strcmp order of their paths, of
 *
 *     path  NUL  mode as six octal digits ("100644")  NUL  digest
 *
 * where digest is the entry's 16 bytes, hi then lo, each big-endian
 * (hash_pack). A tree with no entries has the digest of no bytes. fx_hash
 * itself is XXH3-128's high64 (hi) and low64 (lo); hash_hex() prints hi
 * then lo.
 *
 * Keys are pure content: no mtimes, no absolute paths.
 */
#ifndef FUSION_HASH_H
#define FUSION_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A 128-bit content digest (XXH3-128). */
typedef struct {
	uint64_t hi, lo;
} fx_hash;

#define FX_HASH_HEX 33	/* 32 hex digits and a NUL */

fx_hash hash_bytes(const void *p, size_t n);
void hash_hex(fx_hash h, char out[FX_HASH_HEX]);
static inline bool
hash_eq(fx_hash a, fx_hash b)
{
	return a.hi == b.hi && a.lo == b.lo;
}
/* Parse 32 hex digits; returns 0 or -1. */
int hash_parse(const char *hex, fx_hash *out);
/* The 16 bytes of a digest, hi then lo, each big-endian: as the Merkle
 * layout hashes it and the stat cache stores it. */
void hash_pack(fx_hash h, unsigned char out[16]);
fx_hash hash_unpack(const unsigned char in[16]);

/* Incremental hashing over several strings (wraps XXH3 streaming state). */
struct fx_hasher;
struct fx_hasher *hasher_new(void);
/* Add a string with a terminating NUL so that ("ab","c") != ("a","bc"). */
void hasher_str(struct fx_hasher *h, const char *s);
fx_hash hasher_done(struct fx_hasher *h);	/* frees h */

/* Hash a file's content now (no stat cache; a link is followed). Returns 0
 * or -1 with errno. */
int hash_file(const char *path, fx_hash *out);

struct fx_tree_entry {
	char *path;		/* relative to the tree root, '/'-separated */
	unsigned mode;		/* type and permission bits (see above) */
	fx_hash hash;		/* content digest (symlink: of its target text) */
};

struct fx_tree {
	char *dir;		/* absolute path that was walked (or the file) */
	struct fx_tree_entry *v;	/* sorted by path */
	size_t n;
	fx_hash root;		/* the Merkle digest */
	int err;		/* 0, or errno of a failure (the walk reports it) */
};

/*
 * Hashing many files on one thread: a read buffer and a hash state kept
 * from one file to the next (the walk keeps one per thread). Not for use
 * by two threads at once.
 */
struct fx_digester;
struct fx_digester *digester_new(void);
void digester_free(struct fx_digester *d);
/* Hash what fd holds. `size` is the size stat saw: a read that comes up
 * short after that many bytes is the end. Returns 0 (*nbytes: bytes read),
 * or -1 with errno. */
int digester_fd(struct fx_digester *d, int fd, int64_t size, fx_hash *out, uint64_t *nbytes);
/* The Merkle digest of n entries sorted by path (the layout above). */
fx_hash digester_tree(struct fx_digester *d, const struct fx_tree_entry *v, size_t n);

#endif
