/*
 * test_lock.c - the workspace lock (lock.h): one holder per state directory
 * across processes; --nowait gives up with -2 and names the holder; a
 * waiter gets the lock when the holder releases it; a holder killed with
 * SIGKILL leaves no stale lock behind.
 *
 * Other processes are forked children; each closes the parent's descriptor
 * first, since an inherited flock descriptor would share the parent's lock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fusion/lock.h"
#include "fusion/util.h"

#define TESTDIR_NAME "lock"
#include "testdir.h"

static char *statedir;

static int
setup(void **state)
{
	tmpdir_setup(state);
	statedir = xasprintf("%s/a/.fusion", tmp);	/* created by lock_acquire */
	return 0;
}

static int
teardown(void **state)
{
	tmpdir_teardown(state);
	free(statedir);
	return 0;
}

/*
 * Fork a child that closes `held`, sends its stderr to `errfile` (may be
 * NULL), tries lock_acquire(nowait) and exits with 0 (got it), 2 (-2) or
 * 1 (-1). With `hold_ms`, it keeps the lock that long before exiting, and
 * with hold_ms < 0 forever (until killed).
 */
static pid_t
child_try(int held, bool nowait, const char *errfile, int hold_ms, int ready_fd)
{
	fflush(NULL);
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid > 0)
		return pid;
	alarm(20);	/* a lock that never comes fails the test, never hangs it */
	if (held >= 0)
		close(held);
	if (errfile) {
		int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		close(fd);
	}
	int h = lock_acquire(statedir, nowait, NULL);
	if (ready_fd >= 0) {
		ssize_t w = write(ready_fd, "x", 1);
		(void)w;
	}
	if (h >= 0 && hold_ms < 0)
		for (;;)
			pause();
	if (h >= 0 && hold_ms > 0)
		nanosleep(&(struct timespec){hold_ms / 1000, (hold_ms % 1000) * 1000000L}, NULL);
	_exit(h >= 0 ? 0 : h == -2 ? 2 : 1);
}

static int
wait_exit(pid_t pid)
{
	int ws;

	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	return WEXITSTATUS(ws);
}

static char *
slurp(const char *path)
{
	char *data;
	size_t len;

	assert_int_equal(read_file(path, &data, &len), 0);
	return data;
}

static void
test_acquire_writes_pid(void **state)
{
	int h = lock_acquire(statedir, true, NULL);
	char *path = xasprintf("%s/lock", statedir);

	assert_true(h >= 0);
	char *text = slurp(path);
	char *want = xasprintf("%ld\n", (long)getpid());
	assert_string_equal(text, want);
	/* the descriptor is not handed to tools fusion runs */
	assert_true(fcntl(h, F_GETFD) & FD_CLOEXEC);
	lock_release(h);
	lock_release(-1);	/* harmless */
	free(want);
	free(text);
	free(path);
}

static void
test_nowait_refused_while_held(void **state)
{
	int h = lock_acquire(statedir, true, NULL);
	char *errfile = xasprintf("%s/err", tmp);

	assert_true(h >= 0);
	assert_int_equal(wait_exit(child_try(h, true, errfile, 0, -1)), 2);
	char *err = slurp(errfile);
	char *pid = xasprintf("(pid %ld)", (long)getpid());
	assert_non_null(strstr(err, "another fusion run"));
	assert_non_null(strstr(err, pid));	/* it names the holder */
	free(pid);
	free(err);

	/* released on close: the next one gets it */
	lock_release(h);
	assert_int_equal(wait_exit(child_try(-1, true, NULL, 0, -1)), 0);
	free(errfile);
}

/* A waiter blocks while the lock is held and proceeds once released. */
static void
test_waiter_gets_it_after_release(void **state)
{
	int h = lock_acquire(statedir, true, NULL);
	char *errfile = xasprintf("%s/err", tmp);
	int p[2];
	char c;

	assert_true(h >= 0);
	assert_int_equal(write_file_atomic(errfile, "", 0), 0);	/* before the child */
	assert_int_equal(pipe(p), 0);
	pid_t pid = child_try(h, false, errfile, 0, p[1]);
	close(p[1]);
	/* it says once that it waits, naming us; it has not got the lock */
	char *want = xasprintf("fusion: waiting for another fusion run (pid %ld) on %s\n",
	    (long)getpid(), statedir);
	char *err = NULL;
	for (int i = 0; i < 500; i++) {
		free(err);
		err = slurp(errfile);
		if (strstr(err, "waiting"))
			break;
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	assert_string_equal(err, want);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
	lock_release(h);
	assert_int_equal(read(p[0], &c, 1), 1);	/* it acquired */
	close(p[0]);
	assert_int_equal(wait_exit(pid), 0);
	free(err);
	free(want);
	free(errfile);
}

/* flock dies with its holder: a SIGKILLed run leaves no stale lock. */
static void
test_released_when_holder_killed(void **state)
{
	int p[2];
	char c;

	assert_int_equal(pipe(p), 0);
	pid_t holder = child_try(-1, true, NULL, -1, p[1]);
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	/* held by the child now */
	assert_int_equal(lock_acquire(statedir, true, NULL), -2);
	kill(holder, SIGKILL);
	int ws;
	assert_int_equal(waitpid(holder, &ws, 0), holder);
	assert_true(WIFSIGNALED(ws));
	int h = lock_acquire(statedir, true, NULL);
	assert_true(h >= 0);
	lock_release(h);
}

/* A state directory that cannot be made is an error (-1), not -2. */
static void
test_unusable_dir(void **state)
{
	char *file = xasprintf("%s/file", tmp);
	char *under = xasprintf("%s/file/.fusion", tmp);

	assert_int_equal(write_file_atomic(file, "x", 1), 0);
	assert_int_equal(lock_acquire(under, true, NULL), -1);
	free(file);
	free(under);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_acquire_writes_pid),
		T(test_nowait_refused_while_held),
		T(test_waiter_gets_it_after_release),
		T(test_released_when_holder_killed),
		T(test_unusable_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
