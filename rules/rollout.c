/*
 * rollout.c - a release's rollout, followed: what its pods say while helm
 * waits for them, and why it failed when it did; and a release's health,
 * for `status`, judged the same way.
 *
 * helm's --wait says nothing but "context deadline exceeded" (or, for a
 * hook, "timed out waiting for the condition"), and only once --timeout has
 * passed (helm/helm#3020, #3980, #4010), though the cluster knew at once:
 * the kubelet names the reason in the pod's status. So the release follows
 * its pods while helm runs (one `kubectl get pods -o json` of the
 * namespace a second, the engine's probe) and stops helm as soon as a pod
 * of the release is in a state it does not leave by itself:
 *
 *   ErrImageNeverPull, ImageInspectError, InvalidImageName   the image is not there,
 *                                                   or its name cannot be read
 *   ErrImagePull, ImagePullBackOff                  it cannot be pulled
 *   CrashLoopBackOff                                the container exits, again and again
 *   OOMKilled (state or lastState)                  killed for its memory
 *   CreateContainerConfigError                      a Secret or ConfigMap it needs is missing
 *   Unschedulable (PodScheduled False)              no node can run it
 *   a hook Job's pod that failed                    a migration, say
 *
 * Skaffold's status check and kubedog fail fast on the same states
 * (werf/kubedog#211). A hook Job's failed pod fails the release though the
 * Job would retry it (backoffLimit, 6 by default, 10 s doubling): helm
 * would wait out its timeout for the retries, and the one that failed says
 * why; `fusion up` runs it again.
 *
 * Only this rollout's trouble counts: the pods are listed once before helm
 * starts, and a pod that was failing then (an old ReplicaSet's, which a
 * fixed release replaces) does not stop the release that replaces it.
 * Then, for the pod found (or, when helm gave up by itself, the pod of the
 * release that failed, else the first not ready), its container's last
 * log lines and its events, and a hint. SIGTERM is how helm is stopped: it
 * then records the release failed (helm/helm#9180), and `up` runs it again
 * next time, as any release that failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/diag.h"
#include "fusion/proc.h"
#include "fusion/rules.h"

/* How many lines of a container's log, and how many events, a failure shows. */
#define LOG_LINES 20
#define EVENTS 8

struct fx_rollout {
	struct fx_release_pods rp;
	struct fx_map before;	/* uid -> "ok" or "failing": the pods before helm */
	double started;		/* when helm started (monotonic) */
	bool stopped;		/* a probe found trouble: helm was stopped */
	int helm_status;
	bool gave_up;		/* helm ran its whole timeout */
	bool found;
	struct fx_pod_trouble t;
	struct fx_strv log;	/* the container's last lines */
	struct fx_events events;
	char *not_ready;	/* the last probe's pods not ready, "POD (STATE)", or NULL */
};

/* The waiting reasons a container does not leave by itself. */
static bool
hopeless(const char *reason)
{
	static const char *const reasons[] = {"ErrImageNeverPull", "ImageInspectError",
	    "InvalidImageName", "ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff",
	    "CreateContainerConfigError", "CreateContainerError"};

	for (size_t i = 0; reason && i < FX_NELEM(reasons); i++)
		if (strcmp(reason, reasons[i]) == 0)
			return true;
	return false;
}

static void
set_trouble(struct fx_pod_trouble *t, const struct fx_pod_status *p, const struct fx_pod_cont *c,
    const char *reason, const char *message)
{
	*t = (struct fx_pod_trouble){.pod = xstrdup(p->name), .uid = xstrdup(p->uid),
	    .container = c && c->name ? xstrdup(c->name) : NULL, .reason = xstrdup(reason),
	    .message = xstrdup(message ? message : ""), .restarts = c ? c->restarts : 0,
	    .ran = c && c->ran};
}

bool
rules_pod_trouble(const struct fx_pod_status *p, enum fx_pod_role role, struct fx_pod_trouble *t)
{
	if (p->deleting)
		return false;
	if (p->unschedulable) {
		set_trouble(t, p, NULL, "Unschedulable", p->unschedulable);
		return true;
	}
	for (size_t i = 0; i < p->nc; i++) {
		const struct fx_pod_cont *c = &p->c[i];
		bool oom = (c->state && strcmp(c->state, "terminated") == 0 && c->reason &&
		    strcmp(c->reason, "OOMKilled") == 0) ||
		    (c->last_reason && strcmp(c->last_reason, "OOMKilled") == 0);
		if (oom) {
			/* In back-off the kill shows in lastState only (k8sgpt-ai/k8sgpt#792). */
			char *m = xasprintf("the container was killed for its memory (exit code %d)%s",
			    c->last_reason ? c->last_exit : c->exit_code,
			    c->state && strcmp(c->state, "waiting") == 0 ? "; it waits to restart" : "");
			set_trouble(t, p, c, "OOMKilled", m);
			free(m);
			return true;
		}
		if (c->state && strcmp(c->state, "waiting") == 0 && hopeless(c->reason)) {
			set_trouble(t, p, c, c->reason, c->message);
			return true;
		}
		if (role == FX_POD_HOOK && c->state && strcmp(c->state, "terminated") == 0 &&
		    c->exit_code != 0) {
			char *m = xasprintf("exit code %d", c->exit_code);
			set_trouble(t, p, c, c->reason ? c->reason : "Error", m);
			t->hook = true;
			free(m);
			return true;
		}
	}
	if (role == FX_POD_HOOK && p->phase && strcmp(p->phase, "Failed") == 0) {
		set_trouble(t, p, NULL, "Failed", "the hook Job's pod failed");
		t->hook = true;
		return true;
	}
	return false;
}

void
rules_pod_trouble_free(struct fx_pod_trouble *t)
{
	free(t->pod);
	free(t->uid);
	free(t->container);
	free(t->reason);
	free(t->message);
	*t = (struct fx_pod_trouble){0};
}

/* Where a pod that is not ready stands: its first container's waiting
 * reason ("ContainerCreating"), "Pending", or "running, not ready". */
void
rules_pod_state(const struct fx_pod_status *p, struct fx_buf *out)
{
	for (size_t i = 0; i < p->nc; i++)
		if (p->c[i].state && strcmp(p->c[i].state, "waiting") == 0 && p->c[i].reason) {
			buf_puts(out, p->c[i].reason);
			return;
		}
	if (p->phase && strcmp(p->phase, "Running") == 0)
		buf_puts(out, "running, not ready");
	else
		buf_puts(out, p->phase ? p->phase : "unknown");
}

/* A hook Job's pod is done when it Succeeded; a workload's when Ready. */
static bool
done(const struct fx_pod_status *p, enum fx_pod_role role)
{
	if (role == FX_POD_HOOK)
		return p->phase && strcmp(p->phase, "Succeeded") == 0;
	return p->ready;
}

/*
 * ---- Following (the probes of the engine) ----
 */

struct fx_rollout *
rules_rollout_new(struct fx_rules *r, const struct fx_svc *s, const char *before, size_t len)
{
	struct fx_rollout *ro = xcalloc(1, sizeof(*ro));
	struct fx_pod_list pods;

	ro->before.own = true;	/* the uids go with the listing */
	rules_release_pods(r, s, &ro->rp);
	if (rules_pod_list_parse(before, len, &pods) == 0) {
		for (size_t i = 0; i < pods.n; i++) {
			struct fx_pod_trouble t;
			enum fx_pod_role role = rules_pod_of(&ro->rp, &pods.v[i]);
			bool bad = role != FX_POD_NONE && rules_pod_trouble(&pods.v[i], role, &t);
			if (bad)
				rules_pod_trouble_free(&t);
			map_put(&ro->before, pods.v[i].uid, (void *)(bad ? "failing" : "ok"));
		}
		rules_pod_list_free(&pods);
	}
	ro->started = now_mono();
	return ro;
}

void
rules_rollout_free(struct fx_rollout *ro)
{
	if (!ro)
		return;
	rules_release_pods_free(&ro->rp);
	map_free(&ro->before);
	rules_pod_trouble_free(&ro->t);
	strv_free(&ro->log);
	rules_events_free(&ro->events);
	free(ro->not_ready);
	free(ro);
}

/*
 * Read a listing of the namespace's pods: the release's pods in trouble,
 * and (for a timeout's message) the ones not ready yet. A pod that was in
 * trouble before helm started counts only when `all` (helm gave up by
 * itself: whatever is wrong now is worth naming). Returns true when it
 * found trouble (kept in ro->t).
 */
static bool
look(struct fx_rollout *ro, const struct fx_pod_list *pods, bool all)
{
	struct fx_buf waiting = {0};
	int more = 0;

	for (size_t i = 0; i < pods->n && !ro->found; i++) {
		const struct fx_pod_status *p = &pods->v[i];
		enum fx_pod_role role = rules_pod_of(&ro->rp, p);
		const char *was = map_get(&ro->before, p->uid);
		if (role == FX_POD_NONE || p->deleting)
			continue;
		if ((all || !was || strcmp(was, "failing") != 0) && rules_pod_trouble(p, role, &ro->t))
			ro->found = true;
		else if (!done(p, role) && waiting.len < 200) {
			buf_printf(&waiting, "%s%s (", waiting.len ? ", " : "", p->name);
			rules_pod_state(p, &waiting);
			buf_putc(&waiting, ')');
		} else if (!done(p, role)) {
			more++;
		}
	}
	if (more)
		buf_printf(&waiting, " and %d more", more);
	free(ro->not_ready);
	ro->not_ready = waiting.len ? buf_detach(&waiting) : NULL;
	buf_free(&waiting);
	return ro->found;
}

bool
rules_rollout_probe(struct fx_rollout *ro, const struct fx_buf *out)
{
	struct fx_pod_list pods;

	/* kubectl failed (the cluster went away for a moment): no news */
	if (ro->found || rules_pod_list_parse(out->s, out->len, &pods) < 0)
		return false;
	bool stop = look(ro, &pods, false);
	rules_pod_list_free(&pods);
	ro->stopped = stop;
	return stop;
}

/*
 * ---- After helm ----
 */

void
rules_rollout_ended(struct fx_rollout *ro, int status, int timeout)
{
	ro->helm_status = status;
	/* helm gives up after --timeout: with hooks, a timeout each */
	ro->gave_up = !ro->stopped && now_mono() - ro->started >= timeout - 1;
}

bool
rules_rollout_found(const struct fx_rollout *ro)
{
	return ro->found;
}

/* helm failed by itself: one more look at the pods, this time at every
 * pod of the release; when it gave up waiting and none is in trouble, the
 * first one not ready is the one to tell of. */
void
rules_rollout_after(struct fx_rollout *ro, const struct fx_buf *out)
{
	struct fx_pod_list pods;

	if (ro->found || rules_pod_list_parse(out->s, out->len, &pods) < 0)
		return;
	if (!look(ro, &pods, ro->gave_up) && ro->gave_up) {
		for (size_t i = 0; i < pods.n && !ro->found; i++) {
			const struct fx_pod_status *p = &pods.v[i];
			enum fx_pod_role role = rules_pod_of(&ro->rp, p);
			if (role == FX_POD_NONE || p->deleting || done(p, role))
				continue;
			struct fx_buf st = {0};
			const struct fx_pod_cont *c = NULL;
			rules_pod_state(p, &st);
			for (size_t k = 0; k < p->nc && !c; k++)
				if (!p->c[k].ready)
					c = &p->c[k];
			set_trouble(&ro->t, p, c, "NotReady", st.s);
			ro->t.hook = role == FX_POD_HOOK;
			ro->found = true;
			buf_free(&st);
		}
	}
	rules_pod_list_free(&pods);
}

const struct fx_pod_trouble *
rules_rollout_trouble(const struct fx_rollout *ro)
{
	return ro->found ? &ro->t : NULL;
}

/* The container's last lines, as kubectl logs printed them. */
void
rules_rollout_log(struct fx_rollout *ro, int status, const struct fx_buf *out)
{
	if (status != 0 || !out->s)
		return;
	for (const char *l = out->s; *l;) {
		size_t n = strcspn(l, "\n");
		strv_take(&ro->log, xstrndup(l, n));
		l += n + (l[n] == '\n');
	}
	while (ro->log.n > LOG_LINES) {
		free(ro->log.v[0]);
		memmove(ro->log.v, ro->log.v + 1, --ro->log.n * sizeof(*ro->log.v));
	}
}

void
rules_rollout_events(struct fx_rollout *ro, int status, const char *json, size_t len)
{
	if (status == 0)
		rules_events_parse(json, len, &ro->events);
}

/*
 * ---- Saying it ----
 */

/* What to do about it, where fusion can tell. */
static const char *
hint(const struct fx_pod_trouble *t, const struct fx_catalog *c)
{
	if (t->hook)
		return "a helm hook Job failed (a migration?): its log says why. fusion does not "
		    "wait for the Job's retries (backoffLimit), which take minutes; `fusion up` "
		    "runs the release again";
	if (strcmp(t->reason, "ErrImageNeverPull") == 0)
		return "the image is not in the cluster (its load is recorded, but the cluster no "
		    "longer has it: recreated, or cleaned up?): run `fusion up --verify`, which "
		    "loads it again";
	if (strcmp(t->reason, "ImageInspectError") == 0 || strcmp(t->reason, "InvalidImageName") == 0)
		return "the cluster's runtime cannot read the image's name: name it in full, "
		    "with its registry (cri-o refuses short names)";
	if (strcmp(t->reason, "ErrImagePull") == 0 || strcmp(t->reason, "ImagePullBackOff") == 0)
		return c->registry ? "the cluster cannot pull the image: was it pushed to the "
		    "registry, and may the cluster pull from it?" :
		    "the cluster cannot pull the image: check its name and tag, that its registry "
		    "answers, and the cluster's credentials for it (imagePullSecrets)";
	if (strcmp(t->reason, "CrashLoopBackOff") == 0)
		return "the container exits soon after it starts, again and again: its log says "
		    "why";
	if (strcmp(t->reason, "OOMKilled") == 0)
		return "the container used more memory than its limit: raise "
		    "resources.limits.memory in its values, or find what grows";
	if (strcmp(t->reason, "CreateContainerConfigError") == 0 ||
	    strcmp(t->reason, "CreateContainerError") == 0)
		return "the pod needs something that is not there (a Secret, a ConfigMap, a key "
		    "in one): the message names it";
	if (strcmp(t->reason, "Unschedulable") == 0)
		return "no node can run the pod as it asks: free the resources the message names, "
		    "or lower the pod's requests";
	if (strcmp(t->reason, "NotReady") == 0)
		return "helm waited the release's timeout for it: its events say why (a readiness "
		    "probe?); if it is only slow, raise `timeout` in the catalog";
	return NULL;
}

/* 5m0s, 90s, 1h0m0s: a timeout as helm writes it. */
static void
say_duration(struct fx_buf *b, int s)
{
	if (s >= 3600)
		buf_printf(b, "%dh%dm%ds", s / 3600, s % 3600 / 60, s % 60);
	else if (s >= 60)
		buf_printf(b, "%dm%ds", s / 60, s % 60);
	else
		buf_printf(b, "%ds", s);
}

static void
say_event(struct fx_buf *b, const struct fx_event *e)
{
	buf_printf(b, "%s %s: %s", e->type ? e->type : "?", e->reason ? e->reason : "?",
	    e->message ? e->message : "");
	if (e->count > 1)
		buf_printf(b, " (x%ld)", e->count);
}

void
rules_rollout_say(const struct fx_rollout *ro, const struct fx_catalog *c, const char *svc,
    int timeout, struct fx_buf *msg, struct fx_buf *detail)
{
	const struct fx_pod_trouble *t = &ro->t;
	const char *h = hint(t, c);
	size_t first = ro->events.n > EVENTS ? ro->events.n - EVENTS : 0;

	/* pod P, container C: REASON (restarted N times): MESSAGE */
	buf_printf(msg, "pod %s", t->pod);
	if (t->container)
		buf_printf(msg, ", container %s", t->container);
	buf_printf(msg, ": %s", t->reason);
	if (t->restarts > 0)
		buf_printf(msg, " (restarted %d time%s)", t->restarts, t->restarts == 1 ? "" : "s");
	if (*t->message)
		buf_printf(msg, ": %s", t->message);
	if (h)
		buf_printf(msg, "\n    hint: %s", h);
	if (ro->log.n) {
		buf_printf(msg, "\n    the last %zu lines of its log (`fusion logs %s` shows all):",
		    ro->log.n, svc);
		for (size_t i = 0; i < ro->log.n; i++)
			buf_printf(msg, "\n      | %s", ro->log.v[i]);
	} else if (t->container && !t->ran) {
		buf_puts(msg, "\n    no log: the container never started");
	}
	if (ro->events.n) {
		buf_puts(msg, "\n    its recent events:");
		for (size_t i = first; i < ro->events.n; i++) {
			buf_puts(msg, "\n      | ");
			say_event(msg, &ro->events.v[i]);
		}
	}
	buf_puts(msg, "\n    ");
	if (ro->stopped) {
		buf_puts(msg, "fusion stopped helm at once (it would have waited up to ");
		say_duration(msg, timeout);
		buf_puts(msg, "); ");
	} else if (ro->gave_up) {
		buf_puts(msg, "helm gave up after its timeout, ");
		say_duration(msg, timeout);
		buf_puts(msg, "; ");
	} else {
		buf_printf(msg, "helm upgrade exited with status %d; ", ro->helm_status);
	}
	buf_puts(msg, "the release stays stale: `fusion up` runs it again");

	buf_puts(detail, "\"rollout\":{\"pod\":");
	buf_json_str(detail, t->pod);
	buf_puts(detail, ",\"container\":");
	if (t->container)
		buf_json_str(detail, t->container);
	else
		buf_puts(detail, "null");
	buf_puts(detail, ",\"reason\":");
	buf_json_str(detail, t->reason);
	buf_puts(detail, ",\"message\":");
	buf_json_str(detail, t->message);
	buf_printf(detail, ",\"restarts\":%d,\"hook\":%s,\"hint\":", t->restarts,
	    t->hook ? "true" : "false");
	if (h)
		buf_json_str(detail, h);
	else
		buf_puts(detail, "null");
	buf_puts(detail, ",\"log\":[");
	for (size_t i = 0; i < ro->log.n; i++) {
		if (i)
			buf_putc(detail, ',');
		buf_json_str(detail, ro->log.v[i]);
	}
	buf_puts(detail, "],\"events\":[");
	for (size_t i = first; i < ro->events.n; i++) {
		const struct fx_event *e = &ro->events.v[i];
		buf_puts(detail, i > first ? ",{\"type\":" : "{\"type\":");
		buf_json_str(detail, e->type ? e->type : "");
		buf_puts(detail, ",\"reason\":");
		buf_json_str(detail, e->reason ? e->reason : "");
		buf_puts(detail, ",\"message\":");
		buf_json_str(detail, e->message ? e->message : "");
		buf_printf(detail, ",\"count\":%ld,\"time\":", e->count);
		if (e->time)
			buf_json_str(detail, e->time);
		else
			buf_puts(detail, "null");
		buf_putc(detail, '}');
	}
	buf_printf(detail, "],\"stopped\":%s,\"timeout\":%d}", ro->stopped ? "true" : "false",
	    timeout);
}

/* helm failed and no pod says why: its status, and, when it waited its
 * whole timeout, the pods it was waiting for. */
void
rules_rollout_say_plain(const struct fx_rollout *ro, int timeout, struct fx_buf *msg,
    struct fx_buf *detail)
{
	buf_printf(msg, "helm upgrade exited with status %d", ro->helm_status);
	if (ro->gave_up) {
		buf_puts(msg, " after its timeout, ");
		say_duration(msg, timeout);
	}
	if (ro->gave_up && ro->not_ready)
		buf_printf(msg, "; not ready: %s", ro->not_ready);
	buf_printf(detail, "\"rollout\":{\"pod\":null,\"stopped\":false,\"timeout\":%d,\"not_ready\":",
	    timeout);
	if (ro->not_ready)
		buf_json_str(detail, ro->not_ready);
	else
		buf_puts(detail, "null");
	buf_putc(detail, '}');
}

/*
 * ---- A release's health, for `status` ----
 */

int
rules_pods_now(const struct fx_catalog *c, struct fx_pod_list *out, char **why)
{
	struct fx_strv a = {0};
	struct fx_buf o = {0}, e = {0};

	rules_pod_list_argv(c, &a);
	int st = proc_run(strv_argv(&a), &o, &e);
	int rc = st == 0 ? rules_pod_list_parse(o.s, o.len, out) : -1;
	if (rc < 0 && why)
		*why = buf_first_line(&e, st == 0 ? "kubectl printed no pod list" : "no answer");
	if (rc < 0)
		*out = (struct fx_pod_list){0};
	strv_free(&a);
	buf_free(&o);
	buf_free(&e);
	return rc;
}

void
rules_release_health(struct fx_rules *r, const struct fx_svc *s, const struct fx_pod_list *pods,
    struct fx_health *h)
{
	struct fx_release_pods rp;
	const struct fx_pod_status *waiting = NULL;

	*h = (struct fx_health){0};
	rules_release_pods(r, s, &rp);
	for (size_t i = 0; i < pods->n; i++) {
		const struct fx_pod_status *p = &pods->v[i];
		/* a hook Job's pods come and go with each release: not counted */
		if (p->deleting || rules_pod_of(&rp, p) != FX_POD_WORKLOAD)
			continue;
		h->total++;
		h->ready += p->ready;
		if (!h->trouble.reason && rules_pod_trouble(p, FX_POD_WORKLOAD, &h->trouble))
			continue;
		if (!p->ready && !waiting)
			waiting = p;
	}
	if (!h->trouble.reason && waiting) {
		struct fx_buf st = {0};
		rules_pod_state(waiting, &st);
		h->trouble = (struct fx_pod_trouble){.pod = xstrdup(waiting->name),
		    .uid = xstrdup(waiting->uid), .reason = xstrdup(st.s), .message = xstrdup("")};
		buf_free(&st);
	}
	rules_release_pods_free(&rp);
}

void
rules_health_free(struct fx_health *h)
{
	rules_pod_trouble_free(&h->trouble);
}
