/*
 * cmd_status.c - `fusion status [--json]`: every service and shared
 * release, its image tag, its last release, fresh or stale. Recorded
 * outputs are checked with one query per tool (podman images, helm list).
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
		buf_putc(&b, '}');
	}
	buf_puts(&b, "]\n");
	fputs(b.s, stdout);
	buf_free(&b);
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
	printf("%-*s  %-*s  %-8s  %-19s  %s\n", w, "SERVICE", wi, "IMAGE", "REVISION", "RELEASED",
	    "STATE");
	for (size_t i = 0; i < n; i++) {
		char when[32] = "-";
		if (rows[i].released > 0) {
			time_t t = (time_t)rows[i].released;
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&t));
		}
		printf("%-*s  %-*s  %-8s  %-19s  %s%s%s%s%s\n", w, rows[i].svc->name, wi,
		    *rows[i].image ? rows[i].image : "-", *rows[i].revision ? rows[i].revision : "-",
		    when, fx_sgr(rows[i].fresh ? FX_GREEN : rows[i].svc->missing ? FX_RED : FX_YELLOW),
		    rows[i].state, fx_sgr(FX_RESET), rows[i].reason ? ": " : "",
		    rows[i].reason ? rows[i].reason : "");
	}
}

static int
cmd_status(struct fx_opts *o, void *unused)
{
	struct fx_session s;
	int rc = session_load(&s, o, NULL, true);
	if (rc == 0) {
		struct row *rows = xcalloc(s.cat.nsvcs + 1, sizeof(*rows));
		for (size_t i = 0; i < s.cat.nsvcs; i++)
			fill(&s, &s.cat.svcs[i], &rows[i]);
		if (o->json)
			print_json(rows, s.cat.nsvcs);
		else
			print_table(rows, s.cat.nsvcs);
		for (size_t i = 0; i < s.cat.nsvcs; i++)
			free(rows[i].image);
		free(rows);
	}
	session_close(&s);
	return rc;
}

const struct fx_command fx_cmd_status = {
	.name = "status",
	.usage = "status [--json]",
	.about = "Every service and shared release: image tag, last release, fresh or stale.\n",
	.json = "[{\"service\",\"shared\",\"image\",\"revision\",\"released\",\"state\",\"reason\"}]",
	.run = cmd_status,
};
