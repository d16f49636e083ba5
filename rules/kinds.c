/*
 * kinds.c - the registry of node kinds, in pipeline order (see rules.h).
 *
 * A kind's behaviour is in its own file; this is the one list of them.
 * A new kind is one more file, one more line here, and its keys in the
 * catalog: `--until`, `status`, `down`, `why` and the help text find it
 * here, and rules_kinds_check() refuses an entry that lacks a callback.
 */
#include <stdlib.h>
#include <string.h>

#include "fusion/diag.h"
#include "fusion/rules.h"
#include "fusion/util.h"

const struct fx_rule_kind *const rules_kinds[] = {
	&kind_build,
	&kind_load,
	&kind_fetch,
	&kind_chart,
	&kind_release,
	NULL,
};

/* The roles the commands ask rules_kind_with for: each needs a kind. */
static const struct {
	enum fx_role role;
	const char *name;
} wanted_roles[] = {
	{FX_ROLE_TARGET, "target"},
	{FX_ROLE_DEPLOY, "deploy"},
	{FX_ROLE_IMAGE, "image"},
};

/* Where k is in `kinds` (their number if it is not there). */
static size_t
position_in(const struct fx_rule_kind *const *kinds, const struct fx_rule_kind *k)
{
	size_t i = 0;

	while (kinds[i] && kinds[i] != k)
		i++;
	return i;
}

static size_t
position(const struct fx_rule_kind *k)
{
	return position_in(rules_kinds, k);
}

static const struct fx_rule_kind *
named_in(const struct fx_rule_kind *const *kinds, const char *name)
{
	for (size_t i = 0; kinds[i]; i++)
		if (kinds[i]->kind.name && strcmp(kinds[i]->kind.name, name) == 0)
			return kinds[i];
	return NULL;
}

/* What kind k lacks, or NULL. */
static const char *
lacks(const struct fx_rule_kind *k)
{
	const struct fx_kind *e = &k->kind;
	const struct {
		bool missing;
		const char *what;
	} need[] = {
		{!e->name || !*e->name, "name"},
		{!e->inputs, "inputs"},
		{!e->step, "step"},
		{!e->pack != !e->unpack, e->pack ? "unpack" : "pack"},
		{!k->from, "from"},
		{!k->never_ran, "never_ran"},
		{!k->wants, "wants"},
		{!k->sources, "sources"},
		{!k->each_source, "each_source"},
		{!k->exists, "exists"},
	};

	for (size_t i = 0; i < FX_NELEM(need); i++)
		if (need[i].missing)
			return need[i].what;
	return NULL;
}

/* A kind k takes inputs from must come before it, and be in the list. */
static const struct fx_rule_kind *
misplaced_from(const struct fx_rule_kind *const *kinds, const struct fx_rule_kind *k)
{
	for (const struct fx_rule_kind *const *f = k->from; *f; f++)
		if (position_in(kinds, *f) >= position_in(kinds, k))
			return *f;
	return NULL;
}

static bool
has_role(const struct fx_rule_kind *const *kinds, enum fx_role role)
{
	for (size_t i = 0; kinds[i]; i++)
		if (kinds[i]->roles & role)
			return true;
	return false;
}

int
rules_kinds_check(const struct fx_rule_kind *const *kinds)
{
	int rc = 0;

	for (size_t i = 0; kinds[i]; i++) {
		const struct fx_rule_kind *k = kinds[i];
		const char *name = k->kind.name && *k->kind.name ? k->kind.name : "(unnamed)";
		const char *what = lacks(k);
		const struct fx_rule_kind *f = what ? NULL : misplaced_from(kinds, k);
		if (what) {
			fx_error("node kind %s has no %s (rules/kinds.c)", name, what);
			rc = -1;
		} else if (f) {
			fx_error("node kind %s takes inputs from %s, which does not come before it in "
			    "rules/kinds.c", name, f->kind.name);
			rc = -1;
		} else if (named_in(kinds, name) != k) {
			fx_error("two node kinds are called %s (rules/kinds.c)", name);
			rc = -1;
		}
	}
	for (size_t i = 0; i < FX_NELEM(wanted_roles); i++) {
		if (!has_role(kinds, wanted_roles[i].role)) {
			fx_error("no node kind has the role %s (rules/kinds.c)", wanted_roles[i].name);
			rc = -1;
		}
	}
	return rc;
}

const struct fx_rule_kind *
rules_kind_named(const char *name)
{
	return named_in(rules_kinds, name);
}

const struct fx_rule_kind *
rules_kind_of(const struct fx_node *n)
{
	for (size_t i = 0; rules_kinds[i]; i++)
		if (&rules_kinds[i]->kind == n->kind)
			return rules_kinds[i];
	return NULL;
}

const struct fx_rule_kind *
rules_kind_with(enum fx_role role)
{
	for (size_t i = 0; rules_kinds[i]; i++)
		if (rules_kinds[i]->roles & role)
			return rules_kinds[i];
	return NULL;
}

bool
rules_is(const struct fx_node *n, enum fx_role role)
{
	const struct fx_rule_kind *k = rules_kind_of(n);
	return k && (k->roles & role);
}

struct fx_node *
rules_node(const struct fx_graph *g, const struct fx_rule_kind *k, const char *name)
{
	char *id = xasprintf("%s:%s", k->kind.name, name);
	struct fx_node *n = graph_find(g, id);

	free(id);
	return n;
}

void
rules_kind_list(struct fx_buf *out, const char *last)
{
	for (size_t i = 0; rules_kinds[i]; i++) {
		if (i)
			buf_printf(out, rules_kinds[i + 1] ? ", " : " %s ", last);
		buf_puts(out, rules_kinds[i]->kind.name);
	}
}

const char **
rules_kinds_upto(const char *name)
{
	const struct fx_rule_kind *until = rules_kind_named(name);
	size_t n = 0, at;

	if (!until)
		return NULL;
	at = position(until);
	bool *keep = xcalloc(at + 1, sizeof(*keep));
	const char **names = xcalloc(at + 2, sizeof(*names));
	/* Each kind comes after those it takes inputs from: one pass back. */
	keep[at] = true;
	for (size_t i = at + 1; i-- > 0;) {
		for (const struct fx_rule_kind *const *f = rules_kinds[i]->from; keep[i] && *f; f++) {
			size_t p = position(*f);
			if (p < i)
				keep[p] = true;
		}
	}
	for (size_t i = 0; i <= at; i++)
		if (keep[i])
			names[n++] = rules_kinds[i]->kind.name;
	names[n] = NULL;
	free(keep);
	return names;
}

int
rules_no_sources(struct fx_rules *r, struct fx_node *n)
{
	(void)r;
	(void)n;
	return 0;
}

void
rules_each_no_source(struct fx_node *n, void (*fn)(void *ctx, const struct fx_source *src),
    void *ctx)
{
	(void)n;
	(void)fn;
	(void)ctx;
}
