/*
 * cmd_why.c - `fusion why SVC|NODE`: for every stale node on the way to
 * SVC's release, what changed since its last success, in its kind's words
 * (fx_kind.describe, through stale_describe).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/manifest.h"

enum { MAX_FILES = 20 };

static void
explain_changes(struct fx_session *s, struct fx_node *n, bool pending)
{
	char *old = NULL;
	struct fx_buf msg = {0};
	struct fx_changes c;
	size_t files = 0, shown = 0;

	if (cache_manifest(s->cache, n->id, &old) < 0) {
		printf("    its recorded inputs cannot be read (see above)\n");
		return;
	}
	struct fx_manifest *m = stale_inputs(n, &s->rules, &msg);
	if (!m) {
		printf("    %s\n", msg.s ? msg.s : "cannot compute inputs");
		buf_free(&msg);
		free(old);
		return;
	}
	if (old && manifest_hashing(old) != FX_HASHING) {
		/* Every file would seem changed: say why instead. */
		printf("    %s (fusion was upgraded): its inputs are hashed anew\n", FX_HASHING_CHANGED);
		manifest_free(m);
		free(old);
		return;
	}
	manifest_diff(old, m, &c);
	for (size_t i = 0; i < c.n; i++) {
		struct fx_buf line = {0};
		bool file = stale_describe(n, &c.v[i], false, &line) == FX_SAID_FILE;
		if (!file || ++files <= MAX_FILES) {
			printf("    %s\n", line.s);
			shown++;
		}
		buf_free(&line);
	}
	if (files > MAX_FILES)
		printf("    ... and %zu more files\n", files - MAX_FILES);
	if (!shown && old && !pending)
		printf("    the rule changed (fusion was upgraded)\n");
	changes_free(&c);
	manifest_free(m);
	buf_free(&msg);
	free(old);
}

/*
 * A pending node waits for its upstream, but its own inputs (values, chart,
 * set keys) may have changed too: compare them, taking each upstream's
 * recorded output where this run has none yet. Nothing is said when a node
 * upstream never succeeded.
 */
static void
explain_own_inputs(struct fx_session *s, struct fx_node *n)
{
	for (size_t i = 0; i < n->ndeps; i++) {
		struct fx_node *d = n->deps[i];
		const struct fx_record *r = map_get(&s->records, d->id);
		if (d->have_out)
			continue;
		if (!r || !map_get(&s->records, n->id))
			return;
		free(d->out.value);
		d->out.value = xstrdup(r->output);
		if (hash_parse(r->output_hash, &d->out.hash) < 0)
			return;
		d->have_out = true;
	}
	explain_changes(s, n, true);
}

static void
explain(struct fx_session *s, struct fx_node *n)
{
	printf("%s is %s", n->id, state_name(n->state));
	if (n->state == FX_PENDING) {
		printf(": %s\n", n->reason);
		explain_own_inputs(s, n);
		return;
	}
	if (n->reason && strcmp(n->reason, "never ran") == 0) {
		printf(": %s\n", n->kind == &kind_build ? "never built" : "never ran");
		return;
	}
	if (n->reason && (strcmp(n->reason, "forced") == 0 || strcmp(n->reason, "output missing")
	    == 0 || !n->key[0])) {
		printf(": %s\n", n->reason);
		return;
	}
	printf(":\n");
	explain_changes(s, n, false);
}

static void
fresh(struct fx_session *s, struct fx_node *target)
{
	double t = cache_last_run_of(s->cache, target->id);
	char when[64] = "an earlier run";

	if (t > 0) {
		time_t tt = (time_t)t;
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&tt));
	}
	printf("%s is fresh: nothing changed since it was last brought up (%s)\n", target->target,
	    when);
}

int
cmd_why(struct fx_opts *o)
{
	struct fx_session s;

	if (o->nargs != 1) {
		fx_error("usage: fusion why SVC|NODE");
		return FX_EXIT_USAGE;
	}
	int rc = session_load(&s, o, false);
	if (rc == 0) {
		struct fx_node *target = rules_find(s.g, o->args[0]);
		int n = session_count(&s, FX_STALE) + session_count(&s, FX_PENDING);
		if (n == 0)
			fresh(&s, target);
		for (size_t i = 0; i < s.g->n; i++)
			if (s.order[i]->selected && s.order[i]->state != FX_FRESH)
				explain(&s, s.order[i]);
	}
	session_close(&s);
	return rc;
}
