/*
 * catalog.c - loading the catalog: read the file, parse it (ynode.c), walk
 * the top level, `workspace` and `cache`, then hand the entries to entry.c
 * and the cross checks to validate.c. Also the typed accessors the walk
 * uses, and freeing.
 *
 * Every problem is reported and the walk goes on, so one run shows them all;
 * the catalog is handed out only when nothing was wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Alias expansion and defaults merging together may not create more than
 * BUDGET_PER_NODE entries per node of the document plus BUDGET_BASE: far
 * above any real catalog, far below an alias bomb (a 1 kB file can stand for
 * 10^9 entries). */
#define BUDGET_PER_NODE 4L
#define BUDGET_BASE 200000L

struct fx_loc
cfg_locof(const struct cfg_load *ld, const struct ynode *n)
{
	return (struct fx_loc){ld->c->shown, n->line, n->col};
}

bool
cfg_spend(struct cfg_load *ld, const struct ynode *at, long cost)
{
	if (ld->budget < 0)
		return false;
	ld->budget -= cost;
	if (ld->budget >= 0)
		return true;
	ERR(ld, at, "catalog expands to too many entries (aliases repeated too often?)");
	return false;
}

static void
pairs_add(struct cfg_pairs *p, const struct ynode *k, const struct ynode *v)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->v = xreallocarray(p->v, p->cap, 2 * sizeof *p->v);
	}
	p->v[2 * p->n] = k;
	p->v[2 * p->n + 1] = v;
	p->n++;
}

static bool
is_merge(const struct ynode *k)
{
	k = cfg_yderef(k);
	return k->type == Y_SCALAR && k->plain && strcmp(k->u.s, "<<") == 0;
}

static void merge_in(struct cfg_load *ld, const struct ynode *map, struct cfg_pairs *p,
    struct fx_map *have, int depth);

/* Add the pairs of merged mapping m whose keys are not there yet. */
static void
merge_map(struct cfg_load *ld, const struct ynode *m, struct cfg_pairs *p, struct fx_map *have,
    int depth)
{
	if (depth >= CAT_MAX_DEPTH) {
		ERR(ld, m, "merge keys (\"<<\") nest too deep");
		return;
	}
	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *k = m->u.kids[i];
		if (k->dup || is_merge(k) || !cfg_ytext(k))
			continue;
		if (!cfg_spend(ld, k, 1))
			return;
		if (map_add(have, cfg_ytext(k), NULL))
			pairs_add(p, k, m->u.kids[i + 1]);
	}
	merge_in(ld, m, p, have, depth + 1);
}

/* YAML merge keys: `<<: *base` or `<<: [*a, *b]`; earlier maps win. */
static void
merge_in(struct cfg_load *ld, const struct ynode *map, struct cfg_pairs *p, struct fx_map *have,
    int depth)
{
	for (size_t i = 0; i < map->n; i += 2) {
		if (map->u.kids[i]->dup || !is_merge(map->u.kids[i]))
			continue;
		const struct ynode *v = map->u.kids[i + 1], *d = cfg_yderef(v);
		if (d->type == Y_MAP) {
			merge_map(ld, d, p, have, depth);
			continue;
		}
		if (d->type != Y_SEQ) {
			ERR(ld, v, "\"<<\" must merge a mapping or a list of mappings");
			continue;
		}
		for (size_t j = 0; j < d->n; j++) {
			if (cfg_yderef(d->u.kids[j])->type == Y_MAP)
				merge_map(ld, cfg_yderef(d->u.kids[j]), p, have, depth);
			else
				ERR(ld, d->u.kids[j], "\"<<\" must merge a mapping or a list of mappings");
		}
	}
}

void
cfg_map_pairs(struct cfg_load *ld, const struct ynode *map, struct cfg_pairs *p)
{
	bool merges = false;

	p->n = 0;
	for (size_t i = 0; i < map->n; i += 2) {
		const struct ynode *k = map->u.kids[i];
		if (k->dup)
			continue;
		if (is_merge(k))
			merges = true;
		else if (!cfg_ytext(k))
			ERR(ld, k, "keys must be strings");
		else
			pairs_add(p, k, map->u.kids[i + 1]);
	}
	if (!merges)
		return;
	struct fx_map have = {0};
	for (size_t i = 0; i < p->n; i++)
		map_add(&have, cfg_ytext(p->v[2 * i]), NULL);
	merge_in(ld, map, p, &have, 0);
	map_free(&have);
}

int
cfg_key_index(struct cfg_load *ld, const struct ynode *k, const char *const *keys, size_t n,
    const char *where)
{
	const char *s = cfg_ytext(k);

	for (size_t i = 0; i < n; i++)
		if (strcmp(s, keys[i]) == 0)
			return (int)i;
	const char *m = str_closest(s, keys, n);
	if (m)
		ERR(ld, k, "unknown key \"%s\" %s (did you mean \"%s\"?)", s, where, m);
	else
		ERR(ld, k, "unknown key \"%s\" %s", s, where);
	return -1;
}

const struct ynode *
cfg_as_map(struct cfg_load *ld, const struct ynode *v, const char *key)
{
	if (cfg_ynull(v))
		return NULL;
	if (cfg_yderef(v)->type != Y_MAP) {
		ERR(ld, v, "\"%s\" must be a mapping", key);
		return NULL;
	}
	return cfg_yderef(v);
}

const struct ynode *
cfg_as_seq(struct cfg_load *ld, const struct ynode *v, const char *what)
{
	if (cfg_ynull(v))
		return NULL;
	if (cfg_yderef(v)->type != Y_SEQ) {
		ERR(ld, v, "%s", what);
		return NULL;
	}
	return cfg_yderef(v);
}

const char *
cfg_as_string(struct cfg_load *ld, const struct ynode *v, const char *key)
{
	if (cfg_ynull(v))
		return NULL;
	const char *s = cfg_ytext(v);
	if (!s) {
		ERR(ld, v, "\"%s\" must be a string", key);
		return NULL;
	}
	if (!*s) {
		ERR(ld, v, "\"%s\" must not be empty", key);
		return NULL;
	}
	return s;
}

bool
cfg_dns_label(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (c != '-' || i == 0 || i == n - 1))
			return false;
	}
	return true;
}

bool
catalog_valid_name(const char *s)
{
	return s && cfg_dns_label(s, CAT_MAX_NAME);
}

void
cfg_set_str(char **dst, const char *s)
{
	if (!s)
		return;
	free(*dst);
	*dst = xstrdup(s);
}

int
cfg_as_bool(struct cfg_load *ld, const struct ynode *v, const char *key, int dflt)
{
	const char *s = cfg_ytext(v);

	if (cfg_ynull(v))
		return dflt;
	if (s && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")))
		return 1;
	if (s && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")))
		return 0;
	ERR(ld, v, "\"%s\" must be true or false", key);
	return -1;
}

static void
parse_enum(struct cfg_load *ld, const struct ynode *v, const char *key, const char *const *names,
    size_t n, const char *expected, int *out)
{
	const char *s = cfg_as_string(ld, v, key);

	if (!s)
		return;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return;
		}
	}
	const char *m = str_closest(s, names, n);
	if (m)
		ERR(ld, v, "\"%s\" must be %s, not \"%s\" (did you mean \"%s\"?)", key, expected, s, m);
	else
		ERR(ld, v, "\"%s\" must be %s, not \"%s\"", key, expected, s);
}

/* The names the catalog takes; what each does is rules/' (catalog.h). */
#define NAME_OF(x) #x,
static const char *const providers[] = {FX_PROVIDERS(NAME_OF)};
static const char *const builders[] = {FX_BUILDERS(NAME_OF)};
#undef NAME_OF

/* "a, b or c": the names a key may take, for its message. */
static char *
one_of(const char *const *names, size_t n)
{
	struct fx_buf b = {0};

	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
	return buf_detach(&b);
}

/* A name of `names`, kept as the list's own (static) string. */
static void
parse_name(struct cfg_load *ld, const struct ynode *v, const char *key, const char *const *names,
    size_t n, const char **out)
{
	char *expected = one_of(names, n);
	int i = -1;

	parse_enum(ld, v, key, names, n, expected, &i);
	if (i >= 0)
		*out = names[i];
	free(expected);
}

static void
parse_cluster(struct cfg_load *ld, const struct ynode *v)
{
	static const char *const keys[] = {"provider", "profile", "context", "registry", "driver",
		"start_args"};
	const struct ynode *m = cfg_as_map(ld, v, "cluster");
	struct fx_catalog *c = ld->c;
	struct cfg_pairs p = {0};

	if (!m)
		return;
	cfg_map_pairs(ld, m, &p);
	for (size_t i = 0; i < p.n; i++) {
		const struct ynode *k = p.v[2 * i], *val = p.v[2 * i + 1];
		switch (cfg_key_index(ld, k, keys, FX_NELEM(keys), "in \"workspace.cluster\"")) {
		case 0:
			parse_name(ld, val, "provider", providers, FX_NELEM(providers), &c->provider);
			c->provider_loc = cfg_locof(ld, val);
			break;
		case 1:
			cfg_set_str(&c->profile, cfg_as_string(ld, val, "profile"));
			break;
		case 2:
			cfg_set_str(&c->context, cfg_as_string(ld, val, "context"));
			break;
		case 3:
			cfg_set_str(&c->registry, cfg_as_string(ld, val, "registry"));
			break;
		case 4:
			cfg_set_str(&c->driver, cfg_as_string(ld, val, "driver"));
			c->driver_loc = cfg_locof(ld, val);
			break;
		case 5:
			cfg_list_free(&c->start_args);
			cfg_parse_list(ld, val, "start_args", NULL, &c->start_args);
			c->start_args_loc = cfg_locof(ld, val);
			break;
		}
	}
	free(p.v);
}

/* A positive integer of at most `max`; 0 if the value is null. */
static int
parse_count(struct cfg_load *ld, const struct ynode *v, const char *name, long max)
{
	const char *s = cfg_ytext(v);
	long n = 0;

	if (cfg_ynull(v))
		return 0;
	for (const char *p = s; p && *p; p++) {
		if (*p < '0' || *p > '9' || n > INT_MAX / 10) {
			n = -1;
			break;
		}
		n = n * 10 + (*p - '0');
	}
	if (!s || !*s || n <= 0 || n > max) {
		if (max == INT_MAX)
			ERR(ld, v, "\"%s\" must be a positive integer", name);
		else
			ERR(ld, v, "\"%s\" must be a whole number from 1 to %ld", name, max);
		return 0;
	}
	return (int)n;
}

static void
parse_jobs(struct cfg_load *ld, const struct ynode *v)
{
	ld->c->jobs = parse_count(ld, v, "jobs", INT_MAX);
}

static void
parse_workspace(struct cfg_load *ld, const struct ynode *v)
{
	static const char *const keys[] = {"root", "namespace", "cluster", "builder", "jobs"};
	const struct ynode *m = cfg_as_map(ld, v, "workspace");
	struct fx_catalog *c = ld->c;
	struct fx_loc ns_loc = ld->root_loc;
	struct cfg_pairs p = {0};

	c->provider_loc = ld->root_loc;

	if (m)
		cfg_map_pairs(ld, m, &p);
	for (size_t i = 0; i < p.n; i++) {
		const struct ynode *k = p.v[2 * i], *val = p.v[2 * i + 1];
		const char *s;
		switch (cfg_key_index(ld, k, keys, FX_NELEM(keys), "in \"workspace\"")) {
		case 0:
			if ((s = cfg_as_string(ld, val, "root"))) {
				free(c->root);
				c->root = path_join(c->dir, s);
				ld->root_loc = cfg_locof(ld, val);
			}
			break;
		case 1:
			cfg_set_str(&c->namespace, cfg_as_string(ld, val, "namespace"));
			ns_loc = cfg_locof(ld, val);
			break;
		case 2:
			parse_cluster(ld, val);
			break;
		case 3:
			parse_name(ld, val, "builder", builders, FX_NELEM(builders), &c->builder);
			break;
		case 4:
			parse_jobs(ld, val);
			break;
		}
	}
	free(p.v);

	if (!cfg_dns_label(c->namespace, 63))
		cfg_rep_error(&ld->rep, ns_loc.line, ns_loc.col,
		    "namespace \"%s\" is not a valid Kubernetes namespace (lowercase letters, digits "
		    "and '-', starting and ending with a letter or digit, at most 63 characters)",
		    c->namespace);
	/* The provider's own keys are its to check (provider_check). */
}

/* An HTTP header's name (RFC 9110 token), an environment variable's name. */
static bool
is_token(const char *s, bool env)
{
	if (!s || !*s || (env && *s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++) {
		bool alnum = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9');
		if (!alnum && !(env ? *s == '_' : strchr("!#$%&'*+-.^_`|~", *s) != NULL))
			return false;
	}
	return true;
}

static void
parse_remote(struct cfg_load *ld, const struct ynode *val)
{
	const char *s = cfg_as_string(ld, val, "remote");

	if (!s)
		return;
	if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8) && strncmp(s, "file://", 7)) {
		ERR(ld, val, "\"remote\" must be an http://, https:// or file:// URL, not \"%s\"", s);
	} else if (!strncmp(s, "file://", 7) && s[7] != '/' && strncmp(s + 7, "localhost/", 10)) {
		/* file://DIR: DIR relative to the catalog's directory */
		char *dir = path_join(ld->c->dir, s + 7);
		free(ld->c->remote);
		ld->c->remote = xasprintf("file://%s", dir);
		free(dir);
	} else {
		cfg_set_str(&ld->c->remote, s);
	}
}

static void
parse_cache(struct cfg_load *ld, const struct ynode *v)
{
	static const char *const keys[] = {"remote", "push", "header", "header_env",
	    "connect_timeout", "timeout", "max_blob_mib"};
	const struct ynode *m = cfg_as_map(ld, v, "cache");
	struct cfg_pairs p = {0};
	const struct ynode *header = NULL;
	const char *s;

	if (!m)
		return;
	cfg_map_pairs(ld, m, &p);
	for (size_t i = 0; i < p.n; i++) {
		const struct ynode *k = p.v[2 * i], *val = p.v[2 * i + 1];
		switch (cfg_key_index(ld, k, keys, FX_NELEM(keys), "in \"cache\"")) {
		case 0:
			parse_remote(ld, val);
			break;
		case 1:
			ld->c->push = cfg_as_bool(ld, val, "push", ld->c->push) == 1;
			break;
		case 2:
			header = val;
			if ((s = cfg_as_string(ld, val, "header")) && !is_token(s, false))
				ERR(ld, val, "\"header\" must be an HTTP header's name (letters, digits "
				    "and -), not \"%s\"", s);
			else if (s)
				cfg_set_str(&ld->c->remote_header, s);
			break;
		case 3:
			if ((s = cfg_as_string(ld, val, "header_env")) && !is_token(s, true))
				ERR(ld, val, "\"header_env\" must name an environment variable "
				    "(letters, digits and _), not \"%s\"", s);
			else if (s)
				cfg_set_str(&ld->c->remote_header_env, s);
			break;
		case 4:
			ld->c->remote_connect_timeout = parse_count(ld, val, "connect_timeout", 600);
			break;
		case 5:
			ld->c->remote_timeout = parse_count(ld, val, "timeout", 3600);
			break;
		case 6:
			ld->c->remote_max_blob_mib = parse_count(ld, val, "max_blob_mib", INT_MAX);
			break;
		}
	}
	free(p.v);
	if (header && ld->c->remote_header && !ld->c->remote_header_env)
		ERR(ld, header, "\"header\" needs \"header_env\": the environment variable that "
		    "holds its value (never the value itself)");
	if (ld->c->remote_header_env && !ld->c->remote_header)
		ld->c->remote_header = xstrdup("Authorization");
}

static void
parse_version(struct cfg_load *ld, const struct ynode *top, const struct ynode *v)
{
	if (!v) {
		ERR(ld, top, "missing \"version\" (this fusion reads catalogs with \"version: 1\")");
		return;
	}
	const char *s = cfg_ytext(v);
	if (!s || strcmp(s, "1") != 0)
		ERR(ld, v, "unsupported catalog version \"%s\" (this fusion reads version 1)",
		    s ? s : "(not a number)");
}

enum { T_VERSION, T_WORKSPACE, T_CACHE, T_DEFAULTS, T_SHARED, T_SERVICES, T_PROFILES, NTOP };

static const char *const top_keys[NTOP] = {
	"version", "workspace", "cache", "defaults", "shared", "services", "profiles"};

/* The top-level pairs of the mapping `top` by section. */
static void
top_sections(struct cfg_load *ld, const struct ynode *top, const struct ynode **key,
    const struct ynode **val)
{
	struct cfg_pairs p = {0};

	cfg_map_pairs(ld, top, &p);
	for (size_t i = 0; i < p.n; i++) {
		int t = cfg_key_index(ld, p.v[2 * i], top_keys, NTOP, "at the top level");
		if (t >= 0)
			key[t] = p.v[2 * i], val[t] = p.v[2 * i + 1];
	}
	free(p.v);
}

/* Walk the sections of the mapping `top` (profiles already laid over it). */
static void
walk_top(struct cfg_load *ld, const struct ynode *top)
{
	const struct ynode *val[NTOP] = {0}, *key[NTOP] = {0};

	top_sections(ld, top, key, val);
	parse_version(ld, top, val[T_VERSION]);
	parse_workspace(ld, val[T_WORKSPACE]);
	parse_cache(ld, val[T_CACHE]);
	cfg_parse_defaults(ld, val[T_DEFAULTS]);
	/* Entries keep catalog order, whichever section comes first. */
	bool shared_first = key[T_SHARED] && (!key[T_SERVICES] ||
	    key[T_SHARED]->line < key[T_SERVICES]->line);
	if (shared_first)
		cfg_parse_entries(ld, val[T_SHARED], true);
	cfg_parse_entries(ld, val[T_SERVICES], false);
	if (!shared_first)
		cfg_parse_entries(ld, val[T_SHARED], true);
}

static void set_defaults(struct fx_catalog *c);

void
cfg_walk_aside(struct cfg_load *ld, const struct ynode *top)
{
	struct fx_catalog scratch = {0};
	struct cfg_load sub = {
		.c = &scratch, .rep = ld->rep, .root_loc = ld->root_loc, .budget = ld->budget,
		.arena = ld->arena, .repos_optional = true, .aside = true,
	};

	scratch.path = xstrdup(ld->c->path);
	scratch.dir = xstrdup(ld->c->dir);
	scratch.shown = xstrdup(ld->c->shown);
	set_defaults(&scratch);
	walk_top(&sub, cfg_yderef(top));
	ld->rep = sub.rep;	/* its count and what it printed */
	ld->budget = sub.budget;
	cfg_svc_free(&sub.defs);
	free(sub.ex);
	catalog_free(&scratch);
}

/* Returns whether the top was a mapping that could be walked. */
static bool
parse_top(struct cfg_load *ld, const struct ynode *top)
{
	const struct ynode *val[NTOP] = {0}, *key[NTOP] = {0};

	if (!top || (cfg_ynull(top) && !cfg_yderef(top)->n)) {
		cfg_rep_error(&ld->rep, 1, 1, "catalog is empty");
		return false;
	}
	if (cfg_yderef(top)->type != Y_MAP) {
		ERR(ld, top, "the catalog must be a mapping (of version, workspace, cache, defaults, "
		    "shared, services and profiles)");
		return false;
	}
	top = cfg_yderef(top);
	ld->root_loc = cfg_locof(ld, top);
	/* Unknown keys here are said again by walk_top, which is said once. */
	top_sections(ld, top, key, val);
	const struct ynode *eff = cfg_profiles(ld, ld->arena, top, key[T_PROFILES], val[T_PROFILES]);
	walk_top(ld, eff);
	return true;
}

/* Absolute path, directory, and the name messages use: relative to the
 * cwd when the catalog is under it (as a compiler shows its sources). */
/* The lock file beside catalog `p`: its name with .yaml or .yml made .lock
 * (fusion.yaml: fusion.lock), else with .lock added. */
static char *
lock_name(const char *p)
{
	const char *base = strrchr(p, '/');
	const char *dot = strrchr(base ? base : p, '.');
	size_t keep = strlen(p);

	if (dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0))
		keep = (size_t)(dot - p);
	return xasprintf("%.*s.lock", (int)keep, p);
}

static void
set_paths(struct fx_catalog *c, const char *path)
{
	char cwd[PATH_MAX];
	bool havecwd = getcwd(cwd, sizeof cwd) != NULL;

	c->path = havecwd ? path_join(cwd, path) : path_clean(path);
	c->dir = path_dir(c->path);
	const char *rel = havecwd ? path_under(c->path, cwd) : NULL;
	c->shown = xstrdup(rel && *rel ? rel : c->path);
	c->lock_path = lock_name(c->path);
	c->lock_shown = lock_name(c->shown);
}

static const char *
file_type(mode_t m)
{
	return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ?
	    "a character device" : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" :
	    "not a regular file";
}

/* The catalog must be a regular file of at most CAT_MAX_BYTES. It is opened
 * without blocking (a FIFO would wait for a writer forever) and checked on
 * the open descriptor, and the read stops one byte past the limit (/dev/zero
 * would never end, a file may grow after the check). */
static int
read_catalog(struct cfg_load *ld, char **buf, size_t *len)
{
	struct stat st;
	const char *path = ld->c->path;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 || fstat(fd, &st) < 0) {
		cfg_rep_error(&ld->rep, 0, 0, "cannot read the catalog: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int rc = -1;
	if (!S_ISREG(st.st_mode))
		cfg_rep_error(&ld->rep, 0, 0, "the catalog is %s, not a regular file",
		    file_type(st.st_mode));
	else if (st.st_size > CAT_MAX_BYTES)
		cfg_rep_error(&ld->rep, 0, 0,
		    "catalog is too large (%lld bytes; the limit is %d MiB)", (long long)st.st_size,
		    CAT_MAX_BYTES >> 20);
	else if ((rc = read_fd(fd, CAT_MAX_BYTES, buf, len)) < 0 && errno == EFBIG)
		cfg_rep_error(&ld->rep, 0, 0, "catalog is too large (more than %d MiB)",
		    CAT_MAX_BYTES >> 20);
	else if (rc < 0)
		cfg_rep_error(&ld->rep, 0, 0, "cannot read the catalog: %s", strerror(errno));
	close(fd);
	return rc;
}

static void
set_defaults(struct fx_catalog *c)
{
	c->root = xstrdup(c->dir);
	c->namespace = xstrdup("fusion");
	c->provider = providers[0];
	c->provider_loc = (struct fx_loc){c->shown, 1, 1};
	c->profile = xstrdup("fusion");
	c->builder = builders[0];
}

static void
load_begin(struct cfg_load *ld, const char *path, const struct fx_load_opts *lo,
    struct fx_catalog *out)
{
	*ld = (struct cfg_load){.c = out, .check_files = lo->check_files,
	    .profiles = lo->profiles, .nprofiles = lo->nprofiles,
	    .repos_optional = lo->repos_optional};
	memset(out, 0, sizeof *out);
	set_paths(out, path);
	set_defaults(out);
	ld->rep.file = out->shown;
	ld->root_loc = (struct fx_loc){out->shown, 1, 1};
}

/* Parse, walk and check buf (len bytes, NUL-terminated). */
static void
load_text(struct cfg_load *ld, const char *buf, size_t len)
{
	struct ydoc doc;
	bool walked = false;

	if (len == 0) {
		cfg_rep_error(&ld->rep, 1, 1, "catalog is empty");
		return;
	}
	if (len > CAT_MAX_BYTES) {
		cfg_rep_error(&ld->rep, 0, 0,
		    "catalog is too large (%zu bytes; the limit is %d MiB)", len,
		    CAT_MAX_BYTES >> 20);
		return;
	}
	if (cfg_ydoc_parse(&doc, buf, len, &ld->rep) == 0) {
		ld->arena = &doc.arena;
		ld->budget = BUDGET_BASE + BUDGET_PER_NODE * (long)doc.nodes;
		walked = parse_top(ld, doc.root);
	}
	cfg_ydoc_free(&doc);
	/* Cross checks even after other errors: one run shows them all. */
	if (walked)
		cfg_validate(ld);
}

static int
load_end(struct cfg_load *ld)
{
	int rc = ld->rep.n ? -1 : 0;

	if (rc == 0)
		rc = cfg_lock_read(ld->c);

	cfg_svc_free(&ld->defs);
	free(ld->ex);
	cfg_rep_free(&ld->rep);
	if (rc < 0)
		catalog_free(ld->c);
	return rc;
}

int
catalog_load(const char *path, bool check_files, struct fx_catalog *out)
{
	struct fx_load_opts lo = {.check_files = check_files};

	return catalog_open(path, &lo, out);
}

int
catalog_open(const char *path, const struct fx_load_opts *lo, struct fx_catalog *out)
{
	struct cfg_load ld;
	char *buf;
	size_t len;

	load_begin(&ld, path, lo, out);
	if (read_catalog(&ld, &buf, &len) == 0) {
		load_text(&ld, buf, len);
		free(buf);
	}
	return load_end(&ld);
}

int
catalog_parse(const char *path, const char *text, size_t len, bool check_files,
    struct fx_catalog *out)
{
	struct cfg_load ld;
	char *buf = xmalloc(len + 1);

	struct fx_load_opts lo = {.check_files = check_files};

	memcpy(buf, text, len);
	buf[len] = '\0';
	load_begin(&ld, path, &lo, out);
	load_text(&ld, buf, len);
	free(buf);
	return load_end(&ld);
}

void
catalog_free(struct fx_catalog *c)
{
	for (size_t i = 0; i < c->nsvcs; i++)
		cfg_svc_free(&c->svcs[i]);
	free(c->svcs);
	free(c->path);
	free(c->dir);
	free(c->lock_path);
	free(c->lock_shown);
	free(c->root);
	free(c->namespace);
	free(c->profile);
	free(c->context);
	free(c->registry);
	free(c->driver);
	cfg_list_free(&c->start_args);
	free(c->remote);
	free(c->remote_header);
	free(c->remote_header_env);
	free(c->shown);
	free(c->byname);
	cfg_list_free(&c->profiles);
	cfg_list_free(&c->disabled);
	memset(c, 0, sizeof *c);
}

struct fx_svc *
catalog_svc(const struct fx_catalog *c, const char *name)
{
	if (!c->byname) {
		for (size_t i = 0; i < c->nsvcs; i++)
			if (strcmp(c->svcs[i].name, name) == 0)
				return &c->svcs[i];
		return NULL;
	}
	size_t lo = 0, hi = c->nsvcs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(c->svcs[c->byname[mid]].name, name);
		if (cmp == 0)
			return &c->svcs[c->byname[mid]];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *
catalog_kube_context(const struct fx_catalog *c)
{
	/* Explicit, else the provider's default once provider_check ran. */
	return c->context;
}
