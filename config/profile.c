/*
 * profile.c - profiles: named overlays of the catalog, `profiles: {NAME:
 * OVERLAY}`, selected with --profile NAME (or FUSION_PROFILE).
 *
 * An overlay is laid over the YAML tree before the tree is walked, so the
 * walk, its checks and its file:line:col messages are the same for what a
 * profile writes as for the rest: a mistake in a profile points into the
 * profile. The merge (docs/DESIGN.md, "Profiles"), as Skaffold, Garden and
 * helm values users expect:
 *
 *   - mappings merge key by key, recursively (a service's `set`, `build.args`,
 *     `workspace.cluster`, the `services` map itself: a profile may add one);
 *   - a scalar or a list replaces what was there (`values: [...]` in a
 *     profile is the whole list; lists never append);
 *   - profiles apply in the order selected, each over the result of the last.
 *
 * Nothing is copied: a merged mapping is a new node whose children point
 * into the document, allocated in the document's arena.
 *
 * Profiles not selected are walked too (over the catalog, without the file
 * checks), so a mistake in the CI profile shows on a laptop as well.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* What a profile may change: every section but `version` and `profiles`. */
static const char *const overlay_keys[] = {"workspace", "cache", "defaults", "shared", "services"};

static struct ynode *
new_map(struct fx_arena *a, const struct ynode *at, size_t npairs)
{
	struct ynode *m = arena_alloc(a, sizeof *m);

	memset(m, 0, sizeof *m);
	m->type = Y_MAP;
	m->line = at->line;
	m->col = at->col;
	m->n = 2 * npairs;
	m->u.kids = arena_alloc(a, (npairs ? 2 * npairs : 1) * sizeof *m->u.kids);
	return m;
}

const struct ynode *
cfg_overlay(struct cfg_load *ld, struct fx_arena *a, const struct ynode *base,
    const struct ynode *over, int depth)
{
	const struct ynode *b = cfg_yderef(base), *o = cfg_yderef(over);

	if (!b || !o || b->type != Y_MAP || o->type != Y_MAP || depth >= CAT_MAX_DEPTH)
		return over ? over : base;
	struct cfg_pairs bp = {0}, op = {0};
	struct fx_map at = {0};	/* over's key -> index + 1 */
	cfg_map_pairs(ld, b, &bp);
	cfg_map_pairs(ld, o, &op);
	if (!cfg_spend(ld, o, (long)(bp.n + op.n))) {
		free(bp.v);
		free(op.v);
		return base;
	}
	for (size_t i = 0; i < op.n; i++)
		*map_slot(&at, cfg_ytext(op.v[2 * i]), true) = (void *)(uintptr_t)(i + 1);
	bool *used = xcalloc(op.n + 1, sizeof *used);
	struct ynode *m = new_map(a, b, bp.n + op.n);
	size_t k = 0;
	for (size_t i = 0; i < bp.n; i++) {
		const struct ynode *key = bp.v[2 * i], *val = bp.v[2 * i + 1];
		uintptr_t j = (uintptr_t)map_get(&at, cfg_ytext(key));
		if (j) {
			used[j - 1] = true;
			val = cfg_overlay(ld, a, val, op.v[2 * (j - 1) + 1], depth + 1);
		}
		m->u.kids[k++] = (struct ynode *)key;
		m->u.kids[k++] = (struct ynode *)val;
	}
	for (size_t i = 0; i < op.n; i++) {
		if (used[i])
			continue;
		m->u.kids[k++] = (struct ynode *)op.v[2 * i];
		m->u.kids[k++] = (struct ynode *)op.v[2 * i + 1];
	}
	m->n = k;
	free(used);
	map_free(&at);
	free(bp.v);
	free(op.v);
	return m;
}

/* A profile's name: what FUSION_PROFILE's commas and a shell leave alone. */
static bool
name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* The overlay of one profile, only the keys a profile may hold (the others
 * reported); NULL for an empty or broken one. */
static const struct ynode *
overlay_of(struct cfg_load *ld, struct fx_arena *a, const struct ynode *name,
    const struct ynode *v)
{
	char *where = xasprintf("in profile \"%s\"", cfg_ytext(name));
	const struct ynode *m = cfg_as_map(ld, v, "profiles.NAME");
	struct cfg_pairs p = {0};
	struct ynode *out = NULL;

	if (m) {
		cfg_map_pairs(ld, m, &p);
		out = new_map(a, m, p.n);
		out->n = 0;
		for (size_t i = 0; i < p.n; i++) {
			if (cfg_key_index(ld, p.v[2 * i], overlay_keys, FX_NELEM(overlay_keys),
			    where) < 0)
				continue;
			out->u.kids[out->n++] = (struct ynode *)p.v[2 * i];
			out->u.kids[out->n++] = (struct ynode *)p.v[2 * i + 1];
		}
	}
	free(p.v);
	free(where);
	return out;
}

/* "unknown profile" with the closest name, or the list of names. */
static void
unknown_profile(struct cfg_load *ld, const struct ynode *at, const char *name,
    const struct cfg_pairs *p)
{
	const char **names = xcalloc(p->n + 1, sizeof *names);
	struct fx_buf list = {0};
	int line = at ? at->line : 0, col = at ? at->col : 0;

	for (size_t i = 0; i < p->n; i++) {
		names[i] = cfg_ytext(p->v[2 * i]);
		buf_printf(&list, "%s%s", i ? ", " : "", names[i]);
	}
	const char *m = str_closest(name, names, p->n);
	if (m)
		cfg_rep_error(&ld->rep, line, col, "unknown profile \"%s\" (did you mean \"%s\"?)",
		    name, m);
	else if (p->n)
		cfg_rep_error(&ld->rep, line, col, "unknown profile \"%s\" (the catalog's profiles: "
		    "%s)", name, list.s);
	else
		cfg_rep_error(&ld->rep, line, col, "unknown profile \"%s\" (the catalog has no "
		    "\"profiles\")", name);
	buf_free(&list);
	free(names);
}

const struct ynode *
cfg_profiles(struct cfg_load *ld, struct fx_arena *a, const struct ynode *top,
    const struct ynode *key, const struct ynode *v)
{
	const struct ynode *m = key ? cfg_as_map(ld, v, "profiles") : NULL;
	struct cfg_pairs p = {0};
	const struct ynode *eff = top;

	if (m)
		cfg_map_pairs(ld, m, &p);
	const struct ynode **over = xcalloc(p.n + 1, sizeof *over);
	bool *picked = xcalloc(p.n + 1, sizeof *picked);
	for (size_t i = 0; i < p.n; i++) {
		if (!name_ok(cfg_ytext(p.v[2 * i])))
			ERR(ld, p.v[2 * i], "profile name \"%s\" may hold only letters, digits, '-', "
			    "'_' and '.'", cfg_ytext(p.v[2 * i]));
		over[i] = overlay_of(ld, a, p.v[2 * i], p.v[2 * i + 1]);
	}
	for (size_t s = 0; s < ld->nprofiles; s++) {
		const char *want = ld->profiles[s];
		size_t i = 0;
		while (i < p.n && strcmp(cfg_ytext(p.v[2 * i]), want) != 0)
			i++;
		if (i == p.n) {
			unknown_profile(ld, key, want, &p);
			continue;
		}
		picked[i] = true;
		cfg_list_add(&ld->c->profiles, xstrdup(want), cfg_locof(ld, p.v[2 * i]));
		if (over[i])
			eff = cfg_overlay(ld, a, eff, over[i], 0);
	}
	/* The others are checked as the catalog would be with them. */
	for (size_t i = 0; i < p.n; i++)
		if (!picked[i] && over[i] && !cfg_rep_full(&ld->rep))
			cfg_walk_aside(ld, cfg_overlay(ld, a, top, over[i], 0));
	free(picked);
	free(over);
	free(p.v);
	return eff;
}
