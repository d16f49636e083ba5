/*
 * cmd_logs.c - `fusion logs SVC [-f]`: the logs of the pods of SVC's
 * release, through kubectl, each line prefixed with its pod and container
 * ([pod/core-api-7d9f8-x2x7q/core-api] ...).
 *
 * The pods are those the release's workloads select (rules/pods.c). Once:
 * one `kubectl logs --selector` per distinct selector, every line.
 *
 * Following (-f), kubectl alone will not do: `kubectl logs -f --selector`
 * follows the pods there are when it starts, and never the pods a new
 * release brings (kubernetes/kubernetes#52218). Restarting it when its
 * streams end, from that moment (--since-time), loses what the new pods
 * wrote before: in a rolling update (the Deployment's default) the new pod
 * starts, and logs its start, before the old one goes. So fusion lists the
 * pods by the selector (`kubectl get pods --selector`) and follows each
 * pod by name, from its first line, with a `kubectl logs -f pod/NAME` of
 * its own. A pod is its name and UID: one made again under its name (a
 * StatefulSet's) is a new pod, with a log of its own. When a follower
 * ends (its pod went, or its container stopped: kubernetes/kubernetes
 * #44406) fusion lists the pods again: a new pod is followed from its
 * first line; the same pod still there (a container that restarts in
 * place) from its last line shown; a pod gone is forgotten.
 *
 * Nothing is shown twice: the followers print the kubelet's timestamps
 * (--timestamps), which fusion reads and drops. A follower of the same pod
 * starts at the last line shown, by the node's clock, not fusion's (the
 * two may differ); kubectl sends --since-time in whole seconds
 * (kubernetes/kubernetes#92389), so the lines shown already in that
 * second come again, and fusion drops, per container, those at or before
 * the last one it showed.
 * A pod whose followers end at once (its container not started yet) gets
 * the next one after 0.25 s, then twice as long each time, up to 30 s;
 * while no pod is there (the release is not up yet, the cluster cannot be
 * reached) fusion lists again after 0.25 s, then twice as long, up to 5 s.
 * Otherwise nothing runs but the followers: no polling.
 * Ctrl-C stops them all (exit 130).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/proc.h"

#define FIRST_DELAY 0.25	/* seconds: the first backoff */
#define MAX_DELAY 30.0		/* between followers of one pod */
#define MAX_LIST_DELAY 5.0	/* between listings while no pod is there */
#define STEADY 10.0		/* a follower this old did not fail at once */

/* Every selector's kubectl logs once, in turn: 0 if all succeeded. */
static int
logs_once(struct fx_session *s, const struct fx_strv *sels)
{
	int rc = FX_EXIT_OK;

	for (size_t i = 0; i < sels->n; i++) {
		struct fx_strv argv = {0};
		struct fx_buf msg = {0};
		rules_logs_argv(&s->cat, sels->v[i], &argv);
		fflush(stdout);
		pid_t pid = proc_start(strv_argv(&argv), 1, 2, &msg);
		if (pid < 0) {
			fx_error("%s", msg.s);
			rc = FX_EXIT_FAILED;
		} else if (proc_wait(pid) != 0) {
			rc = FX_EXIT_FAILED;
		}
		strv_free(&argv);
		buf_free(&msg);
	}
	return rc;
}

/* ---- following ---- */

/* A container of a followed pod: where its log was shown up to. */
struct cont {
	char *name;
	int64_t last;		/* the last line shown: ns since the epoch */
	char *stamp;		/* ... as the kubelet wrote it (for --since-time) */
	int64_t upto;		/* lines at or before this (when its follower
				 * started) were shown already */
};

struct pod {
	char *name;
	char *uid;		/* which pod of that name: the last listed */
	char *following;	/* the uid its running follower follows */
	pid_t pid;		/* its follower, 0 if none runs */
	int fd;			/* its follower's stdout, -1 once at its end */
	int status;		/* the follower's wait status, once reaped */
	struct fx_buf part;	/* a line not finished yet */
	struct cont *c;
	size_t nc;
	double started;		/* monotonic: its follower's start */
	double retry_at;	/* monotonic: no follower before then */
	int quick;		/* followers that ended early, in a row */
	bool listed;		/* in the last listing */
};

struct follow {
	struct fx_session *s;
	const struct fx_strv *sels;
	struct pod **v;
	size_t n;
	/* The listing under way: one kubectl get pods per selector, in
	 * turn, its stdout and stderr in one pipe. */
	pid_t lister;
	int fd;
	size_t sel;
	struct fx_buf out;
	struct fx_pods found;	/* what the listing under way found so far */
	double list_at;		/* monotonic; 0: no listing due */
	double delay;		/* before listing again while no pod is there */
	int listings;
	bool failing;		/* the last listing failed (said once) */
};

static double
backoff(int quick)
{
	double d = FIRST_DELAY;

	for (int i = 1; i < quick && d < MAX_DELAY; i++)
		d *= 2;
	return d < MAX_DELAY ? d : MAX_DELAY;
}

static struct pod *
pod_find(struct follow *F, const char *name)
{
	for (size_t i = 0; i < F->n; i++)
		if (strcmp(F->v[i]->name, name) == 0)
			return F->v[i];
	return NULL;
}

/* Forget what was shown of the pod (another pod took its name). */
static void
pod_forget(struct pod *p)
{
	for (size_t i = 0; i < p->nc; i++) {
		free(p->c[i].name);
		free(p->c[i].stamp);
	}
	free(p->c);
	p->c = NULL;
	p->nc = 0;
}

static void
pod_free(struct pod *p)
{
	free(p->name);
	free(p->uid);
	free(p->following);
	buf_free(&p->part);
	pod_forget(p);
	free(p);
}

/*
 * Where the pod's next follower starts: the earliest of its containers'
 * last lines shown, by the kubelet's own clock (fusion's may differ from
 * the node's). kubectl sends it in whole seconds (kubernetes/kubernetes
 * #92389), so lines shown already come again: show_line drops them. NULL:
 * nothing shown, from the first line.
 */
static const char *
pod_since(const struct pod *p)
{
	const struct cont *first = NULL;

	for (size_t i = 0; i < p->nc; i++)
		if (p->c[i].stamp && (!first || p->c[i].last < first->last))
			first = &p->c[i];
	return first ? first->stamp : NULL;
}

static void
follower_start(struct follow *F, struct pod *p)
{
	struct fx_strv argv = {0};
	struct fx_buf msg = {0};
	int fds[2];

	rules_follow_argv(&F->s->cat, p->name, pod_since(p), &argv);
	for (size_t i = 0; i < p->nc; i++)
		p->c[i].upto = p->c[i].last;
	fflush(stdout);
	p->started = now_mono();
	free(p->following);
	p->following = xstrdup(p->uid);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		buf_printf(&msg, "pipe: %s", strerror(errno));
		p->pid = -1;
	} else {
		p->pid = proc_start(strv_argv(&argv), fds[1], 2, &msg);
		close(fds[1]);
		p->fd = fds[0];
		fcntl(p->fd, F_SETFL, O_NONBLOCK);
	}
	if (p->pid < 0) {
		fx_error("%s", msg.s);
		if (p->fd >= 0)
			close(p->fd);
		p->fd = -1;
		p->pid = 0;
		p->retry_at = now_mono() + backoff(++p->quick);
	}
	strv_free(&argv);
	buf_free(&msg);
}

/* A listing failed: say why (once in a row), and try again later. */
static void
listed_failed(struct follow *F)
{
	if (!F->failing) {
		char *why = buf_first_line(&F->out, "failed");
		fx_warn("kubectl get pods: %s; trying again", why);
		free(why);
	}
	F->failing = true;
	F->list_at = now_mono() + F->delay;
	F->delay = F->delay * 2 < MAX_LIST_DELAY ? F->delay * 2 : MAX_LIST_DELAY;
}

/* Start the kubectl get pods of selector F->sel. */
static void
lister_start(struct follow *F)
{
	struct fx_strv argv = {0};
	struct fx_buf msg = {0};
	int fds[2];

	buf_reset(&F->out);
	rules_pods_argv(&F->s->cat, F->sels->v[F->sel], &argv);
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		buf_printf(&msg, "pipe: %s", strerror(errno));
		F->lister = -1;
	} else {
		F->lister = proc_start(strv_argv(&argv), fds[1], fds[1], &msg);
		close(fds[1]);
		F->fd = fds[0];
	}
	strv_free(&argv);
	if (F->lister < 0) {
		if (F->fd >= 0)
			close(F->fd);
		F->fd = -1;
		F->lister = 0;
		buf_puts(&F->out, msg.s);
		listed_failed(F);
	}
	buf_free(&msg);
}

/* Start a listing (unless one is under way). */
static void
list_start(struct follow *F)
{
	F->list_at = 0;
	if (F->lister)
		return;
	F->sel = 0;
	rules_pods_free(&F->found);
	lister_start(F);
}

/* A whole listing is in F->found: follow the new pods, forget those gone,
 * and decide when to list again. */
static void
listed(struct follow *F)
{
	size_t k = 0, nlisted = 0;
	double next = 0, now = now_mono();

	F->failing = false;
	F->listings++;
	for (size_t i = 0; i < F->n; i++)
		F->v[i]->listed = false;
	for (size_t i = 0; i < F->found.n; i++) {
		const char *name = F->found.v[i].name, *uid = F->found.v[i].uid;
		struct pod *p = pod_find(F, name);
		if (p && strcmp(p->uid, uid) != 0) {
			/* another pod under the name (a StatefulSet's): its own
			 * log, from its first line */
			free(p->uid);
			p->uid = xstrdup(uid);
			if (!p->pid && p->fd < 0)
				pod_forget(p);
			p->quick = 0;
			p->retry_at = 0;
			fx_info("following pod/%s (a new pod under that name)", name);
		}
		if (!p) {
			p = xcalloc(1, sizeof(*p));
			p->name = xstrdup(name);
			p->uid = xstrdup(uid);
			p->fd = -1;
			F->v = xreallocarray(F->v, F->n + 1, sizeof(*F->v));
			F->v[F->n++] = p;
			if (F->listings > 1)
				fx_info("following pod/%s", name);
		}
		p->listed = true;
	}
	for (size_t i = 0; i < F->n; i++) {
		struct pod *p = F->v[i];
		bool running = p->pid || p->fd >= 0;
		if (!p->listed && !running) {
			pod_free(p);
			continue;
		}
		F->v[k++] = p;
		if (!p->listed)
			continue;	/* going: its stream will end */
		nlisted++;
		if (!running && p->retry_at <= now)
			follower_start(F, p);
		if (!p->pid && p->fd < 0 && (!next || p->retry_at < next))
			next = p->retry_at;
	}
	F->n = k;
	if (!nlisted) {
		/* No pods (yet): look again, less and less often. */
		if (F->listings == 1)
			fx_info("no pods of %s yet; waiting for them", F->s->o->args[0]);
		next = now + F->delay;
		F->delay = F->delay * 2 < MAX_LIST_DELAY ? F->delay * 2 : MAX_LIST_DELAY;
	} else {
		F->delay = FIRST_DELAY;
	}
	F->list_at = next;
}

/* Add what the non-blocking fd holds to *b. True at its end (or an error):
 * nothing more will come. */
static bool
drain(int fd, struct fx_buf *b)
{
	char buf[8192];
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0)
		buf_add(b, buf, (size_t)n);
	return !(n < 0 && (errno == EAGAIN || errno == EINTR));
}

/* Read what the lister wrote; at its end, go on with the next selector or
 * finish the listing. */
static void
lister_read(struct follow *F)
{
	if (!drain(F->fd, &F->out))
		return;
	close(F->fd);
	F->fd = -1;
	int st = proc_wait(F->lister);
	F->lister = 0;
	if (st != 0) {
		listed_failed(F);
		return;
	}
	rules_pods_parse(F->out.s, &F->found);
	if (++F->sel < F->sels->n)
		lister_start(F);
	else
		listed(F);
}

/*
 * An RFC 3339 time as the kubelet stamps lines (Go's RFC3339Nano: the
 * fraction's trailing zeros dropped; Z or an offset), in ns since the
 * epoch; its length in *len. -1 if s does not start with one.
 */
static int64_t
parse_stamp(const char *s, size_t *len)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	int64_t ns = 0, scale = 100000000;

	if (!p)
		return -1;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -1;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			ns += (*p - '0') * scale;
	}
	int64_t off = 0;
	if (*p == 'Z') {
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
	    isdigit((unsigned char)p[5])) {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
		off = *p == '-' ? -off : off;
		p += 6;
	} else {
		return -1;
	}
	*len = (size_t)(p - s);
	return ((int64_t)timegm(&tm) - off) * 1000000000 + ns;
}

static struct cont *
cont_get(struct pod *p, const char *name, size_t len)
{
	for (size_t i = 0; i < p->nc; i++)
		if (strlen(p->c[i].name) == len && memcmp(p->c[i].name, name, len) == 0)
			return &p->c[i];
	p->c = xreallocarray(p->c, p->nc + 1, sizeof(*p->c));
	p->c[p->nc] = (struct cont){xstrndup(name, len), -1, NULL, -1};
	return &p->c[p->nc++];
}

/*
 * One line of a follower, "[pod/POD/CONTAINER] STAMP TEXT": shown as
 * "[pod/POD/CONTAINER] TEXT" unless its container's lines were shown up to
 * STAMP already (a follower that starts again goes back to the second).
 * A line of another form is shown as it is.
 */
static void
show_line(struct pod *p, char *l, size_t n)
{
	char *end = memmem(l, n, "] ", 2);
	size_t slen;
	int64_t t;

	if (strncmp(l, "[pod/", 5) != 0 || !end || (t = parse_stamp(end + 2, &slen)) < 0) {
		fwrite(l, 1, n, stdout);
		return;
	}
	char *name = memrchr(l, '/', (size_t)(end - l)) + 1;
	struct cont *c = cont_get(p, name, (size_t)(end - name));
	if (t <= c->upto)
		return;
	c->last = t;
	free(c->stamp);
	c->stamp = xstrndup(end + 2, slen);
	char *text = end + 2 + slen;
	if (*text == ' ')
		text++;
	fwrite(l, 1, (size_t)(end + 2 - l), stdout);
	fwrite(text, 1, n - (size_t)(text - l), stdout);
}

/* Show the whole lines in p->part (all of it at the end of the stream). */
static void
show_lines(struct pod *p, bool at_end)
{
	size_t from = 0;

	if (at_end && p->part.len && p->part.s[p->part.len - 1] != '\n')
		buf_putc(&p->part, '\n');
	for (char *nl; (nl = memchr(p->part.s + from, '\n', p->part.len - from));) {
		size_t n = (size_t)(nl + 1 - (p->part.s + from));
		show_line(p, p->part.s + from, n);
		from += n;
	}
	memmove(p->part.s, p->part.s + from, p->part.len - from);
	p->part.len -= from;
	fflush(stdout);
}

/* Both ends came (the follower exited, its output was read): decide when
 * the pod's next follower starts. */
static void
follower_ended(struct pod *p)
{
	double now = now_mono();

	if (strcmp(p->following, p->uid) != 0) {
		/* another pod took the name meanwhile: from its first line */
		pod_forget(p);
		p->quick = 0;
		p->retry_at = now;
		return;
	}
	/* One that ended at once (the container not started yet, or waiting
	 * to restart) is tried again later and later. */
	bool steady = now - p->started >= STEADY;
	p->quick = steady ? 0 : p->quick + 1;
	p->retry_at = p->quick ? now + backoff(p->quick) : now;
}

/* Read what p's follower wrote. True at the end of its stream, if its
 * process was reaped too. */
static bool
follower_read(struct pod *p)
{
	if (!drain(p->fd, &p->part)) {
		show_lines(p, false);
		return false;
	}
	show_lines(p, true);
	close(p->fd);
	p->fd = -1;
	if (p->pid)
		return false;
	follower_ended(p);
	return true;
}

/* Reap the followers that exited. True if one's stream ended with it:
 * the pods changed. */
static bool
reap(struct follow *F)
{
	bool ended = false;

	for (size_t i = 0; i < F->n; i++) {
		struct pod *p = F->v[i];
		if (p->pid <= 0 || waitpid(p->pid, &p->status, WNOHANG) != p->pid)
			continue;
		p->pid = 0;
		if (p->fd < 0) {
			follower_ended(p);
			ended = true;
		}
	}
	return ended;
}

static void
stop_all(struct follow *F)
{
	if (F->lister > 0)
		proc_kill(F->lister, SIGTERM);
	for (size_t i = 0; i < F->n; i++)
		if (F->v[i]->pid > 0)
			proc_kill(F->v[i]->pid, SIGTERM);
	if (F->lister > 0)
		proc_wait(F->lister);
	if (F->fd >= 0)
		close(F->fd);
	for (size_t i = 0; i < F->n; i++) {
		if (F->v[i]->pid > 0)
			proc_wait(F->v[i]->pid);
		if (F->v[i]->fd >= 0)
			close(F->v[i]->fd);
		pod_free(F->v[i]);
	}
	free(F->v);
	buf_free(&F->out);
	rules_pods_free(&F->found);
}

static int
logs_follow(struct fx_session *s, const struct fx_strv *sels)
{
	struct follow F = {.s = s, .sels = sels, .fd = -1, .delay = FIRST_DELAY};
	struct pollfd *p = NULL;
	struct pod **owner = NULL;
	int rc = FX_EXIT_INTERRUPTED;

	if (cmd_signals_on() < 0)
		return FX_EXIT_FAILED;
	list_start(&F);
	while (!cmd_stop) {
		/* the wake pipe, the lister, each follower's output */
		p = xreallocarray(p, F.n + 2, sizeof(*p));
		owner = xreallocarray(owner, F.n + 2, sizeof(*owner));
		nfds_t np = 0;
		p[np++] = (struct pollfd){cmd_wake_fd(), POLLIN, 0};
		if (F.fd >= 0)
			p[np++] = (struct pollfd){F.fd, POLLIN, 0};
		size_t first = np;
		for (size_t i = 0; i < F.n; i++) {
			if (F.v[i]->fd < 0)
				continue;
			owner[np] = F.v[i];
			p[np++] = (struct pollfd){F.v[i]->fd, POLLIN, 0};
		}
		int timeout = F.list_at ? ms_until(F.list_at) : -1;
		if (poll(p, np, timeout) < 0 && errno != EINTR) {
			fx_error("poll: %s", strerror(errno));
			rc = FX_EXIT_FAILED;
			break;
		}
		cmd_wake_drain();
		if (cmd_stop)
			break;
		if (F.fd >= 0 && p[1].revents)
			lister_read(&F);
		/* A stream ended: its pod went (list now, to find its
		 * successor) or its container stopped. */
		bool ended = false;
		for (nfds_t i = first; i < np; i++)
			if (p[i].revents && follower_read(owner[i]))
				ended = true;
		if (reap(&F) || ended || (F.list_at && now_mono() >= F.list_at))
			list_start(&F);
	}
	free(p);
	free(owner);
	stop_all(&F);
	cmd_signals_off();
	return rc;
}

struct logs_opts {
	bool follow;
};

static int
cmd_logs(struct fx_opts *o, void *opts)
{
	const struct logs_opts *lo = opts;
	struct fx_session s;
	struct fx_strv sels = {0};

	if (o->nargs != 1) {
		fx_error("logs: name one service or shared release (fusion logs SVC [-f])");
		return FX_EXIT_USAGE;
	}
	int rc = session_open(&s, o);
	const struct fx_svc *svc = rc == 0 ? catalog_svc(&s.cat, o->args[0]) : NULL;
	if (rc == 0 && !svc) {
		struct fx_buf hint = {0};
		fx_error("%s: no service or shared release named \"%s\"%s", s.catalog_path,
		    o->args[0], session_hint(&s, o->args[0], &hint));
		buf_free(&hint);
		rc = FX_EXIT_USAGE;
	}
	if (rc == 0) {
		rules_selectors(&s.rules, svc, &sels);
		rc = lo->follow ? logs_follow(&s, &sels) : logs_once(&s, &sels);
	}
	strv_free(&sels);
	session_close(&s);
	return rc;
}

/* After `logs`, -f is --follow, as in kubectl logs -f: the command's own
 * options are looked up before the global ones (the catalog's -f then
 * comes before the command). */
static const struct fx_option options[] = {
	{"follow", 'f', FX_OPT_BOOL, offsetof(struct logs_opts, follow), NULL, 0, 0,
	    "keep following; when a new release replaces the pods, follow the\n"
	    "new ones (after the command, -f means --follow, as in kubectl)"},
	FX_OPT_END,
};

/* No --json: the lines are the applications' own text, which fusion only
 * prefixes; a JSON wrapper would add nothing a reader of logs can use. */
const struct fx_command fx_cmd_logs = {
	.name = "logs",
	.usage = "logs SVC [-f]",
	.about = "The logs of SVC's pods (through kubectl logs, by its release's selector), each line\n"
	    "prefixed with [pod/POD/CONTAINER].\n",
	.options = options,
	.size = sizeof(struct logs_opts),
	.run = cmd_logs,
};
