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
	char *old = NULL;
	struct fx_changes c;

	if (ev->cache && cache_manifest(ev->cache, n->id, &old) < 0)
		return xstrdup("inputs changed (their record cannot be read)");
	if (!old)
		return xstrdup("inputs changed");
	if (manifest_hashing(old) != FX_HASHING) {
		free(old);
		return xstrdup(FX_HASHING_CHANGED);
	}
	manifest_diff(old, m, &c);
	free(old);
	char *s = c.n ? stale_summary(n, &c) : xstrdup("rule changed");
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
	struct fx_record *seen = NULL;
	if (r && strcmp(r->key, n->key) != 0 && !ev->force && n->kind->keyed && ev->cache &&
	    cache_find_key(ev->cache, n->id, n->key, &seen) == 0 && seen &&
	    (!ev->exists || ev->exists(n, seen->output, ev->ctx)))
		r = seen;	/* this key ran before, and its output is still there */
	if (!r)
		set_state(n, FX_STALE, xstrdup("never ran"));
	else if (strcmp(r->key, n->key) != 0)
		set_state(n, FX_STALE, changed_reason(n, ev, m));
	else if (ev->force)
		set_state(n, FX_STALE, xstrdup("forced"));
	else if (ev->exists && (ev->verify || n->kind->check_always) &&
	    !ev->exists(n, r->output, ev->ctx))
		set_state(n, FX_STALE, xstrdup("output missing"));
	else
		set_state(n, FX_FRESH, NULL);
	if (n->state == FX_FRESH)
		set_output(n, r);
	cache_record_free(seen);
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
		if (n->missing) {
			set_state(n, FX_MISSING, xstrdup("its sources are missing"));
			continue;
		}
		for (size_t j = 0; j < n->ndeps && !up; j++)
			if (n->deps[j]->state != FX_FRESH)
				up = n->deps[j];
		if (up && up->state == FX_MISSING) {
			set_state(n, FX_MISSING, xasprintf("%s is missing", up->id));
			continue;
		}
		if (up) {
			set_state(n, FX_PENDING, xasprintf("%s %s", up->id,
			    up->state == FX_STALE ? "will run" : "may run"));
			continue;
		}
		stale_decide(n, ev, NULL);
	}
}

/* A name's category (before its first ':') and the rest; no colon: the
 * whole name is the rest. */
static void
split_name(const char *name, const char **rest, int *catlen)
{
	const char *colon = strchr(name, ':');

	*catlen = colon ? (int)(colon - name) : 0;
	*rest = colon ? colon + 1 : name;
}

/* Words from the name alone: "image changed", "namespace: a -> b". */
static enum fx_said
say_name(const struct fx_change *c, bool brief, struct fx_buf *out)
{
	const char *rest;
	int clen;

	split_name(c->name, &rest, &clen);
	if (brief && *rest)
		buf_printf(out, "%s %s", rest, change_verb(c->op));
	else if (brief)
		buf_printf(out, "%.*s %s", clen, c->name, change_verb(c->op));
	else if (c->op == 'M')
		buf_printf(out, "%.*s: %s -> %s", *rest ? (int)strlen(c->name) : clen, c->name,
		    c->old, c->new);
	else
		buf_printf(out, "%.*s %s: %s", *rest ? (int)strlen(c->name) : clen, c->name,
		    change_verb(c->op), c->op == 'A' ? c->new : c->old);
	return FX_SAID_VALUE;
}

enum fx_said
stale_describe(const struct fx_node *n, const struct fx_change *c, bool brief,
    struct fx_buf *out)
{
	/* stale_inputs() writes these for the input edges. */
	if (strncmp(c->name, "dep:", 4) == 0) {
		if (brief)
			buf_printf(out, "%s %s", c->name + 4, change_verb(c->op));
		else
			buf_printf(out, "upstream %s produced a new output", c->name + 4);
		return FX_SAID_VALUE;
	}
	size_t before = out->len;
	enum fx_said said = n->kind->describe ? n->kind->describe(c, brief, out) : FX_SAID_NOTHING;
	if (said != FX_SAID_NOTHING)
		return said;
	out->len = before;	/* nothing half said */
	if (out->s)
		out->s[before] = '\0';
	return say_name(c, brief, out);
}

char *
stale_summary(const struct fx_node *n, const struct fx_changes *c)
{
	struct fx_buf b = {0};

	if (!c->n)
		return xstrdup("inputs changed");
	stale_describe(n, &c->v[0], true, &b);
	if (c->n > 1)
		buf_printf(&b, " (+%zu more)", c->n - 1);
	return buf_detach(&b);
}
