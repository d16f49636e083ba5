/*
 * provider_existing.c - a cluster fusion did not make and does not manage.
 *
 *   context    the catalog's, else kubectl's current one
 *   load       the builder pushes the image to the catalog's registry:
 *              podman push -- localhost/IMAGE:TAG REGISTRY/IMAGE:TAG
 *              (docker: docker tag, then docker push), builder.h
 *   bootstrap  the cluster must answer; fusion does not start it
 *   down       fusion neither stops nor deletes it
 *
 * The chart is given the registry's reference and pull policy
 * IfNotPresent: the cluster pulls what was pushed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fusion/builder.h"
#include "fusion/diag.h"
#include "fusion/provider.h"

static bool
load_argv(struct fx_rules *r, const struct fx_load *l, int step, struct fx_cmd *cmd)
{
	return builder_of(r->cat)->push_argv(r->cat->registry, l->ref, l->dst, step, &cmd->argv);
}

static int
bootstrap(const struct fx_catalog *c)
{
	char *why = NULL;

	if (rules_cluster_answers(c, &why)) {
		provider_say_answers(c);
		return 0;
	}
	fx_error("bootstrap: the cluster does not answer (kubectl: %s); provider \"existing\": "
	    "fusion does not start it", why);
	free(why);
	return FX_EXIT_FAILED;
}

static const char *
stop_argv(const struct fx_catalog *c, bool delete, struct fx_strv *a)
{
	return "provider \"existing\": fusion does not manage that cluster";
}

const struct fx_provider provider_existing = {
	.name = "existing",
	.start_hint = "check the kubeconfig and that the cluster is up (workspace.cluster.context)",
	.registry = true,
	.pull_policy = "IfNotPresent",
	.load_argv = load_argv,
	.bootstrap = bootstrap,
	.stop_argv = stop_argv,
};
