/*
 * print.c - the catalog as commands see it (`fusion config`): after
 * profiles, defaults, `enabled` and path resolution, as YAML or JSON.
 *
 * The YAML is itself a catalog: strings are double-quoted with JSON's
 * escapes (which YAML's double-quoted style reads the same), paths are
 * absolute, `defaults` is already merged into each service, so loading it
 * with -f gives the same graph (the state directory aside, which follows
 * the file).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* One emitter for both forms: JSON objects or YAML block mappings. */
struct em {
	struct fx_buf *b;
	bool json;
	int depth;
	bool first[CAT_MAX_DEPTH];
};

static void
key(struct em *e, const char *k, bool quote)
{
	if (e->json) {	/* one line, as every --json value (jq pretty-prints) */
		if (!e->first[e->depth])
			buf_putc(e->b, ',');
		e->first[e->depth] = false;
		buf_json_str(e->b, k);
		buf_putc(e->b, ':');
		return;
	}
	buf_printf(e->b, "%*s", 2 * (e->depth - 1), "");
	if (quote)
		buf_json_str(e->b, k);
	else
		buf_puts(e->b, k);
	buf_puts(e->b, ":");
}

static void
open_map(struct em *e, const char *k, bool quote)
{
	if (k)
		key(e, k, quote);
	buf_puts(e->b, e->json ? "{" : "\n");
	e->first[++e->depth] = true;
}

static void
close_map(struct em *e)
{
	e->depth--;
	if (e->json)
		buf_putc(e->b, '}');
}

static void
str(struct em *e, const char *k, const char *v)
{
	if (!v)
		return;
	key(e, k, false);
	buf_puts(e->b, e->json ? "" : " ");
	buf_json_str(e->b, v);
	if (!e->json)
		buf_putc(e->b, '\n');
}

static void
raw(struct em *e, const char *k, const char *v)
{
	key(e, k, false);
	buf_printf(e->b, "%s%s%s", e->json ? "" : " ", v, e->json ? "" : "\n");
}

static void
num(struct em *e, const char *k, int v)
{
	char s[16];

	if (!v)
		return;
	snprintf(s, sizeof s, "%d", v);
	raw(e, k, s);
}

static void
list(struct em *e, const char *k, const struct fx_list *l)
{
	if (!l->n)
		return;
	key(e, k, false);
	buf_puts(e->b, e->json ? "[" : " [");
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			buf_puts(e->b, e->json ? "," : ", ");
		buf_json_str(e->b, l->v[i]);
	}
	buf_puts(e->b, e->json ? "]" : "]\n");
}

static void
kvs(struct em *e, const char *k, const struct fx_kvlist *l)
{
	if (!l->n)
		return;
	open_map(e, k, false);
	for (size_t i = 0; i < l->n; i++) {
		key(e, l->v[i].key, true);
		buf_puts(e->b, e->json ? "" : " ");
		buf_json_str(e->b, l->v[i].value);
		if (!e->json)
			buf_putc(e->b, '\n');
	}
	close_map(e);
}

static void
ports(struct em *e, const struct fx_svc *s)
{
	struct fx_list l = {0};

	for (size_t i = 0; i < s->nports; i++)
		cfg_list_add(&l, xasprintf("%d:%d", s->ports[i].local, s->ports[i].remote),
		    s->ports[i].loc);
	list(e, "ports", &l);
	cfg_list_free(&l);
}

/* A local chart's directory, an OCI reference, or {repo, name} of an HTTP
 * repository; and the version pinned beside either of the last two. */
static void
chart(struct em *e, const struct fx_svc *s)
{
	if (s->chart_url && !s->chart_oci) {
		open_map(e, "chart", false);
		str(e, "repo", s->chart_url);
		str(e, "name", s->chart_name);
		close_map(e);
	} else {
		str(e, "chart", s->chart_url ? s->chart_url : s->chart);
	}
	str(e, "version", s->chart_pin);
}

/* An umbrella's `images`: each member with its own templates, or {} for
 * the entry's. */
static void
members(struct em *e, const struct fx_svc *s)
{
	if (!s->nmembers)
		return;
	open_map(e, "images", false);
	for (size_t i = 0; i < s->nmembers; i++) {
		if (s->members[i].values.n)
			kvs(e, s->members[i].name, &s->members[i].values);
		else
			raw(e, s->members[i].name, "{}");
	}
	close_map(e);
}

static void
entry(struct em *e, const struct fx_svc *s)
{
	open_map(e, s->name, false);
	if (!s->shared) {
		str(e, "repo", s->repo);
		str(e, "git", s->git);
		open_map(e, "build", false);
		str(e, "context", s->build.context);
		str(e, "file", s->build.file);
		kvs(e, "args", &s->build.args);
		str(e, "target", s->build.target);
		list(e, "ignore", &s->build.ignore);
		close_map(e);
		str(e, "image", s->image);
	}
	/* A member of an umbrella has no release of its own: what defaults
	 * merged into it of a release stays unsaid (a key of its own would be
	 * an error). */
	if (!s->released_by) {
		chart(e, s);
		list(e, "values", &s->values);
		kvs(e, "set", &s->set);
		kvs(e, "secrets", &s->secrets);
		list(e, "needs", &s->needs);
		ports(e, s);
		if (s->image_values_given)
			kvs(e, "image_values", &s->image_values);
		num(e, "timeout", s->timeout);	/* seconds; not set: not said */
	}
	members(e, s);
	close_map(e);
}

static void
entries(struct em *e, const struct fx_catalog *c, bool shared)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nsvcs; i++)
		n += c->svcs[i].shared == shared;
	if (!n)
		return;
	open_map(e, shared ? "shared" : "services", false);
	for (size_t i = 0; i < c->nsvcs; i++)
		if (c->svcs[i].shared == shared)
			entry(e, &c->svcs[i]);
	close_map(e);
}

static void
workspace(struct em *e, const struct fx_catalog *c)
{
	open_map(e, "workspace", false);
	str(e, "root", c->root);
	str(e, "namespace", c->namespace);
	open_map(e, "cluster", false);
	str(e, "provider", c->provider);
	str(e, "profile", c->profile);
	str(e, "context", c->context);
	str(e, "registry", c->registry);
	str(e, "driver", c->driver);
	list(e, "start_args", &c->start_args);
	close_map(e);
	str(e, "builder", c->builder);
	num(e, "jobs", c->jobs);
	close_map(e);
}

static void
cache(struct em *e, const struct fx_catalog *c)
{
	if (!c->remote && !c->push)
		return;
	open_map(e, "cache", false);
	str(e, "remote", c->remote);
	raw(e, "push", c->push ? "true" : "false");
	str(e, "header", c->remote_header);
	str(e, "header_env", c->remote_header_env);
	num(e, "connect_timeout", c->remote_connect_timeout);
	num(e, "timeout", c->remote_timeout);
	num(e, "max_blob_mib", c->remote_max_blob_mib);
	close_map(e);
}

void
catalog_print(const struct fx_catalog *c, bool json, struct fx_buf *out)
{
	struct em e = {.b = out, .json = json};

	if (json) {
		open_map(&e, NULL, false);
	} else {
		buf_printf(out, "# %s", c->shown ? c->shown : c->path);
		for (size_t i = 0; i < c->profiles.n; i++)
			buf_printf(out, "%s%s", i ? ", " : " with profile ", c->profiles.v[i]);
		buf_puts(out, ": what fusion's commands use (defaults merged, paths resolved)\n");
		e.depth = 1;
	}
	raw(&e, "version", "1");
	if (json)
		list(&e, "profiles", &c->profiles);
	workspace(&e, c);
	cache(&e, c);
	entries(&e, c, true);
	entries(&e, c, false);
	if (json) {
		list(&e, "disabled", &c->disabled);
		close_map(&e);
		buf_putc(out, '\n');
	} else if (c->disabled.n) {
		buf_puts(out, "# disabled:");
		for (size_t i = 0; i < c->disabled.n; i++)
			buf_printf(out, " %s", c->disabled.v[i]);
		buf_putc(out, '\n');
	}
}
