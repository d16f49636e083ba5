/*
 * builder.h - the image builders as ops tables, one file each
 * (rules/builder_podman.c, rules/builder_docker.c), in the manner of
 * redis's ae_*.c back-ends.
 *
 * The catalog names a builder (catalog.h, FX_BUILDERS); builder_of() finds
 * its table. Everything in which podman and docker differ is in that
 * table: nothing else in fusion asks which builder it is. What they share
 * (build with --iidfile, tag, images, image inspect, load -i) takes the
 * table's name as the binary, in rules/builder.c and rules/build.c.
 */
#ifndef FUSION_BUILDER_H
#define FUSION_BUILDER_H

#include <stdbool.h>
#include <stddef.h>

#include "fusion/rules.h"
#include "fusion/walk.h"

/* An ignore file a builder reads: F + name (F the containerfile) when
 * beside_file, else the context's name. */
struct fx_ignore_name {
	bool beside_file;
	const char *name;
};

/* A builder's word on the short names a catalog's builds pull: 0 it
 * resolves them all, 1 it may fail (a warning), 2 it cannot; detail says
 * how or which, hint what to do (NULL when 0); both malloc'ed. */
struct fx_short_names {
	int status;
	char *detail, *hint;
};

struct fx_builder {
	const char *name;	/* as the catalog writes it; also the binary */
	struct fx_tool tool;	/* what `fusion doctor` checks (rules/tools.c) */
	/* `info --format` of the directory holding its images (builder_root). */
	const char *root_format;

	/* The ignore files it reads, in its order: the first one there wins;
	 * and the matcher (ignore.h) whose reading is an error for it. */
	const struct fx_ignore_name *ignore_order;
	size_t nignore_order;
	unsigned ignore_strict;
	/* How it sends a context, as the walk hashes it (walk.h): podman
	 * drops the setuid and setgid bits of what it copies. */
	enum fx_view view;

	/*
	 * The catalog's build.ignore (and the state directory, when it lies in
	 * the context) on top of its own ignore file, for a build of d: sets *file to the containerfile to build from (malloc'ed)
	 * and appends the flags that go after --target to *flags. Returns 0,
	 * or -1 with the reason in *msg. Writes nothing when r->dry_run.
	 */
	int (*extra_ignore)(struct fx_rules *r, struct fx_rule_node *d, char **file,
	    struct fx_strv *flags, struct fx_buf *msg);

	/* argv of saving image `ref` to the archive `path` (builder_save_argv). */
	void (*save_argv)(const char *ref, const char *format, const char *path,
	    struct fx_strv *argv);

	/* Command `step` (0 first) of pushing local image `src` to the registry
	 * reference `dst`, on `registry`; false when there is no such step
	 * (the push is done). */
	bool (*push_argv)(const char *registry, const char *src, const char *dst, int step,
	    struct fx_strv *argv);
	/* What it makes of short image names (no registry: FROM ruby:3.3),
	 * for doctor; NULL: it resolves every one itself. */
	void (*short_names)(const struct fx_strv *names, struct fx_short_names *out);
};

/* The catalog's builder; a catalog built by hand without one has the
 * default (the first of FX_BUILDERS). */
const struct fx_builder *builder_of(const struct fx_catalog *c);

/* The images the containerfile of s pulls (its FROMs, COPY --from and
 * mounts' from=, but scratch and its own stages; the catalog's build args
 * and target as a build has them: containerfile.h), each once, appended. */
void builder_base_images(const struct fx_svc *s, struct fx_strv *out);
/* Does ref name no registry (ruby:3.3, org/app), so that the builder must
 * find one? */
bool builder_short_name(const char *ref);
/* The directory holding the builder's images (BIN info --format
 * ROOT_FORMAT, doctor's disk check), malloc'ed; NULL when it does not say. */
char *builder_root(const struct fx_catalog *c);

/*
 * Write d's ignore rules (its builder's ignore file, then the catalog's
 * build.ignore, then the state directory when it lies in the context) as
 * one file at `path`, each piece passed through `put` (as the builder will
 * read that file). Nothing is written when r->dry_run. Returns 0, or -1 with the reason in *msg (rules/build.c).
 */
int rules_write_ignorefile(struct fx_rules *r, struct fx_rule_node *d, const char *path,
    void (*put)(const char *text, size_t len, struct fx_buf *out), struct fx_buf *msg);

#endif
