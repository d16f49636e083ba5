/*
 * share.h - the shared cache in a run: what the scheduler (exec.c) asks of
 * it, and what a job slot does for a node when a cache is given.
 *
 * The protocol is remote.h's; this is its use. A stale node of a shareable
 * kind (fx_kind.pack/unpack) is looked up as soon as it is decided, without
 * a job slot, so lookups and downloads overlap with the tools running; on a
 * hit, the blob is downloaded and verified, then unpacked in a job slot, and
 * the node finishes "cached". Anything else (a miss, a fault of the cache, a
 * blob that fails to unpack) runs the node as usual; a fault is one warning
 * line, and a cache that is down or refuses is not asked again this run.
 * With push, a node that ran is packed in its job slot (its dependents go
 * on meanwhile) and uploaded: the blob to cas/ (unless a HEAD finds it
 * there), then the record to ac/, so a record never names a missing blob.
 * The run ends when the uploads have. A transfer of more than 4 MB shows its
 * progress on the status line and its size and rate when done.
 *
 * A node that holds a secret (local_only) is neither looked up nor pushed.
 * Blobs on their way in or out are files in STATEDIR/tmp, emptied when a
 * run starts (what a killed run left).
 *
 * Without a cache (share_open returns NULL) every function takes NULL and
 * costs a test: a slot runs its node's action and nothing else.
 */
#ifndef FUSION_SHARE_H
#define FUSION_SHARE_H

#include <stdbool.h>

#include "fusion/graph.h"
#include "fusion/remote.h"
#include "fusion/report.h"

struct fx_share_conf {
	struct fx_remote *remote;	/* NULL: no shared cache */
	bool push;			/* upload the nodes that ran */
	bool required;			/* a fault fails the node (lookups) or the run
					 * (uploads) instead of a warning */
	bool force;			/* every node runs: none is looked up */
	const char *statedir;		/* absolute */
	struct fx_graph *g;
	struct fx_report *report;
	const bool *stopping;		/* the scheduler's: set, a lookup that ends
					 * runs nothing more (the node is not started) */
	/* A lookup ended: the node is ready to start (fail NULL: with a blob
	 * to unpack or to run), or it failed (--remote-required) after secs. */
	void (*looked)(void *arg, struct fx_node *n, const char *fail, double secs);
	void *arg;
};

struct fx_share;

/* NULL when conf->remote is; else sets up STATEDIR/tmp. */
struct fx_share *share_open(const struct fx_share_conf *conf);
/* Remove the blobs left and free. Returns true if an upload failed. */
bool share_close(struct fx_share *sh);

/* Should the decided stale node n be looked up before it runs? (Its inputs
 * are known: has_manifest.) Each node is looked up at most once. */
bool share_wants_lookup(struct fx_share *sh, struct fx_node *n, bool has_manifest);
/* Look n up (report_start comes now): GET its record, then its blob. The
 * scheduler hears of the end through conf->looked, never from here. */
void share_lookup(struct fx_share *sh, struct fx_node *n);
/* Did the lookup report n started, and when (monotonic)? */
bool share_announced(struct fx_share *sh, struct fx_node *n, double *started);

/* Lookups, downloads or uploads in flight: the run is not over. */
bool share_busy(struct fx_share *sh);
/* Wait at most timeout_ms for the transfers or for fd to be readable, move
 * them on (their callbacks run) and show the largest on the status line.
 * Returns false without a cache: the caller waits on fd itself. */
bool share_wait(struct fx_share *sh, int fd, int timeout_ms);
/* An interrupt: end every transfer; nothing more is packed. */
void share_cancel(struct fx_share *sh);

/*
 * A job slot's work for its node, one command at a time: restore the node
 * from the blob its lookup brought, falling back to running it when the
 * blob does not restore; or run it; then, with push, pack what it made.
 * The scheduler owns the slot, the command's process and the log; the
 * fields are share.c's.
 */
struct fx_share_job {
	struct fx_node *n;
	int mode;
	int step;
	char *blob;		/* being packed */
	int log_fd;		/* the node's log: a fallback is noted there */
};

enum fx_share_next {
	FX_SHARE_SPAWN,		/* run *cmd, then share_next with its status */
	FX_SHARE_RECORD,	/* the node succeeded as *res with *out: record it
				 * (n->out is set then), then share_next */
	FX_SHARE_AGAIN,		/* other work in the slot: clear *cmd, share_next */
	FX_SHARE_FAIL,		/* the node failed, *msg says why: the slot is free */
	FX_SHARE_FREE,		/* done: the slot is free */
};

/* The slot takes n (its log open): to restore it if a blob came, else to
 * run it. A zeroed fx_share_job runs its node's action. */
void share_job_start(struct fx_share *sh, struct fx_share_job *sj, struct fx_node *n,
    int log_fd);
/* What to do next, after the last command ended with `status` (0 at the
 * start); cmd->out holds its stdout if it was captured. */
enum fx_share_next share_next(struct fx_share *sh, struct fx_share_job *sj, void *ctx,
    int status, struct fx_cmd *cmd, struct fx_output *out, enum fx_result *res,
    struct fx_buf *msg);
/* The command FX_SHARE_SPAWN asked for could not start (*msg says why). */
enum fx_share_next share_failed(struct fx_share *sh, struct fx_share_job *sj,
    struct fx_buf *msg);
/* The slot is given up (the node failed or the run stopped). */
void share_job_clear(struct fx_share_job *sj);

#endif
