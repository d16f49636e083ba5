/*
 * proc.h - running external tools: always with an argv (never a shell),
 * each in its own process group, stdin from /dev/null.
 *
 * A child started here asks the kernel to kill it when fusion dies
 * (PR_SET_PDEATHSIG), so a SIGKILL of fusion does not leave builds running;
 * fusion itself stops whole groups with proc_kill (TERM, then KILL).
 * Tools start through vfork (no copy of fusion's memory, however large):
 * the parent learns of a failed exec (tool not on PATH) from the child
 * before it goes on, and reports "TOOL: not found on PATH" instead of a
 * bare status 127.
 */
#ifndef FUSION_PROC_H
#define FUSION_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "fusion/util.h"

/*
 * Start argv[0] (looked up on PATH) in a new process group with stdout to
 * `out_fd` and stderr to `err_fd` (either may be -1: /dev/null). Returns
 * the pid, or -1 after writing the reason to *msg.
 */
pid_t proc_start(char *const argv[], int out_fd, int err_fd, struct fx_buf *msg);

/* Decode a wait status: 0 success, 1-255 exit code, 128+N killed by N. */
int proc_status(int wstatus);

/* Wait for pid (blocking, retrying on EINTR); returns the decoded status. */
int proc_wait(pid_t pid);

/* Send sig to the process group led by pid. */
void proc_kill(pid_t pid, int sig);

/*
 * Mark every tool started from now on: its environment gets
 * FUSION_RUN_ID=token, which its own children inherit, so a process group
 * fusion left behind can be told from a stranger's that reuses its id
 * (running.h). NULL: no mark.
 */
void proc_mark(const char *token);

/* Does any process of group pgid carry the mark FUSION_RUN_ID=token? */
bool proc_group_marked(pid_t pgid, const char *token);

/*
 * While `flag` is set to non-NULL, proc_run() watches *flag: once a signal
 * handler makes it non-zero, the command's group gets SIGTERM, then
 * SIGKILL after grace_ms, and proc_run returns PROC_INTERRUPTED. So a
 * query made inside the scheduler (the cluster identity, the --verify
 * listings) never holds Ctrl-C up for as long as the tool takes.
 */
#define PROC_INTERRUPTED (-2)
void proc_interrupt_on(volatile sig_atomic_t *flag, int grace_ms);

/* The kernel's start time of pid (clock ticks since boot, field 22 of
 * /proc/PID/stat), or 0 if there is no such process. A pid and its start
 * time name one process for ever: pids are reused, the pair is not. */
unsigned long long proc_starttime(pid_t pid);

/* proc_start(), and the child's proc_starttime() into *starttime, taken
 * from the clock around the start rather than read from /proc (which cost
 * the scheduler a tenth of its time): the kernel stamps a child with
 * CLOCK_BOOTTIME when it forks it, in ticks of 1/USER_HZ s, so when the
 * clock shows the same tick before and after, that tick is the child's.
 * Otherwise (a tick boundary fell inside the start) /proc is read. */
pid_t proc_start_stamped(char *const argv[], int out_fd, int err_fd, struct fx_buf *msg,
    unsigned long long *starttime);

/*
 * Run argv to completion, capturing stdout into *out and stderr into *err
 * (either may be NULL: discarded). Returns the decoded status, -1 if it
 * could not start (reason in *err if given, else reported), or
 * PROC_INTERRUPTED (proc_interrupt_on; "interrupted" in *err).
 */
int proc_run(char *const argv[], struct fx_buf *out, struct fx_buf *err);

/* Is `name` an executable on PATH? (`fusion doctor`: a missing tool is
 * named before anything tries to run it.) */
bool proc_on_path(const char *name);

/* Write argv as a shell-like line (for logs and `plan -v`), quoting where
 * needed. */
void proc_format(struct fx_buf *b, char *const argv[]);

#endif
