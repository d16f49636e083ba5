/*
 * lock.c - the workspace lock (see lock.h).
 */
#include "fusion/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <unistd.h>

#include "fusion/diag.h"
#include "fusion/statedir.h"
#include "fusion/util.h"

/* The holder writes its pid so that a waiter can name it. */
static long
holder(int fd)
{
	char buf[32] = {0};

	if (pread(fd, buf, sizeof buf - 1, 0) <= 0)
		return 0;
	return strtol(buf, NULL, 10);
}

int
lock_acquire(const char *statedir, bool nowait, volatile sig_atomic_t *stop)
{
	char *path = path_join(statedir, "lock");

	if (statedir_prepare(statedir) < 0) {
		free(path);
		return -1;
	}
	int fd = statedir_open(path, O_RDWR);
	if (fd < 0) {
		fx_error("%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			fx_error("%s: %s", path, strerror(errno));
			goto fail;
		}
		long pid = holder(fd);
		if (nowait) {
			fx_error("another fusion run (pid %ld) holds %s", pid, path);
			close(fd);
			free(path);
			return -2;
		}
		fx_info("waiting for another fusion run (pid %ld) on %s", pid, statedir);
		/* Tries ten times a second rather than one blocking flock: a
		 * signal that came between the message and the flock would have
		 * left the wait blocked for good, its handler's flag unseen. */
		while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno != EWOULDBLOCK && errno != EINTR) {
				fx_error("%s: %s", path, strerror(errno));
				goto fail;
			}
			struct timespec tick = {0, 100 * 1000 * 1000};
			if ((stop && *stop) || (nanosleep(&tick, NULL) < 0 && errno == EINTR && !stop)) {
				close(fd);	/* a signal the caller handles */
				free(path);
				return -3;
			}
		}
	}
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) < 0)
		fx_debug("%s: cannot write pid", path);
	free(path);
	return fd;
fail:
	close(fd);
	free(path);
	return -1;
}

void
lock_release(int handle)
{
	if (handle >= 0)
		close(handle);
}
