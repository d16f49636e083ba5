/*
 * cmd_status.c - `fusion status [--json]`: every service and shared
 * release, its image tag, its last release, fresh or stale, and its pods:
 * how many are ready and, when not all, why. Recorded outputs are checked
 * with one query per tool (podman images, helm list), and the pods of
 * every release are one kubectl query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"

struct row {
	const struct fx_svc *svc;
	char *image;		/* "" if never built or shared */
	const char *revision;	/* "" if never released */
	double released;	/* wall clock, 0 if never */
	bool fresh;
	const char *state;	/* fresh, stale, or missing (the repo is not there) */
	const char *reason;	/* of the first node not fresh */
	bool asked;		/* the cluster told its pods */
	struct fx_health health;
};

/* The record of service svc's node of the kind with role `role`, or NULL. */
static const struct fx_record *
record_of(struct fx_session *s, const struct fx_svc *svc, enum fx_role role)
{
	struct fx_node *n = rules_node(s->g, rules_kind_with(role), svc->name);
	return n ? map_get(&s->records, n->id) : NULL;
}

static void
fill(struct fx_session *s, const struct fx_svc *svc, struct row *r)
{
	const struct fx_record *br = record_of(s, svc, FX_ROLE_IMAGE);
	const struct fx_record *rr = record_of(s, svc, FX_ROLE_DEPLOY);

	*r = (struct row){.svc = svc, .fresh = true, .state = "fresh"};
	r->image = br ? rules_image_ref(svc, br->output) : xstrdup("");
	r->revision = rr ? rr->output : "";
	r->released = rr ? rr->started : 0;
	/* Every kind counts, in pipeline order: the first not fresh says why. */
	for (const struct fx_rule_kind *const *k = rules_kinds; *k; k++) {
		struct fx_node *n = rules_node(s->g, *k, svc->name);
		if (n && n->state != FX_FRESH && r->fresh) {
			r->fresh = false;
			r->state = "stale";
			r->reason = n->reason;
		}
	}
	if (svc->missing) {
		r->state = "missing";
		r->reason = svc->git ? "the repo is not cloned (fusion clone)" : "the repo does not exist";
	}
}

/* Healthy: every pod ready (or no pods at all). */
static const char *
health_word(const struct row *r)
{
	if (!r->health.total && !r->health.trouble.reason)
		return "none";
	return r->health.trouble.reason ? "unhealthy" : "ok";
}

static void
json_or_null(struct fx_buf *b, const char *s)
{
	if (s)
		buf_json_str(b, s);
	else
		buf_puts(b, "null");
}

static void
pods_json(struct fx_buf *b, const struct row *r)
{
	const struct fx_pod_trouble *t = &r->health.trouble;

	if (!r->asked) {
		buf_puts(b, ",\"pods\":null");
		return;
	}
	buf_printf(b, ",\"pods\":{\"ready\":%d,\"total\":%d,\"health\":\"%s\",\"reason\":",
	    r->health.ready, r->health.total, health_word(r));
	json_or_null(b, t->reason);
	buf_puts(b, ",\"pod\":");
	json_or_null(b, t->pod);
	buf_puts(b, ",\"container\":");
	json_or_null(b, t->container);
	buf_puts(b, ",\"message\":");
	json_or_null(b, t->message && *t->message ? t->message : NULL);
	buf_putc(b, '}');
}

static void
print_json(struct row *rows, size_t n)
{
	struct fx_buf b = {0};

	buf_putc(&b, '[');
	for (size_t i = 0; i < n; i++) {
		buf_puts(&b, i ? ",{\"service\":" : "{\"service\":");
		buf_json_str(&b, rows[i].svc->name);
		buf_printf(&b, ",\"shared\":%s,\"image\":", rows[i].svc->shared ? "true" : "false");
		buf_json_str(&b, rows[i].image);
		buf_puts(&b, ",\"revision\":");
		buf_json_str(&b, rows[i].revision);
		buf_printf(&b, ",\"released\":%.0f,\"state\":\"%s\",\"reason\":", rows[i].released,
		    rows[i].state);
		buf_json_str(&b, rows[i].reason ? rows[i].reason : "");
		pods_json(&b, &rows[i]);
		buf_putc(&b, '}');
	}
	buf_puts(&b, "]\n");
	fputs(b.s, stdout);
	buf_free(&b);
}

/* "1/2", "-" (no pods), "?" (the cluster did not say) */
static void
pods_cell(const struct row *r, char *cell, size_t size)
{
	if (!r->asked)
		snprintf(cell, size, "?");
	else if (!r->health.total)
		snprintf(cell, size, "-");
	else
		snprintf(cell, size, "%d/%d", r->health.ready, r->health.total);
}

static void
print_table(struct row *rows, size_t n)
{
	int w = 7, wi = 5;

	for (size_t i = 0; i < n; i++) {
		if ((int)strlen(rows[i].svc->name) > w)
			w = (int)strlen(rows[i].svc->name);
		if ((int)strlen(rows[i].image) > wi)
			wi = (int)strlen(rows[i].image);
	}
	printf("%-*s  %-*s  %-8s  %-19s  %-5s  %s\n", w, "SERVICE", wi, "IMAGE", "REVISION",
	    "RELEASED", "PODS", "STATE");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		const struct fx_pod_trouble *t = &r->health.trouble;
		char when[32] = "-", pods[32];
		if (r->released > 0) {
			time_t tm = (time_t)r->released;
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&tm));
		}
		pods_cell(r, pods, sizeof pods);
		printf("%-*s  %-*s  %-8s  %-19s  %-5s  %s%s%s%s%s", w, r->svc->name, wi,
		    *r->image ? r->image : "-", *r->revision ? r->revision : "-", when, pods,
		    fx_sgr(r->svc->missing ? FX_RED : !r->fresh ? FX_YELLOW : t->reason ? FX_RED :
		    FX_GREEN), r->state, fx_sgr(FX_RESET), r->reason ? ": " : "",
		    r->reason ? r->reason : "");
		/* A release whose pods are in trouble is not fine, fresh or not. */
		if (t->reason)
			printf("%s %s%s (%s)%s", r->fresh ? ", but" : ";", fx_sgr(FX_RED), t->reason,
			    t->pod, fx_sgr(FX_RESET));
		putchar('\n');
	}
}

static int
cmd_status(struct fx_opts *o, void *unused)
{
	struct fx_session s;
	int rc = session_load(&s, o, NULL, true);
	if (rc == 0) {
		struct row *rows = xcalloc(s.cat.nsvcs + 1, sizeof(*rows));
		struct fx_pod_list pods;
		char *why = NULL;
		/* one query for every release's pods */
		bool asked = rules_pods_now(&s.cat, &pods, &why) == 0;
		if (!asked) {
			fx_warn("the cluster did not say how the pods are (kubectl: %s)", why);
			free(why);
		}
		for (size_t i = 0; i < s.cat.nsvcs; i++) {
			fill(&s, &s.cat.svcs[i], &rows[i]);
			rows[i].asked = asked;
			if (asked)
				rules_release_health(&s.rules, &s.cat.svcs[i], &pods, &rows[i].health);
		}
		rules_pod_list_free(&pods);
		if (o->json)
			print_json(rows, s.cat.nsvcs);
		else
			print_table(rows, s.cat.nsvcs);
		for (size_t i = 0; i < s.cat.nsvcs; i++) {
			free(rows[i].image);
			rules_health_free(&rows[i].health);
		}
		free(rows);
	}
	session_close(&s);
	return rc;
}

const struct fx_command fx_cmd_status = {
	.name = "status",
	.usage = "status [--json]",
	.about = "Every service and shared release: image tag, last release, fresh or stale, and its\n"
	    "pods: how many are ready and, when not all, why (CrashLoopBackOff, ...).\n",
	.json = "[{\"service\",\"shared\",\"image\",\"revision\",\"released\",\"state\",\"reason\","
	    "\"pods\":{\"ready\",\"total\",\"health\",\"reason\",\"pod\",\"container\",\"message\"}}]",
	.run = cmd_status,
};
