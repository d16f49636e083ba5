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
#include "fusion/share.h"

enum phase { WAITING, READY, LOOKING, RUNNING, DONE, FAILED, SKIPPED, STOPPED };

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
	struct fx_share_job sj;	/* what the slot does next (share.h) */

	/* Following the running command (fx_cmd.watch_ms, fx_kind.watch). */
	pid_t probe;		/* the probe in flight, 0 if none */
	int probe_fd;		/* its stdout, in memory */
	double probe_at;	/* when the next may start */
	bool probe_shown;	/* its command line is in the log */
	double stop_at;		/* > 0: when the kind had the command stopped (SIGTERM) */
	bool stop_killed;	/* ... and it got SIGKILL after STOP_GRACE */
};

/*
 * How long a command told to stop (its kind's probe saw it cannot
 * succeed) has to go before SIGKILL. Longer than Ctrl-C's grace: nobody is
 * waiting at a keyboard, and helm needs the time to record the release
 * as failed (helm/helm#9180); killed before that, the release stays
 * pending-upgrade and refuses every later upgrade (helm/helm#4558).
 */
#define STOP_GRACE 10.0

struct sched;

/*
 * The decided stale nodes of one kind waiting for a job slot, oldest
 * first, linked through sched.qnext by node index. A start looks at the
 * head of each kind's queue only (there are a handful of kinds), not at
 * every waiting node: with thousands of builds waiting on their limit,
 * scanning them all at every event made the run quadratic.
 */
struct kindq {
	const struct fx_kind *kind;
	int limit;		/* limit_of(): 0 is none */
	int32_t head, tail;	/* node indexes; -1 when empty */
};

struct sched {
	struct fx_graph *g;
	struct fx_exec *x;
	struct fx_run_counts *k;
	enum phase *phase;
	int *waiting;		/* unfinished predecessors per node */
	bool *upstream_ran;	/* an input edge produced something this run */
	/* One of the report's total: stale or pending when the run began, or
	 * found stale when decided (the total grew by one). */
	bool *counted;
	size_t nready;		/* nodes in phase READY: undecided or queued */
	/* Ready nodes not decided yet, in the order they became ready (each
	 * node passes through once). */
	struct fx_node **undecided;
	size_t uhead, utail;
	/* Decided stale nodes waiting for a job slot: a queue per kind. */
	struct kindq *kq;
	size_t nkq;
	int32_t *qnext;		/* per node: the next in its kind's queue, or -1 */
	uint64_t *seq;		/* per node: when it became ready (for FIFO) */
	uint64_t nseq;
	bool *decided;		/* stale_decide has run for the node */
	struct fx_manifest **manifests;	/* of decided stale nodes not yet started */
	struct job *jobs;	/* x->jobs slots */
	int nrunning;
	struct fx_share *share;	/* the shared cache, or NULL */
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

/* The queue of n's kind, made on first use. */
static struct kindq *
queue_of(struct sched *s, const struct fx_kind *kind)
{
	for (size_t i = 0; i < s->nkq; i++)
		if (s->kq[i].kind == kind)
			return &s->kq[i];
	s->kq = xreallocarray(s->kq, s->nkq + 1, sizeof(*s->kq));
	s->kq[s->nkq] = (struct kindq){kind, limit_of(s, kind), -1, -1};
	return &s->kq[s->nkq++];
}

static void
enqueue(struct sched *s, struct fx_node *n)
{
	struct kindq *q = queue_of(s, n->kind);
	int32_t i = (int32_t)n->index;

	s->qnext[i] = -1;
	if (q->tail >= 0)
		s->qnext[q->tail] = i;
	else
		q->head = i;
	q->tail = i;
}

/* The oldest waiting node whose kind is under its limit, taken off its
 * queue; NULL if no slot is free or none may start. */
static struct fx_node *
dequeue(struct sched *s)
{
	struct kindq *best = NULL;

	if (s->nrunning >= s->x->jobs)
		return NULL;
	for (size_t i = 0; i < s->nkq; i++) {
		struct kindq *q = &s->kq[i];
		if (q->head < 0 || (q->limit > 0 && running_of(s, q->kind) >= q->limit))
			continue;
		if (!best || s->seq[q->head] < s->seq[best->head])
			best = q;
	}
	if (!best)
		return NULL;
	int32_t i = best->head;
	best->head = s->qnext[i];
	if (best->head < 0)
		best->tail = -1;
	return s->g->nodes[i];
}

/* n may run once what it needs is decided: a node decided already (back
 * from a lookup that missed, or with a blob to unpack) waits for a slot. */
static void
make_ready(struct sched *s, struct fx_node *n)
{
	s->phase[n->index] = READY;
	s->seq[n->index] = s->nseq++;
	s->nready++;
	if (s->decided[n->index])
		enqueue(s, n);
	else
		s->undecided[s->utail++] = n;
}

static void finish(struct sched *s, struct fx_node *n, enum fx_result res, double secs);
static void interrupt(struct sched *s);

/* Only nodes still waiting for what they need are skipped (finish()). */
static void
skip(struct sched *s, struct fx_node *n)
{
	if (s->phase[n->index] != WAITING)
		return;
	finish(s, n, FX_SKIPPED, 0);
}

/* A node is finished: tell the report, the database and its successors. */
static void
finish(struct sched *s, struct fx_node *n, enum fx_result res, double secs)
{
	bool ok = res != FX_FAILED && res != FX_SKIPPED;

	s->phase[n->index] = res == FX_FAILED ? FAILED : res == FX_SKIPPED ? SKIPPED :
	    res == FX_INTERRUPTED ? STOPPED : DONE;
	result_count(s->k, res);
	if (s->x->results)
		s->x->results[n->index] = (int)res;
	if (res == FX_FRESH_RESULT && s->counted[n->index]) {
		/* Pending, but nothing it takes moved: it will not run after
		 * all, and leaves the total (as ninja's restat does). */
		s->counted[n->index] = false;
		report_add_total(s->x->report, -1);
	} else if (res != FX_FRESH_RESULT) {
		report_finish(s->x->report, n->id, n->kind->name, n->target, res, secs,
		    s->counted[n->index]);
		if (res != FX_RAN && res != FX_CACHED)	/* recorded with its node row */
			cache_put_result(s->x->cache, s->x->run_id, n->id, result_name(res), secs);
	}
	/* What waits for a stopped node has no result: nothing of it failed. */
	if (res == FX_INTERRUPTED)
		return;
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

/* A lookup in the shared cache ended: n may start now (it restores what
 * came, or runs), unless the cache was required and failed. */
static void
looked(void *arg, struct fx_node *n, const char *fail, double secs)
{
	struct sched *s = arg;

	if (fail) {
		report_failure(s->x->report, n->id, fail, NULL, NULL, 0);
		finish(s, n, FX_FAILED, secs);
		return;
	}
	make_ready(s, n);
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

/* A probe in flight goes (killed: its answer is no longer wanted). */
static void
probe_cancel(struct job *j)
{
	if (j->probe > 0) {
		proc_kill(j->probe, SIGKILL);
		while (waitpid(j->probe, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (j->probe_fd >= 0)
		close(j->probe_fd);
	j->probe = 0;
	j->probe_fd = -1;
}

static void
job_clear(struct job *j)
{
	probe_cancel(j);
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
	buf_free(&j->cmd.detail);
	manifest_free(j->manifest);
	free(j->log_path);
	share_job_clear(&j->sj);
	*j = (struct job){.log_fd = -1, .out_fd = -1, .err_fd = -1, .probe_fd = -1};
}

static void
release_job(struct sched *s, struct job *j)
{
	job_clear(j);
	s->nrunning--;
}

static void
fail_job(struct sched *s, struct job *j, const char *msg)
{
	struct fx_node *n = j->n;
	double secs = now_mono() - j->started;

	if (s->phase[n->index] != RUNNING) {	/* packing: finished already */
		release_job(s, j);
		return;
	}
	if (j->log_fd >= 0)
		dprintf(j->log_fd, "fusion: %s\n", msg);
	/* After Ctrl-C every running node fails at once: their log tails
	 * would only bury the one line that matters. A message that says all
	 * needs no tail of the log (which holds it too). */
	report_failure(s->x->report, n->id, msg, j->cmd.detail.s,
	    s->interrupted ? NULL : j->log_path, j->cmd.said_all ? 0 : 20);
	release_job(s, j);
	finish(s, n, FX_FAILED, secs);
}

/* A signal stopped the node while it ran: interrupted, not failed (the
 * run's own message says so once, not a line per node). */
static void
stop_job(struct sched *s, struct job *j)
{
	struct fx_node *n = j->n;
	double secs = now_mono() - j->started;

	if (s->phase[n->index] != RUNNING) {	/* packing: finished already */
		release_job(s, j);
		return;
	}
	if (j->log_fd >= 0)
		dprintf(j->log_fd, "fusion: interrupted\n");
	release_job(s, j);
	finish(s, n, FX_INTERRUPTED, secs);
}

/* Record the node's success (ran, or restored from the shared cache) and
 * finish it; the job slot stays taken. */
static void
record(struct sched *s, struct job *j, struct fx_output *out, enum fx_result res)
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
	if (cache_put_success(s->x->cache, &r, manifest, result_name(res)) < 0)
		fx_warn("%s: could not record the result; it will run again next time", n->id);
	free(manifest);
	free(log);
	finish(s, n, res, secs);
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
	j->pid = proc_start_stamped(argv, j->out_fd >= 0 ? j->out_fd : j->log_fd,
	    j->err_fd >= 0 ? j->err_fd : j->log_fd, msg, &j->starttime);
	if (j->pid < 0)
		return -1;
	j->probe_at = now_mono() + j->cmd.watch_ms / 1000.0;
	j->stop_at = 0;
	j->stop_killed = false;
	save_running(s);
	return 0;
}

/*
 * ---- Following a running command (fx_kind.watch) ----
 *
 * The probes are not in STATEDIR/running: each is a short query, a direct
 * child that the kernel kills with fusion (PR_SET_PDEATHSIG), and one
 * every second would rewrite that file every second.
 */

/* Start the next probe of j's command, if its kind wants one now. */
static void
probe_start(struct sched *s, struct job *j)
{
	struct fx_strv argv = {0};
	struct fx_buf msg = {0}, line = {0};
	const struct fx_kind *k = j->n->kind;

	j->probe_at = now_mono() + j->cmd.watch_ms / 1000.0;
	if (!k->watch || !k->watch(j->n, s->x->ev->ctx, &argv) || !argv.n) {
		strv_free(&argv);
		return;
	}
	char **av = strv_argv(&argv);
	if (!j->probe_shown) {
		proc_format(&line, av);
		dprintf(j->log_fd, "$ %s  # every %.1fs while %s runs; read by fusion, not logged\n",
		    line.s, j->cmd.watch_ms / 1000.0, j->cmd.argv.v[0]);
		j->probe_shown = true;
	}
	j->probe_fd = memfd_create("fusion-probe", MFD_CLOEXEC);
	if (j->probe_fd >= 0)
		j->probe = proc_start(av, j->probe_fd, -1, &msg);
	if (j->probe_fd < 0 || j->probe < 0) {
		/* Following is a help, not a need: the command goes on alone. */
		dprintf(j->log_fd, "fusion: cannot follow %s: %s\n", j->cmd.argv.v[0],
		    msg.len ? msg.s : strerror(errno));
		j->cmd.watch_ms = 0;
		probe_cancel(j);
	}
	strv_free(&argv);
	buf_free(&msg);
	buf_free(&line);
}

/* j's probe ended with wait status ws: its kind reads it, and may have the
 * command stopped. */
static void
probe_end(struct sched *s, struct job *j, int ws)
{
	struct fx_buf out = {0};
	char *data;
	size_t len;

	j->probe = 0;
	if (lseek(j->probe_fd, 0, SEEK_SET) == 0 && read_fd(j->probe_fd, SIZE_MAX, &data, &len) == 0)
		out = (struct fx_buf){.s = data, .len = len, .cap = len + 1};
	close(j->probe_fd);
	j->probe_fd = -1;
	j->probe_at = now_mono() + j->cmd.watch_ms / 1000.0;
	bool stop = j->n->kind->watched(j->n, s->x->ev->ctx, proc_status(ws), &out);
	buf_free(&out);
	if (stop && j->pid > 0 && j->stop_at == 0) {
		dprintf(j->log_fd, "fusion: stopping %s (SIGTERM to its process group)\n",
		    j->cmd.argv.v[0]);
		proc_kill(j->pid, SIGTERM);
		j->stop_at = now_mono();
	}
}

/* Start the probes that are due; SIGKILL a stopped command that is
 * still there after STOP_GRACE. */
static void
watch_tick(struct sched *s)
{
	double now = now_mono();

	for (int i = 0; i < s->x->jobs; i++) {
		struct job *j = &s->jobs[i];
		if (!j->n || j->pid <= 0)
			continue;
		if (j->stop_at > 0) {
			if (!j->stop_killed && now >= j->stop_at + STOP_GRACE) {
				proc_kill(j->pid, SIGKILL);
				j->stop_killed = true;
			}
			continue;
		}
		if (j->cmd.watch_ms > 0 && j->probe == 0 && now >= j->probe_at && !s->interrupted)
			probe_start(s, j);
	}
}

/* The most of a captured output that goes into the log: a listing of every
 * image in the cluster comes back once a load, and logged whole it made
 * the logs of a run grow with the square of the services (180 MB on 2,000
 * services, each log holding the whole cluster). */
#define LOG_CAPTURED_MAX 8192

/* Write a command's output b into the log: all of it, but of a captured
 * one (read by the next step) its start only, up to a line end, and how
 * much was left out. */
static void
log_output(struct job *j, const struct fx_buf *b, bool captured)
{
	size_t n = b->len;

	if (!n || j->log_fd < 0)
		return;
	if (captured && n > LOG_CAPTURED_MAX) {
		n = LOG_CAPTURED_MAX;
		while (n > 0 && b->s[n - 1] != '\n')
			n--;
		if (n == 0)
			n = LOG_CAPTURED_MAX;
	}
	if (write(j->log_fd, b->s, n) < 0)
		fx_debug("%s: %s", j->log_path, strerror(errno));
	if (n < b->len)
		dprintf(j->log_fd, "%s[fusion: %zu more bytes of this output, read by fusion, not logged]\n",
		    b->s[n - 1] == '\n' ? "" : "\n", b->len - n);
}

/* What a command wrote to a file in memory (fd): into the log, where a
 * command's output always goes, its secrets masked; and into *into for
 * the next step, if asked. */
static void
collect(struct job *j, int fd, struct fx_buf *into)
{
	char *data;
	size_t len;

	/* read_fd sizes its read by fstat: a listing of every image in the
	 * cluster comes back here once a load. */
	if (lseek(fd, 0, SEEK_SET) < 0 || read_fd(fd, SIZE_MAX, &data, &len) < 0)
		return;
	struct fx_buf b = {.s = data, .len = len, .cap = len + 1};
	secret_mask_buf(&b, &j->cmd.redact);
	log_output(j, &b, into != NULL);
	if (into) {
		buf_free(into);
		*into = b;	/* handed over, not copied */
		return;
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

/*
 * ---- Running a job ----
 */

static void
reset_cmd(struct job *j)
{
	remove_files(j);
	strv_free(&j->cmd.redact);
	strv_free(&j->cmd.argv);
	free(j->cmd.stdout_path);
	j->cmd.stdout_path = NULL;
	j->cmd.capture = false;
	j->cmd.watch_ms = 0;
	j->stop_at = 0;
}

/* Ask for the next step and act on it. */
static void
advance(struct sched *s, struct job *j, int status)
{
	struct fx_buf msg = {0};
	char *full = disk_full(j);

	probe_cancel(j);
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
	reset_cmd(j);
	j->pid = 0;
	save_running(s);
	if (full) {
		fail_job(s, j, full);
		free(full);
		return;
	}
	if (s->interrupted) {
		stop_job(s, j);
		return;
	}
	for (;;) {
		struct fx_output out = {0};
		enum fx_result res = FX_RAN;
		buf_reset(&msg);
		enum fx_share_next next = share_next(s->share, &j->sj, s->x->ev->ctx, status,
		    &j->cmd, &out, &res, &msg);
		buf_free(&j->cmd.out);	/* handed to this step only */
		status = 0;
		if (next == FX_SHARE_SPAWN) {
			if (spawn(s, j, &msg) == 0)
				break;
			next = share_failed(s->share, &j->sj, &msg);
		}
		if (next == FX_SHARE_FAIL) {
			fail_job(s, j, msg.len ? msg.s : "failed");
			break;
		}
		if (next == FX_SHARE_FREE) {
			release_job(s, j);
			break;
		}
		if (next == FX_SHARE_RECORD)
			record(s, j, &out, res);
		reset_cmd(j);	/* the slot goes on: from a clean command */
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
		/* Fresh when the run began, stale now (the cluster was
		 * recreated): one more for the counter's total. */
		if (!s->counted[n->index]) {
			s->counted[n->index] = true;
			report_add_total(s->x->report, 1);
		}
		s->manifests[n->index] = m;
		return false;
	}
	manifest_free(m);
	finish(s, n, s->upstream_ran[n->index] ? FX_CUTOFF : FX_FRESH_RESULT, 0);
	return true;
}

/* The node's log, truncated for this run, its directory made if it is not
 * there (tried first without: the directory is there but for the first
 * node of a fresh state directory). */
static int
open_log(struct job *j, struct fx_buf *msg)
{
	j->log_fd = statedir_open(j->log_path, O_WRONLY | O_TRUNC | O_APPEND);
	if (j->log_fd < 0 && errno == ENOENT) {
		char *dir = path_dir(j->log_path);
		int rc = statedir_mkdir(dir);
		if (rc < 0)
			buf_printf(msg, "%s: %s", dir, strerror(errno));
		free(dir);
		if (rc < 0)
			return -1;
		j->log_fd = statedir_open(j->log_path, O_WRONLY | O_TRUNC | O_APPEND);
	}
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
	double looked_at;
	bool announced = share_announced(s->share, n, &looked_at);

	s->manifests[n->index] = NULL;
	*j = (struct job){.n = n, .log_fd = -1, .out_fd = -1, .err_fd = -1, .probe_fd = -1,
	    .manifest = m, .started = announced ? looked_at : now_mono()};
	j->log_path = exec_log_path(s->x->statedir, n->id);
	s->nrunning++;
	s->phase[n->index] = RUNNING;
	if (!announced)
		report_start(s->x->report, n->id, n->kind->name, n->target);
	struct fx_buf msg = {0};
	if (open_log(j, &msg) < 0) {
		fail_job(s, j, msg.s);
		buf_free(&msg);
		return;
	}
	dprintf(j->log_fd, "# %s: %s\n", n->id, n->reason ? n->reason : "stale");
	share_job_start(s->share, &j->sj, n, j->log_fd);
	/* Inputs that could not be computed fail the node, after its log was
	 * truncated: the tail shown must be this run's, not the last one's. */
	if (!m) {
		fail_job(s, j, n->reason ? n->reason : "cannot compute inputs");
		return;
	}
	advance(s, j, 0);
}

/* Start what may start. Fresh nodes need no job slot: they are decided and
 * finished even while every slot is busy; stale ones wait for a slot and
 * for their kind's limit. A free slot is filled before the next node is
 * decided, so tools start while the rest are being decided. */
static void
dispatch(struct sched *s)
{
	while (!s->stopping) {
		struct fx_node *n = dequeue(s);
		if (n) {
			s->nready--;
			start(s, n);
			continue;
		}
		if (s->uhead == s->utail)
			break;
		n = s->undecided[s->uhead++];
		if (s->phase[n->index] != READY)
			continue;
		if (decide(s, n)) {
			s->nready--;	/* fresh: finished */
			continue;
		}
		/* Deciding may have asked a tool (the cluster identity), which
		 * a Ctrl-C cut short: start nothing more. */
		if (got_signal) {
			enqueue(s, n);
			interrupt(s);
			break;
		}
		if (share_wants_lookup(s->share, n, s->manifests[n->index] != NULL)) {
			s->nready--;
			s->phase[n->index] = LOOKING;	/* before the lookup may end */
			share_lookup(s->share, n);
			continue;
		}
		enqueue(s, n);
	}
}

static void
reap(struct sched *s)
{
	for (int i = 0; i < s->x->jobs; i++) {
		struct job *j = &s->jobs[i];
		int ws;
		if (j->n && j->probe > 0 && waitpid(j->probe, &ws, WNOHANG) == j->probe)
			probe_end(s, j, ws);
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
		share_cancel(s->share);
		s->kill_at = now_mono() + (s->x->grace_ms > 0 ? s->x->grace_ms : 1500) / 1000.0;
		for (int i = 0; i < s->x->jobs; i++) {
			if (s->jobs[i].n)
				proc_kill(s->jobs[i].pid, SIGTERM);
			if (s->jobs[i].n && s->jobs[i].probe > 0)
				proc_kill(s->jobs[i].probe, SIGKILL);
		}
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

	if (!share_wait(s->share, sigpipe[0], 100))	/* waits on the pipe too */
		poll(&p, 1, 100);
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
	s->counted = xcalloc(g->n + 1, sizeof(*s->counted));
	s->undecided = xcalloc(g->n + 1, sizeof(*s->undecided));
	s->qnext = xcalloc(g->n + 1, sizeof(*s->qnext));
	s->seq = xcalloc(g->n + 1, sizeof(*s->seq));
	s->decided = xcalloc(g->n + 1, sizeof(*s->decided));
	s->manifests = xcalloc(g->n + 1, sizeof(*s->manifests));
	s->jobs = xcalloc((size_t)s->x->jobs, sizeof(*s->jobs));
	struct fx_share_conf sc = {
		.remote = s->x->remote, .push = s->x->push, .required = s->x->remote_required,
		.force = s->x->ev->force, .statedir = s->x->statedir, .g = g,
		.report = s->x->report, .stopping = &s->stopping, .looked = looked, .arg = s,
	};
	s->share = share_open(&sc);
	for (int i = 0; i < s->x->jobs; i++)
		s->jobs[i] = (struct job){.log_fd = -1, .out_fd = -1, .err_fd = -1, .probe_fd = -1};
	for (size_t i = 0; s->x->results && i < g->n; i++)
		s->x->results[i] = -1;
	for (size_t i = 0; i < g->n; i++) {
		struct fx_node *n = g->nodes[i];
		if (!n->selected)
			continue;
		/* The caller's total: what the evaluation found not fresh. */
		s->counted[i] = n->state != FX_FRESH;
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
	free(s->counted);
	free(s->undecided);
	free(s->qnext);
	free(s->seq);
	free(s->kq);
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
		if (s.nrunning == 0 && (s.stopping || s.nready == 0) && !share_busy(s.share))
			break;
		wait_event(&s);
		reap(&s);
		watch_tick(&s);
	}
	/* What never started because the run stopped has no result (skipped
	 * is for what a failure blocked) and leaves the counter's total, but
	 * for a lookup in the shared cache the report announced and a signal
	 * cut short. */
	for (size_t i = 0; i < g->n; i++) {
		double looked_at;
		if (!g->nodes[i]->selected || (s.phase[i] != WAITING && s.phase[i] != READY))
			continue;
		if (s.phase[i] == READY && s.interrupted &&
		    share_announced(s.share, g->nodes[i], &looked_at))
			finish(&s, g->nodes[i], FX_INTERRUPTED, now_mono() - looked_at);
		else if (s.counted[i])
			report_add_total(x->report, -1);
	}
	proc_interrupt_on(NULL, 0);
	running_end(s.running);
	signals(false, saved);
	/* A signal that came after the loop's last look at got_signal (the
	 * work was done) went to our handler, not to the caller's: it is not
	 * lost, the run reports itself interrupted. Lost, a watcher's pass
	 * ending as SIGTERM came went on watching, its stop never seen. */
	if (got_signal)
		s.interrupted = true;
	close(sigpipe[0]);
	close(sigpipe[1]);
	sigpipe[0] = sigpipe[1] = -1;
	bool upload_failed = share_close(s.share);
	cleanup(&s);
	if (s.interrupted)
		return FX_EXIT_INTERRUPTED;
	if (upload_failed && x->remote_required) {
		fx_error("an upload to the shared cache failed (--remote-required)");
		return FX_EXIT_FAILED;
	}
	return k->failed || k->skipped ? FX_EXIT_FAILED : FX_EXIT_OK;
}
