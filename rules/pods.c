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
	char *name = xasprintf("artifacts/%s.yaml", s->name);
	char *path = path_join(r->statedir, name);
	FILE *f = fopen(path, "rb");
	yaml_parser_t parser;

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
			if (workload(text(get(&doc, root, "kind")))) {
				const yaml_node_t *sel = get(&doc, get(&doc, root, "spec"), "selector");
				char *labels = selector_of(&doc, get(&doc, sel, "matchLabels"));
				if (labels && !strv_has(out, labels))
					strv_push(out, labels);
				free(labels);
			}
			yaml_document_delete(&doc);
		}
		yaml_parser_delete(&parser);
	}
	if (f)
		fclose(f);
	if (!out->n) {
		fx_debug("%s: no workload selector; using Helm's standard instance label", path);
		strv_take(out, xasprintf("app.kubernetes.io/instance=%s", s->name));
	}
	free(path);
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
