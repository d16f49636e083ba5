/*
 * containerfile.h - what a Containerfile (Dockerfile) makes its build read,
 * beyond the files it copies from the context: the images it starts from
 * or copies from, the context files its RUN steps bind-mount, the remote
 * sources it ADDs.
 *
 * The reader follows the Dockerfile syntax as buildah (podman) and BuildKit
 * read it:
 *   - parser directives at the very top (`# escape=`), `\` (or the escape
 *     character) continuing a line, comment lines inside a continuation
 *     dropped;
 *   - heredocs (`RUN <<EOF`, `COPY <<EOF /f`, `<<-`, quoted words): their
 *     bodies are skipped; a heredoc source is no context file;
 *   - stages: `FROM image [AS name]`; a later FROM, COPY --from or mount
 *     `from=` naming an earlier stage (by name, case-insensitively, or by
 *     index) reads that stage, not an image; `scratch` is no image;
 *   - ARG: those before the first FROM are the global ones (the only ones
 *     FROM lines see); an `ARG X` in a stage brings the global value in;
 *     the catalog's build args override the defaults of declared ARGs;
 *     ENV sets a variable for the rest of its stage;
 *   - substitution in FROM, COPY/ADD and RUN --mount: `$X`, `${X}`,
 *     `${X:-word}`, `${X-word}`, `${X:+word}`, `${X+word}`; an unset
 *     variable is empty;
 *   - `COPY/ADD [--from=X] [--chown=..] SRC... DEST`, also in JSON form;
 *     `RUN --mount=type=bind,source=S,from=X,target=T` (type=cache, tmpfs,
 *     secret and ssh mounts read no context file); `ADD http(s)://...`
 *     (with `--checksum=`) and `ADD` of a git URL.
 *
 * Only the stages up to `target` (when given) count. The reader never fails:
 * a line it does not understand reads nothing, so junk is not a crash but,
 * at worst, an input fewer than podman reads (the context and the
 * Containerfile's own text are inputs anyway).
 */
#ifndef FUSION_CONTAINERFILE_H
#define FUSION_CONTAINERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "fusion/util.h"

/* A build variable: a catalog build arg (K=V) or a predefined ARG. */
struct fx_cf_var {
	const char *key, *value;
};

struct fx_containerfile {
	struct fx_strv images;		/* images read (FROM, COPY --from, mount from), each once */
	struct fx_strv sources;		/* COPY/ADD sources in the context, as written (cleaned) */
	struct fx_strv binds;		/* bind-mount sources in the context ("." for the root) */
	struct fx_strv urls;		/* ADD http(s) sources, each once */
	struct fx_strv checksums;	/* per url: its --checksum= ("" when none) */
	struct fx_strv gits;		/* ADD git sources, each once */
	bool copies;			/* some COPY/ADD reads the context */
	size_t stages;			/* FROM lines that count */
};

/*
 * Read the Containerfile `text` (len bytes, need not be NUL-terminated)
 * with the build args `args` (nargs; they override ARG defaults) and the
 * build target `target` (NULL: the last stage) into *cf, which the caller
 * zeroes first and frees with containerfile_free.
 */
void containerfile_read(const char *text, size_t len, const struct fx_cf_var *args, size_t nargs,
    const char *target, struct fx_containerfile *cf);
void containerfile_free(struct fx_containerfile *cf);

/* Is `src` (an ADD source) a git repository URL, as BuildKit and buildah
 * tell one: git://, git@host:, or http(s) ending in .git (before a '#')? */
bool containerfile_is_git(const char *src);
/* Is a git source pinned to a commit: a '#' fragment whose ref is 40 hex? */
bool containerfile_git_pinned(const char *src);

#endif
