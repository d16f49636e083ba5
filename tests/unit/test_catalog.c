/*
 * test_catalog.c - the catalog: loading a good one field by field (defaults
 * merged, paths resolved, set flattened, build and cluster defaults),
 * discovery, names, and that bad input fails with a status, never a crash.
 * Each test builds its workspace in a fresh temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/catalog.h"
#include "fusion/diag.h"
#include "fusion/provider.h"
#include "fusion/util.h"

#define TESTDIR_NAME "catalog"
#include "testdir.h"
#include "capture.h"

static char oldcwd[PATH_MAX];

/* A fresh directory per test, tmp naming it by its real path. */
static int
setup(void **state)
{
	tmpdir_setup(state);
	char *real = realpath(tmp, NULL);
	assert_non_null(real);
	free(tmp);
	tmp = real;
	assert_non_null(getcwd(oldcwd, sizeof oldcwd));
	return 0;
}

static int
teardown(void **state)
{
	assert_int_equal(chdir(oldcwd), 0);
	return tmpdir_teardown(state);
}

static void
chart(const char *rel)
{
	char *p = xasprintf("%s/Chart.yaml", rel);
	put_file(p, "apiVersion: v2\nname: x\nversion: 0.1.0\n");
	free(p);
}

/* The sibling layout: three repos, charts and values under local-dev. */
static void
workspace(void)
{
	put_file("core-api/Containerfile", "FROM scratch\n");
	put_file("core-api/docker/Containerfile.dev", "FROM scratch\n");
	put_file("partners-engine/Dockerfile", "FROM scratch\n");
	put_file("scriptdash/Containerfile", "FROM scratch\n");
	put_file("scriptdash/Dockerfile", "FROM scratch\n");
	chart("local-dev/helm/base-charts/service");
	chart("local-dev/helm/shared-services/postgresql");
	chart("local-dev/helm/shared-services/kafka");
	put_file("local-dev/helm/values/common.yaml", "a: 1\n");
	put_file("local-dev/helm/values/core-api.yaml", "b: 2\n");
}

static const char good[] =
	"version: 1\n"
	"workspace:\n"
	"  root: ../..\n"
	"  namespace: dev\n"
	"  cluster: {provider: kind, profile: fx}\n"
	"  builder: docker\n"
	"  jobs: 8\n"
	"cache: {remote: 'https://cache.example/fusion', push: true, header_env: FX_TOKEN,"
	" connect_timeout: 2, timeout: 60, max_blob_mib: 512}\n"
	"defaults:\n"
	"  chart: ../helm/base-charts/service\n"
	"  values: [../helm/values/common.yaml]\n"
	"  set:\n"
	"    image: {pullPolicy: Never}\n"
	"    replicaCount: 1\n"
	"  needs: [postgresql]\n"
	"  build:\n"
	"    args: {BASE: alpine, DEBUG: \"0\"}\n"
	"    ignore: [tmp/]\n"
	"shared:\n"
	"  postgresql: {chart: ../helm/shared-services/postgresql}\n"
	"  kafka:\n"
	"    chart: ../helm/shared-services/kafka\n"
	"    set: {persistence: {size: 1Gi}}\n"
	"    needs: [postgresql]\n"
	"services:\n"
	"  core-api:\n"
	"    git: https://git.example/org/core-api.git\n"
	"    build:\n"
	"      context: .\n"
	"      file: docker/Containerfile.dev\n"
	"      args: {DEBUG: \"1\", RUBY_VERSION: \"3.3\"}\n"
	"      target: dev\n"
	"      ignore: [log/]\n"
	"    values: [../helm/values/core-api.yaml]\n"
	"    set: {replicaCount: 2, image.tag: dev, version: 1.10, flag: yes}\n"
	"    needs: [kafka, postgresql]\n"
	"  partners-engine:\n"
	"    image: org/partners_engine\n"
	"  web:\n"
	"    repo: scriptdash\n"
	"    chart: ../helm/shared-services/kafka\n";

static const char *
kv(const struct fx_kvlist *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return l->v[i].value;
	return NULL;
}

static void
assert_path(const char *got, const char *rel)
{
	char *want = at(rel);
	assert_string_equal(got, want);
	free(want);
}

static void
load_good(struct fx_catalog *c)
{
	workspace();
	put_file("local-dev/config/service-catalog.yaml", good);
	char *p = at("local-dev/config/service-catalog.yaml");
	assert_int_equal(provider_load_catalog(p, true, c), 0);
	free(p);
}

static void
test_workspace_fields(void **state)
{
	struct fx_catalog c;
	load_good(&c);
	assert_path(c.path, "local-dev/config/service-catalog.yaml");
	assert_path(c.dir, "local-dev/config");
	assert_string_equal(c.root, tmp);
	assert_string_equal(c.namespace, "dev");
	assert_string_equal(c.provider, "kind");
	assert_string_equal(c.profile, "fx");
	assert_string_equal(catalog_kube_context(&c), "kind-fx");
	assert_string_equal(c.builder, "docker");
	assert_int_equal(c.jobs, 8);
	assert_string_equal(c.remote, "https://cache.example/fusion");
	assert_true(c.push);
	assert_string_equal(c.remote_header, "Authorization");	/* the default */
	assert_string_equal(c.remote_header_env, "FX_TOKEN");
	assert_int_equal(c.remote_connect_timeout, 2);
	assert_int_equal(c.remote_timeout, 60);
	assert_int_equal(c.remote_max_blob_mib, 512);
	catalog_free(&c);
	assert_null(c.svcs);
	assert_int_equal(c.nsvcs, 0);
}

static void
test_entries_in_order(void **state)
{
	struct fx_catalog c;
	load_good(&c);
	assert_int_equal(c.nsvcs, 5);
	const char *names[] = {"postgresql", "kafka", "core-api", "partners-engine", "web"};
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(c.svcs[i].name, names[i]);
		assert_int_equal(c.svcs[i].shared, i < 2);
		assert_ptr_equal(catalog_svc(&c, names[i]), &c.svcs[i]);
	}
	assert_null(catalog_svc(&c, "nosuch"));
	assert_null(catalog_svc(&c, ""));
	/* locations are 1-based and name the catalog */
	assert_int_equal(c.svcs[2].loc.line, 26);
	assert_int_equal(c.svcs[2].loc.col, 3);
	assert_non_null(strstr(c.svcs[2].loc.file, "service-catalog.yaml"));
	catalog_free(&c);
}

static void
test_defaults_merged(void **state)
{
	struct fx_catalog c;
	load_good(&c);
	struct fx_svc *s = catalog_svc(&c, "core-api");

	/* lists: defaults first */
	assert_int_equal(s->values.n, 2);
	assert_path(s->values.v[0], "local-dev/helm/values/common.yaml");
	assert_path(s->values.v[1], "local-dev/helm/values/core-api.yaml");
	assert_int_equal(s->values.loc[0].line, 11);
	assert_int_equal(s->values.loc[1].line, 34);
	/* needs: concatenated, the repeated postgresql once */
	assert_int_equal(s->needs.n, 2);
	assert_string_equal(s->needs.v[0], "postgresql");
	assert_string_equal(s->needs.v[1], "kafka");
	/* maps: union, the service's value wins, defaults' keys first */
	assert_int_equal(s->set.n, 5);
	assert_string_equal(s->set.v[0].key, "image.pullPolicy");
	assert_string_equal(s->set.v[1].key, "replicaCount");
	assert_string_equal(s->set.v[1].value, "2");
	assert_string_equal(kv(&s->set, "image.tag"), "dev");
	assert_int_equal(s->build.args.n, 3);
	assert_string_equal(s->build.args.v[0].key, "BASE");
	assert_string_equal(kv(&s->build.args, "DEBUG"), "1");
	assert_string_equal(kv(&s->build.args, "RUBY_VERSION"), "3.3");
	assert_int_equal(s->build.ignore.n, 2);
	assert_string_equal(s->build.ignore.v[0], "tmp/");
	assert_string_equal(s->build.ignore.v[1], "log/");
	/* scalars: the service's own */
	assert_string_equal(s->build.target, "dev");

	/* a service with nothing of its own gets the defaults */
	s = catalog_svc(&c, "partners-engine");
	assert_int_equal(s->values.n, 1);
	assert_int_equal(s->needs.n, 1);
	assert_string_equal(kv(&s->set, "replicaCount"), "1");
	assert_string_equal(kv(&s->build.args, "DEBUG"), "0");
	assert_null(s->build.target);
	assert_path(s->chart, "local-dev/helm/base-charts/service");

	/* defaults are not merged under shared releases */
	s = catalog_svc(&c, "kafka");
	assert_int_equal(s->values.n, 0);
	assert_int_equal(s->needs.n, 1);
	assert_int_equal(s->set.n, 1);
	catalog_free(&c);
}

static void
test_set_flattened_as_written(void **state)
{
	struct fx_catalog c;
	load_good(&c);
	struct fx_svc *s = catalog_svc(&c, "core-api");
	assert_string_equal(kv(&s->set, "image.pullPolicy"), "Never");
	assert_string_equal(kv(&s->set, "version"), "1.10");	/* not 1.1 */
	assert_string_equal(kv(&s->set, "flag"), "yes");	/* not true */
	assert_string_equal(kv(&catalog_svc(&c, "kafka")->set, "persistence.size"), "1Gi");
	catalog_free(&c);
}

static void
test_paths_resolved(void **state)
{
	struct fx_catalog c;
	load_good(&c);
	struct fx_svc *s = catalog_svc(&c, "core-api");
	assert_path(s->repo, "core-api");
	assert_path(s->build.context, "core-api");
	assert_path(s->build.file, "core-api/docker/Containerfile.dev");
	assert_path(s->chart, "local-dev/helm/base-charts/service");
	assert_string_equal(s->git, "https://git.example/org/core-api.git");
	assert_string_equal(s->image, "core-api");

	s = catalog_svc(&c, "partners-engine");
	assert_path(s->build.file, "partners-engine/Dockerfile");	/* no Containerfile */
	assert_string_equal(s->image, "org/partners_engine");
	assert_null(s->git);

	s = catalog_svc(&c, "web");
	assert_path(s->repo, "scriptdash");
	assert_path(s->build.file, "scriptdash/Containerfile");	/* preferred */
	assert_string_equal(s->image, "web");
	assert_path(s->chart, "local-dev/helm/shared-services/kafka");

	s = catalog_svc(&c, "postgresql");
	assert_null(s->repo);
	assert_null(s->build.file);
	assert_null(s->image);
	catalog_free(&c);
}

/* Write a catalog at tmp/fusion.yaml and load it. */
/* Errors the last load_text reported (capture.h). */
static int load_errors;

static int
load_text(const char *text, bool check, struct fx_catalog *c)
{
	put_file("fusion.yaml", text);
	char *p = at("fusion.yaml");
	capture_begin();
	int rc = provider_load_catalog(p, check, c);	/* as every command loads it */
	char *out = capture_end();
	fputs(out, stderr);	/* still shown, as before */
	load_errors = errors_in(out);
	free(out);
	free(p);
	return rc;
}

/* A monorepo: one repo, a context per service, each with its own
 * Dockerfile (or Containerfile, preferred), no build.file; and build.file
 * resolved against the context, as in Compose and Skaffold. */
static void
test_build_file_in_context(void **state)
{
	struct fx_catalog c;

	chart("chart");
	put_file("shop/Dockerfile", "FROM scratch\n");	/* the repo's own: not used */
	put_file("shop/src/api/Dockerfile", "FROM scratch\n");
	put_file("shop/src/web/Containerfile", "FROM scratch\n");
	put_file("shop/src/web/Dockerfile", "FROM scratch\n");
	put_file("shop/src/jobs/docker/Dockerfile.dev", "FROM scratch\n");
	assert_int_equal(load_text("version: 1\ndefaults: {chart: chart}\nservices:\n"
	    "  api: {repo: shop, build: {context: src/api}}\n"
	    "  web: {repo: shop, build: {context: src/web}}\n"
	    "  jobs: {repo: shop, build: {context: src/jobs, file: docker/Dockerfile.dev}}\n"
	    "  shop: {build: {file: Dockerfile}}\n", true, &c), 0);
	assert_path(catalog_svc(&c, "api")->build.context, "shop/src/api");
	assert_path(catalog_svc(&c, "api")->build.file, "shop/src/api/Dockerfile");
	assert_path(catalog_svc(&c, "web")->build.file, "shop/src/web/Containerfile");
	assert_path(catalog_svc(&c, "jobs")->build.file, "shop/src/jobs/docker/Dockerfile.dev");
	assert_path(catalog_svc(&c, "shop")->build.file, "shop/Dockerfile");
	catalog_free(&c);
	(void)state;
}

static void
test_cluster_defaults(void **state)
{
	struct fx_catalog c;

	assert_int_equal(load_text("version: 1\n", true, &c), 0);
	assert_string_equal(c.root, tmp);	/* the catalog's directory */
	assert_string_equal(c.namespace, "fusion");
	assert_string_equal(c.provider, "minikube");
	assert_string_equal(c.profile, "fusion");
	assert_string_equal(catalog_kube_context(&c), "fusion");
	assert_null(c.registry);
	assert_string_equal(c.builder, "podman");
	assert_int_equal(c.jobs, 0);
	assert_null(c.remote);
	assert_false(c.push);
	assert_int_equal(c.nsvcs, 0);
	catalog_free(&c);

	assert_int_equal(load_text("version: 1\nworkspace: {cluster: {profile: dev}}\n", true, &c), 0);
	assert_string_equal(catalog_kube_context(&c), "dev");
	catalog_free(&c);

	assert_int_equal(load_text("version: 1\nworkspace: {cluster: {provider: kind}}\n", true, &c), 0);
	assert_string_equal(catalog_kube_context(&c), "kind-fusion");
	catalog_free(&c);

	assert_int_equal(load_text("version: 1\nworkspace:\n  cluster:\n    provider: existing\n"
	    "    registry: localhost:5000\n", true, &c), 0);
	assert_null(catalog_kube_context(&c));
	assert_string_equal(c.registry, "localhost:5000");
	catalog_free(&c);

	assert_int_equal(load_text("version: 1\nworkspace:\n  cluster: {provider: kind, context: "
	    "mine}\n", true, &c), 0);
	assert_string_equal(catalog_kube_context(&c), "mine");
	catalog_free(&c);
}

static void
test_anchors_and_merge_keys(void **state)
{
	struct fx_catalog c;
	workspace();
	chart("charts/svc");
	assert_int_equal(load_text(
	    "version: 1\n"
	    "services:\n"
	    "  core-api: &base\n"
	    "    chart: charts/svc\n"
	    "    set: &s {a: 1, b: 2}\n"
	    "  scriptdash:\n"
	    "    <<: *base\n"
	    "    set: {<<: *s, b: 3}\n"
	    "    needs: [core-api]\n", true, &c), 0);
	struct fx_svc *s = catalog_svc(&c, "scriptdash");
	assert_path(s->chart, "charts/svc");
	assert_int_equal(s->set.n, 2);
	assert_string_equal(kv(&s->set, "a"), "1");
	assert_string_equal(kv(&s->set, "b"), "3");
	catalog_free(&c);
}

static void
test_check_files(void **state)
{
	struct fx_catalog c;
	const char *text = "version: 1\nservices:\n  billing:\n    git: https://x/billing.git\n"
	    "    chart: charts/none\n    values: [no.yaml]\n";

	assert_int_equal(load_text(text, false, &c), 0);
	assert_int_equal(load_errors, 0);
	assert_path(c.svcs[0].repo, "billing");
	assert_path(c.svcs[0].build.file, "billing/Containerfile");
	catalog_free(&c);

	assert_int_equal(load_text(text, true, &c), -1);
	/* the repo (its containerfile is not looked for), the chart, the values */
	assert_int_equal(load_errors, 3);
	assert_null(c.svcs);
	assert_int_equal(c.nsvcs, 0);
}

/* Charts from a registry or a repository: their forms, how a chart and
 * its version go together through defaults, and what is refused. */
static void
test_remote_charts(void **state)
{
	struct fx_catalog c;

	chart("chart");
	assert_int_equal(load_text(
	    "version: 1\n"
	    "defaults: {chart: 'oci://registry.example:5000/charts/base', version: ^1.2}\n"
	    "shared:\n"
	    "  db: {chart: {repo: 'https://charts.example/stable', name: postgresql}, "
	    "version: '>=15.0 <16'}\n"
	    "services:\n"
	    "  a: {}\n"
	    "  b: {version: 1.3.0}\n"
	    "  c: {chart: chart}\n", false, &c), 0);
	const struct fx_svc *db = catalog_svc(&c, "db"), *a = catalog_svc(&c, "a");
	const struct fx_svc *b = catalog_svc(&c, "b"), *cs = catalog_svc(&c, "c");
	assert_false(db->chart_oci);
	assert_null(db->chart);
	assert_string_equal(db->chart_url, "https://charts.example/stable");
	assert_string_equal(db->chart_name, "postgresql");
	assert_string_equal(db->chart_pin, ">=15.0 <16");
	assert_true(a->chart_oci);
	assert_string_equal(a->chart_url, "oci://registry.example:5000/charts/base");
	assert_string_equal(a->chart_name, "base");
	assert_string_equal(a->chart_pin, "^1.2");
	assert_string_equal(b->chart_pin, "1.3.0");
	/* an entry's own chart does not keep the version of the one it inherited */
	assert_path(cs->chart, "chart");
	assert_null(cs->chart_url);
	assert_null(cs->chart_pin);
	/* nothing is locked without a lock file */
	assert_null(a->chart_digest);
	assert_null(a->chart_version);
	assert_path(c.lock_path, "fusion.lock");
	catalog_free(&c);

	assert_int_equal(load_text(
	    "version: 1\n"
	    "shared:\n"
	    "  a: {chart: 'oci://r.example/x'}\n"
	    "  b: {chart: chart, version: 1.0.0}\n"
	    "  c: {chart: 'oci://r.example/x:1.0.0', version: 1.0.0}\n"
	    "  d: {chart: 'https://charts.example/x', version: 1.0.0}\n"
	    "  e: {chart: {repo: 'https://charts.example', name: x, version: 1.0.0}}\n"
	    "  f: {chart: {repo: 'ftp://charts.example', name: x}, version: 1.0.0}\n"
	    "  g: {chart: 'oci://r.example/', version: 1.0.0}\n", false, &c), -1);
	/* a no version; b a version of a local chart; c a tag; d an http chart
	 * as a string; e a version inside (and so none beside); f no http(s);
	 * g no name */
	assert_int_equal(load_errors, 8);
}

/* The lock file: an entry counts for the same chart and pin only; a bad
 * one is an error of its own file. */
static void
test_lock_file(void **state)
{
	struct fx_catalog c;
	const char *cat = "version: 1\nshared:\n"
	    "  a: {chart: 'oci://r.example/charts/a', version: ^1.0}\n"
	    "  b: {chart: {repo: 'https://charts.example', name: bee}, version: 2.0.0}\n";
	const char *digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char *lock = xasprintf("version: 1\ncharts:\n"
	    "  a: {chart: 'oci://r.example/charts/a', pin: ^1.0, version: 1.4.2, digest: %s}\n"
	    "  b: {repo: 'https://charts.example', name: bee, pin: 1.0.0, version: 1.0.0, "
	    "digest: %s}\n"
	    "  gone: {chart: 'oci://r.example/charts/g', pin: '1', version: '1', digest: %s}\n",
	    digest, digest, digest);

	put_file("fusion.lock", lock);
	assert_int_equal(load_text(cat, false, &c), 0);
	const struct fx_svc *a = catalog_svc(&c, "a"), *b = catalog_svc(&c, "b");
	assert_string_equal(a->chart_version, "1.4.2");
	assert_string_equal(a->chart_digest, digest);
	assert_null(b->chart_digest);	/* locked for another pin */
	/* written back: the locked ones, sorted, the rest dropped */
	assert_int_equal(catalog_lock_write(&c), 0);
	char *text;
	size_t len;
	assert_int_equal(read_file(c.lock_path, &text, &len), 0);
	assert_non_null(strstr(text, "  a:\n    chart: \"oci://r.example/charts/a\"\n"
	    "    pin: \"^1.0\"\n    version: \"1.4.2\"\n"));
	assert_null(strstr(text, "gone"));
	assert_null(strstr(text, "  b:"));
	free(text);
	catalog_free(&c);
	/* what it wrote reads back the same */
	assert_int_equal(load_text(cat, false, &c), 0);
	assert_string_equal(catalog_svc(&c, "a")->chart_digest, digest);
	catalog_free(&c);

	put_file("fusion.lock", "version: 1\ncharts:\n  a: {chart: x, pin: '1', version: '1', "
	    "digest: md5:abc}\n");
	assert_int_equal(load_text(cat, false, &c), -1);
	assert_int_equal(load_errors, 1);
	put_file("fusion.lock", "version: 2\n");
	assert_int_equal(load_text(cat, false, &c), -1);
	free(lock);
}

/* image_values and images: the defaults, taken whole, an umbrella's
 * members, when they share one tag, and what is refused. */
static void
test_image_values(void **state)
{
	struct fx_catalog c;

	chart("chart");
	assert_int_equal(load_text(
	    "version: 1\n"
	    "defaults: {chart: chart, image_values: {app.image: '{ref}', app.pull: '{pullPolicy}'}}\n"
	    "shared:\n"
	    "  shop: {chart: chart, images: [a, b], image_values: {img.repo: '{registry}', "
	    "img.tag: '{tag}'}}\n"
	    "  two: {chart: chart, images: {c: {x.image: '{ref}'}, d: {y.image: '{ref}'}}}\n"
	    "services:\n"
	    "  a: {}\n"
	    "  b: {}\n"
	    "  c: {}\n"
	    "  d: {}\n"
	    "  e: {image_values: {only: '{repository}'}}\n"
	    "  f: {chart: chart}\n", false, &c), 0);
	const struct fx_svc *shop = catalog_svc(&c, "shop"), *two = catalog_svc(&c, "two");
	assert_int_equal(shop->nmembers, 2);
	assert_true(shop->one_tag);
	assert_false(two->one_tag);	/* each image its own path */
	assert_string_equal(catalog_svc(&c, "a")->released_by, "shop");
	assert_string_equal(catalog_svc(&c, "d")->released_by, "two");
	assert_null(catalog_svc(&c, "e")->released_by);
	/* taken whole: e's own, not merged with the defaults' */
	const struct fx_svc *e = catalog_svc(&c, "e"), *f = catalog_svc(&c, "f");
	assert_int_equal(e->image_values.n, 1);
	assert_string_equal(kv(&e->image_values, "only"), "{repository}");
	assert_string_equal(kv(&f->image_values, "app.image"), "{ref}");
	catalog_free(&c);

	/* no image_values: image.repository, image.tag, image.pullPolicy */
	assert_int_equal(load_text("version: 1\nservices:\n  a: {chart: chart}\n", false, &c), 0);
	assert_false(c.svcs[0].image_values_given);
	assert_string_equal(kv(&c.svcs[0].image_values, "image.tag"), "{tag}");
	assert_string_equal(kv(&c.svcs[0].image_values, "image.pullPolicy"), "{pullPolicy}");
	catalog_free(&c);

	assert_int_equal(load_text(
	    "version: 1\n"
	    "shared:\n"
	    "  u: {chart: chart, images: [a, b, nosuch, s]}\n"
	    "  v: {chart: chart, images: [a]}\n"
	    "  s: {chart: chart}\n"
	    "services:\n"
	    "  a: {values: [x.yaml]}\n"
	    "  b: {images: [a]}\n"
	    "  c: {chart: chart, image_values: {x: '{digest}'}}\n", false, &c), -1);
	/* u: one path for two images (the default image.repository), nosuch,
	 * s (shared); v: a twice; a's own values; b's images; c's template */
	assert_int_equal(load_errors, 7);
}

/* timeout: seconds or h/m/s, from defaults to services (not to shared
 * releases), refused when it is no duration or out of range. */
static void
test_timeout(void **state)
{
	struct fx_catalog c;

	assert_int_equal(load_text(
	    "version: 1\n"
	    "defaults: {chart: c, timeout: 2m}\n"
	    "shared:\n"
	    "  db: {chart: c, timeout: 1h1m1s}\n"
	    "  mq: {chart: c}\n"
	    "services:\n"
	    "  a: {timeout: 90}\n"
	    "  b: {}\n"
	    "  c: {timeout: \"45s\"}\n", false, &c), 0);
	assert_int_equal(catalog_svc(&c, "db")->timeout, 3661);
	assert_int_equal(catalog_svc(&c, "mq")->timeout, 0);	/* FX_RELEASE_TIMEOUT */
	assert_int_equal(catalog_svc(&c, "a")->timeout, 90);
	assert_int_equal(catalog_svc(&c, "b")->timeout, 120);
	assert_int_equal(catalog_svc(&c, "c")->timeout, 45);
	catalog_free(&c);

	static const char *const bad[] = {"0", "0s", "-5", "1.5m", "5m30", "100ms", "25h", "86401",
	    "m", "\"\"", "[1]", "99999999999999999999"};
	for (size_t i = 0; i < FX_NELEM(bad); i++) {
		char *text = xasprintf("version: 1\nservices:\n  a: {chart: c, timeout: %s}\n", bad[i]);
		assert_int_equal(load_text(text, false, &c), -1);
		assert_int_equal(load_errors, 1);
		free(text);
	}
}

static void
test_keeps_going(void **state)
{
	struct fx_catalog c;

	assert_int_equal(load_text(
	    "version: 1\n"
	    "workspace: {jobs: -1, builder: buildah}\n"
	    "services:\n"
	    "  Bad_Name: {imgae: x}\n"
	    "  ok: {needs: [nosuch]}\n", false, &c), -1);
	/* jobs, builder, unknown key, name, no chart x2, needs */
	assert_int_equal(load_errors, 7);

	/* a cap on the number of messages: 50 and "too many errors" */
	struct fx_buf b = {0};
	buf_puts(&b, "version: 1\nservices:\n");
	for (int i = 0; i < 80; i++)
		buf_printf(&b, "  S%d: {chart: c}\n", i);
	assert_int_equal(load_text(b.s, false, &c), -1);
	assert_int_equal(load_errors, 51);
	buf_free(&b);
}

static void
test_bad_input_never_crashes(void **state)
{
	struct fx_catalog c;
	static const char *const bad[] = {
		"", "# only a comment\n", "---\n", "~\n", "[1, 2]\n", "just text\n",
		"version: 1\n---\nversion: 1\n", "\xff\xfe\x00\x01", "version: \"1\n",
		"a: &a [*a]\n", "services: {a: *nosuch}\n", "version: 1\nservices: [a, b]\n",
		"version: 1\nservices:\n  a:\n    set: {x: {y: {z: [1]}}}\n",
		"? [a, b]\n: c\n", "version: 1\nshared: {p: {chart: [x]}}\n",
		"version: 1\nworkspace: {root: [x]}\n", "\tversion: 1\n",
	};
	for (size_t i = 0; i < FX_NELEM(bad); i++) {
		put_file("fusion.yaml", bad[i]);
		char *p = at("fusion.yaml");
		assert_int_equal(catalog_load(p, true, &c), -1);
		assert_null(c.svcs);
		free(p);
	}

	/* nesting 10,000 deep, flow and block */
	struct fx_buf b = {0};
	for (int i = 0; i < 10000; i++)
		buf_putc(&b, '[');
	assert_int_equal(load_text(b.s, true, &c), -1);
	buf_reset(&b);
	for (int i = 0; i < 10000; i++)
		buf_printf(&b, "%*sa:\n", i, "");
	assert_int_equal(load_text(b.s, true, &c), -1);
	buf_free(&b);

	/* an alias bomb: 10^9 entries if expanded */
	buf_puts(&b, "version: 1\nservices:\n  a:\n    set:\n      l0: &l0 {a: 1, b: 1, c: 1}\n");
	for (int i = 1; i < 20; i++)
		buf_printf(&b, "      l%d: &l%d {a: *l%d, b: *l%d, c: *l%d}\n", i, i, i - 1, i - 1, i - 1);
	assert_int_equal(load_text(b.s, false, &c), -1);
	buf_free(&b);

	/* not a file */
	char *d = at("dir.yaml");
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(catalog_load(d, true, &c), -1);
	free(d);
	d = at("missing.yaml");
	assert_int_equal(catalog_load(d, true, &c), -1);
	free(d);
}

static void
test_valid_name(void **state)
{
	assert_true(catalog_valid_name("core-api"));
	assert_true(catalog_valid_name("a"));
	assert_true(catalog_valid_name("0"));
	assert_true(catalog_valid_name("svc-0001"));
	assert_true(catalog_valid_name("1-2-3"));
	assert_false(catalog_valid_name(NULL));
	assert_false(catalog_valid_name(""));
	assert_false(catalog_valid_name("Core-API"));
	assert_false(catalog_valid_name("-core"));
	assert_false(catalog_valid_name("core-"));
	assert_false(catalog_valid_name("core_api"));
	assert_false(catalog_valid_name("core.api"));
	assert_false(catalog_valid_name("core api"));
	assert_false(catalog_valid_name("caf\xc3\xa9"));
	char name[60];
	memset(name, 'a', sizeof name);
	name[53] = '\0';
	assert_true(catalog_valid_name(name));
	name[53] = 'a';
	name[54] = '\0';
	assert_false(catalog_valid_name(name));
}

static void
test_catalog_svc_without_index(void **state)
{
	struct fx_svc svcs[2] = {{.name = "b"}, {.name = "a"}};
	struct fx_catalog c = {.svcs = svcs, .nsvcs = 2};
	assert_ptr_equal(catalog_svc(&c, "a"), &svcs[1]);
	assert_null(catalog_svc(&c, "c"));
}

static void
test_find(void **state)
{
	put_file("ws/local-dev/config/service-catalog.yaml", "version: 1\n");
	char *deep = at("ws/local-dev/helm/values/deeper");
	assert_int_equal(mkdir_p(deep, 0755), 0);

	/* from a subdirectory: the nearest parent with a catalog */
	assert_int_equal(chdir(deep), 0);
	char *p = catalog_find(NULL);
	char *want = at("ws/local-dev/config/service-catalog.yaml");
	assert_non_null(p);
	assert_string_equal(p, want);
	free(p);

	/* fusion.yaml wins over config/service-catalog.yaml in the same directory */
	put_file("ws/local-dev/fusion.yaml", "version: 1\n");
	p = catalog_find(NULL);
	free(want);
	want = at("ws/local-dev/fusion.yaml");
	assert_string_equal(p, want);
	free(p);

	/* a nearer directory wins over a farther one */
	put_file("ws/local-dev/helm/config/service-catalog.yaml", "version: 1\n");
	p = catalog_find(NULL);
	free(want);
	want = at("ws/local-dev/helm/config/service-catalog.yaml");
	assert_string_equal(p, want);
	free(p);

	/* -f: made absolute, must exist */
	p = catalog_find("../../../fusion.yaml");
	free(want);
	want = at("ws/local-dev/fusion.yaml");
	assert_string_equal(p, want);
	free(p);
	assert_null(catalog_find("nosuch.yaml"));
	assert_null(catalog_find("."));

	/* nothing from here up (tmp is under /tmp, which has no catalog) */
	assert_int_equal(chdir(tmp), 0);
	assert_null(catalog_find(NULL));
	free(want);
	free(deep);
}

static void
test_shown_path_relative_to_cwd(void **state)
{
	struct fx_catalog c;
	put_file("sub/fusion.yaml", "version: 1\n");
	assert_int_equal(chdir(tmp), 0);
	assert_int_equal(catalog_load("sub/fusion.yaml", true, &c), 0);
	assert_string_equal(c.shown, "sub/fusion.yaml");
	char *want = at("sub/fusion.yaml");
	assert_string_equal(c.path, want);
	free(want);
	catalog_free(&c);
}

static void
test_thousand_long_cycle_reported_once(void **state)
{
	struct fx_buf b = {0};
	struct fx_catalog c;

	buf_puts(&b, "version: 1\ndefaults:\n  chart: charts/svc\n  values: [v.yaml]\n"
	    "  set: {a: 1, b: {c: 2}}\nservices:\n");
	/* each needs the one before, the first needs the last: one long cycle */
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "  svc-%04d:\n    needs: [svc-%04d]\n    set: {x: %d}\n", i,
		    (i + 999) % 1000, i);
	assert_int_equal(load_text(b.s, false, &c), -1);	/* a 1000-long cycle */
	assert_int_equal(load_errors, 1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_workspace_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entries_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults_merged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_flattened_as_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchors_and_merge_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keeps_going, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_charts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_never_crashes, setup, teardown),
		cmocka_unit_test(test_valid_name),
		cmocka_unit_test_setup_teardown(test_build_file_in_context, setup, teardown),
		cmocka_unit_test(test_catalog_svc_without_index),
		cmocka_unit_test_setup_teardown(test_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shown_path_relative_to_cwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thousand_long_cycle_reported_once, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
