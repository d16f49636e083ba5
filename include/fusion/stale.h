/*
 * stale.h - staleness: is a node's last success still good?
 *
 * A node is stale when it never succeeded, when its key (manifest.h) differs
 * from the key of its last success, when it is forced, or, under --verify,
 * when its recorded output is gone. A node whose input edge leads to a stale
 * or pending node is pending: it will be decided when that node has run,
 * and early cutoff may still leave it fresh.
 *
 * The same decision serves the static evaluation (graph, plan, why, status:
 * upstream outputs come from the records) and the executor (upstream outputs
 * come from this run), so the two can never disagree.
 */
#ifndef FUSION_STALE_H
#define FUSION_STALE_H

#include <stdbool.h>

#include "fusion/graph.h"
#include "fusion/manifest.h"
#include "fusion/map.h"

struct fx_cache;

struct fx_eval {
	struct fx_map *records;	/* id -> struct fx_record*, last successes */
	struct fx_cache *cache;	/* for recorded manifests (reasons); may be NULL */
	void *ctx;		/* handed to the kinds' callbacks */
	bool force;		/* every selected node is stale */
	/* Does the recorded output still exist? Asked under --verify (`verify`)
	 * and, whatever it says, for kinds with check_always. NULL: trust the
	 * records. */
	bool (*exists)(struct fx_node *n, const char *output, void *ctx);
	bool verify;
};

/*
 * Compute n's manifest and key (n->key) from its kind and its input edges'
 * current outputs (n->deps[i]->out, which must be known). Returns the
 * manifest (caller frees), or NULL with a reason in *msg.
 */
struct fx_manifest *stale_inputs(struct fx_node *n, void *ctx, struct fx_buf *msg);

/*
 * Decide one node whose inputs are known: sets n->state (FX_FRESH or
 * FX_STALE), n->reason, n->key, and for a fresh node n->out from its
 * record. `*manifest` (may be NULL) receives the manifest for recording.
 */
void stale_decide(struct fx_node *n, struct fx_eval *ev, struct fx_manifest **manifest);

/* Evaluate every selected node in `order` (topological). */
void stale_evaluate(struct fx_node **order, size_t n, struct fx_eval *ev);

/*
 * One change of n's inputs in words, appended to *out: the engine's own
 * for the input edges it adds ("dep:ID"), else n's kind's (fx_kind.describe),
 * else words made from the entry's name ("namespace: a -> b").
 */
enum fx_said stale_describe(const struct fx_node *n, const struct fx_change *c, bool brief,
    struct fx_buf *out);

/* A short summary of what changed, in n's kind's words ("app.rb changed
 * (+2 more)"). */
char *stale_summary(const struct fx_node *n, const struct fx_changes *c);

#endif
