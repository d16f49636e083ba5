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
 * `git status` never shows it. Returns 0, or -1 after
 * reporting "DIR: the state directory ..." with the reason and what to do.
 */
int statedir_prepare(const char *dir);

/* Make the directory `path` (and missing parents) with mode 0700, as the
 * logs and artifacts directories are made; one already there is left as
 * it is. Returns 0 or -1 with errno. */
int statedir_mkdir(const char *path);

/* open(2) a file in the state directory for writing: created 0600, and an
 * existing one made 0600 too. flags are O_WRONLY or O_RDWR and the like;
 * O_CREAT and O_CLOEXEC are added. Returns the fd or -1 with errno. */
int statedir_open(const char *path, int flags);

#endif
