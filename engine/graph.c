/*
 * graph.c - nodes, edges, selection, topological order, DOT and JSON
 * (see graph.h).
 */
#include "fusion/graph.h"

#include <stdlib.h>
#include <string.h>

struct fx_graph *
graph_new(void)
{
	struct fx_graph *g = xcalloc(1, sizeof(*g));
	map_init(&g->index, 64);
	return g;
}

static void
node_free(struct fx_node *n)
{
	free(n->id);
	free(n->target);
	free(n->group);
	free(n->deps);
	free(n->after);
	free(n->outs);
	free(n->reason);
	free(n->out.value);
	free(n);
}

void
graph_free(struct fx_graph *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		node_free(g->nodes[i]);
	free(g->nodes);
	map_free(&g->index);
	free(g);
}

struct fx_node *
graph_add(struct fx_graph *g, const struct fx_kind *kind, const char *target,
    const char *group, void *data)
{
	char *id = xasprintf("%s:%s", kind->name, target);

	if (map_get(&g->index, id)) {
		free(id);
		return NULL;
	}
	struct fx_node *n = xcalloc(1, sizeof(*n));
	n->id = id;
	n->kind = kind;
	n->target = xstrdup(target);
	n->group = group ? xstrdup(group) : NULL;
	n->data = data;
	n->index = g->n;
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->nodes = xreallocarray(g->nodes, g->cap, sizeof(*g->nodes));
	}
	g->nodes[g->n++] = n;
	map_put(&g->index, n->id, n);
	return n;
}

struct fx_node *
graph_find(const struct fx_graph *g, const char *id)
{
	return map_get(&g->index, id);
}

static void
push(struct fx_node ***v, size_t *n, struct fx_node *x)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == x)
			return;
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = x;
}

void
graph_edge(struct fx_node *from, struct fx_node *to)
{
	push(&to->deps, &to->ndeps, from);
	push(&from->outs, &from->nouts, to);
}

void
graph_order(struct fx_node *from, struct fx_node *to)
{
	push(&to->after, &to->nafter, from);
	push(&from->outs, &from->nouts, to);
}

/* Depth-first search with colours; the stack gives the cycle's path. */
enum { WHITE, GREY, BLACK };

struct topo {
	unsigned char *colour;
	struct fx_node **order;
	size_t norder;
	struct fx_node **stack;
	size_t nstack;
	struct fx_buf *cycle;
};

static int visit(struct topo *t, struct fx_node *n);

static int
visit_all(struct topo *t, struct fx_node **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (visit(t, v[i]) < 0)
			return -1;
	return 0;
}

static void
describe_cycle(struct topo *t, struct fx_node *n)
{
	size_t i = t->nstack;

	while (i > 0 && t->stack[i - 1] != n)
		i--;
	for (i = i ? i - 1 : 0; i < t->nstack; i++)
		buf_printf(t->cycle, "%s -> ", t->stack[i]->id);
	buf_puts(t->cycle, n->id);
}

static int
visit(struct topo *t, struct fx_node *n)
{
	if (t->colour[n->index] == BLACK)
		return 0;
	if (t->colour[n->index] == GREY) {
		if (t->cycle)
			describe_cycle(t, n);
		return -1;
	}
	t->colour[n->index] = GREY;
	t->stack[t->nstack++] = n;
	if (visit_all(t, n->deps, n->ndeps) < 0 || visit_all(t, n->after, n->nafter) < 0)
		return -1;
	t->nstack--;
	t->colour[n->index] = BLACK;
	t->order[t->norder++] = n;
	return 0;
}

int
graph_topo(const struct fx_graph *g, struct fx_node ***order, struct fx_buf *cycle)
{
	struct topo t = {
		.colour = xcalloc(g->n + 1, 1),
		.order = xcalloc(g->n + 1, sizeof(struct fx_node *)),
		.stack = xcalloc(g->n + 1, sizeof(struct fx_node *)),
		.cycle = cycle,
	};
	int r = visit_all(&t, g->nodes, g->n);

	free(t.colour);
	free(t.stack);
	if (r < 0) {
		free(t.order);
		*order = NULL;
		return -1;
	}
	*order = t.order;
	return 0;
}

static void
select_from(struct fx_node *n)
{
	if (n->selected)
		return;
	n->selected = true;
	for (size_t i = 0; i < n->ndeps; i++)
		select_from(n->deps[i]);
	for (size_t i = 0; i < n->nafter; i++)
		select_from(n->after[i]);
}

void
graph_select(struct fx_graph *g, struct fx_node **roots, size_t nroots)
{
	for (size_t i = 0; i < g->n; i++)
		g->nodes[i]->selected = nroots == 0;
	for (size_t i = 0; i < nroots; i++)
		select_from(roots[i]);
}

void
graph_select_kinds(struct fx_graph *g, const char *const *kinds)
{
	for (size_t i = 0; i < g->n; i++) {
		struct fx_node *n = g->nodes[i];
		bool keep = false;
		for (size_t k = 0; kinds[k]; k++)
			if (strcmp(kinds[k], n->kind->name) == 0)
				keep = true;
		if (!keep)
			n->selected = false;
	}
}

const char *
state_name(enum fx_state s)
{
	switch (s) {
	case FX_FRESH: return "fresh";
	case FX_STALE: return "stale";
	case FX_PENDING: return "pending";
	case FX_MISSING: return "missing";
	default: return "unknown";
	}
}

/* DOT ids and labels are quoted strings; escape what DOT needs. */
static void
dot_str(struct fx_buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_putc(b, '\\');
		if (*s == '\n') {
			buf_puts(b, "\\n");
			continue;
		}
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

static void
dot_node(struct fx_buf *b, const struct fx_node *n, const char *indent)
{
	buf_puts(b, indent);
	dot_str(b, n->id);
	buf_printf(b, " [label=\"%s\\n", n->kind->name);
	struct fx_buf lab = {0};
	dot_str(&lab, n->target);
	/* strip the quotes dot_str added: the label continues the string */
	buf_add(b, lab.s + 1, lab.len - 2);
	buf_free(&lab);
	buf_printf(b, "\", shape=%s", n->kind->shape ? n->kind->shape : "box");
	if (n->state == FX_STALE)
		buf_puts(b, ", style=filled, fillcolor=\"#f4cccc\"");
	else if (n->state == FX_PENDING)
		buf_puts(b, ", style=dashed");
	else if (n->state == FX_FRESH)
		buf_puts(b, ", style=filled, fillcolor=\"#d9ead3\"");
	buf_printf(b, ", tooltip=\"%s\"];\n", state_name(n->state));
}

static void
dot_clusters(const struct fx_graph *g, struct fx_buf *b)
{
	struct fx_map seen = {0};
	size_t k = 0;

	map_init(&seen, g->n);
	for (size_t i = 0; i < g->n; i++) {
		const struct fx_node *n = g->nodes[i];
		if (!n->selected || !n->group || map_get(&seen, n->group))
			continue;
		map_put(&seen, n->group, (void *)n);
		buf_printf(b, "  subgraph cluster_%zu {\n    label=", k++);
		dot_str(b, n->group);
		buf_puts(b, ";\n");
		for (size_t j = i; j < g->n; j++) {
			const struct fx_node *m = g->nodes[j];
			if (m->selected && m->group && strcmp(m->group, n->group) == 0)
				dot_node(b, m, "    ");
		}
		buf_puts(b, "  }\n");
	}
	map_free(&seen);
}

void
graph_dot(const struct fx_graph *g, struct fx_buf *b)
{
	buf_puts(b, "digraph fusion {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
	dot_clusters(g, b);
	for (size_t i = 0; i < g->n; i++)
		if (g->nodes[i]->selected && !g->nodes[i]->group)
			dot_node(b, g->nodes[i], "  ");
	for (size_t i = 0; i < g->n; i++) {
		const struct fx_node *n = g->nodes[i];
		if (!n->selected)
			continue;
		for (size_t j = 0; j < n->ndeps; j++) {
			if (!n->deps[j]->selected)
				continue;
			buf_puts(b, "  ");
			dot_str(b, n->deps[j]->id);
			buf_puts(b, " -> ");
			dot_str(b, n->id);
			buf_puts(b, ";\n");
		}
		for (size_t j = 0; j < n->nafter; j++) {
			if (!n->after[j]->selected)
				continue;
			buf_puts(b, "  ");
			dot_str(b, n->after[j]->id);
			buf_puts(b, " -> ");
			dot_str(b, n->id);
			buf_puts(b, " [style=dotted];\n");
		}
	}
	buf_puts(b, "}\n");
}

static void
json_edges(const struct fx_graph *g, struct fx_buf *b, bool order_only)
{
	bool first = true;

	for (size_t i = 0; i < g->n; i++) {
		const struct fx_node *n = g->nodes[i];
		if (!n->selected)
			continue;
		for (int pass = order_only ? 1 : 0; pass < 2; pass++) {
			struct fx_node **v = pass ? n->after : n->deps;
			size_t nv = pass ? n->nafter : n->ndeps;
			for (size_t j = 0; j < nv; j++) {
				if (!v[j]->selected)
					continue;
				buf_puts(b, first ? "[" : ",[");
				first = false;
				buf_json_str(b, v[j]->id);
				buf_putc(b, ',');
				buf_json_str(b, n->id);
				buf_putc(b, ']');
			}
		}
	}
}

void
graph_json(const struct fx_graph *g, struct fx_buf *b)
{
	bool first = true;

	buf_puts(b, "{\"nodes\":[");
	for (size_t i = 0; i < g->n; i++) {
		const struct fx_node *n = g->nodes[i];
		if (!n->selected)
			continue;
		buf_puts(b, first ? "{" : ",{");
		first = false;
		buf_puts(b, "\"id\":");
		buf_json_str(b, n->id);
		buf_puts(b, ",\"kind\":");
		buf_json_str(b, n->kind->name);
		buf_puts(b, ",\"target\":");
		buf_json_str(b, n->target);
		buf_puts(b, ",\"state\":");
		buf_json_str(b, state_name(n->state));
		buf_puts(b, ",\"reason\":");
		buf_json_str(b, n->reason ? n->reason : "");
		buf_puts(b, ",\"key\":");
		buf_json_str(b, n->key);
		if (n->local_only)
			buf_puts(b, ",\"secret\":true");
		buf_putc(b, '}');
	}
	buf_puts(b, "],\"edges\":[");
	json_edges(g, b, false);
	buf_puts(b, "],\"order\":[");
	json_edges(g, b, true);
	buf_puts(b, "]}\n");
}
