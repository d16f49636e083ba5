/*
 * cmd.h - the command line: the global options, the commands (each with
 * its own options, opts.h), and the session every command opens.
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
#include "fusion/opts.h"
#include "fusion/walk.h"
#include "fusion/rules.h"
#include "fusion/stale.h"
#include "fusion/statcache.h"

/* The global options: the same for every command, before or after it
 * (main.c reads them, with the command's own). */
struct fx_opts {
	const char *command;
	const char *dir;	/* -C */
	const char *file;	/* -f */
	struct fx_strv profiles;	/* --profile, in order (FUSION_PROFILE when none) */
	int jobs;		/* -j, 0 = catalog or CPUs */
	bool keep_going;	/* -k */
	int verbose;		/* -v, counted (fx_verbose) */
	bool json;		/* --json: stdout holds only JSON */
	bool no_color;		/* --no-color */
	bool help, version;	/* --help, --version */
	bool color;		/* colours: a terminal, no NO_COLOR, no --no-color */

	char **args;		/* positional arguments after the command */
	int nargs;
};

/*
 * A command: its help, the table of its own options (opts.h), and its
 * entry point, which gets the global options and the struct its table
 * sets. Each cmd_*.c defines its command; main.c lists them.
 */
struct fx_command {
	const char *name;
	const char *usage;	/* the synopsis, after "fusion " */
	const char *about;	/* what it does: the help's first paragraph */
	const struct fx_option *options;	/* its own; NULL: none */
	size_t size;		/* of the struct they set (0: none) */
	const void *defaults;	/* that struct before parsing; NULL: zeroes */
	const char *json;	/* what --json prints; NULL: it refuses --json (exit 2) */
	int (*run)(struct fx_opts *o, void *opts);
};

extern const struct fx_command fx_cmd_up, fx_cmd_plan, fx_cmd_graph, fx_cmd_why,
    fx_cmd_inputs, fx_cmd_status, fx_cmd_down, fx_cmd_cache, fx_cmd_logs, fx_cmd_doctor,
    fx_cmd_bootstrap, fx_cmd_clone, fx_cmd_lock, fx_cmd_config;

/* What a command selects beyond the names it is given (up, plan, graph,
 * why): the session applies it. */
struct fx_select {
	const char *until;	/* --until KIND */
	bool force;		/* --force: every selected node is stale */
};

/* The --until row of the commands that select (T: their options struct, F:
 * its fx_select's until). Help texts name the node kinds as "{kinds:or}"
 * or "{kinds:and}": the help puts in the registry's names (rules.h). */
#define FX_UNTIL(T, F) FX_STR("until", T, F, "KIND", \
	"only KIND's nodes and those KIND takes inputs from\n(KIND is {kinds:or})")

/* The options of `up`; `plan` (up --dry-run), `up --watch` and `bootstrap`
 * run with them too. */
struct fx_up_opts {
	struct fx_select sel;
	bool verify;		/* --verify */
	bool dry_run, no_wait, watch;
	int build_jobs;		/* --build-jobs, 0 = the default */
	const char *remote;	/* --remote URL */
	bool push, no_remote, remote_required;
	int debounce_ms;	/* --debounce (0 allowed) */
	int poll_ms;		/* --poll: poll instead of inotify; 0 = inotify */
};

struct fx_session {
	struct fx_opts *o;
	struct fx_select sel;	/* set by the command before session_select */
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
	bool allow_missing;	/* select nodes whose repo is missing (graph, plan,
				 * why, status show them); else session_select
				 * refuses them */

	/* Called by session_state once the sources are known, before they are
	 * hashed (up --watch: watch them first, so that no change made while
	 * they are read goes unseen). */
	void (*before_hash)(struct fx_session *s, void *ctx);
	void *before_hash_ctx;
};

/* The state directory of a catalog in `catalog_dir`: .fusion/ at the top of
 * the git repo holding it, else beside it; FUSION_STATE_DIR overrides. */
char *session_statedir(const char *catalog_dir);

/* Load the catalog at `path` as the command line asks: the profiles of
 * --profile, else of FUSION_PROFILE (comma-separated); `repos_optional`
 * as fx_load_opts's. Returns 0, or -1 after reporting. */
int session_catalog(struct fx_opts *o, const char *path, bool check_files, bool repos_optional,
    struct fx_catalog *out);

/* Load the catalog and build the graph. Returns 0 or an exit status. */
int session_open(struct fx_session *s, struct fx_opts *o);
/* The same from a catalog already loaded from `path`, which the session
 * borrows: it must outlive session_close (up --watch keeps the last good
 * one across passes). */
int session_from(struct fx_session *s, struct fx_opts *o, const char *path,
    const struct fx_catalog *cat);
/* Select what o->args name (all if none) and what s->sel.until keeps.
 * Returns 0, or FX_EXIT_USAGE after reporting an unknown name or kind, a
 * missing repo a selected node needs (every one, unless allow_missing), or
 * a secret of a selected chart whose environment variable is not set. */
int session_select(struct fx_session *s);
/* Open the state database, hash the selected sources, and evaluate every
 * selected node. `verify`: check recorded outputs with the tools.
 * Returns 0 or an exit status. */
int session_state(struct fx_session *s, bool verify);
/* The three above, for the read-only commands (graph, plan, why, status),
 * with allow_missing; `sel` may be NULL. */
int session_load(struct fx_session *s, struct fx_opts *o, const struct fx_select *sel,
    bool verify);
void session_close(struct fx_session *s);

/* Number of selected nodes in a given state. */
int session_count(struct fx_session *s, enum fx_state st);

/* After "no service ... named NAME": " (did you mean core-api?)" when a
 * service, shared release or node of the session has a close name, else "". */
const char *session_hint(struct fx_session *s, const char *name, struct fx_buf *b);

int cmd_up(struct fx_opts *o, struct fx_up_opts *u);
/* One run of `up` over a session whose state is evaluated (session_state):
 * the executor, its report and summary, the run's record. Returns an exit
 * status. */
int up_run(struct fx_session *s, struct fx_opts *o, const struct fx_up_opts *u);
/* `up --watch` (cli/cmd_watch.c). */
int cmd_watch(struct fx_opts *o, struct fx_up_opts *u);
/* `plan`, `up --dry-run`. */
int cmd_plan(struct fx_opts *o, struct fx_up_opts *u);

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

#endif
