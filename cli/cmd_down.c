/*
 * cmd_down.c - `fusion down SVC...`, `fusion down --all [--cluster
 * [--delete]]`: helm uninstall, dependents first; then, with --cluster,
 * stop or delete the cluster, as its provider does (provider.h: minikube
 * stop|delete, kind delete cluster, ...).
 *
 * Each uninstalled release's record is forgotten, so the next `up` deploys
 * it again. Which releases exist is asked once (`helm list -a -q`): that
 * call also proves the cluster reachable, so a release missing from the list
 * is "not installed" without any reading of helm's error texts. An uninstall
 * that fails anyway is checked with `helm status`: if it exits 0 the release
 * is still there and the failure is real; otherwise it went away meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/lock.h"
#include "fusion/proc.h"
#include "fusion/provider.h"

struct down_opts {
	bool all, cluster, delete_cluster, no_wait;
};

/* What happened to a release: a line, or (--json) an object
 * {"release":NAME,"result":"uninstalled|not installed|failed"}. */
static void
said(struct fx_session *s, const char *name, const char *result)
{
	if (!s->o->json) {
		printf("%s%s %s\n", result, strcmp(result, "not installed") == 0 ? ":" : "", name);
		return;
	}
	struct fx_buf b = {0};
	buf_puts(&b, "{\"release\":");
	buf_json_str(&b, name);
	buf_printf(&b, ",\"result\":\"%s\"}\n", result);
	fputs(b.s, stdout);
	buf_free(&b);
}

/* Names of the releases in the namespace, as a set. Returns 0, or -1 with
 * helm's complaint in *why (the cluster is not reachable). */
static int
installed(struct fx_session *s, struct fx_map *set, struct fx_strv *names, char **why)
{
	int rc = rules_installed(&s->cat, names, why);

	map_init(set, 64);
	for (size_t i = 0; i < names->n; i++)
		map_put(set, names->v[i], (void *)1);
	return rc;
}

static int
uninstall(struct fx_session *s, struct fx_node *n, const struct fx_map *present)
{
	struct fx_rule_node *d = n->data;
	struct fx_strv a = {0};
	struct fx_buf out = {0}, err = {0};
	int rc = 0;

	if (!map_get(present, d->svc->name)) {
		said(s, d->svc->name, "not installed");
		return cache_forget(s->cache, n->id) < 0 ? -1 : 0;
	}
	rules_uninstall_argv(&s->rules, d->svc, &a);
	int st = proc_run(strv_argv(&a), &out, &err);
	if (st == 0 || !rules_still_installed(&s->cat, d->svc->name)) {
		said(s, d->svc->name, st == 0 ? "uninstalled" : "not installed");
		/* Unforgotten, the release would look up to date to the next `up`. */
		if (cache_forget(s->cache, n->id) < 0)
			rc = -1;
	} else {
		char *why = buf_first_line(&err, "no message");
		fx_error_node(n->id, "helm uninstall failed: %s", why);
		if (s->o->json)
			said(s, d->svc->name, "failed");
		free(why);
		rc = -1;
	}
	strv_free(&a);
	buf_free(&out);
	buf_free(&err);
	return rc;
}

/* Uninstall the selected releases, dependents first. */
static int
uninstall_all(struct fx_session *s, bool for_cluster)
{
	struct fx_map present;
	struct fx_strv names = {0};
	char *why = NULL;
	int rc = 0;

	if (installed(s, &present, &names, &why) < 0) {
		if (for_cluster) {
			fx_warn("helm list: %s (releases left as they are)", why);
		} else {
			fx_error("cannot list the releases of namespace %s: %s", s->cat.namespace, why);
			rc = FX_EXIT_FAILED;
		}
		free(why);
		map_free(&present);
		return rc;
	}
	for (size_t i = s->g->n; i > 0; i--) {
		struct fx_node *n = s->order[i - 1];
		if (n->selected && rules_is(n, FX_ROLE_DEPLOY) &&
		    uninstall(s, n, &present) < 0)
			rc = FX_EXIT_FAILED;
	}
	map_free(&present);
	strv_free(&names);
	return rc;
}

/* The provider's stop or delete: its output is the user's. */
static int
stop_cluster(struct fx_session *s, bool delete)
{
	int rc = 0;

	/* --json: stdout holds only JSON, the tool speaks on stderr. */
	if (provider_stop(&s->cat, delete, s->o->json ? 2 : 1) < 0) {
		rc = FX_EXIT_FAILED;
	} else {
		if (s->o->json)
			printf("{\"cluster\":\"%s\"}\n", delete ? "deleted" : "stopped");
		/* A new cluster starts empty: nothing of this one is deployed. */
		for (size_t i = 0; delete && i < s->g->n; i++)
			if (rules_is(s->g->nodes[i], FX_ROLE_DEPLOY) &&
			    cache_forget(s->cache, s->g->nodes[i]->id) < 0)
				rc = FX_EXIT_FAILED;
	}
	return rc;
}

/* `down` alone would uninstall every release, shared ones included: it
 * asks for --all, and says what that would take down. */
static void
refuse_everything(struct fx_session *s, bool cluster)
{
	struct fx_buf names = {0};

	for (size_t i = 0; i < s->g->n; i++)
		if (rules_is(s->order[i], FX_ROLE_DEPLOY))
			buf_printf(&names, "%s%s", names.len ? ", " : "", s->order[i]->target);
	if (cluster)
		fx_error("down: --cluster goes with --all, which uninstalls every release of the "
		    "catalog (%s)", names.len ? names.s : "none");
	else
		fx_error("down: name the releases to uninstall, or --all for every release of the "
		    "catalog (%s)", names.len ? names.s : "none");
	buf_free(&names);
}

static int
check_options(struct fx_session *s, struct fx_opts *g, const struct down_opts *o)
{
	struct fx_strv a = {0};
	const char *why = NULL;

	if (o->delete_cluster && !o->cluster)
		why = "--delete goes with --cluster";
	else if (o->cluster && g->nargs)
		why = "--cluster takes every release down: name no service";
	else if (o->all && g->nargs)
		why = "--all or service names, not both";
	else if (!o->all && !g->nargs) {
		refuse_everything(s, o->cluster);
		return FX_EXIT_USAGE;
	} else if (o->cluster)
		why = provider_of(&s->cat)->stop_argv(&s->cat, o->delete_cluster, &a);
	strv_free(&a);
	if (why) {
		fx_error("down: %s", why);
		return FX_EXIT_USAGE;
	}
	return 0;
}

static int
cmd_down(struct fx_opts *o, void *opts)
{
	const struct down_opts *d = opts;
	struct fx_session s;
	int lock = -1;
	int rc = session_open(&s, o);

	if (rc == 0)
		rc = check_options(&s, o, d);
	if (rc == 0) {
		/* Only the named releases (all with --all), not what they need. */
		for (size_t i = 0; i < s.g->n; i++)
			s.g->nodes[i]->selected = o->nargs == 0;
		for (int i = 0; i < o->nargs; i++) {
			struct fx_node *n = rules_find(s.g, o->args[i]);
			if (!n || !rules_is(n, FX_ROLE_DEPLOY)) {
				struct fx_buf hint = {0};
				fx_error("down: no release named \"%s\"%s", o->args[i],
				    session_hint(&s, o->args[i], &hint));
				buf_free(&hint);
				rc = FX_EXIT_USAGE;
			} else {
				n->selected = true;
			}
		}
	}
	if (rc == 0) {
		lock = lock_acquire(s.statedir, d->no_wait, &cmd_stop);
		if (lock < 0)
			rc = lock == -2 ? FX_EXIT_USAGE : FX_EXIT_FAILED;
	}
	if (rc == 0 && !(s.cache = cache_open(s.statedir)))
		rc = FX_EXIT_FAILED;
	/* Deleting the cluster deletes its releases: no uninstall first. */
	if (rc == 0 && !d->delete_cluster)
		rc = uninstall_all(&s, d->cluster);
	if (rc == 0 && d->cluster)
		rc = stop_cluster(&s, d->delete_cluster);
	lock_release(lock);
	session_close(&s);
	return rc;
}

#define DOWN struct down_opts

static const struct fx_option options[] = {
	FX_BOOL("all", DOWN, all, "every release of the catalog, shared ones included (naming none\n"
	    "without --all is refused)"),
	FX_BOOL("cluster", DOWN, cluster, "then stop the cluster (minikube stop)"),
	FX_BOOL("delete", DOWN, delete_cluster, "with --cluster: delete it instead (minikube delete, kind delete\n"
	    "cluster); its releases go with it"),
	FX_BOOL("no-wait", DOWN, no_wait, "exit 2 at once if another fusion holds the workspace"),
	FX_OPT_END,
};

const struct fx_command fx_cmd_down = {
	.name = "down",
	.usage = "down SVC...|--all [--cluster [--delete]] [--no-wait]",
	.about = "Uninstall the named releases, or with --all every release of the catalog\n"
	    "(dependents first); the next `up` deploys them again.\n",
	.options = options,
	.size = sizeof(struct down_opts),
	.json = "one object per release: {\"release\":NAME,\"result\":\"uninstalled|not installed|failed\"};\n"
	    "with --cluster, {\"cluster\":\"stopped|deleted\"}",
	.run = cmd_down,
};
