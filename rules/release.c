/*
 * release.c - the release node: `helm upgrade --install X CHART -n NS
 * --create-namespace -f V... --set ... --wait --timeout=Ts`, its pods
 * followed meanwhile (rules/rollout.c: it stops helm as soon as a pod of
 * the release is in a state it does not leave by itself, and says why).
 *
 * Its key is its chart's rendered manifest, its load's output (services)
 * and the cluster identity. Releases of what X needs come first (an
 * order-only edge): a new revision of them does not make X stale. The
 * output is the revision helm reports on stdout, which the step captures.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* How often a release looks at its pods while helm waits for them. */
#define FOLLOW_MS 1000

/* What the next step of a release does (fx_rule_node.rollout_step). */
enum { R_BEFORE, R_UNPEND, R_HELM, R_AFTER, R_LOG, R_EVENTS };

/* helm upgrade --install X CHART ... --wait --timeout=Ts, followed. */
static enum fx_step
helm_upgrade(struct fx_rules *r, struct fx_node *n, struct fx_cmd *cmd, struct fx_buf *msg)
{
	struct fx_rule_node *d = n->data;
	struct fx_strv *a = &cmd->argv;

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
	cmd->watch_ms = FOLLOW_MS;
	d->rollout_step = R_HELM;
	return FX_STEP_RUN;
}

/* The file a step's JSON listing goes to, read by the next step (not the
 * log: a namespace's pods are pages of it). */
static char *
listing(struct fx_rules *r, struct fx_node *n, const char *what)
{
	char *name = xasprintf("%s.%s.json", ((struct fx_rule_node *)n->data)->svc->name, what);
	char *path = rules_artifact(r, name);
	free(name);
	return path;
}

/* Read it, and remove it: a pod's spec may hold values the chart put in
 * its environment. */
static void
read_listing(const char *path, int status, char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	if (status == 0 && read_file(path, text, len) < 0) {
		*text = NULL;
		*len = 0;
	}
	unlink(path);
}

/* The pods of the namespace into STATEDIR/artifacts/X.WHAT.json. */
static enum fx_step
list_pods(struct fx_rules *r, struct fx_node *n, struct fx_cmd *cmd, const char *what)
{
	rules_pod_list_argv(r->cat, &cmd->argv);
	cmd->stdout_path = listing(r, n, what);
	return FX_STEP_RUN;
}

/* Why the release failed: its trouble's log and events first, then the
 * words. */
static enum fx_step
diagnose(struct fx_rules *r, struct fx_node *n, struct fx_cmd *cmd, struct fx_buf *msg)
{
	struct fx_rule_node *d = n->data;
	const struct fx_pod_trouble *t = rules_rollout_trouble(d->rollout);
	int timeout = rules_release_timeout(d->svc);

	if (!t) {
		rules_rollout_say_plain(d->rollout, timeout, msg, &cmd->detail);
		return FX_STEP_FAIL;
	}
	if (d->rollout_step < R_LOG && t->ran) {
		rules_tail_argv(r->cat, t->pod, t->container, 20, &cmd->argv);
		cmd->capture = true;
		d->rollout_step = R_LOG;
		return FX_STEP_RUN;
	}
	if (d->rollout_step < R_EVENTS) {
		rules_events_argv(r->cat, t->uid, &cmd->argv);
		cmd->stdout_path = listing(r, n, "events");
		d->rollout_step = R_EVENTS;
		return FX_STEP_RUN;
	}
	rules_rollout_say(d->rollout, r->cat, d->svc->name, timeout, msg, &cmd->detail);
	cmd->said_all = true;
	return FX_STEP_FAIL;
}

/*
 * The pods before (R_BEFORE); a release a killed helm left pending cleared
 * (R_UNPEND: rules_pending); then helm, followed (R_HELM); when helm
 * fails, one more look at the pods unless a probe found why already
 * (R_AFTER), the log of the container in trouble (R_LOG) and its pod's
 * events (R_EVENTS), each read by the step after it. (plan -v shows the
 * helm command: a dry run starts there.)
 */
static enum fx_step
release_step(struct fx_node *n, void *ctx, int step, int status, struct fx_cmd *cmd,
    struct fx_output *out, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	struct fx_rule_node *d = n->data;
	char *text = NULL, *path;
	size_t len = 0;

	if (step == 0) {
		rules_rollout_free(d->rollout);
		d->rollout = NULL;
		if (r->dry_run)
			return helm_upgrade(r, n, cmd, msg);
		d->rollout_step = R_BEFORE;
		return list_pods(r, n, cmd, "pods");
	}
	switch (d->rollout_step) {
	case R_BEFORE:
		/* a listing that failed (no cluster yet) is no pod */
		path = listing(r, n, "pods");
		read_listing(path, status, &text, &len);
		d->rollout = rules_rollout_new(r, d->svc, text, len);
		free(text);
		free(path);
		/* a killed helm left it pending: helm would refuse the upgrade */
		const char *pending = rules_pending(r, d->svc->name);
		if (pending) {
			rules_unpend_argv(r, d->svc, pending, &cmd->argv);
			d->rollout_step = R_UNPEND;
			return FX_STEP_RUN;
		}
		return helm_upgrade(r, n, cmd, msg);
	case R_UNPEND:
		/* failed: the upgrade says why */
		return helm_upgrade(r, n, cmd, msg);
	case R_HELM:
		if (status == 0 && !rules_rollout_found(d->rollout)) {
			rules_rollout_free(d->rollout);
			d->rollout = NULL;
			out->value = revision(&cmd->out);
			out->hash = hash_bytes(out->value, strlen(out->value));
			return FX_STEP_DONE;
		}
		rules_rollout_ended(d->rollout, status, rules_release_timeout(d->svc));
		if (!rules_rollout_found(d->rollout)) {
			d->rollout_step = R_AFTER;
			return list_pods(r, n, cmd, "pods");
		}
		return diagnose(r, n, cmd, msg);
	case R_AFTER: {
		path = listing(r, n, "pods");
		read_listing(path, status, &text, &len);
		struct fx_buf b = {.s = text, .len = len, .cap = len + 1};
		if (text)
			rules_rollout_after(d->rollout, &b);
		free(text);
		free(path);
		return diagnose(r, n, cmd, msg);
	}
	case R_LOG:
		rules_rollout_log(d->rollout, status, &cmd->out);
		return diagnose(r, n, cmd, msg);
	default:
		path = listing(r, n, "events");
		read_listing(path, status, &text, &len);
		rules_rollout_events(d->rollout, status, text, len);
		free(text);
		free(path);
		return diagnose(r, n, cmd, msg);
	}
}

/* A probe while helm runs: the namespace's pods, one call. */
static bool
release_watch(struct fx_node *n, void *ctx, struct fx_strv *probe)
{
	struct fx_rules *r = ctx;
	struct fx_rule_node *d = n->data;

	if (!d->rollout)
		return false;
	rules_pod_list_argv(r->cat, probe);
	return true;
}

static bool
release_watched(struct fx_node *n, void *ctx, int status, const struct fx_buf *out)
{
	struct fx_rule_node *d = n->data;

	return d->rollout && status == 0 && rules_rollout_probe(d->rollout, out);
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
		.watch = release_watch,
		.watched = release_watched,
	},
	.from = release_from,
	.roles = FX_ROLE_TARGET | FX_ROLE_DEPLOY | FX_ROLE_NEEDS | FX_ROLE_SECRETS,
	.never_ran = "never ran",
	.wants = release_wants,
	.sources = rules_no_sources,
	.each_source = rules_each_no_source,
	.exists = release_exists,
};
