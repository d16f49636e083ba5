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

/* Where the explanation goes: indented lines on stdout, or (--json) one
 * object per node: {"node","state","reason","changes":[{"input","change",
 * "text"}],"notes":[...]}. */
struct say {
	bool json;
	struct fx_buf changes, notes;	/* the node's, as JSON array items */
};

static void
note(struct say *w, const char *text)
{
	if (!w->json) {
		printf("    %s\n", text);
		return;
	}
	buf_puts(&w->notes, w->notes.len ? "," : "");
	buf_json_str(&w->notes, text);
}

static void
change(struct say *w, const struct fx_change *c, const char *text, bool shown)
{
	if (!w->json) {
		if (shown)
			printf("    %s\n", text);
		return;
	}
	buf_puts(&w->changes, w->changes.len ? ",{\"input\":" : "{\"input\":");
	buf_json_str(&w->changes, c->name);
	buf_printf(&w->changes, ",\"change\":\"%s\",\"text\":", change_verb(c->op));
	buf_json_str(&w->changes, text);
	buf_putc(&w->changes, '}');
}

/* A node's first line: "ID is STATE: WHY", or "ID is STATE:" before a list. */
static void
begin(struct say *w, const struct fx_node *n, const char *why)
{
	buf_reset(&w->changes);
	buf_reset(&w->notes);
	if (!w->json)
		printf("%s is %s%s%s\n", n->id, state_name(n->state), why ? ": " : ":",
		    why ? why : "");
}

static void
end(struct say *w, const struct fx_node *n, const char *why)
{
	struct fx_buf b = {0};

	if (!w->json)
		return;
	buf_puts(&b, "{\"node\":");
	buf_json_str(&b, n->id);
	buf_printf(&b, ",\"state\":\"%s\",\"reason\":", state_name(n->state));
	buf_json_str(&b, why ? why : n->reason ? n->reason : "");
	buf_printf(&b, ",\"changes\":[%s],\"notes\":[%s]}\n", w->changes.s ? w->changes.s : "",
	    w->notes.s ? w->notes.s : "");
	fputs(b.s, stdout);
	buf_free(&b);
}

static void
explain_changes(struct fx_session *s, struct fx_node *n, bool pending, struct say *w)
{
	char *old = NULL;
	struct fx_buf msg = {0};
	struct fx_changes c;
	size_t files = 0, shown = 0;

	if (cache_manifest(s->cache, n->id, &old) < 0) {
		note(w, "its recorded inputs cannot be read (see above)");
		return;
	}
	struct fx_manifest *m = stale_inputs(n, &s->rules, &msg);
	if (!m) {
		note(w, msg.s ? msg.s : "cannot compute inputs");
		buf_free(&msg);
		free(old);
		return;
	}
	if (old && manifest_hashing(old) != FX_HASHING) {
		/* Every file would seem changed: say why instead. */
		note(w, FX_HASHING_CHANGED " (fusion was upgraded): its inputs are hashed anew");
		manifest_free(m);
		free(old);
		return;
	}
	manifest_diff(old, m, &c);
	for (size_t i = 0; i < c.n; i++) {
		struct fx_buf line = {0};
		bool file = stale_describe(n, &c.v[i], false, &line) == FX_SAID_FILE;
		bool show = !file || ++files <= MAX_FILES;
		change(w, &c.v[i], line.s ? line.s : "", show);
		shown += show;
		buf_free(&line);
	}
	if (files > MAX_FILES && !w->json)
		printf("    ... and %zu more files\n", files - MAX_FILES);
	if (!shown && old && !pending)
		note(w, "the rule changed (fusion was upgraded)");
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
explain_own_inputs(struct fx_session *s, struct fx_node *n, struct say *w)
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
	explain_changes(s, n, true, w);
}

static void
explain(struct fx_session *s, struct fx_node *n, struct say *w)
{
	const char *why = NULL;
	bool list = false;

	if (n->state == FX_PENDING)
		why = n->reason;
	else if (n->reason && strcmp(n->reason, "never ran") == 0)
		why = rules_kind_of(n)->never_ran;
	else if (n->reason && (strcmp(n->reason, "forced") == 0 ||
	    strcmp(n->reason, "output missing") == 0 || !n->key[0]))
		why = n->reason;
	else
		list = true;
	begin(w, n, why);
	if (n->state == FX_PENDING)
		explain_own_inputs(s, n, w);
	else if (list)
		explain_changes(s, n, false, w);
	end(w, n, why);
}

static void
fresh(struct fx_session *s, struct fx_node *target, bool json)
{
	double t = cache_last_run_of(s->cache, target->id);
	char when[64] = "an earlier run";

	if (json) {
		struct fx_buf b = {0};
		buf_puts(&b, "{\"node\":");
		buf_json_str(&b, target->id);
		if (t > 0)
			buf_printf(&b, ",\"state\":\"fresh\",\"last_run\":%.0f}\n", t);
		else
			buf_puts(&b, ",\"state\":\"fresh\",\"last_run\":null}\n");
		fputs(b.s, stdout);
		buf_free(&b);
		return;
	}
	if (t > 0) {
		time_t tt = (time_t)t;
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&tt));
	}
	printf("%s is fresh: nothing changed since it was last brought up (%s)\n", target->target,
	    when);
}

static int
cmd_why(struct fx_opts *o, void *sel)
{
	struct fx_session s;
	struct say w = {.json = o->json};

	if (o->nargs != 1) {
		fx_error("usage: fusion why SVC|NODE");
		return FX_EXIT_USAGE;
	}
	int rc = session_load(&s, o, sel, false);
	if (rc == 0) {
		struct fx_node *target = rules_find(s.g, o->args[0]);
		int n = session_count(&s, FX_STALE) + session_count(&s, FX_PENDING);
		if (n == 0)
			fresh(&s, target, o->json);
		for (size_t i = 0; i < s.g->n; i++)
			if (s.order[i]->selected && s.order[i]->state != FX_FRESH)
				explain(&s, s.order[i], &w);
	}
	buf_free(&w.changes);
	buf_free(&w.notes);
	session_close(&s);
	return rc;
}

static const struct fx_option options[] = {
	FX_UNTIL(struct fx_select, until),
	FX_OPT_END,
};

const struct fx_command fx_cmd_why = {
	.name = "why",
	.usage = "why SVC|NODE",
	.about = "Say why the nodes on the way to SVC's release (or NODE) are stale: the files,\n"
	    "values and upstream nodes that changed.\n",
	.options = options,
	.size = sizeof(struct fx_select),
	.json = "one object per node: {\"node\",\"state\",\"reason\",\"changes\":[{\"input\",\"change\",\"text\"}],\"notes\"}",
	.run = cmd_why,
};
