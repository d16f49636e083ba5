/*
 * cmd_doctor.c - `fusion doctor`: can this machine run the catalog?
 *
 * One line per check, a hint under each failure; exit 0 only when every
 * check passes (a warning does not fail). The checks, in order:
 *   the catalog loads;
 *   the tools it needs are on PATH, at least at the versions fusion supports
 *     (the builder, the cluster provider's tool, helm, kubectl, git when a
 *     service has `git:`);
 *   the cluster runs (by its provider's own tool, if it has a say) and
 *     answers through the catalog's kube context, a warning when kubectl's
 *     current context is another one; the registry images are pushed to
 *     answers (provider existing);
 *   every repo, containerfile, chart and values file exists;
 *   the builder can resolve the base images the containerfiles name
 *     without a registry (podman: an alias or unqualified-search registries);
 *   the state directory is writable and its database healthy;
 *   the disk holding the builder's images has room.
 * `--json`: {"ok":BOOL,"checks":[{"check","status":"ok|warn|fail","detail","hint"}]}.
 *
 * This file only words the lines: the tools are run, and what they print
 * read, in rules/ (tools.c: versions; cluster.c: kubectl; builder.c: where
 * the images are; each provider's ops table: its cluster's state).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fusion/builder.h"
#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/provider.h"
#include "fusion/statedir.h"

enum status { OK, WARN, FAIL };

struct check {
	char *name, *detail, *hint;
	enum status st;
};

struct doctor {
	struct check *v;
	size_t n, cap;
	bool json;
	bool have_kubectl;
};

static void
add(struct doctor *d, enum status st, const char *name, char *detail, char *hint)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		d->v = xreallocarray(d->v, d->cap, sizeof *d->v);
	}
	d->v[d->n++] = (struct check){xstrdup(name), detail, hint, st};
	if (d->json)
		return;
	static const char *const word[] = {"ok  ", "warn", "FAIL"};
	printf("%s  %s%s%s\n", word[st], name, detail ? ": " : "", detail ? detail : "");
	if (hint)
		printf("      hint: %s\n", hint);
	fflush(stdout);
}

/* ---- tools ---- */

/* The tool's line: rules_tool_check runs its version command and reads
 * what it prints (rules/tools.c). */
static bool
check_tool(struct doctor *d, const struct fx_tool *t)
{
	int have[3];
	char *said;

	switch (rules_tool_check(t, have, &said)) {
	case FX_TOOL_MISSING:
		add(d, FAIL, t->name, xstrdup("not found on PATH"), xstrdup(t->hint));
		return false;
	case FX_TOOL_UNKNOWN:
		add(d, WARN, t->name, xasprintf("cannot tell its version (%s)", said), NULL);
		break;
	case FX_TOOL_OLD:
		add(d, FAIL, t->name, xasprintf("%d.%d.%d is older than %s, the oldest fusion "
		    "supports", have[0], have[1], have[2], t->min), xstrdup(t->hint));
		break;
	case FX_TOOL_OK:
		add(d, OK, t->name, xasprintf("%d.%d.%d", have[0], have[1], have[2]), NULL);
		break;
	}
	free(said);
	return true;
}

/* The builder's and the provider's tools are in their ops tables
 * (builder.h, provider.h); helm, kubectl and git in rules.h. */
static void
check_tools(struct doctor *d, const struct fx_catalog *c)
{
	const struct fx_provider *p = provider_of(c);

	check_tool(d, &builder_of(c)->tool);
	if (p->tool)
		check_tool(d, p->tool);
	check_tool(d, &rules_tool_helm);
	d->have_kubectl = check_tool(d, &rules_tool_kubectl);
	for (size_t i = 0; i < c->nsvcs; i++)
		if (c->svcs[i].git) {
			check_tool(d, &rules_tool_git);
			break;
		}
}

/* ---- the cluster ---- */

/* That the catalog's context exists, the reachability check has shown
 * (kubectl --context C fails on a context the kubeconfig lacks); here:
 * is it the one the user's own kubectl commands reach? */
static void
check_context(struct doctor *d, const struct fx_catalog *c)
{
	const char *want = catalog_kube_context(c);
	char *current = rules_current_context();

	if (want && (!current || strcmp(current, want) != 0))
		add(d, WARN, "kube context", xasprintf("%s, but kubectl's current context is %s",
		    want, current ? current : "not set"), xasprintf("kubectl config use-context %s, "
		    "so that your own kubectl commands reach the same cluster as fusion", want));
	else if (want)
		add(d, OK, "kube context", xasprintf("%s (the current one)", want), NULL);
	else if (!current)
		add(d, FAIL, "kube context", xstrdup("no current context"),
		    xstrdup("set workspace.cluster.context, or kubectl config use-context NAME"));
	else
		add(d, OK, "kube context", xasprintf("%s (the current one)", current), NULL);
	free(current);
}

static void
check_cluster(struct doctor *d, const struct fx_catalog *c)
{
	const struct fx_provider *p = provider_of(c);
	const char *ctx = catalog_kube_context(c);
	char *why = NULL;

	if (p->state) {
		bool up = p->state(c, &why) == FX_CLUSTER_RUNNING;
		add(d, up ? OK : FAIL, "cluster", why, up ? NULL : xstrdup(p->start_hint));
		why = NULL;
	}
	if (!d->have_kubectl)
		return;
	if (rules_cluster_answers(c, &why)) {
		add(d, OK, "cluster reachable", xasprintf("kubectl%s%s answers",
		    ctx ? " --context " : "", ctx ? ctx : ""), NULL);
		check_context(d, c);
	} else {
		add(d, FAIL, "cluster reachable", xasprintf("kubectl: %s", why),
		    xstrdup(p->start_hint));
		free(why);
	}
	if (p->registry_answers) {
		char *detail = NULL;
		bool ok = p->registry_answers(c, &detail);
		add(d, ok ? OK : FAIL, "registry", detail, ok ? NULL : xasprintf("start the "
		    "registry %s, or set workspace.cluster.registry to one the cluster pulls from",
		    c->registry ? c->registry : ""));
	}
}

/* ---- base images ---- */

/* The images the containerfiles pull without naming a registry: can the
 * builder find them? (podman with no unqualified-search registries cannot:
 * every build of a Containerfile written for docker fails.) */
static void
check_base_images(struct doctor *d, const struct fx_catalog *c)
{
	const struct fx_builder *b = builder_of(c);
	struct fx_strv all = {0}, shorts = {0};

	for (size_t i = 0; i < c->nsvcs; i++)
		if (!c->svcs[i].shared)
			builder_base_images(&c->svcs[i], &all);
	for (size_t i = 0; i < all.n; i++)
		if (builder_short_name(all.v[i]) && !strv_has(&shorts, all.v[i]))
			strv_push(&shorts, all.v[i]);
	if (!all.n) {
		add(d, OK, "base images", xstrdup("none to pull (FROM scratch)"), NULL);
	} else if (!shorts.n) {
		add(d, OK, "base images", xasprintf("%zu, each with its registry", all.n), NULL);
	} else if (!b->short_names) {
		add(d, OK, "base images", xasprintf("%zu short name%s, resolved by %s", shorts.n,
		    shorts.n == 1 ? "" : "s", b->name), NULL);
	} else {
		struct fx_short_names sn;
		static const enum status st[] = {OK, WARN, FAIL};
		b->short_names(&shorts, &sn);
		add(d, st[sn.status], "base images", sn.detail, sn.hint);
	}
	strv_free(&all);
	strv_free(&shorts);
}

/* ---- the workspace ---- */

static bool
is(const char *path, mode_t type)
{
	struct stat st;
	return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

static void
check_entry(struct doctor *d, const struct fx_catalog *c, const struct fx_svc *s)
{
	struct fx_buf missing = {0};
	char *name = xasprintf("%s %s", s->shared ? "shared" : "service", s->name);
	const char *hint = NULL;

	if (!s->shared && !is(s->repo, S_IFDIR)) {
		buf_printf(&missing, "repo %s", rules_relpath(c, s->repo));
		hint = s->git ? "run \"fusion clone\"" : NULL;
	} else if (!s->shared && !is(s->build.file, S_IFREG)) {
		buf_printf(&missing, "containerfile %s", rules_relpath(c, s->build.file));
	}
	char *chart_yaml = path_join(s->chart ? s->chart : "", "Chart.yaml");
	if (s->chart_url && !s->chart_digest) {
		/* A chart from a repository or a registry is fetched by up, as locked. */
		buf_printf(&missing, "%sthe lock of chart %s (version %s) in %s",
		    missing.len ? ", " : "", s->chart_url, s->chart_pin, c->lock_shown);
		hint = hint ? hint : "run \"fusion lock\"";
	} else if (!s->chart_url && (!s->chart || !is(chart_yaml, S_IFREG))) {
		buf_printf(&missing, "%schart %s", missing.len ? ", " : "",
		    s->chart ? rules_relpath(c, s->chart) : "(none)");
	}
	free(chart_yaml);
	for (size_t i = 0; i < s->values.n; i++)
		if (!is(s->values.v[i], S_IFREG))
			buf_printf(&missing, "%svalues %s", missing.len ? ", " : "",
			    rules_relpath(c, s->values.v[i]));
	if (missing.len)
		add(d, FAIL, name, xasprintf("missing %s", missing.s),
		    hint ? xstrdup(hint) : NULL);
	else
		add(d, OK, name, s->shared ? xasprintf("chart, %zu values file%s", s->values.n,
		    s->values.n == 1 ? "" : "s") : xasprintf("repo, %s, chart, %zu values file%s",
		    rules_relpath(c, s->build.file), s->values.n, s->values.n == 1 ? "" : "s"), NULL);
	free(name);
	buf_free(&missing);
}

/* ---- state and disk ---- */

static void
check_state(struct doctor *d, const char *statedir)
{
	char *probe = path_join(statedir, ".doctor-probe");
	struct fx_buf msg = {0};

	if (statedir_mkdir(statedir) < 0 || write_file_atomic(probe, "", 0) < 0)
		add(d, FAIL, "state directory", xasprintf("%s is not writable: %s", statedir,
		    strerror(errno)), xstrdup("set FUSION_STATE_DIR to a writable directory"));
	else
		add(d, OK, "state directory", xasprintf("%s is writable", statedir), NULL);
	unlink(probe);
	free(probe);
	int rc = cache_check(statedir, &msg);
	if (rc < 0)
		add(d, FAIL, "state database", buf_detach(&msg), xstrdup("run \"fusion cache "
		    "clear\" (fusion forgets what it built; the next up builds it again)"));
	else
		add(d, OK, "state database", xstrdup(rc == 1 ? "none yet (the first up makes it)" :
		    "quick_check ok"), NULL);
	buf_free(&msg);
}

/* Below MIN_FREE a build or an image archive may not fit; below WARN_FREE
 * a few more will not. */
#define GIB (1024.0 * 1024 * 1024)
#define MIN_FREE (2 * GIB)
#define WARN_FREE (10 * GIB)

static void
check_disk(struct doctor *d, const struct fx_catalog *c, const char *statedir)
{
	char *where = builder_root(c);

	if (!where)
		where = xstrdup(statedir);	/* at least the archives' disk */
	struct statvfs vfs;
	char *dir = xstrdup(where);
	while (statvfs(dir, &vfs) < 0 && strcmp(dir, "/") != 0) {
		char *up = path_dir(dir);
		free(dir);
		dir = up;
	}
	double avail = (double)vfs.f_bavail * (double)vfs.f_frsize;
	char *detail = xasprintf("%.1f GiB free for %s (%s)", avail / GIB,
	    strcmp(where, statedir) == 0 ? "image archives" : "images", where);
	char *hint = xasprintf("free space on that disk (%s system prune, fusion cache gc)",
	    builder_bin(c));
	if (avail < MIN_FREE)
		add(d, FAIL, "disk space", detail, hint);
	else if (avail < WARN_FREE)
		add(d, WARN, "disk space", detail, hint);
	else {
		add(d, OK, "disk space", detail, NULL);
		free(hint);
	}
	free(dir);
	free(where);
}

/* ---- the report ---- */

static int
finish(struct doctor *d)
{
	int failed = 0, warned = 0;

	for (size_t i = 0; i < d->n; i++) {
		failed += d->v[i].st == FAIL;
		warned += d->v[i].st == WARN;
	}
	if (d->json) {
		static const char *const word[] = {"ok", "warn", "fail"};
		struct fx_buf b = {0};
		buf_printf(&b, "{\"ok\":%s,\"checks\":[", failed ? "false" : "true");
		for (size_t i = 0; i < d->n; i++) {
			buf_puts(&b, i ? ",{\"check\":" : "{\"check\":");
			buf_json_str(&b, d->v[i].name);
			buf_printf(&b, ",\"status\":\"%s\",\"detail\":", word[d->v[i].st]);
			buf_json_str(&b, d->v[i].detail ? d->v[i].detail : "");
			buf_puts(&b, ",\"hint\":");
			buf_json_str(&b, d->v[i].hint ? d->v[i].hint : "");
			buf_putc(&b, '}');
		}
		buf_puts(&b, "]}\n");
		fputs(b.s, stdout);
		buf_free(&b);
	} else {
		printf("fusion doctor: %zu checks, %d failed, %d warning%s\n", d->n, failed, warned,
		    warned == 1 ? "" : "s");
	}
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].name);
		free(d->v[i].detail);
		free(d->v[i].hint);
	}
	free(d->v);
	return failed ? FX_EXIT_FAILED : 0;
}

static int
cmd_doctor(struct fx_opts *o, void *unused)
{
	struct doctor d = {.json = o->json};
	struct fx_catalog cat = {0};
	char *path = catalog_find(o->file);

	if (o->nargs) {
		fx_error("doctor takes no arguments");
		free(path);
		return FX_EXIT_USAGE;
	}
	/* The files are checked here, one line each, not as catalog errors. */
	if (!path || session_catalog(o, path, false, false, &cat) < 0) {
		add(&d, FAIL, "catalog", xstrdup(path ? "it does not load (above)" : "not found"),
		    xstrdup(path ? "fix the errors above" : "run fusion in the workspace, or -f "
		    "CATALOG"));
		/* What a default catalog needs, still worth knowing. */
		struct fx_catalog def = {0};	/* the default builder and provider */
		check_tools(&d, &def);
		free(path);
		return finish(&d);
	}
	add(&d, OK, "catalog", xstrdup(cat.shown ? cat.shown : path), NULL);
	check_tools(&d, &cat);
	check_cluster(&d, &cat);
	for (size_t i = 0; i < cat.nsvcs; i++)
		check_entry(&d, &cat, &cat.svcs[i]);
	check_base_images(&d, &cat);
	char *statedir = session_statedir(cat.dir);
	check_state(&d, statedir);
	check_disk(&d, &cat, statedir);
	free(statedir);
	catalog_free(&cat);
	free(path);
	return finish(&d);
}

const struct fx_command fx_cmd_doctor = {
	.name = "doctor",
	.usage = "doctor [--json]",
	.about = "Check that this machine can run the catalog: tools and their versions, the\n"
	    "cluster and kube context (and the registry, provider existing), repos and\n"
	    "files, the base images' names, the state directory and database, free disk\n"
	    "space. One line per check, a hint for each failure; exit 0 only when every\n"
	    "check passes.\n",
	.json = "{\"ok\":BOOL,\"checks\":[{\"check\",\"status\":\"ok|warn|fail\",\"detail\",\"hint\"}]}",
	.run = cmd_doctor,
};
