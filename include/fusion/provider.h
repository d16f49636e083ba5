/*
 * provider.h - the cluster providers as ops tables, one file each
 * (rules/provider_minikube.c, provider_kind.c, provider_existing.c, ...),
 * in the manner of redis's ae_*.c back-ends.
 *
 * The catalog names a provider (catalog.h, FX_PROVIDERS); provider_of()
 * finds its table, provider_NAME. Everything in which providers differ is
 * in that table: which catalog keys it takes and its default kube context,
 * how an image reaches the cluster and the pull policy that goes with it,
 * what doctor checks, how bootstrap brings the cluster up and what it says,
 * how `down --cluster` stops or deletes it. Nothing else in fusion asks
 * which provider it is. Adding one is a file here plus its name in
 * FX_PROVIDERS.
 */
#ifndef FUSION_PROVIDER_H
#define FUSION_PROVIDER_H

#include <stdbool.h>

#include "fusion/rules.h"

/* One image on its way to the cluster (a load node's command). */
struct fx_load {
	const struct fx_svc *svc;
	const char *id;		/* its image ID */
	char *ref;		/* localhost/IMAGE:TAG, the name the builder gave it */
	char *dst;		/* the reference the cluster pulls (rules_cluster_ref) */
	char *archive;		/* STATEDIR/artifacts/SVC.tar when p->archive, else NULL */
};

/* What a provider's own tool says of its cluster. */
enum fx_cluster_state { FX_CLUSTER_RUNNING, FX_CLUSTER_STOPPED, FX_CLUSTER_ABSENT };

struct fx_provider {
	const char *name;		/* as the catalog writes it */
	const struct fx_tool *tool;	/* doctor checks it; NULL: none */
	const char *start_hint;		/* doctor's hint when the cluster does not answer */

	/* The catalog (provider_check). */
	bool driver;			/* takes cluster.driver */
	bool starts;			/* fusion starts it: takes cluster.start_args */
	bool registry;			/* images are pushed to cluster.registry (required) */
	const char *context_prefix;	/* default kube context: prefix + profile;
					 * NULL: kubectl's current context */

	/* Images (rules/load.c, chart.c, cluster.c). */
	const char *pull_policy;	/* image.pullPolicy the chart is given */
	bool archive;			/* the builder saves the image to l->archive first */
	/* Command `step` (0 first, after the save) of the load into *cmd;
	 * false when there is none left. */
	bool (*load_argv)(struct fx_rules *r, const struct fx_load *l, int step,
	    struct fx_cmd *cmd);
	/* After the last command (its captured output in last->out): is the
	 * image there? False with the reason in *msg. NULL: it is. */
	bool (*loaded)(struct fx_rules *r, const struct fx_load *l, const struct fx_cmd *last,
	    struct fx_buf *msg);
	/* argv listing the image references in the cluster (--verify, status);
	 * NULL: loads are trusted. */
	void (*list_argv)(const struct fx_catalog *c, struct fx_strv *argv);

	/* The cluster's lifecycle. */
	/* Its own tool's word on the cluster, with a line saying so in *words
	 * (malloc'ed). NULL: it has none (whether kubectl gets an answer tells). */
	enum fx_cluster_state (*state)(const struct fx_catalog *c, char **words);
	/* `fusion bootstrap`'s first step: the cluster runs, started or created
	 * if it must be, saying what it does on stdout ("bootstrap: ..."). 0 or
	 * FX_EXIT_FAILED after reporting. */
	int (*bootstrap)(const struct fx_catalog *c);
	/* argv stopping (or deleting) the cluster; returns why it cannot (argv
	 * untouched), else NULL. */
	const char *(*stop_argv)(const struct fx_catalog *c, bool delete, struct fx_strv *argv);
	/* doctor: does the registry images are pushed to answer? Its words in
	 * *detail (malloc'ed). NULL: the provider pushes nowhere. */
	bool (*registry_answers)(const struct fx_catalog *c, char **detail);
};

/* The catalog's provider; a catalog built by hand without one has the
 * default (the first of FX_PROVIDERS). */
const struct fx_provider *provider_of(const struct fx_catalog *c);

/*
 * The provider's part of loading a catalog: the keys it does not take
 * (driver, start_args), the ones it needs (registry), each reported as
 * file:line:col; then c->context, when the catalog names none, is the
 * provider's default. Returns 0, or -1 after reporting.
 * provider_load_catalog: catalog_load(), then this; what every command
 * loads a catalog with.
 */
int provider_check(struct fx_catalog *c);
int provider_load_catalog(const char *path, bool check_files, struct fx_catalog *out);

/* What the providers' files share. */
/* Run argv (then freed) with its output on ours, after a "bootstrap: CMD"
 * line (a cluster start takes minutes and says what it does). */
int provider_loud(struct fx_strv *argv);
/* "bootstrap: the cluster answers (kube context C)". */
void provider_say_answers(const struct fx_catalog *c);
/* Append the catalog's start_args. */
void provider_start_args(const struct fx_catalog *c, struct fx_strv *argv);
/* Stop or delete the cluster (stop_argv), its tool's output on out_fd
 * (1, or 2 when stdout is kept for JSON) and stderr. Returns 0, or -1
 * after reporting. */
int provider_stop(const struct fx_catalog *c, bool delete, int out_fd);

#endif
