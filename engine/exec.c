/*
 * exec.c - the scheduler (see exec.h).
 */
#include "fusion/exec.h"

#include <dirent.h>
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

enum phase { WAITING, READY, LOOKING, RUNNING, DONE, FAILED, SKIPPED };

/* What a job slot does for its node: the node's action, restoring its
 * output from the shared cache, or packing it for an upload (after the
 * node has finished). */
enum mode { RUN, UNPACK, PACK };

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
	enum mode mode;
	char *blob;		/* PACK: the blob being written */
};

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

/* A node's way through the shared cache. */
struct share {
	struct sched *s;
	struct fx_node *n;
	bool looked;		/* its lookup was made, hit or not */
	bool announced;		/* report_start came with the lookup */
	double started;
	char *blob;		/* downloaded and verified, to unpack */
	struct fx_remote_record rec;
	uint64_t bytes;		/* the download's size and time */
	double seconds;
};

struct sched {
	struct fx_graph *g;
	struct fx_exec *x;
	struct fx_run_counts *k;
	enum phase *phase;
	int *waiting;		/* unfinished predecessors per node */
	bool *upstream_ran;	/* an input edge produced something this run */
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
	struct share *share;	/* per node */
	int nlooking;		/* nodes whose lookup or download is in flight */
	bool remote_down;	/* the cache failed: not asked again this run */
	bool upload_failed;
	char *tmpdir;		/* STATEDIR/tmp: blobs on their way */
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

	s->phase[n->index] = res == FX_FAILED ? FAILED : res == FX_SKIPPED ? SKIPPED : DONE;
	result_count(s->k, res);
	if (s->x->results)
		s->x->results[n->index] = (int)res;
	if (res != FX_FRESH_RESULT) {
		report_finish(s->x->report, n->id, n->kind->name, n->target, res, secs);
		if (res != FX_RAN && res != FX_CACHED)	/* recorded with its node row */
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
	if (j->blob)
		unlink(j->blob);
	free(j->blob);
	*j = (struct job){.log_fd = -1, .out_fd = -1, .err_fd = -1};
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

	if (j->mode == PACK) {		/* the node has finished already */
		release_job(s, j);
		return;
	}
	if (j->log_fd >= 0)
		dprintf(j->log_fd, "fusion: %s\n", msg);
	/* After Ctrl-C every running node fails at once: their log tails
	 * would only bury the one line that matters. */
	report_failure(s->x->report, n->id, msg, s->interrupted ? NULL : j->log_path, 20);
	release_job(s, j);
	finish(s, n, FX_FAILED, secs);
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
	save_running(s);
	return 0;
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
 * ---- The shared cache ----
 */

#define BIG_TRANSFER 4000000	/* bytes: shown with progress, size and rate */

/* A node that holds a secret (local_only) is neither looked up nor
 * pushed: its blob would carry the secret to everyone who reads the
 * cache, and its key is salted per machine anyway. */
static bool
shares(struct sched *s, struct fx_node *n)
{
	return s->x->remote && n->kind->pack && n->kind->unpack && !n->local_only &&
	    (!s->remote_down || s->x->remote_required);
}

/* STATEDIR/tmp/KIND-TARGET.SUFFIX: a blob on its way in or out (podman
 * save refuses a ':' in the file name). */
static char *
blob_path(struct sched *s, struct fx_node *n, const char *suffix)
{
	char *name = xasprintf("%s-%s.%s", n->kind->name, n->target, suffix);
	char *p = path_join(s->tmpdir, name);

	free(name);
	return p;
}

/* The cache itself failed (not one object in it): say so once, and leave
 * it alone for the rest of the run. */
static void
cache_down(struct sched *s, const char *msg)
{
	if (s->remote_down)
		return;
	s->remote_down = true;
	report_clear(s->x->report);
	fx_warn("shared cache: %s; going on without it", msg);
}

static void
fail_node(struct sched *s, struct fx_node *n, const char *msg)
{
	report_failure(s->x->report, n->id, msg, NULL, 0);
	finish(s, n, FX_FAILED, now_mono() - s->share[n->index].started);
}

/* The lookup of n ended without a blob to unpack. A miss runs the node; a
 * fault warns and runs it (with remote_required: fails it). */
static void
fall_back(struct sched *s, struct fx_node *n, enum fx_remote_status st, const char *msg)
{
	bool fault = st != FX_REMOTE_MISSING && st != FX_REMOTE_CANCELLED;

	s->nlooking--;
	if (fault && s->x->remote_required) {
		char *m = xasprintf("shared cache: %s (--remote-required)", msg);
		fail_node(s, n, m);
		free(m);
		return;
	}
	if (st == FX_REMOTE_DOWN) {
		cache_down(s, msg);
	} else if (fault) {
		report_clear(s->x->report);
		fx_warn("%s: shared cache: %s; running it here", n->id, msg);
	}
	make_ready(s, n);
}

static void
on_blob(void *arg, const struct fx_remote_res *res)
{
	struct share *sh = arg;

	if (res->status != FX_REMOTE_OK) {
		free(sh->blob);
		sh->blob = NULL;
		fall_back(sh->s, sh->n, res->status, res->msg);
		return;
	}
	sh->bytes = res->bytes;
	sh->seconds = res->seconds;
	sh->s->nlooking--;
	make_ready(sh->s, sh->n);	/* start() unpacks sh->blob */
}

static void
on_record(void *arg, const struct fx_remote_res *res)
{
	struct share *sh = arg;
	struct sched *s = sh->s;
	struct fx_node *n = sh->n;
	struct fx_buf msg = {0};

	if (res->status == FX_REMOTE_MISSING)
		fx_debug("%s: not in the shared cache (lookup %.1f ms)", n->id, res->seconds * 1000);
	if (res->status != FX_REMOTE_OK || s->stopping) {
		fall_back(s, n, s->stopping ? FX_REMOTE_CANCELLED : res->status, res->msg);
		return;
	}
	if (remote_record_parse(res->body, res->len, &sh->rec, &msg) < 0 ||
	    strcmp(sh->rec.node, n->id) != 0) {
		char ac[FX_SHA256_HEX];
		remote_ac_name(n->id, n->key, ac);
		char *m = xasprintf("%s/ac/%s: %s", remote_url(s->x->remote), ac,
		    msg.len ? msg.s : "the record of another node");
		remote_record_free(&sh->rec);
		fall_back(s, n, FX_REMOTE_CORRUPT, m);
		free(m);
		buf_free(&msg);
		return;
	}
	sh->blob = blob_path(s, n, "blob");
	struct fx_remote_req req = {
		.op = FX_REMOTE_GET, .area = "cas", .name = sh->rec.blob, .path = sh->blob,
		.sha256 = sh->rec.blob, .size = sh->rec.size, .label = n->id,
		.done = on_blob, .arg = sh,
	};
	remote_start(s->x->remote, &req);
}

/* Look a stale node up, without a job slot: GET ac/NAME, then its blob. */
static void
lookup(struct sched *s, struct fx_node *n)
{
	struct share *sh = &s->share[n->index];
	char ac[FX_SHA256_HEX];

	sh->looked = sh->announced = true;
	sh->started = now_mono();
	s->phase[n->index] = LOOKING;
	s->nlooking++;
	report_start(s->x->report, n->id, n->kind->name, n->target);
	if (s->remote_down) {		/* and --remote-required */
		fall_back(s, n, FX_REMOTE_DOWN, "it failed earlier in this run");
		return;
	}
	remote_ac_name(n->id, n->key, ac);
	struct fx_remote_req req = {
		.op = FX_REMOTE_GET, .area = "ac", .name = ac, .label = n->id,
		.done = on_record, .arg = sh,
	};
	remote_start(s->x->remote, &req);
}

static bool
wants_lookup(struct sched *s, struct fx_node *n)
{
	return shares(s, n) && !s->share[n->index].looked && !s->x->ev->force && n->key[0] &&
	    s->manifests[n->index];
}

/* One line for a large transfer, once it is over. */
static void
transfer_note(struct sched *s, const char *what, const char *id, uint64_t bytes, double secs)
{
	char size[32], rate[32];

	if (bytes < BIG_TRANSFER)
		return;
	remote_format_bytes(bytes, size, sizeof size);
	remote_format_bytes((uint64_t)((double)bytes / (secs > 0.001 ? secs : 0.001)), rate,
	    sizeof rate);
	char *line = xasprintf("%s %s %s the shared cache: %s in %.1fs (%s/s)", what, id,
	    strcmp(what, "uploaded") ? "from" : "to", size, secs, rate);
	report_note(s->x->report, line);
	free(line);
}

/* The status line's part for the largest transfer in flight. */
static void
show_transfer(struct sched *s)
{
	struct fx_remote_progress p;
	char done[32], total[32], rate[32];

	if (!s->x->remote || !remote_progress(s->x->remote, &p) || p.total < BIG_TRANSFER) {
		report_transfer(s->x->report, NULL);
		return;
	}
	remote_format_bytes(p.done, done, sizeof done);
	remote_format_bytes(p.total, total, sizeof total);
	remote_format_bytes((uint64_t)((double)p.done / (p.seconds > 0.001 ? p.seconds : 0.001)),
	    rate, sizeof rate);
	char *text = xasprintf("%s %s %s of %s at %s/s", p.op == FX_REMOTE_PUT ? "uploading" :
	    "restoring", p.label, done, total, rate);
	report_transfer(s->x->report, text);
	free(text);
}

/* An upload: the blob to cas/ unless it is there, then the record to ac/. */
struct upload {
	struct sched *s;
	char *id;
	char *blob;
	char sha[FX_SHA256_HEX];
	uint64_t size;
	char ac[FX_SHA256_HEX];
	struct fx_buf record;
	uint64_t bytes;
	double seconds;
};

static void
upload_free(struct upload *u)
{
	unlink(u->blob);
	free(u->blob);
	free(u->id);
	buf_free(&u->record);
	free(u);
}

static void
upload_fault(struct upload *u, const struct fx_remote_res *res)
{
	struct sched *s = u->s;

	if (res->status != FX_REMOTE_CANCELLED) {
		s->upload_failed = true;
		if (res->status == FX_REMOTE_DOWN) {
			cache_down(s, res->msg);
		} else {
			report_clear(s->x->report);
			fx_warn("%s: upload to the shared cache: %s", u->id, res->msg);
		}
	}
	upload_free(u);
}

static void
on_ac_put(void *arg, const struct fx_remote_res *res)
{
	struct upload *u = arg;

	if (res->status != FX_REMOTE_OK) {
		upload_fault(u, res);
		return;
	}
	transfer_note(u->s, "uploaded", u->id, u->bytes, u->seconds);
	upload_free(u);
}

static void
put_record(struct upload *u)
{
	struct fx_remote_req req = {
		.op = FX_REMOTE_PUT, .area = "ac", .name = u->ac, .data = u->record.s,
		.len = u->record.len, .label = u->id, .done = on_ac_put, .arg = u,
	};
	remote_start(u->s->x->remote, &req);
}

static void
on_cas_put(void *arg, const struct fx_remote_res *res)
{
	struct upload *u = arg;

	if (res->status != FX_REMOTE_OK) {
		upload_fault(u, res);
		return;
	}
	u->bytes = res->bytes;
	u->seconds = res->seconds;
	put_record(u);
}

static void
on_head(void *arg, const struct fx_remote_res *res)
{
	struct upload *u = arg;

	if (res->status == FX_REMOTE_OK) {	/* the same bytes are there */
		put_record(u);
		return;
	}
	if (res->status != FX_REMOTE_MISSING) {
		upload_fault(u, res);
		return;
	}
	struct fx_remote_req req = {
		.op = FX_REMOTE_PUT, .area = "cas", .name = u->sha, .path = u->blob,
		.label = u->id, .done = on_cas_put, .arg = u,
	};
	remote_start(u->s->x->remote, &req);
}

static bool
wants_pack(struct sched *s, struct job *j)
{
	return s->x->push && shares(s, j->n) && !s->remote_down && !s->interrupted;
}

/* The pack step ended (msg: how it failed, or NULL): upload the blob. */
static void
packed(struct sched *s, struct job *j, const char *msg)
{
	struct fx_node *n = j->n;
	struct upload *u;
	char hex[FX_HASH_HEX];

	if (msg) {
		report_clear(s->x->report);
		fx_warn("%s: could not pack it for the shared cache: %s", n->id, msg);
		s->upload_failed = true;
		release_job(s, j);
		return;
	}
	u = xcalloc(1, sizeof(*u));
	u->s = s;
	u->id = xstrdup(n->id);
	u->blob = j->blob;
	j->blob = NULL;
	release_job(s, j);
	if (sha256_file(u->blob, u->sha, &u->size) < 0) {
		report_clear(s->x->report);
		fx_warn("%s: could not read its blob %s: %s", u->id, u->blob, strerror(errno));
		s->upload_failed = true;
		upload_free(u);
		return;
	}
	hash_hex(n->out.hash, hex);
	struct fx_remote_record rec = {
		.node = n->id, .output = n->out.value ? n->out.value : (char *)"",
		.output_hash = hex, .size = u->size,
	};
	memcpy(rec.blob, u->sha, sizeof rec.blob);
	remote_ac_name(n->id, n->key, u->ac);
	if (remote_record_format(&rec, &u->record) < 0) {
		fx_debug("%s: its output cannot be shared (a line break in it)", u->id);
		upload_free(u);
		return;
	}
	struct fx_remote_req req = {
		.op = FX_REMOTE_HEAD, .area = "cas", .name = u->sha, .label = u->id,
		.done = on_head, .arg = u,
	};
	remote_start(s->x->remote, &req);
}

/* The unpacked output must be the one the record names. */
static bool
restored(struct sched *s, struct job *j, struct fx_output *out)
{
	struct share *sh = &s->share[j->n->index];
	char hex[FX_HASH_HEX];

	hash_hex(out->hash, hex);
	if (!out->value || strcmp(out->value, sh->rec.output) || strcmp(hex, sh->rec.output_hash)) {
		report_clear(s->x->report);
		fx_warn("%s: what the shared cache restored is not what its record names; running "
		    "it here", j->n->id);
		return false;
	}
	transfer_note(s, "restored", j->n->id, sh->bytes, sh->seconds);
	record(s, j, out, FX_CACHED);
	return true;
}

/* The blob could not be unpacked: run the node instead, in the same slot. */
static bool
unpack_failed(struct sched *s, struct job *j, const char *msg)
{
	if (s->x->remote_required) {
		char *m = xasprintf("restoring it from the shared cache: %s (--remote-required)",
		    msg);
		fail_job(s, j, m);
		free(m);
		return false;
	}
	report_clear(s->x->report);
	fx_warn("%s: could not restore it from the shared cache (%s); running it here",
	    j->n->id, msg);
	dprintf(j->log_fd, "# %s: running it\n", j->n->id);
	return true;
}

static void
drop_blob(struct sched *s, struct fx_node *n)
{
	struct share *sh = &s->share[n->index];

	if (sh->blob) {
		unlink(sh->blob);
		free(sh->blob);
		sh->blob = NULL;
	}
	remote_record_free(&sh->rec);
}

/* Remove what a killed run left in STATEDIR/tmp. */
static void
clean_tmpdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
}

/*
 * ---- Running a job ----
 */

/* The next step of what the job does. */
static enum fx_step
next_step(struct sched *s, struct job *j, int status, struct fx_output *out,
    struct fx_buf *msg)
{
	struct fx_node *n = j->n;
	void *ctx = s->x->ev->ctx;
	int step = j->step++;

	if (j->mode == UNPACK)
		return n->kind->unpack(n, ctx, step, status, s->share[n->index].blob,
		    s->share[n->index].rec.output, &j->cmd, out, msg);
	if (j->mode == PACK)
		return n->kind->pack(n, ctx, step, status, j->blob, &j->cmd, msg);
	return n->kind->step(n, ctx, step, status, &j->cmd, out, msg);
}

static void
reset_cmd(struct job *j)
{
	remove_files(j);
	strv_free(&j->cmd.redact);
	strv_free(&j->cmd.argv);
	free(j->cmd.stdout_path);
	j->cmd.stdout_path = NULL;
	j->cmd.capture = false;
}

/* Switch the job to another mode, from its first step. */
static void
switch_mode(struct job *j, enum mode m)
{
	j->mode = m;
	j->step = 0;
	reset_cmd(j);
}

/* Ask for the next step and act on it. */
static void
advance(struct sched *s, struct job *j, int status)
{
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
	reset_cmd(j);
	j->pid = 0;
	save_running(s);
	if (s->interrupted || full) {
		fail_job(s, j, full ? full : "interrupted");
		free(full);
		return;
	}
	for (;;) {
		struct fx_output out = {0};
		buf_reset(&msg);
		enum fx_step st = next_step(s, j, status, &out, &msg);
		buf_free(&j->cmd.out);	/* handed to this step only */
		status = 0;
		if (st == FX_STEP_RUN && spawn(s, j, &msg) == 0)
			break;
		const char *why = msg.len ? msg.s : "failed";
		if (st != FX_STEP_DONE && j->mode == UNPACK) {
			drop_blob(s, n);
			if (!unpack_failed(s, j, why))
				break;
			switch_mode(j, RUN);
			continue;
		}
		if (st != FX_STEP_DONE && j->mode == PACK) {
			packed(s, j, why);
			break;
		}
		if (st != FX_STEP_DONE) {
			fail_job(s, j, why);
			break;
		}
		if (j->mode == PACK) {
			packed(s, j, NULL);
			break;
		}
		if (j->mode == UNPACK) {
			bool ok = restored(s, j, &out);
			drop_blob(s, n);
			if (ok) {
				release_job(s, j);
				break;
			}
			free(out.value);
			switch_mode(j, RUN);
			continue;
		}
		record(s, j, &out, FX_RAN);
		if (!wants_pack(s, j)) {
			release_job(s, j);
			break;
		}
		switch_mode(j, PACK);
		j->blob = blob_path(s, n, "pack");
		unlink(j->blob);
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
	struct share *sh = &s->share[n->index];

	s->manifests[n->index] = NULL;
	*j = (struct job){.n = n, .log_fd = -1, .out_fd = -1, .err_fd = -1, .manifest = m,
	    .started = sh->announced ? sh->started : now_mono(),
	    .mode = sh->blob ? UNPACK : RUN};
	j->log_path = exec_log_path(s->x->statedir, n->id);
	s->nrunning++;
	s->phase[n->index] = RUNNING;
	if (!sh->announced)
		report_start(s->x->report, n->id, n->kind->name, n->target);
	struct fx_buf msg = {0};
	if (open_log(j, &msg) < 0) {
		fail_job(s, j, msg.s);
		buf_free(&msg);
		return;
	}
	dprintf(j->log_fd, "# %s: %s\n", n->id, n->reason ? n->reason : "stale");
	if (j->mode == UNPACK)
		dprintf(j->log_fd, "# %s: restoring it from the shared cache (blob %s)\n", n->id,
		    sh->rec.blob);
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
		if (wants_lookup(s, n)) {
			s->nready--;
			lookup(s, n);
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
		if (s->x->remote)
			remote_cancel_all(s->x->remote);
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

	if (s->x->remote)
		remote_wait(s->x->remote, sigpipe[0], 100);	/* waits on the pipe too */
	else
		poll(&p, 1, 100);
	while (read(sigpipe[0], drainbuf, sizeof drainbuf) > 0)
		;
	if (got_signal)
		interrupt(s);
	show_transfer(s);
	report_tick(s->x->report);
}

static void
init(struct sched *s)
{
	struct fx_graph *g = s->g;

	s->phase = xcalloc(g->n, sizeof(*s->phase));
	s->waiting = xcalloc(g->n, sizeof(*s->waiting));
	s->upstream_ran = xcalloc(g->n, sizeof(*s->upstream_ran));
	s->undecided = xcalloc(g->n + 1, sizeof(*s->undecided));
	s->qnext = xcalloc(g->n + 1, sizeof(*s->qnext));
	s->seq = xcalloc(g->n + 1, sizeof(*s->seq));
	s->decided = xcalloc(g->n + 1, sizeof(*s->decided));
	s->manifests = xcalloc(g->n + 1, sizeof(*s->manifests));
	s->jobs = xcalloc((size_t)s->x->jobs, sizeof(*s->jobs));
	s->share = xcalloc(g->n + 1, sizeof(*s->share));
	for (size_t i = 0; i < g->n; i++)
		s->share[i] = (struct share){.s = s, .n = g->nodes[i]};
	if (s->x->remote) {
		s->tmpdir = path_join(s->x->statedir, "tmp");
		mkdir_p(s->tmpdir, 0755);
		clean_tmpdir(s->tmpdir);
	}
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
	free(s->undecided);
	free(s->qnext);
	free(s->seq);
	free(s->kq);
	for (size_t i = 0; i < s->g->n; i++)
		manifest_free(s->manifests[i]);
	free(s->manifests);
	free(s->decided);
	free(s->jobs);
	for (size_t i = 0; i < s->g->n; i++)
		drop_blob(s, s->g->nodes[i]);
	free(s->share);
	free(s->tmpdir);
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
		if (s.nrunning == 0 && s.nlooking == 0 && (s.stopping || s.nready == 0) &&
		    !(x->remote && remote_pending(x->remote)))
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
	/* A signal that came after the loop's last look at got_signal (the
	 * work was done) went to our handler, not to the caller's: it is not
	 * lost, the run reports itself interrupted. Lost, a watcher's pass
	 * ending as SIGTERM came went on watching, its stop never seen. */
	if (got_signal)
		s.interrupted = true;
	close(sigpipe[0]);
	close(sigpipe[1]);
	sigpipe[0] = sigpipe[1] = -1;
	if (x->remote)
		report_transfer(x->report, NULL);
	cleanup(&s);
	if (s.interrupted)
		return FX_EXIT_INTERRUPTED;
	if (s.upload_failed && x->remote_required) {
		fx_error("an upload to the shared cache failed (--remote-required)");
		return FX_EXIT_FAILED;
	}
	return k->failed || k->skipped ? FX_EXIT_FAILED : FX_EXIT_OK;
}
