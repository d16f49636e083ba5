/*
 * helm.c - the helm commands outside the graph, for `fusion down`: which
 * releases the namespace holds (helm list), whether one is still there
 * (helm status), and the uninstall; each beside the reading of what it
 * prints. Also helm as `fusion doctor` checks it (helm version --short,
 * read by rules/tools.c). The graph's own helm commands are the chart's
 * (helm template, rules/chart.c) and the release's (helm upgrade,
 * rules/release.c).
 */
#include <stdlib.h>
#include <string.h>

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
