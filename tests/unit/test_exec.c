/*
 * test_exec.c - the executor (exec.h) with a fake node kind whose steps run
 * real commands through /bin/sh, a real state database in a temporary
 * directory and the JSON report captured from stdout.
 *
 * Concurrency is observed, never timed: every command appends "start X" and
 * "end X" to a shared trace file, and a barrier (wait until N nodes have
 * started) can only be passed if N nodes really run at once. Covered: the
 * jobs cap, per-kind limits, failure (dependents skipped, the run stops;
 * -k lets independent branches go on), exit and signal statuses, early
 * cutoff, order-only edges, the node log, a step's stdout file, a tool not
 * on PATH, inputs() failing, and an interrupt stopping the process group
 * (SIGTERM first, SIGKILL after the grace period); a command followed by
 * its kind's probes and stopped by them. The shared cache, with a
 * file:// directory and a fake shareable kind: push then restore ("cached"),
 * lookups and downloads while every job slot is busy, a corrupt blob, a
 * blob that does not unpack, a cache that is down (one warning) and
 * --remote-required.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fusion/cache.h"
#include "fusion/diag.h"
#include "fusion/exec.h"
#include "fusion/graph.h"
#include "fusion/manifest.h"
#include "fusion/remote.h"
#include "fusion/report.h"
#include "fusion/stale.h"
#include "fusion/util.h"

#define TESTDIR_NAME "exec"
#include "testdir.h"

#define MAXSTEPS 3

/* One node's behaviour, reached through fx_node.data. */
struct spec {
	char *scripts[MAXSTEPS];	/* run in turn with /bin/sh -c; NULL ends */
	const char *argv0;	/* run this (no arguments) instead of the scripts */
	char *stdout_path;	/* the first command's stdout goes here */
	bool capture;		/* the first command's stdout comes back to step 1 */
	char *captured[MAXSTEPS];	/* cmd->out as steps 1.. were handed it */
	const char *input;	/* the node's own input (its key) */
	const char *output;	/* what it produces */
	const char *inputs_fail;	/* inputs() fails with this */
	int runs;		/* times step 0 was called */
	int unpacks;		/* times unpack step 0 was called */
	bool unpack_fails;
	int status[MAXSTEPS];	/* statuses the steps were handed */
	int watch_ms;		/* the first command is followed this often */
	int probes;		/* probes watched() has read */
	int stop_after;		/* watched() stops the command at this probe */
	char *probed;		/* what the last probe printed */
};

struct world {
	char *tmp, *statedir, *trace;
	struct fx_cache *cache;
	struct fx_map records;
	struct fx_eval ev;
	struct fx_graph *g;
	struct spec specs[8];
	char *events;		/* the JSON report of the last run (stdout) */
	char *errors;		/* and its stderr: failures, log tails */
	struct fx_run_counts k;
	struct fx_remote *remote;	/* the shared cache of the next run, or NULL */
	bool push, remote_required;
	/* Run as `up` does, not as --json: evaluate first, the total being
	 * what is not fresh, and report one line per node (w->events). */
	bool lines;
	void (*evaluated)(struct world *w);	/* then, before the run: NULL or a change */
};

static int
fake_inputs(struct fx_node *n, void *ctx, struct fx_manifest *m, struct fx_buf *msg)
{
	struct spec *s = n->data;

	if (s->inputs_fail) {
		buf_puts(msg, s->inputs_fail);
		return -1;
	}
	manifest_add(m, "arg:input", s->input);
	return 0;
}

static enum fx_step
fake_step(struct fx_node *n, void *ctx, int step, int status, struct fx_cmd *cmd,
    struct fx_output *out, struct fx_buf *msg)
{
	struct spec *s = n->data;

	if (step == 0)
		s->runs++;
	if (step > 0 && step <= MAXSTEPS) {
		s->status[step - 1] = status;
		free(s->captured[step - 1]);
		s->captured[step - 1] = xstrdup(cmd->out.s ? cmd->out.s : "");
	}
	if (step > 0 && status != 0) {
		buf_printf(msg, "exit status %d", status);
		return FX_STEP_FAIL;
	}
	if (s->argv0 && step == 0) {
		strv_push(&cmd->argv, s->argv0);
		return FX_STEP_RUN;
	}
	if (!s->argv0 && step < MAXSTEPS && s->scripts[step]) {
		strv_push(&cmd->argv, "/bin/sh");
		strv_push(&cmd->argv, "-c");
		strv_push(&cmd->argv, s->scripts[step]);
		strv_push(&cmd->argv, "sh");
		if (step == 0 && s->stdout_path)
			cmd->stdout_path = xstrdup(s->stdout_path);
		cmd->capture = step == 0 && s->capture;
		cmd->watch_ms = step == 0 ? s->watch_ms : 0;
		return FX_STEP_RUN;
	}
	out->value = xstrdup(s->output);
	out->hash = hash_bytes(s->output, strlen(s->output));
	return FX_STEP_DONE;
}

/* Shareable: the blob is the output's text; unpack restores it. */
static enum fx_step
fake_pack(struct fx_node *n, void *ctx, int step, int status, const char *blob,
    struct fx_cmd *cmd, struct fx_buf *msg)
{
	if (write_file_atomic(blob, n->out.value, strlen(n->out.value)) < 0) {
		buf_puts(msg, "cannot write the blob");
		return FX_STEP_FAIL;
	}
	return FX_STEP_DONE;
}

static enum fx_step
fake_unpack(struct fx_node *n, void *ctx, int step, int status, const char *blob,
    const char *value, struct fx_cmd *cmd, struct fx_output *out, struct fx_buf *msg)
{
	struct spec *s = n->data;
	char *text;
	size_t len;

	if (step == 0)
		s->unpacks++;
	if (s->unpack_fails || read_file(blob, &text, &len) < 0) {
		buf_puts(msg, "the blob does not unpack");
		return FX_STEP_FAIL;
	}
	out->value = text;
	out->hash = hash_bytes(text, len);
	return FX_STEP_DONE;
}

/* A probe that prints a line for the node (read by watched(), never logged). */
static bool
fake_watch(struct fx_node *n, void *ctx, struct fx_strv *probe)
{
	strv_push(probe, "/bin/sh");
	strv_push(probe, "-c");
	strv_push(probe, "echo probe-says-$0");
	strv_push(probe, n->target);
	return true;
}

static bool
fake_watched(struct fx_node *n, void *ctx, int status, const struct fx_buf *out)
{
	struct spec *s = n->data;

	free(s->probed);
	s->probed = xstrdup(status == 0 && out->s ? out->s : "");
	return ++s->probes >= s->stop_after;
}

static const struct fx_kind job = {.name = "job", .version = 1, .inputs = fake_inputs,
    .step = fake_step, .watch = fake_watch, .watched = fake_watched};
static const struct fx_kind shared = {.name = "share", .version = 1, .inputs = fake_inputs,
    .step = fake_step, .pack = fake_pack, .unpack = fake_unpack};
static const struct fx_kind serial = {.name = "serial", .version = 1, .limit = 1,
    .inputs = fake_inputs, .step = fake_step};

static int
setup(void **state)
{
	struct world *w = xcalloc(1, sizeof(*w));

	w->tmp = tmpdir_new();
	w->statedir = xasprintf("%s/.fusion", w->tmp);
	w->trace = xasprintf("%s/trace", w->tmp);
	w->cache = cache_open(w->statedir);
	assert_non_null(w->cache);
	map_init(&w->records, 8);
	w->ev = (struct fx_eval){.records = &w->records, .cache = w->cache, .ctx = w};
	w->g = graph_new();
	for (size_t i = 0; i < FX_NELEM(w->specs); i++)
		w->specs[i] = (struct spec){.input = "1", .output = "out-1"};
	*state = w;
	return 0;
}

static int
teardown(void **state)
{
	struct world *w = *state;

	for (size_t i = 0; i < FX_NELEM(w->specs); i++) {
		for (int j = 0; j < MAXSTEPS; j++) {
			free(w->specs[i].scripts[j]);
			free(w->specs[i].captured[j]);
		}
		free(w->specs[i].stdout_path);
		free(w->specs[i].probed);
	}
	graph_free(w->g);
	remote_close(w->remote);
	cache_free_records(&w->records);
	cache_close(w->cache);
	tmpdir_free(w->tmp);
	free(w->events);
	free(w->errors);
	free(w->statedir);
	free(w->trace);
	free(w);
	return 0;
}

static struct fx_node *
node(struct world *w, const struct fx_kind *kind, const char *target)
{
	struct fx_node *n = graph_add(w->g, kind, target, NULL, &w->specs[w->g->n]);

	assert_non_null(n);
	n->selected = true;
	return n;
}

static struct spec *
spec(struct fx_node *n)
{
	return n->data;
}

/* A script that marks its start and end in the trace file around `body`. */
static char *
traced(struct world *w, const char *name, const char *body)
{
	return xasprintf("echo 'start %s' >> '%s'; %s; echo 'end %s' >> '%s'", name, w->trace,
	    body, name, w->trace);
}

/* A body that waits (at most about 10 s) until `n` nodes have started;
 * failing with status 9 if they never do. */
static char *
barrier(struct world *w, int n)
{
	return xasprintf("i=0; while [ \"$(grep -c '^start' '%s')\" -lt %d ]; do"
	    " i=$((i+1)); [ $i -gt 1000 ] && exit 9; sleep 0.01; done", w->trace, n);
}

static void
set_script(struct world *w, struct fx_node *n, const char *body)
{
	spec(n)->scripts[0] = traced(w, n->target, body);
}

/* Forget what a previous run left in the nodes, as a new process would. */
static void
reset_nodes(struct world *w)
{
	for (size_t i = 0; i < w->g->n; i++) {
		struct fx_node *n = w->g->nodes[i];
		n->state = FX_UNKNOWN;
		free(n->reason);
		n->reason = NULL;
		n->key[0] = '\0';
		free(n->out.value);
		n->out = (struct fx_output){0};
		n->have_out = false;
	}
}

/* Point fd (1 or 2) at `path`; returns a copy of the old fd for restore(). */
static int
redirect(int fd, const char *path)
{
	int saved = dup(fd);
	int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(saved >= 0 && f >= 0);
	dup2(f, fd);
	close(f);
	return saved;
}

static void
restore(int fd, int saved)
{
	dup2(saved, fd);
	close(saved);
}

static char *slurp(const char *path);

/* What `up` does before the run: evaluate every node, then w->evaluated.
 * Returns the counter's total: the nodes not fresh. */
static int
evaluate(struct world *w)
{
	struct fx_node **order;
	struct fx_buf cycle = {0};
	int total = 0;

	assert_int_equal(graph_topo(w->g, &order, &cycle), 0);
	stale_evaluate(order, w->g->n, &w->ev);
	for (size_t i = 0; i < w->g->n; i++)
		total += w->g->nodes[i]->selected && w->g->nodes[i]->state != FX_FRESH;
	free(order);
	buf_free(&cycle);
	if (w->evaluated)
		w->evaluated(w);
	return total;
}

/* Run the selected graph like `fusion up --json`; stdout (the events) and
 * stderr are captured into w->events and w->errors. Returns exec_run's
 * status. */
static int
run(struct world *w, int jobs, bool keep_going, const struct fx_limit *limits, size_t nlimits)
{
	char *events = xasprintf("%s/events", w->tmp), *errors = xasprintf("%s/errors", w->tmp);
	int total = (int)w->g->n;

	cache_free_records(&w->records);
	assert_int_equal(cache_load_records(w->cache, &w->records), 0);
	reset_nodes(w);
	if (w->lines)
		total = evaluate(w);
	struct fx_report *rep = report_new(w->lines ? FX_REPORT_LINES : FX_REPORT_JSON, total);
	struct fx_exec x = {.jobs = jobs, .limits = limits, .nlimits = nlimits,
	    .keep_going = keep_going, .statedir = w->statedir, .cache = w->cache,
	    .ev = &w->ev, .report = rep, .grace_ms = 500, .remote = w->remote, .push = w->push,
	    .remote_required = w->remote_required};
	x.run_id = cache_run_begin(w->cache, "up");
	assert_true(x.run_id > 0);

	fflush(stdout);
	fflush(stderr);
	int out = redirect(1, events), err = redirect(2, errors);
	int rc = exec_run(w->g, &x, &w->k);
	fflush(stdout);
	fflush(stderr);
	restore(1, out);
	restore(2, err);

	free(w->events);
	free(w->errors);
	w->events = slurp(events);
	w->errors = slurp(errors);
	free(events);
	free(errors);
	report_free(rep);
	assert_int_equal(cache_run_end(w->cache, x.run_id, rc, &w->k), 0);
	return rc;
}

static void
assert_counts(const struct fx_run_counts *k, int ran, int cutoff, int failed, int skipped,
    int fresh)
{
	assert_int_equal(k->ran, ran);
	assert_int_equal(k->cutoff, cutoff);
	assert_int_equal(k->failed, failed);
	assert_int_equal(k->skipped, skipped);
	assert_int_equal(k->fresh, fresh);
	assert_int_equal(k->cached, 0);
}

/* Did the last run report `result` for node `id`? */
static bool
finished_as(struct world *w, const char *id, const char *result)
{
	char *want = xasprintf("{\"event\":\"finish\",\"node\":\"%s\",\"result\":\"%s\",", id,
	    result);
	bool found = strstr(w->events, want) != NULL;

	free(want);
	return found;
}

static int
count_lines(const char *s, const char *prefix)
{
	int c = 0;

	for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		c += strncmp(p, prefix, strlen(prefix)) == 0;
	return c;
}

/* The most nodes whose names start with `prefix` that the trace shows
 * running at once. */
static int
max_overlap(struct world *w, const char *prefix)
{
	char *data;
	size_t len;
	int cur = 0, max = 0;

	assert_int_equal(read_file(w->trace, &data, &len), 0);
	for (char *p = data; *p; p = strchr(p, '\n') + 1) {
		if (strncmp(p, "start ", 6) == 0 && strncmp(p + 6, prefix, strlen(prefix)) == 0)
			cur++;
		else if (strncmp(p, "end ", 4) == 0 && strncmp(p + 4, prefix, strlen(prefix)) == 0)
			cur--;
		assert_true(cur >= 0);
		if (cur > max)
			max = cur;
	}
	free(data);
	return max;
}

/* Position of `line` in the trace file (-1 if absent). */
static int
trace_pos(struct world *w, const char *line)
{
	char *data;
	size_t len;
	int i = 0, pos = -1;

	if (read_file(w->trace, &data, &len) < 0)
		return -1;
	for (char *p = data; *p; p = strchr(p, '\n') + 1, i++) {
		size_t n = strcspn(p, "\n");
		if (n == strlen(line) && strncmp(p, line, n) == 0)
			pos = i;
	}
	free(data);
	return pos;
}

static char *
slurp(const char *path)
{
	char *data;
	size_t len;

	if (read_file(path, &data, &len) < 0)
		fail_msg("cannot read %s", path);
	return data;
}

static void
test_parallel_up_to_jobs(void **state)
{
	struct world *w = *state;
	char *wait3 = barrier(w, 3);

	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof name, "n%d", i);
		set_script(w, node(w, &job, name), wait3);
	}
	free(wait3);
	assert_int_equal(run(w, 3, false, NULL, 0), FX_EXIT_OK);
	assert_counts(&w->k, 3, 0, 0, 0, 0);
	assert_int_equal(max_overlap(w, ""), 3);
	assert_int_equal(count_lines(w->events, "{\"event\":\"start\""), 3);
	assert_true(finished_as(w, "job:n0", "ran"));
}

static void
test_jobs_cap(void **state)
{
	struct world *w = *state;
	char *wait2 = barrier(w, 2);

	for (int i = 0; i < 5; i++) {
		char name[16];
		snprintf(name, sizeof name, "n%d", i);
		set_script(w, node(w, &job, name), wait2);
	}
	free(wait2);
	assert_int_equal(run(w, 2, false, NULL, 0), FX_EXIT_OK);
	assert_counts(&w->k, 5, 0, 0, 0, 0);
	assert_int_equal(max_overlap(w, ""), 2);
}

/* A kind with limit 1 runs one node at a time, even with free job slots,
 * while another kind uses the slots beside it. */
static void
test_kind_limit_serialises(void **state)
{
	struct world *w = *state;

	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%d", i);
		set_script(w, node(w, &serial, name), "sleep 0.1");
	}
	/* a job node must overlap the first serial one: the barrier needs 2 */
	char *wait2 = barrier(w, 2);
	set_script(w, node(w, &job, "free"), wait2);
	free(wait2);
	assert_int_equal(run(w, 4, false, NULL, 0), FX_EXIT_OK);
	assert_counts(&w->k, 4, 0, 0, 0, 0);
	assert_int_equal(max_overlap(w, "s"), 1);
	assert_int_equal(max_overlap(w, ""), 2);
}

/* exec's limits override the kind's own, both ways. */
static void
test_limit_overrides(void **state)
{
	struct world *w = *state;
	const struct fx_limit one[] = {{"job", 1}};
	const struct fx_limit three[] = {{"other", 1}, {"serial", 3}};
	char *wait3 = barrier(w, 3);

	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof name, "n%d", i);
		set_script(w, node(w, &job, name), "sleep 0.05");
	}
	assert_int_equal(run(w, 3, false, one, FX_NELEM(one)), FX_EXIT_OK);
	assert_counts(&w->k, 3, 0, 0, 0, 0);
	assert_int_equal(max_overlap(w, ""), 1);

	/* a fresh world: serial nodes allowed 3 at once */
	graph_free(w->g);
	w->g = graph_new();
	unlink(w->trace);
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%d", i);
		struct fx_node *n = node(w, &serial, name);
		for (int j = 0; j < MAXSTEPS; j++) {
			free(spec(n)->scripts[j]);
			spec(n)->scripts[j] = NULL;
		}
		set_script(w, n, wait3);
	}
	free(wait3);
	assert_int_equal(run(w, 3, false, three, FX_NELEM(three)), FX_EXIT_OK);
	assert_counts(&w->k, 3, 0, 0, 0, 0);
	assert_int_equal(max_overlap(w, ""), 3);
}

/*
 * a -> b -> c (input edges), a ..> e (order-only), d independent.
 * a fails with status 3.
 */
struct fail_graph {
	struct fx_node *a, *b, *c, *d, *e;
};

static void
fail_graph(struct world *w, struct fail_graph *f)
{
	f->a = node(w, &job, "a");
	f->b = node(w, &job, "b");
	f->c = node(w, &job, "c");
	f->d = node(w, &job, "d");
	f->e = node(w, &job, "e");
	graph_edge(f->a, f->b);
	graph_edge(f->b, f->c);
	graph_order(f->a, f->e);
	set_script(w, f->a, "echo boom; exit 3");
	set_script(w, f->b, "true");
	set_script(w, f->c, "true");
	set_script(w, f->d, "true");
	set_script(w, f->e, "true");
}

static void
test_failure_stops(void **state)
{
	struct world *w = *state;
	struct fail_graph f;
	struct fx_map rec;

	fail_graph(w, &f);
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_FAILED);
	assert_counts(&w->k, 0, 0, 1, 3, 0);
	assert_int_equal(spec(f.a)->status[0], 3);
	for (struct fx_node *const *n = (struct fx_node *const[]){f.b, f.c, f.d, f.e, NULL}; *n; n++)
		assert_int_equal(spec(*n)->runs, 0);
	/* skipped: what the failure blocked; d, which the stop kept from
	 * starting, has no result at all */
	for (struct fx_node *const *n = (struct fx_node *const[]){f.b, f.c, f.e, NULL}; *n; n++)
		assert_true(finished_as(w, (*n)->id, "skipped"));
	assert_null(strstr(w->events, "\"node\":\"job:d\""));
	assert_true(finished_as(w, "job:a", "failed"));
	/* stderr names the node, shows the log's tail and its path */
	assert_non_null(strstr(w->errors, "fusion: job:a: exit status 3\n"));
	assert_non_null(strstr(w->errors, "    | boom\n"));
	assert_non_null(strstr(w->errors, "/.fusion/logs/job:a.log"));
	assert_null(strstr(w->events, "boom"));	/* stdout carries only events */
	/* nothing was recorded as a success; the failure is in the history */
	assert_int_equal(cache_load_records(w->cache, &rec), 0);
	assert_int_equal(rec.n, 0);
	cache_free_records(&rec);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(cache_db(w->cache), "SELECT count(*) FROM run_node"
	    " WHERE result='skipped'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 3);
	sqlite3_finalize(st);
}

static void
test_keep_going(void **state)
{
	struct world *w = *state;
	struct fail_graph f;

	fail_graph(w, &f);
	assert_int_equal(run(w, 1, true, NULL, 0), FX_EXIT_FAILED);
	assert_counts(&w->k, 1, 0, 1, 3, 0);
	assert_int_equal(spec(f.d)->runs, 1);
	assert_true(finished_as(w, "job:d", "ran"));
	assert_int_equal(spec(f.b)->runs + spec(f.c)->runs + spec(f.e)->runs, 0);
	assert_true(finished_as(w, "job:e", "skipped"));

	/* the next run retries the failure and what it blocked, not d */
	free(spec(f.a)->scripts[0]);
	spec(f.a)->scripts[0] = traced(w, "a", "true");
	assert_int_equal(run(w, 2, true, NULL, 0), FX_EXIT_OK);
	assert_counts(&w->k, 4, 0, 0, 0, 1);
	assert_int_equal(spec(f.d)->runs, 1);
}

/* The report's lines without their times, joined by '|'. */
static char *
progress(struct world *w)
{
	struct fx_buf b = {0};

	for (const char *p = w->events; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		const char *sp = memrchr(p, ' ', n);
		buf_printf(&b, "%s%.*s", b.len ? "|" : "", (int)(sp ? (size_t)(sp - p) : n), p);
		p = nl ? nl + 1 : NULL;
	}
	return b.s ? buf_detach(&b) : xstrdup("");
}

/* After the evaluation: job:a's input moves, and it fails. */
static void
break_a(struct world *w)
{
	struct spec *a = spec(graph_find(w->g, "job:a"));

	a->input = "3";
	free(a->scripts[0]);
	a->scripts[0] = traced(w, "a", "exit 3");
}

/*
 * The counter "[done/total]" counts what is true: its total is what was
 * not fresh, a pending node cut off is one of it, a pending node found
 * fresh leaves it; a node fresh when the run began but stale when its turn
 * came (a cluster recreated meanwhile) adds one; what a failure blocks is
 * skipped without moving it; it never passes its total.
 */
static void
test_counter_is_true(void **state)
{
	struct world *w = *state;
	struct fail_graph f;
	char *got;

	fail_graph(w, &f);
	free(spec(f.a)->scripts[0]);
	set_script(w, f.a, "true");
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_OK);
	w->lines = true;

	/* a's input moves, its output does not: b is cut off, c stays fresh */
	spec(f.a)->input = "2";
	assert_int_equal(run(w, 1, true, NULL, 0), FX_EXIT_OK);
	got = progress(w);
	assert_string_equal(got, "[1/3] ran job a|[2/3] cutoff job b");
	free(got);

	/* fresh when evaluated, stale and failing when run (-k) */
	w->evaluated = break_a;
	assert_int_equal(run(w, 1, true, NULL, 0), FX_EXIT_FAILED);
	got = progress(w);
	assert_string_equal(got, "[1/1] failed job a|[1/1] skipped job b|[1/1] skipped job c|"
	    "[1/1] skipped job e");
	free(got);
	assert_int_equal(spec(f.d)->runs, 1);	/* fresh: no line */
}

/* Steps are handed each command's decoded status: exit codes as they are,
 * a signal as 128+N; a later step runs only after the earlier succeeded. */
static void
test_step_statuses(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &job, "a"), *b = node(w, &job, "b");

	spec(a)->scripts[0] = xstrdup("exit 0");
	spec(a)->scripts[1] = xstrdup("true");
	spec(a)->scripts[2] = xstrdup("kill -TERM $$");
	spec(b)->scripts[0] = xstrdup("exit 255");
	assert_int_equal(run(w, 2, true, NULL, 0), FX_EXIT_FAILED);
	assert_counts(&w->k, 0, 0, 2, 0, 0);
	assert_int_equal(spec(a)->status[0], 0);
	assert_int_equal(spec(a)->status[1], 0);
	assert_int_equal(spec(a)->status[2], 128 + SIGTERM);
	assert_int_equal(spec(b)->status[0], 255);
}

/*
 * Early cutoff: a -> b. When a runs again but produces the same output, b is
 * left fresh ("cutoff"); when a's output changes, b runs.
 */
static void
test_early_cutoff(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &job, "a"), *b = node(w, &job, "b");

	graph_edge(a, b);
	set_script(w, a, "true");
	set_script(w, b, "true");
	assert_int_equal(run(w, 2, false, NULL, 0), FX_EXIT_OK);
	assert_counts(&w->k, 2, 0, 0, 0, 0);

	spec(a)->input = "2";	/* a is stale, its output stays "out-1" */
	assert_int_equal(run(w, 2, false, NULL, 0), FX_EXIT_OK);
	assert_counts(&w->k, 1, 1, 0, 0, 0);
	assert_int_equal(spec(a)->runs, 2);
	assert_int_equal(spec(b)->runs, 1);
	assert_true(finished_as(w, "job:a", "ran"));
	assert_true(finished_as(w, "job:b", "cutoff"));
	assert_int_equal(count_lines(w->events, "{\"event\":\"start\""), 1);
	assert_true(cache_last_run_of(w->cache, "job:b") > 0);

	spec(a)->input = "3";
	spec(a)->output = "out-2";	/* now b's input moved */
	assert_int_equal(run(w, 2, false, NULL, 0), FX_EXIT_OK);
	assert_counts(&w->k, 2, 0, 0, 0, 0);
	assert_int_equal(spec(b)->runs, 2);

	/* nothing changed: nothing runs, nothing is reported */
	assert_int_equal(run(w, 2, false, NULL, 0), FX_EXIT_OK);
	assert_counts(&w->k, 0, 0, 0, 0, 2);
	assert_string_equal(w->events, "");
	assert_int_equal(spec(a)->runs + spec(b)->runs, 5);
}

/* Order-only: a ..> b. a runs (and ends) before b starts, but a's new
 * output does not make b stale. */
static void
test_order_only(void **state)
{
	struct world *w = *state;
	/* b comes first in the graph, so it would start first (or beside a)
	 * if the order-only edge were ignored */
	struct fx_node *b = node(w, &job, "b"), *a = node(w, &job, "a");

	graph_order(a, b);
	set_script(w, a, "sleep 0.05");
	set_script(w, b, "true");
	assert_int_equal(run(w, 2, false, NULL, 0), FX_EXIT_OK);
	assert_counts(&w->k, 2, 0, 0, 0, 0);
	assert_true(trace_pos(w, "end a") >= 0);
	assert_true(trace_pos(w, "end a") < trace_pos(w, "start b"));

	spec(a)->input = "2";
	spec(a)->output = "out-2";
	assert_int_equal(run(w, 2, false, NULL, 0), FX_EXIT_OK);
	assert_counts(&w->k, 1, 0, 0, 0, 1);
	assert_int_equal(spec(b)->runs, 1);
}

/* Nodes outside the selection neither run nor count. */
static void
test_selection(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &job, "a"), *b = node(w, &job, "b"), *c = node(w, &job, "c");

	graph_edge(a, b);
	graph_edge(b, c);
	graph_select(w->g, &b, 1);
	assert_int_equal(run(w, 2, false, NULL, 0), FX_EXIT_OK);
	assert_counts(&w->k, 2, 0, 0, 0, 0);
	assert_int_equal(spec(c)->runs, 0);
	assert_int_equal(c->state, FX_UNKNOWN);
	(void)a;
}

/* The node's log holds why it ran, the command line and its output; the
 * record points at it relative to the state directory. */
static void
test_log_file(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &job, "a"), *f = node(w, &job, "f");
	struct fx_map rec;

	spec(a)->scripts[0] = xstrdup("echo hello-out; echo hello-err >&2");
	spec(f)->scripts[0] = xstrdup("echo it broke; exit 4");
	assert_int_equal(run(w, 2, true, NULL, 0), FX_EXIT_FAILED);

	char *path = exec_log_path(w->statedir, "job:a");
	char *want = xasprintf("%s/logs/job:a.log", w->statedir);
	assert_string_equal(path, want);
	char *log = slurp(path);
	assert_string_equal(log, "# job:a: never ran\n"
	    "$ /bin/sh -c 'echo hello-out; echo hello-err >&2' sh\n"
	    "hello-out\nhello-err\n");
	free(log);
	free(path);
	free(want);

	path = exec_log_path(w->statedir, "job:f");
	log = slurp(path);
	assert_non_null(strstr(log, "it broke\n"));
	assert_non_null(strstr(log, "fusion: exit status 4\n"));
	free(log);
	free(path);

	assert_int_equal(cache_load_records(w->cache, &rec), 0);
	const struct fx_record *r = map_get(&rec, "job:a");
	assert_non_null(r);
	assert_string_equal(r->log, "logs/job:a.log");
	assert_string_equal(r->key, a->key);
	assert_string_equal(r->output, "out-1");
	char hex[FX_HASH_HEX];
	hash_hex(hash_bytes("out-1", 5), hex);
	assert_string_equal(r->output_hash, hex);
	assert_null(map_get(&rec, "job:f"));
	cache_free_records(&rec);
	/* a log is rewritten, not appended to, by the next run */
	spec(a)->input = "2";
	assert_int_equal(run(w, 1, true, NULL, 0), FX_EXIT_FAILED);
	path = exec_log_path(w->statedir, "job:a");
	log = slurp(path);
	assert_int_equal(count_lines(log, "$ "), 1);
	assert_true(strncmp(log, "# job:a: ", 9) == 0);
	free(log);
	free(path);
}

/* A step may send a command's stdout to a file (helm template > file). */
static void
test_stdout_path(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &job, "a");

	spec(a)->scripts[0] = xstrdup("echo rendered; echo warning >&2");
	spec(a)->stdout_path = xasprintf("%s/out.yaml", w->tmp);
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_OK);
	char *out = slurp(spec(a)->stdout_path);
	assert_string_equal(out, "rendered\n");
	free(out);
	char *path = exec_log_path(w->statedir, "job:a");
	char *log = slurp(path);
	char *line = xasprintf("' sh > %s\n", spec(a)->stdout_path);
	assert_non_null(strstr(log, line));
	assert_non_null(strstr(log, "warning\n"));
	assert_null(strstr(log, "\nrendered\n"));
	free(line);
	free(log);
	free(path);
}

/* A step that asks for its command's stdout gets it, and only it, at the
 * next step; the log still shows everything the command printed; the step
 * after gets nothing it did not ask for. */
static void
test_captured_stdout(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &job, "a");

	spec(a)->scripts[0] = xstrdup("echo 'REVISION: 7'; echo warning >&2; echo NOTES");
	spec(a)->scripts[1] = xstrdup("echo not captured");
	spec(a)->capture = true;
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_OK);
	assert_string_equal(spec(a)->captured[0], "REVISION: 7\nNOTES\n");
	assert_string_equal(spec(a)->captured[1], "");
	char *path = exec_log_path(w->statedir, "job:a");
	char *log = slurp(path);
	assert_non_null(strstr(log, "REVISION: 7\nNOTES\n"));
	assert_non_null(strstr(log, "warning\n"));
	assert_non_null(strstr(log, "not captured\n"));
	free(log);
	free(path);
}

static void
test_missing_binary(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &job, "a"), *b = node(w, &job, "b");

	graph_edge(a, b);
	spec(a)->argv0 = "fx-no-such-tool-4711";
	set_script(w, b, "true");
	assert_int_equal(run(w, 2, false, NULL, 0), FX_EXIT_FAILED);
	assert_counts(&w->k, 0, 0, 1, 1, 0);
	char *path = exec_log_path(w->statedir, "job:a");
	char *log = slurp(path);
	assert_non_null(strstr(log, "$ fx-no-such-tool-4711\n"));
	assert_non_null(strstr(log, "fusion: fx-no-such-tool-4711: not found on PATH\n"));
	free(log);
	free(path);
}

/* A node whose inputs cannot be computed fails without running anything. */
static void
test_inputs_failure(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &job, "a"), *b = node(w, &job, "b");

	graph_edge(a, b);
	spec(a)->inputs_fail = "values.yaml: No such file or directory";
	set_script(w, a, "true");
	set_script(w, b, "true");
	assert_int_equal(run(w, 2, false, NULL, 0), FX_EXIT_FAILED);
	assert_counts(&w->k, 0, 0, 1, 1, 0);
	assert_int_equal(spec(a)->runs, 0);
	assert_int_equal(trace_pos(w, "start a"), -1);
}

/*
 * Regression (fixed): exec.c start(): when a node's inputs() fails, fail_job() runs before
 * the node's log is opened (and truncated), yet report_failure() is still
 * given j->log_path, so it prints the tail of the *previous* run's log (and
 * points at it) as if it explained this failure. Here run 1 succeeds and
 * logs "old-output-from-run-1"; run 2 fails in inputs() and shows that line.
 */
static void
test_inputs_failure_stale_log(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &job, "a");

	spec(a)->scripts[0] = xstrdup("echo old-output-from-run-1");
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_OK);
	spec(a)->inputs_fail = "values.yaml: No such file or directory";
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_FAILED);
	assert_non_null(strstr(w->errors, "values.yaml: No such file or directory"));
	assert_null(strstr(w->errors, "old-output-from-run-1"));
}

/* Is pid gone (or a zombie nobody has reaped yet)? */
static bool
dead(long pid)
{
	char path[64], buf[512];

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')');
	return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

/*
 * Ctrl-C: the running node's whole process group is stopped (here a
 * background sleep of the step's shell), the run ends with 130, the node
 * is interrupted (reported and recorded so, not failed) and what never
 * started has no result.
 */
static void
test_interrupt(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &job, "a"), *b = node(w, &job, "b");
	char *pidfile = xasprintf("%s/sleep.pid", w->tmp);

	spec(a)->scripts[0] = xasprintf("sleep 30 & echo $! > '%s'; kill -INT $PPID; wait",
	    pidfile);
	set_script(w, b, "true");
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_INTERRUPTED);
	assert_int_equal(w->k.interrupted, 1);
	assert_int_equal(w->k.failed + w->k.skipped, 0);
	assert_int_equal(spec(b)->runs, 0);
	assert_true(finished_as(w, "job:a", "interrupted"));
	assert_null(strstr(w->events, "\"node\":\"job:b\""));
	assert_null(strstr(w->errors, "job:a"));	/* no failure of its own */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(cache_db(w->cache), "SELECT group_concat(node||'='||"
	    "result) FROM run_node", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "job:a=interrupted");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(cache_db(w->cache), "SELECT interrupted||failed FROM run",
	    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "10");
	sqlite3_finalize(st);

	char *text = slurp(pidfile);
	long pid = strtol(text, NULL, 10);
	assert_true(pid > 1);
	bool gone = false;
	for (int i = 0; i < 300 && !(gone = dead(pid)); i++)
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	if (!gone)
		kill((pid_t)pid, SIGKILL);
	assert_true(gone);
	free(text);
	free(pidfile);
}

/* A followed command: its kind's probe runs while it does (its output read,
 * not logged), and once the probe says so the command's group gets SIGTERM
 * and the next step sees how it ended, long before it would have. A
 * command that ends before its first probe is due never sees one. */
static void
test_watch_stops_command(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &job, "a"), *b = node(w, &job, "b");

	spec(a)->scripts[0] = xasprintf("trap 'echo termed >> %s; exit 3' TERM; sleep 60 & wait",
	    w->trace);
	spec(a)->watch_ms = 50;
	spec(a)->stop_after = 3;
	spec(b)->scripts[0] = xstrdup("true");
	spec(b)->watch_ms = 60000;
	assert_int_equal(run(w, 2, true, NULL, 0), FX_EXIT_FAILED);
	assert_int_equal(spec(a)->probes, 3);	/* none after the stop */
	assert_string_equal(spec(a)->probed, "probe-says-a\n");
	assert_int_equal(spec(a)->status[0], 3);	/* its TERM trap's status */
	char *trace = slurp(w->trace);
	assert_string_equal(trace, "termed\n");
	free(trace);
	assert_true(finished_as(w, "job:a", "failed"));
	assert_true(finished_as(w, "job:b", "ran"));
	assert_int_equal(spec(b)->probes, 0);

	char *path = exec_log_path(w->statedir, "job:a");
	char *log = slurp(path);
	assert_non_null(strstr(log, "$ /bin/sh -c 'echo probe-says-$0' a  # every 0.1s while /bin/sh runs"));
	assert_int_equal(count_lines(log, "$ /bin/sh -c 'echo probe"), 1);	/* its line once */
	assert_null(strstr(log, "probe-says-a\n"));	/* its output: not logged */
	assert_non_null(strstr(log, "fusion: stopping /bin/sh (SIGTERM to its process group)\n"));
	free(log);
	free(path);
}

/* The interrupt asks first: the running group gets SIGTERM (a tool may
 * clean up), not straight SIGKILL. */
static void
test_interrupt_sends_term_first(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &job, "a");
	char *mark = xasprintf("%s/term", w->tmp);

	spec(a)->scripts[0] = xasprintf("trap 'echo TERM > \"%s\"; exit 1' TERM;"
	    " kill -INT $PPID; i=0; while [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done", mark);
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_INTERRUPTED);
	assert_int_equal(w->k.interrupted, 1);
	char *text = slurp(mark);
	assert_string_equal(text, "TERM\n");
	free(text);
	free(mark);
}

/* A tool that ignores SIGTERM is killed once the grace period is over. */
static void
test_interrupt_kills_after_grace(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &job, "a");
	char *pidfile = xasprintf("%s/sh.pid", w->tmp);

	char *survived = xasprintf("%s/survived", w->tmp);

	/* about 10 s of sleeping unless killed; then it leaves a mark */
	spec(a)->scripts[0] = xasprintf("trap '' TERM; echo $$ > '%s'; kill -INT $PPID;"
	    " i=0; while [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; echo > '%s'",
	    pidfile, survived);
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_INTERRUPTED);
	assert_int_equal(w->k.interrupted, 1);
	assert_int_equal(access(survived, F_OK), -1);
	char *text = slurp(pidfile);
	assert_true(dead(strtol(text, NULL, 10)));
	free(text);
	free(pidfile);
	free(survived);
}

/* ---- the shared cache ---- */

/* The shared cache at TMP/shared (or at `dir`) for the next runs. */
static void
use_remote(struct world *w, const char *dir)
{
	char *path = dir ? xstrdup(dir) : xasprintf("%s/shared", w->tmp);
	char *url = xasprintf("file://%s", path);
	struct fx_remote_conf c = {.url = url};
	struct fx_buf err = {0};

	remote_close(w->remote);
	w->remote = remote_open(&c, &err);
	assert_non_null(w->remote);
	buf_free(&err);
	free(url);
	free(path);
}

/* Run with push to TMP/shared, then forget share:a here: the next run
 * finds it only in the shared cache. */
static void
pushed_then_forgotten(struct world *w)
{
	use_remote(w, NULL);
	w->push = true;
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_OK);
	assert_int_equal(cache_forget(w->cache, "share:a"), 0);
	w->push = false;
}

/* The blob files in TMP/shared/cas. */
static struct fx_strv
blobs(struct world *w)
{
	struct fx_strv v = {0};
	char *cas = xasprintf("%s/shared/cas", w->tmp);
	char *cmd = xasprintf("ls '%s' 2>/dev/null", cas);
	FILE *f = popen(cmd, "r");
	char line[256];

	while (f && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		strv_take(&v, xasprintf("%s/%s", cas, line));
	}
	if (f)
		pclose(f);
	free(cmd);
	free(cas);
	return v;
}

/* Ran with push: packed and uploaded. Forgotten here, the next run finds it
 * in the shared cache and restores it without running it. */
static void
test_remote_push_then_restore(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &shared, "a"), *b = node(w, &job, "b");

	graph_edge(a, b);
	spec(a)->output = "image-a";
	use_remote(w, NULL);
	w->push = true;
	assert_int_equal(run(w, 2, false, NULL, 0), FX_EXIT_OK);
	assert_int_equal(w->k.ran, 2);
	struct fx_strv v = blobs(w);
	assert_int_equal(v.n, 1);	/* the job kind is not shareable */
	strv_free(&v);

	assert_int_equal(cache_forget(w->cache, "share:a"), 0);
	assert_int_equal(cache_forget(w->cache, "job:b"), 0);
	w->push = false;
	assert_int_equal(run(w, 2, false, NULL, 0), FX_EXIT_OK);
	assert_true(finished_as(w, "share:a", "cached"));
	assert_true(finished_as(w, "job:b", "ran"));
	assert_int_equal(w->k.cached, 1);
	assert_int_equal(spec(a)->runs, 1);
	assert_int_equal(spec(a)->unpacks, 1);
	assert_string_equal(a->out.value, "image-a");
	assert_string_equal(w->errors, "");
	/* recorded as a success: the next run has nothing to do */
	assert_int_equal(run(w, 2, false, NULL, 0), FX_EXIT_OK);
	assert_int_equal(w->k.fresh, 2);
	assert_int_equal(spec(a)->unpacks, 1);
}

/* A lookup and its download take no job slot: with one slot, busy until
 * they are done, the shareable node is looked up and fetched anyway. */
static void
test_remote_lookup_without_slot(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &shared, "a");

	pushed_then_forgotten(w);

	struct fx_node *slow = node(w, &job, "slow");
	char *blob = xasprintf("%s/tmp/share-a.blob", w->statedir);
	char *body = xasprintf("i=0; while [ ! -f '%s' ]; do i=$((i+1)); [ $i -gt 1000 ] && exit 9;"
	    " sleep 0.01; done", blob);
	set_script(w, slow, body);
	/* the slow node is ready first and takes the only slot */
	struct fx_node *first = w->g->nodes[0];
	w->g->nodes[0] = slow;
	w->g->nodes[1] = first;
	slow->index = 0;
	a->index = 1;
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_OK);
	assert_true(finished_as(w, "job:slow", "ran"));
	assert_true(finished_as(w, "share:a", "cached"));
	free(body);
	free(blob);
}

static void
test_remote_corrupt_blob_runs(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &shared, "a");

	use_remote(w, NULL);
	w->push = true;
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_OK);
	struct fx_strv v = blobs(w);
	assert_int_equal(v.n, 1);
	assert_int_equal(write_file_atomic(v.v[0], "out-X", 5), 0);	/* same size */
	strv_free(&v);
	assert_int_equal(cache_forget(w->cache, "share:a"), 0);
	w->push = false;
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_OK);
	assert_true(finished_as(w, "share:a", "ran"));
	assert_int_equal(spec(a)->runs, 2);
	assert_int_equal(spec(a)->unpacks, 0);
	assert_non_null(strstr(w->errors, "warning: share:a: shared cache:"));
	assert_non_null(strstr(w->errors, "SHA-256"));
	assert_non_null(strstr(w->errors, "running it here"));
}

static void
test_remote_unpack_fails_runs(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &shared, "a");

	pushed_then_forgotten(w);
	spec(a)->unpack_fails = true;
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_OK);
	assert_true(finished_as(w, "share:a", "ran"));
	assert_int_equal(spec(a)->unpacks, 1);
	assert_int_equal(spec(a)->runs, 2);
	assert_non_null(strstr(w->errors, "could not restore it from the shared cache (the blob "
	    "does not unpack); running it here"));
	/* with --remote-required it fails instead */
	assert_int_equal(cache_forget(w->cache, "share:a"), 0);
	w->remote_required = true;
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_FAILED);
	assert_true(finished_as(w, "share:a", "failed"));
	assert_int_equal(spec(a)->runs, 2);
}

/* A cache that is down: one warning for the run, however many nodes. */
static void
test_remote_down_warns_once(void **state)
{
	struct world *w = *state;
	char *file = xasprintf("%s/not-a-directory", w->tmp);

	node(w, &shared, "a");
	node(w, &shared, "b");
	node(w, &shared, "c");
	assert_int_equal(write_file_atomic(file, "x", 1), 0);
	use_remote(w, file);
	w->push = true;
	assert_int_equal(run(w, 3, false, NULL, 0), FX_EXIT_OK);
	assert_int_equal(w->k.ran, 3);
	assert_int_equal(count_lines(w->errors, "fusion: warning:"), 1);
	assert_non_null(strstr(w->errors, "going on without it"));
	/* --remote-required: the nodes fail instead of running */
	reset_nodes(w);
	for (size_t i = 0; i < 3; i++)
		cache_forget(w->cache, w->g->nodes[i]->id);
	w->remote_required = true;
	assert_int_equal(run(w, 3, true, NULL, 0), FX_EXIT_FAILED);
	assert_int_equal(w->k.failed, 3);
	assert_int_equal(w->k.ran, 0);
	assert_non_null(strstr(w->errors, "(--remote-required)"));
	free(file);
}

/* A node that holds a secret (local_only) never reaches the shared cache:
 * nothing is pushed, and a blob already there under its key is not used. */
static void
test_remote_local_only_never_shared(void **state)
{
	struct world *w = *state;
	struct fx_node *a = node(w, &shared, "a");

	a->local_only = true;
	spec(a)->output = "manifest-with-a-secret";
	use_remote(w, NULL);
	w->push = true;
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_OK);
	assert_int_equal(w->k.ran, 1);
	struct fx_strv v = blobs(w);
	assert_int_equal(v.n, 0);
	strv_free(&v);

	/* the same node without the mark pushes; with it, that push is not used */
	a->local_only = false;
	assert_int_equal(cache_forget(w->cache, "share:a"), 0);
	pushed_then_forgotten(w);
	v = blobs(w);
	assert_int_equal(v.n, 1);
	strv_free(&v);
	a->local_only = true;
	assert_int_equal(run(w, 1, false, NULL, 0), FX_EXIT_OK);
	assert_true(finished_as(w, "share:a", "ran"));
	assert_int_equal(spec(a)->unpacks, 0);
	assert_string_equal(w->errors, "");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_parallel_up_to_jobs),
		T(test_jobs_cap),
		T(test_kind_limit_serialises),
		T(test_limit_overrides),
		T(test_failure_stops),
		T(test_keep_going),
		T(test_counter_is_true),
		T(test_step_statuses),
		T(test_early_cutoff),
		T(test_order_only),
		T(test_selection),
		T(test_log_file),
		T(test_stdout_path),
		T(test_captured_stdout),
		T(test_missing_binary),
		T(test_inputs_failure),
		T(test_inputs_failure_stale_log),
		T(test_interrupt),
		T(test_watch_stops_command),
		T(test_interrupt_sends_term_first),
		T(test_interrupt_kills_after_grace),
		T(test_remote_push_then_restore),
		T(test_remote_lookup_without_slot),
		T(test_remote_corrupt_blob_runs),
		T(test_remote_unpack_fails_runs),
		T(test_remote_down_warns_once),
		T(test_remote_local_only_never_shared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
