/*
 * provider_k3d.c - k3d (k3s in containers).
 *
 *   context    k3d-NAME (NAME: the catalog's profile)
 *   load       podman save --format docker-archive -o ARCHIVE -- localhost/IMAGE:TAG (load.c),
 *              k3d image import -c NAME -- ARCHIVE
 *   bootstrap  k3d cluster list NAME -o json: running, else
 *              k3d cluster start NAME (stopped) or
 *              k3d cluster create NAME START_ARGS... (absent)
 *   down       k3d cluster stop|delete NAME
 *
 * Why an archive: `k3d image import NAME` saves NAME from the docker
 * daemon, never from podman's storage (k3d-io/k3d#1272); an archive is
 * imported by the node's containerd under the name it holds,
 * localhost/IMAGE:TAG, the reference the chart is given.
 *
 * k3d image import exits 0 and says "Successfully imported" when the
 * import into a node failed (k3d-io/k3d#1484), and k3d has no command that
 * lists a cluster's images: such a load shows as the release whose pods
 * never start (pull policy Never), not as a failed load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/diag.h"
#include "fusion/proc.h"
#include "fusion/provider.h"

static const struct fx_tool tool = {"k3d", {"k3d", "version"}, "5.0.0",
	"install k3d 5.0 or newer (the k3d documentation, \"Installation\")"};

/* k3d cluster VERB NAME */
static void
cluster_argv(const struct fx_catalog *c, const char *verb, struct fx_strv *a)
{
	strv_push(a, "k3d");
	strv_push(a, "cluster");
	strv_push(a, verb);
	strv_push(a, c->profile);
}

static bool
load_argv(struct fx_rules *r, const struct fx_load *l, int step, struct fx_cmd *cmd)
{
	if (step > 0)
		return false;
	strv_push(&cmd->argv, "k3d");
	strv_push(&cmd->argv, "image");
	strv_push(&cmd->argv, "import");
	strv_push(&cmd->argv, "-c");
	strv_push(&cmd->argv, r->cat->profile);
	strv_push(&cmd->argv, "--");
	strv_push(&cmd->argv, l->archive);
	return true;
}

/* The number after "serversRunning": in k3d's JSON (compact, as Go's
 * encoding/json writes it); 0 if none. */
static long
servers_running(const char *json)
{
	const char *p = json ? strstr(json, "\"serversRunning\":") : NULL;

	return p ? strtol(p + strlen("\"serversRunning\":"), NULL, 10) : 0;
}

/* k3d cluster list NAME -o json: exits 1 when there is no such cluster;
 * a cluster with no server running is stopped. */
static enum fx_cluster_state
state(const struct fx_catalog *c, char **words)
{
	struct fx_strv a = {0};
	struct fx_buf out = {0};
	enum fx_cluster_state st;

	cluster_argv(c, "list", &a);
	strv_push(&a, "-o");
	strv_push(&a, "json");
	int rc = proc_run(strv_argv(&a), &out, NULL);
	if (rc != 0) {
		*words = xasprintf("k3d cluster %s does not exist (k3d cluster list exited %d)",
		    c->profile, rc);
		st = FX_CLUSTER_ABSENT;
	} else if (servers_running(out.s) > 0) {
		*words = xasprintf("k3d cluster %s is running", c->profile);
		st = FX_CLUSTER_RUNNING;
	} else {
		*words = xasprintf("k3d cluster %s is stopped", c->profile);
		st = FX_CLUSTER_STOPPED;
	}
	strv_free(&a);
	buf_free(&out);
	return st;
}

static int
bootstrap(const struct fx_catalog *c)
{
	struct fx_strv a = {0};
	char *words;
	enum fx_cluster_state st = state(c, &words);

	if (st == FX_CLUSTER_RUNNING) {
		printf("bootstrap: %s\n", words);
		free(words);
		return 0;
	}
	free(words);
	cluster_argv(c, st == FX_CLUSTER_STOPPED ? "start" : "create", &a);
	if (st == FX_CLUSTER_ABSENT)
		provider_start_args(c, &a);
	if (provider_loud(&a) != 0) {
		fx_error("bootstrap: k3d cluster %s failed (its output is above)",
		    st == FX_CLUSTER_STOPPED ? "start" : "create");
		return FX_EXIT_FAILED;
	}
	return 0;
}

static const char *
stop_argv(const struct fx_catalog *c, bool delete, struct fx_strv *a)
{
	cluster_argv(c, delete ? "delete" : "stop", a);
	return NULL;
}

const struct fx_provider provider_k3d = {
	.name = "k3d",
	.tool = &tool,
	.start_hint = "run \"fusion bootstrap\" (it starts the cluster)",
	.starts = true,
	.context_prefix = "k3d-",
	.pull_policy = "Never",	/* imported images are in no registry the cluster could pull from */
	.archive = true,
	.load_argv = load_argv,
	.state = state,
	.bootstrap = bootstrap,
	.stop_argv = stop_argv,
};
