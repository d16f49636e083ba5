/*
 * chart.c - the chart node: `helm template X CHART -n NS -f V... --set ...`
 * into STATEDIR/artifacts/X.yaml.
 *
 * Its key is the chart tree, the values files' contents (and their order),
 * the `set` keys, the namespace and, for a service, the image reference
 * from its build. Its output hash is the hash of the rendered manifest:
 * a change that renders the same manifest (a comment, an unused value)
 * reruns the chart but leaves the release fresh (early cutoff).
 *
 * It is shareable: its blob in the shared cache is the rendered manifest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/diag.h"
#include "fusion/manifest.h"
#include "fusion/provider.h"
#include "fusion/rules.h"
#include "fusion/secret.h"
#include "fusion/walk.h"

/* The image the chart is told to run, or NULL for a shared release. */
static const char *
image_id(struct fx_node *n)
{
	for (size_t i = 0; i < n->ndeps; i++)
		if (n->deps[i]->kind == &kind_build.kind)
			return n->deps[i]->have_out && n->deps[i]->out.value ?
			    n->deps[i]->out.value : "sha256:<image-from-build>";
	return NULL;
}

/* The chart as helm will load it: as walked before the run, but with
 * charts/ as its fetch's dependency build left it, when that ran now. */
static const struct fx_tree *
chart_tree(struct fx_node *n)
{
	struct fx_rule_node *d = n->data;

	for (size_t i = 0; i < n->ndeps; i++) {
		const struct fx_rule_node *f = n->deps[i]->data;
		if (n->deps[i]->kind != &kind_fetch.kind || !f->built)
			continue;
		rules_tree_free(d->chart_now);
		d->chart_now = rules_tree_with(d->chart, f->built);
		return d->chart_now;
	}
	return d->chart;
}

/* The images the chart is told of: a service's own, with the default
 * values, as "image:" (the key it always had); else each image as
 * "image:SVC" and each value it makes as "image-value:PATH". */
static void
image_inputs(struct fx_rules *r, struct fx_node *n, struct fx_manifest *m)
{
	const struct fx_svc *s = ((struct fx_rule_node *)n->data)->svc;
	const char *id = image_id(n);
	struct fx_kvlist iv = {0};

	if (!id)
		return;
	if (!s->nmembers && !s->image_values_given) {
		char *ref = rules_cluster_ref(r->cat, s, id);
		manifest_add(m, "image:", ref);
		free(ref);
		return;
	}
	for (size_t i = 0; i < n->ndeps; i++) {
		if (n->deps[i]->kind != &kind_build.kind)
			continue;
		const struct fx_svc *b = ((struct fx_rule_node *)n->deps[i]->data)->svc;
		const char *bid = n->deps[i]->have_out && n->deps[i]->out.value ?
		    n->deps[i]->out.value : "sha256:<image-from-build>";
		char *tag = rules_image_tag(r->cat, b, bid, n);
		char *ref = rules_ref_tagged(r->cat, b, tag);
		char *name = xasprintf("image:%s", b->name);
		manifest_add(m, name, ref);
		free(name);
		free(ref);
		free(tag);
	}
	rules_image_values(r, n, &iv);
	for (size_t i = 0; i < iv.n; i++) {
		char *name = xasprintf("image-value:%s", iv.v[i].key);
		manifest_add(m, name, iv.v[i].value);
		free(name);
	}
	rules_kv_free(&iv);
}

static int
chart_inputs(struct fx_node *n, void *ctx, struct fx_manifest *m, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	struct fx_rule_node *d = n->data;
	struct fx_svc *s = d->svc;
	struct fx_buf order = {0};

	/* A chart from a repository or a registry is its fetch's digest. */
	if (s->chart && (!d->chart || d->chart->err)) {
		buf_printf(msg, "cannot read the chart %s", s->chart);
		return -1;
	}
	if (s->chart) {
		char *prefix = xasprintf("chart:%s/", rules_relpath(r->cat, s->chart));
		manifest_add_tree(m, prefix, chart_tree(n));
		free(prefix);
	}
	for (size_t i = 0; i < d->nvalues; i++) {
		const char *rel = rules_relpath(r->cat, s->values.v[i]);
		char *name = xasprintf("values:%s", rel);
		char *dig = rules_file_digest(d->values[i]);
		manifest_add(m, name, dig);
		buf_printf(&order, "%s%s", i ? " " : "", rel);
		free(name);
		free(dig);
	}
	manifest_add(m, "values-order:", order.s ? order.s : "");
	buf_free(&order);
	for (size_t i = 0; i < s->set.n; i++) {
		char *name = xasprintf("set:%s", s->set.v[i].key);
		manifest_add(m, name, s->set.v[i].value);
		free(name);
	}
	manifest_add(m, "namespace:", r->cat->namespace);
	if (rules_secret_inputs(r, s, m, msg) < 0)
		return -1;
	image_inputs(r, n, m);
	return 0;
}

/* The words for what chart_inputs() wrote. */
static enum fx_said
chart_describe(const struct fx_change *c, bool brief, struct fx_buf *out)
{
	const char *rest;

	if ((rest = rules_after(c->name, "chart:")))
		return rules_say_file(c, rest, "chart file ", brief, out);
	if ((rest = rules_after(c->name, "values:"))) {
		if (brief)
			buf_printf(out, "values file %s %s", rest, change_verb(c->op));
		else
			buf_printf(out, "%c values file %s", c->op, rest);
		return FX_SAID_VALUE;
	}
	if (strcmp(c->name, "values-order:") == 0) {
		buf_puts(out, "values files reordered");
		if (!brief)
			buf_printf(out, ": %s -> %s", c->old ? c->old : "", c->new ? c->new : "");
		return FX_SAID_VALUE;
	}
	if (rules_say_secret(c, brief, out) != FX_SAID_NOTHING)
		return FX_SAID_VALUE;
	if ((rest = rules_after(c->name, "set:"))) {
		char *what = xasprintf("set %s", rest);
		rules_say_value(c, what, brief, out);
		free(what);
		return FX_SAID_VALUE;
	}
	return FX_SAID_NOTHING;
}

/* The key is already in helm's path syntax (the catalog checked it). In
 * the value helm splits on commas, reads '\\' as an escape, and takes a
 * value starting with '{' for a list ("{a,b}"): each is escaped, so the
 * chart gets the text as written. */
static char *
set_arg(const char *k, const char *v)
{
	struct fx_buf b = {0};

	buf_printf(&b, "%s=", k);
	if (*v == '{')
		buf_putc(&b, '\\');
	for (; *v; v++) {
		if (*v == ',' || *v == '\\')
			buf_putc(&b, '\\');
		buf_putc(&b, *v);
	}
	return buf_detach(&b);
}

void
rules_helm_args(struct fx_rules *r, struct fx_node *n, struct fx_strv *a)
{
	struct fx_rule_node *d = n->data;
	struct fx_svc *s = d->svc;

	strv_push(a, s->name);
	if (s->chart)
		strv_push(a, s->chart);
	else
		strv_take(a, rules_chart_archive(s->chart_digest ? s->chart_digest : "sha256:?"));
	strv_push(a, "-n");
	strv_push(a, r->cat->namespace);
	for (size_t i = 0; i < s->values.n; i++) {
		strv_push(a, "-f");
		strv_push(a, s->values.v[i]);
	}
	char *secrets = rules_secrets_path(r, n);
	if (secrets) {
		strv_push(a, "-f");
		strv_take(a, secrets);
	}
	for (size_t i = 0; i < s->set.n; i++) {
		strv_push(a, "--set");
		strv_take(a, set_arg(s->set.v[i].key, s->set.v[i].value));
	}
	/* The chart node is the one with the build edge; a release uses its chart's. */
	struct fx_node *c = n->kind == &kind_chart.kind ? n : NULL;
	for (size_t i = 0; !c && i < n->ndeps; i++)
		if (n->deps[i]->kind == &kind_chart.kind)
			c = n->deps[i];
	if (!c || !image_id(c))
		return;
	/* After `set`: where the images go is fusion's to say (the last
	 * --set of a path wins). */
	struct fx_kvlist iv = {0};
	rules_image_values(r, c, &iv);
	for (size_t i = 0; i < iv.n; i++) {
		strv_push(a, "--set");
		strv_take(a, set_arg(iv.v[i].key, iv.v[i].value));
	}
	rules_kv_free(&iv);
}

/* The rendered manifest's hash, what the release sees. With a secret in
 * it, a keyed one: the database must not let anyone test guesses. */
static int
manifest_hash(struct fx_rules *r, struct fx_node *n, const char *path, fx_hash *h,
    struct fx_buf *msg)
{
	const struct fx_rule_node *d = n->data;
	char *text, hex[65];
	size_t len;

	if (!d->svc->secrets.n) {
		if (hash_file(path, h) == 0)
			return 0;
		buf_printf(msg, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (read_file(path, &text, &len) < 0) {
		buf_printf(msg, "%s: %s", path, strerror(errno));
		return -1;
	}
	int rc = secret_mac(r->statedir, text, len, hex, msg);
	free(text);
	if (rc == 0)
		*h = hash_bytes(hex, strlen(hex));
	return rc;
}

static const struct fx_svc *
svc_of(const struct fx_node *n)
{
	return ((const struct fx_rule_node *)n->data)->svc;
}

static bool
d_remote(const struct fx_node *n)
{
	return svc_of(n)->chart_url != NULL;
}

static enum fx_step
chart_step(struct fx_node *n, void *ctx, int step, int status, struct fx_cmd *cmd,
    struct fx_output *out, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	char *name = xasprintf("%s.yaml", n->target);
	char *path = rules_artifact(r, name);

	free(name);
	if (status != 0) {
		buf_printf(msg, "helm template exited with status %d", status);
		free(path);
		return FX_STEP_FAIL;
	}
	if (step == 0) {
		/* The archive is read here, and checked: the cache is the user's. */
		if ((d_remote(n) && !r->dry_run && rules_archive_check(svc_of(n), msg) < 0) ||
		    rules_secrets_file(r, n, cmd, msg) < 0) {
			free(path);
			return FX_STEP_FAIL;
		}
		strv_push(&cmd->argv, "helm");
		strv_push(&cmd->argv, "template");
		rules_helm_args(r, n, &cmd->argv);
		cmd->stdout_path = path;
		return FX_STEP_RUN;
	}
	fx_hash h;
	if (manifest_hash(r, n, path, &h, msg) < 0) {
		free(path);
		return FX_STEP_FAIL;
	}
	free(path);
	out->value = xasprintf("artifacts/%s.yaml", n->target);
	out->hash = h;
	return FX_STEP_DONE;
}

static enum fx_step
chart_pack(struct fx_node *n, void *ctx, int step, int status, const char *blob,
    struct fx_cmd *cmd, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	char *path = path_join(r->statedir, n->out.value);
	char *text;
	size_t len;
	int rc = read_file(path, &text, &len);

	if (rc == 0) {
		rc = write_file_atomic(blob, text, len);
		free(text);
	}
	if (rc < 0)
		buf_printf(msg, "%s: %s", path, strerror(errno));
	free(path);
	return rc < 0 ? FX_STEP_FAIL : FX_STEP_DONE;
}

static enum fx_step
chart_unpack(struct fx_node *n, void *ctx, int step, int status, const char *blob,
    const char *value, struct fx_cmd *cmd, struct fx_output *out, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	char *name = xasprintf("%s.yaml", n->target);
	char *path = rules_artifact(r, name);
	char *text;
	size_t len;
	int rc = read_file(blob, &text, &len);

	free(name);
	if (rc == 0) {
		rc = write_file_atomic(path, text, len);
		if (rc == 0) {
			out->value = xasprintf("artifacts/%s.yaml", n->target);
			out->hash = hash_bytes(text, len);
		}
		free(text);
	}
	if (rc < 0)
		buf_printf(msg, "%s: %s", path, strerror(errno));
	free(path);
	return rc < 0 ? FX_STEP_FAIL : FX_STEP_DONE;
}

/* A service whose image another entry releases has no chart of its own. */
static bool
chart_wants(const struct fx_svc *s)
{
	return !s->released_by;
}

/* The chart tree and the values files. */
static int
chart_sources(struct fx_rules *r, struct fx_node *n)
{
	struct fx_rule_node *d = n->data;
	struct fx_svc *s = d->svc;

	d->chart = s->chart ? walk_tree(r->walk, s->chart, FX_VIEW_HELM, NULL, "") : NULL;
	free(d->values);
	d->values = xcalloc(s->values.n + 1, sizeof(*d->values));
	d->nvalues = s->values.n;
	for (size_t i = 0; i < s->values.n; i++)
		d->values[i] = walk_file(r->walk, s->values.v[i]);
	return 0;
}

static void
chart_each_source(struct fx_node *n, void (*fn)(void *ctx, const struct fx_source *src),
    void *ctx)
{
	struct fx_rule_node *d = n->data;
	struct fx_svc *s = d->svc;

	if (s->chart)
		fn(ctx, &(struct fx_source){s->chart, false, NULL, "", d->chart, n});
	for (size_t k = 0; k < d->nvalues; k++)
		fn(ctx, &(struct fx_source){s->values.v[k], true, NULL, "", d->values[k], n});
}

/* The rendered manifest is still in the state directory, under the one
 * name a chart writes (a record naming another path, imported, is no
 * output: it would be read and pushed). */
static bool
chart_exists(struct fx_rules *r, struct fx_node *n, const char *output)
{
	char *own = xasprintf("artifacts/%s.yaml", n->target);
	bool ok = strcmp(output, own) == 0;

	free(own);
	if (!ok) {
		fx_warn("%s: its recorded output is not its manifest; rendering it again", n->id);
		return false;
	}
	char *p = path_join(r->statedir, output);
	ok = access(p, R_OK) == 0;
	free(p);
	return ok;
}

/* A service's chart is told its build's image; a chart from a repository
 * or a registry is its fetch's archive. */
static const struct fx_rule_kind *const chart_from[] = {&kind_build, &kind_fetch, NULL};

const struct fx_rule_kind kind_chart = {
	.kind = {
		.name = "chart",
		.version = 1,
		.shape = "note",
		.inputs = chart_inputs,
		.step = chart_step,
		.describe = chart_describe,
		.pack = chart_pack,
		.unpack = chart_unpack,
	},
	.from = chart_from,
	.roles = FX_ROLE_SECRETS,
	.never_ran = "never ran",
	.wants = chart_wants,
	.sources = chart_sources,
	.each_source = chart_each_source,
	.exists = chart_exists,
};
