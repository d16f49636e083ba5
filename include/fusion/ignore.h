/*
 * ignore.h - the ignore rules of a build context (.containerignore,
 * .dockerignore, Containerfile.dockerignore, ..., plus the catalog's
 * build.ignore), read the way the builders read them.
 *
 * Two matchers decide what a builder sends, and they disagree:
 *
 *   - BuildKit (docker): moby's ignorefile.ReadAll, then moby/patternmatcher;
 *   - buildah (podman):  imagebuilder's ParseIgnore, then the PatternMatcher
 *                        of containers/storage's pkg/fileutils.
 *
 * Both take Docker's documented syntax: one pattern per line, '#' comments,
 * "!pattern" exceptions (the last matching pattern wins), '*', '?', "[...]",
 * "**", '\\' escapes, a pattern matching a directory excludes what lies
 * below it, paths relative to the context with '/' separators, the context
 * root never excluded. Where they read the same line differently (engine/
 * ignore.c lists every such place), fusion takes the inclusive reading: a
 * path is excluded only when every reader excludes it, so fusion never
 * leaves out a file some builder sends. A needless rebuild beats a stale
 * image.
 *
 * A reader's refusal of a pattern (podman and docker fail the build on it)
 * is an error for the readers named strict (the catalog's builder); a
 * reader that refuses rules but is not strict sends nothing at all, so it
 * no longer takes part. A pattern fusion cannot model exactly for a reader
 * (regular expression syntax that leaks through: groups, alternation,
 * '\b', classes with '*' in them) is read inclusively: as an exclusion it
 * excludes nothing, as an exception it re-includes everything.
 *
 * The walk (walk.h) asks ignore_dir_prunable() to skip whole directories:
 * it is true only when every reader excludes the directory and no exception
 * could re-include anything below it.
 */
#ifndef FUSION_IGNORE_H
#define FUSION_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "fusion/util.h"

struct fx_ignore;	/* opaque */

/* The readers. */
enum {
	FX_IGNORE_BUILDKIT = 1,	/* docker: moby's ReadAll and patternmatcher */
	FX_IGNORE_BUILDAH = 2,	/* podman: ParseIgnore and containers/storage */
	FX_IGNORE_ALL = 3,
};

/* An empty rule set (ignores nothing) read by every reader, each strict. */
struct fx_ignore *ignore_new(void);
/* An empty rule set read by `readers`, whose refusals are errors for the
 * readers in `strict` (the builder that will run). */
struct fx_ignore *ignore_new_for(unsigned readers, unsigned strict);
/* Add patterns from the text of an ignore file (lines). `origin` names the
 * file for error messages. Returns 0, or -1 after reporting a pattern a
 * strict reader refuses as "origin:line: ...". */
int ignore_add_text(struct fx_ignore *ig, const char *text, size_t len, const char *origin);
/* Add one pattern as written (may start with '!'): it is read as one line
 * of an ignore file, so a blank one or one starting with '#' adds nothing.
 * Same return as above. */
int ignore_add_pattern(struct fx_ignore *ig, const char *pattern, const char *origin, int line);
void ignore_free(struct fx_ignore *ig);

/* Number of patterns the first reader that takes part holds. */
size_t ignore_count(const struct fx_ignore *ig);

/* Is the context-relative path excluded (by every reader)? `is_dir` tells
 * whether it is a directory; the builders' rules do not depend on it: it is
 * accepted for the walk's convenience and not consulted. Safe to call from
 * several threads at once. */
bool ignore_match(const struct fx_ignore *ig, const char *relpath, bool is_dir);

/* May the walk skip the directory `relpath` and everything below it? True
 * only if every reader excludes it and no exception pattern could match a
 * path below it. */
bool ignore_dir_prunable(const struct fx_ignore *ig, const char *relpath);

/*
 * podman reads the file given to --ignorefile differently from a context's
 * .containerignore (it does not strip the '/' around each line). Append to
 * `out` the lines of ignore-file `text` written so that podman reads them
 * from --ignorefile exactly as it reads them from the context.
 */
void ignore_for_ignorefile(const char *text, size_t len, struct fx_buf *out);

#endif
