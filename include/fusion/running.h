/*
 * running.h - the tool process groups a run has in flight, kept in
 * STATEDIR/running, so that the run after a SIGKILL of fusion stops what
 * the killed one left behind, and nothing else.
 *
 * The kernel kills fusion's direct children when fusion dies
 * (PR_SET_PDEATHSIG), not their children: a build's helpers, a fake's
 * sleep. Their groups live on until the next run stops them. A process
 * group id alone is no proof: after a reboot, after the id was reused, or
 * in a workspace copied with its state, the same number names a stranger's
 * group. So the file holds what it takes to know them again for sure:
 *
 *   fusion-running 2
 *   boot BOOT_ID           /proc/sys/kernel/random/boot_id: ids of another boot mean nothing
 *   statedir DEV INO       the state directory's identity: a copy of it is another
 *   writer PID STARTTIME   the fusion that wrote it (alive: not a killed run)
 *   token HEX              random, one per run: every tool's FUSION_RUN_ID (proc_mark)
 *   group PGID STARTTIME   a tool's group and its leader's start time, one per tool
 *                          (padded lines of one length; blank ones hold no group)
 *
 * A recorded group is stopped (SIGTERM, then SIGKILL) only when the boot
 * and the directory are the same, the writer is gone, a process of the
 * group carries the run's token (alive leader or not: the rest of the file
 * can be copied from /proc into a forged one, a process's environment
 * cannot), and a leader still alive has the recorded start time (else its
 * id was reused). Any other file (an older fusion's, a torn one) is
 * removed unread.
 */
#ifndef FUSION_RUNNING_H
#define FUSION_RUNNING_H

#include <stddef.h>
#include <sys/types.h>

struct fx_running;

/* At the start of a run: stop what a killed run left (running_stop), then
 * mark the tools this run starts with a new token (proc_mark). */
struct fx_running *running_begin(const char *statedir);

/* The groups in flight now: pids[i] leads a group, starts[i] is its start
 * time (proc_starttime). Each group has a line of its own, written in place
 * when it starts and blanked when it ends (a blank line is no group); the
 * file exists from the first group to running_end. */
void running_save(struct fx_running *r, const pid_t *pids, const unsigned long long *starts,
    size_t n);

/* At the end of a run: remove the file, stop marking tools. */
void running_end(struct fx_running *r);

/* Stop the groups a killed run recorded in STATEDIR/running that are
 * provably its own (see above), and remove the file. Returns how many
 * groups were stopped. */
int running_stop(const char *statedir);

#endif
