/*
 * validate.c - the checks that need the whole catalog or the file system:
 * names (DNS-1123 labels, unique across services and shared), needs that
 * name nothing, dependency cycles, images, missing charts, and the files a
 * catalog names: they must exist and stay inside the workspace root, after
 * symlinks too.
 *
 * A 1,000-service catalog must validate in milliseconds: names are sorted
 * once (the index also serves catalog_svc), cycles are found by one
 * depth-first walk, and each path is stat'ed and resolved once, since
 * defaults repeat the same chart and values under every service.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

struct finfo {
	int err;		/* errno of stat, 0 when the path exists */
	mode_t mode;		/* after following a symlink */
	bool link;		/* the path itself is a symlink */
	bool resolved;
	char *real;		/* the path with symlinks resolved, NULL if it failed */
};

struct vctx {
	struct cfg_load *ld;
	struct fx_catalog *c;
	struct fx_map files;	/* path -> struct finfo */
	const char *realroot;
	const char **names;	/* for suggestions */
	size_t *off, *to;	/* needs edges: svcs[i] -> to[off[i] .. off[i+1]) */
};

#define NONE SIZE_MAX

static void
error_at(struct vctx *v, struct fx_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
error_at(struct vctx *v, struct fx_loc loc, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cfg_rep_error(&v->ld->rep, loc.line, loc.col, "%s", msg);
}

struct byname {
	const char *name;
	size_t i;
};

static int
cmp_byname(const void *a, const void *b)
{
	const struct byname *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void
check_name(struct vctx *v, const struct fx_svc *s)
{
	if (catalog_valid_name(s->name))
		return;
	if (!cfg_dns_label(s->name, SIZE_MAX))
		error_at(v, s->loc, "name \"%s\" is not a DNS-1123 label (lowercase letters, digits "
		    "and '-', starting and ending with a letter or digit)", s->name);
	else
		error_at(v, s->loc, "name \"%s\" is too long (%zu characters; Helm release names "
		    "are at most %d)", s->name, strlen(s->name), CAT_MAX_NAME);
}

/* Sort the names once: duplicates become neighbours, and the index serves
 * catalog_svc afterwards. */
static void
index_names(struct vctx *v)
{
	struct fx_catalog *c = v->c;
	struct byname *b = xreallocarray(NULL, c->nsvcs, sizeof *b);

	for (size_t i = 0; i < c->nsvcs; i++)
		b[i] = (struct byname){c->svcs[i].name, i};
	qsort(b, c->nsvcs, sizeof *b, cmp_byname);
	c->byname = xreallocarray(NULL, c->nsvcs, sizeof *c->byname);
	for (size_t i = 0; i < c->nsvcs; i++) {
		c->byname[i] = b[i].i;
		if (i == 0 || strcmp(b[i].name, b[i - 1].name) != 0)
			continue;
		/* Within one section the YAML duplicate-key check has said it. */
		const struct fx_svc *first = &c->svcs[b[i - 1].i], *s = &c->svcs[b[i].i];
		if (first->shared != s->shared)
			error_at(v, s->loc, "\"%s\" is both a service and a shared release (first at "
			    "line %d, column %d)", s->name, first->loc.line, first->loc.col);
	}
	free(b);
}

static bool
disabled(const struct fx_catalog *c, const char *name)
{
	for (size_t i = 0; i < c->disabled.n; i++)
		if (strcmp(c->disabled.v[i], name) == 0)
			return true;
	return false;
}

/* Resolve needs to indices; report the names that match nothing. */
static void
resolve_needs(struct vctx *v)
{
	struct fx_catalog *c = v->c;
	struct fx_map reported = {.own = true};
	size_t nedges = 0;

	v->names = xreallocarray(NULL, c->nsvcs, sizeof *v->names);
	for (size_t i = 0; i < c->nsvcs; i++) {
		v->names[i] = c->svcs[i].name;
		nedges += c->svcs[i].needs.n;
	}
	v->off = xreallocarray(NULL, c->nsvcs + 1, sizeof *v->off);
	v->to = xreallocarray(NULL, nedges, sizeof *v->to);
	for (size_t i = 0, e = 0; i < c->nsvcs; i++) {
		const struct fx_list *l = &c->svcs[i].needs;
		v->off[i] = e;
		for (size_t j = 0; j < l->n; j++, e++) {
			const struct fx_svc *t = catalog_svc(c, l->v[j]);
			v->to[e] = t ? (size_t)(t - c->svcs) : NONE;
			if (t)
				continue;
			/* Defaults' needs repeat under every service: suggest once. */
			char key[32];
			snprintf(key, sizeof key, "%d:%d", l->loc[j].line, l->loc[j].col);
			if (!map_add(&reported, key, NULL) || cfg_rep_full(&v->ld->rep))
				continue;
			const char *m = str_closest(l->v[j], v->names, c->nsvcs);
			if (disabled(c, l->v[j]))
				error_at(v, l->loc[j], "\"needs\" names \"%s\", which is disabled "
				    "(\"enabled: false\")", l->v[j]);
			else if (m)
				error_at(v, l->loc[j], "\"needs\" names \"%s\", which is not a service or "
				    "shared release (did you mean \"%s\"?)", l->v[j], m);
			else
				error_at(v, l->loc[j], "\"needs\" names \"%s\", which is not a service or "
				    "shared release", l->v[j]);
		}
	}
	v->off[c->nsvcs] = nedges;
	map_free(&reported);
}

struct dfs {
	size_t node, edge;	/* next edge to follow */
};

static void
report_cycle(struct vctx *v, const struct dfs *stack, size_t pos, size_t top)
{
	const struct fx_catalog *c = v->c;
	struct fx_buf b = {0};

	/* A long cycle shows its ends: they are what the user can act on. */
	size_t len = top - pos + 1;
	buf_puts(&b, "dependency cycle: ");
	for (size_t i = pos; i <= top; i++) {
		if (len > 12 && i == pos + 8) {
			buf_printf(&b, "... (%zu more) -> ", len - 10);
			i = top - 1;
		}
		buf_printf(&b, "%s -> ", c->svcs[stack[i].node].name);
	}
	buf_puts(&b, c->svcs[stack[pos].node].name);
	/* At the needs entry that leaves the cycle's first member. */
	const struct fx_svc *s = &c->svcs[stack[pos].node];
	size_t j = stack[pos].edge - 1 - v->off[stack[pos].node];
	error_at(v, s->needs.loc[j], "%s", b.s);
	buf_free(&b);
}

/* One iterative depth-first walk in catalog order; an edge back to a node
 * on the stack closes a cycle. */
static void
find_cycles(struct vctx *v)
{
	size_t n = v->c->nsvcs;
	unsigned char *color = xcalloc(n ? n : 1, 1);	/* 0 new, 1 on stack, 2 done */
	size_t *pos = xreallocarray(NULL, n ? n : 1, sizeof *pos);
	struct dfs *stack = xreallocarray(NULL, n ? n : 1, sizeof *stack);

	for (size_t r = 0; r < n; r++) {
		if (color[r])
			continue;
		size_t top = 0;
		stack[0] = (struct dfs){r, v->off[r]};
		color[r] = 1;
		pos[r] = 0;
		for (;;) {
			struct dfs *f = &stack[top];
			if (f->edge == v->off[f->node + 1]) {
				color[f->node] = 2;
				if (top-- == 0)
					break;
				continue;
			}
			size_t t = v->to[f->edge++];
			if (t == NONE || color[t] == 2)
				continue;
			if (color[t] == 1) {
				report_cycle(v, stack, pos[t], top);
				continue;
			}
			color[t] = 1;
			pos[t] = ++top;
			stack[top] = (struct dfs){t, v->off[t]};
		}
	}
	free(color);
	free(pos);
	free(stack);
}

/* A repository name as podman and docker take it (without a registry or a
 * tag): components of [a-z0-9]+ joined by '.', '_', '__' or '-'s, and
 * separated by '/'. */
static bool
valid_image(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255)
		return false;
	for (const char *p = s;;) {
		/* one component */
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			p++;
		if (*p == '\0')
			return true;
		if (*p == '/') {
			p++;
			continue;
		}
		if (*p == '.' || (*p == '_' && p[1] != '_'))
			p++;
		else if (*p == '_')
			p += 2;
		else if (*p == '-')
			while (*p == '-')
				p++;
		else
			return false;
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	}
}

static struct finfo *
info(struct vctx *v, const char *path)
{
	void **slot = map_slot(&v->files, path, true);

	if (!*slot) {
		struct finfo *f = xcalloc(1, sizeof *f);
		struct stat st;
		if (lstat(path, &st) < 0) {
			f->err = errno;
		} else if (S_ISLNK(st.st_mode)) {
			f->link = true;
			if (stat(path, &st) < 0)
				f->err = errno;
		}
		f->mode = f->err ? 0 : st.st_mode;
		*slot = f;
	}
	return *slot;
}

/*
 * The path with symlinks resolved, like realpath(3), but built from the
 * resolved parent when the last component is not a link: every component is
 * looked at once for the whole catalog, where realpath would read each
 * component of each path again (7,000 readlinks for 1,000 services).
 */
static const char *
real(struct vctx *v, const char *path)
{
	struct finfo *f = info(v, path);

	if (f->resolved)
		return f->real;
	f->resolved = true;
	if (f->err)
		return NULL;
	const char *base = strrchr(path, '/');
	if (f->link || !base || strcmp(path, "/") == 0) {
		f->real = realpath(path, NULL);
		return f->real;
	}
	char *dir = path_dir(path);
	const char *rdir = real(v, dir);
	f->real = rdir ? path_join(rdir, base + 1) : NULL;
	free(dir);
	return f->real;
}

/* Inside the workspace root lexically (no escape through ".."), and, when
 * the file exists, after following symlinks. */
static bool
inside(struct vctx *v, const char *what, const char *path, struct fx_loc loc)
{
	const struct fx_catalog *c = v->c;

	if (!path_under(path, c->root)) {
		error_at(v, loc, "%s %s is outside the workspace root %s", what, path, c->root);
		return false;
	}
	if (!v->ld->check_files || !v->realroot || info(v, path)->err)
		return true;
	const char *r = real(v, path);
	if (r && !path_under(r, v->realroot)) {
		error_at(v, loc, "%s %s resolves to %s, outside the workspace root %s", what, path, r,
		    c->root);
		return false;
	}
	return true;
}

static bool
check_repo(struct vctx *v, const struct fx_svc *s)
{
	if (!inside(v, "repo", s->repo, s->repo_loc))
		return false;
	if (!v->ld->check_files)
		return true;
	const struct finfo *f = info(v, s->repo);
	if (f->err == ENOENT && v->ld->repos_optional) {
		/* The commands that select it say so (session_select). */
		((struct fx_svc *)s)->missing = true;
		return false;
	}
	if (f->err) {
		error_at(v, s->repo_loc, "repo %s of service \"%s\" does not exist", s->repo, s->name);
		if (s->git)
			cfg_rep_note(&v->ld->rep, "hint: run \"fusion clone\" to clone it");
		return false;
	}
	if (!S_ISDIR(f->mode)) {
		error_at(v, s->repo_loc, "repo %s of service \"%s\" is not a directory", s->repo,
		    s->name);
		return false;
	}
	return true;
}

static void
check_build(struct vctx *v, const struct fx_svc *s, const struct cfg_extra *ex)
{
	bool check = v->ld->check_files;
	bool own_context = strcmp(s->build.context, s->repo) != 0;

	if (own_context && inside(v, "build context", s->build.context, ex->context_loc) &&
	    check) {
		const struct finfo *f = info(v, s->build.context);
		if (f->err || !S_ISDIR(f->mode)) {
			error_at(v, ex->context_loc, f->err ? "build context %s does not exist" :
			    "build context %s is not a directory", s->build.context);
			return;	/* nothing to say about a file in it */
		}
	}
	/* The file is named relative to the context: point at what named it. */
	struct fx_loc loc = ex->file_given ? ex->file_loc : own_context ? ex->context_loc :
	    s->repo_loc;
	if (!inside(v, "build file", s->build.file, loc) || !check)
		return;
	const struct finfo *f = info(v, s->build.file);
	if (f->err && !ex->file_given)
		error_at(v, loc, "no Containerfile or Dockerfile in the build context %s (set "
		    "\"build.file\" for another name)", s->build.context);
	else if (f->err)
		error_at(v, loc, "build file %s does not exist", s->build.file);
	else if (!S_ISREG(f->mode))
		error_at(v, loc, "build file %s is not a file", s->build.file);
}

static void
check_chart(struct vctx *v, const struct fx_svc *s)
{
	if (!inside(v, "chart", s->chart, s->chart_loc) || !v->ld->check_files)
		return;
	const struct finfo *f = info(v, s->chart);
	if (f->err) {
		error_at(v, s->chart_loc, "chart %s does not exist", s->chart);
		return;
	}
	if (!S_ISDIR(f->mode)) {
		error_at(v, s->chart_loc, "chart %s is not a directory", s->chart);
		return;
	}
	char *yaml = path_join(s->chart, "Chart.yaml");
	if (info(v, yaml)->err)
		error_at(v, s->chart_loc, "chart %s has no Chart.yaml", s->chart);
	free(yaml);
}

/* A chart from a repository or a registry is pinned; a local one's version
 * is its Chart.yaml's. */
static void
check_pin(struct vctx *v, const struct fx_svc *s)
{
	if (s->chart_url && !s->chart_pin)
		error_at(v, s->chart_loc, "chart %s%s%s of \"%s\" needs a version (\"version:\" "
		    "beside it: an exact version such as 1.2.3, or a range such as ^1.2)",
		    s->chart_oci ? "" : s->chart_name, s->chart_oci ? "" : " from ", s->chart_url,
		    s->name);
	else if (s->chart && s->chart_pin)
		error_at(v, s->pin_loc, "\"version\" is for a chart from a repository or a "
		    "registry: a local chart's version is its Chart.yaml's");
}

static void
check_values(struct vctx *v, const struct fx_svc *s)
{
	for (size_t j = 0; j < s->values.n; j++) {
		const char *p = s->values.v[j];
		struct fx_loc loc = s->values.loc[j];
		if (!inside(v, "values file", p, loc) || !v->ld->check_files)
			continue;
		const struct finfo *f = info(v, p);
		if (f->err)
			error_at(v, loc, "values file %s does not exist", p);
		else if (!S_ISREG(f->mode))
			error_at(v, loc, "values file %s is not a file", p);
	}
}

static void
check_entry(struct vctx *v, size_t i)
{
	const struct fx_svc *s = &v->c->svcs[i];
	const struct cfg_extra *ex = &v->ld->ex[i];

	check_name(v, s);
	/* The default image is the name: a bad name has been reported. */
	bool image_given = ex->image_loc.line != s->loc.line || ex->image_loc.col != s->loc.col;
	if (!s->shared && image_given && !valid_image(s->image))
		error_at(v, ex->image_loc, "image \"%s\" is not a valid repository name (lowercase "
		    "letters and digits, joined by '.', '_', '__' or '-', in components separated "
		    "by '/')", s->image);
	if (!s->shared && check_repo(v, s))
		check_build(v, s, ex);
	if (s->released_by) {
		/* its image goes to another entry's release: no chart of its own */
	} else if (!s->chart && !s->chart_url) {
		if (!v->ld->ex[i].has_chart)	/* else a bad chart was reported */
			error_at(v, s->loc, s->shared ? "shared release \"%s\" has no chart" :
			    "service \"%s\" has no chart (give \"chart\" here or in \"defaults\")",
			    s->name);
	} else if (s->chart) {
		check_chart(v, s);
	}
	if (!s->released_by) {
		check_pin(v, s);
		check_values(v, s);
	}
}

/* The templates member m of u gives its image to u's chart with. */
static const struct fx_kvlist *
member_values(const struct fx_svc *u, const struct fx_member *m)
{
	return m->values.n ? &m->values : &u->image_values;
}

/* A template that differs from image to image: a value two of them write
 * to one path cannot be the same. */
static bool
per_image(const char *t)
{
	return strstr(t, "{repository}") || strstr(t, "{ref}") || strstr(t, "{image}");
}

/* Each value path u's members write: once, or by several members with one
 * template that holds nothing of one image but the tag (which they then
 * share: u->one_tag). */
static void
check_image_paths(struct vctx *v, struct fx_svc *u)
{
	for (size_t i = 0; i < u->nmembers; i++) {
		const struct fx_kvlist *l = member_values(u, &u->members[i]);
		for (size_t j = 0; j < l->n; j++) {
			const struct fx_kv *first = NULL;
			for (size_t i2 = 0; i2 < i && !first; i2++) {
				const struct fx_kvlist *l2 = member_values(u, &u->members[i2]);
				for (size_t j2 = 0; j2 < l2->n && !first; j2++)
					if (strcmp(l2->v[j2].key, l->v[j].key) == 0)
						first = &l2->v[j2];
			}
			if (!first)
				continue;
			if (strcmp(first->value, l->v[j].value) != 0 || per_image(first->value)) {
				struct fx_loc at = l == &u->image_values ? u->image_values_loc :
				    l->v[j].loc;
				if (!at.file)
					at = u->members[i].loc;
				error_at(v, at, "\"%s\" takes the images of several services at \"%s\" "
				    "(%s): one value cannot name each (give each its own path in "
				    "\"images\", or one repository and one tag for all: "
				    "{images.repository: \"{registry}\", images.tag: \"{tag}\"})",
				    u->name, l->v[j].key, l->v[j].value);
				return;
			}
			if (strstr(first->value, "{tag}"))
				u->one_tag = true;
		}
	}
}

/* `images`: each a service, released by this entry only; a member's own
 * keys of a release would go unused. */
static void
check_members(struct vctx *v)
{
	struct fx_catalog *c = v->c;

	for (size_t i = 0; i < c->nsvcs; i++) {
		struct fx_svc *u = &c->svcs[i];
		if (u->nmembers && !u->image_values_given)
			cfg_image_defaults(&u->image_values);
		for (size_t k = 0; k < u->nmembers; k++) {
			const struct fx_member *m = &u->members[k];
			struct fx_svc *s = catalog_svc(c, m->name);
			if (!s || s->shared) {
				const char *near = str_closest(m->name, v->names, c->nsvcs);
				error_at(v, m->loc, "\"images\" names \"%s\", which is not a service%s%s%s",
				    m->name, near ? " (did you mean \"" : "", near ? near : "",
				    near ? "\"?)" : "");
				continue;
			}
			if (s->released_by) {
				error_at(v, m->loc, "the image of \"%s\" is released by \"%s\" already",
				    s->name, s->released_by);
				continue;
			}
			s->released_by = xstrdup(u->name);
			const struct cfg_extra *ex = &v->ld->ex[s - c->svcs];
			if (ex->own_key)
				error_at(v, ex->own_key_loc, "\"%s\" of service \"%s\" is not used: \"%s\" "
				    "releases its image (give it there)", ex->own_key, s->name, u->name);
		}
		if (u->nmembers)
			check_image_paths(v, u);
	}
}

/* Two forwards cannot listen on one local port. */
static void
check_ports(struct vctx *v)
{
	const struct fx_catalog *c = v->c;

	for (size_t i = 0; i < c->nsvcs; i++)
		for (size_t j = 0; j < c->svcs[i].nports; j++) {
			const struct fx_port *p = &c->svcs[i].ports[j];
			const struct fx_port *q = NULL;
			const struct fx_svc *owner = NULL;
			for (size_t k = 0; k <= i && !q; k++)
				for (size_t m = 0; m < c->svcs[k].nports && !q; m++)
					if ((k < i || m < j) && c->svcs[k].ports[m].local == p->local) {
						q = &c->svcs[k].ports[m];
						owner = &c->svcs[k];
					}
			if (q)
				error_at(v, p->loc, "local port %d is forwarded twice (also for \"%s\" at "
				    "line %d, column %d)", p->local, owner->name, q->loc.line, q->loc.col);
		}
}

static void
check_root(struct vctx *v)
{
	const struct fx_catalog *c = v->c;
	struct fx_loc loc = v->ld->root_loc;

	if (!v->ld->check_files)
		return;
	const struct finfo *f = info(v, c->root);
	if (f->err)
		error_at(v, loc, "workspace root %s does not exist", c->root);
	else if (!S_ISDIR(f->mode))
		error_at(v, loc, "workspace root %s is not a directory", c->root);
	else
		v->realroot = real(v, c->root);
}

void
cfg_validate(struct cfg_load *ld)
{
	struct vctx v = {.ld = ld, .c = ld->c, .files = {.own = true}};

	check_root(&v);
	index_names(&v);
	resolve_needs(&v);
	find_cycles(&v);
	check_members(&v);
	for (size_t i = 0; i < v.c->nsvcs; i++)
		check_entry(&v, i);
	check_ports(&v);

	for (size_t i = 0; i < v.files.cap; i++) {
		struct finfo *f = v.files.vals[i];
		if (f)
			free(f->real);
		free(f);
	}
	map_free(&v.files);
	free(v.names);
	free(v.off);
	free(v.to);
}
