/*
 * fuzz_containerfile.c - the Containerfile reader (containerfile.h) on any
 * text.
 *
 * Input: the text of a Containerfile, read once with no build arg and no
 * target, once with a build arg and the target "b".
 *
 * Promises checked (containerfile.h):
 *   - it returns, whatever the text (no crash, no endless loop);
 *   - each url has its checksum, and no list holds an entry twice or an
 *     empty one;
 *   - context paths are cleaned: relative, no "." or ".." component (a
 *     source can never name a file outside the context).
 */
#include <stdbool.h>
#include <string.h>

#include "fusion/containerfile.h"
#include "fusion/util.h"
#include "fuzz.h"

static void
check_list(const struct fx_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		fuzz_assert(sv->v[i][0] != '\0');
		for (size_t j = 0; j < i; j++)
			fuzz_assert(strcmp(sv->v[i], sv->v[j]) != 0);
	}
}

static void
check_paths(const struct fx_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		const char *p = sv->v[i];
		if (strcmp(p, ".") == 0)
			continue;
		fuzz_assert(p[0] != '/');
		char *c = xstrdup(p);
		for (char *save = NULL, *s = strtok_r(c, "/", &save); s; s = strtok_r(NULL, "/", &save))
			if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
				fuzz_fail("\"%s\" is not a clean context path", p);
		free(c);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fx_cf_var args[] = {{"TAG", "2"}};

	for (int pass = 0; pass < 2; pass++) {
		struct fx_containerfile cf = {0};
		containerfile_read((const char *)data, size, pass ? args : NULL, pass ? 1 : 0,
		    pass ? "b" : NULL, &cf);
		fuzz_assert(cf.urls.n == cf.checksums.n);
		check_list(&cf.images);
		check_list(&cf.sources);
		check_list(&cf.binds);
		check_list(&cf.urls);
		check_list(&cf.gits);
		check_paths(&cf.sources);
		check_paths(&cf.binds);
		containerfile_free(&cf);
	}
	return 0;
}
