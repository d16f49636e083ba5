/*
 * provider.c - the cluster providers by name (the catalog's FX_PROVIDERS),
 * the catalog checks their tables ask for, and the pieces their files
 * share: running a command with its output shown, bootstrap's line for a
 * cluster that answers, the start arguments, stopping the cluster.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/diag.h"
#include "fusion/proc.h"
#include "fusion/provider.h"

#define DECLARE(x) extern const struct fx_provider provider_##x;
FX_PROVIDERS(DECLARE)
#undef DECLARE

#define ENTRY(x) &provider_##x,
static const struct fx_provider *const providers[] = {FX_PROVIDERS(ENTRY)};
#undef ENTRY

const struct fx_provider *
provider_of(const struct fx_catalog *c)
{
	for (size_t i = 0; c->provider && i < FX_NELEM(providers); i++)
		if (strcmp(providers[i]->name, c->provider) == 0)
			return providers[i];
	return providers[0];
}

int
provider_check(struct fx_catalog *c)
{
	const struct fx_provider *p = provider_of(c);
	int rc = 0;

	if (c->driver && !p->driver) {
		fx_error_at(c->driver_loc, "\"driver\" is minikube's (minikube start --driver); "
		    "provider %s has none", p->name);
		rc = -1;
	}
	if (c->start_args.n && !p->starts) {
		fx_error_at(c->start_args_loc, "\"start_args\": fusion does not start a cluster of "
		    "provider %s", p->name);
		rc = -1;
	}
	if (p->registry && !c->registry) {
		fx_error_at(c->provider_loc, "provider \"%s\" needs \"registry\" (images are pushed "
		    "there)", p->name);
		rc = -1;
	}
	if (!c->context && p->context_prefix)
		c->context = xasprintf("%s%s", p->context_prefix, c->profile);
	return rc;
}

int
provider_load_catalog(const char *path, bool check_files, struct fx_catalog *out)
{
	if (catalog_load(path, check_files, out) < 0)
		return -1;
	if (provider_check(out) < 0) {
		catalog_free(out);
		return -1;
	}
	return 0;
}

int
provider_loud(struct fx_strv *a)
{
	struct fx_buf msg = {0}, line = {0};

	proc_format(&line, strv_argv(a));
	printf("bootstrap: %s\n", line.s);
	fflush(stdout);
	pid_t pid = proc_start(strv_argv(a), 1, 2, &msg);
	int st = pid < 0 ? -1 : proc_wait(pid);
	if (pid < 0)
		fx_error("%s", msg.s);
	strv_free(a);
	buf_free(&msg);
	buf_free(&line);
	return st;
}

void
provider_say_answers(const struct fx_catalog *c)
{
	printf("bootstrap: the cluster answers (kube context %s)\n",
	    catalog_kube_context(c) ? catalog_kube_context(c) : "current");
}

void
provider_start_args(const struct fx_catalog *c, struct fx_strv *a)
{
	for (size_t i = 0; i < c->start_args.n; i++)
		strv_push(a, c->start_args.v[i]);
}

int
provider_stop(const struct fx_catalog *c, bool delete, int out_fd)
{
	struct fx_strv a = {0};
	struct fx_buf msg = {0}, what = {0};
	const char *why = provider_of(c)->stop_argv(c, delete, &a);
	int rc = 0;

	if (why) {
		fx_error("%s", why);
		return -1;
	}
	fflush(stdout);
	pid_t pid = proc_start(strv_argv(&a), out_fd, 2, &msg);
	int st = pid < 0 ? -1 : proc_wait(pid);
	if (st != 0) {
		/* The command's words, before its options and the cluster's name. */
		for (size_t i = 0; i < a.n && a.v[i][0] != '-' && strcmp(a.v[i], c->profile) != 0;
		    i++)
			buf_printf(&what, "%s%s", i ? " " : "", a.v[i]);
		fx_error("%s failed%s%s", what.s, msg.len ? ": " : "", msg.len ? msg.s : "");
		rc = -1;
	}
	strv_free(&a);
	buf_free(&msg);
	buf_free(&what);
	return rc;
}
