/*
 * proc.c - spawning tools in their own process groups (see proc.h).
 */
#include "fusion/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fusion/diag.h"

extern char **environ;

#define MARK_NAME "FUSION_RUN_ID="
static char *mark;			/* "FUSION_RUN_ID=token", or NULL */
static volatile sig_atomic_t *stop_flag;	/* proc_interrupt_on */
static int stop_grace_ms = 1500;

void
proc_mark(const char *token)
{
	free(mark);
	mark = token ? xasprintf("%s%s", MARK_NAME, token) : NULL;
}

void
proc_interrupt_on(volatile sig_atomic_t *flag, int grace_ms)
{
	stop_flag = flag;
	stop_grace_ms = grace_ms > 0 ? grace_ms : 1500;
}

/* The child's environment: ours with the mark set (made before fork: the
 * child may only make async-signal-safe calls). NULL: ours as it is. */
static char **
child_env(void)
{
	size_t n = 0, k = 0;

	if (!mark)
		return NULL;
	while (environ && environ[n])
		n++;
	char **env = xcalloc(n + 2, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], MARK_NAME, strlen(MARK_NAME)) != 0)
			env[k++] = environ[i];
	env[k] = mark;
	return env;
}

/*
 * Spawning with vfork: the child borrows fusion's memory until it execs, so
 * starting a tool costs no copy of fusion's page tables (and no
 * copy-on-write faults afterwards), however large hashing left the process.
 * The parent sleeps until the child has exec'd or exited, so the child may
 * write a failed exec's errno where the parent reads it, and fusion learns
 * of a tool missing from PATH without a pipe.
 *
 * Every signal is blocked across the vfork: one of fusion's handlers must
 * not run in the child, on fusion's memory. The child sets each signal back
 * to its default action, then unblocks them all.
 */

/* /dev/null, opened once (clone starts tools from several threads), for
 * the tools' stdin and any output nobody wants. */
static int null_fd = -1;

static void
open_null(void)
{
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
}

static int
dev_null(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, open_null);
	return null_fd;
}

/* What the vfork child needs, all of it made before the vfork. */
struct start {
	char *const *argv;
	char **env;		/* NULL: fusion's own */
	int null, out_fd, err_fd;
	pid_t parent;
	volatile int err;	/* set by the child when exec fails */
};

/* In the vfork child: only async-signal-safe calls, and no return. */
static _Noreturn void
child(struct start *st)
{
	sigset_t none;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != st->parent)	/* the parent died before prctl */
		_exit(127);
	/* The standard signals only: those above are real-time ones, which
	 * fusion never handles and glibc keeps two of for itself; each is a
	 * syscall while fusion waits for the exec. */
	for (int s = 1; s < SIGRTMIN && s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(st->null, 0);
	dup2(st->out_fd >= 0 ? st->out_fd : st->null, 1);
	dup2(st->err_fd >= 0 ? st->err_fd : st->null, 2);
	/* The tool gets 0, 1 and 2, nothing more (dup2 clears close-on-exec
	 * on its copies, but not when a descriptor already had the number). */
	for (int fd = 0; fd <= 2; fd++)
		fcntl(fd, F_SETFD, 0);
	if (st->env)
		execvpe(st->argv[0], st->argv, st->env);
	else
		execvp(st->argv[0], st->argv);
	st->err = errno ? errno : ENOEXEC;
	_exit(127);
}

/* The vfork, alone in its function: nothing of the caller's lives in a
 * register the child could clobber. */
static __attribute__((noinline)) pid_t
start_child(struct start *st)
{
	pid_t pid = vfork();

	if (pid == 0)
		child(st);
	return pid;
}

pid_t
proc_start(char *const argv[], int out_fd, int err_fd, struct fx_buf *msg)
{
	sigset_t all, saved;
	struct start st = {.argv = argv, .out_fd = out_fd, .err_fd = err_fd,
	    .parent = getpid(), .null = dev_null()};

	if (st.null < 0) {
		buf_printf(msg, "%s: cannot start: /dev/null: %s", argv[0], strerror(errno));
		return -1;
	}
	st.env = child_env();
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	pid_t pid = start_child(&st);
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	free(st.env);
	if (pid < 0) {
		buf_printf(msg, "%s: cannot start: %s", argv[0], strerror(fork_errno));
		return -1;
	}
	if (st.err) {
		proc_wait(pid);
		if (st.err == ENOENT)
			buf_printf(msg, "%s: not found on PATH", argv[0]);
		else
			buf_printf(msg, "%s: cannot run: %s", argv[0], strerror(st.err));
		return -1;
	}
	return pid;
}

/* Numeric field `field` (3 or more) of /proc/PID/stat, or 0 when there is
 * no such process. */
static unsigned long long
stat_field(pid_t pid, int field)
{
	char path[64], *text, *p;
	size_t len;
	unsigned long long v = 0;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (read_file(path, &text, &len) < 0)
		return 0;
	/* The command name (field 2) may hold spaces: count from its ")". */
	p = strrchr(text, ')');
	for (int f = 2; p && f < field; f++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoull(p + 1, NULL, 10);
	free(text);
	return v;
}

unsigned long long
proc_starttime(pid_t pid)
{
	return stat_field(pid, 22);
}

/* CLOCK_BOOTTIME in the ticks /proc/PID/stat counts, truncated as the
 * kernel's nsec_to_clock_t() truncates; 0 if the clock cannot be read. */
static unsigned long long
boot_ticks(void)
{
	static long hz;
	struct timespec ts;

	if (!hz)
		hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0 || 1000000000 % hz || clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return 0;
	unsigned long long ns = (unsigned long long)ts.tv_sec * 1000000000ULL +
	    (unsigned long long)ts.tv_nsec;
	return ns / (1000000000ULL / (unsigned long long)hz);
}

pid_t
proc_start_stamped(char *const argv[], int out_fd, int err_fd, struct fx_buf *msg,
    unsigned long long *starttime)
{
	unsigned long long before = boot_ticks();
	pid_t pid = proc_start(argv, out_fd, err_fd, msg);
	unsigned long long after = boot_ticks();

	if (pid > 0)
		*starttime = before && before == after ? before : proc_starttime(pid);
	return pid;
}

/* Does the environment pid started with hold `want` ("NAME=value")? */
static bool
env_has(pid_t pid, const char *want)
{
	char path[64], *text;
	size_t len;
	bool found = false;

	snprintf(path, sizeof path, "/proc/%ld/environ", (long)pid);
	if (read_file(path, &text, &len) < 0)
		return false;
	for (size_t i = 0; i < len && !found; i += strlen(text + i) + 1)
		found = strcmp(text + i, want) == 0;
	free(text);
	return found;
}

bool
proc_group_marked(pid_t pgid, const char *token)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char *want = xasprintf("%s%s", MARK_NAME, token);
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		found = stat_field((pid_t)pid, 5) == (unsigned long long)pgid &&
		    env_has((pid_t)pid, want);
	}
	if (d)
		closedir(d);
	free(want);
	return found;
}

int
proc_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return 255;
}

int
proc_wait(pid_t pid)
{
	int ws;

	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return 255;
	return proc_status(ws);
}

void
proc_kill(pid_t pid, int sig)
{
	if (pid > 0)
		kill(-pid, sig);
}

/*
 * Once *stop_flag is set: SIGTERM to pid's group, SIGKILL after the grace
 * period. Returns the poll timeout until then (-1: none), or -2 once the
 * group was killed and waiting on its pipes is pointless (a process outside
 * the group may hold them).
 */
static int
stop_child(pid_t pid, double *kill_at)
{
	if (!stop_flag || !*stop_flag)
		return -1;
	if (*kill_at == 0) {
		kill(-pid, SIGTERM);
		*kill_at = now_mono() + stop_grace_ms / 1000.0;
	}
	if (now_mono() < *kill_at)
		return ms_until(*kill_at);
	kill(-pid, SIGKILL);
	return -2;
}

/*
 * Drain both pipes until EOF so a chatty child never blocks on a full pipe.
 * Under proc_interrupt_on, the stopping signals stay blocked but while
 * ppoll waits, so one that comes between the check of the flag and the
 * wait still ends the wait. Returns whether the flag stopped the child.
 */
static bool
drain(pid_t pid, int ofd, int efd, struct fx_buf *out, struct fx_buf *err)
{
	struct pollfd fds[2] = {{ofd, POLLIN, 0}, {efd, POLLIN, 0}};
	struct fx_buf *bufs[2] = {out, err};
	char chunk[8192];
	int open_fds = 2;
	double kill_at = 0;
	sigset_t stops, old;

	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGHUP);
	sigprocmask(SIG_BLOCK, &stops, &old);
	while (open_fds > 0) {
		int ms = stop_child(pid, &kill_at);
		if (ms == -2)
			break;
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
		if (ppoll(fds, 2, ms < 0 ? NULL : &ts, &old) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = read(fds[i].fd, chunk, sizeof chunk);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
				continue;
			}
			if (bufs[i])
				buf_add(bufs[i], chunk, (size_t)r);
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return kill_at != 0;
}

/* proc_run could not start the tool: the reason goes to *err when the
 * caller takes it, else it is reported. Every -1 of proc_run comes here. */
static int
run_failed(struct fx_buf *err, struct fx_buf *msg)
{
	if (err)
		buf_puts(err, msg->s);
	else
		fx_error("%s", msg->s);
	buf_free(msg);
	return -1;
}

int
proc_run(char *const argv[], struct fx_buf *out, struct fx_buf *err)
{
	int po[2], pe[2];
	struct fx_buf msg = {0};

	if (stop_flag && *stop_flag) {
		if (err)
			buf_puts(err, "interrupted");
		return PROC_INTERRUPTED;
	}
	if (pipe2(po, O_CLOEXEC) < 0) {
		buf_printf(&msg, "%s: cannot start: pipe: %s", argv[0], strerror(errno));
		return run_failed(err, &msg);
	}
	if (pipe2(pe, O_CLOEXEC) < 0) {
		buf_printf(&msg, "%s: cannot start: pipe: %s", argv[0], strerror(errno));
		close(po[0]);
		close(po[1]);
		return run_failed(err, &msg);
	}
	pid_t pid = proc_start(argv, po[1], pe[1], &msg);
	close(po[1]);
	close(pe[1]);
	if (pid < 0) {
		close(po[0]);
		close(pe[0]);
		return run_failed(err, &msg);
	}
	bool stopped = drain(pid, po[0], pe[0], out, err);
	int st = proc_wait(pid);
	if (!stopped)
		return st;
	if (err) {
		buf_reset(err);
		buf_puts(err, "interrupted");
	}
	return PROC_INTERRUPTED;
}

bool
proc_on_path(const char *name)
{
	const char *path = getenv("PATH");

	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		char *dir = n ? xstrndup(path, n) : xstrdup(".");
		char *p = path_join(dir, name);
		bool ok = access(p, X_OK) == 0;
		free(dir);
		free(p);
		if (ok)
			return true;
		path += n + (colon ? 1 : 0);
	}
	return false;
}

static bool
needs_quote(const char *s)
{
	if (!*s)
		return true;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		    "-_./=:,+@%", *s))
			return true;
	return false;
}

void
proc_format(struct fx_buf *b, char *const argv[])
{
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			buf_putc(b, ' ');
		if (!needs_quote(argv[i])) {
			buf_puts(b, argv[i]);
			continue;
		}
		buf_putc(b, '\'');
		for (const char *s = argv[i]; *s; s++) {
			if (*s == '\'')
				buf_puts(b, "'\\''");
			else
				buf_putc(b, *s);
		}
		buf_putc(b, '\'');
	}
}
