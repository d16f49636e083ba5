/*
 * fetch.c - the fetch node: a chart from a repository or a registry into
 * the chart cache, by the version and digest the lock file holds.
 *
 *   helm pull oci://HOST/PATH/NAME --version V --destination TMP [--plain-http]
 *   helm pull NAME --repo URL --version V --destination TMP
 *
 * The chart cache is the user's, shared by every workspace
 * ($FUSION_CHART_CACHE, else $XDG_CACHE_HOME/fusion/charts, else
 * ~/.cache/fusion/charts), and content-addressed: an archive lives at
 * sha256/HEX.tgz, HEX being the SHA-256 of its bytes. helm pulls into a
 * temporary directory of the cache (tmp/pull-XXXXXX); the archive's digest
 * is checked against the lock's before it is renamed into place, so the
 * cache holds only what some lock names, and a chart that changed where it
 * is published (another archive under the same version) is refused, never
 * taken.
 *
 * Its key is the chart's source, the locked version and the digest: a
 * no-op run asks no server anything. Its output is the digest; whether the
 * archive is still in the cache is a stat, made on every run
 * (check_always), so a cache emptied behind fusion's back is filled again
 * by the next `up`. Credentials are helm's own (`helm registry login`, its
 * repository configuration).
 *
 * A local chart with a lock of its dependencies (Chart.lock, or an
 * apiVersion v1 chart's requirements.lock) has a fetch node too:
 *
 *   helm dependency build CHART
 *
 * keyed by its Chart.yaml and that lock (so it reruns when they change),
 * its output the archives the build left in CHART/charts/ (their names;
 * the hash of their content), each checked by a stat on every run, so a
 * charts/ removed is built again and a no-op fetches nothing. The chart
 * node hashes charts/ as the build left it (rules_tree_with): the walk
 * before the run saw it as it was, and the next run sees the same bytes,
 * so the chart is not rendered twice for one build. A chart whose
 * dependencies are not locked yet needs `helm dependency update` once (its
 * Chart.lock, committed, is what makes the build repeatable). helm's
 * build takes an HTTP(S) repository only from its own list of them (`helm
 * repo add`, helm/helm#7214), with the credentials kept there: fusion adds
 * none.
 *
 * A registry on the loopback address (localhost, 127.0.0.0/8, ::1) is
 * spoken to over plain HTTP (--plain-http, helm/helm#12128): helm already
 * does so for its pulls and pushes there, but not for the tag listing a
 * version range needs, which then fails ("server gave HTTP response to
 * HTTPS client").
 */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/manifest.h"
#include "fusion/proc.h"
#include "fusion/remote.h"
#include "fusion/rules.h"
#include "fusion/walk.h"

char *
rules_chart_cache(void)
{
	const char *env = getenv("FUSION_CHART_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char cwd[4096];

	if (env && *env)
		return env[0] == '/' || !getcwd(cwd, sizeof cwd) ? path_clean(env) :
		    path_join(cwd, env);
	if (xdg && xdg[0] == '/')	/* the XDG spec: a relative one is invalid */
		return path_join(xdg, "fusion/charts");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw && pw->pw_dir ? pw->pw_dir : "/";
	}
	char *cache = path_join(home, ".cache");
	char *dir = path_join(cache, "fusion/charts");
	free(cache);
	return dir;
}

char *
rules_chart_archive(const char *digest)
{
	char *cache = rules_chart_cache();
	const char *hex = strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;
	char *p = xasprintf("%s/sha256/%s.tgz", cache, hex);

	free(cache);
	return p;
}

/* localhost, 127.0.0.0/8 or ::1, with or without a port. */
static bool
loopback(const char *url)
{
	const char *host = url + strlen("oci://");
	size_t n = strcspn(host, "/");

	if (n >= 5 && strncmp(host, "[::1]", 5) == 0)
		return true;
	size_t h = strcspn(host, ":/");
	if (h == 9 && strncmp(host, "localhost", 9) == 0)
		return true;
	if (h < 4 || strncmp(host, "127.", 4) != 0)
		return false;
	for (size_t i = 4; i < h; i++)
		if (!(host[i] == '.' || (host[i] >= '0' && host[i] <= '9')))
			return false;
	return true;
}

void
rules_pull_argv(const struct fx_svc *s, const char *version, const char *dir,
    struct fx_strv *a)
{
	strv_push(a, "helm");
	strv_push(a, "pull");
	if (s->chart_oci) {
		strv_push(a, s->chart_url);
	} else {
		strv_push(a, s->chart_name);
		strv_push(a, "--repo");
		strv_push(a, s->chart_url);
	}
	strv_push(a, "--version");
	strv_push(a, version);
	strv_push(a, "--destination");
	strv_push(a, dir);
	if (s->chart_oci && loopback(s->chart_url))
		strv_push(a, "--plain-http");
}

void
rules_chart_said(const struct fx_svc *s, struct fx_buf *out)
{
	if (s->chart_oci)
		buf_puts(out, s->chart_url);
	else
		buf_printf(out, "%s from %s", s->chart_name, s->chart_url);
}

/* Remove dir and what a pull left in it. */
static void
remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *p = path_join(dir, e->d_name);
		unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

char *
rules_pull_dir(struct fx_buf *msg)
{
	char *cache = rules_chart_cache();
	char *tmp = path_join(cache, "tmp");
	char *dir = path_join(tmp, "pull-XXXXXX");

	if (mkdir_p(tmp, 0700) < 0 || !mkdtemp(dir)) {
		buf_printf(msg, "the chart cache %s: %s", tmp, strerror(errno));
		free(dir);
		dir = NULL;
	}
	free(cache);
	free(tmp);
	return dir;
}

/* The one archive helm pull wrote into dir (malloc'ed name), or NULL. */
static char *
pulled(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *name = NULL;
	int n = 0;

	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".tgz") == 0 && n++ == 0)
			name = xstrdup(e->d_name);
	}
	if (d)
		closedir(d);
	if (n != 1) {
		free(name);
		return NULL;
	}
	return name;
}

int
rules_pull_done(const struct fx_svc *s, const char *dir, const char *want, char **version,
    char **digest, struct fx_buf *msg)
{
	char *name = pulled(dir);
	char hex[FX_SHA256_HEX];
	uint64_t size;
	int rc = -1;

	*version = *digest = NULL;
	size_t pre = strlen(s->chart_name);
	if (!name) {
		buf_printf(msg, "helm pull left no chart archive (or several) in %s", dir);
		goto out;
	}
	/* helm names it NAME-VERSION.tgz, after the chart's own metadata. */
	if (strncmp(name, s->chart_name, pre) != 0 || name[pre] != '-' ||
	    strlen(name) <= pre + 1 + 4) {
		buf_printf(msg, "helm pull wrote %s, not a chart called %s (%s-VERSION.tgz)", name,
		    s->chart_name, s->chart_name);
		goto out;
	}
	char *path = path_join(dir, name);
	if (sha256_file(path, hex, &size) < 0) {
		buf_printf(msg, "%s: %s", path, strerror(errno));
		free(path);
		goto out;
	}
	*version = xstrndup(name + pre + 1, strlen(name) - pre - 1 - 4);
	*digest = xasprintf("sha256:%s", hex);
	if (want && strcmp(want, *digest) != 0) {
		struct fx_buf said = {0};
		rules_chart_said(s, &said);
		buf_printf(msg, "%s %s is not the archive the lock file holds: its digest is %s, "
		    "the lock's %s (it changed where it is published; if that is expected, run "
		    "\"fusion lock --update %s\")", said.s, *version, *digest, want, s->name);
		buf_free(&said);
		unlink(path);
		free(path);
		goto out;
	}
	char *dst = rules_chart_archive(*digest);
	char *sub = path_dir(dst);
	if (mkdir_p(sub, 0700) < 0 || chmod(path, 0444) < 0 || rename(path, dst) < 0) {
		buf_printf(msg, "the chart cache %s: %s", sub, strerror(errno));
		unlink(path);
	} else {
		rc = 0;
	}
	free(sub);
	free(dst);
	free(path);
out:
	if (rc < 0) {
		free(*version);
		free(*digest);
		*version = *digest = NULL;
	}
	free(name);
	remove_dir(dir);
	return rc;
}

/* helm's last line of stderr: what went wrong ("Error: ..."). */
static void
last_line(struct fx_buf *msg, const struct fx_buf *err)
{
	const char *s = err->s ? err->s : "";
	size_t n = err->len;

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	size_t start = n;
	while (start && s[start - 1] != '\n')
		start--;
	buf_add(msg, s + start, n - start);
}

int
rules_chart_resolve(const struct fx_svc *s, char **version, char **digest, struct fx_buf *msg)
{
	struct fx_strv argv = {0};
	struct fx_buf err = {0};
	char *dir = rules_pull_dir(msg);
	int rc = -1;

	*version = *digest = NULL;
	if (!dir)
		return -1;
	rules_pull_argv(s, s->chart_pin, dir, &argv);
	int st = proc_run(strv_argv(&argv), NULL, &err);
	if (st == 0) {
		rc = rules_pull_done(s, dir, NULL, version, digest, msg);
	} else {
		if (st > 0)
			buf_printf(msg, "helm pull failed (status %d): ", st);
		last_line(msg, &err);
		remove_dir(dir);
	}
	strv_free(&argv);
	buf_free(&err);
	free(dir);
	return rc;
}

int
rules_archive_check(const struct fx_svc *s, struct fx_buf *msg)
{
	char *path = rules_chart_archive(s->chart_digest);
	char hex[FX_SHA256_HEX];
	uint64_t size;
	int rc = 0;

	if (sha256_file(path, hex, &size) < 0) {
		buf_printf(msg, "%s: %s", path, strerror(errno));
		rc = -1;
	} else if (strcmp(hex, s->chart_digest + 7) != 0) {
		buf_printf(msg, "%s is not the archive the lock file holds (its digest is sha256:%s, "
		    "the lock's %s): it changed in the chart cache; remove it, and the next run "
		    "fetches it again", path, hex, s->chart_digest);
		rc = -1;
	}
	free(path);
	return rc;
}

static int
fetch_inputs(struct fx_node *n, void *ctx, struct fx_manifest *m, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	struct fx_rule_node *d = n->data;
	const struct fx_svc *s = d->svc;

	if (!s->chart_url) {
		char *y = rules_file_digest(d->chart_yaml), *l = rules_file_digest(d->chart_lock);
		manifest_add(m, "chart-yaml:", y);
		manifest_add(m, "chart-lock:", l);
		free(y);
		free(l);
		return 0;
	}
	if (!s->chart_digest) {
		struct fx_buf said = {0};
		rules_chart_said(s, &said);
		buf_printf(msg, "chart %s (version %s) is not in %s: run \"fusion lock\"", said.s,
		    s->chart_pin, r->cat->lock_shown);
		buf_free(&said);
		return -1;
	}
	if (s->chart_oci) {
		manifest_add(m, "chart:", s->chart_url);
	} else {
		char *src = xasprintf("%s %s", s->chart_url, s->chart_name);
		manifest_add(m, "chart:", src);
		free(src);
	}
	manifest_add(m, "version:", s->chart_version);
	manifest_add(m, "digest:", s->chart_digest);
	return 0;
}

static enum fx_said
fetch_describe(const struct fx_change *c, bool brief, struct fx_buf *out)
{
	if (strcmp(c->name, "version:") == 0)
		return rules_say_value(c, "chart version", brief, out);
	if (strcmp(c->name, "chart:") == 0)
		return rules_say_value(c, "chart source", brief, out);
	if (strcmp(c->name, "digest:") == 0)
		return rules_say_value(c, "chart digest", brief, out);
	if (strcmp(c->name, "chart-yaml:") == 0 || strcmp(c->name, "chart-lock:") == 0) {
		const char *what = c->name[6] == 'y' ? "Chart.yaml" : "the chart's lock";
		if (brief)
			buf_printf(out, "%s %s", what, change_verb(c->op));
		else
			buf_printf(out, "%c %s (its dependencies are built again)", c->op, what);
		return FX_SAID_VALUE;
	}
	return FX_SAID_NOTHING;
}

/* The archives in CHART/charts/ (their names, space-separated) and the
 * tree of charts/, entries "charts/...", hashed now. */
static int
charts_now(struct fx_rules *r, const char *chart, char **names, struct fx_tree **tree,
    struct fx_buf *msg)
{
	char *dir = path_join(chart, "charts");
	struct fx_walk *w = walk_new(r->cat->root, NULL, 1);
	const struct fx_tree *t = walk_tree(w, dir, FX_VIEW_HELM, NULL, "");
	struct fx_buf b = {0};
	int rc = walk_run(w) < 0 || t->err ? -1 : 0;

	if (rc < 0) {
		buf_printf(msg, "%s: %s", dir, strerror(t->err ? t->err : EIO));
	} else {
		struct fx_tree *c = xcalloc(1, sizeof(*c));
		c->v = xcalloc(t->n + 1, sizeof(*c->v));
		for (size_t i = 0; i < t->n; i++) {
			c->v[i] = t->v[i];
			c->v[i].path = xasprintf("charts/%s", t->v[i].path);
			size_t len = strlen(t->v[i].path);
			if (!strchr(t->v[i].path, '/') && len > 4 &&
			    strcmp(t->v[i].path + len - 4, ".tgz") == 0)
				buf_printf(&b, "%s%s", b.len ? " " : "", t->v[i].path);
		}
		c->n = t->n;
		c->dir = xstrdup(dir);
		*tree = c;
		*names = b.s ? buf_detach(&b) : xstrdup("");
	}
	walk_free(w);
	free(dir);
	return rc;
}

/* helm dependency build CHART, then what it left in charts/. */
static enum fx_step
deps_step(struct fx_rules *r, struct fx_node *n, int step, int status, struct fx_cmd *cmd,
    struct fx_output *out, struct fx_buf *msg)
{
	struct fx_rule_node *d = n->data;
	const struct fx_svc *s = d->svc;
	char *names;

	if (step == 0) {
		strv_push(&cmd->argv, "helm");
		strv_push(&cmd->argv, "dependency");
		strv_push(&cmd->argv, "build");
		strv_push(&cmd->argv, s->chart);
		return FX_STEP_RUN;
	}
	if (status != 0) {
		/* helm's own words are in the log; these say what usually causes them. */
		buf_printf(msg, "helm dependency build of %s exited with status %d (it needs the "
		    "chart's repositories in helm's list, \"helm repo add NAME URL\", "
		    "helm/helm#7214, and its lock in step with its Chart.yaml, \"helm dependency "
		    "update\")", rules_relpath(r->cat, s->chart), status);
		return FX_STEP_FAIL;
	}
	rules_tree_free(d->built);
	d->built = NULL;
	if (charts_now(r, s->chart, &names, &d->built, msg) < 0)
		return FX_STEP_FAIL;
	struct fx_digester *dg = digester_new();
	out->value = names;
	out->hash = digester_tree(dg, d->built->v, d->built->n);
	d->built->root = out->hash;
	digester_free(dg);
	return FX_STEP_DONE;
}

static enum fx_step
fetch_step(struct fx_node *n, void *ctx, int step, int status, struct fx_cmd *cmd,
    struct fx_output *out, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	struct fx_rule_node *d = n->data;
	const struct fx_svc *s = d->svc;

	if (!s->chart_url)
		return deps_step(r, n, step, status, cmd, out, msg);
	if (step == 0) {
		char *path = rules_chart_archive(s->chart_digest);
		bool have = !r->dry_run && access(path, F_OK) == 0;
		free(path);
		/* There already (another workspace fetched it), and whole. */
		if (have && rules_archive_check(s, msg) == 0)
			goto done;
		buf_reset(msg);
		if (have) {
			path = rules_chart_archive(s->chart_digest);
			unlink(path);
			free(path);
		}
		free(d->pull_dir);
		d->pull_dir = r->dry_run ? xstrdup("CACHE/tmp/pull-XXXXXX") : rules_pull_dir(msg);
		if (!d->pull_dir)
			return FX_STEP_FAIL;
		rules_pull_argv(s, s->chart_version, d->pull_dir, &cmd->argv);
		return FX_STEP_RUN;
	}
	char *version, *digest;
	int rc = -1;
	if (status != 0) {
		struct fx_buf said = {0};
		rules_chart_said(s, &said);
		buf_printf(msg, "helm pull of %s %s exited with status %d", said.s, s->chart_version,
		    status);
		buf_free(&said);
		remove_dir(d->pull_dir);
	} else if ((rc = rules_pull_done(s, d->pull_dir, s->chart_digest, &version, &digest,
	    msg)) == 0) {
		free(version);
		free(digest);
	}
	free(d->pull_dir);
	d->pull_dir = NULL;
	if (rc < 0)
		return FX_STEP_FAIL;
done:
	out->value = xstrdup(s->chart_digest);
	out->hash = hash_bytes(out->value, strlen(out->value));
	return FX_STEP_DONE;
}

char *
rules_deps_lock(const char *chart)
{
	static const char *const names[] = {"Chart.lock", "requirements.lock"};

	for (size_t i = 0; chart && i < FX_NELEM(names); i++) {
		char *p = path_join(chart, names[i]);
		if (access(p, F_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static bool
fetch_wants(const struct fx_svc *s)
{
	char *lock = s->chart_url || s->released_by ? NULL : rules_deps_lock(s->chart);

	free(lock);
	return !s->released_by && (s->chart_url || lock);
}

/* The archive is in the chart cache, or the archives a dependency build
 * left are in charts/: a stat each, on every run. */
static bool
fetch_exists(struct fx_rules *r, struct fx_node *n, const char *output)
{
	const struct fx_svc *s = ((struct fx_rule_node *)n->data)->svc;
	bool ok = true;

	(void)r;
	if (s->chart_url) {
		char *path = rules_chart_archive(output);
		ok = access(path, F_OK) == 0;
		free(path);
		return ok;
	}
	char *dir = path_join(s->chart, "charts");
	ok = access(dir, F_OK) == 0;
	for (const char *p = output; ok && *p;) {
		size_t len = strcspn(p, " ");
		char *name = xstrndup(p, len);
		char *path = path_join(dir, name);
		ok = access(path, F_OK) == 0;
		free(name);
		free(path);
		p += len + (p[len] == ' ');
	}
	free(dir);
	return ok;
}

/* A local chart's Chart.yaml and the lock of its dependencies. */
static int
fetch_sources(struct fx_rules *r, struct fx_node *n)
{
	struct fx_rule_node *d = n->data;
	const struct fx_svc *s = d->svc;
	char *lock = s->chart_url ? NULL : rules_deps_lock(s->chart);

	if (lock) {
		char *yaml = path_join(s->chart, "Chart.yaml");
		d->chart_yaml = walk_file(r->walk, yaml);
		d->chart_lock = walk_file(r->walk, lock);
		free(yaml);
		free(lock);
	}
	return 0;
}

static void
fetch_each_source(struct fx_node *n, void (*fn)(void *ctx, const struct fx_source *src),
    void *ctx)
{
	struct fx_rule_node *d = n->data;

	if (d->chart_yaml)
		fn(ctx, &(struct fx_source){d->chart_yaml->dir, true, NULL, "", d->chart_yaml, n});
	if (d->chart_lock)
		fn(ctx, &(struct fx_source){d->chart_lock->dir, true, NULL, "", d->chart_lock, n});
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct fx_tree_entry *)a)->path, ((const struct fx_tree_entry *)b)->path);
}

struct fx_tree *
rules_tree_with(const struct fx_tree *t, const struct fx_tree *built)
{
	struct fx_tree *c = xcalloc(1, sizeof(*c));
	size_t n = 0;

	c->v = xcalloc(t->n + built->n + 1, sizeof(*c->v));
	for (size_t i = 0; i < t->n; i++) {
		if (strncmp(t->v[i].path, "charts/", 7) == 0)
			continue;
		c->v[n] = t->v[i];
		c->v[n++].path = xstrdup(t->v[i].path);
	}
	for (size_t i = 0; i < built->n; i++) {
		c->v[n] = built->v[i];
		c->v[n++].path = xstrdup(built->v[i].path);
	}
	qsort(c->v, n, sizeof(*c->v), by_path);
	c->n = n;
	c->dir = xstrdup(t->dir);
	struct fx_digester *dg = digester_new();
	c->root = digester_tree(dg, c->v, c->n);
	digester_free(dg);
	return c;
}

void
rules_tree_free(struct fx_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].path);
	free(t->v);
	free(t->dir);
	free(t);
}

static const struct fx_rule_kind *const fetch_from[] = {NULL};

const struct fx_rule_kind kind_fetch = {
	.kind = {
		.name = "fetch",
		.version = 1,
		.shape = "folder",
		.check_always = true,
		.inputs = fetch_inputs,
		.step = fetch_step,
		.describe = fetch_describe,
	},
	.from = fetch_from,
	.roles = FX_ROLE_LOCKED,
	.never_ran = "never fetched",
	.wants = fetch_wants,
	.sources = fetch_sources,
	.each_source = fetch_each_source,
	.exists = fetch_exists,
};
