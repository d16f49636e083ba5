/*
 * cmd_graph.c - `fusion graph [--dot|--json] [SVC...]`.
 */
#include <stdio.h>

#include "fusion/cmd.h"

struct graph_opts {
	bool dot;
	struct fx_select sel;
};

static const struct fx_option options[] = {
	FX_BOOL("dot", struct graph_opts, dot, "Graphviz DOT (services as clusters)"),
	FX_UNTIL(struct graph_opts, sel.until),
	FX_OPT_END,
};

static int
cmd_graph(struct fx_opts *o, void *opts)
{
	struct graph_opts *go = opts;
	struct fx_session s;
	struct fx_buf b = {0};
	int rc = session_load(&s, o, &go->sel, false);
	if (rc == 0) {
		if (go->dot)
			graph_dot(s.g, &b);
		else if (o->json)
			graph_json(s.g, &b);
		else
			for (size_t i = 0; i < s.g->n; i++) {
				struct fx_node *n = s.order[i];
				if (!n->selected)
					continue;
				buf_printf(&b, "%-30s %-8s", n->id, state_name(n->state));
				for (size_t j = 0; j < n->ndeps; j++)
					buf_printf(&b, "%s%s", j ? ", " : " <- ", n->deps[j]->id);
				for (size_t j = 0; j < n->nafter; j++)
					buf_printf(&b, "%s%s", j || n->ndeps ? ", " : " <- ",
					    n->after[j]->id);
				buf_putc(&b, '\n');
			}
		fputs(b.s ? b.s : "", stdout);
	}
	buf_free(&b);
	session_close(&s);
	return rc;
}

const struct fx_command fx_cmd_graph = {
	.name = "graph",
	.usage = "graph [--dot|--json] [SVC...]",
	.about = "Show the graph of SVC (default: everything), stale nodes marked.\n",
	.options = options,
	.size = sizeof(struct graph_opts),
	.json = "{\"nodes\":[...],\"edges\":[...],\"order\":[...]}",
	.run = cmd_graph,
};
