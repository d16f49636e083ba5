/*
 * load.c - the load node: put a built image where the cluster can run it.
 *
 *   minikube:  minikube -p PROFILE image load localhost/IMAGE:TAG
 *   kind:      podman save -o ARCHIVE localhost/IMAGE:TAG,
 *              then kind load image-archive ARCHIVE --name PROFILE
 *   existing:  podman push localhost/IMAGE:TAG REGISTRY/IMAGE:TAG
 *              (docker: docker tag, then docker push)
 *
 * Its key is the image ID and the cluster identity, so a recreated cluster
 * loads again without rebuilding. Its output is the image ID.
 *
 * fusion trusts its records, so the image may have been deleted behind its
 * back (podman rmi, podman system reset). When a load fails, one more
 * command asks the builder whether the image is there; if it is gone, the
 * build is put on rules->lost and `up` rebuilds it once.
 */
#include <stdlib.h>
#include <string.h>

#include "fusion/manifest.h"
#include "fusion/rules.h"

static const char *
provider_name(const struct fx_catalog *c)
{
	return c->provider == FX_KIND ? "kind" : c->provider == FX_EXISTING ? "existing" : "minikube";
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
	manifest_add(m, "provider:", provider_name(r->cat));
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

static void
registry_push(struct fx_rules *r, const struct fx_svc *s, const char *id, int step,
    struct fx_cmd *cmd)
{
	const char *bin = builder_bin(r->cat);
	char *src = rules_image_ref(s, id);
	char *dst = rules_cluster_ref(r->cat, s, id);
	struct fx_strv *a = &cmd->argv;
	const char *reg = r->cat->registry ? r->cat->registry : "";
	bool plain = strncmp(reg, "localhost", 9) == 0 || strncmp(reg, "127.", 4) == 0;

	strv_push(a, bin);
	if (r->cat->builder == FX_DOCKER && step == 0) {
		strv_push(a, "tag");
		strv_take(a, src);
		strv_take(a, dst);
		return;
	}
	strv_push(a, "push");
	if (r->cat->builder == FX_PODMAN && plain)
		strv_push(a, "--tls-verify=false");	/* a local registry speaks plain HTTP */
	if (r->cat->builder == FX_PODMAN)
		strv_take(a, src);
	else
		free(src);
	strv_take(a, dst);
}

/* The number of commands each provider needs. */
static int
steps(const struct fx_rules *r)
{
	if (r->cat->provider == FX_KIND)
		return 2;
	if (r->cat->provider == FX_EXISTING && r->cat->builder == FX_DOCKER)
		return 2;
	return 1;
}

static void
load_cmd(struct fx_rules *r, struct fx_node *n, int step, struct fx_cmd *cmd)
{
	struct fx_rule_node *d = n->data;
	const char *id = image_id(n);
	struct fx_strv *a = &cmd->argv;

	if (r->cat->provider == FX_EXISTING) {
		registry_push(r, d->svc, id, step, cmd);
		return;
	}
	if (r->cat->provider == FX_MINIKUBE) {
		strv_push(a, "minikube");
		strv_push(a, "-p");
		strv_push(a, r->cat->profile);
		strv_push(a, "image");
		strv_push(a, "load");
		strv_take(a, rules_image_ref(d->svc, id));
		return;
	}
	char *name = xasprintf("%s.tar", d->svc->name);
	char *archive = rules_artifact(r, name);
	free(name);
	if (step == 0) {
		char *ref = rules_image_ref(d->svc, id);
		builder_save_argv(r->cat, ref, NULL, archive, a);
		free(ref);
		free(archive);
		return;
	}
	strv_push(a, "kind");
	strv_push(a, "load");
	strv_push(a, "image-archive");
	strv_take(a, archive);
	strv_push(a, "--name");
	strv_push(a, r->cat->profile);
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
		exists_cmd(r, n, cmd);
		return FX_STEP_RUN;
	}
	if (step < steps(r)) {
		load_cmd(r, n, step, cmd);
		return FX_STEP_RUN;
	}
	out->value = xstrdup(image_id(n));
	out->hash = hash_bytes(out->value, strlen(out->value));
	return FX_STEP_DONE;
}

const struct fx_kind kind_load = {
	.name = "load",
	.version = 1,
	.shape = "cds",
	.inputs = load_inputs,
	.step = load_step,
	.describe = rules_say_cluster,
};
