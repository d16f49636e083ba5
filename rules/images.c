/*
 * images.c - images into values: which images a chart takes, the tag each
 * has, and the `--set PATH=VALUE` pairs its templates make of them
 * (catalog.h, FX_IMAGE_FIELDS).
 *
 * A service's chart takes its own image; a shared entry with `images:`
 * (an umbrella chart) takes its members'. Each image has the tag its
 * build gave it, fx-<16 hex of its image ID>, unless the entry gives its
 * members one tag (a chart that takes one repository and one tag for all
 * its images): then every member's image is tagged fx-<16 hex of a hash
 * of all of their IDs>, by its load (rules/load.c), so a new image of one
 * member gives every member a new tag, and each is loaded again under it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/provider.h"
#include "fusion/rules.h"

/* Service s's build among n's input edges: its image ID, or a stand-in
 * while it is not known. */
static const char *
id_in(const struct fx_node *n, const char *svc)
{
	for (size_t i = 0; i < n->ndeps; i++) {
		const struct fx_node *b = n->deps[i];
		const struct fx_rule_node *d = b->data;
		if (b->kind == &kind_build.kind && strcmp(d->svc->name, svc) == 0)
			return b->have_out && b->out.value ? b->out.value : "sha256:<image-from-build>";
	}
	return "sha256:<image-from-build>";
}

char *
rules_image_tag(const struct fx_catalog *c, const struct fx_svc *s, const char *id,
    const struct fx_node *n)
{
	const struct fx_svc *u = s->released_by ? catalog_svc(c, s->released_by) : NULL;

	if (!u || !u->one_tag) {
		const char *hex = strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
		return xasprintf("fx-%.16s", hex);
	}
	struct fx_buf b = {0};
	for (size_t i = 0; i < u->nmembers; i++)
		buf_printf(&b, "%s%c%s%c", u->members[i].name, 0, id_in(n, u->members[i].name), 0);
	fx_hash h = hash_bytes(b.s, b.len);
	buf_free(&b);
	return xasprintf("fx-%016llx", (unsigned long long)h.hi);
}

const char *
rules_registry(const struct fx_catalog *c)
{
	return provider_of(c)->registry && c->registry ? c->registry : "localhost";
}

/* The template t with the fields of one image. */
static char *
expand(const char *t, const struct fx_catalog *c, const struct fx_svc *s, const char *tag)
{
	const char *reg = rules_registry(c);
	struct fx_buf b = {0};

	while (*t) {
		const char *p = strchr(t, '{');
		if (!p) {
			buf_puts(&b, t);
			break;
		}
		buf_add(&b, t, (size_t)(p - t));
		size_t n = strcspn(p + 1, "}");
#define IS(f) (n == strlen(f) && strncmp(p + 1, f, n) == 0)
		if (IS("registry"))
			buf_puts(&b, reg);
		else if (IS("image"))
			buf_puts(&b, s->image);
		else if (IS("repository"))
			buf_printf(&b, "%s/%s", reg, s->image);
		else if (IS("tag"))
			buf_puts(&b, tag);
		else if (IS("ref"))
			buf_printf(&b, "%s/%s:%s", reg, s->image, tag);
		else if (IS("pullPolicy"))
			buf_puts(&b, provider_of(c)->pull_policy);
		else	/* the catalog allows no other */
			buf_add(&b, p, n + 2);
#undef IS
		t = p + n + 1 + (p[n + 1] == '}');
	}
	return buf_detach(&b);
}

/* The templates service s's image is given with to u's chart. */
static const struct fx_kvlist *
templates(const struct fx_svc *u, const struct fx_svc *s)
{
	for (size_t i = 0; i < u->nmembers; i++)
		if (strcmp(u->members[i].name, s->name) == 0)
			return u->members[i].values.n ? &u->members[i].values : &u->image_values;
	return &s->image_values;
}

void
rules_image_values(struct fx_rules *r, const struct fx_node *chart, struct fx_kvlist *out)
{
	const struct fx_svc *u = ((const struct fx_rule_node *)chart->data)->svc;

	for (size_t i = 0; i < chart->ndeps; i++) {
		const struct fx_node *b = chart->deps[i];
		if (b->kind != &kind_build.kind)
			continue;
		const struct fx_svc *s = ((const struct fx_rule_node *)b->data)->svc;
		char *tag = rules_image_tag(r->cat, s, id_in(chart, s->name), chart);
		const struct fx_kvlist *t = templates(u, s);
		for (size_t j = 0; j < t->n; j++) {
			bool dup = false;
			for (size_t k = 0; k < out->n && !dup; k++)
				dup = strcmp(out->v[k].key, t->v[j].key) == 0;
			if (dup)	/* the same value: the catalog made sure */
				continue;
			out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
			out->v[out->n++] = (struct fx_kv){xstrdup(t->v[j].key),
			    expand(t->v[j].value, r->cat, s, tag), t->v[j].loc};
		}
		free(tag);
	}
}

void
rules_kv_free(struct fx_kvlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	*l = (struct fx_kvlist){0};
}
