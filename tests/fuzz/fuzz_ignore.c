/*
 * fuzz_ignore.c - the ignore rules (ignore.h) on any rules and paths.
 *
 * Input: the text of an ignore file, then optionally a NUL and paths to
 * ask about, separated by NULs. Without paths, each rule line (without its
 * '!') is asked about as a path. Paths are put in the form the walk hands
 * over ("a/b/c": no empty, "." or ".." component).
 *
 * Promises checked (ignore.h):
 *   - the file read whole and the same lines added one by one as patterns
 *     (as the catalog's build.ignore adds them) hold the same rules and
 *     give the same answers (but for a file that starts with a UTF-8 BOM:
 *     BuildKit drops it from the file's first line only, podman keeps it);
 *   - a directory the walk may prune is excluded, and so is every path
 *     below it (pruning never drops a file a builder would send). A path
 *     with a newline is left out of that: podman's matcher does not take
 *     its parent's match across the newline, but its walk never looks
 *     inside the pruned directory either.
 */
#include <stdbool.h>
#include <string.h>

#include "fusion/ignore.h"
#include "fusion/util.h"
#include "fuzz.h"

#define MAX_PATHS 64

/* "a//./b/../c/" -> "a/b/c": components as the walk would name them (a
 * ".." is kept out, not resolved: the walk never meets one). */
static char *
walk_form(const char *s, size_t n)
{
	struct fx_buf b = {0};
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != '/')
			j++;
		bool dots = (j - i == 1 && s[i] == '.') || (j - i == 2 && s[i] == '.' && s[i + 1] == '.');
		if (j > i && !dots) {
			if (b.len)
				buf_putc(&b, '/');
			buf_printf(&b, "%.*s", (int)(j - i), s + i);
		}
		i = j + 1;
	}
	return buf_detach(&b);
}

static void
check_path(const struct fx_ignore *all, const struct fx_ignore *each, const char *p)
{
	if (!*p)
		return;
	bool m = ignore_match(all, p, false);
	fuzz_assert(m == ignore_match(each, p, false));
	if (ignore_dir_prunable(all, p))
		fuzz_assert(m);
	/* Every proper parent directory the walk could prune. */
	char *d = xstrdup(p);
	for (char *s = strrchr(d, '/'); s; s = strrchr(d, '/')) {
		*s = '\0';
		if (ignore_dir_prunable(all, d)) {
			fuzz_assert(ignore_match(all, d, true));
			if (!m && !strchr(p, '\n'))
				fuzz_fail("\"%s\" is prunable but \"%s\" below it is not excluded", d, p);
		}
	}
	free(d);
}

/* The lines of text as ignore_add_text splits them (at LF; a CR before it
 * stays, as ignore_add_text leaves it to each reader). */
static void
add_lines(struct fx_ignore *ig, const char *text, size_t len, struct fx_strv *lines)
{
	const char *end = text + len;

	for (int line = 1; text < end; line++) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		size_t n = (size_t)((nl ? nl : end) - text);
		char *s = xstrndup(text, n);
		ignore_add_pattern(ig, s, "fusion.yaml", line);
		strv_take(lines, s);
		text = nl ? nl + 1 : end;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nul = memchr(in, '\0', size);
	size_t tlen = nul ? (size_t)(nul - in) : size;
	struct fx_ignore *all = ignore_new(), *each = ignore_new();
	struct fx_strv lines = {0}, paths = {0};

	bool bom = tlen >= 3 && memcmp(in, "\xef\xbb\xbf", 3) == 0;

	ignore_add_text(all, in, tlen, ".containerignore");
	add_lines(each, in, tlen, &lines);
	fuzz_assert(bom || ignore_count(all) == ignore_count(each));

	if (nul) {
		for (const char *p = nul + 1, *end = in + size; p < end && paths.n < MAX_PATHS;) {
			const char *z = memchr(p, '\0', (size_t)(end - p));
			size_t n = (size_t)((z ? z : end) - p);
			strv_take(&paths, walk_form(p, n));
			p += n + 1;
		}
	} else {
		for (size_t i = 0; i < lines.n && paths.n < MAX_PATHS; i++) {
			const char *l = lines.v[i] + (lines.v[i][0] == '!');
			strv_take(&paths, walk_form(l, strlen(l)));
		}
	}
	for (size_t i = 0; i < paths.n; i++)
		check_path(all, bom ? all : each, paths.v[i]);

	strv_free(&lines);
	strv_free(&paths);
	ignore_free(all);
	ignore_free(each);
	return 0;
}
