/*
 * cmd.h - the command line: options, the session every command opens, and
 * one entry point per command (cli/cmd_*.c).
 *
 * The command files are the one place where the three layers meet: they
 * load the catalog (config/), let the rules (rules/) build the graph, and
 * hand it to the engine (staleness, executor, state database).
 */
#ifndef FUSION_CMD_H
#define FUSION_CMD_H

#include <signal.h>
#include <stdbool.h>

#include "fusion/cache.h"
#include "fusion/catalog.h"
#include "fusion/graph.h"
#include "fusion/hash.h"
#include "fusion/walk.h"
#include "fusion/rules.h"
#include "fusion/stale.h"
#include "fusion/statcache.h"

struct fx_opts {
	const char *command;
	const char *dir;	/* -C */
	const char *file;	/* -f */
	int jobs;		/* -j, 0 = catalog or CPUs */
	bool keep_going;	/* -k */
	bool json;
	bool color;

	/* command options */
	const char *until;
	bool dry_run, force, verify, dot, no_wait;
	const char *remote;	/* up --remote URL */
	bool push, no_remote, remote_required;
	int build_jobs;
	bool watch;		/* up --watch */
	int debounce_ms;	/* --debounce (0 allowed) */
	bool debounce_set;
	int poll_ms;		/* --poll: poll instead of inotify */
	bool follow;		/* logs -f */
	bool all, cluster, delete_cluster;	/* down --all --cluster --delete */
	bool fetch;				/* clone --fetch */

	char **args;		/* positional arguments after the command */
	int nargs;
};

struct fx_session {
	struct fx_opts *o;
	char *catalog_path;
	struct fx_catalog cat;
	bool have_cat;
	char *statedir;
	struct fx_graph *g;
	struct fx_node **order;
	struct fx_rules rules;
	struct fx_cache *cache;
	struct fx_map records;
	bool have_records;
	struct fx_statcache *sc;
	struct fx_walk *walk;
	struct fx_eval ev;

	/* Called by session_state once the sources are known, before they are
	 * hashed (up --watch: watch them first, so that no change made while
	 * they are read goes unseen). */
	void (*before_hash)(struct fx_session *s, void *ctx);
	void *before_hash_ctx;
};

/* The state directory of a catalog in `catalog_dir`: .fusion/ at the top of
 * the git repo holding it, else beside it; FUSION_STATE_DIR overrides. */
char *session_statedir(const char *catalog_dir);

/* Load the catalog and build the graph. Returns 0 or an exit status. */
int session_open(struct fx_session *s, struct fx_opts *o);
/* The same from a catalog already loaded from `path`, which the session
 * borrows: it must outlive session_close (up --watch keeps the last good
 * one across passes). */
int session_from(struct fx_session *s, struct fx_opts *o, const char *path,
    const struct fx_catalog *cat);
/* Select what o->args name (all if none) and what --until keeps.
 * Returns 0, or FX_EXIT_USAGE after reporting an unknown name or kind, or
 * a secret of a selected chart whose environment variable is not set. */
int session_select(struct fx_session *s);
/* Open the state database, hash the selected sources, and evaluate every
 * selected node. `verify`: check recorded outputs with the tools.
 * Returns 0 or an exit status. */
int session_state(struct fx_session *s, bool verify);
/* The three above, for the read-only commands (graph, plan, why, status). */
int session_load(struct fx_session *s, struct fx_opts *o, bool verify);
void session_close(struct fx_session *s);

/* Number of selected nodes in a given state. */
int session_count(struct fx_session *s, enum fx_state st);

int cmd_up(struct fx_opts *o);
/* One run of `up` over a session whose state is evaluated (session_state):
 * the executor, its report and summary, the run's record. Returns an exit
 * status. */
int up_run(struct fx_session *s, struct fx_opts *o);
/* `up --watch` (cli/cmd_watch.c). */
int cmd_watch(struct fx_opts *o);
int cmd_plan(struct fx_opts *o);
int cmd_graph(struct fx_opts *o);
int cmd_why(struct fx_opts *o);
int cmd_inputs(struct fx_opts *o);
int cmd_status(struct fx_opts *o);
int cmd_down(struct fx_opts *o);
int cmd_cache(struct fx_opts *o);
/* `logs SVC [-f]` (cli/cmd_logs.c). */
int cmd_logs(struct fx_opts *o);

/*
 * Commands that wait (up --watch, logs -f) sleep in poll(2) on
 * cmd_wake_fd(): SIGINT, SIGTERM and SIGHUP set cmd_stop and write to it,
 * SIGCHLD only writes. The stopping signals do not restart system calls,
 * so they also end a wait for the lock (lock_acquire returns -3).
 * cmd_signals_on returns 0, or -1 after reporting; cmd_signals_off puts
 * the previous handlers back. cmd_wake_drain empties the pipe, and says
 * whether a signal came (poll(2) itself may return EINTR for it, with no
 * revents).
 */
extern volatile sig_atomic_t cmd_stop;
int cmd_signals_on(void);
void cmd_signals_off(void);
int cmd_wake_fd(void);
bool cmd_wake_drain(void);
int cmd_doctor(struct fx_opts *o);
int cmd_bootstrap(struct fx_opts *o);
int cmd_clone(struct fx_opts *o);

#endif
