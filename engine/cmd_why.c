/*
 * cmd_why.c - `fusion why SVC|NODE`: for every stale node on the way to
 * SVC's release, what changed since its last success, in words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/manifest.h"

enum { MAX_FILES = 20 };

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "100644:hex" -> the mode part, to tell a chmod from an edit. */
static bool
same_content(const char *a, const char *b)
{
	const char *ca = strchr(a, ':'), *cb = strchr(b, ':');
	return ca && cb && strcmp(ca, cb) == 0;
}

static void
say_file(const struct fx_change *c, const char *path, const char *what)
{
	if (c->op == 'M' && same_content(c->old, c->new))
		printf("    M %s%s (mode %.6s -> %.6s)\n", what, path, c->old, c->new);
	else
		printf("    %c %s%s\n", c->op, what, path);
}

static void
say_value(const char *what, const struct fx_change *c)
{
	if (c->op == 'M')
		printf("    %s: %s -> %s\n", what, c->old, c->new);
	else
		printf("    %s %s: %s\n", what, change_verb(c->op), c->op == 'A' ? c->new : c->old);
}

/* One change in words, by the category of its manifest name. */
static void
say(const struct fx_change *c)
{
	const char *n = c->name;
	const char *rest = strchr(n, ':') ? strchr(n, ':') + 1 : n;
	char what[256];

	if (starts(n, "file:"))
		say_file(c, rest, "");
	else if (starts(n, "chart:"))
		say_file(c, rest, "chart file ");
	else if (starts(n, "values:"))
		printf("    %c values file %s\n", c->op, rest);
	else if (starts(n, "containerfile:"))
		printf("    %c %s (containerfile)\n", c->op, rest);
	else if (starts(n, "ignorefile:"))
		printf("    %c %s (ignore file)\n", c->op, rest);
	else if (starts(n, "values-order:"))
		printf("    values files reordered: %s -> %s\n", c->old ? c->old : "",
		    c->new ? c->new : "");
	else if (starts(n, "cluster:"))
		printf("    cluster recreated (kube-system uid %s -> %s)\n", c->old ? c->old : "none",
		    c->new ? c->new : "none");
	else if (starts(n, "dep:"))
		printf("    upstream %s produced a new output\n", rest);
	else if (starts(n, "ignore:"))
		printf("    build.ignore pattern %s: %s\n", change_verb(c->op), c->op == 'A' ? c->new : c->old);
	else {
		if (starts(n, "arg:"))
			snprintf(what, sizeof what, "build arg %s", rest);
		else if (starts(n, "set:"))
			snprintf(what, sizeof what, "set %s", rest);
		else if (starts(n, "target:"))
			snprintf(what, sizeof what, "build target");
		else
			snprintf(what, sizeof what, "%.*s", (int)strcspn(n, ":"), n);
		say_value(what, c);
	}
}

static void
explain_changes(struct fx_session *s, struct fx_node *n, bool pending)
{
	char *old = cache_manifest(s->cache, n->id);
	struct fx_buf msg = {0};
	struct fx_manifest *m = stale_inputs(n, &s->rules, &msg);
	struct fx_changes c;
	size_t files = 0, shown = 0;

	if (!m) {
		printf("    %s\n", msg.s ? msg.s : "cannot compute inputs");
		buf_free(&msg);
		free(old);
		return;
	}
	manifest_diff(old, m, &c);
	for (size_t i = 0; i < c.n; i++) {
		bool file = starts(c.v[i].name, "file:") || starts(c.v[i].name, "chart:");
		if (file && ++files > MAX_FILES)
			continue;
		say(&c.v[i]);
		shown++;
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
		printf(": %s\n", n->kind->name[0] == 'b' ? "never built" : "never ran");
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
