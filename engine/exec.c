/*
 * exec.c - the scheduler (see exec.h).
 */
#include "fusion/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fusion/diag.h"
#include "fusion/manifest.h"
#include "fusion/proc.h"
#include "fusion/statedir.h"
#include "fusion/running.h"
#include "fusion/secret.h"

enum phase { WAITING, READY, RUNNING, DONE, FAILED, SKIPPED };

struct job {
	struct fx_node *n;
	pid_t pid;		/* 0 when no command is running */
	unsigned long long starttime;	/* of pid: see save_running() */
	int step;
	int log_fd;
	int out_fd;		/* a step's stdout file (or captured stdout), or -1 */
	int err_fd;		/* a step's captured stderr (it knows a secret), or -1 */
	struct fx_cmd cmd;
	struct fx_manifest *manifest;
	double started;
	char *log_path;
};

struct sched {
	struct fx_graph *g;
	struct fx_exec *x;
	struct fx_run_counts *k;
	enum phase *phase;
	int *waiting;		/* unfinished predecessors per node */
	bool *upstream_ran;	/* an input edge produced something this run */
	struct fx_node **ready;
	size_t nready;
	bool *decided;		/* stale_decide has run for the node */
	struct fx_manifest **manifests;	/* of decided stale nodes not yet started */
	struct job *jobs;	/* x->jobs slots */
	int nrunning;
	bool stopping;		/* a failure without -k, or an interrupt */
	bool interrupted;
	double kill_at;		/* when to SIGKILL after an interrupt */
	bool killed;
	struct fx_running *running;	/* STATEDIR/running */
};

static int sigpipe[2] = {-1, -1};
static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	int e = errno;
	if (sig != SIGCHLD)
		got_signal = sig;
	char c = 0;
	ssize_t w = write(sigpipe[1], &c, 1);
	(void)w;
	errno = e;
}

static void
signals(bool on, struct sigaction *saved)
{
	static const int sigs[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa = {0};

	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < FX_NELEM(sigs); i++) {
		if (on)
			sigaction(sigs[i], &sa, &saved[i]);
		else
			sigaction(sigs[i], &saved[i], NULL);
	}
}

char *
exec_log_path(const char *statedir, const char *id)
{
	char *name = xasprintf("logs/%s.log", id);
	char *p = path_join(statedir, name);
	free(name);
	return p;
}

static int
limit_of(struct sched *s, const struct fx_kind *kind)
{
	for (size_t i = 0; i < s->x->nlimits; i++)
		if (strcmp(s->x->limits[i].kind, kind->name) == 0)
			return s->x->limits[i].limit;
	return kind->limit;
}

static int
running_of(struct sched *s, const struct fx_kind *kind)
{
	int c = 0;
	for (int i = 0; i < s->x->jobs; i++)
		if (s->jobs[i].n && s->jobs[i].n->kind == kind)
			c++;
	return c;
}

static void
make_ready(struct sched *s, struct fx_node *n)
{
	s->phase[n->index] = READY;
	s->ready[s->nready++] = n;
}

static void finish(struct sched *s, struct fx_node *n, enum fx_result res, double secs);
static void interrupt(struct sched *s);

static void
skip(struct sched *s, struct fx_node *n)
{
	if (s->phase[n->index] == SKIPPED || s->phase[n->index] == DONE ||
	    s->phase[n->index] == FAILED)
		return;
	if (s->phase[n->index] == READY) {
		for (size_t i = 0; i < s->nready; i++)
			if (s->ready[i] == n) {
				memmove(&s->ready[i], &s->ready[i + 1],
				    (s->nready - i - 1) * sizeof(*s->ready));
				s->nready--;
				break;
			}
	}
	finish(s, n, FX_SKIPPED, 0);
}

/* A node is finished: tell the report, the database and its successors. */
static void
finish(struct sched *s, struct fx_node *n, enum fx_result res, double secs)
{
	bool ok = res != FX_FAILED && res != FX_SKIPPED;

	s->phase[n->index] = res == FX_FAILED ? FAILED : res == FX_SKIPPED ? SKIPPED : DONE;
	result_count(s->k, res);
	if (s->x->results)
		s->x->results[n->index] = (int)res;
	if (res != FX_FRESH_RESULT) {
		report_finish(s->x->report, n->id, n->kind->name, n->target, res, secs);
		if (res != FX_RAN)	/* a success was recorded with its node row */
			cache_put_result(s->x->cache, s->x->run_id, n->id, result_name(res), secs);
	}
	for (size_t i = 0; i < n->nouts; i++) {
		struct fx_node *m = n->outs[i];
		if (!m->selected || s->phase[m->index] != WAITING)
			continue;
		if (!ok) {
			skip(s, m);
			continue;
		}
		for (size_t j = 0; j < m->ndeps; j++)
			if (m->deps[j] == n && (res == FX_RAN || res == FX_CACHED))
				s->upstream_ran[m->index] = true;
		if (--s->waiting[m->index] == 0)
			make_ready(s, m);
	}
	if (res == FX_FAILED && !s->x->keep_going)
		s->stopping = true;
}

/* The files a command read its secrets from go once it is done. */
static void
remove_files(struct job *j)
{
	for (size_t i = 0; i < j->cmd.remove.n; i++)
		if (unlink(j->cmd.remove.v[i]) < 0 && errno != ENOENT)
			fx_warn("%s: %s", j->cmd.remove.v[i], strerror(errno));
	strv_free(&j->cmd.remove);
}

static void
job_clear(struct job *j)
{
	if (j->log_fd >= 0)
		close(j->log_fd);
	if (j->out_fd >= 0)
		close(j->out_fd);
	if (j->err_fd >= 0)
		close(j->err_fd);
	remove_files(j);
	strv_free(&j->cmd.redact);
	strv_free(&j->cmd.argv);
	free(j->cmd.stdout_path);
	buf_free(&j->cmd.out);
	manifest_free(j->manifest);
	free(j->log_path);
	*j = (struct job){.log_fd = -1, .out_fd = -1, .err_fd = -1};
}

static void
fail_job(struct sched *s, struct job *j, const char *msg)
{
	struct fx_node *n = j->n;
	double secs = now_mono() - j->started;

	if (j->log_fd >= 0)
		dprintf(j->log_fd, "fusion: %s\n", msg);
	/* After Ctrl-C every running node fails at once: their log tails
	 * would only bury the one line that matters. */
	report_failure(s->x->report, n->id, msg, s->interrupted ? NULL : j->log_path, 20);
	job_clear(j);
	s->nrunning--;
	finish(s, n, FX_FAILED, secs);
}

static void
succeed_job(struct sched *s, struct job *j, struct fx_output *out)
{
	struct fx_node *n = j->n;
	char hex[FX_HASH_HEX];
	char *manifest = manifest_serialize(j->manifest);
	char *log = exec_log_path("", n->id);
	double secs = now_mono() - j->started;

	free(n->out.value);
	n->out = *out;
	n->have_out = true;
	n->state = FX_FRESH;
	hash_hex(out->hash, hex);
	struct fx_record r = {
		.id = n->id, .key = n->key, .output = out->value ? out->value : (char *)"",
		.output_hash = hex, .started = now_wall() - secs, .seconds = secs,
		.log = log + (log[0] == '/'), .run_id = s->x->run_id,
	};
	if (cache_put_success(s->x->cache, &r, manifest, "ran") < 0)
		fx_warn("%s: could not record the result; it will run again next time", n->id);
	free(manifest);
	free(log);
	job_clear(j);
	s->nrunning--;
	finish(s, n, FX_RAN, secs);
}

/* The process groups in flight, for the run after a SIGKILL (running.h). */
static void
save_running(struct sched *s)
{
	pid_t *pids = xcalloc((size_t)s->x->jobs, sizeof(*pids));
	unsigned long long *starts = xcalloc((size_t)s->x->jobs, sizeof(*starts));
	size_t n = 0;

	for (int i = 0; i < s->x->jobs; i++)
		if (s->jobs[i].n && s->jobs[i].pid > 0) {
			pids[n] = s->jobs[i].pid;
			starts[n++] = s->jobs[i].starttime;
		}
	running_save(s->running, pids, starts, n);
	free(pids);
	free(starts);
}

/* Start the job's current command. */
static int
spawn(struct sched *s, struct job *j, struct fx_buf *msg)
{
	struct fx_buf line = {0};
	char **argv = strv_argv(&j->cmd.argv);
	bool hide = j->cmd.redact.n > 0;

	proc_format(&line, argv);
	dprintf(j->log_fd, "$ %s%s%s\n", line.s, j->cmd.stdout_path ? " > " : "",
	    j->cmd.stdout_path ? j->cmd.stdout_path : "");
	fx_debug("%s: %s", j->n->id, line.s);
	buf_free(&line);
	if (j->cmd.stdout_path) {
		j->out_fd = statedir_open(j->cmd.stdout_path, O_WRONLY | O_TRUNC);
		if (j->out_fd < 0) {
			buf_printf(msg, "%s: %s", j->cmd.stdout_path, strerror(errno));
			return -1;
		}
	} else if (j->cmd.capture || hide) {
		/* A file in memory: read back once the command is done. */
		j->out_fd = memfd_create("fusion-stdout", MFD_CLOEXEC);
		if (j->out_fd < 0) {
			buf_printf(msg, "cannot capture the output of %s: %s", j->cmd.argv.v[0],
			    strerror(errno));
			return -1;
		}
	}
	/* A command that knows a secret writes nowhere a file system shows:
	 * what it says reaches the log masked (collect). */
	if (hide && (j->err_fd = memfd_create("fusion-stderr", MFD_CLOEXEC)) < 0) {
		buf_printf(msg, "cannot capture the output of %s: %s", j->cmd.argv.v[0],
		    strerror(errno));
		return -1;
	}
	j->pid = proc_start(argv, j->out_fd >= 0 ? j->out_fd : j->log_fd,
	    j->err_fd >= 0 ? j->err_fd : j->log_fd, msg);
	if (j->pid < 0)
		return -1;
	j->starttime = proc_starttime(j->pid);
	save_running(s);
	return 0;
}

/* What a command wrote to a file in memory (fd): into the log, where a
 * command's output always goes, its secrets masked; and into *into for
 * the next step, if asked. */
static void
collect(struct job *j, int fd, struct fx_buf *into)
{
	struct fx_buf b = {0};
	char chunk[8192];
	ssize_t r;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return;
	while ((r = read(fd, chunk, sizeof chunk)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		buf_add(&b, chunk, (size_t)r);
	}
	secret_mask_buf(&b, &j->cmd.redact);
	if (b.len && j->log_fd >= 0 && write(j->log_fd, b.s, b.len) < 0)
		fx_debug("%s: %s", j->log_path, strerror(errno));
	if (into) {
		buf_reset(into);
		if (b.len)
			buf_add(into, b.s, b.len);
	}
	buf_free(&b);
}

/* Is the file system that holds fd full? (One with no size limit, like
 * the one behind a memfd, never is.) */
static bool
fs_full(int fd)
{
	struct statvfs v;

	if (fd < 0 || fstatvfs(fd, &v) < 0 || v.f_blocks == 0)
		return false;
	return (geteuid() == 0 ? v.f_bfree : v.f_bavail) == 0;
}

/*
 * A tool that writes its output or log onto a full disk may not say so,
 * or may exit 0 with the output cut short: when the file system of the
 * output file or the log is full once the command is done, the step fails,
 * naming the file, and nothing is recorded from it.
 */
static char *
disk_full(const struct job *j)
{
	if (j->cmd.stdout_path && fs_full(j->out_fd))
		return xasprintf("%s: no space left on device", j->cmd.stdout_path);
	if (fs_full(j->log_fd))
		return xasprintf("%s: no space left on device", j->log_path);
	return NULL;
}

/* Ask the kind for the next step and act on it. */
static void
advance(struct sched *s, struct job *j, int status)
{
	struct fx_output out = {0};
	struct fx_buf msg = {0};
	struct fx_node *n = j->n;
	char *full = disk_full(j);

	buf_reset(&j->cmd.out);
	if (j->out_fd >= 0) {
		if (j->cmd.capture || (j->cmd.redact.n && !j->cmd.stdout_path))
			collect(j, j->out_fd, j->cmd.capture ? &j->cmd.out : NULL);
		close(j->out_fd);
		j->out_fd = -1;
	}
	if (j->err_fd >= 0) {
		collect(j, j->err_fd, NULL);
		close(j->err_fd);
		j->err_fd = -1;
	}
	remove_files(j);
	strv_free(&j->cmd.redact);
	strv_free(&j->cmd.argv);
	free(j->cmd.stdout_path);
	j->cmd.stdout_path = NULL;
	j->cmd.capture = false;
	j->pid = 0;
	save_running(s);
	if (s->interrupted || full) {
		fail_job(s, j, full ? full : "interrupted");
		free(full);
		return;
	}
	enum fx_step next = n->kind->step(n, s->x->ev->ctx, j->step++, status, &j->cmd, &out, &msg);
	buf_free(&j->cmd.out);	/* handed to this step only */
	switch (next) {
	case FX_STEP_RUN:
		if (spawn(s, j, &msg) == 0)
			break;
		/* fall through */
	case FX_STEP_FAIL:
		fail_job(s, j, msg.len ? msg.s : "failed");
		break;
	case FX_STEP_DONE:
		succeed_job(s, j, &out);
		break;
	}
	buf_free(&msg);
}

static struct job *
free_slot(struct sched *s)
{
	for (int i = 0; i < s->x->jobs; i++)
		if (!s->jobs[i].n)
			return &s->jobs[i];
	return NULL;
}

/* Decide a ready node, once: its inputs are known now. A fresh node is
 * finished at once (cut off if something upstream ran); a stale one keeps
 * its manifest until a job slot takes it. Returns true if it finished. */
static bool
decide(struct sched *s, struct fx_node *n)
{
	struct fx_manifest *m = NULL;

	s->decided[n->index] = true;
	stale_decide(n, s->x->ev, &m);
	if (n->state != FX_FRESH) {
		s->manifests[n->index] = m;
		return false;
	}
	manifest_free(m);
	finish(s, n, s->upstream_ran[n->index] ? FX_CUTOFF : FX_FRESH_RESULT, 0);
	return true;
}

/* The node's log, truncated for this run, its directory made if need be. */
static int
open_log(struct job *j, struct fx_buf *msg)
{
	char *dir = path_dir(j->log_path);
	int rc = statedir_mkdir(dir);

	if (rc < 0)
		buf_printf(msg, "%s: %s", dir, strerror(errno));
	free(dir);
	if (rc < 0)
		return -1;
	j->log_fd = statedir_open(j->log_path, O_WRONLY | O_TRUNC | O_APPEND);
	if (j->log_fd < 0) {
		buf_printf(msg, "%s: %s", j->log_path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Run a stale node in a free job slot. */
static void
start(struct sched *s, struct fx_node *n)
{
	struct fx_manifest *m = s->manifests[n->index];
	struct job *j = free_slot(s);

	s->manifests[n->index] = NULL;
	*j = (struct job){.n = n, .log_fd = -1, .out_fd = -1, .err_fd = -1, .manifest = m,
	    .started = now_mono()};
	j->log_path = exec_log_path(s->x->statedir, n->id);
	s->nrunning++;
	s->phase[n->index] = RUNNING;
	report_start(s->x->report, n->id, n->kind->name, n->target);
	struct fx_buf msg = {0};
	if (open_log(j, &msg) < 0) {
		fail_job(s, j, msg.s);
		buf_free(&msg);
		return;
	}
	dprintf(j->log_fd, "# %s: %s\n", n->id, n->reason ? n->reason : "stale");
	/* Inputs that could not be computed fail the node, after its log was
	 * truncated: the tail shown must be this run's, not the last one's. */
	if (!m) {
		fail_job(s, j, n->reason ? n->reason : "cannot compute inputs");
		return;
	}
	advance(s, j, 0);
}

static void
unready(struct sched *s, size_t i)
{
	memmove(&s->ready[i], &s->ready[i + 1], (s->nready - i - 1) * sizeof(*s->ready));
	s->nready--;
}

/* Start what may start. Fresh nodes need no job slot: they are decided and
 * finished even while every slot is busy; stale ones wait for a slot and
 * for their kind's limit. */
static void
dispatch(struct sched *s)
{
	bool progress = true;

	while (progress && !s->stopping) {
		progress = false;
		for (size_t i = 0; i < s->nready && !s->stopping; i++) {
			struct fx_node *n = s->ready[i];
			/* A fresh node's finish only appends to the ready list, so
			 * ready[i] is still n afterwards. */
			if (!s->decided[n->index] && decide(s, n)) {
				unready(s, i);
				progress = true;
				break;	/* the ready list changed: rescan */
			}
			/* Deciding may have asked a tool (the cluster identity),
			 * which a Ctrl-C cut short: start nothing more. */
			if (got_signal) {
				interrupt(s);
				break;
			}
			int lim = limit_of(s, n->kind);
			if (s->nrunning >= s->x->jobs || (lim > 0 && running_of(s, n->kind) >= lim))
				continue;
			unready(s, i);
			start(s, n);
			progress = true;
			break;
		}
	}
}

static void
reap(struct sched *s)
{
	for (int i = 0; i < s->x->jobs; i++) {
		struct job *j = &s->jobs[i];
		int ws;
		if (!j->n || j->pid <= 0)
			continue;
		pid_t r = waitpid(j->pid, &ws, WNOHANG);
		if (r == j->pid)
			advance(s, j, proc_status(ws));
	}
}

static void
interrupt(struct sched *s)
{
	if (!s->interrupted) {
		s->interrupted = s->stopping = true;
		s->kill_at = now_mono() + (s->x->grace_ms > 0 ? s->x->grace_ms : 1500) / 1000.0;
		for (int i = 0; i < s->x->jobs; i++)
			if (s->jobs[i].n)
				proc_kill(s->jobs[i].pid, SIGTERM);
	} else if (!s->killed && now_mono() >= s->kill_at) {
		s->killed = true;
		for (int i = 0; i < s->x->jobs; i++)
			if (s->jobs[i].n)
				proc_kill(s->jobs[i].pid, SIGKILL);
	}
}

static void
wait_event(struct sched *s)
{
	struct pollfd p = {sigpipe[0], POLLIN, 0};
	char drainbuf[64];

	if (poll(&p, 1, 100) > 0)
		while (read(sigpipe[0], drainbuf, sizeof drainbuf) > 0)
			;
	if (got_signal)
		interrupt(s);
	report_tick(s->x->report);
}

static void
init(struct sched *s)
{
	struct fx_graph *g = s->g;

	s->phase = xcalloc(g->n, sizeof(*s->phase));
	s->waiting = xcalloc(g->n, sizeof(*s->waiting));
	s->upstream_ran = xcalloc(g->n, sizeof(*s->upstream_ran));
	s->ready = xcalloc(g->n + 1, sizeof(*s->ready));
	s->decided = xcalloc(g->n + 1, sizeof(*s->decided));
	s->manifests = xcalloc(g->n + 1, sizeof(*s->manifests));
	s->jobs = xcalloc((size_t)s->x->jobs, sizeof(*s->jobs));
	for (int i = 0; i < s->x->jobs; i++)
		s->jobs[i] = (struct job){.log_fd = -1, .out_fd = -1, .err_fd = -1};
	for (size_t i = 0; s->x->results && i < g->n; i++)
		s->x->results[i] = -1;
	for (size_t i = 0; i < g->n; i++) {
		struct fx_node *n = g->nodes[i];
		if (!n->selected)
			continue;
		for (size_t j = 0; j < n->ndeps; j++)
			s->waiting[i] += n->deps[j]->selected;
		for (size_t j = 0; j < n->nafter; j++)
			s->waiting[i] += n->after[j]->selected;
	}
	for (size_t i = 0; i < g->n; i++)
		if (g->nodes[i]->selected && s->waiting[i] == 0)
			make_ready(s, g->nodes[i]);
}

static void
cleanup(struct sched *s)
{
	free(s->phase);
	free(s->waiting);
	free(s->upstream_ran);
	free(s->ready);
	for (size_t i = 0; i < s->g->n; i++)
		manifest_free(s->manifests[i]);
	free(s->manifests);
	free(s->decided);
	free(s->jobs);
}

int
exec_run(struct fx_graph *g, struct fx_exec *x, struct fx_run_counts *k)
{
	struct sched s = {.g = g, .x = x, .k = k};
	struct sigaction saved[4];

	*k = (struct fx_run_counts){0};
	if (pipe2(sigpipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		fx_error("pipe: %s", strerror(errno));
		return FX_EXIT_FAILED;
	}
	s.running = running_begin(x->statedir);
	got_signal = 0;
	signals(true, saved);
	/* A query inside the scheduler (the cluster identity, --verify's
	 * listings) ends at Ctrl-C too. */
	proc_interrupt_on(&got_signal, x->grace_ms);
	init(&s);
	for (;;) {
		if (got_signal)
			interrupt(&s);
		dispatch(&s);
		if (s.nrunning == 0 && (s.stopping || s.nready == 0))
			break;
		wait_event(&s);
		reap(&s);
	}
	/* What never started because the run stopped is skipped. */
	for (size_t i = 0; i < g->n; i++) {
		enum phase p = s.phase[i];
		if (g->nodes[i]->selected && (p == WAITING || p == READY))
			finish(&s, g->nodes[i], FX_SKIPPED, 0);
	}
	proc_interrupt_on(NULL, 0);
	running_end(s.running);
	signals(false, saved);
	close(sigpipe[0]);
	close(sigpipe[1]);
	sigpipe[0] = sigpipe[1] = -1;
	cleanup(&s);
	if (s.interrupted)
		return FX_EXIT_INTERRUPTED;
	return k->failed || k->skipped ? FX_EXIT_FAILED : FX_EXIT_OK;
}
