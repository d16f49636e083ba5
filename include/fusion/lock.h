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

#include <signal.h>
#include <stdbool.h>

/* Returns a lock handle (>= 0), -1 after reporting an error, -2 when
 * `nowait` and another run holds it (reported), or -3 when the wait was
 * given up for a signal (nothing reported: the caller's handler knows
 * why): `stop`, the flag the caller's handler sets, seen within 0.1 s
 * however the signal fell; with no flag (NULL), a signal that interrupts
 * the wait's sleep. */
int lock_acquire(const char *statedir, bool nowait, volatile sig_atomic_t *stop);
void lock_release(int handle);

#endif
