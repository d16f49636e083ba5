/*
 * test_pods.c - reading kubectl's pod listing (rules/pods.c): the columns
 * rules_pods_argv asks for, each pod once, kubectl's own messages (which
 * share the pipe) taken for no pod. The pods' status as `kubectl get pods
 * -o json` reports it, which pods are a release's, what is wrong with a
 * pod (rules/rollout.c), and a pod's events in the order they happened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fusion/rules.h"

#define TESTDIR_NAME "pods"
#include "testdir.h"

#define UID1 "0b6c1d9e-3f52-4a8b-9c1d-2e3f4a5b6c7d"
#define UID2 "9f8e7d6c-5b4a-4321-8fed-cba987654321"

static void
test_name_and_uid(void **state)
{
	struct fx_pods pods = {0};

	rules_pods_parse("core-api-7d9f8-x2x7q   " UID1 "\n"
	    "core-api-7d9f8-k8s2p   " UID2 "\n", &pods);
	assert_int_equal(pods.n, 2);
	assert_string_equal(pods.v[0].name, "core-api-7d9f8-x2x7q");
	assert_string_equal(pods.v[0].uid, UID1);
	assert_string_equal(pods.v[1].name, "core-api-7d9f8-k8s2p");
	assert_string_equal(pods.v[1].uid, UID2);
	rules_pods_free(&pods);
	assert_int_equal(pods.n, 0);
	assert_null(pods.v);
}

/* "No resources found in dev namespace." and errors are no pods; neither
 * is a line whose second column is not a UID. */
static void
test_messages_are_no_pods(void **state)
{
	struct fx_pods pods = {0};

	rules_pods_parse("No resources found in dev namespace.\n"
	    "error: You must be logged in to the server (Unauthorized)\n"
	    "db-0 not-a-uid\n"
	    "db-0 " UID1 "x\n"
	    "db-0 0b6c1d9e-3f52-4a8b-9c1d-2e3f4a5b6czz\n", &pods);
	assert_int_equal(pods.n, 0);
	rules_pods_parse(NULL, &pods);
	rules_pods_parse("", &pods);
	assert_int_equal(pods.n, 0);
	rules_pods_free(&pods);
}

/* One listing per selector adds to the same set: a pod two selectors pick
 * comes once; a pod made again under its name (another UID) is another. */
static void
test_each_pod_once(void **state)
{
	struct fx_pods pods = {0};

	rules_pods_parse("db-0 " UID1 "\n", &pods);
	rules_pods_parse("db-0 " UID1 "\ndb-0 " UID2, &pods);	/* no final newline */
	assert_int_equal(pods.n, 2);
	assert_string_equal(pods.v[0].uid, UID1);
	assert_string_equal(pods.v[1].name, "db-0");
	assert_string_equal(pods.v[1].uid, UID2);
	rules_pods_free(&pods);
}

/* Four pods as kubectl prints them (4-space indent; fields trimmed): a
 * Deployment's pod in back-off after an OOM kill, a hook Job's pod that
 * failed, a StatefulSet's pod the scheduler cannot place, and one being
 * deleted. */
static const char listing[] =
    "{\n"
    "    \"apiVersion\": \"v1\",\n"
    "    \"items\": [\n"
    "        {\n"
    "            \"apiVersion\": \"v1\",\n"
    "            \"kind\": \"Pod\",\n"
    "            \"metadata\": {\n"
    "                \"labels\": {\"app.kubernetes.io/instance\": \"web\", \"pod-template-hash\": \"7d9f8\"},\n"
    "                \"name\": \"web-7d9f8-x2x7q\",\n"
    "                \"ownerReferences\": [{\"apiVersion\": \"apps/v1\", \"controller\": true,"
    " \"kind\": \"ReplicaSet\", \"name\": \"web-7d9f8\", \"uid\": \"" UID2 "\"}],\n"
    "                \"uid\": \"" UID1 "\"\n"
    "            },\n"
    "            \"status\": {\n"
    "                \"conditions\": [\n"
    "                    {\"lastProbeTime\": null, \"status\": \"False\", \"type\": \"Ready\", \"reason\": \"ContainersNotReady\"},\n"
    "                    {\"lastProbeTime\": null, \"status\": \"True\", \"type\": \"PodScheduled\"}\n"
    "                ],\n"
    "                \"containerStatuses\": [\n"
    "                    {\n"
    "                        \"lastState\": {\"terminated\": {\"exitCode\": 137, \"reason\": \"OOMKilled\"}},\n"
    "                        \"name\": \"web\",\n"
    "                        \"ready\": false,\n"
    "                        \"restartCount\": 4,\n"
    "                        \"state\": {\"waiting\": {\"message\": \"back-off 40s restarting failed container=web\","
    " \"reason\": \"CrashLoopBackOff\"}}\n"
    "                    }\n"
    "                ],\n"
    "                \"phase\": \"Running\"\n"
    "            }\n"
    "        },\n"
    "        {\"kind\": \"Pod\", \"metadata\": {\"name\": \"web-migrate-k8s2p\", \"uid\": \"u-2\","
    " \"labels\": {\"app.kubernetes.io/instance\": \"web\", \"job-name\": \"web-migrate\"},"
    " \"ownerReferences\": [{\"kind\": \"Job\", \"name\": \"web-migrate\", \"controller\": true}]},"
    " \"status\": {\"phase\": \"Failed\", \"containerStatuses\": [{\"name\": \"migrate\", \"ready\": false,"
    " \"restartCount\": 0, \"lastState\": {}, \"state\": {\"terminated\": {\"exitCode\": 1, \"reason\": \"Error\"}}}]}},\n"
    "        {\"kind\": \"Pod\", \"metadata\": {\"name\": \"db-0\", \"uid\": \"u-3\", \"labels\": {\"app\": \"db\"},"
    " \"ownerReferences\": [{\"kind\": \"StatefulSet\", \"name\": \"db\", \"controller\": true}]},"
    " \"status\": {\"phase\": \"Pending\", \"conditions\": [{\"type\": \"PodScheduled\", \"status\": \"False\","
    " \"reason\": \"Unschedulable\", \"message\": \"0/1 nodes are available: 1 Insufficient memory.\"}]}},\n"
    "        {\"kind\": \"Pod\", \"metadata\": {\"name\": \"web-5c4b3-aaaaa\", \"uid\": \"u-4\","
    " \"deletionTimestamp\": \"2024-05-01T10:00:00Z\", \"labels\": {\"app.kubernetes.io/instance\": \"web\"}},"
    " \"status\": {\"phase\": \"Running\", \"containerStatuses\": [{\"name\": \"web\", \"ready\": false,"
    " \"restartCount\": 2, \"state\": {\"waiting\": {\"reason\": \"CrashLoopBackOff\"}}}]}}\n"
    "    ],\n"
    "    \"kind\": \"List\",\n"
    "    \"metadata\": {\"resourceVersion\": \"\"}\n"
    "}\n";

static void
test_pod_list(void **state)
{
	struct fx_pod_list l;

	assert_int_equal(rules_pod_list_parse(listing, strlen(listing), &l), 0);
	assert_int_equal(l.n, 4);
	const struct fx_pod_status *p = &l.v[0];
	assert_string_equal(p->name, "web-7d9f8-x2x7q");
	assert_string_equal(p->uid, UID1);
	assert_string_equal(p->phase, "Running");
	assert_int_equal(p->labels.n, 2);
	assert_string_equal(p->labels.v[0], "app.kubernetes.io/instance=web");
	assert_string_equal(p->owner_kind, "ReplicaSet");
	assert_string_equal(p->owner, "web-7d9f8");
	assert_false(p->ready);
	assert_false(p->deleting);
	assert_null(p->unschedulable);
	assert_int_equal(p->nc, 1);
	assert_string_equal(p->c[0].name, "web");
	assert_string_equal(p->c[0].state, "waiting");
	assert_string_equal(p->c[0].reason, "CrashLoopBackOff");
	assert_string_equal(p->c[0].message, "back-off 40s restarting failed container=web");
	assert_int_equal(p->c[0].restarts, 4);
	assert_string_equal(p->c[0].last_reason, "OOMKilled");
	assert_int_equal(p->c[0].last_exit, 137);
	assert_true(p->c[0].ran);
	p = &l.v[1];
	assert_string_equal(p->owner_kind, "Job");
	assert_string_equal(p->c[0].state, "terminated");
	assert_int_equal(p->c[0].exit_code, 1);
	assert_null(p->c[0].last_reason);	/* "lastState": {} */
	p = &l.v[2];
	assert_string_equal(p->unschedulable, "0/1 nodes are available: 1 Insufficient memory.");
	assert_int_equal(p->nc, 0);
	assert_true(l.v[3].deleting);
	assert_false(l.v[3].c[0].ran);
	rules_pod_list_free(&l);
	assert_int_equal(l.n, 0);

	/* kubectl's error is no listing; an empty one is */
	const char *err = "error: You must be logged in to the server (Unauthorized)\n";
	assert_int_equal(rules_pod_list_parse(err, strlen(err), &l), -1);
	assert_int_equal(rules_pod_list_parse(NULL, 0, &l), -1);
	const char *none = "{\"apiVersion\": \"v1\", \"items\": [], \"kind\": \"List\"}";
	assert_int_equal(rules_pod_list_parse(none, strlen(none), &l), 0);
	assert_int_equal(l.n, 0);
	rules_pod_list_free(&l);
}

/* What is wrong with each pod, as a rollout judges it. */
static void
test_pod_trouble(void **state)
{
	struct fx_pod_list l;
	struct fx_pod_trouble t;

	assert_int_equal(rules_pod_list_parse(listing, strlen(listing), &l), 0);
	/* an OOM kill in back-off: the kill is the reason */
	assert_true(rules_pod_trouble(&l.v[0], FX_POD_WORKLOAD, &t));
	assert_string_equal(t.reason, "OOMKilled");
	assert_string_equal(t.container, "web");
	assert_string_equal(t.message,
	    "the container was killed for its memory (exit code 137); it waits to restart");
	assert_int_equal(t.restarts, 4);
	assert_true(t.ran);
	assert_false(t.hook);
	rules_pod_trouble_free(&t);
	/* a hook Job's pod that exited 1; a workload's pod would not be judged so */
	assert_true(rules_pod_trouble(&l.v[1], FX_POD_HOOK, &t));
	assert_string_equal(t.reason, "Error");
	assert_string_equal(t.message, "exit code 1");
	assert_true(t.hook);
	rules_pod_trouble_free(&t);
	assert_false(rules_pod_trouble(&l.v[1], FX_POD_WORKLOAD, &t));
	/* the scheduler's word, no container */
	assert_true(rules_pod_trouble(&l.v[2], FX_POD_WORKLOAD, &t));
	assert_string_equal(t.reason, "Unschedulable");
	assert_null(t.container);
	assert_string_equal(t.message, "0/1 nodes are available: 1 Insufficient memory.");
	rules_pod_trouble_free(&t);
	/* a pod on its way out is no trouble */
	assert_false(rules_pod_trouble(&l.v[3], FX_POD_WORKLOAD, &t));
	/* waiting to be created, or running: fine; where it stands, said */
	free(l.v[0].c[0].reason);
	l.v[0].c[0].reason = xstrdup("ContainerCreating");
	free(l.v[0].c[0].last_reason);
	l.v[0].c[0].last_reason = NULL;
	assert_false(rules_pod_trouble(&l.v[0], FX_POD_WORKLOAD, &t));
	struct fx_buf b = {0};
	rules_pod_state(&l.v[0], &b);
	assert_string_equal(b.s, "ContainerCreating");
	buf_free(&b);
	for (size_t i = 0; i < 3; i++) {
		static const char *const hopeless[] = {"ErrImageNeverPull", "ImagePullBackOff",
		    "CreateContainerConfigError"};
		free(l.v[0].c[0].reason);
		l.v[0].c[0].reason = xstrdup(hopeless[i]);
		assert_true(rules_pod_trouble(&l.v[0], FX_POD_WORKLOAD, &t));
		assert_string_equal(t.reason, hopeless[i]);
		rules_pod_trouble_free(&t);
	}
	rules_pod_list_free(&l);
}

/* A release's pods: its Deployment's selector, its hook Job, its bare Pod;
 * not another Job's pods though they carry the instance label. */
static void
test_release_pods(void **state)
{
	struct fx_rules r = {.statedir = tmp};
	struct fx_svc s = {.name = "web"};
	struct fx_release_pods rp;
	struct fx_pod_list l;

	put_file("artifacts/web.yaml",
	    "---\n# Source: web/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\n"
	    "metadata: {name: web}\nspec:\n  selector:\n    matchLabels:\n"
	    "      app.kubernetes.io/instance: web\n"
	    "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: web-migrate\n  annotations:\n"
	    "    \"helm.sh/hook\": pre-install,pre-upgrade\n"
	    "---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: web-report}\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata: {name: db-0}\n");
	rules_release_pods(&r, &s, &rp);
	assert_int_equal(rp.selectors.n, 1);
	assert_string_equal(rp.selectors.v[0], "app.kubernetes.io/instance=web");
	assert_int_equal(rp.hooks.n, 1);
	assert_string_equal(rp.hooks.v[0], "web-migrate");
	assert_int_equal(rp.pods.n, 1);
	assert_int_equal(rules_pod_list_parse(listing, strlen(listing), &l), 0);
	assert_int_equal(rules_pod_of(&rp, &l.v[0]), FX_POD_WORKLOAD);
	assert_int_equal(rules_pod_of(&rp, &l.v[1]), FX_POD_HOOK);
	assert_int_equal(rules_pod_of(&rp, &l.v[2]), FX_POD_WORKLOAD);	/* the bare Pod db-0 */
	free(l.v[1].owner);
	l.v[1].owner = xstrdup("web-report");	/* a Job of the release, not a hook */
	assert_int_equal(rules_pod_of(&rp, &l.v[1]), FX_POD_NONE);
	rules_pod_list_free(&l);
	rules_release_pods_free(&rp);

	/* no manifest: Helm's standard instance label */
	s.name = "other";
	rules_release_pods(&r, &s, &rp);
	assert_int_equal(rp.selectors.n, 1);
	assert_string_equal(rp.selectors.v[0], "app.kubernetes.io/instance=other");
	rules_release_pods_free(&rp);
}

/* A pod's events, oldest first: the scheduler's (events.k8s.io, in the
 * core view without lastTimestamp, kubernetes/kubernetes#36304) by their
 * eventTime. */
static void
test_events(void **state)
{
	const char *json = "{\"items\": ["
	    "{\"type\": \"Warning\", \"reason\": \"BackOff\", \"message\": \"Back-off restarting\","
	    " \"count\": 3, \"lastTimestamp\": \"2024-05-01T10:00:09Z\", \"eventTime\": null},"
	    "{\"type\": \"Normal\", \"reason\": \"Scheduled\", \"message\": \"Successfully assigned\","
	    " \"lastTimestamp\": null, \"eventTime\": \"2024-05-01T10:00:01.123456Z\"},"
	    "{\"type\": \"Normal\", \"reason\": \"Started\", \"message\": \"Started container web\","
	    " \"count\": 1, \"lastTimestamp\": \"2024-05-01T10:00:02Z\"}], \"kind\": \"List\"}";
	struct fx_events ev;

	assert_int_equal(rules_events_parse(json, strlen(json), &ev), 0);
	assert_int_equal(ev.n, 3);
	assert_string_equal(ev.v[0].reason, "Scheduled");
	assert_int_equal(ev.v[0].count, 0);
	assert_string_equal(ev.v[1].reason, "Started");
	assert_string_equal(ev.v[2].reason, "BackOff");
	assert_int_equal(ev.v[2].count, 3);
	assert_string_equal(ev.v[2].message, "Back-off restarting");
	rules_events_free(&ev);
	assert_int_equal(rules_events_parse("No resources found", 18, &ev), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_and_uid),
		cmocka_unit_test(test_messages_are_no_pods),
		cmocka_unit_test(test_each_pod_once),
		cmocka_unit_test(test_pod_list),
		cmocka_unit_test(test_pod_trouble),
		cmocka_unit_test_setup_teardown(test_release_pods, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test(test_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
