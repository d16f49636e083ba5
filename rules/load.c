/*
 * load.c - the load node: put a built image where the cluster can run it.
 *
 *   minikube:  podman save --format docker-archive -o ARCHIVE -- localhost/IMAGE:TAG,
 *              minikube -p PROFILE image load -- ARCHIVE,
 *              minikube -p PROFILE image ls     (is the image there now?)
 *   kind:      podman save --format docker-archive -o ARCHIVE -- localhost/IMAGE:TAG,
 *              kind load image-archive --name PROFILE -- ARCHIVE
 *   existing:  podman push -- localhost/IMAGE:TAG REGISTRY/IMAGE:TAG
 *              (docker: docker tag, then docker push)
 *
 * A "--" ends the options wherever the tool takes one: what follows it is
 * never read as an option, whatever a name holds. (helm's NAME and CHART
 * come first on its command lines: a DNS-1123 name and an absolute path,
 * neither of which can start with '-'.)
 *
 * ARCHIVE is STATEDIR/artifacts/SVC.tar, removed once the load succeeded.
 *
 * Why an archive: `minikube image load NAME` looks NAME up in the docker
 * daemon and in the registry, never in podman's storage, and reads
 * localhost/x:t as docker.io/localhost/x:t (kubernetes/minikube#19155,
 * containers/podman#24993). It then warns "The image ... was not found" and
 * exits 0 with nothing loaded. An archive is loaded by the cluster's own
 * runtime (ctr import, podman load, docker load), under the name it holds:
 * localhost/IMAGE:TAG, the reference the chart is given.
 *
 * Why the listing: minikube reports a failed load of an archive only in its
 * own log and exits 0 (kubernetes/minikube#21393), so a load is believed only
 * when `image ls` names the image afterwards.
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
#include <unistd.h>

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
		strv_push(a, "--");
		strv_take(a, src);
		strv_take(a, dst);
		return;
	}
	strv_push(a, "push");
	if (r->cat->builder == FX_PODMAN && plain)
		strv_push(a, "--tls-verify=false");	/* a local registry speaks plain HTTP */
	strv_push(a, "--");
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
	if (r->cat->provider == FX_MINIKUBE)
		return 3;
	if (r->cat->provider == FX_KIND)
		return 2;
	return r->cat->builder == FX_DOCKER ? 2 : 1;
}

static void
minikube_argv(struct fx_rules *r, struct fx_strv *a, const char *verb)
{
	strv_push(a, "minikube");
	strv_push(a, "-p");
	strv_push(a, r->cat->profile);
	strv_push(a, "image");
	strv_push(a, verb);
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
	char *archive = artifact(r, n, "tar");
	if (step == 0) {
		char *ref = rules_image_ref(d->svc, id);
		if (!r->dry_run)
			unlink(archive);	/* podman save will not overwrite one */
		builder_save_argv(r->cat, ref, "docker-archive", archive, a);
		free(ref);
	} else if (r->cat->provider == FX_KIND) {
		strv_push(a, "kind");
		strv_push(a, "load");
		strv_push(a, "image-archive");
		strv_push(a, "--name");
		strv_push(a, r->cat->profile);
		strv_push(a, "--");
		strv_push(a, archive);
	} else if (step == 1) {
		minikube_argv(r, a, "load");
		strv_push(a, "--");
		strv_push(a, archive);
	} else {
		minikube_argv(r, a, "ls");
		cmd->capture = true;
	}
	free(archive);
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
	} else if (d->load_failed == 0 && r->cat->provider != FX_EXISTING) {
		buf_printf(msg, "%s save of %s failed (status %d)", builder_bin(r->cat), ref,
		    d->load_status);
	} else {
		buf_printf(msg, "loading %s into the cluster failed (status %d)", ref,
		    d->load_status);
	}
	free(ref);
	return FX_STEP_FAIL;
}

/* Does the output of `minikube image ls` name the image? It lists one
 * reference a line; localhost/ references as loaded, for containerd, cri-o
 * and docker alike. */
static bool
listed(const struct fx_buf *ls, const char *ref)
{
	size_t rl = strlen(ref);

	for (const char *p = ls->len ? ls->s : ""; *p; p += strcspn(p, "\n"), p += *p == '\n') {
		size_t ll = strcspn(p, "\r\n");
		if (ll == rl && memcmp(p, ref, rl) == 0)
			return true;
	}
	return false;
}

static enum fx_step
not_listed(struct fx_rules *r, struct fx_node *n, struct fx_buf *msg)
{
	struct fx_rule_node *d = n->data;
	char *ref = rules_image_ref(d->svc, image_id(n));
	char *archive = artifact(r, n, "tar");

	buf_printf(msg, "minikube image load exited 0, but `minikube -p %s image ls` does not list "
	    "%s: minikube reports a failed load only in its own log (retry with "
	    "`minikube -p %s image load %s --alsologtostderr`)", r->cat->profile, ref,
	    r->cat->profile, archive);
	free(ref);
	free(archive);
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
	if (step < steps(r)) {
		load_cmd(r, n, step, cmd);
		return FX_STEP_RUN;
	}
	if (r->cat->provider == FX_MINIKUBE) {
		char *ref = rules_image_ref(d->svc, image_id(n));
		bool ok = listed(&cmd->out, ref);
		free(ref);
		if (!ok)
			return not_listed(r, n, msg);	/* the archive stays, for a retry by hand */
	}
	if (r->cat->provider != FX_EXISTING) {
		char *archive = artifact(r, n, "tar");
		unlink(archive);
		free(archive);
	}
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
	char *ref = rules_image_ref(d->svc, output);
	bool ok = rules_have_loaded(r, ref);

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
