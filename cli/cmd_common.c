/*
 * cmd_common.c - the session every command opens: catalog, graph, state
 * directory, records and the hash of the selected sources (see cmd.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/provider.h"
#include "fusion/util.h"

static bool
exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* .fusion/ at the top of the git repo holding the catalog, else beside the
 * catalog; FUSION_STATE_DIR overrides. */
char *
session_statedir(const char *catalog_dir)
{
	const char *env = getenv("FUSION_STATE_DIR");
	char cwd[4096];

	if (env && *env) {
		if (env[0] == '/' || !getcwd(cwd, sizeof cwd))
			return path_clean(env);
		return path_join(cwd, env);
	}
	static const char *const git[] = {".git"};
	char *top = path_find_up(catalog_dir, git, 1, exists);
	if (top) {
		char *dir = path_dir(top);
		char *state = path_join(dir, ".fusion");
		free(dir);
		free(top);
		return state;
	}
	return path_join(catalog_dir, ".fusion");
}

/* The catalog is in s->cat: the state directory and the graph. */
static int
session_graph(struct fx_session *s)
{
	s->statedir = session_statedir(s->cat.dir);
	rules_init(&s->rules, &s->cat, s->statedir);
	s->g = graph_new();
	if (rules_graph(&s->rules, s->g) < 0)
		return FX_EXIT_USAGE;
	struct fx_buf cycle = {0};
	if (graph_topo(s->g, &s->order, &cycle) < 0) {
		fx_error("%s: dependency cycle: %s", s->catalog_path, cycle.s);
		buf_free(&cycle);
		return FX_EXIT_USAGE;
	}
	return 0;
}

int
session_catalog(struct fx_opts *o, const char *path, bool check_files, bool repos_optional,
    struct fx_catalog *out)
{
	struct fx_load_opts lo = {.check_files = check_files, .repos_optional = repos_optional};
	struct fx_strv env = {0};
	const char *e = getenv("FUSION_PROFILE");

	if (o->profiles.n) {
		lo.profiles = (const char *const *)o->profiles.v;
		lo.nprofiles = o->profiles.n;
	} else if (e && *e) {
		/* "ci,fast": in order; empty items (a stray comma) are none. */
		for (const char *p = e; *p;) {
			size_t n = strcspn(p, ",");
			if (n)
				strv_take(&env, xstrndup(p, n));
			p += n + (p[n] == ',');
		}
		lo.profiles = (const char *const *)env.v;
		lo.nprofiles = env.n;
	}
	int rc = catalog_open(path, &lo, out);
	strv_free(&env);
	/* The provider's checks see the catalog the profiles made. */
	if (rc == 0 && provider_check(out) < 0) {
		catalog_free(out);
		rc = -1;
	}
	return rc;
}

int
session_open(struct fx_session *s, struct fx_opts *o)
{
	*s = (struct fx_session){.o = o};
	s->catalog_path = catalog_find(o->file);
	if (!s->catalog_path)
		return FX_EXIT_USAGE;
	if (session_catalog(o, s->catalog_path, true, true, &s->cat) < 0)
		return FX_EXIT_USAGE;
	s->have_cat = true;
	return session_graph(s);
}

int
session_from(struct fx_session *s, struct fx_opts *o, const char *path,
    const struct fx_catalog *cat)
{
	*s = (struct fx_session){.o = o, .catalog_path = xstrdup(path)};
	s->cat = *cat;	/* borrowed: have_cat stays false, so it is not freed */
	return session_graph(s);
}

/* Is one of service svc's nodes of a kind with `role` selected? */
static bool
selected_with(struct fx_session *s, const struct fx_svc *svc, enum fx_role role)
{
	for (const struct fx_rule_kind *const *k = rules_kinds; *k; k++) {
		struct fx_node *n = (*k)->roles & role ? rules_node(s->g, *k, svc->name) : NULL;
		if (n && n->selected)
			return true;
	}
	return false;
}

/* Every secret a selected node needs is in the environment, or nothing
 * runs: a catalog error, at the secret's place in the catalog. */
static int
secrets_set(struct fx_session *s)
{
	int rc = 0;

	for (size_t i = 0; i < s->cat.nsvcs; i++) {
		const struct fx_svc *svc = &s->cat.svcs[i];
		const struct fx_kv *kv = rules_secret_missing(svc);
		if (!kv || !selected_with(s, svc, FX_ROLE_SECRETS))
			continue;
		fx_error_at(kv->loc, "secret \"%s\" of \"%s\": the environment variable %s is "
		    "not set", kv->key, svc->name, kv->value);
		rc = FX_EXIT_USAGE;
	}
	return rc;
}

/* Every chart a selected node fetches is locked, or nothing runs: a
 * catalog error, at the chart in the catalog. (`fusion lock` resolves it:
 * a run never moves the lock by itself.) */
static int
charts_locked(struct fx_session *s)
{
	int rc = 0;

	for (size_t i = 0; i < s->cat.nsvcs; i++) {
		const struct fx_svc *svc = &s->cat.svcs[i];
		if (!svc->chart_url || svc->chart_digest || !selected_with(s, svc, FX_ROLE_LOCKED))
			continue;
		struct fx_buf said = {0};
		rules_chart_said(svc, &said);
		fx_error_at(svc->chart_loc, "chart %s (version %s) of \"%s\" is not in %s: run "
		    "\"fusion lock\"", said.s, svc->chart_pin, svc->name, s->cat.lock_shown);
		buf_free(&said);
		rc = FX_EXIT_USAGE;
	}
	return rc;
}

/* --until KIND: only the nodes of KIND and of the kinds it takes inputs
 * from (`--until chart` renders without a cluster: no load, no release). */
static int
select_until(struct fx_session *s, const char *until)
{
	const char **names = rules_kinds_upto(until);
	int rc = 0;

	if (!names) {
		struct fx_buf all = {0};
		rules_kind_list(&all, "or");
		fx_error("--until: unknown node kind \"%s\" (%s)", until, all.s);
		buf_free(&all);
		rc = FX_EXIT_USAGE;
	} else {
		graph_select_kinds(s->g, names);
	}
	free(names);
	return rc;
}

static bool
strv_has_list(const struct fx_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* Nothing selected may need a repo that is not there: name every one at
 * once, then say how to get them. */
static int
missing_repos(struct fx_session *s)
{
	int n = 0;
	bool git = false;
	const struct fx_svc *last = NULL;

	for (size_t i = 0; i < s->g->n; i++) {
		struct fx_node *nd = s->g->nodes[i];
		const struct fx_rule_node *d = nd->data;
		/* A service's nodes are added together: each repo once. */
		if (!nd->selected || !nd->missing || d->svc == last)
			continue;
		last = d->svc;
		fx_error_at(d->svc->repo_loc, "repo %s of service \"%s\" does not exist",
		    d->svc->repo, d->svc->name);
		git |= d->svc->git != NULL;
		n++;
	}
	if (n && git)
		fx_note("hint: run \"fusion clone\" to clone %s, or name the services to bring up "
		    "(fusion up SVC...)", n > 1 ? "them" : "it");
	else if (n)
		fx_note("hint: name the services to bring up (fusion up SVC...)");
	return n ? -1 : 0;
}

int
session_select(struct fx_session *s)
{
	struct fx_node **roots = xcalloc((size_t)s->o->nargs + 1, sizeof(*roots));
	int rc = 0;

	for (int i = 0; i < s->o->nargs; i++) {
		roots[i] = rules_find(s->g, s->o->args[i]);
		if (!roots[i] && strv_has_list(&s->cat.disabled, s->o->args[i])) {
			fx_error("%s: \"%s\" is disabled (\"enabled: false\"; a profile may enable it)",
			    s->catalog_path, s->o->args[i]);
			rc = FX_EXIT_USAGE;
		} else if (!roots[i]) {
			struct fx_buf hint = {0};
			fx_error("%s: no service, shared release or node named \"%s\"%s",
			    s->catalog_path, s->o->args[i], session_hint(s, s->o->args[i], &hint));
			buf_free(&hint);
			rc = FX_EXIT_USAGE;
		}
	}
	if (rc == 0)
		graph_select(s->g, roots, (size_t)s->o->nargs);
	free(roots);
	if (rc)
		return rc;
	if (s->sel.until && (rc = select_until(s, s->sel.until)) != 0)
		return rc;
	if (!s->allow_missing && missing_repos(s) < 0)
		return FX_EXIT_USAGE;
	rc = charts_locked(s);
	return secrets_set(s) ? FX_EXIT_USAGE : rc;
}

/* rules.read: ignore files come from the state database while their stat
 * data is unchanged, so a no-op run reads no file content at all. The
 * builders follow a symlinked ignore file: so does the stat data that keys
 * its text, or an edit of the target would keep the old rules. */
static int
read_rules_file(void *ctx, const char *path, char **text, size_t *len)
{
	struct fx_session *s = ctx;
	const char *rel = path_under(path, s->cat.root);
	struct stat st;

	if (!rel || !*rel)
		rel = path;
	if (stat(path, &st) < 0)
		return -1;
	if (cache_get_text(s->cache, rel, &st, text, len))
		return 0;
	int64_t scan = now_ns();
	if (read_file(path, text, len) < 0)
		return -1;
	cache_put_text(s->cache, rel, &st, scan, *text, *len);
	return 0;
}

int
session_state(struct fx_session *s, bool verify)
{
	s->cache = cache_open(s->statedir);
	if (!s->cache)
		return FX_EXIT_FAILED;
	if (cache_load_records(s->cache, &s->records) < 0)
		return FX_EXIT_FAILED;
	s->have_records = true;
	/* Filled by the walk on one thread while the others read directories. */
	s->sc = statcache_open(cache_db(s->cache));
	if (!s->sc)
		return FX_EXIT_FAILED;
	s->walk = walk_new(s->cat.root, s->sc, 0);
	s->rules.walk = s->walk;
	s->rules.read = read_rules_file;
	s->rules.read_ctx = s;
	if (rules_sources(&s->rules, s->g) < 0)
		return FX_EXIT_USAGE;
	if (s->before_hash)
		s->before_hash(s, s->before_hash_ctx);
	/* The scan starts now: what it records is stamped with this time, no
	 * later than its first read of a file (statcache.h, racily clean). A
	 * source that cannot be read fails its node, not the whole run. */
	statcache_set_scan_start(s->sc, now_ns());
	walk_run(s->walk);
	struct fx_walk_stats hs = walk_stats(s->walk);
	fx_debug("hashed %llu of %llu files (%llu bytes read, %llu stat cache hits, %llu racy,"
	    " %llu directories pruned)", (unsigned long long)hs.hashed,
	    (unsigned long long)hs.files, (unsigned long long)hs.bytes,
	    (unsigned long long)hs.cache_hits, (unsigned long long)hs.racy,
	    (unsigned long long)hs.pruned);
	if (statcache_save(s->sc) < 0)
		fx_warn("could not save the stat cache");
	fx_debug("the stat cache holds %llu files", (unsigned long long)statcache_count(s->sc));
	s->ev = (struct fx_eval){
		.records = &s->records, .cache = s->cache, .ctx = &s->rules,
		.force = s->sel.force, .exists = rules_exists, .verify = verify,
	};
	stale_evaluate(s->order, s->g->n, &s->ev);
	return 0;
}

int
session_load(struct fx_session *s, struct fx_opts *o, const struct fx_select *sel, bool verify)
{
	int rc = session_open(s, o);

	if (sel)
		s->sel = *sel;
	s->allow_missing = true;	/* shown as a state of its own */
	if (rc == 0)
		rc = session_select(s);
	if (rc == 0)
		rc = session_state(s, verify);
	return rc;
}

int
session_count(struct fx_session *s, enum fx_state st)
{
	int c = 0;

	for (size_t i = 0; i < s->g->n; i++)
		c += s->g->nodes[i]->selected && s->g->nodes[i]->state == st;
	return c;
}

const char *
session_hint(struct fx_session *s, const char *name, struct fx_buf *b)
{
	const char **names = xcalloc(s->cat.nsvcs + s->g->n + 1, sizeof(*names));
	size_t n = 0;

	for (size_t i = 0; i < s->cat.nsvcs; i++)
		names[n++] = s->cat.svcs[i].name;
	for (size_t i = 0; i < s->g->n; i++)
		names[n++] = s->g->nodes[i]->id;
	const char *m = str_closest(name, names, n);
	buf_reset(b);
	if (m)
		buf_printf(b, " (did you mean %s?)", m);
	free(names);
	return b->s ? b->s : "";
}

void
session_close(struct fx_session *s)
{
	rules_graph_free(s->g);
	graph_free(s->g);
	free(s->order);
	rules_free(&s->rules);
	walk_free(s->walk);
	statcache_free(s->sc);
	if (s->have_records)
		cache_free_records(&s->records);
	cache_close(s->cache);
	if (s->have_cat)
		catalog_free(&s->cat);
	free(s->statedir);
	free(s->catalog_path);
}

/* ---- signals for the commands that wait ---- */

volatile sig_atomic_t cmd_stop;
static int wake[2] = {-1, -1};
static const int wake_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};
static struct sigaction saved[FX_NELEM(wake_signals)];

static void
on_wake(int sig)
{
	int e = errno;
	if (sig != SIGCHLD)
		cmd_stop = sig;
	ssize_t w = write(wake[1], "", 1);
	(void)w;
	errno = e;
}

int
cmd_signals_on(void)
{
	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		fx_error("pipe: %s", strerror(errno));
		return -1;
	}
	cmd_stop = 0;
	for (size_t i = 0; i < FX_NELEM(wake_signals); i++) {
		struct sigaction sa = {0};
		sa.sa_handler = on_wake;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = wake_signals[i] == SIGCHLD ? SA_RESTART | SA_NOCLDSTOP : 0;
		sigaction(wake_signals[i], &sa, &saved[i]);
	}
	return 0;
}

void
cmd_signals_off(void)
{
	if (wake[0] < 0)
		return;
	for (size_t i = 0; i < FX_NELEM(wake_signals); i++)
		sigaction(wake_signals[i], &saved[i], NULL);
	close(wake[0]);
	close(wake[1]);
	wake[0] = wake[1] = -1;
}

int
cmd_wake_fd(void)
{
	return wake[0];
}

bool
cmd_wake_drain(void)
{
	char buf[64];
	bool woke = false;

	while (read(wake[0], buf, sizeof buf) > 0)
		woke = true;
	return woke;
}
