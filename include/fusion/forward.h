/*
 * forward.h - the long-running helpers of the dev loop (the port-forwards
 * of `up --watch`): each a tool started with an argv in its own process
 * group, its output in a log of its own, kept running while fusion runs.
 *
 * A helper that exits is restarted, after 0.5 s, then twice as long after
 * each quick exit (up to 30 s; a run of 10 s or more resets the delay), and
 * the exit is reported with the log's last line: a port-forward dies when
 * its pod is replaced (kubernetes/kubectl#686), and comes back on the new
 * one. The set of helpers is declared again after every pass: new ones
 * start, gone ones stop, changed ones (another argv, or asked to) restart.
 * On exit every group gets SIGTERM, then SIGKILL after a grace period.
 *
 * It knows no kubectl: the command layer builds the command lines. Nothing
 * here blocks; a dead child is noticed when the caller, woken by SIGCHLD,
 * calls forwards_reap(), and a restart is due after forwards_timeout().
 */
#ifndef FUSION_FORWARD_H
#define FUSION_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct fx_forwards;

struct fx_forwards *forwards_new(void);
/* Stops every helper (forwards_stop) and frees. */
void forwards_free(struct fx_forwards *f);

/*
 * Declare the helpers: forwards_begin, forwards_want for each, then
 * forwards_end, which starts, stops and restarts. `id` names a helper in
 * messages; `log` is its log file (absolute, in the state directory and
 * private like every log there: 0600, its directory made 0700; NULL:
 * fusion's own stdout and stderr); `restart` asks for a restart even if its
 * argv is unchanged (its target changed). A new argv restarts a running helper; one waiting for
 * its restart takes it at its next start.
 */
void forwards_begin(struct fx_forwards *f);
void forwards_want(struct fx_forwards *f, const char *id, char *const argv[], const char *log,
    bool restart);
void forwards_end(struct fx_forwards *f);

/* Reap exited helpers and schedule their restarts. */
void forwards_reap(struct fx_forwards *f);
/* Milliseconds until the next restart is due, or -1 if none is. */
int forwards_timeout(const struct fx_forwards *f);
/* Start the helpers whose restart is due. */
void forwards_tick(struct fx_forwards *f);
/* Stop every helper's process group: SIGTERM, SIGKILL after grace_ms. */
void forwards_stop(struct fx_forwards *f, int grace_ms);

/* A helper's pid: 0 while it waits for a restart, -1 if none is declared
 * under `id`. */
pid_t forwards_pid(const struct fx_forwards *f, const char *id);

#endif
