/*
 * internal.h - what the files of the catalog module share and nobody else
 * sees: the YAML node tree (ynode.c), error reporting with a cap and
 * de-duplication, and the loading context that catalog.c
 * fills and validate.c checks.
 *
 * Every function declared here (the linker sees them all) and every struct
 * of the loader carries the prefix cfg_ (the YAML tree's types keep their
 * y: ynode, ydoc), so that no name of config/ collides with another
 * module's.
 */
#ifndef FUSION_CONFIG_INTERNAL_H
#define FUSION_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "fusion/arena.h"
#include "fusion/catalog.h"
#include "fusion/map.h"

/* Limits that keep hostile input cheap. A real catalog is far below each. */
enum {
	CAT_MAX_BYTES = 64 << 20,	/* file size */
	CAT_MAX_NODES = 1000000,	/* YAML nodes in the document */
	CAT_MAX_DEPTH = 64,		/* nesting of collections */
	CAT_MAX_ERRORS = 50,		/* then "too many errors" */
	CAT_MAX_NAME = 53,		/* Helm release names */
};

/*
 * Error reporting for one load: counts, stops printing after CAT_MAX_ERRORS
 * and prints the same message at the same place only once (defaults are
 * merged under every service, so their mistakes would repeat).
 */
struct cfg_report {
	const char *file;	/* as messages show it */
	int n;			/* errors reported (including suppressed) */
	bool last_shown;	/* was the last error printed (for its notes) */
	struct fx_map seen;	/* "line:col:message" already printed */
};

void cfg_rep_error(struct cfg_report *r, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Past the cap: errors are only counted (skip work that only feeds them). */
bool cfg_rep_full(const struct cfg_report *r);
/* A hint under the last error, if that one was printed. */
void cfg_rep_note(struct cfg_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cfg_rep_free(struct cfg_report *r);


/* The YAML tree: nodes live in an arena owned by the document. */
enum ytype { Y_SCALAR, Y_SEQ, Y_MAP, Y_ALIAS };

struct ynode {
	unsigned char type;
	bool plain;		/* plain scalar: may be null */
	bool dup;		/* map key already present earlier: ignore the pair */
	int line, col;		/* 1-based */
	size_t n;		/* scalar length; SEQ items; MAP keys + values */
	union {
		char *s;		/* SCALAR, NUL-terminated */
		struct ynode **kids;	/* SEQ items; MAP k0 v0 k1 v1 ... */
		struct ynode *target;	/* ALIAS */
	} u;
};

struct ydoc {
	struct ynode *root;	/* NULL for an empty stream */
	size_t nodes;
	struct fx_arena arena;
};

/*
 * Parse buf (len bytes, NUL-terminated) into a tree. Reports syntax errors,
 * invalid UTF-8, duplicate keys, unknown aliases and the size limits through
 * r. Returns 0 when the tree is usable (duplicate keys are marked, not
 * fatal), -1 otherwise; doc must be freed in both cases.
 */
int cfg_ydoc_parse(struct ydoc *doc, const char *buf, size_t len, struct cfg_report *r);
void cfg_ydoc_free(struct ydoc *doc);
/* Follow aliases. */
const struct ynode *cfg_yderef(const struct ynode *n);
/* A plain empty, "~" or "null" scalar, or NULL (absent). */
bool cfg_ynull(const struct ynode *n);
/* The text of a scalar (through aliases), else NULL. */
const char *cfg_ytext(const struct ynode *n);

/*
 * What loading knows beyond struct fx_svc: the locations and written form of
 * things validation reports on. One per entry of c->svcs, same order.
 */
struct cfg_extra {
	struct fx_loc build_loc;	/* of "build" (or the name) */
	struct fx_loc context_loc, file_loc;
	struct fx_loc image_loc;
	bool file_given;		/* build.file written (here or in defaults) */
	bool has_chart;
	bool pin_here;			/* `version` written in the entry itself */
	const char *own_key;		/* a service: the first key of a release it writes
					 * itself (chart, values, ...), or NULL */
	struct fx_loc own_key_loc;
};

struct cfg_load {
	struct fx_catalog *c;
	struct cfg_report rep;
	bool check_files;
	struct cfg_extra *ex;		/* parallel to c->svcs */
	size_t capsvcs;
	struct fx_loc root_loc;		/* of workspace.root, else of the top */
	struct fx_svc defs;		/* `defaults`, build paths not yet resolved */
	struct cfg_extra defex;
	long budget;			/* alias expansion and merging left */
	struct fx_arena *arena;		/* the document's: merged nodes of profiles */
	const char *const *profiles;	/* selected, in order */
	size_t nprofiles;
	bool repos_optional;		/* a missing repo is marked, not an error */
	bool aside;			/* walking a profile not selected: no checks across entries */
};

#define ERR(ld, node, ...) cfg_rep_error(&(ld)->rep, (node)->line, (node)->col, __VA_ARGS__)

/* catalog.c: typed access to the tree; wrong types are reported. */
struct cfg_pairs {
	const struct ynode **v;		/* key, value, key, value, ... */
	size_t n, cap;			/* pairs */
};

struct fx_loc cfg_locof(const struct cfg_load *ld, const struct ynode *n);
/* Charge cost to the expansion budget; false (reported once) when spent. */
bool cfg_spend(struct cfg_load *ld, const struct ynode *at, long cost);
/* The pairs of a mapping, merge keys ("<<: *base") expanded, duplicate and
 * non-string keys left out. Free p->v. */
void cfg_map_pairs(struct cfg_load *ld, const struct ynode *map, struct cfg_pairs *p);
/* Index of k's text in keys[], or -1 after reporting an unknown key. */
int cfg_key_index(struct cfg_load *ld, const struct ynode *k, const char *const *keys, size_t n,
    const char *where);
/* The mapping v, NULL when null or (reported) not a mapping. */
const struct ynode *cfg_as_map(struct cfg_load *ld, const struct ynode *v, const char *key);
/* The sequence v, NULL when null or (reported) not a sequence. */
const struct ynode *cfg_as_seq(struct cfg_load *ld, const struct ynode *v, const char *what);
/* The text of a string, NULL when null or (reported) not a non-empty string. */
const char *cfg_as_string(struct cfg_load *ld, const struct ynode *v, const char *key);
bool cfg_dns_label(const char *s, size_t max);

/* entry.c: defaults, shared releases and services. */
void cfg_parse_defaults(struct cfg_load *ld, const struct ynode *v);
void cfg_parse_entries(struct cfg_load *ld, const struct ynode *v, bool shared);
/* Replace *dst with a copy of s (when s is not NULL). */
void cfg_set_str(char **dst, const char *s);
void cfg_list_add(struct fx_list *l, char *s, struct fx_loc loc);
void cfg_list_free(struct fx_list *l);
/* A list of non-empty strings under `key`, each joined to `base` if given. */
void cfg_parse_list(struct cfg_load *ld, const struct ynode *v, const char *key, const char *base,
    struct fx_list *out);
void cfg_kv_free(struct fx_kvlist *kv);
/* image.repository: {repository}, image.tag: {tag}, image.pullPolicy:
 * {pullPolicy}, where a service's chart takes its image unless it says. */
void cfg_image_defaults(struct fx_kvlist *l);
void cfg_svc_free(struct fx_svc *s);

/* chartlock.c: read the lock file (when a chart comes from a repository or
 * a registry) into the entries' chart_version and chart_digest. Returns 0,
 * or -1 after reporting (FILE:LINE:COL of the lock file). */
int cfg_lock_read(struct fx_catalog *c);

/* validate.c: checks across entries and against the file system. */
void cfg_validate(struct cfg_load *ld);

/* catalog.c: walk `top` into a scratch catalog, reporting through ld and
 * then dropping what it made (a profile not selected is checked so). */
void cfg_walk_aside(struct cfg_load *ld, const struct ynode *top);
/* A boolean (true/false, as YAML 1.2 writes them); -1 after reporting,
 * 0 or 1; `dflt` when null. */
int cfg_as_bool(struct cfg_load *ld, const struct ynode *v, const char *key, int dflt);

/* profile.c: `profiles`. The tree `top` with the selected profiles laid
 * over it, in order (unknown names reported, with did-you-mean), the
 * others walked aside; `key`/`v`: the top's `profiles` pair, or NULL. */
const struct ynode *cfg_profiles(struct cfg_load *ld, struct fx_arena *a, const struct ynode *top,
    const struct ynode *key, const struct ynode *v);
/* `over` laid over `base`: mappings merge, anything else replaces. */
const struct ynode *cfg_overlay(struct cfg_load *ld, struct fx_arena *a, const struct ynode *base,
    const struct ynode *over, int depth);

#endif
