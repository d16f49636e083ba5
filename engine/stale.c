/*
 * stale.c - deciding fresh, stale and pending (see stale.h).
 */
#include "fusion/stale.h"

#include <stdlib.h>
#include <string.h>

#include "fusion/cache.h"
#include "fusion/diag.h"

struct fx_manifest *
stale_inputs(struct fx_node *n, void *ctx, struct fx_buf *msg)
{
	struct fx_manifest *m = manifest_new();
	char hex[FX_HASH_HEX];

	for (size_t i = 0; i < n->ndeps; i++) {
		char *name = xasprintf("dep:%s", n->deps[i]->id);
		hash_hex(n->deps[i]->out.hash, hex);
		manifest_add(m, name, hex);
		free(name);
	}
	if (n->kind->inputs && n->kind->inputs(n, ctx, m, msg) < 0) {
		manifest_free(m);
		return NULL;
	}
	hash_hex(manifest_key(m, n->kind->name, n->kind->version), n->key);
	return m;
}

static void
set_state(struct fx_node *n, enum fx_state s, char *reason)
{
	n->state = s;
	free(n->reason);
	n->reason = reason;
}

static void
set_output(struct fx_node *n, const struct fx_record *r)
{
	free(n->out.value);
	n->out.value = xstrdup(r->output);
	if (hash_parse(r->output_hash, &n->out.hash) < 0)
		n->out.hash = hash_bytes(r->output, strlen(r->output));
	n->have_out = true;
}

/* Why the key moved, in a few words, from the recorded manifest. */
static char *
changed_reason(struct fx_node *n, struct fx_eval *ev, struct fx_manifest *m)
{
	char *old = ev->cache ? cache_manifest(ev->cache, n->id) : NULL;
	struct fx_changes c;

	if (!old)
		return xstrdup("inputs changed");
	manifest_diff(old, m, &c);
	free(old);
	char *s = c.n ? stale_summary(&c) : xstrdup("rule changed");
	changes_free(&c);
	return s;
}

void
stale_decide(struct fx_node *n, struct fx_eval *ev, struct fx_manifest **manifest)
{
	struct fx_buf msg = {0};
	struct fx_manifest *m = stale_inputs(n, ev->ctx, &msg);
	const struct fx_record *r = map_get(ev->records, n->id);

	if (manifest)
		*manifest = NULL;
	if (!m) {
		n->key[0] = '\0';
		set_state(n, FX_STALE, buf_detach(&msg));
		return;
	}
	buf_free(&msg);
	if (!r)
		set_state(n, FX_STALE, xstrdup("never ran"));
	else if (strcmp(r->key, n->key) != 0)
		set_state(n, FX_STALE, changed_reason(n, ev, m));
	else if (ev->force)
		set_state(n, FX_STALE, xstrdup("forced"));
	else if (ev->exists && !ev->exists(n, r->output, ev->ctx))
		set_state(n, FX_STALE, xstrdup("output missing"));
	else
		set_state(n, FX_FRESH, NULL);
	if (n->state == FX_FRESH)
		set_output(n, r);
	if (manifest)
		*manifest = m;
	else
		manifest_free(m);
}

void
stale_evaluate(struct fx_node **order, size_t count, struct fx_eval *ev)
{
	for (size_t i = 0; i < count; i++) {
		struct fx_node *n = order[i];
		struct fx_node *up = NULL;

		if (!n->selected)
			continue;
		for (size_t j = 0; j < n->ndeps && !up; j++)
			if (n->deps[j]->state != FX_FRESH)
				up = n->deps[j];
		if (up) {
			set_state(n, FX_PENDING, xasprintf("%s %s", up->id,
			    up->state == FX_STALE ? "will run" : "may run"));
			continue;
		}
		stale_decide(n, ev, NULL);
	}
}

/* Words for a manifest name's category (its part before the first ':'),
 * as kinds name their inputs (manifest.h); others show what follows it. */
static const struct {
	const char *category, *words;
} categories[] = {
	{"arg", "build arg "}, {"set", "set "}, {"values", "values file "},
	{"chart", "chart file "}, {"dep", ""}, {"containerfile", ""}, {"ignorefile", ""},
	{"ignore", "build.ignore pattern "}, {"file", ""},
};

char *
stale_summary(const struct fx_changes *c)
{
	struct fx_buf b = {0};

	if (!c->n)
		return xstrdup("inputs changed");
	const struct fx_change *ch = &c->v[0];
	const char *colon = strchr(ch->name, ':');
	size_t clen = colon ? (size_t)(colon - ch->name) : 0;
	const char *words = NULL;
	for (size_t i = 0; i < FX_NELEM(categories) && colon; i++)
		if (strlen(categories[i].category) == clen &&
		    strncmp(categories[i].category, ch->name, clen) == 0)
			words = categories[i].words;
	if (strcmp(ch->name, "cluster:") == 0)
		buf_puts(&b, "cluster recreated");
	else if (colon && strcmp(colon, ":") == 0)	/* "target:": the category is the name */
		buf_printf(&b, "%.*s %s", (int)clen, ch->name, change_verb(ch->op));
	else
		buf_printf(&b, "%s%s %s", words ? words : "", colon ? colon + 1 : ch->name,
		    change_verb(ch->op));
	if (c->n > 1)
		buf_printf(&b, " (+%zu more)", c->n - 1);
	return buf_detach(&b);
}
