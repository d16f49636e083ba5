/*
 * test_kinds.c - the registry of node kinds (rules/kinds.c): complete, in
 * pipeline order; `--until` keeps a kind and those it takes inputs from,
 * not a prefix of the pipeline; the graph's nodes and edges come from the
 * registry; a kind that lacks a callback or a role nobody holds is refused
 * before any graph is made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fusion/catalog.h"
#include "fusion/graph.h"
#include "fusion/rules.h"
#include "fusion/util.h"

#include "capture.h"

/* The names a NULL-terminated list holds, space-separated (malloc'ed). */
static char *
joined(const char **names)
{
	struct fx_buf b = {0};

	for (size_t i = 0; names && names[i]; i++)
		buf_printf(&b, "%s%s", i ? " " : "", names[i]);
	return b.s ? buf_detach(&b) : xstrdup("");
}

static void
assert_upto(const char *until, const char *want)
{
	const char **names = rules_kinds_upto(until);
	char *got = joined(names);

	assert_non_null(names);
	assert_string_equal(got, want);
	free(got);
	free(names);
}

static void
test_registry_is_complete(void **state)
{
	(void)state;
	assert_int_equal(rules_kinds_check(rules_kinds), 0);
	for (size_t i = 0; rules_kinds[i]; i++)
		assert_ptr_equal(rules_kind_named(rules_kinds[i]->kind.name), rules_kinds[i]);
	assert_null(rules_kind_named("test"));

	struct fx_buf b = {0};
	rules_kind_list(&b, "or");
	assert_string_equal(b.s, "build, load, fetch, chart or release");
	buf_free(&b);
}

static void
test_until_selects_what_a_kind_takes_inputs_from(void **state)
{
	(void)state;
	assert_upto("build", "build");
	assert_upto("load", "build load");
	/* CI renders without a cluster: no load */
	assert_upto("chart", "build fetch chart");
	assert_upto("fetch", "fetch");
	assert_upto("release", "build load fetch chart release");
	assert_null(rules_kinds_upto("frob"));
	assert_null(rules_kinds_upto(""));
}

static void
test_roles_have_their_kinds(void **state)
{
	(void)state;
	assert_string_equal(rules_kind_with(FX_ROLE_TARGET)->kind.name, "release");
	assert_string_equal(rules_kind_with(FX_ROLE_DEPLOY)->kind.name, "release");
	assert_string_equal(rules_kind_with(FX_ROLE_IMAGE)->kind.name, "build");
	assert_string_equal(rules_kind_with(FX_ROLE_NEEDS)->kind.name, "release");
	assert_string_equal(kind_build.never_ran, "never built");
}

static const char catalog[] =
    "version: 1\n"
    "defaults: {chart: chart}\n"
    "shared:\n"
    "  db: {chart: chart}\n"
    "services:\n"
    "  api: {needs: [db], secrets: {db.password: API_DB_PASSWORD}}\n"
    "  web: {needs: [api]}\n";

struct built {
	struct fx_catalog cat;
	struct fx_rules r;
	struct fx_graph *g;
};

static void
build_graph(struct built *b)
{
	assert_int_equal(catalog_parse("/nonexistent/fusion.yaml", catalog, strlen(catalog), false,
	    &b->cat), 0);
	rules_init(&b->r, &b->cat, "/nonexistent/.fusion");
	b->g = graph_new();
	assert_int_equal(rules_graph(&b->r, b->g), 0);
}

static void
free_graph(struct built *b)
{
	rules_graph_free(b->g);
	graph_free(b->g);
	rules_free(&b->r);
	catalog_free(&b->cat);
}

static struct fx_node *
node(struct built *b, const char *id)
{
	struct fx_node *n = graph_find(b->g, id);
	assert_non_null(n);
	return n;
}

/* The ids of n's input edges (or order-only ones), space-separated. */
static char *
deps_of(struct fx_node *n, bool order)
{
	struct fx_buf out = {0};
	struct fx_node **v = order ? n->after : n->deps;
	size_t nv = order ? n->nafter : n->ndeps;

	for (size_t i = 0; i < nv; i++)
		buf_printf(&out, "%s%s", i ? " " : "", v[i]->id);
	return out.s ? buf_detach(&out) : xstrdup("");
}

static void
assert_deps(struct built *b, const char *id, bool order, const char *want)
{
	char *got = deps_of(node(b, id), order);
	assert_string_equal(got, want);
	free(got);
}

static void
test_graph_comes_from_the_registry(void **state)
{
	struct built b;

	(void)state;
	build_graph(&b);
	/* a service has a node of every kind, a shared release no build, no load */
	assert_int_equal(b.g->n, 4 + 4 + 2);
	assert_null(graph_find(b.g, "build:db"));
	assert_null(graph_find(b.g, "load:db"));
	assert_deps(&b, "build:api", false, "");
	assert_deps(&b, "load:api", false, "build:api");
	assert_deps(&b, "chart:api", false, "build:api");
	assert_deps(&b, "release:api", false, "chart:api load:api");
	assert_deps(&b, "release:db", false, "chart:db");
	/* needs: order-only edges between releases */
	assert_deps(&b, "release:api", true, "release:db");
	assert_deps(&b, "release:web", true, "release:api");
	assert_deps(&b, "chart:web", true, "");
	/* what holds a secret stays here: api's chart and release, not its build */
	assert_true(node(&b, "chart:api")->local_only && node(&b, "release:api")->local_only);
	assert_false(node(&b, "build:api")->local_only || node(&b, "load:api")->local_only);
	assert_false(node(&b, "release:web")->local_only);
	/* a service's name means its release */
	assert_ptr_equal(rules_find(b.g, "web"), node(&b, "release:web"));
	assert_ptr_equal(rules_find(b.g, "build:web"), node(&b, "build:web"));
	assert_null(rules_find(b.g, "nope"));
	assert_ptr_equal(rules_kind_of(node(&b, "load:web")), &kind_load);
	assert_true(rules_is(node(&b, "release:db"), FX_ROLE_DEPLOY));
	assert_false(rules_is(node(&b, "chart:db"), FX_ROLE_DEPLOY));
	assert_ptr_equal(rules_node(b.g, &kind_chart, "db"), node(&b, "chart:db"));
	free_graph(&b);
}

/* A service whose repo is missing: only its nodes of the kinds that read
 * the repo (FX_ROLE_REPO) are missing; evaluation carries it downstream. */
static void
test_missing_repo_marks_what_reads_it(void **state)
{
	struct built b;

	(void)state;
	assert_int_equal(catalog_parse("/nonexistent/fusion.yaml", catalog, strlen(catalog), false,
	    &b.cat), 0);
	for (size_t i = 0; i < b.cat.nsvcs; i++)
		b.cat.svcs[i].missing = strcmp(b.cat.svcs[i].name, "api") == 0;
	rules_init(&b.r, &b.cat, "/nonexistent/.fusion");
	b.g = graph_new();
	assert_int_equal(rules_graph(&b.r, b.g), 0);
	assert_ptr_equal(rules_kind_with(FX_ROLE_REPO), &kind_build);
	for (size_t i = 0; i < b.g->n; i++) {
		struct fx_node *n = b.g->nodes[i];
		bool want = rules_is(n, FX_ROLE_REPO) && strcmp(n->target, "api") == 0;
		if (n->missing != want)
			fail_msg("%s: missing is %d", n->id, n->missing);
	}
	assert_true(node(&b, "build:api")->missing);
	free_graph(&b);
}

/* --until chart on the graph: builds and charts, not one load or release. */
static void
test_until_chart_keeps_no_load(void **state)
{
	struct built b;

	(void)state;
	build_graph(&b);
	graph_select(b.g, NULL, 0);
	const char **names = rules_kinds_upto("chart");
	graph_select_kinds(b.g, names);
	free(names);
	size_t selected = 0;
	for (size_t i = 0; i < b.g->n; i++) {
		struct fx_node *n = b.g->nodes[i];
		selected += n->selected;
		if (n->selected)
			assert_true(n->kind == &kind_build.kind || n->kind == &kind_chart.kind);
	}
	assert_int_equal(selected, 2 + 3);
	free_graph(&b);
}

/* A kind built from another's parts, one callback taken away at a time. */
static int
checked(const struct fx_rule_kind *k, const char *want)
{
	const struct fx_rule_kind *const kinds[] = {&kind_build, &kind_load, &kind_fetch, &kind_chart,
	    k, NULL};
	capture_begin();
	int rc = rules_kinds_check(kinds);
	char *out = capture_end();
	if (want && !strstr(out, want))
		fail_msg("expected \"%s\" in: %s", want, out);
	free(out);
	return rc;
}

static void
test_an_incomplete_kind_is_refused(void **state)
{
	(void)state;
	struct fx_rule_kind k = kind_release;
	assert_int_equal(checked(&k, NULL), 0);

	k.exists = NULL;
	assert_int_equal(checked(&k, "node kind release has no exists"), -1);
	k = kind_release;
	k.sources = NULL;
	assert_int_equal(checked(&k, "node kind release has no sources"), -1);
	k = kind_release;
	k.wants = NULL;
	assert_int_equal(checked(&k, "has no wants"), -1);
	k = kind_release;
	k.kind.step = NULL;
	assert_int_equal(checked(&k, "has no step"), -1);
	k = kind_release;
	k.never_ran = NULL;
	assert_int_equal(checked(&k, "has no never_ran"), -1);
	/* a role the commands ask for, held by no kind */
	k = kind_release;
	k.roles = 0;
	assert_int_equal(checked(&k, "no node kind has the role deploy"), -1);
	/* a kind named twice */
	k = kind_release;
	k.kind.name = "chart";
	assert_int_equal(checked(&k, "two node kinds are called chart"), -1);
}

/* Taking inputs from a kind that comes later (or from one not listed). */
static void
test_inputs_come_from_earlier_kinds(void **state)
{
	(void)state;
	static const struct fx_rule_kind *const later[] = {&kind_release, NULL};
	struct fx_rule_kind k = kind_build;
	k.kind.name = "test";
	k.roles = 0;
	k.from = later;
	const struct fx_rule_kind *const kinds[] = {&kind_build, &k, &kind_load, &kind_chart,
	    &kind_release, NULL};
	capture_begin();
	int rc = rules_kinds_check(kinds);
	char *out = capture_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(out, "node kind test takes inputs from release, which does not come "
	    "before it"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_is_complete),
		cmocka_unit_test(test_until_selects_what_a_kind_takes_inputs_from),
		cmocka_unit_test(test_roles_have_their_kinds),
		cmocka_unit_test(test_graph_comes_from_the_registry),
		cmocka_unit_test(test_until_chart_keeps_no_load),
		cmocka_unit_test(test_missing_repo_marks_what_reads_it),
		cmocka_unit_test(test_an_incomplete_kind_is_refused),
		cmocka_unit_test(test_inputs_come_from_earlier_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
