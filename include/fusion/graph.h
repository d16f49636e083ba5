/*
 * graph.h - the build graph: nodes of some kind, their edges, selection,
 * topological order, and output as DOT or JSON.
 *
 * The graph is generic: it knows no catalog, podman or helm. A node kind
 * (struct fx_kind) is supplied by whoever builds the graph (rules/) and
 * tells the engine how to compute the node's inputs and run its action.
 *
 * Two kinds of edge, as in ninja:
 *   - an input edge (dep -> node): the dep's output is an input of the node's
 *     key, so a changed output makes the node stale;
 *   - an order-only edge (after -> node): the other node must finish (and
 *     succeed) first, but its output does not enter the key.
 *
 * Node ids are "kind:target" ("build:core-api"); a node may belong to a
 * group (the service it was made for), drawn as a cluster in DOT.
 */
#ifndef FUSION_GRAPH_H
#define FUSION_GRAPH_H

#include <stdbool.h>
#include <stddef.h>

#include "fusion/hash.h"
#include "fusion/map.h"
#include "fusion/util.h"

struct fx_node;
struct fx_manifest;
struct fx_change;

/*
 * A command a node's action runs; filled by fx_kind.step. Its stdout goes
 * to the node's log, or to `stdout_path`. With `capture` it goes to the log
 * and also comes back in `out` at the next step() call, for a step that
 * needs what the tool printed (helm's revision): the executor fills `out`
 * before that call and frees it after.
 */
struct fx_cmd {
	struct fx_strv argv;	/* argv[0] is looked up on PATH */
	char *stdout_path;	/* NULL: stdout goes to the node's log; else to this file */
	bool capture;		/* also hand stdout to the next step() in `out` */
	struct fx_buf out;	/* at step(): the previous command's stdout, if captured */
	struct fx_strv redact;	/* secrets: masked in the log (and `out`) once it is done */
	struct fx_strv remove;	/* files removed once it is done, whatever happened */
	int watch_ms;		/* > 0: while it runs, fx_kind.watch probes it this often */

	/* Set by step() with FX_STEP_FAIL, when the message is not all: JSON
	 * members ("\"k\":v,...") for the node's finish event under --json
	 * (report_failure), and whether the message says all there is (its
	 * log's tail is then not shown, only its path). */
	struct fx_buf detail;
	bool said_all;
};

/* What a finished action produced. */
struct fx_output {
	char *value;		/* e.g. the image ID, the revision */
	fx_hash hash;		/* what dependents see; equal hash => early cutoff */
};

enum fx_step {
	FX_STEP_RUN,		/* run *cmd, then call step again */
	FX_STEP_DONE,		/* finished; *out filled */
	FX_STEP_FAIL,		/* failed; the message has been written to *msg */
};

/* What fx_kind.describe made of a changed input. */
enum fx_said {
	FX_SAID_NOTHING,	/* not one of the kind's names: the engine words it */
	FX_SAID_VALUE,		/* a value (an arg, a values file, the cluster) */
	FX_SAID_FILE,		/* one file of a tree: `why` shows only the first few */
};

/*
 * A node kind: its name, how its key is made (inputs), how its action runs
 * (step), and how its inputs read in words (describe). The callbacks get
 * the `ctx` given to the executor and to evaluation (stale.h); the rules'
 * is struct fx_rules.
 */
struct fx_kind {
	const char *name;	/* "build" */
	int version;		/* bump when the action or key changes meaning */
	const char *shape;	/* DOT shape */
	bool keyed;		/* outputs of different keys live side by side (an image
				 * tagged by its ID): a key seen in the last few successes
				 * (cache.h, node_key) is fresh again with that output */
	int limit;		/* default cap on running nodes of this kind; 0 = none */
	/* Its output is a local file whose check is a stat (a chart archive in
	 * the chart cache): fx_eval.exists is asked on every evaluation, not
	 * only under --verify, so a file removed behind fusion's back is made
	 * again by a plain run. */
	bool check_always;

	/*
	 * Fill the manifest of the node's inputs (apart from its input edges'
	 * outputs, which the engine adds). Called only when every input edge's
	 * output is known. `ctx` is the context given to exec/stale. Returns
	 * 0, or -1 after writing a reason to *msg.
	 */
	int (*inputs)(struct fx_node *n, void *ctx, struct fx_manifest *m, struct fx_buf *msg);

	/*
	 * The action, one command at a time. Called with step 0, then after
	 * each command with the next step number and that command's exit
	 * status (wait status decoded: 0 success, 1-255 exit code, 128+N for
	 * signal N), and its stdout in cmd->out if it asked to capture it.
	 * Fill *cmd and return FX_STEP_RUN to run another command.
	 */
	enum fx_step (*step)(struct fx_node *n, void *ctx, int step, int status,
	    struct fx_cmd *cmd, struct fx_output *out, struct fx_buf *msg);

	/*
	 * Following a command from outside while it runs (fx_cmd.watch_ms >
	 * 0), as a release follows its pods while helm waits for them. Every
	 * watch_ms, watch() may fill *probe with a short command (returning
	 * true), which the engine runs in a process group of its own, its
	 * stdout kept in memory (never in the log: only its command line, once)
	 * and its stderr dropped; one at a time, the next watch_ms after the
	 * last ended. watched() then reads its exit status and stdout, and
	 * returns true to stop the command: its group gets SIGTERM (SIGKILL
	 * if it is still there after a grace period), and the next step()
	 * sees the status it died with. A probe still running when the
	 * command ends is killed and not read. Both NULL for kinds that never
	 * follow a command.
	 */
	bool (*watch)(struct fx_node *n, void *ctx, struct fx_strv *probe);
	bool (*watched)(struct fx_node *n, void *ctx, int status, const struct fx_buf *out);

	/*
	 * One changed input in words (c: an entry this kind's inputs() wrote,
	 * as manifest_diff found it), appended to *out. `brief`: a few words
	 * for a stale node's reason ("build arg RUBY_VERSION changed"); else
	 * one line for `why`, old and new values where they help ("build arg
	 * RUBY_VERSION: 3.3 -> 3.4"). May be NULL: the engine words every
	 * name from the name itself.
	 */
	enum fx_said (*describe)(const struct fx_change *c, bool brief, struct fx_buf *out);

	/*
	 * The shared cache (remote.h). A kind with pack and unpack is
	 * shareable: its output moves between machines as one file, the blob.
	 * Both NULL: the output belongs to this machine (a load, a release).
	 * Both work one command at a time, as step does.
	 *
	 * pack: after a success (n->out is set), write the blob to `blob`.
	 * unpack: from `blob` (verified against its digest already), restore
	 * the output another machine recorded as `value`, and fill *out with
	 * it; the engine checks that its hash is the recorded one. A failure
	 * falls back to running the node.
	 */
	enum fx_step (*pack)(struct fx_node *n, void *ctx, int step, int status,
	    const char *blob, struct fx_cmd *cmd, struct fx_buf *msg);
	enum fx_step (*unpack)(struct fx_node *n, void *ctx, int step, int status,
	    const char *blob, const char *value, struct fx_cmd *cmd, struct fx_output *out,
	    struct fx_buf *msg);
};

/* What the last run or evaluation decided about a node. */
enum fx_state {
	FX_UNKNOWN,
	FX_FRESH,		/* key equals the key of its last success */
	FX_STALE,		/* will run: reason says why */
	FX_PENDING,		/* depends on a stale node; may be cut off */
	FX_MISSING,		/* what it reads is absent (a repo not cloned), or what
				 * it depends on is: it cannot run */
};

struct fx_node {
	char *id;		/* "kind:target" */
	const struct fx_kind *kind;
	char *target;
	char *group;		/* NULL if none */
	void *data;		/* the kind's own */
	size_t index;		/* position in graph->nodes */

	struct fx_node **deps;	/* input edges */
	size_t ndeps;
	struct fx_node **after;	/* order-only edges */
	size_t nafter;
	struct fx_node **outs;	/* reverse of both, for scheduling */
	size_t nouts;

	bool selected;
	bool local_only;	/* its output or key holds a secret: it never leaves this
				 * machine (no shared cache), set by whoever builds the graph */
	bool missing;		/* its sources are absent (a repo not cloned): evaluation
				 * makes it and what depends on it FX_MISSING; set by
				 * whoever builds the graph */

	/* Set by evaluation (stale.h) and the executor (exec.h). */
	enum fx_state state;
	char *reason;		/* why stale/pending; NULL if fresh */
	char key[FX_HASH_HEX];	/* key computed this run ("" if not yet) */
	struct fx_output out;	/* current output (recorded or produced) */
	bool have_out;
};

struct fx_graph {
	struct fx_node **nodes;
	size_t n, cap;
	struct fx_map index;	/* id -> node */
};

struct fx_graph *graph_new(void);
void graph_free(struct fx_graph *g);

/* Add a node; the id is "kind:target". Returns NULL if the id exists. */
struct fx_node *graph_add(struct fx_graph *g, const struct fx_kind *kind,
    const char *target, const char *group, void *data);
struct fx_node *graph_find(const struct fx_graph *g, const char *id);

void graph_edge(struct fx_node *from, struct fx_node *to);	/* input edge */
void graph_order(struct fx_node *from, struct fx_node *to);	/* order-only */

/* Topological order of the whole graph into *order (g->n entries). On a
 * cycle returns -1 and writes the cycle ("a -> b -> a") to *cycle. */
int graph_topo(const struct fx_graph *g, struct fx_node ***order, struct fx_buf *cycle);

/* Mark `roots` and everything they depend on (both edge kinds) as selected;
 * with nroots == 0 select everything. */
void graph_select(struct fx_graph *g, struct fx_node **roots, size_t nroots);
/* Deselect nodes whose kind is not in `kinds` (NULL-terminated). */
void graph_select_kinds(struct fx_graph *g, const char *const *kinds);

/* Graphviz DOT of the selected nodes: groups as clusters, shapes by kind,
 * stale nodes filled red, fresh ones green, pending dashed; order-only
 * edges dotted. */
void graph_dot(const struct fx_graph *g, struct fx_buf *out);
/* {"nodes":[...],"edges":[[from,to],...]} (docs/DESIGN.md,
 * "Machine-readable output"); every edge is a pair in "edges", and the order-only ones are
 * listed again in "order". */
void graph_json(const struct fx_graph *g, struct fx_buf *out);

const char *state_name(enum fx_state s);

#endif
