/*
 * builder_podman.c - podman (buildah), the default image builder.
 *
 * Its own: the ignore files it reads (buildah's ContainerIgnoreFile looks
 * beside the containerfile F for F.containerignore and F.dockerignore, the
 * latter winning when both are there, then in the context for
 * .containerignore, then .dockerignore); --ignorefile for the catalog's
 * build.ignore; save --format; push --tls-verify=false to a local
 * registry; how it resolves a short image name (registries.conf), for
 * doctor.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/builder.h"
#include "fusion/diag.h"
#include "fusion/ignore.h"

static const struct fx_ignore_name order[] = {
	{true, ".dockerignore"}, {true, ".containerignore"},
	{false, ".containerignore"}, {false, ".dockerignore"},
};

/* podman reads --ignorefile leaving the '/'s around each line in place
 * where its reader of the context's file cuts them: write it so that
 * podman reads it the same (ignore_for_ignorefile). */
static int
extra_ignore(struct fx_rules *r, struct fx_rule_node *d, char **file, struct fx_strv *flags,
    struct fx_buf *msg)
{
	char *name = xasprintf("%s.containerignore", d->svc->name);
	char *ig = rules_artifact(r, name);

	free(name);
	if (rules_write_ignorefile(r, d, ig, ignore_for_ignorefile, msg) < 0) {
		free(ig);
		return -1;
	}
	*file = xstrdup(d->svc->build.file);
	strv_push(flags, "--ignorefile");
	strv_take(flags, ig);
	return 0;
}

static void
save_argv(const char *ref, const char *format, const char *path, struct fx_strv *argv)
{
	strv_push(argv, "podman");
	strv_push(argv, "save");
	if (format) {
		strv_push(argv, "--format");
		strv_push(argv, format);
	}
	strv_push(argv, "-o");
	strv_push(argv, path);
	strv_push(argv, "--");	/* what follows is never an option (names may start with '-') */
	strv_push(argv, ref);
}

/* One command: podman push takes the local name and the destination. */
static bool
push_argv(const char *registry, const char *src, const char *dst, int step, struct fx_strv *a)
{
	const char *reg = registry ? registry : "";
	bool plain = strncmp(reg, "localhost", 9) == 0 || strncmp(reg, "127.", 4) == 0;

	if (step > 0)
		return false;
	strv_push(a, "podman");
	strv_push(a, "push");
	if (plain)
		strv_push(a, "--tls-verify=false");	/* a local registry speaks plain HTTP */
	strv_push(a, "--");
	strv_push(a, src);
	strv_push(a, dst);
	return true;
}

/*
 * ---- Short names: registries.conf ----
 *
 * podman (containers/image's shortnames) resolves a name with no registry
 * (FROM ruby:3.3) by an alias ([aliases] "ruby" = "REGISTRY/library/ruby")
 * when there is one, else through unqualified-search-registries: none
 * there, and it fails ("short-name did not resolve to an alias and no
 * unqualified-search registries are defined", as a Containerfile written
 * for docker does on a stock Debian podman); several, and with
 * short-name-mode "enforcing" it asks which, and fails without a terminal
 * (fusion's builds have none). It reads $CONTAINERS_REGISTRIES_CONF, else
 * ~/.config/containers/registries.conf (not as root) when it is there,
 * else /etc/containers/registries.conf; then the drop-ins of
 * registries.conf.d (the user's directory when it is there, else /etc's),
 * in name order, each list replacing the last, aliases adding up; and the
 * aliases it recorded from earlier answers (short-name-aliases.conf).
 * Read here: the lines that say these three things, TOML's basic forms.
 */

struct regconf {
	struct fx_strv search;	/* unqualified-search-registries */
	char *mode;		/* short-name-mode, NULL if not set */
	struct fx_strv aliases;	/* "name=target" */
	struct fx_strv read;	/* the files read */
};

/* The quoted strings of a TOML value: "a", 'b', [ "x", "y" ]. */
static void
strings_of(const char *v, struct fx_strv *out)
{
	for (const char *p = v; *p; p++) {
		if (*p != '"' && *p != '\'')
			continue;
		const char *end = strchr(p + 1, *p);
		if (!end)
			return;
		strv_take(out, xstrndup(p + 1, (size_t)(end - p - 1)));
		p = end;
	}
}

static char *
strip(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && strchr(" \t\r", s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Cut a line's comment: a '#' outside quotes. */
static void
uncomment(char *line)
{
	char q = 0;
	for (char *p = line; *p; p++) {
		if (q && *p == q)
			q = 0;
		else if (!q && (*p == '"' || *p == '\''))
			q = *p;
		else if (!q && *p == '#') {
			*p = '\0';
			return;
		}
	}
}

static void
read_regconf(const char *path, struct regconf *rc)
{
	char *text;
	size_t len;

	if (read_file(path, &text, &len) < 0)
		return;
	strv_push(&rc->read, path);
	char table[64] = "";
	for (char *l = text; *l;) {
		size_t n = strcspn(l, "\n");
		char *line = xstrndup(l, n);
		l += n + (l[n] == '\n');
		uncomment(line);
		char *t = strip(line);
		if (*t == '[') {
			snprintf(table, sizeof table, "%.*s", (int)strcspn(t, "\n"), t);
			free(line);
			continue;
		}
		char *eq = strchr(t, '=');
		if (!eq) {
			free(line);
			continue;
		}
		*eq = '\0';
		char *key = strip(t), *val = strip(eq + 1);
		struct fx_buf v = {0};
		buf_puts(&v, val);
		/* an array may go on over the next lines */
		while (*val == '[' && !strchr(v.s, ']') && *l) {
			size_t m = strcspn(l, "\n");
			char *more = xstrndup(l, m);
			l += m + (l[m] == '\n');
			uncomment(more);
			buf_puts(&v, more);
			free(more);
		}
		struct fx_strv strs = {0};
		strings_of(v.s, &strs);
		bool top = !*table;
		if ((top && strcmp(key, "unqualified-search-registries") == 0) ||
		    (strcmp(table, "[registries.search]") == 0 && strcmp(key, "registries") == 0)) {
			strv_free(&rc->search);	/* a later file's list replaces it */
			for (size_t i = 0; i < strs.n; i++)
				strv_push(&rc->search, strs.v[i]);
		} else if (top && strcmp(key, "short-name-mode") == 0 && strs.n) {
			free(rc->mode);
			rc->mode = xstrdup(strs.v[0]);
		} else if (strcmp(table, "[aliases]") == 0 && strs.n) {
			char *name = *key == '"' || *key == '\'' ? xstrndup(key + 1, strlen(key) - 2) :
			    xstrdup(key);
			strv_take(&rc->aliases, xasprintf("%s=%s", name, strs.v[0]));
			free(name);
		}
		strv_free(&strs);
		buf_free(&v);
		free(line);
	}
	free(text);
}

static bool
exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* $XDG_x_HOME, else ~/DEFAULT, joined with rel; NULL without a home. */
static char *
user_path(const char *xdg, const char *dflt, const char *rel)
{
	const char *base = getenv(xdg), *home = getenv("HOME");

	if (base && *base)
		return path_join(base, rel);
	if (!home || !*home)
		return NULL;
	char *b = path_join(home, dflt);
	char *p = path_join(b, rel);
	free(b);
	return p;
}

static void
read_regconfs(struct regconf *rc)
{
	bool root = geteuid() == 0;
	const char *env = getenv("CONTAINERS_REGISTRIES_CONF");
	char *user = root ? NULL : user_path("XDG_CONFIG_HOME", ".config",
	    "containers/registries.conf");
	char *userdir = user ? xasprintf("%s.d", user) : NULL;

	if (env && *env)
		read_regconf(env, rc);
	else if (user && exists(user))
		read_regconf(user, rc);
	else
		read_regconf("/etc/containers/registries.conf", rc);
	char *pattern = xasprintf("%s/*.conf", userdir && exists(userdir) ? userdir :
	    "/etc/containers/registries.conf.d");
	glob_t g;
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)	/* sorted by glob */
			read_regconf(g.gl_pathv[i], rc);
		globfree(&g);
	}
	free(pattern);
	char *cache = root ? xstrdup("/var/cache/containers/short-name-aliases.conf") :
	    user_path("XDG_CACHE_HOME", ".cache", "containers/short-name-aliases.conf");
	if (cache) {
		/* what it read before: only its aliases count */
		struct fx_strv keep = rc->search;
		rc->search = (struct fx_strv){0};
		read_regconf(cache, rc);
		strv_free(&rc->search);
		rc->search = keep;
	}
	free(cache);
	free(user);
	free(userdir);
}

/* An alias is for the name without its tag or digest. */
static bool
aliased(const struct regconf *rc, const char *ref)
{
	size_t n = strcspn(ref, "@");
	const char *slash = memrchr(ref, '/', n);
	const char *colon = memchr(slash ? slash : ref, ':', n - (size_t)((slash ? slash : ref) - ref));
	if (colon)
		n = (size_t)(colon - ref);
	for (size_t i = 0; i < rc->aliases.n; i++)
		if (strncmp(rc->aliases.v[i], ref, n) == 0 && rc->aliases.v[i][n] == '=')
			return true;
	return false;
}

static void
short_names(const struct fx_strv *names, struct fx_short_names *out)
{
	struct regconf rc = {0};
	struct fx_buf none = {0}, files = {0};
	size_t unresolved = 0;	/* by no alias: the search registries decide */

	*out = (struct fx_short_names){0};
	read_regconfs(&rc);
	for (size_t i = 0; i < rc.read.n; i++)
		buf_printf(&files, "%s%s", i ? ", " : "", rc.read.v[i]);
	for (size_t i = 0; i < names->n; i++)
		if (!aliased(&rc, names->v[i]))
			buf_printf(&none, "%s%s", unresolved++ ? ", " : "", names->v[i]);
	if (unresolved && rc.search.n == 0) {
		out->status = 2;
		out->detail = xasprintf("%s: short name%s that podman cannot resolve: no alias, and no "
		    "unqualified-search registries (%s)", none.s, unresolved == 1 ? "" : "s",
		    files.len ? files.s : "no registries.conf");
		out->hint = xstrdup("write each FROM with its registry (REGISTRY/library/NAME:TAG), "
		    "or list the registries podman may search: unqualified-search-registries = "
		    "[\"REGISTRY\"] in /etc/containers/registries.conf");
	} else if (unresolved && rc.search.n > 1 && rc.mode && strcmp(rc.mode, "enforcing") == 0) {
		out->status = 1;
		out->detail = xasprintf("%s: short name%s with no alias; short-name-mode is enforcing "
		    "and there are %zu unqualified-search registries: podman asks which, and fails "
		    "without a terminal (fusion's builds have none)", none.s,
		    unresolved == 1 ? "" : "s", rc.search.n);
		out->hint = xstrdup("write each FROM with its registry, or set short-name-mode = "
		    "\"permissive\" in registries.conf");
	} else {
		out->detail = xasprintf("%zu short name%s, resolved by %s", names->n,
		    names->n == 1 ? "" : "s", unresolved ? "podman's unqualified-search registries" :
		    "podman's aliases");
	}
	strv_free(&rc.search);
	strv_free(&rc.aliases);
	strv_free(&rc.read);
	free(rc.mode);
	buf_free(&none);
	buf_free(&files);
}

const struct fx_builder builder_podman = {
	.name = "podman",
	.tool = {"podman", {"podman", "--version"}, "4.0.0",
	    "install podman 4.0 or newer (Debian, Ubuntu: apt-get install podman)"},
	.root_format = "{{.Store.GraphRoot}}",
	.ignore_order = order,
	.nignore_order = FX_NELEM(order),
	.ignore_strict = FX_IGNORE_BUILDAH,
	.view = FX_VIEW_PODMAN,
	.extra_ignore = extra_ignore,
	.save_argv = save_argv,
	.push_argv = push_argv,
	.short_names = short_names,
};
