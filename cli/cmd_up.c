/*
 * cmd_up.c - `fusion up` (run what is stale) and `fusion plan` (say what
 * would run, and why).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/exec.h"
#include "fusion/lock.h"
#include "fusion/proc.h"
#include "fusion/remote.h"
#include "fusion/report.h"

#define UP struct fx_up_opts

static const struct fx_option up_options[] = {
	FX_UNTIL(UP, sel.until),
	FX_BOOL("dry-run", UP, dry_run, "show what would run, and why (same as `plan`)"),
	FX_BOOL("force", UP, sel.force, "run every selected node, fresh or not"),
	FX_BOOL("verify", UP, verify, "check that recorded outputs still exist (images, releases)"),
	FX_BOOL("no-wait", UP, no_wait, "exit 2 at once if another `fusion up` holds the workspace"),
	FX_NUM("build-jobs", UP, build_jobs, 1, 1024, "at most N builds at once (default 2)"),
	FX_BOOL("watch", UP, watch, "then keep going: rerun what each change to the sources or the\n"
	    "catalog makes stale, forward the catalog's ports, until Ctrl-C"),
	FX_MS("debounce", UP, debounce_ms, 0, 600000,
	    "wait for MS quiet milliseconds after a change (default 200)"),
	FX_MS("poll", UP, poll_ms, 1, 600000, "poll every MS milliseconds instead of using inotify"),
	FX_STR("remote", UP, remote, "URL", "the shared cache (http://, https://, file://DIR); default:\n"
	    "the catalog's cache.remote"),
	FX_BOOL("no-remote", UP, no_remote, "do not use the shared cache this time"),
	FX_BOOL("push", UP, push, "upload what ran to the shared cache (CI; cache.push)"),
	FX_BOOL("remote-required", UP, remote_required, "a fault of the shared cache fails the run\n"
	    "instead of a warning and a build"),
	FX_OPT_END,
};

static int
run_up(struct fx_opts *o, void *u)
{
	return cmd_up(o, u);
}

const struct fx_command fx_cmd_up = {
	.name = "up",
	.usage = "up [SVC...] [--until KIND] [--dry-run] [--force] [--verify] [--no-wait]"
	    " [--build-jobs N] [--remote URL|--no-remote] [--push] [--remote-required]"
	    " [--watch [--debounce MS] [--poll MS]]",
	.about = "Bring SVC (default: every service) and everything it needs up to date: run the\n"
	    "stale {kinds:and} nodes, in parallel, and nothing else.\n",
	.options = up_options,
	.size = sizeof(struct fx_up_opts),
	.defaults = &(const struct fx_up_opts){.debounce_ms = 200},
	.json = "one object per line: {\"event\":\"start\"|\"finish\"|\"summary\",...}",
	.run = run_up,
};

static const struct fx_option plan_options[] = {
	FX_UNTIL(UP, sel.until),
	FX_BOOL("force", UP, sel.force, "as if every selected node were stale"),
	FX_BOOL("verify", UP, verify, "check that recorded outputs still exist (images, releases)"),
	FX_OPT_END,
};

static int
run_plan(struct fx_opts *o, void *u)
{
	return cmd_plan(o, u);
}

const struct fx_command fx_cmd_plan = {
	.name = "plan",
	.usage = "plan [SVC...] [--until KIND] [--verify]",
	.about = "Show what `up` would run, and why (with -v, the exact commands).\n",
	.options = plan_options,
	.size = sizeof(struct fx_up_opts),
	.json = "{\"event\":\"plan\",\"node\":ID,\"state\":...,\"reason\":...} per node, then a summary",
	.run = run_plan,
};

static char *
describe_run(struct fx_opts *o, const struct fx_up_opts *u)
{
	struct fx_buf b = {0};

	buf_puts(&b, "up");
	for (int i = 0; i < o->nargs; i++)
		buf_printf(&b, " %s", o->args[i]);
	if (u->sel.until)
		buf_printf(&b, " --until %s", u->sel.until);
	if (u->sel.force)
		buf_puts(&b, " --force");
	if (u->verify)
		buf_puts(&b, " --verify");
	if (u->push)
		buf_puts(&b, " --push");	/* never the URL: it may hold a password */
	if (u->no_remote)
		buf_puts(&b, " --no-remote");
	return buf_detach(&b);
}

/* Merge the results of two passes: a node touched by the second pass has
 * its second result; fresh nodes are those no pass ran. */
static void
merge(struct fx_session *s, const int *first, const int *second, struct fx_run_counts *k)
{
	*k = (struct fx_run_counts){0};
	for (size_t i = 0; i < s->g->n; i++) {
		int r = second && second[i] >= 0 && (second[i] != FX_FRESH_RESULT || first[i] < 0) ?
		    second[i] : first[i];
		if (r >= 0)
			result_count(k, (enum fx_result)r);
	}
}

/*
 * A load that found its image gone (rules.lost): forget those builds'
 * records and decide everything again, once, so they are rebuilt and what
 * depends on them follows. Only when nothing else failed.
 */
static bool
retry_lost(struct fx_session *s, const struct fx_run_counts *k)
{
	if (!s->rules.lost.n || k->failed != (int)s->rules.lost.n)
		return false;
	for (size_t i = 0; i < s->rules.lost.n; i++)
		if (cache_forget(s->cache, s->rules.lost.v[i]) < 0)
			return false;	/* reported: the build would only be skipped again */
	strv_free(&s->rules.lost);
	cache_free_records(&s->records);
	if (cache_load_records(s->cache, &s->records) < 0)
		return false;
	stale_evaluate(s->order, s->g->n, &s->ev);
	return true;
}

/* The secrets' values files a killed run left behind (rules/secrets.c):
 * removed before anything runs. */
static void
sweep_secrets(const char *statedir)
{
	char *dir = path_join(statedir, "secrets");
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = path_join(dir, e->d_name);
		if (unlink(p) < 0)
			fx_warn("%s: %s", p, strerror(errno));
		free(p);
	}
	if (d)
		closedir(d);
	free(dir);
}

static bool
is_url(const char *u)
{
	return !strncmp(u, "http://", 7) || !strncmp(u, "https://", 8) || !strncmp(u, "file://", 7);
}

/* The options that make no sense together, or without a shared cache. */
static int
check_remote_opts(const struct fx_up_opts *u, const struct fx_catalog *cat)
{
	if (u->remote && !is_url(u->remote)) {
		fx_error("up: --remote must be an http://, https:// or file:// URL");
		return FX_EXIT_USAGE;
	}
	if (u->no_remote && (u->remote || u->push || u->remote_required)) {
		fx_error("up: --no-remote goes with neither --remote, --push nor --remote-required");
		return FX_EXIT_USAGE;
	}
	if (!u->no_remote && !u->remote && !cat->remote && (u->push || u->remote_required)) {
		fx_error("up: --%s needs a shared cache: cache.remote in the catalog, or --remote URL",
		    u->push ? "push" : "remote-required");
		return FX_EXIT_USAGE;
	}
	return 0;
}

/*
 * The shared cache of this run: --remote URL (a relative file:// path is
 * relative to the current directory), else the catalog's cache.remote;
 * none under --no-remote. A cache that cannot be set up is a warning (an
 * error with --remote-required), as a cache that is down would be.
 */
static int
open_remote(struct fx_session *s, const struct fx_up_opts *u, struct fx_remote **out)
{
	const struct fx_catalog *cat = &s->cat;
	const char *url = u->remote ? u->remote : cat->remote;
	struct fx_buf err = {0};
	char *abs = NULL;
	char cwd[4096];

	*out = NULL;
	int rc = check_remote_opts(u, cat);
	if (rc || u->no_remote || !url)
		return rc;
	if (u->remote && !strncmp(url, "file://", 7) && url[7] != '/' &&
	    strncmp(url + 7, "localhost/", 10) && getcwd(cwd, sizeof cwd)) {
		char *dir = path_join(cwd, url + 7);
		abs = xasprintf("file://%s", dir);
		free(dir);
	}
	struct fx_remote_conf conf = {
		.url = abs ? abs : url,
		.connect_timeout_ms = cat->remote_connect_timeout * 1000,
		.timeout_ms = cat->remote_timeout * 1000,
		.max_blob = (uint64_t)cat->remote_max_blob_mib << 20,
	};
	if (cat->remote_header_env) {
		const char *v = getenv(cat->remote_header_env);
		if (v && *v) {
			conf.header = cat->remote_header;
			conf.header_value = v;
		} else {
			fx_warn("cache.header_env: %s is not set; asking the shared cache without the "
			    "%s header", cat->remote_header_env, cat->remote_header);
		}
	}
	*out = remote_open(&conf, &err);
	free(abs);
	if (!*out) {
		if (u->remote_required) {
			fx_error("shared cache: %s", err.s);
			buf_free(&err);
			return FX_EXIT_USAGE;
		}
		fx_warn("shared cache: %s; going on without it", err.s);
	}
	buf_free(&err);
	return 0;
}

int
up_run(struct fx_session *s, struct fx_opts *o, const struct fx_up_opts *u)
{
	struct fx_run_counts k;
	struct fx_limit limits[1] = {{rules_kind_with(FX_ROLE_IMAGE)->kind.name, u->build_jobs}};
	double t0 = now_mono();
	int total = session_count(s, FX_STALE) + session_count(s, FX_PENDING);
	enum fx_report_mode mode = o->json ? FX_REPORT_JSON :
	    isatty(1) ? FX_REPORT_TTY : FX_REPORT_LINES;
	struct fx_remote *remote = NULL;
	int rc = open_remote(s, u, &remote);

	if (rc)
		return rc;	/* before anything runs or is recorded */
	struct fx_report *rep = report_new(mode, total);
	char *what = describe_run(o, u);
	int64_t run_id = cache_run_begin(s->cache, what);
	int *first = xcalloc(s->g->n + 1, sizeof(int));
	int *second = NULL;

	free(what);
	sweep_secrets(s->statedir);
	struct fx_exec x = {
		.jobs = o->jobs ? o->jobs : s->cat.jobs ? s->cat.jobs : cpu_count(),
		.limits = limits, .nlimits = u->build_jobs ? 1 : 0,
		.keep_going = o->keep_going, .statedir = s->statedir, .cache = s->cache,
		.run_id = run_id, .ev = &s->ev, .report = rep, .results = first,
		.remote = remote, .push = remote && (u->push || s->cat.push),
		.remote_required = u->remote_required,
	};
	rc = exec_run(s->g, &x, &k);
	if (rc == FX_EXIT_FAILED && retry_lost(s, &k)) {
		second = xcalloc(s->g->n + 1, sizeof(int));
		x.results = second;
		report_add_total(rep, session_count(s, FX_STALE) + session_count(s, FX_PENDING));
		rc = exec_run(s->g, &x, &k);
	}
	merge(s, first, second, &k);
	if (rc == FX_EXIT_INTERRUPTED)
		fx_error("interrupted: finished nodes are recorded; run `fusion up` again");
	if (run_id > 0)
		cache_run_end(s->cache, run_id, rc, &k);
	report_summary(rep, &k, now_mono() - t0);
	report_free(rep);
	remote_close(remote);
	free(first);
	free(second);
	return rc;
}

int
cmd_up(struct fx_opts *o, struct fx_up_opts *u)
{
	struct fx_session s;
	int lock = -1;

	if (u->watch && u->dry_run) {
		fx_error("up: --watch and --dry-run do not go together");
		return FX_EXIT_USAGE;
	}
	if (u->dry_run)
		return cmd_plan(o, u);
	if (u->watch)
		return cmd_watch(o, u);
	int rc = session_open(&s, o);
	s.sel = u->sel;
	if (rc == 0)
		rc = session_select(&s);
	if (rc == 0) {
		lock = lock_acquire(s.statedir, u->no_wait, &cmd_stop);
		if (lock < 0)
			rc = lock == -2 ? FX_EXIT_USAGE : FX_EXIT_FAILED;
	}
	if (rc == 0)
		rc = session_state(&s, u->verify);
	if (rc == 0)
		rc = up_run(&s, o, u);
	lock_release(lock);
	session_close(&s);
	return rc;
}

/* The first command of a node's action, for `plan -v`. */
static void
print_command(struct fx_session *s, struct fx_node *n)
{
	struct fx_cmd cmd = {0};
	struct fx_output out = {0};
	struct fx_buf msg = {0}, line = {0};

	s->rules.dry_run = true;
	if (n->kind->step(n, &s->rules, 0, 0, &cmd, &out, &msg) == FX_STEP_RUN) {
		proc_format(&line, strv_argv(&cmd.argv));
		printf("    $ %s%s%s\n", line.s, cmd.stdout_path ? " > " : "",
		    cmd.stdout_path ? cmd.stdout_path : "");
	}
	s->rules.dry_run = false;
	strv_free(&cmd.argv);
	free(cmd.stdout_path);
	free(out.value);
	buf_free(&msg);
	buf_free(&line);
}

static void
plan_json(struct fx_session *s)
{
	struct fx_buf b = {0};

	for (size_t i = 0; i < s->g->n; i++) {
		struct fx_node *n = s->order[i];
		if (!n->selected || n->state == FX_FRESH)
			continue;
		buf_puts(&b, "{\"event\":\"plan\",\"node\":");
		buf_json_str(&b, n->id);
		buf_printf(&b, ",\"state\":\"%s\",\"reason\":", state_name(n->state));
		buf_json_str(&b, n->reason ? n->reason : "");
		buf_puts(&b, "}\n");
	}
	buf_printf(&b, "{\"event\":\"summary\",\"ran\":0,\"cached\":0,\"cutoff\":0,\"failed\":0,"
	    "\"skipped\":0,\"interrupted\":0,\"fresh\":%d,\"stale\":%d,\"pending\":%d,\"seconds\":0}\n",
	    session_count(s, FX_FRESH), session_count(s, FX_STALE), session_count(s, FX_PENDING));
	fputs(b.s, stdout);
	buf_free(&b);
}

int
cmd_plan(struct fx_opts *o, struct fx_up_opts *u)
{
	struct fx_session s;
	int rc = session_load(&s, o, &u->sel, u->verify);
	if (rc == 0 && o->json)
		plan_json(&s);
	if (rc == 0 && !o->json) {
		for (size_t i = 0; i < s.g->n; i++) {
			struct fx_node *n = s.order[i];
			if (!n->selected || n->state == FX_FRESH)
				continue;
			printf("%-8s %-30s %s\n", n->state == FX_STALE ? "run" : n->state == FX_MISSING ?
			    "missing" : "maybe", n->id, n->reason ? n->reason : "");
			if (fx_verbose)
				print_command(&s, n);
		}
		int stale = session_count(&s, FX_STALE), pending = session_count(&s, FX_PENDING);
		if (stale + pending == 0)
			printf("fusion: everything is up to date (%d nodes fresh)\n",
			    session_count(&s, FX_FRESH));
		else
			printf("fusion: %d to run, %d may run (unless cut off), %d fresh\n", stale,
			    pending, session_count(&s, FX_FRESH));
		int missing = session_count(&s, FX_MISSING);
		if (missing)
			printf("fusion: %d cannot run: a repo is missing (fusion clone)\n", missing);
	}
	session_close(&s);
	return rc;
}
