/*
 * buildreads.c - what a build reads beyond its context as the ignore rules
 * leave it: what its Containerfile names (containerfile.h), and where the
 * state directory lies inside its context (never sent, never hashed).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fusion/builder.h"
#include "fusion/containerfile.h"
#include "fusion/diag.h"
#include "fusion/ignore.h"
#include "fusion/manifest.h"
#include "fusion/remote.h"
#include "fusion/rules.h"
#include "fusion/walk.h"

extern char **environ;

/* Read the build's Containerfile (through the rules' reader: its text is
 * kept under the stat rule, so a no-op run reads nothing) with the
 * catalog's build args and target. A Containerfile that cannot be read
 * reads nothing here: the walk reports it, and the build fails. */
void
rules_containerfile(struct fx_rules *r, struct fx_rule_node *d)
{
	const struct fx_build *b = &d->svc->build;
	char *text;
	size_t len;

	if (d->cf)
		return;
	d->cf = xcalloc(1, sizeof(*d->cf));
	if (rules_read(r, b->file, &text, &len) < 0)
		return;
	struct fx_cf_var *args = xcalloc(b->args.n + 1, sizeof(*args));
	for (size_t i = 0; i < b->args.n; i++)
		args[i] = (struct fx_cf_var){b->args.v[i].key, b->args.v[i].value};
	containerfile_read(text, len, args, b->args.n, b->target, d->cf);
	free(args);
	free(text);
}

void
rules_containerfile_free(struct fx_rule_node *d)
{
	if (d->cf)
		containerfile_free(d->cf);
	free(d->cf);
	d->cf = NULL;
}

/* The state directory as an ignore pattern of the context it lies in,
 * glob characters escaped; NULL when it lies outside. */
char *
rules_state_pattern(const struct fx_rules *r, const struct fx_svc *s)
{
	const char *rel = r->statedir ? path_under(r->statedir, s->build.context) : NULL;

	if (!rel || !*rel)
		return NULL;
	struct fx_buf b = {0};
	for (const char *p = rel; *p; p++) {
		if (strchr("*?[]\\", *p) || (p == rel && strchr("!#", *p)))
			buf_putc(&b, '\\');
		buf_putc(&b, *p);
	}
	return buf_detach(&b);
}

/* The file `bin` runs, looked up on PATH as exec does; NULL if none. */
static char *
on_path(const char *bin)
{
	const char *path = getenv("PATH");

	for (const char *p = path ? path : ""; *p;) {
		size_t n = strcspn(p, ":");
		char *f = xasprintf("%.*s/%s", (int)n, p, bin);
		if (n > 0 && access(f, X_OK) == 0)
			return f;
		free(f);
		p += n + (p[n] == ':');
	}
	return NULL;
}

/* A bind-mount source reached through a symlink is read as podman reads
 * it, at its target: say so when that lies outside the context. */
static void
tell_outside(const struct fx_svc *s, const char *rel, const char *abs)
{
	char *real = realpath(abs, NULL), *ctx = realpath(s->build.context, NULL);

	if (real && ctx && !path_under(real, ctx))
		fx_warn("build:%s: the bind mount source %s is a link to %s, outside the build "
		    "context: podman reads it there, and fusion hashes it", s->name, rel, real);
	free(real);
	free(ctx);
}

/* Queue `abs` as podman reads it, links followed: a directory as a tree
 * (no ignore rule applies, but the state directory is left out), else a
 * file. Its manifest name is PREFIX + rel, with a '/' for a directory. */
static void
follow(struct fx_rules *r, struct fx_rule_node *d, const char *prefix, const char *rel,
    const char *abs)
{
	enum fx_view view = builder_of(r->cat)->view;
	struct stat st;
	bool dir = stat(abs, &st) == 0 && S_ISDIR(st.st_mode);
	size_t i = d->bind_names.n;

	strv_take(&d->bind_names, xasprintf("%s%s%s", prefix, rel, dir ? "/" : ""));
	d->binds = xreallocarray(d->binds, i + 1, sizeof(*d->binds));
	if (dir) {
		if (!d->bind_ignore) {
			d->bind_ignore = ignore_new();
			if (d->state_pattern)
				ignore_add_pattern(d->bind_ignore, d->state_pattern, "fusion", 0);
		}
		d->binds[i] = walk_tree(r->walk, abs, view, d->bind_ignore,
		    d->state_pattern ? d->state_pattern : "");
	} else {
		d->binds[i] = walk_file(r->walk, abs);
	}
}

/* Does the context path `rel` go through a symlink (its last component
 * included) that stays inside the context? podman matches its ignore rules
 * against the path as written but copies what the link leads to, so what
 * lies there is sent even where the rules exclude it. */
static bool
through_link(const char *ctx, const char *rel, char **abs)
{
	bool link = false;
	char *p = xstrdup(rel);

	*abs = path_join(ctx, rel);
	if (strcmp(rel, ".") == 0 || strpbrk(rel, "*?[\\")) {
		free(p);
		return false;
	}
	for (char *slash = p;; slash++) {
		slash = strchr(slash, '/');
		if (slash)
			*slash = '\0';
		char *sub = path_join(ctx, p);
		struct stat st;
		link = link || (lstat(sub, &st) == 0 && S_ISLNK(st.st_mode));
		free(sub);
		if (!slash)
			break;
		*slash = '/';
	}
	free(p);
	if (!link)
		return false;
	char *real = realpath(*abs, NULL), *rctx = realpath(ctx, NULL);
	bool inside = real && rctx && path_under(real, rctx);
	free(real);
	free(rctx);
	return inside;
}

void
rules_build_sources(struct fx_rules *r, struct fx_rule_node *d)
{
	const struct fx_svc *s = d->svc;
	const struct fx_strv *b = &d->cf->binds, *src = &d->cf->sources;

	rules_base_want(r, &d->cf->images);
	rules_build_sources_free(d);
	for (size_t i = 0; i < b->n; i++) {
		char *abs = path_join(s->build.context, b->v[i]);
		tell_outside(s, b->v[i], abs);
		follow(r, d, "bind:", b->v[i], abs);
		free(abs);
	}
	for (size_t i = 0; i < src->n; i++) {
		char *abs;
		if (through_link(s->build.context, src->v[i], &abs))
			follow(r, d, "via:", src->v[i], abs);
		free(abs);
	}
	char *bin = on_path(builder_bin(r->cat));
	d->builder_tree = bin ? walk_file(r->walk, bin) : NULL;
	free(bin);
}

void
rules_build_sources_free(struct fx_rule_node *d)
{
	strv_free(&d->bind_names);
	free(d->binds);
	d->binds = NULL;
	if (d->bind_ignore)
		ignore_free(d->bind_ignore);
	d->bind_ignore = NULL;
}

/* The platform images are built for: the machine's, as the builder
 * names it (os/arch[/variant]). */
static void
platform(struct fx_buf *out)
{
	struct utsname u;
	const char *arch = "unknown";

	if (uname(&u) == 0)
		arch = u.machine;
	static const char *const names[][2] = {
		{"x86_64", "amd64"}, {"aarch64", "arm64"}, {"armv7l", "arm/v7"}, {"armv6l", "arm/v6"},
		{"i686", "386"}, {"i386", "386"}, {"ppc64le", "ppc64le"}, {"s390x", "s390x"},
		{"riscv64", "riscv64"},
	};
	for (size_t i = 0; i < FX_NELEM(names); i++)
		if (strcmp(arch, names[i][0]) == 0)
			arch = names[i][1];
	buf_printf(out, "linux/%s", arch);
}

static bool
is_proxy(const char *name, size_t n)
{
	static const char *const proxies[] = {"http_proxy", "https_proxy", "ftp_proxy", "no_proxy",
		"all_proxy"};

	for (size_t i = 0; i < FX_NELEM(proxies); i++)
		if (n == strlen(proxies[i]) && strncasecmp(name, proxies[i], n) == 0)
			return true;
	return false;
}

/* The environment podman builds in: the proxy variables it forwards to
 * RUN steps (by a digest: they may hold a password) and every BUILDAH_*
 * variable (BUILDAH_FORMAT changes the manifest type). */
static void
environment(struct fx_manifest *m)
{
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		size_t n = (size_t)(eq - *e);
		char *key = xasprintf("env:%.*s", (int)n, *e);
		if (is_proxy(*e, n)) {
			char hex[FX_HASH_HEX];
			hash_hex(hash_bytes(eq + 1, strlen(eq + 1)), hex);
			manifest_add(m, key, hex);
		} else if (strncmp(*e, "BUILDAH_", 8) == 0) {
			manifest_add(m, key, eq + 1);
		}
		free(key);
	}
}

/* A value that differs on every run: the node reruns each time (its image
 * ID then cuts off what follows when nothing changed). */
static char *
every_run(const char *why)
{
	return xasprintf("%s (run %lld)", why, (long long)now_ns());
}

#define NO_VALIDATOR "no validator"
#define UNPINNED "not pinned to a commit"

/* ADD <url>: keyed on its --checksum, else on what a HEAD request says of
 * the body (ETag, Last-Modified, length); a server that says nothing, or
 * does not answer, makes the build rerun on every up. ADD of a git
 * repository: its URL when pinned to a commit, else every run. */
static void
remote_sources(struct fx_rule_node *d, struct fx_manifest *m)
{
	const struct fx_containerfile *cf = d->cf;

	for (size_t i = 0; i < cf->urls.n; i++) {
		char *key = xasprintf("url:%s", cf->urls.v[i]);
		struct fx_buf v = {0}, err = {0};
		if (cf->checksums.v[i][0]) {
			buf_printf(&v, "checksum %s", cf->checksums.v[i]);
		} else if (remote_head_url(cf->urls.v[i], 10000, &v, &err) < 0 || v.len == 0) {
			if (err.len)
				fx_warn("build:%s: ADD %s", d->svc->name, err.s);
			char *e = every_run(NO_VALIDATOR);
			buf_reset(&v);
			buf_puts(&v, e);
			free(e);
		}
		manifest_add(m, key, v.s);
		free(key);
		buf_free(&v);
		buf_free(&err);
	}
	for (size_t i = 0; i < cf->gits.n; i++) {
		char *key = xasprintf("git:%s", cf->gits.v[i]);
		char *v = containerfile_git_pinned(cf->gits.v[i]) ? xstrdup("pinned") :
		    every_run(UNPINNED);
		manifest_add(m, key, v);
		free(key);
		free(v);
	}
}

void
rules_build_inputs(struct fx_rules *r, struct fx_rule_node *d, struct fx_manifest *m)
{
	struct fx_buf b = {0};

	for (size_t i = 0; i < d->cf->images.n; i++) {
		const char *img = d->cf->images.v[i];
		char *key = xasprintf("baseimage:%s", img);
		manifest_add(m, key, rules_base_id(r, img));
		free(key);
	}
	for (size_t i = 0; d->binds && i < d->bind_names.n; i++) {
		const struct fx_tree *t = d->binds[i];
		const char *key = d->bind_names.v[i];
		if (!t || t->err) {
			manifest_add(m, key, "missing");
		} else if (key[strlen(key) - 1] == '/') {
			manifest_add_tree(m, key, t);
		} else {
			char *dig = rules_file_digest(t);
			manifest_add(m, key, dig);
			free(dig);
		}
	}
	if (d->builder_tree && !d->builder_tree->err) {
		char *dig = rules_file_digest(d->builder_tree);
		manifest_add(m, "builder-binary:", dig);
		free(dig);
	}
	remote_sources(d, m);
	platform(&b);
	manifest_add(m, "platform:", b.s);
	buf_free(&b);
	environment(m);
}

enum fx_said
rules_say_build_extra(const struct fx_change *c, bool brief, struct fx_buf *out)
{
	const char *rest;

	if ((rest = rules_after(c->name, "baseimage:")))
		return rules_say_base(c, rest, brief, out);
	if ((rest = rules_after(c->name, "bind:")))
		return rules_say_file(c, rest, "bind mount ", brief, out);
	if ((rest = rules_after(c->name, "via:")))
		return rules_say_file(c, rest, "copied through a symlink: ", brief, out);
	if ((rest = rules_after(c->name, "env:"))) {
		char *what = xasprintf("build environment %s", rest);
		if (is_proxy(rest, strlen(rest)))
			buf_printf(out, "%s %s", what, change_verb(c->op));	/* never its value */
		else
			rules_say_value(c, what, brief, out);
		free(what);
		return FX_SAID_VALUE;
	}
	if ((rest = rules_after(c->name, "url:")) || (rest = rules_after(c->name, "git:"))) {
		const char *v = c->op == 'D' ? c->old : c->new;
		if (v && strncmp(v, NO_VALIDATOR, strlen(NO_VALIDATOR)) == 0)
			buf_printf(out, "ADD %s: the server gives no ETag, Last-Modified or length "
			    "(or no answer): rebuilt on every up", rest);
		else if (v && strncmp(v, UNPINNED, strlen(UNPINNED)) == 0)
			buf_printf(out, "ADD %s: a git source not pinned to a commit: rebuilt on every up",
			    rest);
		else if (brief || c->op != 'M')
			buf_printf(out, "remote source %s %s", rest, change_verb(c->op));
		else
			buf_printf(out, "remote source %s changed: %s -> %s", rest, c->old, c->new);
		return FX_SAID_VALUE;
	}
	if (strcmp(c->name, "platform:") == 0)
		return rules_say_value(c, "platform", brief, out);
	if (strcmp(c->name, "builder-binary:") == 0) {
		buf_printf(out, "the builder (%s) %s", "its binary", change_verb(c->op));
		return FX_SAID_VALUE;
	}
	return FX_SAID_NOTHING;
}
