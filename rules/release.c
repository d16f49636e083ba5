/*
 * release.c - the release node: `helm upgrade --install X CHART -n NS
 * --create-namespace -f V... --set ... --wait`.
 *
 * Its key is its chart's rendered manifest, its load's output (services)
 * and the cluster identity. Releases of what X needs come first (an
 * order-only edge): a new revision of them does not make X stale. The
 * output is the revision helm reports on stdout, which the step captures.
 */
#include <stdlib.h>
#include <string.h>

#include "fusion/diag.h"
#include "fusion/manifest.h"
#include "fusion/rules.h"

static int
release_inputs(struct fx_node *n, void *ctx, struct fx_manifest *m, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	const char *err = NULL;
	const char *uid = rules_cluster(r, &err);
	const char *kctx = catalog_kube_context(r->cat);

	if (!uid) {
		buf_puts(msg, err);
		return -1;
	}
	manifest_add(m, "cluster:", uid);
	manifest_add(m, "namespace:", r->cat->namespace);
	manifest_add(m, "context:", kctx ? kctx : "");
	/* A new secret redeploys even when the chart renders it nowhere:
	 * helm keeps the values with the release. */
	return rules_secret_inputs(r, ((struct fx_rule_node *)n->data)->svc, m, msg);
}

static enum fx_said
release_describe(const struct fx_change *c, bool brief, struct fx_buf *out)
{
	if (rules_say_secret(c, brief, out) != FX_SAID_NOTHING)
		return FX_SAID_VALUE;
	return rules_say_cluster(c, brief, out);
}

/* helm upgrade prints "REVISION: N" on stdout (with its NOTES after it);
 * the last such line is the release's. */
static char *
revision(const struct fx_buf *helm_out)
{
	char *rev = NULL;

	for (const char *p = helm_out->s; p && (p = strstr(p, "REVISION: ")); p += 10) {
		if (p != helm_out->s && p[-1] != '\n')
			continue;	/* only at the start of a line */
		free(rev);
		rev = xstrndup(p + 10, strcspn(p + 10, "\r\n"));
	}
	return rev ? rev : xstrdup("unknown");
}

int
rules_release_timeout(const struct fx_svc *s)
{
	return s->timeout > 0 ? s->timeout : FX_RELEASE_TIMEOUT;
}

static enum fx_step
release_step(struct fx_node *n, void *ctx, int step, int status, struct fx_cmd *cmd,
    struct fx_output *out, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	struct fx_rule_node *d = n->data;
	struct fx_strv *a = &cmd->argv;

	if (status != 0) {
		buf_printf(msg, "helm upgrade exited with status %d", status);
		return FX_STEP_FAIL;
	}
	if (step == 0) {
		if (rules_secrets_file(r, n, cmd, msg) < 0)
			return FX_STEP_FAIL;
		strv_push(a, "helm");
		strv_push(a, "upgrade");
		strv_push(a, "--install");
		rules_helm_args(r, n, a);
		strv_push(a, "--create-namespace");
		strv_push(a, "--wait");
		strv_take(a, xasprintf("--timeout=%ds", rules_release_timeout(d->svc)));
		rules_context_args(r->cat, a, true);
		cmd->capture = true;
		return FX_STEP_RUN;
	}
	out->value = revision(&cmd->out);
	out->hash = hash_bytes(out->value, strlen(out->value));
	return FX_STEP_DONE;
}

/* A service whose image another entry releases has no release of its own. */
static bool
release_wants(const struct fx_svc *s)
{
	return !s->released_by;
}

/* helm lists the release in the namespace. */
static bool
release_exists(struct fx_rules *r, struct fx_node *n, const char *output)
{
	struct fx_rule_node *d = n->data;

	(void)output;
	return rules_have_release(r, d->svc->name);
}

/* A release deploys its chart's manifest with its load's image (a shared
 * release has no load). The order gives the input edges theirs. */
static const struct fx_rule_kind *const release_from[] = {&kind_chart, &kind_load, NULL};

const struct fx_rule_kind kind_release = {
	.kind = {
		.name = "release",
		.version = 1,
		.shape = "ellipse",
		.inputs = release_inputs,
		.step = release_step,
		.describe = release_describe,
	},
	.from = release_from,
	.roles = FX_ROLE_TARGET | FX_ROLE_DEPLOY | FX_ROLE_NEEDS | FX_ROLE_SECRETS,
	.never_ran = "never ran",
	.wants = release_wants,
	.sources = rules_no_sources,
	.each_source = rules_each_no_source,
	.exists = release_exists,
};
