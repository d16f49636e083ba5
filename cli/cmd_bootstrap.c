/*
 * cmd_bootstrap.c - `fusion bootstrap`: a team's day-one script.
 *
 *   1. the cluster, as its provider brings it up (provider.h, bootstrap;
 *      each rules/provider_*.c says how: started when its tool says it is
 *      not running, created when it does not answer, or, for a cluster
 *      fusion does not manage, only checked);
 *   2. the namespace, created if kubectl does not find it
 *      (rules_namespace_ensure, rules/cluster.c);
 *   3. `fusion up` of the shared releases (helm/shared-services: postgresql,
 *      mysql, kafka, temporal, whichever the catalog lists).
 *
 * Idempotent: on a running cluster with its namespace it only brings the
 * shared releases up to date, which on a second run is nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/provider.h"

static int
ensure_namespace(const struct fx_catalog *c)
{
	char *why = NULL;
	int st = rules_namespace_ensure(c, &why);

	if (st == 0)
		printf("bootstrap: namespace %s exists\n", c->namespace);
	else if (st == 1)
		printf("bootstrap: created namespace %s\n", c->namespace);
	if (st >= 0)
		return 0;
	fx_error("bootstrap: kubectl create namespace %s: %s", c->namespace, why);
	free(why);
	return FX_EXIT_FAILED;
}

/* --json: {"event":"bootstrap","namespace":NS,"shared":[NAME...]} once the
 * cluster and the namespace are there, before up's events. */
static void
print_json(const struct fx_catalog *c, const struct fx_strv *shared)
{
	struct fx_buf b = {0};

	buf_puts(&b, "{\"event\":\"bootstrap\",\"namespace\":");
	buf_json_str(&b, c->namespace);
	buf_puts(&b, ",\"shared\":[");
	for (size_t i = 0; i < shared->n; i++) {
		buf_puts(&b, i ? "," : "");
		buf_json_str(&b, shared->v[i]);
	}
	buf_puts(&b, "]}\n");
	fputs(b.s, stdout);
	fflush(stdout);
	buf_free(&b);
}

/* Under --json stdout holds only JSON: the steps before `up` say what they
 * do in lines, and minikube or kind speak on our stdout, so until `up`
 * starts, stdout is stderr. Returns the saved stdout (or -1). */
static int
lines_to_stderr(bool json)
{
	fflush(stdout);
	int saved = json ? dup(1) : -1;
	if (saved >= 0 && dup2(2, 1) < 0) {
		close(saved);
		saved = -1;
	}
	return saved;
}

static void
lines_back(int saved)
{
	fflush(stdout);
	if (saved >= 0) {
		dup2(saved, 1);
		close(saved);
	}
}

struct bootstrap_opts {
	bool no_wait;
};

static int
cmd_bootstrap(struct fx_opts *o, void *opts)
{
	const struct bootstrap_opts *bo = opts;
	struct fx_session s;
	struct fx_strv shared = {0};

	if (o->nargs) {
		fx_error("bootstrap takes no arguments");
		return FX_EXIT_USAGE;
	}
	int saved = lines_to_stderr(o->json);
	int rc = session_open(&s, o);
	if (rc == 0)
		rc = provider_of(&s.cat)->bootstrap(&s.cat);
	if (rc == 0)
		rc = ensure_namespace(&s.cat);
	for (size_t i = 0; rc == 0 && i < s.cat.nsvcs; i++)
		if (s.cat.svcs[i].shared)
			strv_push(&shared, s.cat.svcs[i].name);
	if (rc == 0 && shared.n == 0)
		printf("bootstrap: the catalog lists no shared releases\n");
	lines_back(saved);
	if (rc == 0 && o->json)
		print_json(&s.cat, &shared);
	session_close(&s);
	if (rc == 0 && shared.n) {
		/* `fusion up SHARED...`, with this run's global options. */
		struct fx_opts up = *o;
		struct fx_up_opts u = {.no_wait = bo->no_wait};
		up.command = "up";
		up.args = shared.v;
		up.nargs = (int)shared.n;
		fflush(stdout);
		rc = cmd_up(&up, &u);
	}
	strv_free(&shared);
	return rc;
}

static const struct fx_option options[] = {
	FX_BOOL("no-wait", struct bootstrap_opts, no_wait,
	    "exit 2 at once if another `fusion up` holds the workspace"),
	FX_OPT_END,
};

const struct fx_command fx_cmd_bootstrap = {
	.name = "bootstrap",
	.usage = "bootstrap [--no-wait]",
	.about = "Start the cluster if it is not running (minikube start, kind create cluster),\n"
	    "create the namespace, then bring the shared releases up to date. On a running\n"
	    "cluster it only does the last.\n",
	.options = options,
	.size = sizeof(struct bootstrap_opts),
	.json = "{\"event\":\"bootstrap\",\"namespace\",\"shared\":[...]}, then up's events\n"
	    "(the steps' lines and the tools' output go to stderr)",
	.run = cmd_bootstrap,
};
