/*
 * provider_existing.c - a cluster fusion did not make and does not manage.
 *
 *   context    the catalog's, else kubectl's current one
 *   load       the builder pushes the image to the catalog's registry:
 *              podman push -- localhost/IMAGE:TAG REGISTRY/IMAGE:TAG
 *              (docker: docker tag, then docker push), builder.h
 *   bootstrap  the cluster must answer; fusion does not start it
 *   down       fusion neither stops nor deletes it
 *   doctor     the registry answers: GET /v2/ (the registry API's base,
 *              200 or 401 from a registry), over plain HTTP for a local
 *              one, as the push goes (builder_podman.c), else HTTPS
 *
 * The chart is given the registry's reference and pull policy
 * IfNotPresent: the cluster pulls what was pushed.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/builder.h"
#include "fusion/diag.h"
#include "fusion/provider.h"

static bool
load_argv(struct fx_rules *r, const struct fx_load *l, int step, struct fx_cmd *cmd)
{
	return builder_of(r->cat)->push_argv(r->cat->registry, l->ref, l->dst, step, &cmd->argv);
}

static int
bootstrap(const struct fx_catalog *c)
{
	char *why = NULL;

	if (rules_cluster_answers(c, &why)) {
		provider_say_answers(c);
		return 0;
	}
	fx_error("bootstrap: the cluster does not answer (kubectl: %s); provider \"existing\": "
	    "fusion does not start it", why);
	free(why);
	return FX_EXIT_FAILED;
}

static const char *
stop_argv(const struct fx_catalog *c, bool delete, struct fx_strv *a)
{
	return "provider \"existing\": fusion does not manage that cluster";
}

static size_t
discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

static bool
registry_answers(const struct fx_catalog *c, char **detail)
{
	const char *reg = c->registry ? c->registry : "";
	bool plain = strncmp(reg, "localhost", 9) == 0 || strncmp(reg, "127.", 4) == 0;
	char *url = xasprintf("%s://%s/v2/", plain ? "http" : "https", reg);
	char err[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURL *h = curl_easy_init();
	bool ok = false;

	if (!h) {
		*detail = xasprintf("%s: cannot ask (libcurl)", url);
		free(url);
		return false;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK)
		*detail = xasprintf("%s: %s", url, *err ? err : curl_easy_strerror(rc));
	else if (code == 200 || code == 401)
		*detail = xasprintf("%s answers (%ld%s)", url, code, code == 401 ? ", it wants a "
		    "login: podman login" : "");
	else
		*detail = xasprintf("%s answers %ld: no container registry there", url, code);
	ok = rc == CURLE_OK && (code == 200 || code == 401);
	curl_easy_cleanup(h);
	free(url);
	return ok;
}

const struct fx_provider provider_existing = {
	.name = "existing",
	.start_hint = "check the kubeconfig and that the cluster is up (workspace.cluster.context)",
	.registry = true,
	.pull_policy = "IfNotPresent",
	.load_argv = load_argv,
	.bootstrap = bootstrap,
	.stop_argv = stop_argv,
	.registry_answers = registry_answers,
};
