/*
 * cluster.c - what every cluster shares, whichever its provider
 * (provider.h): the kube context flags, the cluster identity, the --verify
 * queries (each provider says how to list the images it loaded, if it
 * can), and kubectl's commands outside the graph, each beside the reading
 * of what it prints: does the cluster answer (doctor, bootstrap), the
 * current context (doctor), the namespace (bootstrap).
 *
 * The cluster identity is the UID of the kube-system namespace: a
 * recreated cluster has a new one, which makes every load and release
 * stale by itself. It is read once per run, and only when a load or
 * release needs it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/diag.h"
#include "fusion/manifest.h"
#include "fusion/proc.h"
#include "fusion/provider.h"
#include "fusion/rules.h"

void
rules_context_args(const struct fx_catalog *c, struct fx_strv *argv, bool helm)
{
	const char *ctx = catalog_kube_context(c);

	if (!ctx)
		return;
	strv_push(argv, helm ? "--kube-context" : "--context");
	strv_push(argv, ctx);
}

static void
trim(struct fx_buf *b)
{
	while (b->len > 0 && strchr(" \t\r\n", b->s[b->len - 1]))
		b->s[--b->len] = '\0';
}

/* The cluster does not answer: what its provider's own tool says of it
 * (there is none, or it is stopped), and what to do, as "; ..." (or ""
 * when it runs: kubectl's word is all there is). A provider whose tool
 * cannot tell gives its start hint. */
static char *
what_to_do(const struct fx_catalog *c)
{
	const struct fx_provider *p = provider_of(c);
	char *words = NULL, *out;

	if (!p->state)
		return xasprintf("; %s", p->start_hint);
	switch (p->state(c, &words)) {
	case FX_CLUSTER_ABSENT:
		out = xasprintf("; %s: there is no such cluster: run `fusion bootstrap`, which "
		    "creates it", words);
		break;
	case FX_CLUSTER_STOPPED:
		out = xasprintf("; %s: run `fusion bootstrap`, which starts it", words);
		break;
	default:
		out = xstrdup("");
	}
	free(words);
	return out;
}

const char *
rules_cluster(struct fx_rules *r, const char **err)
{
	if (!r->cluster_read) {
		struct fx_strv a = {0};
		struct fx_buf out = {0}, e = {0};

		r->cluster_read = true;
		strv_push(&a, "kubectl");
		rules_context_args(r->cat, &a, false);
		strv_push(&a, "get");
		strv_push(&a, "namespace");
		strv_push(&a, "kube-system");
		strv_push(&a, "-o");
		strv_push(&a, "jsonpath={.metadata.uid}");
		int st = proc_run(strv_argv(&a), &out, &e);
		trim(&out);
		if (st == 0 && out.len) {
			r->cluster_uid = buf_detach(&out);
		} else if (st == PROC_INTERRUPTED) {
			r->cluster_err = xstrdup("interrupted");
		} else {
			char *why = buf_first_line(&e, "no answer");
			char *advice = what_to_do(r->cat);
			r->cluster_err = xasprintf("cluster not reachable (kubectl: %s)%s", why, advice);
			free(why);
			free(advice);
		}
		fx_debug("cluster identity: %s", r->cluster_uid ? r->cluster_uid : r->cluster_err);
		strv_free(&a);
		buf_free(&out);
		buf_free(&e);
	}
	if (err)
		*err = r->cluster_err;
	return r->cluster_uid;
}

/* The identity in a load's or release's key: a new one means a new cluster. */
enum fx_said
rules_say_cluster(const struct fx_change *c, bool brief, struct fx_buf *out)
{
	if (strcmp(c->name, "cluster:") != 0)
		return FX_SAID_NOTHING;
	buf_puts(out, "cluster recreated");
	if (!brief)
		buf_printf(out, " (kube-system uid %s -> %s)", c->old ? c->old : "none",
		    c->new ? c->new : "none");
	return FX_SAID_VALUE;
}

/* Run a listing command, once per run, and keep each whitespace-separated
 * word of its output in l. A tool that cannot answer is said so once. */
static void
list(struct fx_listing *l, struct fx_strv *a)
{
	struct fx_buf out = {0}, e = {0};

	if (l->asked)
		return;
	l->asked = true;
	int st = proc_run(strv_argv(a), &out, &e);
	if (st != 0 && st != PROC_INTERRUPTED) {
		char *why = buf_first_line(&e, "failed");
		fx_warn("%s: %s (outputs are not verified)", a->v[0], why);
		free(why);
	}
	l->ok = st == 0;
	for (char *tok = strtok(l->ok && out.s ? out.s : (char *)"", " \t\r\n"); tok;
	    tok = strtok(NULL, " \t\r\n")) {
		strv_push(&l->owned, tok);
		map_put(&l->names, l->owned.v[l->owned.n - 1], (void *)1);
	}
	buf_free(&out);
	buf_free(&e);
}

/* Is `name` listed? What a tool could not list is trusted to be there. */
static bool
listed(const struct fx_listing *l, const char *name)
{
	return !l->ok || map_get(&l->names, name);
}

bool
rules_have_image(struct fx_rules *r, const char *id)
{
	if (!r->images.asked) {
		struct fx_strv a = {0};
		strv_push(&a, builder_bin(r->cat));
		strv_push(&a, "images");
		strv_push(&a, "--no-trunc");
		strv_push(&a, "--format");
		strv_push(&a, "{{.ID}}");
		list(&r->images, &a);
		strv_free(&a);
	}
	if (listed(&r->images, id))
		return true;
	/* podman prints "sha256:<hex>", docker may print the bare hex */
	return strncmp(id, "sha256:", 7) == 0 && listed(&r->images, id + 7);
}

bool
rules_have_loaded(struct fx_rules *r, const char *ref)
{
	const struct fx_provider *p = provider_of(r->cat);

	if (!p->list_argv)
		return true;	/* a provider with no listing: trusted */
	if (!r->loaded.asked) {
		struct fx_strv a = {0};
		p->list_argv(r->cat, &a);
		list(&r->loaded, &a);
		strv_free(&a);
	}
	/* localhost/ references are listed as loaded, unchanged */
	return listed(&r->loaded, ref);
}

bool
rules_have_release(struct fx_rules *r, const char *name)
{
	if (!r->releases.asked) {
		struct fx_strv a = {0};
		strv_push(&a, "helm");
		strv_push(&a, "list");
		strv_push(&a, "-n");
		strv_push(&a, r->cat->namespace);
		strv_push(&a, "-q");
		rules_context_args(r->cat, &a, true);
		list(&r->releases, &a);
		strv_free(&a);
	}
	return listed(&r->releases, name);
}

/* kubectl [--context C] VERB..., with no context flag for a NULL c. */
static void
kubectl(const struct fx_catalog *c, struct fx_strv *a, const char *const *verb)
{
	strv_push(a, "kubectl");
	if (c)
		rules_context_args(c, a, false);
	for (; *verb; verb++)
		strv_push(a, *verb);
}

/* Run argv (then freed): its exit status; the first line of stdout in
 * *out_line when it exits 0, else that of stderr (stdout when stderr is
 * empty) in *err_line; each malloc'ed, when not NULL. */
static int
run(struct fx_strv *a, char **out_line, char **err_line)
{
	struct fx_buf out = {0}, err = {0};
	int st = proc_run(strv_argv(a), &out, &err);

	if (st == 0 && out_line)
		*out_line = buf_first_line(&out, "");
	if (st != 0 && err_line)
		*err_line = buf_first_line(err.len ? &err : &out, "no message");
	strv_free(a);
	buf_free(&out);
	buf_free(&err);
	return st;
}

const struct fx_tool rules_tool_kubectl = {"kubectl", {"kubectl", "version", "--client"},
	"1.24.0", "install kubectl 1.24 or newer (Debian, Ubuntu: apt-get install "
	"kubernetes-client)"};

bool
rules_cluster_answers(const struct fx_catalog *c, char **why)
{
	struct fx_strv a = {0};

	kubectl(c, &a, (const char *[]){"get", "namespace", "kube-system", "-o", "name", NULL});
	return run(&a, NULL, why) == 0;
}

char *
rules_current_context(void)
{
	struct fx_strv a = {0};
	char *name = NULL;

	kubectl(NULL, &a, (const char *[]){"config", "current-context", NULL});
	if (run(&a, &name, NULL) != 0 || !name[0]) {
		free(name);
		return NULL;
	}
	return name;
}

int
rules_namespace_ensure(const struct fx_catalog *c, char **why)
{
	struct fx_strv a = {0};

	kubectl(c, &a, (const char *[]){"get", "namespace", c->namespace, "-o", "name", NULL});
	if (run(&a, NULL, NULL) == 0)
		return 0;
	kubectl(c, &a, (const char *[]){"create", "namespace", c->namespace, NULL});
	return run(&a, NULL, why) == 0 ? 1 : -1;
}
