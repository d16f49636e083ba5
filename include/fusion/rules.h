/*
 * rules.h - the node kinds of fusion and the tools behind them.
 *
 * rules/ turns catalog entries into graph nodes (docs/DESIGN.md,
 * "The graph"). The kinds, in pipeline order, are one registry
 * (rules/kinds.c), each kind's entry defined in its own file:
 *
 *   build:S    rules/build.c    podman|docker build, then tag localhost/IMAGE:fx-<id16>
 *   load:S     rules/load.c     the provider's load: an archive or a push
 *   fetch:X    rules/fetch.c    helm pull of a locked chart into the chart cache
 *   chart:X    rules/chart.c    helm template -> STATEDIR/artifacts/X.yaml
 *   release:X  rules/release.c  helm upgrade --install ... --wait
 *
 * Each entry names the kinds its nodes take inputs from (the input edges:
 * build -> load -> release, build -> chart -> release, fetch -> chart) and carries the
 * roles the commands ask for (what `down` uninstalls, what `status` shows);
 * the order-only edge release:Y -> release:X for each Y in X's needs comes
 * from a role too. Nothing outside rules/ names a kind. The tool
 * back-ends are ops tables, one file each: the image builders
 * (rules/builder_*.c, builder.h) and the cluster providers
 * (rules/provider_*.c, provider.h). rules/cluster.c holds what every
 * cluster shares: the kube context flags, the cluster identity, the
 * batched --verify queries.
 *
 * Rules speak to the engine only through graph.h's fx_kind callbacks and
 * know nothing of SQLite. Their per-run context is struct fx_rules, handed
 * to every callback as `ctx`.
 */
#ifndef FUSION_RULES_H
#define FUSION_RULES_H

#include <stdbool.h>

#include "fusion/catalog.h"
#include "fusion/graph.h"
#include "fusion/hash.h"
#include "fusion/map.h"

/* What one listing command said is there (rules/cluster.c): asked once
 * per run, on first use; when the tool cannot answer, outputs are trusted. */
struct fx_listing {
	bool asked;
	bool ok;			/* the tool answered */
	struct fx_map names;		/* the words it printed */
	struct fx_strv owned;		/* the strings `names` points at */
};

/* A tool fusion runs, as `fusion doctor` checks it (rules/tools.c): on
 * PATH, and at least version `min` by what version_argv prints (its first
 * N.N[.N]). Each table sits beside the tool's other command lines. */
struct fx_tool {
	const char *name;
	const char *version_argv[5];
	const char *min;
	const char *hint;	/* how to get it */
};

/* The tools every catalog needs (helm.c, cluster.c), and git for entries
 * with `git:` (tools.c); the builder's and the provider's are in their ops
 * tables (builder.h, provider.h). */
extern const struct fx_tool rules_tool_helm, rules_tool_kubectl, rules_tool_git;

enum fx_tool_state { FX_TOOL_MISSING, FX_TOOL_UNKNOWN, FX_TOOL_OLD, FX_TOOL_OK };
/*
 * Check tool t: FX_TOOL_MISSING (not on PATH); FX_TOOL_UNKNOWN (its
 * version command failed or printed no version: its first line, of stdout
 * or of stderr when it failed, in *said, malloc'ed); else FX_TOOL_OLD
 * (older than t->min) or FX_TOOL_OK, the version in have. *said is NULL
 * but for FX_TOOL_UNKNOWN.
 */
enum fx_tool_state rules_tool_check(const struct fx_tool *t, int have[3], char **said);
/* The first "N.N[.N]" in s as three numbers (the third 0 when absent);
 * false when there is none. */
bool rules_version_parse(const char *s, int v[3]);

struct fx_containerfile;

struct fx_rules {
	const struct fx_catalog *cat;
	const char *statedir;		/* absolute */
	struct fx_walk *walk;		/* the sources of this run */
	bool dry_run;			/* step() only describes commands (plan -v) */
	bool artifacts_made;		/* STATEDIR/artifacts is there */

	/* The cluster identity, read once per run on first use. */
	bool cluster_read;
	char *cluster_uid;		/* NULL if unreachable */
	char *cluster_err;

	/* --verify / status: one query per tool, made on first use. */
	struct fx_listing images;	/* image IDs present in the builder */
	struct fx_listing loaded;	/* image refs present in the cluster */
	struct fx_listing releases;	/* release names present in the namespace */
	/* Releases a killed helm left pending, "NAME=STATUS": asked once per
	 * run, when the first release runs (rules_pending). */
	bool pending_asked;
	struct fx_strv pending;

	/* How rule files (ignore files) are read: the command layer keeps their
	 * text in the state database so that a no-op run reads none. NULL:
	 * read_file(). Same contract as read_file(). */
	int (*read)(void *read_ctx, const char *path, char **text, size_t *len);
	void *read_ctx;

	/* The images the selected builds read (rules/baseimage.c): names,
	 * and their IDs once asked ("absent" for one not there). */
	struct fx_strv base_names, base_ids;
	bool base_asked;

	/* Builds whose image was found gone when their load failed: `up`
	 * forgets their records and runs once more, so they are rebuilt. */
	struct fx_strv lost;
};

struct fx_builder;

/* Per-node data of every kind. */
struct fx_rule_node {
	struct fx_svc *svc;
	struct fx_ignore *ignore;	/* build: the context's rules */
	char *ignore_file;		/* build: the ignore file its builder reads, or NULL */
	const struct fx_builder *builder;	/* build: the builder whose ignore files count */
	char *ignore_key;
	const struct fx_tree *context, *file, *ignore_tree, *chart;
	const struct fx_tree **values;
	size_t nvalues;
	char *pull_dir;			/* fetch: where helm pull writes, while it runs */
	/* fetch of a local chart's dependencies: its Chart.yaml and its lock
	 * (Chart.lock, or requirements.lock), and charts/ as the build left
	 * it in this run (entries "charts/..."), NULL if it did not run */
	const struct fx_tree *chart_yaml, *chart_lock;
	struct fx_tree *built;
	struct fx_tree *chart_now;	/* chart: its tree, charts/ as its fetch built it */
	struct fx_rollout *rollout;	/* release: its rollout while it runs */
	int rollout_step;		/* release: what its next step does */
	int load_status;		/* load: the failed command's status, 0 if none */
	int load_failed;		/* load: which command failed (0: the save) */
	bool names_told;		/* build: odd file names said once */
	struct fx_containerfile *cf;	/* build: what its Containerfile reads */
	char *state_pattern;		/* build: the state directory in its context, or NULL */
	struct fx_strv bind_names;	/* build: its bind-mount sources, context-relative */
	const struct fx_tree **binds;	/* build: their digests (a file or a tree) */
	const struct fx_tree *builder_tree;	/* build: the builder's binary */
	struct fx_ignore *bind_ignore;	/* build: the state directory, out of bind mounts */
};

void rules_init(struct fx_rules *r, const struct fx_catalog *cat, const char *statedir);
void rules_free(struct fx_rules *r);

/* Add every catalog entry's nodes and edges. Returns 0 or -1 after reporting. */
int rules_graph(struct fx_rules *r, struct fx_graph *g);
/* Free the per-node data rules_graph attached to g's nodes. */
void rules_graph_free(struct fx_graph *g);

/* The node an argument names: "build:core-api" the node itself, else
 * "core-api" its node of the kind with FX_ROLE_TARGET (its release); NULL
 * if there is neither. (Selecting a release selects everything it depends
 * on; --until then keeps KIND and the kinds it takes inputs from.) */
struct fx_node *rules_find(struct fx_graph *g, const char *arg);

/* Queue the sources (contexts, containerfiles, ignore files, charts, values)
 * of the selected nodes in r->walk. Returns 0 or -1 after reporting. */
int rules_sources(struct fx_rules *r, struct fx_graph *g);

/* One source of a selected node, as rules_sources queued it. */
struct fx_source {
	const char *path;		/* absolute: a directory (tree) or a file */
	bool file;
	const struct fx_ignore *ig;	/* a tree's ignore rules, or NULL */
	const char *ig_key;		/* their identity ("" for none) */
	const struct fx_tree *tree;	/* its digest (filled by the hash run);
					 * NULL for a file that may appear */
	const struct fx_node *n;	/* the node that reads it */
};

/*
 * Every source of the selected nodes, after rules_sources (up --watch
 * watches them): build contexts with their rules, containerfiles, ignore
 * files (and wherever one the builder reads could appear: beside the
 * containerfile and in the context), charts and values files. A source read by several
 * nodes comes once per node.
 */
void rules_each_source(struct fx_graph *g, void (*fn)(void *ctx, const struct fx_source *src),
    void *ctx);

/*
 * The registry of node kinds (rules/kinds.c). Each kind's file defines its
 * entry: the engine's part (struct fx_kind: name, key, action, words,
 * sharing) and what the rules and the commands need of it. Every callback
 * and `never_ran` is required, and each role the commands ask for has a
 * kind: rules_kinds_check() says which is missing before any graph is made
 * (rules_graph calls it, and so does a unit test).
 */
enum fx_role {
	/* A service's name alone means its node of this kind (rules_find):
	 * `up core-api`, `why core-api`, `inputs core-api`. */
	FX_ROLE_TARGET = 1 << 0,
	/* Its node of X is X deployed in the cluster: `down` uninstalls it and
	 * forgets its record, `status` shows its output (the revision) and
	 * when it ran, `up --watch` forwards X's ports once it is fresh. */
	FX_ROLE_DEPLOY = 1 << 1,
	/* Its output is X's image ID: `status` shows the image's tag, and
	 * --build-jobs caps how many of its nodes run at once. */
	FX_ROLE_IMAGE = 1 << 2,
	/* Its node of X runs after its node of each Y in X's needs (an
	 * order-only edge: Y's new output does not make X stale). */
	FX_ROLE_NEEDS = 1 << 3,
	/* Its key holds X's secrets: the node never leaves this machine (no
	 * shared cache), and a selected one needs them set before anything
	 * runs (a catalog error otherwise). */
	FX_ROLE_SECRETS = 1 << 4,
	/* Its key holds the lock file's digest of X's chart (a chart from a
	 * repository or a registry): a selected one needs the chart locked
	 * before anything runs (a catalog error otherwise: `fusion lock`). */
	FX_ROLE_LOCKED = 1 << 5,
	/* It reads X's repo: when the repo is not there (not cloned), the
	 * node is `missing` (it and what depends on it cannot run) and reads
	 * no sources. */
	FX_ROLE_REPO = 1 << 6,
};

struct fx_rule_kind {
	struct fx_kind kind;	/* the engine's part; kind.name names the kind
				 * (bump kind.version when its action changes) */
	/* The kinds whose node of the same service feeds this kind's node
	 * (an input edge each, in this order), NULL-terminated. Each comes
	 * earlier in the registry: the pipeline order is a topological one. */
	const struct fx_rule_kind *const *from;
	unsigned roles;		/* enum fx_role bits */
	const char *never_ran;	/* `why` of a node with no record: "never built" */

	/* Has service s a node of this kind? (A shared release is not built.) */
	bool (*wants)(const struct fx_svc *s);
	/* Queue the node's sources in r->walk (rules_sources). Returns 0, or
	 * -1 after reporting. rules_no_sources for a kind that reads none. */
	int (*sources)(struct fx_rules *r, struct fx_node *n);
	/* Hand each source that `sources` queued to fn (rules_each_source);
	 * rules_each_no_source for a kind that reads none. */
	void (*each_source)(struct fx_node *n, void (*fn)(void *ctx, const struct fx_source *src),
	    void *ctx);
	/* Is the output a success recorded still there (--verify, status)? */
	bool (*exists)(struct fx_rules *r, struct fx_node *n, const char *output);
};

extern const struct fx_rule_kind kind_build, kind_load, kind_fetch, kind_chart, kind_release;

/* Every kind, in pipeline order, NULL-terminated. */
extern const struct fx_rule_kind *const rules_kinds[];

/* 0 if every kind of `kinds` (NULL-terminated: rules_kinds) is complete,
 * comes after the kinds it takes inputs from and has a name of its own,
 * and every role the commands ask for has a kind; else -1 after reporting
 * each fault (fusion's, not the catalog's). */
int rules_kinds_check(const struct fx_rule_kind *const *kinds);
/* The kind called `name`, or NULL. */
const struct fx_rule_kind *rules_kind_named(const char *name);
/* The kind of a node of the rules' graph; NULL for another graph's node. */
const struct fx_rule_kind *rules_kind_of(const struct fx_node *n);
/* The first kind, in pipeline order, with role `role`. */
const struct fx_rule_kind *rules_kind_with(enum fx_role role);
/* Has node n's kind role `role`? */
bool rules_is(const struct fx_node *n, enum fx_role role);
/* Service `name`'s node of kind k, or NULL if it has none. */
struct fx_node *rules_node(const struct fx_graph *g, const struct fx_rule_kind *k,
    const char *name);
/* The kinds' names in pipeline order, the last two joined by `last`:
 * "build, load, chart or release". */
void rules_kind_list(struct fx_buf *out, const char *last);
/*
 * What `--until KIND` keeps: the names of KIND and of every kind its
 * nodes take inputs from, transitively, in pipeline order, for
 * graph_select_kinds (NULL-terminated, malloc'ed). NULL if no kind is
 * called `name`.
 */
const char **rules_kinds_upto(const char *name);

/* The sources and each_source of a kind that reads none. */
int rules_no_sources(struct fx_rules *r, struct fx_node *n);
void rules_each_no_source(struct fx_node *n, void (*fn)(void *ctx, const struct fx_source *src),
    void *ctx);

/* The build kind's ignore rules (rules/rules.c, with the order in which
 * each builder looks for its ignore file): read the builder's ignore file
 * and the catalog's build.ignore into d->ignore, d->ignore_file and
 * d->ignore_key. The builder refuses bad rules only when a COPY or ADD
 * reads the context, so only then are they an error; the state directory,
 * when inside the context, is excluded last. Returns 0, or -1 after
 * reporting. */
int rules_load_ignore(struct fx_rules *r, struct fx_rule_node *d);
/* The k-th ignore file builder b (NULL: the default) would read for s, in
 * its order (the first there wins), or NULL past the last; malloc'ed. */
char *rules_ignore_path(const struct fx_svc *s, const struct fx_builder *b, size_t k);

/* The cluster identity (kube-system namespace UID): one kubectl call per
 * run. NULL if the cluster cannot be reached (the reason in *err). */
const char *rules_cluster(struct fx_rules *r, const char **err);

/* fx_eval.exists for --verify and status: the node's kind's exists. */
bool rules_exists(struct fx_node *n, const char *output, void *ctx);
/*
 * What the tools list, each asked once per run (rules/cluster.c), for the
 * kinds' exists: an image ID the builder holds, an image reference the
 * cluster holds (trusted for providers that cannot list), a release of
 * the namespace. What a tool could not list is trusted to be there.
 */
bool rules_have_image(struct fx_rules *r, const char *id);
bool rules_have_loaded(struct fx_rules *r, const char *ref);
bool rules_have_release(struct fx_rules *r, const char *name);

/*
 * Images into values (rules/images.c). rules_image_tag: the tag service
 * s's image (ID `id`) has: fx-<16 hex of the ID>, or, when the entry that
 * releases it gives its members one tag, fx-<16 hex of all their IDs>, the
 * IDs read from n's input edges from their builds (malloc'ed).
 * rules_registry: "localhost", or the registry images are pushed to.
 * rules_ref_tagged: REGISTRY/IMAGE:TAG as the cluster pulls it.
 * rules_image_values: the PATH=VALUE pairs chart node `chart` is given, in
 * order, each path once: each image it takes (its build edges) through
 * its templates (FX_IMAGE_FIELDS); into *out, free with rules_kv_free.
 */
char *rules_image_tag(const struct fx_catalog *c, const struct fx_svc *s, const char *id,
    const struct fx_node *n);
const char *rules_registry(const struct fx_catalog *c);
char *rules_ref_tagged(const struct fx_catalog *c, const struct fx_svc *s, const char *tag);
void rules_image_values(struct fx_rules *r, const struct fx_node *chart, struct fx_kvlist *out);
void rules_kv_free(struct fx_kvlist *l);

/* Is `s` an image ID ("sha256:" and 64 lowercase hex)? A record's output
 * (imported, or from a shared cache) is used as one only if it is. */
bool rules_is_image_id(const char *s);
/* The image reference a build output (image ID) gets: localhost/IMAGE:fx-<16 hex>. */
char *rules_image_ref(const struct fx_svc *s, const char *image_id);
/* The reference the cluster pulls: the local ref, or REGISTRY/IMAGE:TAG for
 * provider existing. */
char *rules_cluster_ref(const struct fx_catalog *c, const struct fx_svc *s, const char *image_id);

/*
 * The catalog's secrets (rules/secrets.c): read from the environment when
 * needed, never kept. rules_secret_missing: the first whose variable is
 * unset, or NULL. rules_secret_inputs: "secret:KEY" = its keyed hash, for a
 * chart's or a release's key. rules_secrets_path: the values file helm
 * reads them from (STATEDIR/secrets/KIND-NAME.yaml), NULL when the entry
 * has none. rules_secrets_file: write it (0600) for the command in *cmd,
 * which removes it when done and masks the values in the log (nothing when
 * dry_run). rules_say_secret: "secret KEY changed", never a value.
 */
const struct fx_kv *rules_secret_missing(const struct fx_svc *s);
int rules_secret_inputs(struct fx_rules *r, const struct fx_svc *s, struct fx_manifest *m,
    struct fx_buf *msg);
char *rules_secrets_path(struct fx_rules *r, const struct fx_node *n);
int rules_secrets_file(struct fx_rules *r, struct fx_node *n, struct fx_cmd *cmd,
    struct fx_buf *msg);
enum fx_said rules_say_secret(const struct fx_change *c, bool brief, struct fx_buf *out);

/*
 * Charts from repositories and registries (rules/fetch.c).
 * rules_chart_cache: the user's chart cache ($FUSION_CHART_CACHE, else
 * $XDG_CACHE_HOME/fusion/charts, else ~/.cache/fusion/charts), malloc'ed.
 * rules_chart_archive: where the archive of `digest` ("sha256:HEX") lives
 * in it, CACHE/sha256/HEX.tgz. rules_chart_said: s's chart in words
 * ("oci://HOST/PATH/NAME", "NAME from URL").
 * rules_pull_dir: a new directory for one helm pull (CACHE/tmp/pull-XXXXXX),
 * or NULL with the reason in *msg. rules_pull_argv: helm pull of s's chart
 * at `version` (exact, or a range helm resolves) into `dir`.
 * rules_pull_done: after it, the one archive in dir: its version (from its
 * name, NAME-VERSION.tgz) and digest, refused (-1, the reason in *msg)
 * when `want` is given and differs, else moved into the cache; dir is
 * removed either way. rules_chart_resolve: `fusion lock`'s resolution of
 * s's pin, the three above in one (helm's complaint in *msg on failure).
 * rules_archive_check: is the cached archive of s's locked digest still
 * that archive (it is read and hashed)? 0, or -1 with the reason in *msg.
 */
char *rules_chart_cache(void);
char *rules_chart_archive(const char *digest);
void rules_chart_said(const struct fx_svc *s, struct fx_buf *out);
char *rules_pull_dir(struct fx_buf *msg);
void rules_pull_argv(const struct fx_svc *s, const char *version, const char *dir,
    struct fx_strv *argv);
int rules_pull_done(const struct fx_svc *s, const char *dir, const char *want, char **version,
    char **digest, struct fx_buf *msg);
int rules_chart_resolve(const struct fx_svc *s, char **version, char **digest,
    struct fx_buf *msg);
int rules_archive_check(const struct fx_svc *s, struct fx_buf *msg);
/* A local chart's lock of its dependencies (CHART/Chart.lock, else
 * CHART/requirements.lock of an apiVersion v1 chart) when there is one
 * (malloc'ed), else NULL: such a chart has a fetch node, which runs helm
 * dependency build. */
char *rules_deps_lock(const char *chart);
/* The tree t with its entries under charts/ replaced by those of `built`
 * (a new tree, its root digest computed; free with rules_tree_free). */
struct fx_tree *rules_tree_with(const struct fx_tree *t, const struct fx_tree *built);
void rules_tree_free(struct fx_tree *t);
/* How long helm waits for s's release, in seconds: its `timeout`, else
 * FX_RELEASE_TIMEOUT (rules/release.c). */
int rules_release_timeout(const struct fx_svc *s);

/* Helm: the common arguments of template and upgrade (chart, -n, -f, --set). */
void rules_helm_args(struct fx_rules *r, struct fx_node *n, struct fx_strv *argv);
/*
 * `fusion down`'s helm commands (rules/helm.c). rules_installed: the names
 * of the releases in the namespace, failed and pending ones too (helm list
 * -a -q); 0, or -1 with helm's complaint in *why (malloc'ed): the cluster
 * cannot be reached. rules_still_installed: does helm status find it?
 * rules_uninstall_argv: helm uninstall X -n NS.
 */
int rules_installed(const struct fx_catalog *c, struct fx_strv *names, char **why);
/*
 * A release a killed helm left pending-install or pending-upgrade, which
 * helm refuses to upgrade (helm/helm#4558): rules_pending says its status
 * (helm list --pending, asked once per run), NULL when it is not pending;
 * rules_unpend_argv is what clears it first: helm rollback X (back to the
 * revision before), or helm uninstall X for an install.
 */
const char *rules_pending(struct fx_rules *r, const char *name);
void rules_unpend_argv(struct fx_rules *r, const struct fx_svc *s, const char *status,
    struct fx_strv *argv);
bool rules_still_installed(const struct fx_catalog *c, const char *name);
void rules_uninstall_argv(struct fx_rules *r, const struct fx_svc *s, struct fx_strv *argv);

/* Kube context flag for kubectl ("--context") or helm ("--kube-context"). */
void rules_context_args(const struct fx_catalog *c, struct fx_strv *argv, bool helm);
/*
 * kubectl's commands outside the graph (rules/cluster.c).
 * rules_cluster_answers: kubectl [--context C] get namespace kube-system
 * -o name; does the cluster answer? If not and why is not NULL, kubectl's
 * first line (of stderr, else stdout) in *why, malloc'ed.
 * rules_current_context: kubectl config current-context, the context the
 * user's own kubectl commands reach (malloc'ed); NULL when none is set.
 * rules_namespace_ensure: `fusion bootstrap`'s namespace: kubectl get
 * namespace NS, else kubectl create namespace NS; 0 (it was there), 1
 * (created), or -1 with kubectl's first line of stderr in *why (malloc'ed).
 */
bool rules_cluster_answers(const struct fx_catalog *c, char **why);
char *rules_current_context(void);
int rules_namespace_ensure(const struct fx_catalog *c, char **why);

/* A path as `why` shows it: relative to the workspace root when inside it. */
const char *rules_relpath(const struct fx_catalog *c, const char *abs);
/* STATEDIR/artifacts/NAME (malloc'ed); creates the directory. */
char *rules_artifact(struct fx_rules *r, const char *name);
/* Digest of a one-file tree as "mode:hex" for a manifest value. */
char *rules_file_digest(const struct fx_tree *t);

/*
 * Words for changed inputs (fx_kind.describe), each kind's beside the code
 * that writes its manifest entries; these are the pieces they share.
 * rules_after: the part of `name` after `prefix`, or NULL. rules_say_value:
 * "WHAT: old -> new", "WHAT added: v" (brief: "WHAT changed").
 * rules_say_file: one file of a tree, "M WHATpath", a mode change named as
 * such (brief: "WHATpath changed"). rules_say_cluster: the "cluster:" entry
 * of loads and releases (rules/cluster.c).
 */
const char *rules_after(const char *name, const char *prefix);
enum fx_said rules_say_value(const struct fx_change *c, const char *what, bool brief,
    struct fx_buf *out);
enum fx_said rules_say_file(const struct fx_change *c, const char *path, const char *what,
    bool brief, struct fx_buf *out);
enum fx_said rules_say_cluster(const struct fx_change *c, bool brief, struct fx_buf *out);

/* The pods of a release (rules/pods.c). The label selectors ("k=v,k2=v2")
 * of the workloads in the manifest its chart rendered, each once; Helm's
 * standard app.kubernetes.io/instance=X when that names none. */
void rules_selectors(struct fx_rules *r, const struct fx_svc *s, struct fx_strv *out);
/* kubectl logs of the pods a selector picks, every line, each prefixed
 * with [pod/POD/CONTAINER]. */
void rules_logs_argv(const struct fx_catalog *c, const char *selector, struct fx_strv *argv);
/* kubectl get pods by a selector, each pod's name and UID (a pod made
 * again under its name, as a StatefulSet's, is another pod: another UID);
 * rules_pods_parse reads what it printed (stdout and stderr together) into
 * *pods, adding the pods not there yet: kubectl's messages ("No resources
 * found in NS namespace.") are no pods. */
struct fx_pod {
	char *name;
	char *uid;
};
struct fx_pods {
	struct fx_pod *v;
	size_t n;
};
void rules_pods_argv(const struct fx_catalog *c, const char *selector, struct fx_strv *argv);
void rules_pods_parse(const char *out, struct fx_pods *pods);
void rules_pods_free(struct fx_pods *pods);
/*
 * The pods' status, as `kubectl get pods -o json` reports it (the whole
 * namespace in one call: rules_pod_list_argv), read by
 * rules_pod_list_parse into the fields rollouts and `status` judge by.
 * Parse returns 0, or -1 when the text is no List (kubectl failed).
 */
struct fx_pod_cont {
	char *name;
	bool init;		/* an init container */
	bool ready;
	bool ran;		/* it started once: running, terminated, or a lastState */
	int restarts;
	const char *state;	/* "waiting", "running", "terminated", NULL if none */
	char *reason, *message;	/* of that state, NULL if none */
	int exit_code;		/* terminated */
	char *last_reason, *last_message;	/* lastState.terminated, NULL if none */
	int last_exit;
};
struct fx_pod_status {
	char *name, *uid, *phase;
	struct fx_strv labels;	/* "k=v" */
	char *owner_kind, *owner;	/* its controller (ReplicaSet, Job, ...), NULL if none */
	bool deleting;		/* it has a deletionTimestamp */
	bool ready;		/* condition Ready is True */
	char *unschedulable;	/* condition PodScheduled False, Unschedulable: its message */
	struct fx_pod_cont *c;	/* init containers first */
	size_t nc;
};
struct fx_pod_list {
	struct fx_pod_status *v;
	size_t n;
};
void rules_pod_list_argv(const struct fx_catalog *c, struct fx_strv *argv);
int rules_pod_list_parse(const char *json, size_t len, struct fx_pod_list *out);
void rules_pod_list_free(struct fx_pod_list *l);
void rules_pod_status_free(struct fx_pod_status *p);

/* Which pods are release X's, by the manifest its chart rendered: its
 * workloads' selectors (Helm's instance label when it names none), its
 * hook Jobs (helm.sh/hook) and its bare Pods. A Job's pod is only its
 * Job's. */
struct fx_release_pods {
	struct fx_strv selectors;	/* "k=v,k2=v2" */
	struct fx_strv hooks;		/* hook Job names */
	struct fx_strv pods;		/* bare Pod names */
};
enum fx_pod_role { FX_POD_NONE, FX_POD_WORKLOAD, FX_POD_HOOK };
void rules_release_pods(struct fx_rules *r, const struct fx_svc *s, struct fx_release_pods *out);
void rules_release_pods_free(struct fx_release_pods *rp);
enum fx_pod_role rules_pod_of(const struct fx_release_pods *rp, const struct fx_pod_status *p);

/* A pod's events: kubectl get events --field-selector involvedObject.uid=UID
 * -o json, read oldest first (by lastTimestamp, else eventTime: the
 * scheduler's events have no lastTimestamp). */
struct fx_event {
	char *type, *reason, *message;
	long count;		/* 0 when the event has none */
	char *time;		/* RFC 3339, NULL if none */
};
struct fx_events {
	struct fx_event *v;
	size_t n;
};
void rules_events_argv(const struct fx_catalog *c, const char *uid, struct fx_strv *argv);
int rules_events_parse(const char *json, size_t len, struct fx_events *out);
void rules_events_free(struct fx_events *ev);
/* kubectl logs pod/POD [--container C] --tail=N: its last lines (of a
 * container waiting to restart, its last run's). */
void rules_tail_argv(const struct fx_catalog *c, const char *pod, const char *container, int lines,
    struct fx_strv *argv);

/*
 * What is wrong with a pod (rules/rollout.c), by the states it does not
 * leave by itself: a container waiting in ErrImageNeverPull,
 * ImageInspectError, InvalidImageName, ErrImagePull, ImagePullBackOff,
 * CrashLoopBackOff, CreateContainerConfigError or CreateContainerError; an
 * OOM kill (the state or the last state terminated OOMKilled); the pod
 * Unschedulable; for a hook Job's pod (role FX_POD_HOOK), a container that
 * exited non-zero or the pod Failed. A pod being deleted is fine.
 * rules_pod_trouble fills *t (free it with rules_pod_trouble_free) and
 * returns true when something is. rules_pod_state: where a pod not ready
 * stands ("ContainerCreating", "Pending", "running, not ready").
 */
struct fx_pod_trouble {
	char *pod, *uid;
	char *container;	/* NULL: the pod's (Unschedulable) */
	char *reason;		/* "CrashLoopBackOff", "OOMKilled", "Unschedulable", ... */
	char *message;		/* the kubelet's or the scheduler's, "" if none */
	int restarts;
	bool ran;		/* the container ran: it has a log */
	bool hook;		/* a hook Job's pod */
};
bool rules_pod_trouble(const struct fx_pod_status *p, enum fx_pod_role role,
    struct fx_pod_trouble *t);
void rules_pod_trouble_free(struct fx_pod_trouble *t);
void rules_pod_state(const struct fx_pod_status *p, struct fx_buf *out);

/*
 * A release's rollout, followed (rules/rollout.c; the release kind's steps
 * drive it): rules_rollout_new with the namespace's pods as listed before
 * helm starts (a pod in trouble then is not this rollout's);
 * rules_rollout_probe with each listing while helm runs, true to stop
 * helm; rules_rollout_ended with helm's status and the timeout it had;
 * rules_rollout_after with one more listing when helm failed by itself
 * (then every pod of the release counts, and when helm waited its whole
 * timeout, the first not ready is the one to tell of); the trouble found,
 * if any (rules_rollout_trouble), its container's log (rules_rollout_log)
 * and events (rules_rollout_events); then the failure in words and as
 * JSON members (rules_rollout_say, or rules_rollout_say_plain when no pod
 * says why).
 */
struct fx_rollout;
struct fx_rollout *rules_rollout_new(struct fx_rules *r, const struct fx_svc *s,
    const char *before, size_t len);
void rules_rollout_free(struct fx_rollout *ro);
bool rules_rollout_probe(struct fx_rollout *ro, const struct fx_buf *out);
void rules_rollout_ended(struct fx_rollout *ro, int status, int timeout);
bool rules_rollout_found(const struct fx_rollout *ro);
void rules_rollout_after(struct fx_rollout *ro, const struct fx_buf *out);
const struct fx_pod_trouble *rules_rollout_trouble(const struct fx_rollout *ro);
void rules_rollout_log(struct fx_rollout *ro, int status, const struct fx_buf *out);
void rules_rollout_events(struct fx_rollout *ro, int status, const char *json, size_t len);
void rules_rollout_say(const struct fx_rollout *ro, const struct fx_catalog *c, const char *svc,
    int timeout, struct fx_buf *msg, struct fx_buf *detail);
void rules_rollout_say_plain(const struct fx_rollout *ro, int timeout, struct fx_buf *msg,
    struct fx_buf *detail);

/*
 * A release's health (`status`): its workloads' pods (not its hook Jobs'),
 * how many are ready, and when not all are, why: the first in trouble
 * (rules_pod_trouble), else where the first not ready stands (its reason
 * "ContainerCreating", "Pending", "running, not ready"; no container).
 * rules_pods_now: the namespace's pods, one kubectl call for every
 * release; 0, or -1 with kubectl's first line in *why (malloc'ed).
 */
struct fx_health {
	int ready, total;
	struct fx_pod_trouble trouble;	/* trouble.reason NULL: all ready */
};
int rules_pods_now(const struct fx_catalog *c, struct fx_pod_list *out, char **why);
void rules_release_health(struct fx_rules *r, const struct fx_svc *s,
    const struct fx_pod_list *pods, struct fx_health *h);
void rules_health_free(struct fx_health *h);

/* kubectl logs --follow of pod/NAME, prefixed as above, each line with
 * the kubelet's timestamp after the prefix, from `since_time` (RFC 3339)
 * or, if NULL, its first line. */
void rules_follow_argv(const struct fx_catalog *c, const char *pod, const char *since_time,
    struct fx_strv *argv);
/* kubectl port-forward service/X LOCAL:REMOTE. */
void rules_forward_argv(const struct fx_catalog *c, const struct fx_svc *s, const struct fx_port *p,
    struct fx_strv *argv);

/*
 * What a build reads beyond its context (rules/buildreads.c).
 * rules_read: a rule file's text (ignore file, Containerfile) through
 * r->read; same contract as read_file. rules_containerfile: read d's
 * Containerfile into d->cf (once; empty when it cannot be read).
 * rules_state_pattern: the state directory as an ignore pattern of s's
 * context when it lies inside it (malloc'ed), else NULL: it is never
 * hashed nor sent to the builder.
 */
int rules_read(struct fx_rules *r, const char *path, char **text, size_t *len);
void rules_containerfile(struct fx_rules *r, struct fx_rule_node *d);
void rules_containerfile_free(struct fx_rule_node *d);
char *rules_state_pattern(const struct fx_rules *r, const struct fx_svc *s);
/*
 * rules_build_sources: queue what d's Containerfile reads beyond the
 * context (bind-mount sources, followed as podman follows them, whatever
 * the ignore rules; the builder's binary) and note its images for
 * rules_base_id. rules_build_inputs: their entries in d's key, with the
 * images' IDs and the build's environment (proxy variables, BUILDAH_*,
 * the platform). rules_say_build_extra: the words for those entries.
 */
void rules_build_sources(struct fx_rules *r, struct fx_rule_node *d);
void rules_build_sources_free(struct fx_rule_node *d);
void rules_build_inputs(struct fx_rules *r, struct fx_rule_node *d, struct fx_manifest *m);
enum fx_said rules_say_build_extra(const struct fx_change *c, bool brief, struct fx_buf *out);

/*
 * The images builds read (rules/baseimage.c). rules_base_want: note names
 * to ask about. rules_base_id: an image's ID ("sha256:..."), or "absent";
 * the first call asks the builder about every noted name at once.
 * rules_say_base: "base image NAME changed: sha256:ab.. -> sha256:cd..".
 */
void rules_base_want(struct fx_rules *r, const struct fx_strv *images);
const char *rules_base_id(struct fx_rules *r, const char *image);
void rules_base_free(struct fx_rules *r);
enum fx_said rules_say_base(const struct fx_change *c, const char *image, bool brief,
    struct fx_buf *out);

/* The builder's binary: its name in the catalog (rules/builder.c). */
const char *builder_bin(const struct fx_catalog *c);
/* argv of saving image `ref` to the archive `path`: podman save --format
 * FORMAT -o PATH -- REF, FORMAT "oci-archive" or "docker-archive" (NULL:
 * podman's default, docker-archive); docker save -o PATH -- REF (docker has
 * one format and ignores FORMAT). Appended to *argv. podman does not overwrite an
 * archive (podman: "docker-archive doesn't support modifying existing
 * images"): remove `path` first. */
void builder_save_argv(const struct fx_catalog *c, const char *ref, const char *format,
    const char *path, struct fx_strv *argv);
/* argv of asking the IDs of images: BIN image inspect --format {{.Id}} --,
 * to which the caller adds the names. */
void builder_inspect_argv(const struct fx_catalog *c, struct fx_strv *argv);
/* argv of loading an archive that builder_save_argv made: BIN load -i PATH.
 * The image keeps its ID and the names saved with it. */
void builder_load_argv(const struct fx_catalog *c, const char *path, struct fx_strv *argv);

#endif
