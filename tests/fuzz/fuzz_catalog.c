/*
 * fuzz_catalog.c - the catalog loader (catalog_parse) on any bytes.
 *
 * The input is loaded as the catalog TOP/tests/catalogs/bad/fuzz.yaml, where
 * the tests' own bad catalogs live: seeded with them, relative paths reach
 * the fixture workspace tests/catalogs/ws, so the file checks (repos,
 * charts, symlink escapes) run on real files. TOP is the environment's
 * (scripts/test and tests/fuzz/run set it), else the current directory.
 *
 * Beyond "no crash, no leak, no hang", a catalog that loads must keep the
 * promises of catalog.h: names are DNS-1123 labels, every `needs` names an
 * entry, lookups by name find each entry, paths are absolute and clean.
 */
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "fusion/catalog.h"
#include "fuzz.h"

static char *path;

static bool
clean_abs(const char *p)
{
	if (!p || p[0] != '/')
		return false;
	char *c = path_clean(p);
	bool same = strcmp(c, p) == 0;
	free(c);
	return same;
}

static void
check_svc(const struct fx_catalog *c, const struct fx_svc *s)
{
	fuzz_assert(catalog_valid_name(s->name));
	fuzz_assert(catalog_svc(c, s->name) == s);
	fuzz_assert(clean_abs(s->chart) || (!s->shared && !s->chart));
	for (size_t i = 0; i < s->values.n; i++)
		fuzz_assert(clean_abs(s->values.v[i]));
	for (size_t i = 0; i < s->needs.n; i++) {
		fuzz_assert(catalog_svc(c, s->needs.v[i]) != NULL);
		fuzz_assert(strcmp(s->needs.v[i], s->name) != 0);
	}
	for (size_t i = 0; i < s->set.n; i++)
		fuzz_assert(s->set.v[i].key && *s->set.v[i].key && s->set.v[i].value);
	if (s->shared)
		return;
	fuzz_assert(clean_abs(s->repo) && path_under(s->repo, c->root));
	fuzz_assert(clean_abs(s->build.context) && clean_abs(s->build.file));
	fuzz_assert(s->image && *s->image);
	for (size_t i = 0; i < s->build.args.n; i++)
		fuzz_assert(s->build.args.v[i].key && *s->build.args.v[i].key);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fx_catalog c;

	if (!path) {
		const char *top = getenv("TOP");
		path = path_join(top && *top ? top : ".", "tests/catalogs/bad/fuzz.yaml");
		if (path[0] != '/') {
			char *cwd = getcwd(NULL, 0);
			char *abs = path_join(cwd, path);
			free(cwd);
			free(path);
			path = abs;
		}
	}
	if (catalog_parse(path, (const char *)data, size, true, &c) < 0)
		return 0;
	fuzz_assert(clean_abs(c.root) && clean_abs(c.path) && clean_abs(c.dir));
	fuzz_assert(c.namespace && *c.namespace && strlen(c.namespace) <= 63);
	for (size_t i = 0; i < c.nsvcs; i++)
		check_svc(&c, &c.svcs[i]);
	catalog_free(&c);
	return 0;
}
