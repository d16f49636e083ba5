/*
 * helm.c - the helm commands outside the graph, for `fusion down`: which
 * releases the namespace holds (helm list), whether one is still there
 * (helm status), and the uninstall; each beside the reading of what it
 * prints. Also helm as `fusion doctor` checks it (helm version --short,
 * read by rules/tools.c). The graph's own helm commands are the chart's
 * (helm template, rules/chart.c) and the release's (helm upgrade,
 * rules/release.c), and what clears a release a killed helm left pending.
 */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "fusion/diag.h"
#include "fusion/proc.h"
#include "fusion/rules.h"

const struct fx_tool rules_tool_helm = {"helm", {"helm", "version", "--short"}, "3.8.0",
	"install helm 3.8 or newer (the Helm documentation, \"Installing Helm\")"};

/* helm VERB -n NS [--kube-context C] */
static void
helm_in(const struct fx_catalog *c, const char *verb, struct fx_strv *a)
{
	strv_push(a, "helm");
	strv_push(a, verb);
	strv_push(a, "-n");
	strv_push(a, c->namespace);
	rules_context_args(c, a, true);
}

int
rules_installed(const struct fx_catalog *c, struct fx_strv *names, char **why)
{
	struct fx_strv a = {0};
	struct fx_buf out = {0}, err = {0};

	helm_in(c, "list", &a);
	strv_push(&a, "-a");	/* failed and pending releases too */
	strv_push(&a, "-q");	/* one name a line, nothing else */
	int st = proc_run(strv_argv(&a), &out, &err);
	if (st == 0) {
		for (char *tok = strtok(out.s ? out.s : (char *)"", " \t\r\n"); tok;
		    tok = strtok(NULL, " \t\r\n"))
			strv_push(names, tok);
	} else {
		*why = buf_first_line(&err, "no message");
	}
	strv_free(&a);
	buf_free(&out);
	buf_free(&err);
	return st == 0 ? 0 : -1;
}

bool
rules_still_installed(const struct fx_catalog *c, const char *name)
{
	struct fx_strv a = {0};

	helm_in(c, "status", &a);
	strv_push(&a, name);
	int st = proc_run(strv_argv(&a), NULL, NULL);
	strv_free(&a);
	return st == 0;
}

void
rules_uninstall_argv(struct fx_rules *r, const struct fx_svc *s, struct fx_strv *a)
{
	strv_push(a, "helm");
	strv_push(a, "uninstall");
	strv_push(a, s->name);
	strv_push(a, "-n");
	strv_push(a, r->cat->namespace);
	rules_context_args(r->cat, a, true);
}

/*
 * ---- A release a killed helm left pending ----
 *
 * helm records a release as pending-install or pending-upgrade before it
 * applies it and waits, and as failed or deployed after; a helm killed in
 * between (SIGKILL: a fusion killed with it, whose tools the kernel kills
 * with it, a laptop's lid) leaves it pending, and helm refuses every later
 * upgrade: "another operation (install/upgrade/rollback) is in progress"
 * (helm/helm#4558, #10599). Under the workspace lock no other fusion is
 * upgrading it, so a release still pending when its node runs is such a
 * leftover, and goes first: rolled back to the revision before (helm
 * rollback), or, an install with nothing to go back to, uninstalled.
 * helm list --pending -o json, once per run, when the first release runs.
 */

static const char *
scalar(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		const yaml_node_t *k = yaml_document_get_node(doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(doc, p->value);
		if (k && v && k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return (const char *)v->data.scalar.value;
	}
	return NULL;
}

/* [{"name":N,"status":S,...}] into "N=S" */
static void
read_pending(const struct fx_buf *out, struct fx_strv *names)
{
	yaml_parser_t parser;
	yaml_document_t doc;

	if (!out->s || !yaml_parser_initialize(&parser))
		return;
	yaml_parser_set_input_string(&parser, (const unsigned char *)out->s, out->len);
	if (yaml_parser_load(&parser, &doc)) {
		const yaml_node_t *root = yaml_document_get_root_node(&doc);
		for (yaml_node_item_t *i = root && root->type == YAML_SEQUENCE_NODE ?
		    root->data.sequence.items.start : NULL; i && i < root->data.sequence.items.top;
		    i++) {
			const yaml_node_t *rel = yaml_document_get_node(&doc, *i);
			const char *name = scalar(&doc, rel, "name");
			const char *status = scalar(&doc, rel, "status");
			if (name && status && strncmp(status, "pending-", 8) == 0)
				strv_take(names, xasprintf("%s=%s", name, status));
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
}

const char *
rules_pending(struct fx_rules *r, const char *name)
{
	if (!r->pending_asked) {
		struct fx_strv a = {0};
		struct fx_buf out = {0};
		r->pending_asked = true;
		helm_in(r->cat, "list", &a);
		strv_push(&a, "--pending");
		strv_push(&a, "-o");
		strv_push(&a, "json");
		/* a helm that cannot answer: the upgrade will say what is wrong */
		if (proc_run(strv_argv(&a), &out, NULL) == 0)
			read_pending(&out, &r->pending);
		fx_debug("releases left pending: %zu", r->pending.n);
		strv_free(&a);
		buf_free(&out);
	}
	size_t n = strlen(name);
	for (size_t i = 0; i < r->pending.n; i++)
		if (strncmp(r->pending.v[i], name, n) == 0 && r->pending.v[i][n] == '=')
			return r->pending.v[i] + n + 1;
	return NULL;
}

void
rules_unpend_argv(struct fx_rules *r, const struct fx_svc *s, const char *status,
    struct fx_strv *a)
{
	bool install = strcmp(status, "pending-install") == 0;

	helm_in(r->cat, install ? "uninstall" : "rollback", a);
	strv_push(a, s->name);
}
