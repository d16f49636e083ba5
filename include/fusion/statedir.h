/*
 * statedir.h - the state directory (.fusion/, or FUSION_STATE_DIR): where
 * the database, logs and artifacts live. It is private to its user (mode
 * 0700, its files 0600: logs and rendered manifests may hold what the
 * catalog or the tools print), and it must be writable: a read-only one is
 * one clear error, not a string of failures further on.
 */
#ifndef FUSION_STATEDIR_H
#define FUSION_STATEDIR_H

/*
 * Make dir (and missing parents) with mode 0700. An existing directory that
 * already holds fusion's state (a cache.db or a lock file) and is open to
 * others is closed to them (its group and other bits cleared), unless it is
 * sticky or another user's; any other existing directory is left as it is
 * (a FUSION_STATE_DIR of the user's choosing). A directory it made, or one
 * that holds fusion's state, gets a .gitignore of "*" (if it has none), so
 * `git status` never shows it. A symbolic link among fusion's names (lock,
 * running, salt, cache.db and its -wal and -shm, logs/, artifacts/,
 * secrets/, tmp/ and everything in those four) is refused, each named, before
 * anything is opened. Returns 0, or -1 after reporting "DIR: the state
 * directory ..." (or the links) with the reason and what to do.
 */
int statedir_prepare(const char *dir);

/*
 * Nothing beneath the state directory is reached through a symbolic link: a
 * `.fusion` from a CI cache or a tarball may hold links planted to make
 * fusion write or chmod files elsewhere. statedir_prepare() records its
 * directory as the root; statedir_mkdir() and statedir_open() then resolve
 * what is below it with openat2(RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH), or
 * component by component with O_NOFOLLOW where openat2 is missing, and a
 * link met is reported ("PATH: a symbolic link in the state directory ...")
 * and fails with ELOOP. The root itself may be a link (the user's choice).
 * Paths not below the root get O_NOFOLLOW on their last component only.
 * statedir_root() sets (or with NULL forgets) the root directly.
 */
void statedir_root(const char *dir);

/* Make the directory `path` (and missing parents) with mode 0700, as the
 * logs and artifacts directories are made; one already there is left as
 * it is. Returns 0 or -1 with errno. */
int statedir_mkdir(const char *path);

/* open(2) a file in the state directory for writing: created 0600, and an
 * existing one made 0600 too. flags are O_WRONLY or O_RDWR and the like;
 * O_CREAT and O_CLOEXEC are added. Returns the fd or -1 with errno. */
int statedir_open(const char *path, int flags);

#endif
