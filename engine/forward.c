/*
 * forward.c - the dev loop's long-running helpers (see forward.h).
 */
#include "fusion/forward.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fusion/diag.h"
#include "fusion/proc.h"
#include "fusion/statedir.h"
#include "fusion/util.h"

#define FIRST_DELAY 0.5		/* seconds before the first restart */
#define MAX_DELAY 30.0
#define STEADY 10.0		/* a run this long was not a quick failure */

struct helper {
	char *id;
	struct fx_strv argv;
	char *log;
	pid_t pid;		/* 0 when not running */
	double started;		/* monotonic */
	double restart_at;	/* 0 when no restart is scheduled */
	int quick;		/* quick exits in a row */
	bool wanted, restart;
};

struct fx_forwards {
	struct helper **v;
	size_t n;
};

struct fx_forwards *
forwards_new(void)
{
	return xcalloc(1, sizeof(struct fx_forwards));
}

static void
helper_free(struct helper *h)
{
	free(h->id);
	strv_free(&h->argv);
	free(h->log);
	free(h);
}

/* The last line of a helper's log: why it stopped, usually. */
static char *
last_line(const char *path)
{
	char *data;
	size_t len;

	if (read_file(path, &data, &len) < 0)
		return NULL;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = '\0';
	char *nl = strrchr(data, '\n');
	char *line = len ? xstrdup(nl ? nl + 1 : data) : NULL;
	free(data);
	return line;
}

static void
schedule(struct helper *h)
{
	double now = now_mono();

	if (h->started && now - h->started >= STEADY)
		h->quick = 0;
	double delay = FIRST_DELAY;
	for (int i = 0; i < h->quick && delay < MAX_DELAY; i++)
		delay *= 2;
	h->restart_at = now + (delay < MAX_DELAY ? delay : MAX_DELAY);
	h->quick++;
}

static void
start(struct helper *h)
{
	struct fx_buf msg = {0}, line = {0};
	int fd = -1;

	proc_format(&line, strv_argv(&h->argv));
	if (h->log) {
		char *dir = path_dir(h->log);
		statedir_mkdir(dir);
		free(dir);
		fd = statedir_open(h->log, O_WRONLY | O_APPEND);
		if (fd >= 0)
			dprintf(fd, "$ %s\n", line.s);
	}
	fx_debug("%s: %s", h->id, line.s);
	h->restart_at = 0;
	h->started = now_mono();
	h->pid = proc_start(strv_argv(&h->argv), h->log ? fd : 1, h->log ? fd : 2, &msg);
	if (h->pid < 0) {
		h->pid = 0;
		schedule(h);
		fx_warn("%s: %s; trying again in %.1fs", h->id, msg.s ? msg.s : "cannot start",
		    h->restart_at - now_mono());
	}
	if (fd >= 0)
		close(fd);
	buf_free(&msg);
	buf_free(&line);
}

/* SIGTERM to each group, SIGKILL to those still there after grace_ms. */
static void
stop_all(struct helper **v, size_t n, int grace_ms)
{
	double kill_at = now_mono() + grace_ms / 1000.0;
	size_t left = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i]->pid > 0) {
			proc_kill(v[i]->pid, SIGTERM);
			left++;
		}
	while (left) {
		left = 0;
		for (size_t i = 0; i < n; i++) {
			if (v[i]->pid <= 0)
				continue;
			pid_t r = waitpid(v[i]->pid, NULL, WNOHANG);
			if (r == v[i]->pid || (r < 0 && errno == ECHILD))
				v[i]->pid = 0;
			else
				left++;
		}
		if (left && now_mono() >= kill_at) {
			for (size_t i = 0; i < n; i++)
				if (v[i]->pid > 0) {
					proc_kill(v[i]->pid, SIGKILL);
					proc_wait(v[i]->pid);
					v[i]->pid = 0;
				}
			left = 0;
		}
		if (left)
			usleep(10000);
	}
	for (size_t i = 0; i < n; i++)
		v[i]->restart_at = 0;
}

void
forwards_stop(struct fx_forwards *f, int grace_ms)
{
	stop_all(f->v, f->n, grace_ms);
}

void
forwards_free(struct fx_forwards *f)
{
	if (!f)
		return;
	forwards_stop(f, 1500);
	for (size_t i = 0; i < f->n; i++)
		helper_free(f->v[i]);
	free(f->v);
	free(f);
}

void
forwards_begin(struct fx_forwards *f)
{
	for (size_t i = 0; i < f->n; i++)
		f->v[i]->wanted = f->v[i]->restart = false;
}

static bool
same_argv(const struct fx_strv *a, char *const argv[])
{
	size_t i = 0;

	for (; argv[i]; i++)
		if (i >= a->n || strcmp(a->v[i], argv[i]) != 0)
			return false;
	return i == a->n;
}

void
forwards_want(struct fx_forwards *f, const char *id, char *const argv[], const char *log,
    bool restart)
{
	struct helper *h = NULL;

	for (size_t i = 0; i < f->n && !h; i++)
		if (strcmp(f->v[i]->id, id) == 0)
			h = f->v[i];
	if (!h) {
		h = xcalloc(1, sizeof(*h));
		h->id = xstrdup(id);
		f->v = xreallocarray(f->v, f->n + 1, sizeof(*f->v));
		f->v[f->n++] = h;
		restart = true;
	}
	if (!same_argv(&h->argv, argv)) {
		strv_free(&h->argv);
		for (size_t i = 0; argv[i]; i++)
			strv_push(&h->argv, argv[i]);
		restart |= h->pid > 0 || !h->restart_at;
	}
	free(h->log);
	h->log = log ? xstrdup(log) : NULL;
	h->wanted = true;
	h->restart |= restart;
}

void
forwards_end(struct fx_forwards *f)
{
	struct helper **stop = xcalloc(f->n + 1, sizeof(*stop));
	size_t nstop = 0, k = 0;

	for (size_t i = 0; i < f->n; i++)
		if (!f->v[i]->wanted || f->v[i]->restart)
			stop[nstop++] = f->v[i];
	stop_all(stop, nstop, 1500);
	for (size_t i = 0; i < f->n; i++) {
		struct helper *h = f->v[i];
		if (!h->wanted) {
			helper_free(h);
			continue;
		}
		if (h->restart) {
			h->quick = 0;
			start(h);
		}
		f->v[k++] = h;
	}
	f->n = k;
	free(stop);
}

void
forwards_reap(struct fx_forwards *f)
{
	for (size_t i = 0; i < f->n; i++) {
		struct helper *h = f->v[i];
		int ws;
		if (h->pid <= 0 || waitpid(h->pid, &ws, WNOHANG) != h->pid)
			continue;
		h->pid = 0;
		schedule(h);
		char *why = h->log ? last_line(h->log) : NULL;
		fx_warn("%s: exited with status %d%s%s; restarting in %.1fs", h->id, proc_status(ws),
		    why ? ": " : "", why ? why : "", h->restart_at - now_mono());
		free(why);
	}
}

int
forwards_timeout(const struct fx_forwards *f)
{
	double next = 0;

	for (size_t i = 0; i < f->n; i++)
		if (f->v[i]->restart_at > 0 && (!next || f->v[i]->restart_at < next))
			next = f->v[i]->restart_at;
	if (!next)
		return -1;
	return ms_until(next);
}

void
forwards_tick(struct fx_forwards *f)
{
	double now = now_mono();

	for (size_t i = 0; i < f->n; i++)
		if (f->v[i]->pid == 0 && f->v[i]->restart_at > 0 && f->v[i]->restart_at <= now)
			start(f->v[i]);
}

pid_t
forwards_pid(const struct fx_forwards *f, const char *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i]->id, id) == 0)
			return f->v[i]->pid;
	return -1;
}
