/*
 * running.c - the process groups of a run, and stopping those a killed run
 * left behind (see running.h).
 */
#include "fusion/running.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/diag.h"
#include "fusion/proc.h"
#include "fusion/statedir.h"
#include "fusion/util.h"

#define MAGIC "fusion-running 2"
#define MAX_GROUPS 256

/*
 * The groups are kept in lines of one length, one a job: a tool's start or
 * end rewrites its own line in place (one pwrite of SLOT_LEN bytes), rather
 * than the whole file through a rename; that was two renames a step, the
 * largest cost a node had after its own tools. A line no group holds is
 * blank (spaces), which the reader skips. A write cut short by the kill
 * it guards against cannot happen (a write to a file is whole or not at
 * all when a process is killed; only a power cut tears it, after which
 * the boot ID makes the file meaningless anyway).
 */
#define SLOT_LEN 40

struct fx_running {
	char *path;
	char *head;		/* the lines before the groups */
	char token[33];
	int fd;			/* -1 until the first group is saved */
	size_t nslots;		/* group lines in the file */
	pid_t slot_pid[MAX_GROUPS];	/* 0: a blank line */
	unsigned long long slot_start[MAX_GROUPS];
};

/* This boot's id; "" where the kernel has none. */
static char *
boot_id(void)
{
	char *text;
	size_t len;

	if (read_file("/proc/sys/kernel/random/boot_id", &text, &len) < 0)
		return xstrdup("");
	text[strcspn(text, " \n")] = '\0';
	return text;
}

static void
dir_id(const char *dir, unsigned long long *dev, unsigned long long *ino)
{
	struct stat st;

	*dev = *ino = 0;
	if (stat(dir, &st) == 0) {
		*dev = (unsigned long long)st.st_dev;
		*ino = (unsigned long long)st.st_ino;
	}
}

/* What a killed run wrote; the caller checks it is ours. */
struct record {
	char *boot;
	unsigned long long dev, ino;
	long writer;
	unsigned long long writer_start;
	char token[33];
	pid_t groups[MAX_GROUPS];
	unsigned long long starts[MAX_GROUPS];
	int n;
};

/* Parse the file's text (modified); false if it is not a whole record. */
static bool
parse(char *text, struct record *r)
{
	char *save = NULL, *line = strtok_r(text, "\n", &save);
	int have = 0;

	if (!line || strcmp(line, MAGIC) != 0)
		return false;
	while ((line = strtok_r(NULL, "\n", &save))) {
		char word[40];
		long pid;
		unsigned long long a, b;
		if (sscanf(line, "boot %39s", word) == 1) {
			free(r->boot);
			r->boot = xstrdup(word);
			have |= 1;
		} else if (sscanf(line, "statedir %llu %llu", &a, &b) == 2) {
			r->dev = a;
			r->ino = b;
			have |= 2;
		} else if (sscanf(line, "writer %ld %llu", &pid, &a) == 2) {
			r->writer = pid;
			r->writer_start = a;
			have |= 4;
		} else if (sscanf(line, "token %32s", r->token) == 1) {
			have |= 8;
		} else if (sscanf(line, "group %ld %llu", &pid, &a) == 2 && pid > 1 &&
		    r->n < MAX_GROUPS) {
			r->groups[r->n] = (pid_t)pid;
			r->starts[r->n++] = a;
		}
	}
	return have == 15;
}

/* Why the record is not this workspace's killed run, or NULL if it is. */
static const char *
not_ours(const struct record *r, const char *statedir)
{
	char *boot = boot_id();
	unsigned long long dev, ino;
	bool same_boot = strcmp(*boot ? boot : "-", r->boot) == 0;

	free(boot);
	if (!same_boot)
		return "it was written before the machine restarted";
	dir_id(statedir, &dev, &ino);
	if (dev != r->dev || ino != r->ino)
		return "it was written in another state directory (a copy of this one)";
	if (r->writer > 0 && proc_starttime((pid_t)r->writer) == r->writer_start)
		return "the fusion that wrote it is still running";
	return NULL;
}

/* Is the recorded group (leader pid, its start time) still the killed
 * run's? Only if a process in it carries the run's token, leader alive or
 * not: the file may be forged (a state directory from a tarball), and a
 * group id and start time are easy to copy; the token in a process's
 * environment is not. A live leader with another start time is a reused id. */
static bool
group_ours(pid_t pgid, unsigned long long start, const char *token)
{
	unsigned long long now = proc_starttime(pgid);

	if (now != 0 && now != start)
		return false;
	return proc_group_marked(pgid, token);
}

int
running_stop(const char *statedir)
{
	char *path = path_join(statedir, "running");
	struct record r = {0};
	pid_t stop[MAX_GROUPS];
	int n = 0;
	char *text;
	size_t len;

	if (read_file(path, &text, &len) < 0) {
		free(path);
		return 0;
	}
	const char *why = parse(text, &r) ? not_ours(&r, statedir) : "it is not a whole record";
	if (why)
		fx_debug("%s: left alone: %s", path, why);
	for (int i = 0; !why && i < r.n; i++) {
		if (!group_ours(r.groups[i], r.starts[i], r.token)) {
			fx_debug("process group %ld is not the killed run's (its id was reused): "
			    "left alone", (long)r.groups[i]);
			continue;
		}
		if (kill(-r.groups[i], SIGTERM) == 0)
			stop[n++] = r.groups[i];
	}
	for (int tries = 0; n > 0 && tries < 20; tries++) {
		bool alive = false;
		for (int i = 0; i < n; i++)
			alive |= kill(-stop[i], 0) == 0;
		if (!alive)
			break;
		usleep(50000);
	}
	for (int i = 0; i < n; i++)
		kill(-stop[i], SIGKILL);
	if (n)
		fx_warn("stopped %d tool process group%s left running by a fusion that was killed",
		    n, n == 1 ? "" : "s");
	unlink(path);
	free(r.boot);
	free(text);
	free(path);
	return n;
}

struct fx_running *
running_begin(const char *statedir)
{
	struct fx_running *r = xcalloc(1, sizeof(*r));
	unsigned char raw[16];

	r->fd = -1;
	unsigned long long dev, ino;

	running_stop(statedir);
	/* A token need not be secret, only unlike any other run's. */
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		unsigned long long t = (unsigned long long)now_ns() ^ (unsigned long long)getpid();
		memcpy(raw, &t, sizeof t);
		memcpy(raw + 8, &t, sizeof t);
	}
	hex_encode(raw, sizeof raw, r->token);
	proc_mark(r->token);
	r->path = path_join(statedir, "running");
	char *boot = boot_id();
	dir_id(statedir, &dev, &ino);
	r->head = xasprintf(MAGIC "\nboot %s\nstatedir %llu %llu\nwriter %ld %llu\ntoken %s\n",
	    *boot ? boot : "-", dev, ino, (long)getpid(), proc_starttime(getpid()), r->token);
	free(boot);
	return r;
}

static int
write_at(int fd, const char *data, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t w = pwrite(fd, data, len, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w;
		len -= (size_t)w;
		off += w;
	}
	return 0;
}

/* The file with its head and no group line yet. */
static int
create(struct fx_running *r)
{
	r->fd = statedir_open(r->path, O_WRONLY | O_TRUNC);
	if (r->fd < 0)
		return -1;
	if (write_at(r->fd, r->head, strlen(r->head), 0) < 0) {
		close(r->fd);
		r->fd = -1;
		return -1;
	}
	r->nslots = 0;
	return 0;
}

/* Line i holds group pid (0: blank). */
static void
put_slot(struct fx_running *r, size_t i, pid_t pid, unsigned long long start)
{
	char line[SLOT_LEN + 1];

	if (pid > 0)
		snprintf(line, sizeof line, "group %-11ld %-20llu", (long)pid, start);
	else
		line[0] = '\0';
	size_t len = strlen(line);
	memset(line + len, ' ', SLOT_LEN - 1 - len);
	line[SLOT_LEN - 1] = '\n';
	if (write_at(r->fd, line, SLOT_LEN, (off_t)(strlen(r->head) + i * SLOT_LEN)) < 0)
		fx_debug("%s: %s", r->path, strerror(errno));
	r->slot_pid[i] = pid;
	r->slot_start[i] = start;
	if (i == r->nslots)
		r->nslots++;
}

static bool
listed(pid_t pid, unsigned long long start, const pid_t *pids,
    const unsigned long long *starts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid && starts[i] == start)
			return true;
	return false;
}

void
running_save(struct fx_running *r, const pid_t *pids, const unsigned long long *starts,
    size_t n)
{
	if (r->fd < 0 && (n == 0 || create(r) < 0)) {
		if (n)
			fx_debug("%s: %s", r->path, strerror(errno));
		return;
	}
	/* Lines of groups that ended go blank; new groups take the first
	 * blank line, or a new one. */
	for (size_t i = 0; i < r->nslots; i++)
		if (r->slot_pid[i] && !listed(r->slot_pid[i], r->slot_start[i], pids, starts, n))
			put_slot(r, i, 0, 0);
	for (size_t k = 0; k < n; k++) {
		size_t i, blank = r->nslots;
		for (i = 0; i < r->nslots; i++) {
			if (r->slot_pid[i] == pids[k] && r->slot_start[i] == starts[k])
				break;
			if (!r->slot_pid[i] && blank == r->nslots)
				blank = i;
		}
		if (i < r->nslots)
			continue;	/* already there */
		if (blank == MAX_GROUPS) {
			fx_debug("%s: more than %d groups: %ld not recorded", r->path,
			    MAX_GROUPS, (long)pids[k]);
			continue;
		}
		put_slot(r, blank, pids[k], starts[k]);
	}
}

void
running_end(struct fx_running *r)
{
	if (!r)
		return;
	proc_mark(NULL);
	if (r->fd >= 0)
		close(r->fd);
	unlink(r->path);
	free(r->path);
	free(r->head);
	free(r);
}
