/*
 * test_proc.c - running tools (proc.h): proc_run keeps stdout and stderr
 * apart and decodes exit codes and signals; children get their own process
 * group, stdin from /dev/null and die with their parent; a missing tool is
 * named as such, and so is every other reason a tool could not start (no
 * descriptor left for its pipes); proc_format quotes like a shell would need.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fusion/proc.h"
#include "fusion/util.h"

#include "capture.h"

#define TESTDIR_NAME "proc"
#include "testdir.h"

static int
sh(const char *script, struct fx_buf *out, struct fx_buf *err)
{
	char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};

	return proc_run(argv, out, err);
}

static void
test_run_captures_separately(void **state)
{
	struct fx_buf out = {0}, err = {0};

	assert_int_equal(sh("echo to-out; echo to-err >&2; printf more", &out, &err), 0);
	assert_string_equal(out.s, "to-out\nmore");
	assert_string_equal(err.s, "to-err\n");
	buf_free(&out);
	buf_free(&err);

	/* either buffer may be NULL: that stream is discarded */
	assert_int_equal(sh("echo x; echo y >&2; exit 5", NULL, &err), 5);
	assert_string_equal(err.s, "y\n");
	buf_free(&err);
	assert_int_equal(sh("echo x; echo y >&2", NULL, NULL), 0);
}

/* More than a pipe's buffer on both streams at once: draining one stream
 * while the child blocks on the other would hang. */
static void
test_run_large_output(void **state)
{
	struct fx_buf out = {0}, err = {0};

	assert_int_equal(sh("i=0; while [ $i -lt 20 ]; do head -c 20000 /dev/zero | tr '\\0' o;"
	    " head -c 20000 /dev/zero | tr '\\0' e >&2; i=$((i+1)); done", &out, &err), 0);
	assert_int_equal(out.len, 400000);
	assert_int_equal(err.len, 400000);
	assert_int_equal(strspn(out.s, "o"), 400000);
	assert_int_equal(strspn(err.s, "e"), 400000);
	buf_free(&out);
	buf_free(&err);
}

static void
test_exit_codes(void **state)
{
	char *t[] = {"/bin/true", NULL}, *f[] = {"/bin/false", NULL};

	assert_int_equal(proc_run(t, NULL, NULL), 0);
	assert_int_equal(proc_run(f, NULL, NULL), 1);
	assert_int_equal(sh("exit 3", NULL, NULL), 3);
	assert_int_equal(sh("exit 255", NULL, NULL), 255);
	assert_int_equal(sh("kill -TERM $$", NULL, NULL), 128 + SIGTERM);
	assert_int_equal(sh("kill -KILL $$", NULL, NULL), 128 + SIGKILL);
}

static void
test_status_decoding(void **state)
{
	assert_int_equal(proc_status(W_EXITCODE(0, 0)), 0);
	assert_int_equal(proc_status(W_EXITCODE(42, 0)), 42);
	assert_int_equal(proc_status(W_EXITCODE(0, SIGSEGV)), 128 + SIGSEGV);
	assert_int_equal(proc_status(W_EXITCODE(0, SIGINT)), 130);
}

/* The child's stdin is /dev/null: a tool that reads stdin gets EOF at once
 * instead of stealing the terminal. Signals fusion ignores are reset. */
static void
test_child_environment(void **state)
{
	struct fx_buf out = {0};
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;

	assert_int_equal(sh("readlink /proc/self/fd/0", &out, NULL), 0);
	assert_string_equal(out.s, "/dev/null\n");
	buf_reset(&out);
	assert_int_equal(sh("cat; echo eof", &out, NULL), 0);
	assert_string_equal(out.s, "eof\n");
	buf_free(&out);

	/* an ignored SIGTERM in fusion must not make tools unkillable */
	sigaction(SIGTERM, &ign, &old);
	int rc = sh("kill -TERM $$; exit 0", NULL, NULL);
	sigaction(SIGTERM, &old, NULL);
	assert_int_equal(rc, 128 + SIGTERM);
}

static void
test_own_process_group(void **state)
{
	char *argv[] = {"sleep", "30", NULL};
	struct fx_buf msg = {0};
	pid_t pid = proc_start(argv, -1, -1, &msg);

	assert_true(pid > 0);
	assert_int_equal(msg.len, 0);
	assert_int_equal(getpgid(pid), pid);
	assert_int_not_equal(getpgid(pid), getpgrp());
	proc_kill(pid, SIGTERM);
	assert_int_equal(proc_wait(pid), 128 + SIGTERM);
}

/* The start time taken from the clock is the one /proc gives, every time
 * (200 starts: some fall across a tick boundary, where /proc is read). */
static void
test_start_stamped(void **state)
{
	char *argv[] = {"sleep", "30", NULL};

	for (int i = 0; i < 200; i++) {
		struct fx_buf msg = {0};
		unsigned long long stamp = 0;
		pid_t pid = proc_start_stamped(argv, -1, -1, &msg, &stamp);
		assert_true(pid > 0);
		assert_int_not_equal(stamp, 0);
		assert_int_equal(stamp, proc_starttime(pid));
		proc_kill(pid, SIGKILL);
		proc_wait(pid);
	}
}

/* Is pid a zombie or gone? */
static bool
dead(pid_t pid)
{
	char path[64], buf[512];

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')');
	return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

static bool
wait_dead(pid_t pid)
{
	for (int i = 0; i < 300; i++) {
		if (dead(pid))
			return true;
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	kill(pid, SIGKILL);
	return false;
}

/* proc_kill stops the whole group: a tool's own children go with it. */
static void
test_kill_group(void **state)
{
	char *argv[] = {"/bin/sh", "-c", "sleep 30 & echo $!; wait", NULL};
	struct fx_buf msg = {0};
	int p[2];
	char buf[32] = {0};

	assert_int_equal(pipe(p), 0);
	pid_t pid = proc_start(argv, p[1], -1, &msg);
	close(p[1]);
	assert_true(pid > 0);
	assert_true(read(p[0], buf, sizeof buf - 1) > 0);
	close(p[0]);
	pid_t grandchild = (pid_t)strtol(buf, NULL, 10);
	assert_true(grandchild > 1);
	assert_int_equal(getpgid(grandchild), pid);
	proc_kill(pid, SIGKILL);
	assert_int_equal(proc_wait(pid), 128 + SIGKILL);
	assert_true(wait_dead(grandchild));
}

/*
 * A child dies with its parent (PR_SET_PDEATHSIG): a helper process starts
 * `sleep` and exits; as a subreaper we inherit the orphan and can see that
 * it was killed rather than left running.
 */
static void
test_dies_with_parent(void **state)
{
	int p[2];
	pid_t sleeper = 0;

	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	assert_int_equal(pipe(p), 0);
	pid_t helper = fork();
	assert_true(helper >= 0);
	if (helper == 0) {
		char *argv[] = {"sleep", "30", NULL};
		struct fx_buf msg = {0};
		pid_t pid = proc_start(argv, -1, -1, &msg);
		ssize_t w = write(p[1], &pid, sizeof pid);
		_exit(w == sizeof pid && pid > 0 ? 0 : 1);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &sleeper, sizeof sleeper), sizeof sleeper);
	close(p[0]);
	int ws;
	assert_int_equal(waitpid(helper, &ws, 0), helper);
	assert_int_equal(proc_status(ws), 0);
	assert_true(sleeper > 0);

	int status = -1;
	for (int i = 0; i < 500 && status < 0; i++) {
		if (waitpid(sleeper, &ws, WNOHANG) == sleeper)
			status = proc_status(ws);
		else
			nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	if (status < 0) {
		kill(sleeper, SIGKILL);
		waitpid(sleeper, &ws, 0);
	}
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	assert_int_equal(status, 128 + SIGKILL);
}

static void
test_not_on_path(void **state)
{
	char *argv[] = {"fx-no-such-tool-4711", "--version", NULL};
	struct fx_buf msg = {0}, err = {0};

	assert_int_equal(proc_start(argv, -1, -1, &msg), -1);
	assert_string_equal(msg.s, "fx-no-such-tool-4711: not found on PATH");
	buf_free(&msg);
	assert_int_equal(proc_run(argv, NULL, &err), -1);
	assert_string_equal(err.s, "fx-no-such-tool-4711: not found on PATH");
	buf_free(&err);
	/* the failed child was reaped: no zombie is left to collect */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* A file that exists but cannot be executed is not "not found". */
static void
test_not_executable(void **state)
{
	char *dir = tmpdir_new();
	struct fx_buf msg = {0};

	char *tool = xasprintf("%s/tool", dir);
	assert_int_equal(write_file_atomic(tool, "#!/bin/sh\n", 10), 0);
	assert_int_equal(chmod(tool, 0644), 0);
	char *argv[] = {tool, NULL};
	assert_int_equal(proc_start(argv, -1, -1, &msg), -1);
	char *want = xasprintf("%s: cannot run: %s", tool, strerror(EACCES));
	assert_string_equal(msg.s, want);
	assert_int_equal(chmod(tool, 0755), 0);
	assert_int_equal(proc_run(argv, NULL, NULL), 0);
	unlink(tool);
	rmdir(dir);
	free(dir);
	free(want);
	free(tool);
	buf_free(&msg);
}

/* Tools are looked up on PATH, in its order, and a tool missing from it
 * is named as such. */
static void
test_tools_found_on_path(void **state)
{
	char *saved = xstrdup(getenv("PATH") ? getenv("PATH") : "");
	char *dir = tmpdir_new();
	char *tool = xasprintf("%s/fx-tool", dir);
	struct fx_buf out = {0}, err = {0};
	char *argv[] = {"fx-tool", NULL};

	assert_int_equal(write_file_atomic(tool, "#!/bin/sh\necho found\n", 21), 0);
	assert_int_equal(chmod(tool, 0755), 0);
	char *path = xasprintf("/nonexistent:%s:/bin:/usr/bin", dir);
	setenv("PATH", path, 1);
	assert_int_equal(proc_run(argv, &out, &err), 0);
	assert_string_equal(out.s, "found\n");
	setenv("PATH", saved, 1);
	assert_int_equal(proc_run(argv, NULL, &err), -1);
	assert_non_null(strstr(err.s, "fx-tool: not found on PATH"));
	unlink(tool);
	rmdir(dir);
	free(dir);
	free(path);
	free(tool);
	free(saved);
	buf_free(&out);
	buf_free(&err);
}

static void
assert_format(char *const argv[], const char *want)
{
	struct fx_buf b = {0};

	proc_format(&b, argv);
	assert_string_equal(b.s ? b.s : "", want);
	buf_free(&b);
}

static void
test_format(void **state)
{
	assert_format((char *[]){"podman", "build", "-f", "/ws/a/Containerfile", "--build-arg",
	    "RUBY_VERSION=3.3", "--iidfile", "x.iid", NULL},
	    "podman build -f /ws/a/Containerfile --build-arg RUBY_VERSION=3.3 --iidfile x.iid");
	assert_format((char *[]){"helm", "--set", "a=b c", "", NULL}, "helm --set 'a=b c' ''");
	assert_format((char *[]){"echo", "it's", NULL}, "echo 'it'\\''s'");
	assert_format((char *[]){"sh", "-c", "echo $HOME; ls *", "a\nb", NULL},
	    "sh -c 'echo $HOME; ls *' 'a\nb'");
	assert_format((char *[]){"x", "user@host:5000/img,tag+1%", NULL},
	    "x user@host:5000/img,tag+1%");
	assert_format((char *[]){NULL}, "");
}

/* What proc_format writes, a shell reads back as the same argv. */
static void
test_format_round_trip(void **state)
{
	char *argv[] = {"printf", "[%s]", "plain", "sp ace", "it's", "", "$x`y`\\z\"", "tab\there",
	    NULL};
	struct fx_buf line = {0}, out = {0};

	proc_format(&line, argv);
	assert_int_equal(sh(line.s, &out, NULL), 0);
	assert_string_equal(out.s, "[plain][sp ace][it's][][$x`y`\\z\"][tab\there]");
	buf_free(&line);
	buf_free(&out);
}

/*
 * Regression (fixed): proc.c child() opened /dev/null without O_CLOEXEC and never closes it
 * after the dup2s, so every tool fusion runs inherits one extra descriptor
 * (on /dev/null) beyond 0, 1, 2 and whatever fusion itself lets children
 * inherit. Every descriptor the child holds above 2 must be one the test
 * process holds open without FD_CLOEXEC.
 */
static void
test_no_fd_leak(void **state)
{
	struct fx_buf out = {0};

	/* ls lists the shell's descriptors ("; true" keeps the shell from
	 * exec'ing ls, whose own would show) */
	assert_int_equal(sh("ls /proc/$$/fd; true", &out, NULL), 0);
	for (char *p = out.s; p && *p; p = strchr(p, '\n') + 1) {
		int fd = atoi(p);
		if (fd <= 2)
			continue;
		int flags = fcntl(fd, F_GETFD);
		if (flags < 0 || (flags & FD_CLOEXEC))
			fail_msg("the child holds fd %d, which fusion does not pass on", fd);
	}
	buf_free(&out);
}

/* A pid and its start time name one process: a live child has one, equal
 * when read twice and no earlier than ours; a reaped child has none. */
static void
test_starttime(void **state)
{
	char *argv[] = {"sleep", "5", NULL};
	struct fx_buf msg = {0};
	unsigned long long self = proc_starttime(getpid());

	assert_true(self > 0);
	pid_t pid = proc_start(argv, -1, -1, &msg);
	assert_true(pid > 0);
	unsigned long long t = proc_starttime(pid);
	assert_true(t >= self);
	assert_int_equal(proc_starttime(pid), t);
	proc_kill(pid, SIGKILL);
	proc_wait(pid);
	assert_int_equal(proc_starttime(pid), 0);
	buf_free(&msg);
}

/*
 * No descriptor left for the pipes (RLIMIT_NOFILE lowered to the lowest
 * free descriptor, or to one more than the first pipe needs): proc_run
 * gives -1 with its reason, in *err when given, else reported, and keeps
 * no descriptor of a pipe it made.
 */
static int
run_with_fds_left(int left, char *argv[], struct fx_buf *err)
{
	struct rlimit saved, low;
	int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(lowest >= 0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = (rlim_t)(lowest + left);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int st = proc_run(argv, NULL, err);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	int after = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(after, lowest);	/* nothing leaked */
	close(after);
	return st;
}

static void
test_pipe_failure_gives_reason(void **state)
{
	char *argv[] = {"/bin/true", NULL};
	struct fx_buf err = {0};
	char *want = xasprintf("/bin/true: cannot start: pipe: %s", strerror(EMFILE));

	/* the first pipe fails, then the second */
	for (int left = 0; left <= 2; left += 2) {
		assert_int_equal(run_with_fds_left(left, argv, &err), -1);
		assert_non_null(err.s);
		assert_string_equal(err.s, want);
		buf_free(&err);
	}
	/* without a buffer for it, the reason is reported */
	capture_begin();
	int st = run_with_fds_left(0, argv, NULL);
	char *said = capture_end();
	assert_int_equal(st, -1);
	char *line = xasprintf("fusion: %s\n", want);
	assert_string_equal(said, line);
	free(line);
	free(said);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_captures_separately),
		cmocka_unit_test(test_run_large_output),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_status_decoding),
		cmocka_unit_test(test_child_environment),
		cmocka_unit_test(test_own_process_group),
		cmocka_unit_test(test_start_stamped),
		cmocka_unit_test(test_kill_group),
		cmocka_unit_test(test_dies_with_parent),
		cmocka_unit_test(test_not_on_path),
		cmocka_unit_test(test_not_executable),
		cmocka_unit_test(test_tools_found_on_path),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_no_fd_leak),
		cmocka_unit_test(test_starttime),
		cmocka_unit_test(test_pipe_failure_gives_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
