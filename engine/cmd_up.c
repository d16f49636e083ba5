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
#include "fusion/report.h"

static char *
describe_run(struct fx_opts *o)
{
	struct fx_buf b = {0};

	buf_puts(&b, "up");
	for (int i = 0; i < o->nargs; i++)
		buf_printf(&b, " %s", o->args[i]);
	if (o->until)
		buf_printf(&b, " --until %s", o->until);
	if (o->force)
		buf_puts(&b, " --force");
	if (o->verify)
		buf_puts(&b, " --verify");
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

int
up_run(struct fx_session *s, struct fx_opts *o)
{
	struct fx_run_counts k;
	struct fx_limit limits[1] = {{"build", o->build_jobs}};
	double t0 = now_mono();
	int total = session_count(s, FX_STALE) + session_count(s, FX_PENDING);
	enum fx_report_mode mode = o->json ? FX_REPORT_JSON :
	    isatty(1) ? FX_REPORT_TTY : FX_REPORT_LINES;
	struct fx_report *rep = report_new(mode, total);
	char *what = describe_run(o);
	int64_t run_id = cache_run_begin(s->cache, what);
	int *first = xcalloc(s->g->n + 1, sizeof(int));
	int *second = NULL;

	free(what);
	sweep_secrets(s->statedir);
	struct fx_exec x = {
		.jobs = o->jobs ? o->jobs : s->cat.jobs ? s->cat.jobs : cpu_count(),
		.limits = limits, .nlimits = o->build_jobs ? 1 : 0,
		.keep_going = o->keep_going, .statedir = s->statedir, .cache = s->cache,
		.run_id = run_id, .ev = &s->ev, .report = rep, .results = first,
	};
	int rc = exec_run(s->g, &x, &k);
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
	free(first);
	free(second);
	return rc;
}

int
cmd_up(struct fx_opts *o)
{
	struct fx_session s;
	int lock = -1;

	if (o->watch && o->dry_run) {
		fx_error("up: --watch and --dry-run do not go together");
		return FX_EXIT_USAGE;
	}
	if (o->dry_run)
		return cmd_plan(o);
	if (o->remote || o->push) {
		fx_error("up: --remote and --push need the shared cache, which is not built yet");
		return FX_EXIT_USAGE;
	}
	if (o->watch)
		return cmd_watch(o);
	int rc = session_open(&s, o);
	if (rc == 0)
		rc = session_select(&s);
	if (rc == 0) {
		lock = lock_acquire(s.statedir, o->no_wait);
		if (lock < 0)
			rc = lock == -2 ? FX_EXIT_USAGE : FX_EXIT_FAILED;
	}
	if (rc == 0)
		rc = session_state(&s, o->verify);
	if (rc == 0)
		rc = up_run(&s, o);
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
	    "\"skipped\":0,\"fresh\":%d,\"stale\":%d,\"pending\":%d,\"seconds\":0}\n",
	    session_count(s, FX_FRESH), session_count(s, FX_STALE), session_count(s, FX_PENDING));
	fputs(b.s, stdout);
	buf_free(&b);
}

int
cmd_plan(struct fx_opts *o)
{
	struct fx_session s;
	int rc = session_load(&s, o, o->verify);
	if (rc == 0 && o->json)
		plan_json(&s);
	if (rc == 0 && !o->json) {
		for (size_t i = 0; i < s.g->n; i++) {
			struct fx_node *n = s.order[i];
			if (!n->selected || n->state == FX_FRESH)
				continue;
			printf("%-8s %-30s %s\n", n->state == FX_STALE ? "run" : "maybe", n->id,
			    n->reason ? n->reason : "");
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
	}
	session_close(&s);
	return rc;
}
