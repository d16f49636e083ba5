/*
 * pods.c - reaching the running pods of a release, through kubectl: their
 * logs (`fusion logs`) and port-forwards to the release's Service (`up
 * --watch`).
 *
 * A release's pods are found by its workloads' label selectors, read from
 * the manifest its chart rendered (STATEDIR/artifacts/X.yaml: exactly what
 * was released). kubectl has no "pods of this Deployment" for logs
 * (kubernetes/kubectl#1520: `kubectl logs deployment/x` reads one pod), so
 * `kubectl logs -l SELECTOR` it is.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "fusion/diag.h"
#include "fusion/rules.h"

static const yaml_node_t *
get(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		const yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value,
		    key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static const char *
text(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Kinds whose pods carry spec.selector.matchLabels (a Job's selector is
 * generated per run; its pods are found by the template's labels, which
 * charts set to the release's anyway). */
static bool
workload(const char *kind)
{
	static const char *const kinds[] = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"};

	for (size_t i = 0; kind && i < FX_NELEM(kinds); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}

/* "k=v,k2=v2" from a matchLabels mapping, or NULL. */
static char *
selector_of(yaml_document_t *doc, const yaml_node_t *labels)
{
	struct fx_buf b = {0};

	if (!labels || labels->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = labels->data.mapping.pairs.start;
	    p < labels->data.mapping.pairs.top; p++) {
		const char *k = text(yaml_document_get_node(doc, p->key));
		const char *v = text(yaml_document_get_node(doc, p->value));
		if (k && v)
			buf_printf(&b, "%s%s=%s", b.len ? "," : "", k, v);
	}
	return b.len ? buf_detach(&b) : NULL;
}

void
rules_selectors(struct fx_rules *r, const struct fx_svc *s, struct fx_strv *out)
{
	struct fx_release_pods rp;

	/* The same walk of the rendered manifest as the release's pods */
	rules_release_pods(r, s, &rp);
	for (size_t i = 0; i < rp.selectors.n; i++)
		if (!strv_has(out, rp.selectors.v[i]))
			strv_push(out, rp.selectors.v[i]);
	rules_release_pods_free(&rp);
}

/* kubectl [--context C] VERB [KIND] --namespace NS */
static void
kubectl_in(const struct fx_catalog *c, const char *verb, const char *kind, struct fx_strv *argv)
{
	strv_push(argv, "kubectl");
	rules_context_args(c, argv, false);
	strv_push(argv, verb);
	if (kind)
		strv_push(argv, kind);
	strv_push(argv, "--namespace");
	strv_push(argv, c->namespace);
}

void
rules_logs_argv(const struct fx_catalog *c, const char *selector, struct fx_strv *argv)
{
	kubectl_in(c, "logs", NULL, argv);
	strv_push(argv, "--selector");
	strv_push(argv, selector);
	strv_push(argv, "--prefix");
	strv_push(argv, "--all-containers");
	/* With a selector kubectl shows 10 lines a pod unless told otherwise
	 * (kubernetes/kubernetes#79967): all of them. */
	strv_push(argv, "--tail=-1");
}

void
rules_pods_argv(const struct fx_catalog *c, const char *selector, struct fx_strv *argv)
{
	kubectl_in(c, "get", "pods", argv);
	strv_push(argv, "--selector");
	strv_push(argv, selector);
	strv_push(argv, "--output");
	strv_push(argv, "custom-columns=NAME:.metadata.name,UID:.metadata.uid");
	strv_push(argv, "--no-headers");
}

/* A Kubernetes UID (a UUID): tells a pod's line from kubectl's messages,
 * which share the pipe. */
static bool
is_uid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool
have_pod(const struct fx_pods *pods, const char *name, const char *uid)
{
	for (size_t i = 0; i < pods->n; i++)
		if (strcmp(pods->v[i].name, name) == 0 && strcmp(pods->v[i].uid, uid) == 0)
			return true;
	return false;
}

/* "NAME   UID" lines, as rules_pods_argv's custom columns ask (no headers). */
void
rules_pods_parse(const char *out, struct fx_pods *pods)
{
	for (const char *l = out; l && *l;) {
		const char *nl = strchr(l, '\n');
		char *line = nl ? xstrndup(l, (size_t)(nl - l)) : xstrdup(l);
		char name[256], uid[128];
		if (sscanf(line, "%255s %127s", name, uid) == 2 && is_uid(uid) &&
		    !have_pod(pods, name, uid)) {
			pods->v = xreallocarray(pods->v, pods->n + 1, sizeof(*pods->v));
			pods->v[pods->n++] = (struct fx_pod){xstrdup(name), xstrdup(uid)};
		}
		free(line);
		l = nl ? nl + 1 : NULL;
	}
}

void
rules_pods_free(struct fx_pods *pods)
{
	for (size_t i = 0; i < pods->n; i++) {
		free(pods->v[i].name);
		free(pods->v[i].uid);
	}
	free(pods->v);
	*pods = (struct fx_pods){0};
}

void
rules_follow_argv(const struct fx_catalog *c, const char *pod, const char *since_time,
    struct fx_strv *argv)
{
	kubectl_in(c, "logs", NULL, argv);
	strv_take(argv, xasprintf("pod/%s", pod));
	strv_push(argv, "--prefix");
	strv_push(argv, "--all-containers");
	strv_push(argv, "--follow");
	strv_push(argv, "--timestamps");
	/* kubectl refuses to follow more than 5 streams (containers) at once
	 * by default. */
	strv_push(argv, "--max-log-requests=64");
	if (since_time)
		strv_take(argv, xasprintf("--since-time=%s", since_time));
}

void
rules_forward_argv(const struct fx_catalog *c, const struct fx_svc *s, const struct fx_port *p,
    struct fx_strv *argv)
{
	kubectl_in(c, "port-forward", NULL, argv);
	strv_take(argv, xasprintf("service/%s", s->name));
	strv_take(argv, xasprintf("%d:%d", p->local, p->remote));
}

/*
 * ---- The pods' status: kubectl get pods -o json ----
 *
 * JSON is YAML to libyaml (kubectl writes no escapes it does not read:
 * non-ASCII text comes as UTF-8, not \u escapes of surrogate pairs), so
 * the listing is read as the manifests are. Only the fields a rollout and
 * `status` judge by are kept.
 */

void
rules_pod_list_argv(const struct fx_catalog *c, struct fx_strv *argv)
{
	kubectl_in(c, "get", "pods", argv);
	strv_push(argv, "--output");
	strv_push(argv, "json");
}

/* The text of n, a copy, or NULL for none or JSON's null. */
static char *
dup_text(const yaml_node_t *n)
{
	const char *t = text(n);
	return t && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ? xstrdup(t) :
	    t && strcmp(t, "null") != 0 ? xstrdup(t) : NULL;
}

static long
number(const yaml_node_t *n)
{
	const char *t = text(n);
	return t ? strtol(t, NULL, 10) : 0;
}

static bool
is_true(const yaml_node_t *n)
{
	const char *t = text(n);
	return t && strcmp(t, "true") == 0;
}

/* Each item of the sequence seq, or none when it is no sequence. */
#define EACH_ITEM(doc, seq, it) \
	for (yaml_node_item_t *it##_i = (seq) && (seq)->type == YAML_SEQUENCE_NODE ? \
	    (seq)->data.sequence.items.start : NULL; \
	    it##_i && it##_i < (seq)->data.sequence.items.top; it##_i++) \
		for (const yaml_node_t *it = yaml_document_get_node(doc, *it##_i); it; it = NULL)

static void
read_container(yaml_document_t *doc, const yaml_node_t *cs, bool init, struct fx_pod_cont *c)
{
	const yaml_node_t *state = get(doc, cs, "state");
	const yaml_node_t *last = get(doc, get(doc, cs, "lastState"), "terminated");
	static const char *const states[] = {"waiting", "running", "terminated"};

	*c = (struct fx_pod_cont){.name = dup_text(get(doc, cs, "name")), .init = init,
	    .ready = is_true(get(doc, cs, "ready")),
	    .restarts = (int)number(get(doc, cs, "restartCount"))};
	for (size_t i = 0; i < FX_NELEM(states); i++) {
		const yaml_node_t *s = get(doc, state, states[i]);
		if (!s || s->type != YAML_MAPPING_NODE)
			continue;
		c->state = states[i];
		c->reason = dup_text(get(doc, s, "reason"));
		c->message = dup_text(get(doc, s, "message"));
		c->exit_code = (int)number(get(doc, s, "exitCode"));
		break;
	}
	if (last && last->type == YAML_MAPPING_NODE) {
		c->last_reason = dup_text(get(doc, last, "reason"));
		c->last_message = dup_text(get(doc, last, "message"));
		c->last_exit = (int)number(get(doc, last, "exitCode"));
		if (!c->last_reason)
			c->last_reason = xstrdup("Error");
	}
	c->ran = c->last_reason || (c->state && strcmp(c->state, "waiting") != 0);
}

static void
read_containers(yaml_document_t *doc, const yaml_node_t *list, bool init, struct fx_pod_status *p)
{
	EACH_ITEM(doc, list, cs) {
		p->c = xreallocarray(p->c, p->nc + 1, sizeof(*p->c));
		read_container(doc, cs, init, &p->c[p->nc++]);
	}
}

static void
read_pod(yaml_document_t *doc, const yaml_node_t *item, struct fx_pod_status *p)
{
	const yaml_node_t *meta = get(doc, item, "metadata");
	const yaml_node_t *st = get(doc, item, "status");
	const yaml_node_t *labels = get(doc, meta, "labels");

	const char *gone = text(get(doc, meta, "deletionTimestamp"));

	*p = (struct fx_pod_status){.name = dup_text(get(doc, meta, "name")),
	    .uid = dup_text(get(doc, meta, "uid")), .phase = dup_text(get(doc, st, "phase")),
	    .deleting = gone && strcmp(gone, "null") != 0};
	for (yaml_node_pair_t *q = labels && labels->type == YAML_MAPPING_NODE ?
	    labels->data.mapping.pairs.start : NULL; q && q < labels->data.mapping.pairs.top; q++) {
		const char *k = text(yaml_document_get_node(doc, q->key));
		const char *v = text(yaml_document_get_node(doc, q->value));
		if (k && v)
			strv_take(&p->labels, xasprintf("%s=%s", k, v));
	}
	EACH_ITEM(doc, get(doc, meta, "ownerReferences"), o) {
		if (is_true(get(doc, o, "controller")) || !p->owner_kind) {
			free(p->owner_kind);
			free(p->owner);
			p->owner_kind = dup_text(get(doc, o, "kind"));
			p->owner = dup_text(get(doc, o, "name"));
		}
	}
	EACH_ITEM(doc, get(doc, st, "conditions"), cond) {
		const char *type = text(get(doc, cond, "type"));
		const char *status = text(get(doc, cond, "status"));
		if (!type || !status)
			continue;
		if (strcmp(type, "Ready") == 0)
			p->ready = strcmp(status, "True") == 0;
		const char *reason = text(get(doc, cond, "reason"));
		if (strcmp(type, "PodScheduled") == 0 && strcmp(status, "False") == 0 && reason &&
		    strcmp(reason, "Unschedulable") == 0) {
			p->unschedulable = dup_text(get(doc, cond, "message"));
			if (!p->unschedulable)
				p->unschedulable = xstrdup("");
		}
	}
	read_containers(doc, get(doc, st, "initContainerStatuses"), true, p);
	read_containers(doc, get(doc, st, "containerStatuses"), false, p);
}

int
rules_pod_list_parse(const char *json, size_t len, struct fx_pod_list *out)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = -1;

	*out = (struct fx_pod_list){0};
	if (!json || !yaml_parser_initialize(&parser))
		return -1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)json, len);
	if (yaml_parser_load(&parser, &doc)) {
		const yaml_node_t *root = yaml_document_get_root_node(&doc);
		const yaml_node_t *items = get(&doc, root, "items");
		if (items && items->type == YAML_SEQUENCE_NODE) {
			rc = 0;
			EACH_ITEM(&doc, items, item) {
				struct fx_pod_status p;
				read_pod(&doc, item, &p);
				if (!p.name || !p.uid) {
					rules_pod_status_free(&p);
					continue;
				}
				out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
				out->v[out->n++] = p;
			}
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	return rc;
}

void
rules_pod_status_free(struct fx_pod_status *p)
{
	free(p->name);
	free(p->uid);
	free(p->phase);
	strv_free(&p->labels);
	free(p->owner_kind);
	free(p->owner);
	free(p->unschedulable);
	for (size_t i = 0; i < p->nc; i++) {
		free(p->c[i].name);
		free(p->c[i].reason);
		free(p->c[i].message);
		free(p->c[i].last_reason);
		free(p->c[i].last_message);
	}
	free(p->c);
	*p = (struct fx_pod_status){0};
}

void
rules_pod_list_free(struct fx_pod_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		rules_pod_status_free(&l->v[i]);
	free(l->v);
	*l = (struct fx_pod_list){0};
}

/*
 * ---- Which pods are a release's ----
 *
 * From the manifest its chart rendered (helm template prints the hooks
 * too): its workloads' selectors, its hook Jobs (helm.sh/hook) and bare
 * Pods. A Job's pods are the Job's alone, though their labels may match a
 * Deployment's selector (charts label everything with the instance).
 */

static void
read_release_doc(yaml_document_t *doc, const yaml_node_t *root, struct fx_release_pods *rp)
{
	const char *kind = text(get(doc, root, "kind"));
	const yaml_node_t *meta = get(doc, root, "metadata");
	const char *name = text(get(doc, meta, "name"));

	if (workload(kind)) {
		const yaml_node_t *sel = get(doc, get(doc, root, "spec"), "selector");
		char *labels = selector_of(doc, get(doc, sel, "matchLabels"));
		if (labels && !strv_has(&rp->selectors, labels))
			strv_push(&rp->selectors, labels);
		free(labels);
	} else if (kind && name && strcmp(kind, "Job") == 0 &&
	    text(get(doc, get(doc, meta, "annotations"), "helm.sh/hook"))) {
		strv_push(&rp->hooks, name);
	} else if (kind && name && strcmp(kind, "Pod") == 0) {
		strv_push(&rp->pods, name);
	}
}

void
rules_release_pods(struct fx_rules *r, const struct fx_svc *s, struct fx_release_pods *out)
{
	char *name = xasprintf("artifacts/%s.yaml", s->name);
	char *path = path_join(r->statedir, name);
	FILE *f = fopen(path, "rb");
	yaml_parser_t parser;

	*out = (struct fx_release_pods){0};
	free(name);
	if (f && yaml_parser_initialize(&parser)) {
		yaml_parser_set_input_file(&parser, f);
		for (;;) {
			yaml_document_t doc;
			if (!yaml_parser_load(&parser, &doc))
				break;	/* not YAML after all: the fallback below */
			const yaml_node_t *root = yaml_document_get_root_node(&doc);
			if (!root) {
				yaml_document_delete(&doc);
				break;	/* the end of the stream */
			}
			read_release_doc(&doc, root, out);
			yaml_document_delete(&doc);
		}
		yaml_parser_delete(&parser);
	}
	if (f)
		fclose(f);
	if (!out->selectors.n) {
		fx_debug("%s: no workload selector; using Helm's standard instance label", path);
		strv_take(&out->selectors, xasprintf("app.kubernetes.io/instance=%s", s->name));
	}
	free(path);
}

void
rules_release_pods_free(struct fx_release_pods *rp)
{
	strv_free(&rp->selectors);
	strv_free(&rp->hooks);
	strv_free(&rp->pods);
}

/* Does a "k=v,k2=v2" selector pick a pod with these labels? */
static bool
selects(const char *selector, const struct fx_strv *labels)
{
	const char *p = selector;

	while (*p) {
		size_t n = strcspn(p, ",");
		bool found = false;
		for (size_t i = 0; i < labels->n && !found; i++)
			found = strlen(labels->v[i]) == n && strncmp(labels->v[i], p, n) == 0;
		if (!found)
			return false;
		p += n + (p[n] == ',');
	}
	return true;
}

enum fx_pod_role
rules_pod_of(const struct fx_release_pods *rp, const struct fx_pod_status *p)
{
	if (p->owner_kind && strcmp(p->owner_kind, "Job") == 0)
		return p->owner && strv_has(&rp->hooks, p->owner) ? FX_POD_HOOK : FX_POD_NONE;
	if (strv_has(&rp->pods, p->name))
		return FX_POD_WORKLOAD;
	for (size_t i = 0; i < rp->selectors.n; i++)
		if (selects(rp->selectors.v[i], &p->labels))
			return FX_POD_WORKLOAD;
	return FX_POD_NONE;
}

/*
 * ---- A pod's story: its events, and its log's last lines ----
 */

void
rules_events_argv(const struct fx_catalog *c, const char *uid, struct fx_strv *argv)
{
	kubectl_in(c, "get", "events", argv);
	strv_push(argv, "--field-selector");
	strv_take(argv, xasprintf("involvedObject.uid=%s", uid));
	strv_push(argv, "--output");
	strv_push(argv, "json");
}

/* When an event last happened: its lastTimestamp, else (the events.k8s.io
 * events the scheduler writes have none, kubernetes/kubernetes#36304) its
 * eventTime, else when it was first seen or made. RFC 3339 sorts as text
 * (the fractions eventTime has come after the whole seconds). */
static char *
event_time(yaml_document_t *doc, const yaml_node_t *e)
{
	static const char *const keys[] = {"lastTimestamp", "eventTime", "firstTimestamp"};
	char *t = NULL;

	for (size_t i = 0; i < FX_NELEM(keys) && !t; i++)
		t = dup_text(get(doc, e, keys[i]));
	return t ? t : dup_text(get(doc, get(doc, e, "metadata"), "creationTimestamp"));
}

static int
by_time(const void *a, const void *b)
{
	const struct fx_event *x = a, *y = b;
	return strcmp(x->time ? x->time : "", y->time ? y->time : "");
}

int
rules_events_parse(const char *json, size_t len, struct fx_events *out)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = -1;

	*out = (struct fx_events){0};
	if (!json || !yaml_parser_initialize(&parser))
		return -1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)json, len);
	if (yaml_parser_load(&parser, &doc)) {
		const yaml_node_t *items = get(&doc, yaml_document_get_root_node(&doc), "items");
		if (items && items->type == YAML_SEQUENCE_NODE) {
			rc = 0;
			EACH_ITEM(&doc, items, e) {
				struct fx_event ev = {.type = dup_text(get(&doc, e, "type")),
				    .reason = dup_text(get(&doc, e, "reason")),
				    .message = dup_text(get(&doc, e, "message")),
				    .count = number(get(&doc, e, "count")),
				    .time = event_time(&doc, e)};
				out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
				out->v[out->n++] = ev;
			}
			/* stable enough: events of one time keep no order anyway */
			qsort(out->v, out->n, sizeof(*out->v), by_time);
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	return rc;
}

void
rules_events_free(struct fx_events *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		free(ev->v[i].type);
		free(ev->v[i].reason);
		free(ev->v[i].message);
		free(ev->v[i].time);
	}
	free(ev->v);
	*ev = (struct fx_events){0};
}

void
rules_tail_argv(const struct fx_catalog *c, const char *pod, const char *container, int lines,
    struct fx_strv *argv)
{
	kubectl_in(c, "logs", NULL, argv);
	strv_take(argv, xasprintf("pod/%s", pod));
	if (container) {
		strv_push(argv, "--container");
		strv_push(argv, container);
	}
	/* A container waiting to restart: the kubelet shows its last run's
	 * log (validateContainerLogStatus), the one that says why it ended. */
	strv_take(argv, xasprintf("--tail=%d", lines));
}
