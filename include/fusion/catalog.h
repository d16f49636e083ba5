/*
 * catalog.h - the service catalog (version 1): loading with libyaml,
 * validation, discovery.
 *
 * The catalog is the only input a user writes. It is loaded and validated
 * in full before anything runs: every error names file:line:col and the
 * command exits 2. Validation keeps going after the first error so that one
 * run shows every mistake (up to a cap).
 *
 * All paths in a loaded catalog are absolute and lexically clean, resolved
 * against the directory of the catalog file (docs/DESIGN.md, "The catalog").
 * Shared releases (`shared:`) and services (`services:`) are both entries of
 * `svcs`; `shared` tells them apart. Entries keep catalog order.
 *
 * This module knows YAML and the schema only: nothing of graphs, hashing or
 * tools.
 */
#ifndef FUSION_CATALOG_H
#define FUSION_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "fusion/diag.h"
#include "fusion/util.h"

/* A key/value pair from a mapping (build.args, set), in catalog order. */
struct fx_kv {
	char *key;
	char *value;		/* scalar text as written */
	struct fx_loc loc;	/* of the key */
};

struct fx_kvlist {
	struct fx_kv *v;
	size_t n;
};

/* A list of strings with the location of each item. */
struct fx_list {
	char **v;
	struct fx_loc *loc;
	size_t n;
};

/*
 * The cluster providers and the image builders a catalog may name, the
 * default first. The catalog knows only these names: each is one file in
 * rules/, provider_NAME.c or builder_NAME.c, whose ops table provider_NAME
 * or builder_NAME (provider.h, builder.h) holds everything that differs.
 */
#define FX_PROVIDERS(X) X(minikube) X(kind) X(existing) X(k3d)
#define FX_BUILDERS(X) X(podman) X(docker)

struct fx_build {
	char *context;		/* absolute; default: the repo */
	char *file;		/* absolute, written relative to the context; default
				 * CONTEXT/Containerfile, else CONTEXT/Dockerfile */
	struct fx_kvlist args;
	char *target;		/* NULL if none */
	struct fx_list ignore;	/* extra ignore patterns, as written */
};

/*
 * Where a chart takes an image: `image_values: {PATH: TEMPLATE}`, PATH a
 * helm value path (as a `set` key), TEMPLATE text with these fields of the
 * image the cluster runs, each written {NAME}:
 *
 *   registry    localhost, or the catalog's registry (provider existing)
 *   image       the service's image name (`image:`, default its name)
 *   repository  registry/image
 *   tag         the tag fusion gives it (fx-<16 hex>)
 *   ref         repository:tag
 *   pullPolicy  Never for a loaded image, IfNotPresent for a pushed one
 */
#define FX_IMAGE_FIELDS(X) X(registry) X(image) X(repository) X(tag) X(ref) X(pullPolicy)

/* A service whose image a shared entry releases (`images:`). */
struct fx_member {
	char *name;		/* a service */
	struct fx_kvlist values;	/* its own image_values; empty: the entry's */
	struct fx_loc loc;
};

/* A port forwarded while `up --watch` runs: `ports: [8080]` (the same
 * port on both sides) or `["8080:80"]` (LOCAL:SERVICE). */
struct fx_port {
	int local;		/* on localhost */
	int remote;		/* a port of the release's Service */
	struct fx_loc loc;
};

struct fx_svc {
	char *name;
	struct fx_loc loc;	/* of the name key */
	bool shared;		/* from `shared:`: no repo, no build, no load */

	/* services only */
	char *repo;		/* absolute directory */
	struct fx_loc repo_loc;
	char *git;		/* clone URL, NULL if none */
	struct fx_build build;
	char *image;		/* repository name; default: the service name */

	/* both */
	char *chart;		/* a local chart: its absolute directory; NULL for a
				 * chart from a repository or a registry */
	struct fx_loc chart_loc;
	/* A chart from a repository or a registry (chart_url not NULL):
	 * `chart: oci://HOST/PATH/NAME`, or `chart: {repo: URL, name: NAME}`
	 * for an HTTP(S) repository, with `version:` beside it. */
	char *chart_url;	/* the oci:// reference, or the repository's URL */
	char *chart_name;	/* the chart's name (OCI: the reference's last part) */
	bool chart_oci;
	char *chart_pin;	/* `version:` as written: an exact version or a range */
	struct fx_loc pin_loc;
	/* From the lock file, when it holds this chart at this pin (NULL: not
	 * locked): the version the pin resolved to, and the archive's digest,
	 * "sha256:" and 64 lowercase hex digits. */
	char *chart_version;
	char *chart_digest;
	struct fx_list values;	/* absolute paths; defaults' values first */
	struct fx_kvlist set;	/* defaults' set first, the service's own override per key */
	struct fx_kvlist secrets;	/* helm key -> environment variable, merged as set */
	/* Where the chart takes the image (FX_IMAGE_FIELDS). A service's own
	 * or its defaults' (taken whole, not merged); a service that gives none
	 * has image.repository, image.tag and image.pullPolicy. A shared entry
	 * with `images` applies its own to each member that gives none. */
	struct fx_kvlist image_values;
	bool image_values_given;	/* written, not the default */
	struct fx_loc image_values_loc;
	/* shared: `images:`, the services whose images its chart takes (an
	 * umbrella chart). Their builds feed its chart, their loads its
	 * release; they have no chart or release of their own. */
	struct fx_member *members;
	size_t nmembers;
	/* The members' images share one tag, fx-<16 hex of all their image
	 * IDs> (some value path takes the tag of several of them). */
	bool one_tag;
	/* services: the shared entry whose `images` names it, or NULL */
	char *released_by;
	struct fx_list needs;	/* names of entries in svcs */
	struct fx_port *ports;	/* forwarded by up --watch; local ports unique */
	size_t nports;
	int timeout;		/* seconds helm waits for the release (--timeout); 0: not
				 * set, FX_RELEASE_TIMEOUT */

	/* Added by the loader with fx_load_opts.repos_optional: the repo does
	 * not exist (nothing below it was checked); session_select refuses
	 * to run what needs it. */
	bool missing;
};

/* How long a release waits for its workloads unless `timeout` says (helm's
 * own default, 5m). */
#define FX_RELEASE_TIMEOUT 300

struct fx_catalog {
	char *path;		/* absolute path of the catalog file */
	char *dir;		/* its directory */
	char *lock_path;	/* its lock file: the path with .yaml (.yml) made .lock */
	char *lock_shown;	/* the lock file's path as messages show it */
	char *root;		/* workspace.root, absolute (default: the catalog's directory) */

	char *namespace;	/* default "fusion" */
	const char *provider;	/* a name of FX_PROVIDERS (static), default minikube */
	char *profile;		/* default "fusion" */
	char *context;		/* NULL: the provider's default, which provider_check()
				 * fills in (NULL for a provider that has none: current) */
	char *registry;		/* NULL if none; required by a provider that pushes */
	char *driver;		/* minikube start --driver (`fusion bootstrap`); NULL: podman */
	struct fx_list start_args;	/* more arguments of the provider's cluster start */
	const char *builder;	/* a name of FX_BUILDERS (static), default podman */
	/* Where the provider's keys were written, for provider_check's
	 * messages (provider_loc: the top when not written). */
	struct fx_loc provider_loc, driver_loc, start_args_loc;
	int jobs;		/* 0 = not set */

	char *remote;		/* cache.remote, NULL if none (a relative file:// path
				 * is made absolute against the catalog's directory) */
	bool push;		/* cache.push */
	char *remote_header;	/* cache.header: a header's name (default
				 * Authorization when header_env is set), or NULL */
	char *remote_header_env;	/* cache.header_env: the environment variable
				 * holding its value, or NULL */
	int remote_connect_timeout;	/* cache.connect_timeout, seconds; 0: default */
	int remote_timeout;	/* cache.timeout, seconds; 0: default */
	int remote_max_blob_mib;	/* cache.max_blob_mib; 0: default (remote.h) */

	struct fx_svc *svcs;
	size_t nsvcs;

	/* Added by the loader (zero them when building a catalog by hand). */
	char *shown;		/* the path as messages show it (every loc.file points
				 * here): relative to the cwd when under it, else absolute */
	size_t *byname;		/* indices of svcs sorted by name, for catalog_svc;
				 * NULL: catalog_svc searches linearly */
	struct fx_list profiles;	/* the catalog profiles applied, in order (at
				 * their names in `profiles`); not the cluster's
				 * `profile` above */
	struct fx_list disabled;	/* entries left out by `enabled: false`, at
				 * their names */
};

/* How to load: catalog_open. */
struct fx_load_opts {
	bool check_files;		/* as catalog_load's */
	const char *const *profiles;	/* profile names to apply, in order */
	size_t nprofiles;
	bool repos_optional;		/* a missing repo marks its service `missing`
					 * instead of failing the load */
};

/*
 * Locate the catalog: `explicit_path` if given (-f), else ./fusion.yaml, else
 * ./config/service-catalog.yaml, in the current directory and then each
 * parent. Returns a malloc'ed absolute path, or NULL after reporting.
 */
char *catalog_find(const char *explicit_path);

/*
 * Load and validate the catalog at `path`. On success returns 0 and fills
 * *out. On any error reports every problem found (file:line:col: ...) and
 * returns -1; *out is then left empty. Never crashes on bad input: not
 * UTF-8, empty, binary, huge, deeply nested. The file must be a regular
 * file (a FIFO or a device is refused without reading it) and is read no
 * further than the size limit, even if it grows meanwhile.
 *
 * What loading does to the text:
 * - `defaults` is merged under every service (not under shared releases):
 *   values, needs and build.ignore are the defaults' entries then the
 *   service's; set and build.args are the union, the service's value winning
 *   per key (the key keeps the defaults' position); chart, build.context,
 *   build.file, build.target and timeout are the service's if it has them. Repeated
 *   needs are dropped (the first stays). Locations of inherited entries point
 *   into `defaults`.
 * - Nested `set` maps are flattened to dotted keys (image: {tag: x} is
 *   "image.tag", as helm --set writes it); a key written with dots stays as
 *   written. Scalars keep their text as written ("1.10", "yes", "010").
 *   Keys are in helm's --set path syntax: a key at the top of `set` must be
 *   a well-formed path (parts split by '.', "[N]" list indices, '\' escapes;
 *   no unescaped '=' or ','), and a key inside a nested map is one name,
 *   its '.', '[', '=', ',' and '\' escaped ({podAnnotations:
 *   {prometheus.io/scrape: x}} is "podAnnotations.prometheus\.io/scrape").
 * - build.args names hold no '=', white space or control character.
 * - `secrets` ({HELM.KEY: ENV_VAR}, merged as set) map dotted helm paths
 *   (no list index) to environment variable names; the variables are read
 *   at run time, not here. A secret's key is no `set` key, no image key of
 *   a service, and neither above nor below another secret's key.
 * - YAML anchors, aliases and merge keys (`<<: *base`) work; an alias is
 *   never copied, and expansion is bounded (alias bombs are an error).
 * - Messages name the file as c->shown, line and column 1-based, at most
 *   50 of them, each once (a mistake in `defaults` is not repeated per
 *   service). Limits: 64 MiB, 1,000,000 YAML nodes, nesting 64 deep.
 *
 * `check_files` false skips the existence checks of repos, containerfiles,
 * charts and values (used by `fusion clone`, which creates the repos). A
 * missing repo that has `git:` adds a hint to run `fusion clone`. Paths must
 * stay inside workspace.root: lexically always, and with check_files also
 * after following symlinks.
 */
int catalog_load(const char *path, bool check_files, struct fx_catalog *out);

/*
 * catalog_load with options. Profiles (`profiles: {NAME: OVERLAY}`, an
 * overlay holds workspace, cache, defaults, shared and services) are laid
 * over the text before anything is read from it, in the order given:
 * mappings merge key by key, scalars and lists replace. An unknown name is
 * an error (with did-you-mean); the profiles not selected are checked too,
 * without the file checks. An entry with `enabled: false` is left out of
 * svcs (its name goes to `disabled`); "needs" naming one is an error.
 */
int catalog_open(const char *path, const struct fx_load_opts *lo, struct fx_catalog *out);

/* The same for a catalog already in memory (`len` bytes of `text`, which
 * need not be NUL-terminated): `path` is not read, it names the file in
 * messages and relative paths resolve against its directory. */
int catalog_parse(const char *path, const char *text, size_t len, bool check_files,
    struct fx_catalog *out);

void catalog_free(struct fx_catalog *c);

/*
 * The lock file (config/chartlock.c): beside the catalog, committed with
 * it, it holds for each entry whose chart comes from a repository or a
 * registry what its pin resolved to, so every checkout renders the same
 * bytes:
 *
 *   version: 1
 *   charts:
 *     redis: {chart: oci://HOST/PATH/redis, pin: ^19.6, version: 19.6.4, digest: sha256:...}
 *     web: {repo: https://HOST/PATH, name: web, pin: 1.2.3, version: 1.2.3, digest: sha256:...}
 *
 * catalog_load reads it when such a chart is there and fills each entry's
 * chart_version and chart_digest from the lock's entry of its name when
 * that was resolved for the same chart and pin (else they stay NULL: not
 * locked). A lock file that cannot be read or parsed is an error
 * (FILE:LINE:COL), as the catalog's are; one that is not there locks
 * nothing.
 *
 * catalog_lock_write writes the lock of every such entry that has a
 * chart_digest, sorted by name, to a temporary file renamed over the lock.
 * Returns 0, or -1 after reporting.
 */
int catalog_lock_write(const struct fx_catalog *c);

/* The loaded catalog (`fusion config`) as YAML that is itself a catalog
 * (defaults merged, paths absolute, strings double-quoted), or as JSON
 * (the same object on one line, plus "profiles" applied and "disabled"
 * entries). */
void catalog_print(const struct fx_catalog *c, bool json, struct fx_buf *out);

/* Look an entry up by name; NULL if none. */
struct fx_svc *catalog_svc(const struct fx_catalog *c, const char *name);

/* The kube context fusion passes to kubectl/helm; NULL means "current".
 * The provider's default is there only after provider_check (provider.h). */
const char *catalog_kube_context(const struct fx_catalog *c);

/* Is s a DNS-1123 label of at most 53 characters? */
bool catalog_valid_name(const char *s);

#endif
