/*
 * test_graph.c - the build graph (graph.h): adding and finding nodes, the two
 * edge kinds, topological order and cycle text, selection, and the DOT and
 * JSON renderings that `fusion graph` prints and scripts parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/graph.h"
#include "fusion/proc.h"
#include "fusion/util.h"

static const struct fx_kind build = {.name = "build", .version = 1, .shape = "box3d"};
static const struct fx_kind load = {.name = "load", .version = 1, .shape = "cds"};
static const struct fx_kind release = {.name = "release", .version = 1, .shape = "ellipse"};

/* Position of each node in a topological order, by node index. */
static size_t *
positions(const struct fx_graph *g, struct fx_node **order)
{
	size_t *pos = xcalloc(g->n, sizeof(*pos));

	for (size_t i = 0; i < g->n; i++) {
		assert_non_null(order[i]);
		pos[order[i]->index] = i + 1;
	}
	for (size_t i = 0; i < g->n; i++)
		assert_true(pos[i] > 0);	/* every node exactly once */
	return pos;
}

static size_t
count_selected(const struct fx_graph *g)
{
	size_t c = 0;

	for (size_t i = 0; i < g->n; i++)
		c += g->nodes[i]->selected;
	return c;
}

/* Count non-overlapping occurrences of needle in hay. */
static int
occurrences(const char *hay, const char *needle)
{
	int c = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		c++;
	return c;
}

/*
 * A small JSON syntax checker: enough to tell that graph_json's output is
 * one well-formed value, which string searches alone cannot.
 */
static const char *json_value(const char *p);

static const char *
json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *
json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;	/* raw control characters are invalid */
		if (*p != '\\')
			continue;
		p++;
		if (*p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
					return NULL;
			p += 4;
		} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
			return NULL;
		}
	}
	return p + 1;
}

static const char *
json_list(const char *p, char close, bool object)
{
	p = json_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			if (!(p = json_string(json_ws(p))))
				return NULL;
			p = json_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		if (!(p = json_value(p)))
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *
json_value(const char *p)
{
	p = json_ws(p);
	if (*p == '{')
		return json_list(p, '}', true);
	if (*p == '[')
		return json_list(p, ']', false);
	if (*p == '"')
		return json_string(p);
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		while (*p && strchr("-+.eE0123456789", *p))
			p++;
		return p;
	}
	for (const char *const *w = (const char *const[]){"true", "false", "null", NULL}; *w; w++)
		if (strncmp(p, *w, strlen(*w)) == 0)
			return p + strlen(*w);
	return NULL;
}

static void
assert_json(const char *s)
{
	const char *end = json_value(s);

	assert_non_null(end);
	assert_string_equal(json_ws(end), "");
}

/* The text between `from` and the next `until` (malloc'ed). */
static char *
section(const char *s, const char *from, const char *until)
{
	const char *a = strstr(s, from);

	assert_non_null(a);
	a += strlen(from);
	const char *b = strstr(a, until);
	assert_non_null(b);
	return xstrndup(a, (size_t)(b - a));
}

static void
test_add_find(void **state)
{
	struct fx_graph *g = graph_new();
	int data = 7;
	struct fx_node *a = graph_add(g, &build, "core-api", "core-api", &data);
	struct fx_node *b = graph_add(g, &release, "postgresql", NULL, NULL);

	assert_non_null(a);
	assert_string_equal(a->id, "build:core-api");
	assert_string_equal(a->target, "core-api");
	assert_string_equal(a->group, "core-api");
	assert_ptr_equal(a->kind, &build);
	assert_ptr_equal(a->data, &data);
	assert_int_equal(a->index, 0);
	assert_null(b->group);
	assert_int_equal(b->index, 1);
	assert_int_equal(g->n, 2);
	assert_ptr_equal(graph_find(g, "build:core-api"), a);
	assert_ptr_equal(graph_find(g, "release:postgresql"), b);
	assert_null(graph_find(g, "build:postgresql"));
	assert_null(graph_find(g, "core-api"));
	assert_int_equal(a->state, FX_UNKNOWN);
	assert_string_equal(a->key, "");
	graph_free(g);
}

/* Many nodes: the node array and the index both grow past their first size. */
static void
test_add_many(void **state)
{
	struct fx_graph *g = graph_new();
	char name[32];

	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof name, "svc-%d", i);
		assert_non_null(graph_add(g, &build, name, NULL, NULL));
	}
	assert_int_equal(g->n, 500);
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof name, "build:svc-%d", i);
		struct fx_node *n = graph_find(g, name);
		assert_non_null(n);
		assert_int_equal(n->index, (size_t)i);
		assert_ptr_equal(g->nodes[i], n);
	}
	graph_free(g);
}

static void
test_duplicate_refused(void **state)
{
	struct fx_graph *g = graph_new();
	struct fx_node *a = graph_add(g, &build, "x", "g1", NULL);

	assert_null(graph_add(g, &build, "x", "g2", NULL));
	assert_int_equal(g->n, 1);
	assert_ptr_equal(graph_find(g, "build:x"), a);
	assert_string_equal(a->group, "g1");	/* the first one is untouched */
	/* the same target under another kind is another node */
	assert_non_null(graph_add(g, &load, "x", NULL, NULL));
	assert_int_equal(g->n, 2);
	graph_free(g);
}

static void
test_edge_kinds(void **state)
{
	struct fx_graph *g = graph_new();
	struct fx_node *b = graph_add(g, &build, "s", NULL, NULL);
	struct fx_node *l = graph_add(g, &load, "s", NULL, NULL);
	struct fx_node *pg = graph_add(g, &release, "pg", NULL, NULL);
	struct fx_node *r = graph_add(g, &release, "s", NULL, NULL);

	graph_edge(b, l);
	graph_edge(l, r);
	graph_order(pg, r);
	graph_edge(b, l);	/* a repeated edge is kept once */
	graph_order(pg, r);

	assert_int_equal(l->ndeps, 1);
	assert_ptr_equal(l->deps[0], b);
	assert_int_equal(l->nafter, 0);
	assert_int_equal(r->ndeps, 1);
	assert_ptr_equal(r->deps[0], l);
	assert_int_equal(r->nafter, 1);
	assert_ptr_equal(r->after[0], pg);
	/* outs is the reverse of both kinds, for scheduling */
	assert_int_equal(b->nouts, 1);
	assert_ptr_equal(b->outs[0], l);
	assert_int_equal(pg->nouts, 1);
	assert_ptr_equal(pg->outs[0], r);
	assert_int_equal(pg->ndeps + pg->nafter, 0);
	assert_int_equal(r->nouts, 0);
	graph_free(g);
}

/* Nodes added dependents-first, so insertion order is never a valid order. */
static void
test_topo_both_kinds(void **state)
{
	struct fx_graph *g = graph_new();
	struct fx_node *r = graph_add(g, &release, "s", NULL, NULL);
	struct fx_node *rk = graph_add(g, &release, "kafka", NULL, NULL);
	struct fx_node *rp = graph_add(g, &release, "pg", NULL, NULL);
	struct fx_node *l = graph_add(g, &load, "s", NULL, NULL);
	struct fx_node *b = graph_add(g, &build, "s", NULL, NULL);
	struct fx_node **order;
	struct fx_buf cycle = {0};

	graph_edge(b, l);
	graph_edge(l, r);
	graph_order(rk, r);
	graph_order(rp, rk);	/* order-only chain: pg before kafka before s */
	assert_int_equal(graph_topo(g, &order, &cycle), 0);
	assert_int_equal(cycle.len, 0);
	size_t *pos = positions(g, order);
	assert_true(pos[b->index] < pos[l->index]);
	assert_true(pos[l->index] < pos[r->index]);
	assert_true(pos[rk->index] < pos[r->index]);
	assert_true(pos[rp->index] < pos[rk->index]);
	free(pos);
	free(order);
	graph_free(g);
}

static void
test_topo_empty(void **state)
{
	struct fx_graph *g = graph_new();
	struct fx_node **order = NULL;

	assert_int_equal(graph_topo(g, &order, NULL), 0);
	assert_non_null(order);
	free(order);
	graph_free(g);
}

/* The cycle reads along "depends on", from the first node of the cycle
 * reached, and closes on itself. */
static void
test_cycle_three(void **state)
{
	struct fx_graph *g = graph_new();
	struct fx_node *a = graph_add(g, &release, "a", NULL, NULL);
	struct fx_node *b = graph_add(g, &release, "b", NULL, NULL);
	struct fx_node *c = graph_add(g, &release, "c", NULL, NULL);
	struct fx_node **order = (struct fx_node **)&order;
	struct fx_buf cycle = {0};

	graph_edge(b, a);	/* a depends on b */
	graph_edge(c, b);	/* b depends on c */
	graph_edge(a, c);	/* c depends on a */
	assert_int_equal(graph_topo(g, &order, &cycle), -1);
	assert_null(order);
	assert_string_equal(cycle.s, "release:a -> release:b -> release:c -> release:a");
	buf_free(&cycle);
	graph_free(g);
}

/* A node outside the cycle that leads into it is not part of the text. */
static void
test_cycle_tail_excluded(void **state)
{
	struct fx_graph *g = graph_new();
	struct fx_node *z = graph_add(g, &release, "z", NULL, NULL);
	struct fx_node *a = graph_add(g, &release, "a", NULL, NULL);
	struct fx_node *b = graph_add(g, &release, "b", NULL, NULL);
	struct fx_node **order;
	struct fx_buf cycle = {0};

	graph_edge(a, z);
	graph_edge(b, a);
	graph_edge(a, b);
	assert_int_equal(graph_topo(g, &order, &cycle), -1);
	assert_string_equal(cycle.s, "release:a -> release:b -> release:a");
	buf_free(&cycle);
	graph_free(g);
}

/* Cycles through order-only edges count as well, and so do self-loops;
 * a NULL cycle buffer is allowed. */
static void
test_cycle_order_only_and_self(void **state)
{
	struct fx_graph *g = graph_new();
	struct fx_node *a = graph_add(g, &release, "a", NULL, NULL);
	struct fx_node *b = graph_add(g, &release, "b", NULL, NULL);
	struct fx_node **order;
	struct fx_buf cycle = {0};

	graph_edge(a, b);
	graph_order(b, a);
	assert_int_equal(graph_topo(g, &order, &cycle), -1);
	assert_string_equal(cycle.s, "release:a -> release:b -> release:a");
	assert_int_equal(graph_topo(g, &order, NULL), -1);
	buf_free(&cycle);
	graph_free(g);

	g = graph_new();
	a = graph_add(g, &release, "self", NULL, NULL);
	graph_order(a, a);
	assert_int_equal(graph_topo(g, &order, &cycle), -1);
	assert_string_equal(cycle.s, "release:self -> release:self");
	buf_free(&cycle);
	graph_free(g);
}

/*
 * b -> l -> r, pg ..> r (order-only), r -> x (x depends on r),
 * and an unrelated node u.
 */
struct sel {
	struct fx_graph *g;
	struct fx_node *b, *l, *r, *pg, *x, *u;
};

static void
sel_build(struct sel *s)
{
	s->g = graph_new();
	s->b = graph_add(s->g, &build, "s", "s", NULL);
	s->l = graph_add(s->g, &load, "s", "s", NULL);
	s->r = graph_add(s->g, &release, "s", "s", NULL);
	s->pg = graph_add(s->g, &release, "pg", NULL, NULL);
	s->x = graph_add(s->g, &release, "x", NULL, NULL);
	s->u = graph_add(s->g, &build, "u", "u", NULL);
	graph_edge(s->b, s->l);
	graph_edge(s->l, s->r);
	graph_order(s->pg, s->r);
	graph_edge(s->r, s->x);
}

static void
test_select_closure(void **state)
{
	struct sel s;

	sel_build(&s);
	graph_select(s.g, &s.r, 1);
	assert_true(s.r->selected && s.l->selected && s.b->selected);
	assert_true(s.pg->selected);	/* through the order-only edge */
	assert_false(s.x->selected);	/* dependents are not selected */
	assert_false(s.u->selected);
	assert_int_equal(count_selected(s.g), 4);

	/* a new selection replaces the old one */
	graph_select(s.g, &s.u, 1);
	assert_int_equal(count_selected(s.g), 1);
	assert_true(s.u->selected);

	struct fx_node *roots[] = {s.l, s.pg};
	graph_select(s.g, roots, 2);
	assert_true(s.l->selected && s.b->selected && s.pg->selected);
	assert_false(s.r->selected);
	assert_int_equal(count_selected(s.g), 3);

	graph_select(s.g, NULL, 0);
	assert_int_equal(count_selected(s.g), s.g->n);
	graph_free(s.g);
}

static void
test_select_kinds(void **state)
{
	struct sel s;
	const char *const builds[] = {"build", NULL};
	const char *const upto_load[] = {"build", "load", NULL};
	const char *const none[] = {NULL};

	sel_build(&s);
	graph_select(s.g, NULL, 0);
	graph_select_kinds(s.g, upto_load);
	assert_true(s.b->selected && s.l->selected && s.u->selected);
	assert_false(s.r->selected || s.pg->selected || s.x->selected);
	assert_int_equal(count_selected(s.g), 3);

	/* it only narrows: a node outside the selection stays out */
	graph_select(s.g, &s.l, 1);
	graph_select_kinds(s.g, builds);
	assert_true(s.b->selected);
	assert_false(s.l->selected);
	assert_false(s.u->selected);
	assert_int_equal(count_selected(s.g), 1);

	graph_select_kinds(s.g, none);
	assert_int_equal(count_selected(s.g), 0);
	graph_free(s.g);
}

static void
test_state_name(void **state)
{
	assert_string_equal(state_name(FX_FRESH), "fresh");
	assert_string_equal(state_name(FX_STALE), "stale");
	assert_string_equal(state_name(FX_PENDING), "pending");
	assert_string_equal(state_name(FX_UNKNOWN), "unknown");
}

static void
test_json_shape(void **state)
{
	struct sel s;
	struct fx_buf out = {0};

	sel_build(&s);
	graph_select(s.g, &s.r, 1);	/* x and u are left out */
	s.b->state = FX_STALE;
	s.b->reason = xstrdup("never ran");
	strcpy(s.b->key, "0123456789abcdef0123456789abcdef");
	s.l->state = FX_PENDING;
	s.l->reason = xstrdup("build:s will run");
	s.r->state = FX_PENDING;
	s.pg->state = FX_FRESH;
	graph_json(s.g, &out);
	assert_json(out.s);
	assert_non_null(strstr(out.s, "{\"nodes\":["));
	assert_non_null(strstr(out.s, "{\"id\":\"build:s\",\"kind\":\"build\",\"target\":\"s\","
	    "\"state\":\"stale\",\"reason\":\"never ran\",\"key\":\"0123456789abcdef0123456789abcdef\"}"));
	assert_non_null(strstr(out.s, "\"id\":\"load:s\",\"kind\":\"load\",\"target\":\"s\","
	    "\"state\":\"pending\",\"reason\":\"build:s will run\""));
	assert_non_null(strstr(out.s, "\"id\":\"release:pg\",\"kind\":\"release\",\"target\":\"pg\","
	    "\"state\":\"fresh\",\"reason\":\"\""));
	assert_null(strstr(out.s, "release:x"));
	assert_null(strstr(out.s, "build:u"));
	assert_int_equal(occurrences(out.s, "{\"id\":"), 4);

	char *edges = section(out.s, "\"edges\":[", "],\"order\":[");
	char *order = section(out.s, "\"order\":[", "]}");
	/* every edge, of both kinds, is a pair in "edges" */
	assert_non_null(strstr(edges, "[\"build:s\",\"load:s\"]"));
	assert_non_null(strstr(edges, "[\"load:s\",\"release:s\"]"));
	assert_non_null(strstr(edges, "[\"release:pg\",\"release:s\"]"));
	assert_int_equal(occurrences(edges, "[\""), 3);
	/* and "order" lists the order-only ones only */
	assert_string_equal(order, "[\"release:pg\",\"release:s\"]");
	assert_int_equal(out.s[out.len - 1], '\n');
	free(edges);
	free(order);
	buf_free(&out);
	graph_free(s.g);
}

static void
test_json_empty_selection(void **state)
{
	struct sel s;
	struct fx_buf out = {0};

	sel_build(&s);
	graph_select(s.g, NULL, 0);
	graph_select_kinds(s.g, (const char *const[]){NULL});
	graph_json(s.g, &out);
	assert_json(out.s);
	assert_string_equal(out.s, "{\"nodes\":[],\"edges\":[],\"order\":[]}\n");
	buf_free(&out);
	graph_free(s.g);
}

/* Targets are user text: quotes, backslashes and control characters must
 * come out as valid JSON strings. */
static void
test_json_escaping(void **state)
{
	struct fx_graph *g = graph_new();
	struct fx_node *a = graph_add(g, &build, "we\"ird\\one", NULL, NULL);
	struct fx_node *b = graph_add(g, &load, "tab\there\nnl\x01", NULL, NULL);
	struct fx_buf out = {0};

	graph_edge(a, b);
	graph_order(a, b);
	a->state = FX_STALE;
	a->reason = xstrdup("file \"x\" changed");
	graph_select(g, NULL, 0);
	graph_json(g, &out);
	assert_json(out.s);
	assert_non_null(strstr(out.s, "\"id\":\"build:we\\\"ird\\\\one\""));
	assert_non_null(strstr(out.s, "\"target\":\"tab\\there\\nnl\\u0001\""));
	assert_non_null(strstr(out.s, "\"reason\":\"file \\\"x\\\" changed\""));
	assert_non_null(strstr(out.s, "[\"build:we\\\"ird\\\\one\",\"load:tab\\there\\nnl\\u0001\"]"));
	buf_free(&out);
	graph_free(g);
}

/* Lines of `dot` inside the block that starts with `head`. */
static char *
dot_block(const char *dot, const char *head)
{
	return section(dot, head, "\n  }\n");
}

static void
test_dot_clusters_and_edges(void **state)
{
	struct fx_graph *g = graph_new();
	struct fx_node *b = graph_add(g, &build, "api", "api", NULL);
	struct fx_node *pg = graph_add(g, &release, "pg", NULL, NULL);
	struct fx_node *w = graph_add(g, &build, "web", "web", NULL);
	struct fx_node *r = graph_add(g, &release, "api", "api", NULL);
	struct fx_node *hidden = graph_add(g, &build, "hidden", "hidden", NULL);
	struct fx_buf out = {0};

	graph_edge(b, r);
	graph_order(pg, r);
	graph_edge(hidden, w);
	b->state = FX_STALE;
	r->state = FX_PENDING;
	pg->state = FX_FRESH;
	graph_select(g, NULL, 0);
	hidden->selected = false;
	graph_dot(g, &out);

	assert_true(strncmp(out.s, "digraph fusion {\n", 17) == 0);
	assert_int_equal(out.s[out.len - 2], '}');
	/* one cluster per group of selected nodes, with that group's nodes */
	assert_int_equal(occurrences(out.s, "subgraph cluster_"), 2);
	char *api = dot_block(out.s, "subgraph cluster_0 {\n    label=\"api\";\n");
	char *web = dot_block(out.s, "subgraph cluster_1 {\n    label=\"web\";\n");
	assert_non_null(strstr(api, "\"build:api\" [label=\"build\\napi\", shape=box3d"));
	assert_non_null(strstr(api, "\"release:api\" [label=\"release\\napi\", shape=ellipse"));
	assert_null(strstr(api, "build:web"));
	assert_non_null(strstr(web, "\"build:web\""));
	assert_null(strstr(web, "api"));
	/* an ungrouped node sits outside every cluster */
	assert_null(strstr(api, "release:pg"));
	assert_null(strstr(web, "release:pg"));
	assert_non_null(strstr(out.s, "\n  \"release:pg\" [label=\"release\\npg\""));
	/* states: stale filled, pending dashed */
	assert_non_null(strstr(api, "\"build:api\" [label=\"build\\napi\", shape=box3d, style=filled,"
	    " fillcolor=\"#f4cccc\", tooltip=\"stale\"]"));
	assert_non_null(strstr(api, "shape=ellipse, style=dashed, tooltip=\"pending\"]"));
	/* input edges plain, order-only edges dotted; none to unselected nodes */
	assert_non_null(strstr(out.s, "  \"build:api\" -> \"release:api\";\n"));
	assert_non_null(strstr(out.s, "  \"release:pg\" -> \"release:api\" [style=dotted];\n"));
	assert_int_equal(occurrences(out.s, " -> "), 2);
	assert_null(strstr(out.s, "hidden"));
	free(api);
	free(web);
	buf_free(&out);
	graph_free(g);
}

/* Write `text` to a file and have Graphviz parse it. */
static int
dot_accepts(const char *text)
{
	char path[] = "/tmp/fx-graph-dot-XXXXXX";
	int fd = mkstemp(path);
	struct fx_buf out = {0}, err = {0};

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char *argv[] = {"dot", "-Tcanon", "-o", "/dev/null", path, NULL};
	int rc = proc_run(argv, &out, &err);
	if (rc != 0)
		print_error("dot: %s\n", err.s ? err.s : "");
	unlink(path);
	buf_free(&out);
	buf_free(&err);
	return rc;
}

static void
test_dot_escaping(void **state)
{
	struct fx_graph *g = graph_new();
	struct fx_node *a = graph_add(g, &build, "q\"uote", "gr\"oup\\x", NULL);
	struct fx_node *b = graph_add(g, &load, "back\\slash\nnl", NULL, NULL);
	struct fx_buf out = {0};

	graph_edge(a, b);
	graph_select(g, NULL, 0);
	graph_dot(g, &out);
	assert_non_null(strstr(out.s, "label=\"gr\\\"oup\\\\x\";"));
	assert_non_null(strstr(out.s, "\"build:q\\\"uote\" [label=\"build\\nq\\\"uote\""));
	assert_non_null(strstr(out.s, "\"load:back\\\\slash\\nnl\" [label=\"load\\nback\\\\slash\\nnl\""));
	assert_non_null(strstr(out.s, "\"build:q\\\"uote\" -> \"load:back\\\\slash\\nnl\";"));
	if (system("command -v dot >/dev/null 2>&1") != 0) {
		buf_free(&out);
		graph_free(g);
		skip();	/* Graphviz missing: the text checks above still ran */
	}
	assert_int_equal(dot_accepts(out.s), 0);
	buf_free(&out);
	graph_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find),
		cmocka_unit_test(test_add_many),
		cmocka_unit_test(test_duplicate_refused),
		cmocka_unit_test(test_edge_kinds),
		cmocka_unit_test(test_topo_both_kinds),
		cmocka_unit_test(test_topo_empty),
		cmocka_unit_test(test_cycle_three),
		cmocka_unit_test(test_cycle_tail_excluded),
		cmocka_unit_test(test_cycle_order_only_and_self),
		cmocka_unit_test(test_select_closure),
		cmocka_unit_test(test_select_kinds),
		cmocka_unit_test(test_state_name),
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_json_empty_selection),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_dot_clusters_and_edges),
		cmocka_unit_test(test_dot_escaping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
