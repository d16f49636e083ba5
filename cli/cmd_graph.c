/*
 * cmd_graph.c - `fusion graph [--dot|--json] [SVC...]`.
 */
#include <stdio.h>

#include "fusion/cmd.h"

int
cmd_graph(struct fx_opts *o)
{
	struct fx_session s;
	struct fx_buf b = {0};
	int rc = session_load(&s, o, false);
	if (rc == 0) {
		if (o->dot)
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
