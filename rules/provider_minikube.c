/*
 * provider_minikube.c - minikube, the default cluster provider.
 *
 *   context    the profile's name
 *   load       podman save --format docker-archive -o ARCHIVE -- localhost/IMAGE:TAG (load.c),
 *              minikube -p PROFILE image load -- ARCHIVE,
 *              minikube -p PROFILE image ls     (is the image there now?)
 *   bootstrap  minikube -p PROFILE status, and unless it exits 0,
 *              minikube start -p PROFILE --driver=D START_ARGS... (creates or restarts)
 *   down       minikube stop|delete -p PROFILE
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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/diag.h"
#include "fusion/proc.h"
#include "fusion/provider.h"

static const struct fx_tool tool = {"minikube", {"minikube", "version", "--short"}, "1.28.0",
	"install minikube 1.28 or newer (the minikube documentation, \"Get Started\")"};

/* minikube -p PROFILE image VERB */
static void
image_argv(const struct fx_catalog *c, struct fx_strv *a, const char *verb)
{
	strv_push(a, "minikube");
	strv_push(a, "-p");
	strv_push(a, c->profile);
	strv_push(a, "image");
	strv_push(a, verb);
}

static bool
load_argv(struct fx_rules *r, const struct fx_load *l, int step, struct fx_cmd *cmd)
{
	if (step == 0) {
		image_argv(r->cat, &cmd->argv, "load");
		strv_push(&cmd->argv, "--");
		strv_push(&cmd->argv, l->archive);
		return true;
	}
	if (step == 1) {
		image_argv(r->cat, &cmd->argv, "ls");
		cmd->capture = true;
		return true;
	}
	return false;
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

/* The archive stays, for a retry by hand. */
static bool
loaded(struct fx_rules *r, const struct fx_load *l, const struct fx_cmd *last, struct fx_buf *msg)
{
	if (listed(&last->out, l->ref))
		return true;
	buf_printf(msg, "minikube image load exited 0, but `minikube -p %s image ls` does not list "
	    "%s: minikube reports a failed load only in its own log (retry with "
	    "`minikube -p %s image load %s --alsologtostderr`)", r->cat->profile, l->ref,
	    r->cat->profile, l->archive);
	return false;
}

static void
list_argv(const struct fx_catalog *c, struct fx_strv *a)
{
	image_argv(c, a, "ls");
}

/* minikube status: 0 running, 85 no such profile, else stopped. */
static enum fx_cluster_state
state(const struct fx_catalog *c, char **words)
{
	struct fx_strv a = {0};
	struct fx_buf out = {0}, err = {0};

	strv_push(&a, "minikube");
	strv_push(&a, "-p");
	strv_push(&a, c->profile);
	strv_push(&a, "status");
	int st = proc_run(strv_argv(&a), &out, &err);
	strv_free(&a);
	buf_free(&out);
	buf_free(&err);
	if (st == 0) {
		*words = xasprintf("minikube profile %s is running", c->profile);
		return FX_CLUSTER_RUNNING;
	}
	*words = xasprintf("minikube profile %s is not running (minikube status exited %d)",
	    c->profile, st);
	return st == 85 ? FX_CLUSTER_ABSENT : FX_CLUSTER_STOPPED;
}

/* minikube start creates the profile's cluster or restarts it. */
static int
bootstrap(const struct fx_catalog *c)
{
	struct fx_strv a = {0};
	char *words;
	enum fx_cluster_state st = state(c, &words);

	free(words);
	if (st == FX_CLUSTER_RUNNING) {
		printf("bootstrap: minikube profile %s is running\n", c->profile);
		return 0;
	}
	strv_push(&a, "minikube");
	strv_push(&a, "start");
	strv_push(&a, "-p");
	strv_push(&a, c->profile);
	strv_take(&a, xasprintf("--driver=%s", c->driver ? c->driver : "podman"));
	provider_start_args(c, &a);
	if (provider_loud(&a) != 0) {
		fx_error("bootstrap: minikube start failed (its output is above)");
		return FX_EXIT_FAILED;
	}
	return 0;
}

static const char *
stop_argv(const struct fx_catalog *c, bool delete, struct fx_strv *a)
{
	strv_push(a, "minikube");
	strv_push(a, delete ? "delete" : "stop");
	strv_push(a, "-p");
	strv_push(a, c->profile);
	return NULL;
}

const struct fx_provider provider_minikube = {
	.name = "minikube",
	.tool = &tool,
	.start_hint = "run \"fusion bootstrap\" (it starts the cluster)",
	.driver = true,
	.starts = true,
	.context_prefix = "",
	.pull_policy = "Never",	/* loaded images are in no registry the cluster could pull from */
	.archive = true,
	.load_argv = load_argv,
	.loaded = loaded,
	.list_argv = list_argv,
	.state = state,
	.bootstrap = bootstrap,
	.stop_argv = stop_argv,
};
