/*
 * statedir.c - the state directory: private and writable (see statedir.h).
 */
#include "fusion/statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "fusion/diag.h"
#include "fusion/util.h"

/* The state directory last prepared: nothing beneath it is reached through
 * a symbolic link. The directory itself may be one (a FUSION_STATE_DIR of
 * the user's choosing); what fusion made inside it may not. */
static char *root;

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

/* Report path as a link planted in the state directory. */
static void
planted(const char *path)
{
	fx_error("%s: a symbolic link in the state directory: fusion does not follow links "
	    "there (remove it)", path);
}

/* The names fusion keeps in the state directory, and those of them that are
 * directories of its own (whose every entry is fusion's). */
static const char *const files[] = {
	"lock", "running", "salt", "cache.db", "cache.db-wal", "cache.db-shm", NULL,
};
static const char *const dirs[] = {"logs", "artifacts", "secrets", "tmp", NULL};

/* A state directory from a CI cache or a tarball may hold links planted to
 * make fusion write elsewhere: refuse any among fusion's names, before
 * anything is opened. One lstat a name, one readdir a directory of its own. */
static int
no_links(const char *dir)
{
	int bad = 0;

	for (int i = 0; files[i]; i++) {
		char *p = path_join(dir, files[i]);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode))
			planted(p), bad = -1;
		free(p);
	}
	for (int i = 0; dirs[i]; i++) {
		char *p = path_join(dir, dirs[i]);
		struct stat st;
		DIR *d;
		if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode))
			planted(p), bad = -1;
		else if ((d = opendir(p))) {
			for (struct dirent *e; (e = readdir(d));) {
				if (e->d_type != DT_LNK && e->d_type != DT_UNKNOWN)
					continue;
				char *q = path_join(p, e->d_name);
				if (lstat(q, &st) == 0 && S_ISLNK(st.st_mode))
					planted(q), bad = -1;
				free(q);
			}
			closedir(d);
		}
		free(p);
	}
	return bad;
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
	if (no_links(dir) < 0)
		return -1;
	tighten(dir);
	if (access(dir, W_OK) < 0) {
		fx_error("%s: the state directory is not writable (%s): fusion keeps its records "
		    "there", dir, strerror(errno));
		fx_note("hint: make it writable, or point FUSION_STATE_DIR at a writable directory");
		return -1;
	}
	if (made || holds(dir, "cache.db") || holds(dir, "lock"))
		ignore_for_git(dir);
	statedir_root(dir);
	return 0;
}

void
statedir_root(const char *dir)
{
	free(root);
	root = NULL;
	if (dir) {
		root = xstrdup(dir);
		for (size_t n = strlen(root); n > 1 && root[n - 1] == '/'; n--)
			root[n - 1] = '\0';
	}
}

/* path below the root ("" for the root itself), or NULL if not beneath. */
static const char *
below_root(const char *path)
{
	return root ? path_under(path, root) : NULL;
}

/* A link was met on the way to rel: name the first one, as lstat sees it. */
static void
name_link(const char *rel)
{
	char *p = xstrdup(rel);

	for (char *slash = p;; slash++) {
		slash = strchr(slash, '/');
		if (slash)
			*slash = '\0';
		char *full = path_join(root, p);
		struct stat st;
		bool link = lstat(full, &st) == 0 && S_ISLNK(st.st_mode);
		if (link)
			planted(full);
		free(full);
		if (link || !slash)
			break;
		*slash = '/';
	}
	free(p);
	errno = ELOOP;
}

/* The next component of *rel (which is advanced past it) into name. */
static bool
next_name(const char **rel, char *name, size_t size)
{
	while (**rel == '/')
		(*rel)++;
	size_t n = strcspn(*rel, "/");
	if (n == 0 || n >= size)
		return false;
	memcpy(name, *rel, n);
	name[n] = '\0';
	*rel += n;
	while (**rel == '/')
		(*rel)++;
	return true;
}

/* Walk rel from dfd one directory at a time, refusing links and "..", for
 * kernels without openat2 (or a seccomp filter that hides it), and to make
 * directories. With last: returns an fd of the directory holding the last
 * component, its name in last. Without: every component is a directory (made
 * if mkdir) and the fd is of the last. -1 with errno (ELOOP: a link). */
static int
walk(int dfd, const char *rel, bool mkdir, char *last, size_t size)
{
	int cur = dup(dfd);
	char name[256];

	while (cur >= 0 && next_name(&rel, name, sizeof name)) {
		if (strcmp(name, "..") == 0) {
			close(cur);
			errno = EXDEV;
			return -1;
		}
		if (last && !*rel) {
			snprintf(last, size, "%s", name);
			return cur;
		}
		int fd = -1;
		if (!mkdir || mkdirat(cur, name, 0700) == 0 || errno == EEXIST)
			fd = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 && errno == ENOTDIR && fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			errno = ELOOP;
		int e = errno;
		close(cur);
		errno = e;
		cur = fd;
	}
	if (cur >= 0 && last) {
		close(cur);
		errno = ENOENT;
		return -1;
	}
	return cur;
}

/* open(2) rel beneath the directory dfd, through no link. */
static int
open_beneath(int dfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned)(flags | O_NOFOLLOW),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH,
	};
	int fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof how);

	if (fd >= 0 || errno != ENOSYS)
		return fd;
	char last[256];
	int dir = walk(dfd, rel, false, last, sizeof last);
	if (dir < 0)
		return -1;
	fd = openat(dir, last, flags | O_NOFOLLOW, mode);
	int e = errno;
	close(dir);
	errno = e;
	return fd;
}

/* open(2) path: beneath the root through no link at all, elsewhere with
 * O_NOFOLLOW on its last component. A link met is named. */
static int
open_safely(const char *path, int flags, mode_t mode)
{
	const char *rel = below_root(path);

	if (!rel || !*rel)
		return open(path, flags | O_NOFOLLOW, mode);
	int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	int fd = open_beneath(dfd, rel, flags, mode);
	int e = errno;
	close(dfd);
	if (fd < 0 && (e == ELOOP || e == EXDEV))
		name_link(rel);
	else
		errno = e;
	return fd;
}

int
statedir_mkdir(const char *path)
{
	const char *rel = below_root(path);

	if (!rel || !*rel)
		return mkdir_p(path, 0700);
	int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int dir = dfd < 0 ? -1 : walk(dfd, rel, true, NULL, 0);
	int e = errno;

	if (dfd >= 0)
		close(dfd);
	if (dir >= 0)
		close(dir);
	if (dir < 0 && (e == ELOOP || e == EXDEV))
		name_link(rel);
	else
		errno = e;
	return dir < 0 ? -1 : 0;
}

int
statedir_open(const char *path, int flags)
{
	int fd = open_safely(path, flags | O_CREAT | O_CLOEXEC, 0600);
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 077) && fchmod(fd, 0600) < 0)
		fx_debug("%s: %s", path, strerror(errno));
	return fd;
}
