/*
 * rules.c - from catalog entries to nodes, edges and sources (see rules.h).
 */
#include "fusion/rules.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/diag.h"
#include "fusion/ignore.h"
#include "fusion/manifest.h"
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
}

static struct fx_node *
add(struct fx_graph *g, const struct fx_kind *k, struct fx_svc *s)
{
	struct fx_rule_node *d = xcalloc(1, sizeof(*d));

	d->svc = s;
	return graph_add(g, k, s->name, s->name, d);
}

int
rules_graph(struct fx_rules *r, struct fx_graph *g)
{
	const struct fx_catalog *c = r->cat;

	for (size_t i = 0; i < c->nsvcs; i++) {
		struct fx_svc *s = &c->svcs[i];
		struct fx_node *chart = add(g, &kind_chart, s);
		struct fx_node *rel = add(g, &kind_release, s);
		if (!chart || !rel) {
			fx_error_at(s->loc, "duplicate name \"%s\"", s->name);
			return -1;
		}
		graph_edge(chart, rel);
		/* What holds a secret never leaves this machine. */
		chart->local_only = rel->local_only = s->secrets.n > 0;
		if (s->shared)
			continue;
		struct fx_node *build = add(g, &kind_build, s);
		struct fx_node *load = add(g, &kind_load, s);
		graph_edge(build, load);
		graph_edge(build, chart);
		graph_edge(load, rel);
	}
	for (size_t i = 0; i < c->nsvcs; i++) {
		struct fx_svc *s = &c->svcs[i];
		char *id = xasprintf("release:%s", s->name);
		struct fx_node *rel = graph_find(g, id);
		free(id);
		for (size_t j = 0; j < s->needs.n; j++) {
			char *nid = xasprintf("release:%s", s->needs.v[j]);
			struct fx_node *y = graph_find(g, nid);
			free(nid);
			if (!y) {
				fx_error_at(s->needs.loc[j], "\"%s\" needs \"%s\", which is not in the catalog",
				    s->name, s->needs.v[j]);
				return -1;
			}
			graph_order(y, rel);
		}
	}
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
		free(d->values);
		free(d);
		g->nodes[i]->data = NULL;
	}
}

struct fx_node *
rules_find(struct fx_graph *g, const char *arg)
{
	struct fx_node *n = graph_find(g, arg);

	if (n)
		return n;
	char *id = xasprintf("release:%s", arg);
	n = graph_find(g, id);
	free(id);
	return n;
}

/*
 * The ignore files a builder reads, in its order: the first one there wins.
 * podman (buildah's ContainerIgnoreFile) looks beside the containerfile F
 * for F.containerignore and F.dockerignore (the latter wins when both are
 * there), then in the context for .containerignore, then .dockerignore.
 * docker (BuildKit) reads F.dockerignore, else the context's .dockerignore,
 * never a .containerignore.
 */
struct ignore_name {
	bool beside_file;	/* F + name, else the context's name */
	const char *name;
};

static const struct ignore_name podman_order[] = {
	{true, ".dockerignore"}, {true, ".containerignore"},
	{false, ".containerignore"}, {false, ".dockerignore"},
};
static const struct ignore_name docker_order[] = {
	{true, ".dockerignore"}, {false, ".dockerignore"},
};

static int
read_rules(struct fx_rules *r, const char *path, char **text, size_t *len)
{
	return r->read ? r->read(r->read_ctx, path, text, len) : read_file(path, text, len);
}

/* The builder's order of ignore files (its length in *n). */
static const struct ignore_name *
ignore_order(enum fx_builder b, size_t *n)
{
	bool docker = b == FX_DOCKER;

	*n = docker ? FX_NELEM(docker_order) : FX_NELEM(podman_order);
	return docker ? docker_order : podman_order;
}

/* The path of ignore file `in` of service s. */
static char *
ignore_path(const struct fx_svc *s, const struct ignore_name *in)
{
	return in->beside_file ? xasprintf("%s%s", s->build.file, in->name) :
	    path_join(s->build.context, in->name);
}

/* Find the builder's ignore file and read it into d->ignore; NULL text if
 * there is none. A name that is not there (a dangling link) is passed
 * over; one that cannot be read (a directory) fails the build, so it is an
 * error here, before anything runs. */
static int
find_ignore_file(struct fx_rules *r, struct fx_rule_node *d, char **text, size_t *len)
{
	size_t n;
	const struct ignore_name *order = ignore_order(r->cat->builder, &n);

	*text = NULL;
	d->builder = r->cat->builder;
	for (size_t i = 0; i < n; i++) {
		char *p = ignore_path(d->svc, &order[i]);
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
 * builder's matcher (ignore.h); the text is the rules' identity. */
static int
load_ignore(struct fx_rules *r, struct fx_rule_node *d)
{
	struct fx_svc *s = d->svc;
	unsigned strict = r->cat->builder == FX_DOCKER ? FX_IGNORE_BUILDKIT : FX_IGNORE_BUILDAH;
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
	if (rc < 0) {
		buf_free(&key);
		return -1;
	}
	d->ignore_key = buf_detach(&key);
	fx_debug("build:%s: %zu ignore patterns", s->name, ignore_count(d->ignore));
	return 0;
}

static int
build_sources(struct fx_rules *r, struct fx_rule_node *d)
{
	if (!d->ignore && load_ignore(r, d) < 0)
		return -1;
	d->context = walk_tree(r->walk, d->svc->build.context, FX_VIEW_BUILD, d->ignore,
	    d->ignore_key);
	d->file = walk_file(r->walk, d->svc->build.file);
	if (d->ignore_file)
		d->ignore_tree = walk_file(r->walk, d->ignore_file);
	return 0;
}

static void
chart_sources(struct fx_rules *r, struct fx_rule_node *d)
{
	struct fx_svc *s = d->svc;

	d->chart = walk_tree(r->walk, s->chart, FX_VIEW_HELM, NULL, "");
	free(d->values);
	d->values = xcalloc(s->values.n + 1, sizeof(*d->values));
	d->nvalues = s->values.n;
	for (size_t i = 0; i < s->values.n; i++)
		d->values[i] = walk_file(r->walk, s->values.v[i]);
}

int
rules_sources(struct fx_rules *r, struct fx_graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		struct fx_node *n = g->nodes[i];
		struct fx_rule_node *d = n->data;
		if (!n->selected)
			continue;
		if (n->kind == &kind_build && build_sources(r, d) < 0)
			return -1;
		if (n->kind == &kind_chart)
			chart_sources(r, d);
	}
	return 0;
}

void
rules_each_source(struct fx_graph *g, void (*fn)(void *ctx, const struct fx_source *src),
    void *ctx)
{
	for (size_t i = 0; i < g->n; i++) {
		struct fx_node *n = g->nodes[i];
		struct fx_rule_node *d = n->data;
		struct fx_svc *s = d->svc;
		if (!n->selected)
			continue;
		if (n->kind == &kind_build) {
			fn(ctx, &(struct fx_source){s->build.context, false, d->ignore,
			    d->ignore_key ? d->ignore_key : "", d->context, n});
			fn(ctx, &(struct fx_source){s->build.file, true, NULL, "", d->file, n});
			/* Creating an ignore file the builder reads changes the
			 * rules, even one that ignores itself. */
			size_t norder;
			const struct ignore_name *order = ignore_order(d->builder, &norder);
			for (size_t k = 0; k < norder; k++) {
				char *p = ignore_path(s, &order[k]);
				bool is = d->ignore_file && strcmp(p, d->ignore_file) == 0;
				fn(ctx, &(struct fx_source){p, true, NULL, "", is ? d->ignore_tree : NULL,
				    n});
				free(p);
			}
		}
		if (n->kind == &kind_chart) {
			fn(ctx, &(struct fx_source){s->chart, false, NULL, "", d->chart, n});
			for (size_t k = 0; k < d->nvalues; k++)
				fn(ctx, &(struct fx_source){s->values.v[k], true, NULL, "", d->values[k],
				    n});
		}
	}
}

char *
rules_image_ref(const struct fx_svc *s, const char *image_id)
{
	const char *hex = strncmp(image_id, "sha256:", 7) == 0 ? image_id + 7 : image_id;
	return xasprintf("localhost/%s:fx-%.16s", s->image, hex);
}

char *
rules_cluster_ref(const struct fx_catalog *c, const struct fx_svc *s, const char *image_id)
{
	const char *hex = strncmp(image_id, "sha256:", 7) == 0 ? image_id + 7 : image_id;

	if (c->provider == FX_EXISTING && c->registry)
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
