/*
 * manifest.h - a node's input manifest: the named inputs whose digest is
 * the node's key, kept so that `fusion why` can say what changed.
 *
 * An entry is either a scalar (name -> value text, e.g. "arg:RUBY_VERSION"
 * -> "3.3") or a tree (prefix -> a hashed tree, e.g. "src:" -> the build
 * context). The name's part before the first ':' is its category; the kind
 * that wrote an entry puts its changes into words (fx_kind.describe).
 *
 * The key is XXH3-128 over "fusion-key-N" (N = FX_HASHING), the kind's
 * name, its version in decimal, and the entries sorted by name, each as
 * name NUL value NUL, a tree contributing its prefix and its Merkle root
 * in hex only. So a key needs no per-file work beyond the tree digest, and
 * two machines with the same content agree on it.
 *
 * The serialised form, stored with a node's last success, starts with the
 * line "#hashing N" and expands trees to one line per file: "prefix+path
 * TAB mode:digest"; scalars are "name TAB value". Lines are sorted; names
 * and values never contain TAB or newline (they are escaped as \t and \n,
 * and a backslash as \\).
 *
 * FX_HASHING is how fusion hashes (what a tree holds, what a mode says):
 * it enters every key, so keys made another way never equal today's, and
 * a record says which way it was made (manifest_hashing), so that a node
 * can be stale for that reason rather than for files that seem to change.
 * Version 1 recorded no "#hashing" line; version 3 reads contexts as
 * podman sends them (setuid/setgid dropped) and keys what a
 * Containerfile reads beyond its context.
 */
#ifndef FUSION_MANIFEST_H
#define FUSION_MANIFEST_H

#include <stddef.h>

#include "fusion/hash.h"
#include "fusion/util.h"

struct fx_manifest;

struct fx_manifest *manifest_new(void);
void manifest_free(struct fx_manifest *m);

void manifest_add(struct fx_manifest *m, const char *name, const char *value);
/* `t` must outlive the manifest (it belongs to the hash run). */
void manifest_add_tree(struct fx_manifest *m, const char *prefix, const struct fx_tree *t);

#define FX_HASHING 3
/* Why a node recorded with another FX_HASHING is stale. */
#define FX_HASHING_CHANGED "fusion's hashing changed"

fx_hash manifest_key(struct fx_manifest *m, const char *kind, int version);
char *manifest_serialize(struct fx_manifest *m);
/* The FX_HASHING a serialised manifest was made with. */
int manifest_hashing(const char *serialized);

/* One difference between a recorded manifest and the current one. */
struct fx_change {
	char op;		/* 'A' added, 'M' modified, 'D' deleted */
	char *name;
	char *old, *new;	/* NULL where absent */
};

struct fx_changes {
	struct fx_change *v;
	size_t n;
};

/* The change as a word: "added", "removed" or "changed". */
const char *change_verb(char op);

/* Compare a serialised manifest (old, may be NULL: everything is added)
 * with the current one; changes are sorted by name. */
void manifest_diff(const char *old, struct fx_manifest *cur, struct fx_changes *out);
void changes_free(struct fx_changes *c);

#endif
