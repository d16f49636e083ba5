/*
 * provider_kind.c - kind (Kubernetes in containers).
 *
 *   context    kind-NAME (NAME: the catalog's profile)
 *   load       podman save --format docker-archive -o ARCHIVE -- localhost/IMAGE:TAG (load.c),
 *              kind load image-archive --name NAME -- ARCHIVE
 *              (kind reports a failed import: no listing afterwards)
 *   bootstrap  when kubectl --context kind-NAME gets no answer:
 *              kind create cluster --name NAME START_ARGS...
 *   down       kind delete cluster --name NAME; kind has no stop
 *
 * A kind cluster that exists is running as far as kind can say: it has no
 * status command, so whether kubectl gets an answer decides.
 */
#include <stdio.h>

#include "fusion/diag.h"
#include "fusion/provider.h"

static const struct fx_tool tool = {"kind", {"kind", "version"}, "0.20.0",
	"install kind 0.20 or newer (the kind documentation, \"Quick Start\")"};

static bool
load_argv(struct fx_rules *r, const struct fx_load *l, int step, struct fx_cmd *cmd)
{
	if (step > 0)
		return false;
	strv_push(&cmd->argv, "kind");
	strv_push(&cmd->argv, "load");
	strv_push(&cmd->argv, "image-archive");
	strv_push(&cmd->argv, "--name");
	strv_push(&cmd->argv, r->cat->profile);
	strv_push(&cmd->argv, "--");
	strv_push(&cmd->argv, l->archive);
	return true;
}

static int
bootstrap(const struct fx_catalog *c)
{
	struct fx_strv a = {0};

	if (rules_cluster_answers(c, NULL)) {
		provider_say_answers(c);
		return 0;
	}
	strv_push(&a, "kind");
	strv_push(&a, "create");
	strv_push(&a, "cluster");
	strv_push(&a, "--name");
	strv_push(&a, c->profile);
	provider_start_args(c, &a);
	if (provider_loud(&a) != 0) {
		fx_error("bootstrap: kind create cluster failed (its output is above)");
		fx_note("hint: a kind cluster that exists but does not answer has a stopped "
		    "node: start it (podman start %s-control-plane) or delete it "
		    "(fusion down --all --cluster --delete)", c->profile);
		return FX_EXIT_FAILED;
	}
	return 0;
}

static const char *
stop_argv(const struct fx_catalog *c, bool delete, struct fx_strv *a)
{
	if (!delete)
		return "a kind cluster cannot be stopped, only deleted (--cluster --delete)";
	strv_push(a, "kind");
	strv_push(a, "delete");
	strv_push(a, "cluster");
	strv_push(a, "--name");
	strv_push(a, c->profile);
	return NULL;
}

const struct fx_provider provider_kind = {
	.name = "kind",
	.tool = &tool,
	.start_hint = "run \"fusion bootstrap\" (it starts the cluster)",
	.starts = true,
	.context_prefix = "kind-",
	.pull_policy = "Never",	/* loaded images are in no registry the cluster could pull from */
	.archive = true,
	.load_argv = load_argv,
	.bootstrap = bootstrap,
	.stop_argv = stop_argv,
};
