/*
 * rules.c - from catalog entries to nodes, edges and sources (see rules.h).
 */
#include "fusion/rules.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/builder.h"
#include "fusion/containerfile.h"
#include "fusion/diag.h"
#include "fusion/ignore.h"
#include "fusion/manifest.h"
#include "fusion/provider.h"
#include "fusion/statedir.h"
#include "fusion/util.h"
#include "fusion/walk.h"

void
rules_init(struct fx_rules *r, const struct fx_catalog *cat, const char *statedir)
{
	*r = (struct fx_rules){.cat = cat, .statedir = statedir};
}

void
rules_free(struct fx_rules *r)
{
	free(r->cluster_uid);
	free(r->cluster_err);
	struct fx_listing *ls[] = {&r->images, &r->loaded, &r->releases};
	for (size_t i = 0; i < FX_NELEM(ls); i++) {
		map_free(&ls[i]->names);
		strv_free(&ls[i]->owned);
	}
	strv_free(&r->lost);
	rules_base_free(r);
	strv_free(&r->pending);
}

static struct fx_node *
add(struct fx_graph *g, const struct fx_rule_kind *k, struct fx_svc *s)
{
	struct fx_rule_node *d = xcalloc(1, sizeof(*d));
	struct fx_node *n;

	d->svc = s;
	n = graph_add(g, &k->kind, s->name, s->name, d);

	if (!n)
		free(d);
	return n;
}

/* Service s's nodes, in pipeline order, each with an input edge from its
 * node of each kind it takes inputs from (when s has one). */
static int
add_service(struct fx_graph *g, struct fx_svc *s)
{
	for (const struct fx_rule_kind *const *k = rules_kinds; *k; k++) {
		if (!(*k)->wants(s))
			continue;
		struct fx_node *n = add(g, *k, s);
		if (!n) {
			fx_error_at(s->loc, "duplicate name \"%s\"", s->name);
			return -1;
		}
		/* What holds a secret never leaves this machine. */
		n->local_only = ((*k)->roles & FX_ROLE_SECRETS) && s->secrets.n > 0;
		n->missing = ((*k)->roles & FX_ROLE_REPO) && s->missing;
		for (const struct fx_rule_kind *const *f = (*k)->from; *f; f++) {
			struct fx_node *dep = rules_node(g, *f, s->name);
			if (dep)
				graph_edge(dep, n);
		}
	}
	return 0;
}

/* The order-only edges of s's needs: each Y it needs comes first. */
static int
add_needs(struct fx_graph *g, const struct fx_catalog *c, const struct fx_svc *s)
{
	for (size_t j = 0; j < s->needs.n; j++) {
		if (!catalog_svc(c, s->needs.v[j])) {
			fx_error_at(s->needs.loc[j], "\"%s\" needs \"%s\", which is not in the catalog",
			    s->name, s->needs.v[j]);
			return -1;
		}
		/* A service whose image another entry releases is released with it. */
		const struct fx_svc *t = catalog_svc(c, s->needs.v[j]);
		const char *yname = t->released_by ? t->released_by : t->name;
		for (const struct fx_rule_kind *const *k = rules_kinds; *k; k++) {
			if (!((*k)->roles & FX_ROLE_NEEDS))
				continue;
			struct fx_node *x = rules_node(g, *k, s->name);
			struct fx_node *y = rules_node(g, *k, yname);
			if (x && y)
				graph_order(y, x);
		}
	}
	return 0;
}

/*
 * An entry that takes its members' images (`images:`): each member's
 * nodes feed the entry's nodes of the kinds that take from them (its build
 * the chart, its load the release), as a service's own would. Members that
 * share one tag each take every member's image ID into their load: a new
 * image of one is a new tag for all.
 */
static void
add_members(struct fx_graph *g, const struct fx_catalog *c, const struct fx_svc *u)
{
	for (size_t i = 0; i < u->nmembers; i++) {
		const char *m = u->members[i].name;
		for (const struct fx_rule_kind *const *k = rules_kinds; *k; k++) {
			struct fx_node *n = rules_node(g, *k, u->name);
			for (const struct fx_rule_kind *const *f = (*k)->from; n && *f; f++) {
				struct fx_node *dep = rules_node(g, *f, m);
				if (dep)
					graph_edge(dep, n);
			}
			if (!u->one_tag || !(*k)->from[0])
				continue;
			/* u->one_tag: every member's node of k takes every member's
			 * node of the kinds it takes from (the load, every build) */
			struct fx_node *own = rules_node(g, *k, m);
			for (size_t j = 0; own && j < u->nmembers; j++)
				for (const struct fx_rule_kind *const *f = (*k)->from; j != i && *f; f++) {
					struct fx_node *dep = rules_node(g, *f, u->members[j].name);
					if (dep)
						graph_edge(dep, own);
				}
		}
	}
	(void)c;
}

int
rules_graph(struct fx_rules *r, struct fx_graph *g)
{
	const struct fx_catalog *c = r->cat;

	if (rules_kinds_check(rules_kinds) < 0)
		return -1;
	for (size_t i = 0; i < c->nsvcs; i++)
		if (add_service(g, &c->svcs[i]) < 0)
			return -1;
	for (size_t i = 0; i < c->nsvcs; i++)
		if (c->svcs[i].nmembers)
			add_members(g, c, &c->svcs[i]);
	for (size_t i = 0; i < c->nsvcs; i++)
		if (add_needs(g, c, &c->svcs[i]) < 0)
			return -1;
	return 0;
}

void
rules_graph_free(struct fx_graph *g)
{
	for (size_t i = 0; g && i < g->n; i++) {
		struct fx_rule_node *d = g->nodes[i]->data;
		if (!d)
			continue;
		if (d->ignore)
			ignore_free(d->ignore);
		free(d->ignore_file);
		free(d->ignore_key);
		free(d->state_pattern);
		rules_containerfile_free(d);
		rules_build_sources_free(d);
		free(d->pull_dir);
		rules_tree_free(d->built);
		rules_tree_free(d->chart_now);
		free(d->values);
		rules_rollout_free(d->rollout);
		free(d);
		g->nodes[i]->data = NULL;
	}
}

struct fx_node *
rules_find(struct fx_graph *g, const char *arg)
{
	struct fx_node *n = graph_find(g, arg);

	if (!n)
		n = rules_node(g, rules_kind_with(FX_ROLE_TARGET), arg);
	/* A service whose image another entry releases: that release. */
	for (size_t i = 0; !n && i < g->n; i++) {
		const struct fx_rule_node *d = g->nodes[i]->data;
		if (d && strcmp(d->svc->name, arg) == 0 && d->svc->released_by)
			n = rules_node(g, rules_kind_with(FX_ROLE_TARGET), d->svc->released_by);
	}
	return n;
}

static int
read_rules(struct fx_rules *r, const char *path, char **text, size_t *len)
{
	return r->read ? r->read(r->read_ctx, path, text, len) : read_file(path, text, len);
}

int
rules_read(struct fx_rules *r, const char *path, char **text, size_t *len)
{
	return read_rules(r, path, text, len);
}

/* The path of ignore file `in` of service s. */
static char *
ignore_path(const struct fx_svc *s, const struct fx_ignore_name *in)
{
	return in->beside_file ? xasprintf("%s%s", s->build.file, in->name) :
	    path_join(s->build.context, in->name);
}

char *
rules_ignore_path(const struct fx_svc *s, const struct fx_builder *b, size_t k)
{
	if (!b)
		b = builder_of(&(struct fx_catalog){0});
	return k < b->nignore_order ? ignore_path(s, &b->ignore_order[k]) : NULL;
}

/* Find the builder's ignore file and read it into d->ignore; NULL text if
 * there is none. A name that is not there (a dangling link) is passed
 * over; one that cannot be read (a directory) fails the build, so it is an
 * error here, before anything runs. */
static int
find_ignore_file(struct fx_rules *r, struct fx_rule_node *d, char **text, size_t *len)
{
	const struct fx_builder *b = builder_of(r->cat);

	*text = NULL;
	d->builder = b;
	for (size_t i = 0; i < b->nignore_order; i++) {
		char *p = ignore_path(d->svc, &b->ignore_order[i]);
		if (read_rules(r, p, text, len) == 0) {
			d->ignore_file = p;
			return 0;
		}
		if (errno != ENOENT && errno != ENOTDIR) {
			fx_error("%s: cannot read the ignore file %s uses: %s", rules_relpath(r->cat, p),
			    builder_bin(r->cat), strerror(errno));
			free(p);
			return -1;
		}
		free(p);
	}
	return 0;
}

/* The builder's ignore rules and the catalog's build.ignore, read by every
 * builder's matcher (ignore.h); the text is the rules' identity. The
 * builder refuses bad rules only when a COPY or ADD reads the context (a
 * bind mount applies none), so only then are they an error. The state
 * directory, when inside the context, is excluded last, so that no
 * exception re-includes it. */
int
rules_load_ignore(struct fx_rules *r, struct fx_rule_node *d)
{
	struct fx_svc *s = d->svc;
	unsigned strict = builder_of(r->cat)->ignore_strict;
	rules_containerfile(r, d);
	if (!d->cf->copies)
		strict = 0;
	struct fx_buf key = {0};
	char *text;
	size_t len;
	int rc = 0;

	d->ignore = ignore_new_for(FX_IGNORE_ALL, strict);
	if (find_ignore_file(r, d, &text, &len) < 0)
		return -1;
	if (text) {
		buf_printf(&key, "%s\n", d->ignore_file);
		buf_add(&key, text, len);
		rc = ignore_add_text(d->ignore, text, len, rules_relpath(r->cat, d->ignore_file));
		free(text);
	}
	buf_puts(&key, "\n#catalog\n");
	for (size_t i = 0; i < s->build.ignore.n && rc == 0; i++) {
		buf_printf(&key, "%s\n", s->build.ignore.v[i]);
		struct fx_loc l = s->build.ignore.loc[i];
		rc = ignore_add_pattern(d->ignore, s->build.ignore.v[i], l.file, l.line);
	}
	free(d->state_pattern);
	d->state_pattern = rules_state_pattern(r, s);
	if (d->state_pattern && rc == 0) {
		buf_printf(&key, "#state\n%s\n", d->state_pattern);
		rc = ignore_add_pattern(d->ignore, d->state_pattern, "fusion", 0);
	}
	if (rc < 0) {
		buf_free(&key);
		return -1;
	}
	d->ignore_key = buf_detach(&key);
	fx_debug("build:%s: %zu ignore patterns", s->name, ignore_count(d->ignore));
	return 0;
}

int
rules_sources(struct fx_rules *r, struct fx_graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		struct fx_node *n = g->nodes[i];
		if (!n->selected || n->missing)
			continue;	/* a missing node has nothing there to read */
		if (rules_kind_of(n)->sources(r, n) < 0)
			return -1;
	}
	return 0;
}

void
rules_each_source(struct fx_graph *g, void (*fn)(void *ctx, const struct fx_source *src),
    void *ctx)
{
	for (size_t i = 0; i < g->n; i++) {
		struct fx_node *n = g->nodes[i];
		if (n->selected && !n->missing)
			rules_kind_of(n)->each_source(n, fn, ctx);
	}
}

bool
rules_exists(struct fx_node *n, const char *output, void *ctx)
{
	return rules_kind_of(n)->exists(ctx, n, output);
}

bool
rules_is_image_id(const char *s)
{
	if (strncmp(s, "sha256:", 7) != 0)
		return false;
	s += 7;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

char *
rules_image_ref(const struct fx_svc *s, const char *image_id)
{
	const char *hex = strncmp(image_id, "sha256:", 7) == 0 ? image_id + 7 : image_id;
	return xasprintf("localhost/%s:fx-%.16s", s->image, hex);
}

char *
rules_ref_tagged(const struct fx_catalog *c, const struct fx_svc *s, const char *tag)
{
	return xasprintf("%s/%s:%s", rules_registry(c), s->image, tag);
}

char *
rules_cluster_ref(const struct fx_catalog *c, const struct fx_svc *s, const char *image_id)
{
	const char *hex = strncmp(image_id, "sha256:", 7) == 0 ? image_id + 7 : image_id;

	if (provider_of(c)->registry && c->registry)
		return xasprintf("%s/%s:fx-%.16s", c->registry, s->image, hex);
	return rules_image_ref(s, image_id);
}

const char *
rules_relpath(const struct fx_catalog *c, const char *abs)
{
	const char *rel = path_under(abs, c->root);
	return rel && *rel ? rel : abs;
}

char *
rules_artifact(struct fx_rules *r, const char *name)
{
	char *dir = path_join(r->statedir, "artifacts");
	char *p = path_join(dir, name);

	/* The tool that writes there then fails with its own words; say why.
	 * Made once a run, not once a node. */
	if (!r->artifacts_made && statedir_mkdir(dir) < 0)
		fx_error("%s: %s", dir, strerror(errno));
	else
		r->artifacts_made = true;
	free(dir);
	return p;
}

char *
rules_file_digest(const struct fx_tree *t)
{
	char hex[FX_HASH_HEX];

	if (!t || t->err || t->n != 1)
		return xstrdup("missing");
	hash_hex(t->v[0].hash, hex);
	return xasprintf("%06o:%s", t->v[0].mode, hex);
}

const char *
rules_after(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(name, prefix, n) == 0 ? name + n : NULL;
}

enum fx_said
rules_say_value(const struct fx_change *c, const char *what, bool brief, struct fx_buf *out)
{
	if (brief)
		buf_printf(out, "%s %s", what, change_verb(c->op));
	else if (c->op == 'M')
		buf_printf(out, "%s: %s -> %s", what, c->old, c->new);
	else
		buf_printf(out, "%s %s: %s", what, change_verb(c->op), c->op == 'A' ? c->new : c->old);
	return FX_SAID_VALUE;
}

/* Values are "100644:hex": the same digest after the mode is a chmod. */
static bool
same_content(const char *a, const char *b)
{
	const char *ca = a ? strchr(a, ':') : NULL, *cb = b ? strchr(b, ':') : NULL;
	return ca && cb && strcmp(ca, cb) == 0;
}

enum fx_said
rules_say_file(const struct fx_change *c, const char *path, const char *what, bool brief,
    struct fx_buf *out)
{
	bool chmod = c->op == 'M' && same_content(c->old, c->new);

	/* A name with a newline or bytes that are not UTF-8 is shown quoted
	 * and escaped: one line per file, whatever the workspace holds. */
	if (brief) {
		buf_puts(out, what);
		buf_put_name(out, path);
		buf_printf(out, " %s", chmod ? "mode changed" : change_verb(c->op));
	} else if (chmod) {
		buf_printf(out, "M %s", what);
		buf_put_name(out, path);
		buf_printf(out, " (mode %.6s -> %.6s)", c->old, c->new);
	} else {
		buf_printf(out, "%c %s", c->op, what);
		buf_put_name(out, path);
	}
	return FX_SAID_FILE;
}
