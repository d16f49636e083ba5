/*
 * statedir.c - the state directory: private and writable (see statedir.h).
 */
#include "fusion/statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/diag.h"
#include "fusion/util.h"

static bool
holds(const char *dir, const char *name)
{
	char *p = path_join(dir, name);
	struct stat st;
	bool yes = lstat(p, &st) == 0;
	free(p);
	return yes;
}

/* A directory of fusion's own that others may read: close it. Never a
 * shared one (sticky, like /tmp) nor one of another user. */
static void
tighten(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || !(st.st_mode & 077) ||
	    (st.st_mode & S_ISVTX) || st.st_uid != geteuid())
		return;
	if (holds(dir, "cache.db") || holds(dir, "lock"))
		if (chmod(dir, st.st_mode & 07700) < 0)
			fx_debug("%s: %s", dir, strerror(errno));
}

/* The state is this machine's: git should never offer it for a commit. As
 * Python's venv does, the directory ignores itself with a .gitignore of
 * "*", written when fusion made the directory or owns it already, never
 * into a directory of the user's. A failure is harmless: say it in -v. */
static void
ignore_for_git(const char *dir)
{
	static const char text[] = "# fusion's state directory: local to this machine\n*\n";
	char *p = path_join(dir, ".gitignore");
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0 && errno != EEXIST)
		fx_debug("%s: %s", p, strerror(errno));
	if (fd >= 0) {
		if (write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1))
			fx_debug("%s: %s", p, strerror(errno));
		close(fd);
	}
	free(p);
}

int
statedir_prepare(const char *dir)
{
	struct stat st;
	bool made = lstat(dir, &st) < 0;

	if (mkdir_p(dir, 0700) < 0) {
		fx_error("%s: cannot create the state directory: %s", dir, strerror(errno));
		if (errno == EROFS || errno == EACCES || errno == EPERM)
			fx_note("hint: point FUSION_STATE_DIR at a writable directory");
		return -1;
	}
	tighten(dir);
	if (access(dir, W_OK) < 0) {
		fx_error("%s: the state directory is not writable (%s): fusion keeps its records "
		    "there", dir, strerror(errno));
		fx_note("hint: make it writable, or point FUSION_STATE_DIR at a writable directory");
		return -1;
	}
	if (made || holds(dir, "cache.db") || holds(dir, "lock"))
		ignore_for_git(dir);
	return 0;
}

int
statedir_mkdir(const char *path)
{
	return mkdir_p(path, 0700);
}

int
statedir_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CREAT | O_CLOEXEC, 0600);
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 077) && fchmod(fd, 0600) < 0)
		fx_debug("%s: %s", path, strerror(errno));
	return fd;
}
