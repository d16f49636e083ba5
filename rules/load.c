/*
 * load.c - the load node: put a built image where the cluster can run it,
 * the cluster provider's way (provider.h):
 *
 *   archive:   podman save --format docker-archive -o ARCHIVE -- localhost/IMAGE:TAG,
 *              then the provider's commands, which take ARCHIVE into the
 *              cluster (minikube image load, kind load image-archive, ...)
 *              and may check afterwards that it is there
 *   otherwise: the provider's commands alone (existing: the builder pushes
 *              the image to the catalog's registry)
 *
 * A "--" ends the options wherever the tool takes one: what follows it is
 * never read as an option, whatever a name holds. (helm's NAME and CHART
 * come first on its command lines: a DNS-1123 name and an absolute path,
 * neither of which can start with '-'.)
 *
 * ARCHIVE is STATEDIR/artifacts/SVC.tar, removed once the load succeeded;
 * when the provider's check finds the image missing it stays, for a retry
 * by hand.
 *
 * Its key is the image ID and the cluster identity, so a recreated cluster
 * loads again without rebuilding. Its output is the image ID. An image
 * whose release gives its images one tag (rules/images.c) is first tagged
 * with it (BUILDER tag -- ID localhost/IMAGE:TAG), and its load takes every
 * such image's ID: a new one is a new tag for all.
 *
 * fusion trusts its records, so the image may have been deleted behind its
 * back (podman rmi, podman system reset). When a load fails, one more
 * command asks the builder whether the image is there; if it is gone, the
 * build is put on rules->lost and `up` rebuilds it once.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/manifest.h"
#include "fusion/provider.h"
#include "fusion/rules.h"

static const char *image_id(struct fx_node *n);

/* Does the entry that releases this image give its members one tag? Then
 * the load tags the image with it first (rules/images.c). */
static bool
shares_tag(struct fx_rules *r, const struct fx_node *n)
{
	const struct fx_svc *s = ((const struct fx_rule_node *)n->data)->svc;
	const struct fx_svc *u = s->released_by ? catalog_svc(r->cat, s->released_by) : NULL;

	return u && u->one_tag;
}

static char *
tag_of(struct fx_rules *r, struct fx_node *n)
{
	const struct fx_svc *s = ((const struct fx_rule_node *)n->data)->svc;
	return rules_image_tag(r->cat, s, image_id(n), n);
}

static int
load_inputs(struct fx_node *n, void *ctx, struct fx_manifest *m, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	const char *err = NULL;
	const char *uid = rules_cluster(r, &err);

	if (!uid) {
		buf_puts(msg, err);
		return -1;
	}
	manifest_add(m, "cluster:", uid);
	if (shares_tag(r, n)) {
		char *tag = tag_of(r, n);
		manifest_add(m, "tag:", tag);
		free(tag);
	}
	manifest_add(m, "provider:", provider_of(r->cat)->name);
	manifest_add(m, "profile:", r->cat->profile);
	if (r->cat->registry)
		manifest_add(m, "registry:", r->cat->registry);
	return 0;
}

static const char *
image_id(struct fx_node *n)
{
	struct fx_node *b = n->deps[0];
	return b->have_out && b->out.value ? b->out.value : "sha256:<image-from-build>";
}

/* STATEDIR/artifacts/SVC.SUFFIX */
static char *
artifact(struct fx_rules *r, struct fx_node *n, const char *suffix)
{
	struct fx_rule_node *d = n->data;
	char *name = xasprintf("%s.%s", d->svc->name, suffix);
	char *p = rules_artifact(r, name);

	free(name);
	return p;
}

/* What the provider's commands are given; free with load_free. */
static void
load_of(struct fx_rules *r, struct fx_node *n, struct fx_load *l)
{
	struct fx_rule_node *d = n->data;

	char *tag = tag_of(r, n);

	l->svc = d->svc;
	l->id = image_id(n);
	l->ref = xasprintf("localhost/%s:%s", d->svc->image, tag);
	l->dst = rules_ref_tagged(r->cat, d->svc, tag);
	free(tag);
	l->archive = provider_of(r->cat)->archive ? artifact(r, n, "tar") : NULL;
}

static void
load_free(struct fx_load *l)
{
	free(l->ref);
	free(l->dst);
	free(l->archive);
}

/* Command `step` of the load into *cmd; false when all have run. */
static bool
load_cmd(struct fx_rules *r, struct fx_node *n, int step, struct fx_cmd *cmd)
{
	const struct fx_provider *p = provider_of(r->cat);
	struct fx_load l;
	bool more = true;

	load_of(r, n, &l);
	int tagged = shares_tag(r, n);
	if (tagged && step == 0) {
		/* the members' one tag, on this image */
		strv_push(&cmd->argv, builder_bin(r->cat));
		strv_push(&cmd->argv, "tag");
		strv_push(&cmd->argv, "--");
		strv_push(&cmd->argv, l.id);
		strv_push(&cmd->argv, l.ref);
	} else if (p->archive && step == tagged) {
		if (!r->dry_run)
			unlink(l.archive);	/* podman save will not overwrite one */
		builder_save_argv(r->cat, l.ref, "docker-archive", l.archive, &cmd->argv);
	} else {
		more = p->load_argv(r, &l, step - tagged - p->archive, cmd);
	}
	load_free(&l);
	return more;
}

/* After a failed load: is the image still in the builder's storage? */
static void
exists_cmd(struct fx_rules *r, struct fx_node *n, struct fx_cmd *cmd)
{
	struct fx_rule_node *d = n->data;

	strv_push(&cmd->argv, builder_bin(r->cat));
	strv_push(&cmd->argv, "image");
	strv_push(&cmd->argv, "inspect");
	strv_push(&cmd->argv, "--format");
	strv_push(&cmd->argv, "{{.Id}}");
	strv_push(&cmd->argv, "--");
	strv_take(&cmd->argv, rules_image_ref(d->svc, image_id(n)));
}

static enum fx_step
lost_or_failed(struct fx_rules *r, struct fx_node *n, int status, struct fx_buf *msg)
{
	struct fx_rule_node *d = n->data;
	char *ref = rules_image_ref(d->svc, image_id(n));

	if (status != 0) {
		strv_push(&r->lost, n->deps[0]->id);
		buf_printf(msg, "image %s is gone from %s; it will be rebuilt", ref,
		    builder_bin(r->cat));
	} else if (d->load_failed == shares_tag(r, n) && provider_of(r->cat)->archive) {
		buf_printf(msg, "%s save of %s failed (status %d)", builder_bin(r->cat), ref,
		    d->load_status);
	} else {
		buf_printf(msg, "loading %s into the cluster failed (status %d)", ref,
		    d->load_status);
	}
	free(ref);
	return FX_STEP_FAIL;
}

static enum fx_step
load_step(struct fx_node *n, void *ctx, int step, int status, struct fx_cmd *cmd,
    struct fx_output *out, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	struct fx_rule_node *d = n->data;

	if (step == 0)
		d->load_status = 0;
	if (d->load_status)
		return lost_or_failed(r, n, status, msg);
	if (status != 0) {
		d->load_status = status;
		d->load_failed = step - 1;
		exists_cmd(r, n, cmd);
		return FX_STEP_RUN;
	}
	if (load_cmd(r, n, step, cmd))
		return FX_STEP_RUN;
	const struct fx_provider *p = provider_of(r->cat);
	struct fx_load l;
	load_of(r, n, &l);
	bool ok = !p->loaded || p->loaded(r, &l, cmd, msg);
	if (ok && l.archive)
		unlink(l.archive);
	load_free(&l);
	if (!ok)
		return FX_STEP_FAIL;
	out->value = xstrdup(image_id(n));
	out->hash = hash_bytes(out->value, strlen(out->value));
	return FX_STEP_DONE;
}

static bool
load_wants(const struct fx_svc *s)
{
	return !s->shared;
}

/* The image's reference is in the cluster. */
static bool
load_exists(struct fx_rules *r, struct fx_node *n, const char *output)
{
	struct fx_rule_node *d = n->data;
	char *tag = rules_image_tag(r->cat, d->svc, output, n);
	char *ref = xasprintf("localhost/%s:%s", d->svc->image, tag);
	bool ok = rules_have_loaded(r, ref);

	free(tag);
	free(ref);
	return ok;
}

/* A load takes its build's image. */
static const struct fx_rule_kind *const load_from[] = {&kind_build, NULL};

const struct fx_rule_kind kind_load = {
	.kind = {
		.name = "load",
		.version = 2,
		.shape = "cds",
		.inputs = load_inputs,
		.step = load_step,
		.describe = rules_say_cluster,
	},
	.from = load_from,
	.never_ran = "never ran",
	.wants = load_wants,
	.sources = rules_no_sources,
	.each_source = rules_each_no_source,
	.exists = load_exists,
};
