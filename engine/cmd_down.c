/*
 * cmd_down.c - `fusion down [SVC...]`: helm uninstall, dependents first.
 * Each uninstalled release's record is forgotten, so the next `up`
 * deploys it again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/lock.h"
#include "fusion/proc.h"

static int
uninstall(struct fx_session *s, struct fx_node *n)
{
	struct fx_rule_node *d = n->data;
	struct fx_strv a = {0};
	struct fx_buf out = {0}, err = {0};

	rules_uninstall_argv(&s->rules, d->svc, &a);
	int st = proc_run(strv_argv(&a), &out, &err);
	strv_free(&a);
	int rc = 0;
	if (st == 0 || (err.s && strstr(err.s, "not found"))) {
		printf("%s %s\n", st == 0 ? "uninstalled" : "already gone:", d->svc->name);
		/* Unforgotten, the release would look up to date to the next `up`. */
		if (cache_forget(s->cache, n->id) < 0)
			rc = -1;
	} else {
		fx_error_node(n->id, "helm uninstall failed: %s", err.s ? err.s : "no message");
		rc = -1;
	}
	buf_free(&out);
	buf_free(&err);
	return rc;
}

int
cmd_down(struct fx_opts *o)
{
	struct fx_session s;
	int lock = -1;
	int rc = session_open(&s, o);

	if (rc == 0) {
		/* Only the named releases (all without names), not what they need. */
		for (size_t i = 0; i < s.g->n; i++)
			s.g->nodes[i]->selected = o->nargs == 0;
		for (int i = 0; i < o->nargs; i++) {
			struct fx_node *n = rules_find(s.g, o->args[i]);
			if (!n || strcmp(n->kind->name, "release") != 0) {
				fx_error("down: no release named \"%s\"", o->args[i]);
				rc = FX_EXIT_USAGE;
			} else {
				n->selected = true;
			}
		}
	}
	if (rc == 0) {
		lock = lock_acquire(s.statedir, o->no_wait);
		if (lock < 0)
			rc = lock == -2 ? FX_EXIT_USAGE : FX_EXIT_FAILED;
	}
	if (rc == 0 && !(s.cache = cache_open(s.statedir)))
		rc = FX_EXIT_FAILED;
	/* Reverse topological order: whatever needs a release goes first. */
	for (size_t i = s.g->n; rc == 0 && i > 0; i--) {
		struct fx_node *n = s.order[i - 1];
		if (n->selected && strcmp(n->kind->name, "release") == 0 && uninstall(&s, n) < 0)
			rc = FX_EXIT_FAILED;
	}
	lock_release(lock);
	session_close(&s);
	return rc;
}
