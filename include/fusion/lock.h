/*
 * lock.h - the workspace lock: one `fusion up` (or down) at a time per
 * state directory.
 *
 * A second writer waits for the first and says so once; with `nowait` it
 * gives up at once. The lock is an flock(2) on STATEDIR/lock, so it is
 * released by the kernel when its holder dies, even by SIGKILL: a crashed
 * run never leaves a stale lock behind. Read-only commands (graph, why,
 * status, plan) never take it: the database's WAL mode lets them read while
 * a run writes.
 */
#ifndef FUSION_LOCK_H
#define FUSION_LOCK_H

#include <stdbool.h>

/* Returns a lock handle (>= 0), -1 after reporting an error, -2 when
 * `nowait` and another run holds it (reported), or -3 when a signal whose
 * handler does not restart system calls interrupted the wait (nothing
 * reported: the caller's handler knows why). */
int lock_acquire(const char *statedir, bool nowait);
void lock_release(int handle);

#endif
