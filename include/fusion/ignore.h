/*
 * ignore.h - the ignore rules of a build context (.containerignore, else
 * .dockerignore, plus the catalog's build.ignore), with Docker's documented
 * semantics:
 *
 *   - one pattern per line; blank lines and lines starting with '#' are skipped;
 *     surrounding white space is trimmed;
 *   - patterns are cleaned like Go's filepath.Clean: a leading "/" or "./" is
 *     stripped, "a//b" and "a/./b" collapse, a trailing "/" is dropped;
 *   - matching is Go's filepath.Match per path component: '*' matches any
 *     run of non-'/' characters, '?' one non-'/' character, "[...]" a class
 *     ("[^...]" negated, ranges "a-z"; as in Go and docker, '!' is not a
 *     negation there but a plain character), '\\' escapes;
 *   - "**" matches any number of directories, including none;
 *   - a pattern matching a directory excludes everything below it;
 *   - "!pattern" is an exception that re-includes; the last matching pattern
 *     wins;
 *   - patterns match the path relative to the context root ("a/b/c", no
 *     leading "./"), always with '/' separators; the root itself ("" or
 *     ".") is never excluded;
 *   - a malformed pattern (filepath.Match's ErrBadPattern, or "!" alone)
 *     is an error, as it fails the build in docker.
 *
 * engine/ignore.c follows moby's patternmatcher quirks and all; its header
 * comment lists the few places where it knowingly differs.
 *
 * The walk (walk.h) asks ignore_dir_prunable() to skip whole directories:
 * it is true only when the directory is excluded and no exception pattern
 * could re-include anything below it.
 */
#ifndef FUSION_IGNORE_H
#define FUSION_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

struct fx_ignore;	/* opaque */

/* An empty rule set (ignores nothing). */
struct fx_ignore *ignore_new(void);
/* Add patterns from the text of an ignore file (lines). `origin` names the
 * file for error messages. Returns 0, or -1 after reporting a malformed
 * pattern (e.g. an unterminated '[') as "origin:line: ...". */
int ignore_add_text(struct fx_ignore *ig, const char *text, size_t len, const char *origin);
/* Add one pattern as written (may start with '!'): it is read as one line
 * of an ignore file, so a blank one or one starting with '#' adds nothing.
 * Same return as above. */
int ignore_add_pattern(struct fx_ignore *ig, const char *pattern, const char *origin, int line);
void ignore_free(struct fx_ignore *ig);

/* Number of patterns held. */
size_t ignore_count(const struct fx_ignore *ig);

/* Is the context-relative path excluded? `is_dir` tells whether it is a
 * directory (a file whose parent directory is excluded is excluded too,
 * unless an exception re-includes it).  Docker's rules do not depend on it:
 * it is accepted for the walk's convenience and not consulted.  Safe to
 * call from several threads at once. */
bool ignore_match(const struct fx_ignore *ig, const char *relpath, bool is_dir);

/* May the walk skip the directory `relpath` and everything below it? True
 * only if it is excluded and no exception pattern could match a path below
 * it. */
bool ignore_dir_prunable(const struct fx_ignore *ig, const char *relpath);

#endif
