/*
 * dirlist.h - one directory's entries, read and sorted in the order a
 * tree sorts its paths (hash.h: bytewise), so that a walk lays a tree out
 * directory by directory and never sorts all its paths at once.
 *
 * Within one directory that order is the order of the names, a
 * subdirectory's name taken with a '/' after it: every path below "d"
 * starts "d/", and a name holds no '/'. Only what a tree can hold is
 * listed: all but sockets ("." and ".." aside).
 *
 * A list is scratch that one thread reuses from directory to directory:
 * zero-initialise it once, call dirlist_read() per directory, free it at
 * the end.
 */
#ifndef FUSION_DIRLIST_H
#define FUSION_DIRLIST_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fusion/util.h"

struct fx_dirname {
	const char *name;	/* NUL-terminated, `len` bytes; valid until the next read */
	uint32_t len;
	bool dir;
	uint64_t pre;		/* the first 8 bytes of the sort key, big-endian */
};

struct fx_dirlist {
	struct fx_dirname *v;	/* the entries, sorted */
	size_t n;
	size_t ndirs;		/* how many of them are directories */

	/* scratch */
	struct fx_buf names;
	struct fx_dirname *tmp;
	size_t cap, ctmp;
};

/* Read and sort the entries of d (an entry of unknown type is stat'ed
 * relative to dirfd(d)). Returns 0, or -1 with errno if reading stopped
 * early; what was read is listed either way. */
int dirlist_read(struct fx_dirlist *l, DIR *d);
void dirlist_free(struct fx_dirlist *l);

#endif
