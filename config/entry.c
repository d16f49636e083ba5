/*
 * entry.c - the entries of the catalog: `defaults`, `shared` releases and
 * `services`.
 *
 * A service starts as a copy of `defaults` and its own keys are applied on
 * top: scalars replace, lists (values, needs, build.ignore) append, maps
 * (set, build.args) override per key. Then its paths are resolved: the repo
 * against workspace.root, build.context against the repo, build.file
 * against the context, chart and values against the catalog's directory (already, when read).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

enum { E_REPO, E_GIT, E_BUILD, E_IMAGE, E_CHART, E_VALUES, E_SET, E_NEEDS, E_PORTS, E_SECRETS,
	E_VERSION, E_IMAGE_VALUES, E_IMAGES, E_ENABLED, E_TIMEOUT, NKEYS };
enum { K_SERVICE, K_SHARED, K_DEFAULTS };

static const char *const entry_keys[NKEYS] = {
	"repo", "git", "build", "image", "chart", "values", "set", "needs", "ports", "secrets",
	"version", "image_values", "images", "enabled", "timeout"};
static const char *const service_keys[] = {"repo", "git", "build", "image", "chart", "version",
	"values", "set", "needs", "ports", "secrets", "image_values", "enabled", "timeout"};
static const char *const shared_keys[] = {"chart", "version", "values", "set", "needs", "ports",
	"secrets", "images", "image_values", "enabled", "timeout"};
static const char *const defaults_keys[] = {"chart", "version", "values", "set", "needs", "build",
	"secrets", "image_values", "timeout"};
static const unsigned allowed[] = {
	[K_SERVICE] = ((1u << NKEYS) - 1) & ~(1u << E_IMAGES),
	[K_SHARED] = 1u << E_CHART | 1u << E_VERSION | 1u << E_VALUES | 1u << E_SET | 1u << E_NEEDS |
	    1u << E_PORTS | 1u << E_SECRETS | 1u << E_IMAGES | 1u << E_IMAGE_VALUES |
	    1u << E_ENABLED | 1u << E_TIMEOUT,
	[K_DEFAULTS] = 1u << E_CHART | 1u << E_VERSION | 1u << E_VALUES | 1u << E_SET |
	    1u << E_NEEDS | 1u << E_BUILD | 1u << E_SECRETS | 1u << E_IMAGE_VALUES | 1u << E_TIMEOUT,
};
/* What a service whose image another entry releases cannot use: the keys
 * of a release. */
static const unsigned release_keys = 1u << E_CHART | 1u << E_VERSION | 1u << E_VALUES |
    1u << E_SET | 1u << E_NEEDS | 1u << E_PORTS | 1u << E_SECRETS | 1u << E_IMAGE_VALUES |
    1u << E_TIMEOUT;

/* The new capacity when an array of n items needs to grow, else 0: arrays
 * grow at 0, 4, 8, 16, ... so the structs need no capacity field. */
static size_t
grow_to(size_t n)
{
	if (n == 0)
		return 4;
	return n >= 4 && (n & (n - 1)) == 0 ? 2 * n : 0;
}

void
cfg_list_add(struct fx_list *l, char *s, struct fx_loc loc)
{
	size_t cap = grow_to(l->n);

	if (cap) {
		l->v = xreallocarray(l->v, cap, sizeof *l->v);
		l->loc = xreallocarray(l->loc, cap, sizeof *l->loc);
	}
	l->v[l->n] = s;
	l->loc[l->n] = loc;
	l->n++;
}

void
cfg_list_free(struct fx_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->loc);
	*l = (struct fx_list){0};
}

static void
list_copy(struct fx_list *dst, const struct fx_list *src)
{
	for (size_t i = 0; i < src->n; i++)
		cfg_list_add(dst, xstrdup(src->v[i]), src->loc[i]);
}

/* Set key to value (both taken over); a key already there keeps its place
 * and takes the new value. idx maps keys to index + 1. */
static void
kv_put(struct fx_kvlist *l, struct fx_map *idx, char *key, char *value, struct fx_loc loc)
{
	void **slot = map_slot(idx, key, true);

	if (*slot) {
		struct fx_kv *kv = &l->v[(uintptr_t)*slot - 1];
		free(key);
		free(kv->value);
		kv->value = value;
		kv->loc = loc;
		return;
	}
	size_t cap = grow_to(l->n);
	if (cap)
		l->v = xreallocarray(l->v, cap, sizeof *l->v);
	l->v[l->n] = (struct fx_kv){key, value, loc};
	*slot = (void *)(uintptr_t)++l->n;
}

static void
kv_copy(struct fx_kvlist *dst, struct fx_map *idx, const struct fx_kvlist *src)
{
	for (size_t i = 0; i < src->n; i++)
		kv_put(dst, idx, xstrdup(src->v[i].key), xstrdup(src->v[i].value), src->v[i].loc);
}

void
cfg_kv_free(struct fx_kvlist *kv)
{
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->v[i].key);
		free(kv->v[i].value);
	}
	free(kv->v);
	*kv = (struct fx_kvlist){0};
}

void
cfg_svc_free(struct fx_svc *s)
{
	free(s->name);
	free(s->repo);
	free(s->git);
	free(s->build.context);
	free(s->build.file);
	cfg_kv_free(&s->build.args);
	free(s->build.target);
	cfg_list_free(&s->build.ignore);
	free(s->image);
	free(s->chart);
	free(s->chart_url);
	free(s->chart_name);
	free(s->chart_pin);
	free(s->chart_version);
	free(s->chart_digest);
	cfg_list_free(&s->values);
	cfg_kv_free(&s->set);
	cfg_kv_free(&s->secrets);
	cfg_kv_free(&s->image_values);
	for (size_t i = 0; i < s->nmembers; i++) {
		free(s->members[i].name);
		cfg_kv_free(&s->members[i].values);
	}
	free(s->members);
	free(s->released_by);
	cfg_list_free(&s->needs);
	free(s->ports);
	memset(s, 0, sizeof *s);
}

/* Items of a list of strings, each passed through base (when not NULL) as a
 * path relative to it. */
void
cfg_parse_list(struct cfg_load *ld, const struct ynode *v, const char *key, const char *base,
    struct fx_list *out)
{
	char what[64];
	snprintf(what, sizeof what, "\"%s\" must be a list of %s", key,
	    strcmp(key, "needs") == 0 ? "names" : "strings");
	const struct ynode *seq = cfg_as_seq(ld, v, what);

	for (size_t i = 0; seq && i < seq->n; i++) {
		const struct ynode *item = seq->u.kids[i];
		const char *s = cfg_ytext(item);
		if (!s || cfg_ynull(item) || !*s) {
			ERR(ld, item, "%s", what);
			continue;
		}
		cfg_list_add(out, base ? path_join(base, s) : xstrdup(s), cfg_locof(ld, item));
	}
}

/*
 * `set` keys reach helm as `--set KEY=VALUE`, and helm reads KEY in its
 * strvals syntax: '.' separates the parts of a path, "[N]" after a part is a
 * list index, '\\' makes the next character plain, and an unescaped '=' or
 * ',' ends the key (`"debug=true,replicaCount": 7` would set two values).
 *
 * A key written at the top of `set` is such a path ("image.tag",
 * "servers[0].port", "podAnnotations.prometheus\\.io/scrape"), so it must be
 * well formed: what is wrong with it, or NULL. helm's own limits apply: list
 * indices up to 65536, paths 30 parts deep.
 */
static const char *
helm_path_problem(const char *k)
{
	int parts = 1;

	if (!*k)
		return "is empty";
	for (const char *p = k;; p++) {
		/* one part: runs until '.', '[' or the end */
		const char *start = p;
		for (; *p && *p != '.' && *p != '['; p++) {
			if (*p == '=')
				return "contains '=', which ends the key for helm (write \\= for a plain one)";
			if (*p == ',')
				return "contains ',', which starts another value for helm (write \\, for a plain one)";
			if (*p == '\\' && !*++p)
				return "ends in a lone '\\'";
		}
		if (p == start)
			return "has an empty part (two dots, or a dot or '[' at an end)";
		while (*p == '[') {
			char *end;
			long i = strtol(p + 1, &end, 10);
			if (end == p + 1 || *end != ']' || !('0' <= p[1] && p[1] <= '9'))
				return "has a list index that is not a number in [ ]";
			if (i > 65536)
				return "has a list index above helm's limit (65536)";
			p = end + 1;
			if (*p && *p != '.' && *p != '[')
				return "has text after a list index ([N] ends a part)";
		}
		if (!*p)
			return NULL;
		if (*p == '.' && !p[1])
			return "has an empty part (two dots, or a dot or '[' at an end)";
		if (*p == '.' && ++parts > 30)
			return "nests deeper than helm's limit of 30 parts";
	}
}

/* A key inside a nested `set` mapping is one plain name, whatever it holds
 * ("prometheus.io/scrape"): each character helm's path syntax would read
 * is escaped. */
static char *
helm_escape(const char *name)
{
	struct fx_buf b = {0};

	for (; *name; name++) {
		if (strchr(".[=,\\", *name))
			buf_putc(&b, '\\');
		buf_putc(&b, *name);
	}
	return buf_detach(&b);
}

/* `set` may nest: {image: {tag: x}} is the key "image.tag", as helm --set. */
static void
flatten(struct cfg_load *ld, const struct ynode *map, const char *prefix, struct fx_kvlist *out,
    struct fx_map *idx, int depth)
{
	struct cfg_pairs p = {0};

	cfg_map_pairs(ld, map, &p);
	for (size_t i = 0; i < p.n; i++) {
		const struct ynode *k = p.v[2 * i], *v = p.v[2 * i + 1], *d = cfg_yderef(v);
		const char *bad;
		if (!cfg_spend(ld, k, 1))
			break;
		char *key;
		if (prefix) {
			char *name = helm_escape(cfg_ytext(k));
			key = xasprintf("%s.%s", prefix, name);
			free(name);
		} else if ((bad = helm_path_problem(cfg_ytext(k)))) {
			ERR(ld, k, "\"set\" key \"%s\" %s", cfg_ytext(k), bad);
			continue;
		} else {
			key = xstrdup(cfg_ytext(k));
		}
		if (d->type == Y_SCALAR) {
			kv_put(out, idx, key, xstrdup(d->u.s), cfg_locof(ld, k));
			continue;
		}
		if (d->type == Y_SEQ)
			ERR(ld, v, "\"set\" value \"%s\" must be a string or a mapping (put lists in "
			    "a values file)", key);
		else if (depth + 1 >= CAT_MAX_DEPTH)
			ERR(ld, v, "\"set\" nests too deep");
		else
			flatten(ld, d, key, out, idx, depth + 1);
		free(key);
	}
	free(p.v);
}

/* A build argument reaches the builder as one argv element "NAME=VALUE";
 * the builder splits it at the first '=', and a Containerfile's ARG name
 * ends at white space or '='. */
static bool
arg_name_ok(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (*k == '=' || (unsigned char)*k <= ' ' || *k == 0x7f)
			return false;
	return true;
}

static void
parse_args(struct cfg_load *ld, const struct ynode *v, struct fx_kvlist *out, struct fx_map *idx)
{
	const struct ynode *m = cfg_as_map(ld, v, "args");
	struct cfg_pairs p = {0};

	if (!m)
		return;
	cfg_map_pairs(ld, m, &p);
	for (size_t i = 0; i < p.n; i++) {
		const struct ynode *k = p.v[2 * i], *val = p.v[2 * i + 1];
		const char *s = cfg_ynull(val) ? "" : cfg_ytext(val);
		if (!arg_name_ok(cfg_ytext(k)))
			ERR(ld, k, "build arg name \"%s\" must not be empty or hold '=', white space "
			    "or control characters", cfg_ytext(k));
		else if (!s)
			ERR(ld, val, "\"args\" values must be strings");
		else
			kv_put(out, idx, xstrdup(cfg_ytext(k)), xstrdup(s), cfg_locof(ld, k));
	}
	free(p.v);
}

/* An environment variable's name, as a shell writes one. */
static bool
env_name_ok(const char *s)
{
	if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
		return false;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/*
 * secrets: {HELM.KEY: ENV_VAR}: helm values read from the environment at
 * run time, never written in the catalog. A key is a dotted helm path
 * (escapes as in `set`) without list indices: it becomes a nested mapping
 * in a values file.
 */
static void
parse_secrets(struct cfg_load *ld, const struct ynode *v, struct fx_kvlist *out, struct fx_map *idx)
{
	const struct ynode *m = cfg_as_map(ld, v, "secrets");
	struct cfg_pairs p = {0};

	if (!m)
		return;
	cfg_map_pairs(ld, m, &p);
	for (size_t i = 0; i < p.n; i++) {
		const struct ynode *k = p.v[2 * i], *val = p.v[2 * i + 1];
		const char *bad = helm_path_problem(cfg_ytext(k));
		const char *var = cfg_yderef(val)->type == Y_SCALAR && !cfg_ynull(val) ?
		    cfg_ytext(val) : NULL;
		if (!bad && strchr(cfg_ytext(k), '['))
			bad = "has a list index: a secret's key is a dotted path to one value";
		if (bad)
			ERR(ld, k, "\"secrets\" key \"%s\" %s", cfg_ytext(k), bad);
		else if (!var || !env_name_ok(var))
			ERR(ld, val, "\"secrets\" values name environment variables (letters, digits "
			    "and '_', not starting with a digit): \"%s\" is none",
			    var ? var : "");
		else
			kv_put(out, idx, xstrdup(cfg_ytext(k)), xstrdup(var), cfg_locof(ld, k));
	}
	free(p.v);
}

/* The parts of a dotted helm path ("a\\.b.c" is "a.b", "c"): is a a prefix
 * of b, part by part (or equal)? */
static bool
path_prefix(const char *a, const char *b)
{
	for (; *a; a++, b++) {
		if (*a != *b)
			return false;
		if (*a == '\\' && a[1]) {
			a++;
			b++;
			if (*a != *b)
				return false;
		}
	}
	return *b == '\0' || *b == '.';
}

/* A secret's key may be neither a `set` key nor above or below another
 * value fusion sets: helm would take one and drop the other. */
static void
check_secrets(struct cfg_load *ld, const struct fx_svc *s)
{
	for (size_t i = 0; i < s->secrets.n; i++) {
		const struct fx_kv *a = &s->secrets.v[i];
		const char *clash = NULL;
		for (size_t j = 0; j < s->set.n && !clash; j++)
			if (path_prefix(a->key, s->set.v[j].key) || path_prefix(s->set.v[j].key, a->key))
				clash = s->set.v[j].key;
		for (size_t j = 0; j < s->secrets.n && !clash; j++)
			if (j != i && path_prefix(a->key, s->secrets.v[j].key))
				clash = s->secrets.v[j].key;
		for (size_t j = 0; j < s->image_values.n && !clash; j++)
			if (path_prefix(a->key, s->image_values.v[j].key) ||
			    path_prefix(s->image_values.v[j].key, a->key))
				clash = !s->image_values_given && !s->shared ?
				    "image (fusion sets image.repository, image.tag and image.pullPolicy)" :
				    s->image_values.v[j].key;
		for (size_t k = 0; k < s->nmembers && !clash; k++)
			for (size_t j = 0; j < s->members[k].values.n && !clash; j++)
				if (path_prefix(a->key, s->members[k].values.v[j].key) ||
				    path_prefix(s->members[k].values.v[j].key, a->key))
					clash = s->members[k].values.v[j].key;
		if (clash)
			cfg_rep_error(&ld->rep, a->loc.line, a->loc.col,
			    "secret \"%s\" of \"%s\" clashes with \"%s\": a value is set once",
			    a->key, s->name, clash);
	}
}

/* A port number, 1 to 65535, written in decimal; 0 if s is none. */
static int
port_number(const char *s, size_t n)
{
	long v = 0;

	if (n == 0 || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : 0;
}

/*
 * timeout: how long helm waits for the release's workloads (and each of
 * its hooks): whole seconds (300), or a duration as helm writes one, in
 * h, m and s (5m, 90s, 1m30s). At most a day. Returns the seconds, or 0
 * after reporting.
 */
static int
parse_timeout(struct cfg_load *ld, const struct ynode *v)
{
	const char *s = cfg_yderef(v)->type == Y_SCALAR && !cfg_ynull(v) ? cfg_ytext(v) : NULL;
	long total = 0, n = -1;
	bool units = false;

	for (const char *p = s; p && *p; p++) {
		if (*p >= '0' && *p <= '9') {
			n = (n < 0 ? 0 : n) * 10 + (*p - '0');
			if (n > 86400)
				break;
			continue;
		}
		const char *u = strchr("hms", *p);
		if (!u || !*p || n < 0) {
			n = -2;
			break;
		}
		total += n * (*u == 'h' ? 3600 : *u == 'm' ? 60 : 1);
		n = -1;
		units = true;
	}
	if (n >= 0 && !units)
		total = n;
	else if (n != -1)
		total = -1;	/* a bad character, or a number without its unit */
	if (!s || total <= 0 || total > 86400) {
		ERR(ld, v, "\"timeout\" must be a duration from 1s to 24h: seconds (300) or with "
		    "units h, m, s (5m, 90s, 1m30s), not \"%s\"", s ? s : "(a collection)");
		return 0;
	}
	return (int)total;
}

/* ports: [8080, "9090:80"]: LOCAL, or LOCAL:SERVICE. */
static void
parse_ports(struct cfg_load *ld, const struct ynode *v, struct fx_svc *s)
{
	const struct ynode *seq = cfg_as_seq(ld, v,
	    "\"ports\" must be a list of ports (8080) or \"LOCAL:SERVICE\" pairs (\"8080:80\")");

	for (size_t i = 0; seq && i < seq->n; i++) {
		const struct ynode *item = seq->u.kids[i];
		const char *t = cfg_ytext(item);
		const char *colon = t ? strchr(t, ':') : NULL;
		int local = t ? port_number(t, colon ? (size_t)(colon - t) : strlen(t)) : 0;
		int remote = colon ? port_number(colon + 1, strlen(colon + 1)) : local;
		if (!local || !remote) {
			ERR(ld, item, "\"ports\" entries are ports from 1 to 65535: 8080, or "
			    "\"8080:80\" for LOCAL:SERVICE, not \"%s\"", t ? t : "(a collection)");
			continue;
		}
		s->ports = xreallocarray(s->ports, s->nports + 1, sizeof(*s->ports));
		s->ports[s->nports++] = (struct fx_port){local, remote, cfg_locof(ld, item)};
	}
}

static void
parse_build(struct cfg_load *ld, const struct ynode *v, struct fx_svc *s, struct cfg_extra *ex,
    struct fx_map *argidx, const char *where)
{
	static const char *const keys[] = {"context", "file", "args", "target", "ignore"};
	const struct ynode *m = cfg_as_map(ld, v, "build");
	struct cfg_pairs p = {0};
	const char *str;

	if (!m)
		return;
	ex->build_loc = cfg_locof(ld, v);
	cfg_map_pairs(ld, m, &p);
	for (size_t i = 0; i < p.n; i++) {
		const struct ynode *k = p.v[2 * i], *val = p.v[2 * i + 1];
		switch (cfg_key_index(ld, k, keys, FX_NELEM(keys), where)) {
		case 0:
			if ((str = cfg_as_string(ld, val, "context"))) {
				cfg_set_str(&s->build.context, str);
				ex->context_loc = cfg_locof(ld, val);
			}
			break;
		case 1:
			if ((str = cfg_as_string(ld, val, "file"))) {
				cfg_set_str(&s->build.file, str);
				ex->file_loc = cfg_locof(ld, val);
				ex->file_given = true;
			}
			break;
		case 2:
			parse_args(ld, val, &s->build.args, argidx);
			break;
		case 3:
			cfg_set_str(&s->build.target, cfg_as_string(ld, val, "target"));
			break;
		case 4:
			cfg_parse_list(ld, val, "ignore", NULL, &s->build.ignore);
			break;
		}
	}
	free(p.v);
}

/* No control character and no white space: a URL or a name that reaches
 * helm as one argument and the lock file as one word. */
static bool
word_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* No control character (a version range may hold spaces: ">=1.2 <2"). */
static bool
printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return false;
	return true;
}

/* oci://HOST[:PORT]/PATH/NAME: what is wrong with it, or NULL. */
static const char *
oci_problem(const char *u)
{
	const char *host = u + strlen("oci://");
	const char *slash = strchr(host, '/');
	const char *last = strrchr(u, '/');

	if (!word_ok(u))
		return "holds white space or a control character";
	if (!slash || slash == host)
		return "has no host (oci://HOST/PATH/NAME)";
	if (!slash[1])
		return "has no chart name after the host (oci://HOST/PATH/NAME)";
	if (strstr(slash, "//") || u[strlen(u) - 1] == '/')
		return "has an empty path part";
	if (strchr(last, ':') || strchr(slash, '@'))
		return "names a tag or a digest: give the version in \"version:\"";
	return NULL;
}

/* chart: {repo: https://..., name: NAME}, a chart in an HTTP(S) repository. */
static void
parse_repo_chart(struct cfg_load *ld, const struct ynode *m, struct fx_svc *s, const char *where)
{
	static const char *const keys[] = {"repo", "name"};
	const struct ynode *repo = NULL, *name = NULL;
	struct cfg_pairs p = {0};

	cfg_map_pairs(ld, m, &p);
	for (size_t i = 0; i < p.n; i++) {
		const struct ynode *k = p.v[2 * i];
		if (strcmp(cfg_ytext(k), "version") == 0) {
			ERR(ld, k, "\"version\" goes beside \"chart\", not inside it");
			continue;
		}
		int j = cfg_key_index(ld, k, keys, FX_NELEM(keys), where);
		if (j == 0)
			repo = p.v[2 * i + 1];
		else if (j == 1)
			name = p.v[2 * i + 1];
	}
	free(p.v);
	const char *u = repo ? cfg_as_string(ld, repo, "repo") : NULL;
	const char *n = name ? cfg_as_string(ld, name, "name") : NULL;
	if (!repo || !name) {
		ERR(ld, m, "a chart from a repository is {repo: URL, name: NAME}: \"%s\" is missing",
		    repo ? "name" : "repo");
		return;
	}
	if (!u || !n)
		return;
	if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
		ERR(ld, repo, "\"repo\" is the URL of a chart repository (http:// or https://; "
		    "a registry's chart is chart: oci://HOST/PATH/NAME), not \"%s\"", u);
	else if (!word_ok(u) || !u[u[4] == 's' ? 8 : 7] || u[u[4] == 's' ? 8 : 7] == '/')
		ERR(ld, repo, "\"repo\" %s has no host, or holds white space", u);
	else if (!word_ok(n) || strchr(n, '/') || *n == '-' || *n == '.')
		ERR(ld, name, "\"name\" is a chart's name (no '/', white space, or leading '-' "
		    "or '.'), not \"%s\"", n);
	else {
		s->chart_url = xstrdup(u);
		s->chart_name = xstrdup(n);
	}
}

/*
 * chart: a local directory (relative to the catalog), oci://HOST/PATH/NAME,
 * or {repo: URL, name: NAME}. A chart and its `version` go together: an
 * entry that names its own chart does not keep the version of the chart
 * it inherited.
 */
static void
parse_chart(struct cfg_load *ld, const struct ynode *v, struct fx_svc *s, struct cfg_extra *ex)
{
	const struct ynode *d = cfg_yderef(v);
	const char *str = NULL;

	if (d->type != Y_MAP && !(str = cfg_as_string(ld, v, "chart")))
		return;
	free(s->chart);
	free(s->chart_url);
	free(s->chart_name);
	s->chart = s->chart_url = s->chart_name = NULL;
	s->chart_oci = false;
	if (!ex->pin_here) {
		free(s->chart_pin);
		s->chart_pin = NULL;
	}
	s->chart_loc = cfg_locof(ld, v);
	ex->has_chart = true;
	if (d->type == Y_MAP) {
		char *where = xasprintf("in \"chart\" of \"%s\"", s->name ? s->name : "defaults");
		parse_repo_chart(ld, d, s, where);
		free(where);
		return;
	}
	const char *bad;
	if (strncmp(str, "oci://", 6) == 0) {
		if ((bad = oci_problem(str))) {
			ERR(ld, v, "chart %s %s", str, bad);
			return;
		}
		s->chart_url = xstrdup(str);
		s->chart_name = xstrdup(strrchr(str, '/') + 1);
		s->chart_oci = true;
	} else if (strncmp(str, "https://", 8) == 0 || strncmp(str, "http://", 7) == 0) {
		ERR(ld, v, "a chart from an HTTP(S) repository is {repo: URL, name: NAME} "
		    "(a local chart is a directory; a registry's is oci://HOST/PATH/NAME)");
	} else {
		s->chart = path_join(ld->c->dir, str);
	}
}

/* A template of image_values: text with {FIELD}s of FX_IMAGE_FIELDS. What
 * is wrong with it, or NULL. */
static const char *
template_problem(const char *t)
{
#define FIELD(f) #f,
	static const char *const fields[] = {FX_IMAGE_FIELDS(FIELD)};
#undef FIELD
	for (const char *p = t; (p = strchr(p, '{'));) {
		size_t n = strcspn(p + 1, "{}");
		bool known = false;
		for (size_t i = 0; p[1 + n] == '}' && i < FX_NELEM(fields) && !known; i++)
			known = strlen(fields[i]) == n && strncmp(p + 1, fields[i], n) == 0;
		if (!known)
			return "has a '{' that starts none of {registry}, {image}, {repository}, {tag}, "
			    "{ref}, {pullPolicy}";
		p += n + 2;
	}
	return NULL;
}

/* image_values: {PATH: TEMPLATE}, taken whole. */
static void
parse_image_values(struct cfg_load *ld, const struct ynode *v, struct fx_kvlist *out)
{
	const struct ynode *m = cfg_as_map(ld, v, "image_values");
	struct cfg_pairs p = {0};
	struct fx_map idx = {0};

	cfg_kv_free(out);
	if (!m)
		return;
	cfg_map_pairs(ld, m, &p);
	for (size_t i = 0; i < p.n; i++) {
		const struct ynode *k = p.v[2 * i], *val = p.v[2 * i + 1];
		const char *t = cfg_yderef(val)->type == Y_SCALAR && !cfg_ynull(val) ?
		    cfg_ytext(val) : NULL;
		const char *bad = helm_path_problem(cfg_ytext(k));
		if (bad)
			ERR(ld, k, "\"image_values\" key \"%s\" %s", cfg_ytext(k), bad);
		else if (!t || !*t)
			ERR(ld, val, "\"image_values\" values are templates such as \"{repository}\" "
			    "or \"{ref}\"");
		else if ((bad = template_problem(t)))
			ERR(ld, val, "template \"%s\" %s", t, bad);
		else
			kv_put(out, &idx, xstrdup(cfg_ytext(k)), xstrdup(t), cfg_locof(ld, k));
	}
	map_free(&idx);
	free(p.v);
}

/* images: [SVC...], or {SVC: {PATH: TEMPLATE}} (null: the entry's). */
static void
parse_images(struct cfg_load *ld, const struct ynode *v, struct fx_svc *s)
{
	const struct ynode *d = cfg_yderef(v);
	struct cfg_pairs p = {0};
	const char *what = "\"images\" is a list of services, or a mapping of services to where "
	    "each image goes ({SERVICE: {PATH: TEMPLATE}})";

	if (cfg_ynull(v))
		return;
	if (d->type == Y_SEQ) {
		for (size_t i = 0; i < d->n; i++) {
			const char *name = cfg_ytext(d->u.kids[i]);
			if (!name || !*name || cfg_ynull(d->u.kids[i])) {
				ERR(ld, d->u.kids[i], "%s", what);
				continue;
			}
			s->members = xreallocarray(s->members, s->nmembers + 1, sizeof(*s->members));
			s->members[s->nmembers++] = (struct fx_member){xstrdup(name), {0},
			    cfg_locof(ld, d->u.kids[i])};
		}
		return;
	}
	if (d->type != Y_MAP) {
		ERR(ld, v, "%s", what);
		return;
	}
	cfg_map_pairs(ld, d, &p);
	for (size_t i = 0; i < p.n; i++) {
		const struct ynode *k = p.v[2 * i];
		s->members = xreallocarray(s->members, s->nmembers + 1, sizeof(*s->members));
		struct fx_member *m = &s->members[s->nmembers++];
		*m = (struct fx_member){xstrdup(cfg_ytext(k)), {0}, cfg_locof(ld, k)};
		parse_image_values(ld, p.v[2 * i + 1], &m->values);
	}
	free(p.v);
}

/* Which of entry_keys k is, or -1; nothing reported. */
static int
entry_key_quiet(const struct ynode *k)
{
	for (int e = 0; e < NKEYS; e++)
		if (strcmp(cfg_ytext(k), entry_keys[e]) == 0)
			return e;
	return -1;
}

/* Which of entry_keys k is, or -1 after reporting it. */
static int
entry_key(struct cfg_load *ld, const struct ynode *k, int kind, const char *where)
{
	const char *s = cfg_ytext(k);

	for (int e = 0; e < NKEYS; e++) {
		if (strcmp(s, entry_keys[e]) != 0)
			continue;
		if (allowed[kind] & 1u << e)
			return e;
		if (kind == K_SERVICE)
			ERR(ld, k, "key \"%s\" is not allowed %s (a shared release takes the images of "
			    "services)", s, where);
		else
			ERR(ld, k, "key \"%s\" is not allowed %s (%s take only %s)", s, where,
			    kind == K_SHARED ? "shared releases" : "defaults", kind == K_SHARED ?
			    "chart, version, values, set, needs, ports, secrets, images, image_values, "
			    "enabled and timeout" :
			    "chart, version, values, set, needs, build, secrets, image_values and timeout");
		return -1;
	}
	if (kind == K_SERVICE)	/* not a key at all: the closest a service takes */
		return cfg_key_index(ld, k, service_keys, FX_NELEM(service_keys), where) < 0 ? -1 : -1;
	if (kind == K_SHARED)
		return cfg_key_index(ld, k, shared_keys, FX_NELEM(shared_keys), where);
	return cfg_key_index(ld, k, defaults_keys, FX_NELEM(defaults_keys), where);
}

struct idx {
	struct fx_map set, args, secrets;
};

/* Returns whether the entry is enabled (`enabled: false` leaves it out). */
static bool
parse_entry(struct cfg_load *ld, const struct ynode *map, int kind, const char *where,
    struct fx_svc *s, struct cfg_extra *ex, struct idx *idx)
{
	bool enabled = true;
	struct cfg_pairs p = {0};
	const char *str;
	char *bwhere = kind == K_DEFAULTS ? xstrdup("in \"defaults.build\"") :
	    xasprintf("in \"build\" of service \"%s\"", s->name);

	cfg_map_pairs(ld, map, &p);
	for (size_t i = 0; i < p.n; i++) {
		const struct ynode *k = p.v[2 * i], *v = p.v[2 * i + 1];
		switch (entry_key(ld, k, kind, where)) {
		case E_REPO:
			if ((str = cfg_as_string(ld, v, "repo"))) {
				cfg_set_str(&s->repo, str);
				s->repo_loc = cfg_locof(ld, v);
			}
			break;
		case E_GIT:
			cfg_set_str(&s->git, cfg_as_string(ld, v, "git"));
			break;
		case E_BUILD:
			parse_build(ld, v, s, ex, &idx->args, bwhere);
			break;
		case E_IMAGE:
			if ((str = cfg_as_string(ld, v, "image"))) {
				cfg_set_str(&s->image, str);
				ex->image_loc = cfg_locof(ld, v);
			}
			break;
		case E_CHART:
			parse_chart(ld, v, s, ex);
			break;
		case E_VERSION:
			if ((str = cfg_as_string(ld, v, "version"))) {
				if (!printable(str))
					ERR(ld, v, "\"version\" holds a control character");
				cfg_set_str(&s->chart_pin, str);
				s->pin_loc = cfg_locof(ld, v);
				ex->pin_here = true;
			}
			break;
		case E_VALUES:
			cfg_parse_list(ld, v, "values", ld->c->dir, &s->values);
			break;
		case E_SET: {
			const struct ynode *m = cfg_as_map(ld, v, "set");
			if (m)
				flatten(ld, m, NULL, &s->set, &idx->set, 0);
			break;
		}
		case E_NEEDS:
			cfg_parse_list(ld, v, "needs", NULL, &s->needs);
			break;
		case E_SECRETS:
			parse_secrets(ld, v, &s->secrets, &idx->secrets);
			break;
		case E_TIMEOUT:
			s->timeout = parse_timeout(ld, v);
			break;
		case E_PORTS:
			free(s->ports);
			s->ports = NULL;
			s->nports = 0;
			parse_ports(ld, v, s);
			break;
		case E_IMAGE_VALUES:
			parse_image_values(ld, v, &s->image_values);
			s->image_values_given = true;
			s->image_values_loc = cfg_locof(ld, k);
			break;
		case E_IMAGES:
			parse_images(ld, v, s);
			break;
		case E_ENABLED:
			enabled = cfg_as_bool(ld, v, "enabled", 1) != 0;
			break;
		}
		/* The first key of a release a service writes itself, should
		 * another entry release its image. */
		int e = entry_key_quiet(k);
		if (kind == K_SERVICE && e >= 0 && (release_keys & 1u << e) && !ex->own_key) {
			ex->own_key = entry_keys[e];
			ex->own_key_loc = cfg_locof(ld, k);
		}
	}
	free(p.v);
	free(bwhere);
	return enabled;
}

void
cfg_parse_defaults(struct cfg_load *ld, const struct ynode *v)
{
	const struct ynode *m = cfg_as_map(ld, v, "defaults");
	struct idx idx = {0};

	if (!m)
		return;
	parse_entry(ld, m, K_DEFAULTS, "in \"defaults\"", &ld->defs, &ld->defex, &idx);
	map_free(&idx.set);
	map_free(&idx.args);
	map_free(&idx.secrets);
}

/* A service starts as a copy of the defaults. */
static void
inherit(struct cfg_load *ld, const struct ynode *at, struct fx_svc *s, struct cfg_extra *ex,
    struct idx *idx)
{
	const struct fx_svc *d = &ld->defs;
	const struct cfg_extra *dx = &ld->defex;
	long cost = (long)(d->values.n + d->set.n + d->needs.n + d->build.args.n + d->build.ignore.n +
	    d->secrets.n);

	if (!cfg_spend(ld, at, cost))
		return;
	if (d->chart || d->chart_url) {
		cfg_set_str(&s->chart, d->chart);
		cfg_set_str(&s->chart_url, d->chart_url);
		cfg_set_str(&s->chart_name, d->chart_name);
		s->chart_oci = d->chart_oci;
		s->chart_loc = d->chart_loc;
		ex->has_chart = true;
	}
	if (d->chart_pin) {
		s->chart_pin = xstrdup(d->chart_pin);
		s->pin_loc = d->pin_loc;
	}
	list_copy(&s->values, &d->values);
	kv_copy(&s->set, &idx->set, &d->set);
	kv_copy(&s->secrets, &idx->secrets, &d->secrets);
	if (d->image_values_given) {
		struct fx_map iv = {0};
		kv_copy(&s->image_values, &iv, &d->image_values);
		map_free(&iv);
		s->image_values_given = true;
		s->image_values_loc = d->image_values_loc;
	}
	list_copy(&s->needs, &d->needs);
	s->timeout = d->timeout;
	cfg_set_str(&s->build.context, d->build.context);
	cfg_set_str(&s->build.file, d->build.file);
	kv_copy(&s->build.args, &idx->args, &d->build.args);
	cfg_set_str(&s->build.target, d->build.target);
	list_copy(&s->build.ignore, &d->build.ignore);
	if (d->build.context)
		ex->context_loc = dx->context_loc;
	if (d->build.file) {
		ex->file_loc = dx->file_loc;
		ex->file_given = true;
	}
}

static bool
exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Drop repeated needs (one may come from defaults, one from the service). */
static void
dedup_needs(struct fx_list *l)
{
	struct fx_map seen = {0};
	size_t o = 0;

	for (size_t i = 0; i < l->n; i++) {
		bool dup = false;
		if (l->n <= 16) {
			for (size_t j = 0; j < o && !dup; j++)
				dup = strcmp(l->v[j], l->v[i]) == 0;
		} else {
			dup = !map_add(&seen, l->v[i], NULL);
		}
		if (dup) {
			free(l->v[i]);
			continue;
		}
		l->v[o] = l->v[i];
		l->loc[o++] = l->loc[i];
	}
	l->n = o;
	map_free(&seen);
}

/* Resolve the service's paths now that its repo is known. */
static void
finish_service(struct cfg_load *ld, struct fx_svc *s)
{
	char *raw = s->repo;
	s->repo = path_join(ld->c->root, raw ? raw : s->name);
	free(raw);

	raw = s->build.context;
	s->build.context = raw ? path_join(s->repo, raw) : xstrdup(s->repo);
	free(raw);

	/* As in Compose and Skaffold, the containerfile is named relative to
	 * the context: a monorepo's src/api needs no `file:` for its own
	 * src/api/Dockerfile. */
	raw = s->build.file;
	if (raw) {
		s->build.file = path_join(s->build.context, raw);
	} else {
		s->build.file = path_join(s->build.context, "Containerfile");
		char *docker = path_join(s->build.context, "Dockerfile");
		if (!exists(s->build.file) && exists(docker)) {
			free(s->build.file);
			s->build.file = docker;
			docker = NULL;
		}
		free(docker);
	}
	free(raw);

	if (!s->image)
		s->image = xstrdup(s->name);
	if (!s->image_values_given)
		cfg_image_defaults(&s->image_values);
	dedup_needs(&s->needs);
}

void
cfg_image_defaults(struct fx_kvlist *l)
{
	static const char *const def[][2] = {
		{"image.repository", "{repository}"},
		{"image.tag", "{tag}"},
		{"image.pullPolicy", "{pullPolicy}"},
	};
	struct fx_map idx = {0};

	cfg_kv_free(l);
	for (size_t i = 0; i < FX_NELEM(def); i++)
		kv_put(l, &idx, xstrdup(def[i][0]), xstrdup(def[i][1]), (struct fx_loc){0});
	map_free(&idx);
}

static struct fx_svc *
new_entry(struct cfg_load *ld, struct cfg_extra **ex)
{
	struct fx_catalog *c = ld->c;

	if (c->nsvcs == ld->capsvcs) {
		ld->capsvcs = ld->capsvcs ? 2 * ld->capsvcs : 16;
		c->svcs = xreallocarray(c->svcs, ld->capsvcs, sizeof *c->svcs);
		ld->ex = xreallocarray(ld->ex, ld->capsvcs, sizeof *ld->ex);
	}
	memset(&c->svcs[c->nsvcs], 0, sizeof *c->svcs);
	memset(&ld->ex[c->nsvcs], 0, sizeof *ld->ex);
	*ex = &ld->ex[c->nsvcs];
	return &c->svcs[c->nsvcs++];
}

void
cfg_parse_entries(struct cfg_load *ld, const struct ynode *v, bool shared)
{
	const char *section = shared ? "shared" : "services";
	const char *what = shared ? "shared release" : "service";
	const struct ynode *m = cfg_as_map(ld, v, section);
	struct cfg_pairs p = {0};

	if (!m)
		return;
	cfg_map_pairs(ld, m, &p);
	for (size_t i = 0; i < p.n; i++) {
		const struct ynode *k = p.v[2 * i], *val = p.v[2 * i + 1];
		const struct ynode *em = NULL;
		if (cfg_yderef(val)->type == Y_MAP)
			em = cfg_yderef(val);
		else if (!cfg_ynull(val))
			ERR(ld, val, "%s \"%s\" must be a mapping", what, cfg_ytext(k));

		struct cfg_extra *ex;
		struct fx_svc *s = new_entry(ld, &ex);
		s->name = xstrdup(cfg_ytext(k));
		s->loc = s->repo_loc = ex->build_loc = ex->image_loc = cfg_locof(ld, k);
		s->shared = shared;
		struct idx idx = {0};
		bool enabled = true;
		if (!shared)
			inherit(ld, k, s, ex, &idx);
		if (em) {
			char *where = xasprintf("in %s \"%s\"", what, s->name);
			enabled = parse_entry(ld, em, shared ? K_SHARED : K_SERVICE, where, s, ex, &idx);
			free(where);
		}
		if (!shared)
			finish_service(ld, s);
		else
			dedup_needs(&s->needs);
		check_secrets(ld, s);
		map_free(&idx.set);
		map_free(&idx.args);
		map_free(&idx.secrets);
		if (!enabled) {
			/* Checked as written, then left out (a profile may turn it on). */
			cfg_list_add(&ld->c->disabled, xstrdup(s->name), s->loc);
			cfg_svc_free(s);
			ld->c->nsvcs--;
		}
	}
	free(p.v);
}
