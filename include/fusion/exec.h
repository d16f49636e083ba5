/*
 * exec.h - the executor (scheduler): runs the stale nodes of the selected
 * graph, in parallel, in an order that respects every edge.
 *
 * One thread, one poll loop, in the manner of redis's ae.c: children are
 * started with proc_start() (own process group, output to the node's log
 * STATEDIR/logs/ID.log) and reaped when SIGCHLD wakes the loop through a
 * self-pipe. A node is decided when it becomes ready, that is when every
 * node before it (both edge kinds) has finished: only then are its inputs
 * known, so a node whose upstream ran but produced the same output is
 * found fresh again (early cutoff) and does not run.
 *
 * Limits: at most `jobs` nodes run at once, and at most a kind's limit of
 * that kind (builds are heavy: 2 by default).
 *
 * The shared cache (remote.h), when given, is share.h's: a stale node of a
 * shareable kind is looked up without a job slot once it is decided, and
 * a job slot restores it, runs it, or packs it for an upload, as share.h
 * says; the run ends when the uploads have.
 *
 * Following: while a command whose fx_cmd.watch_ms is set runs, its kind
 * may probe it from outside (fx_kind.watch: a short query, one at a time,
 * its output read and not logged) and have it stopped: SIGTERM to its
 * group, SIGKILL 10 s later if it is still there. A release follows its
 * pods so while helm waits for them.
 *
 * Failure: the node's log tail is shown; its dependents are skipped; no new
 * node starts unless keep_going (-k), which lets independent branches go
 * on. SIGINT/SIGTERM: every running group gets SIGTERM, then SIGKILL after
 * the grace period; nodes that finished are already recorded (one
 * transaction each), so the next run redoes only what was in flight.
 */
#ifndef FUSION_EXEC_H
#define FUSION_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "fusion/cache.h"
#include "fusion/graph.h"
#include "fusion/remote.h"
#include "fusion/report.h"
#include "fusion/stale.h"

struct fx_limit {
	const char *kind;
	int limit;
};

struct fx_exec {
	int jobs;			/* > 0 */
	const struct fx_limit *limits;	/* overrides of fx_kind.limit */
	size_t nlimits;
	bool keep_going;
	const char *statedir;		/* absolute */
	struct fx_cache *cache;
	int64_t run_id;
	struct fx_eval *ev;
	struct fx_report *report;
	int grace_ms;			/* SIGTERM -> SIGKILL; default 1500 */
	int *results;			/* optional: per node index, its enum fx_result,
					 * or -1 if this run did not touch it */

	struct fx_remote *remote;	/* the shared cache, or NULL */
	bool push;			/* upload the nodes that ran */
	bool remote_required;		/* a fault of the cache fails the node (lookups)
					 * or the run (uploads) instead of a warning */
};

/* Run the selected nodes of g. Returns FX_EXIT_OK, FX_EXIT_FAILED or
 * FX_EXIT_INTERRUPTED; *k counts the results. */
int exec_run(struct fx_graph *g, struct fx_exec *x, struct fx_run_counts *k);

/* The log of node `id`: STATEDIR/logs/ID.log (malloc'ed). */
char *exec_log_path(const char *statedir, const char *id);

#endif
