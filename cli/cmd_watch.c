/*
 * cmd_watch.c - `fusion up --watch`: the dev loop. A pass of `up`, then
 * wait for a change to the selected nodes' sources or to the catalog, and
 * another pass, until Ctrl-C.
 *
 * A pass is exactly an `up` (session, executor, report, records): the
 * watcher only says when to run one. What is stale is decided as always,
 * by the stat cache and the keys, so a change the watcher misreports can
 * make a pass late or needless, never wrong.
 *
 * Between passes fusion sleeps in poll(2) on the watcher's descriptor and a
 * self-pipe for signals. There is no timer unless a change is waiting out
 * its debounce (or the watcher polls, as a fallback): idle costs no CPU.
 *
 * Debounce: a pass starts once no change has come for the debounce (200
 * ms, --debounce MS), or at the latest max(2 s, 4 x debounce) after the
 * first change, so a file written without pause still gets its passes.
 * An editor's temp-file-and-rename or a `git checkout` is one pass.
 *
 * Changes during a pass are queued (the kernel keeps them) and start the
 * next pass when this one finishes; a running build is never cancelled.
 * Cancelling would throw away the work of a build that is often nearly
 * done (podman's layers up to the change stay cached either way, so the
 * next pass redoes only what the new change touches), and would interrupt
 * `helm upgrade --wait` halfway: the release is marked failed
 * (helm/helm#9180) or, if helm is killed first, left "pending-upgrade",
 * which refuses every later upgrade until it is rolled back
 * (helm/helm#4558). The queued pass starts as soon as the current one
 * ends, and it runs only what the new changes make stale.
 *
 * The catalog is watched too: an edit reloads it at the next pass; an
 * invalid catalog is reported and the last good one kept until it is
 * fixed. Each pass declares its sources to the watcher before hashing
 * them (session.before_hash), so no change made while they are read goes
 * unseen, and its ignore rules prune the watch.
 *
 * The catalog's `ports` are forwarded (kubectl port-forward, supervised by
 * forward.h) once their release is up, restarted when it gets a new
 * revision, and listed on the status line.
 *
 * Ctrl-C during a pass stops it as `up` does (the executor's handlers:
 * process groups, records kept) and exits 130; between passes fusion exits
 * at once with 0. Either way the forwards are stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/forward.h"
#include "fusion/lock.h"
#include "fusion/provider.h"
#include "fusion/report.h"
#include "fusion/watch.h"

#define SHOWN_PATHS 3		/* paths a terminal line names */
#define JSON_PATHS 1000		/* paths a change event lists */

/* The revision of a release whose ports are forwarded. */
struct forwarded {
	char *name;			/* the service */
	char *revision;
};

struct loop {
	struct fx_opts *o;
	struct fx_up_opts *u;		/* up's options */
	char *path;			/* the catalog */
	struct fx_catalog cat;		/* the last good one */
	struct fx_catalog old;		/* replaced: freed once no session uses it */
	bool have_old;
	struct fx_session s;		/* the last pass's: the watcher uses its rules */
	bool have_session;
	bool synced;			/* this pass declared its sources */
	struct fx_watch *w;
	enum fx_report_mode mode;

	struct fx_strv pending;		/* changed paths waiting for a pass */
	bool lost;			/* changes were lost: the pass checks everything */
	double first, last;		/* when the first and the last of them came */
	double debounce, max_wait;	/* seconds */

	size_t files, services;		/* what the last pass watches */

	struct fx_forwards *fw;		/* the catalog's ports: kubectl port-forward */
	struct fx_strv fwd_ids;		/* declared after the last pass, in order */
	struct forwarded *revs;		/* of the releases forwarded, one each */
	size_t nrevs;
	bool line_shown;		/* the status line is on the terminal */
};

/* ---- what is watched ---- */

static void
add_source(void *ctx, const struct fx_source *src)
{
	struct fx_watch *w = ctx;

	if (src->file)
		watch_file(w, src->path);
	else
		watch_tree(w, src->path, src->ig, src->ig_key);
}

/* session.before_hash: the pass's sources, and the catalog, are what is
 * watched from now on. */
static void
sync_watch(struct fx_session *s, void *ctx)
{
	struct loop *L = ctx;

	watch_exclude(L->w, s->statedir);
	watch_begin(L->w);
	watch_file(L->w, L->path);
	if (L->cat.lock_path)	/* `fusion lock` in another terminal: a new lock */
		watch_file(L->w, L->cat.lock_path);
	rules_each_source(s->g, add_source, L->w);
	watch_end(L->w);
	L->synced = true;
}

static int
cmp_ptr(const void *a, const void *b)
{
	const void *x = *(const void *const *)a, *y = *(const void *const *)b;
	return x < y ? -1 : x > y;
}

struct counting {
	const struct fx_tree **trees;
	size_t n, cap;
	struct fx_strv groups;
};

static void
count_source(void *ctx, const struct fx_source *src)
{
	struct counting *c = ctx;

	if (src->tree) {
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 32;
			c->trees = xreallocarray(c->trees, c->cap, sizeof(*c->trees));
		}
		c->trees[c->n++] = src->tree;
	}
}

/* "watching N files in M services": the files of the distinct sources the
 * last pass hashed, and the catalog entries with a selected node. */
static void
count_watched(struct loop *L)
{
	struct counting c = {0};
	struct fx_graph *g = L->s.g;

	rules_each_source(g, count_source, &c);
	qsort(c.trees, c.n, sizeof(*c.trees), cmp_ptr);
	L->files = 1;	/* the catalog */
	for (size_t i = 0; i < c.n; i++)
		if (i == 0 || c.trees[i] != c.trees[i - 1])
			L->files += c.trees[i]->n;
	for (size_t i = 0; i < g->n; i++)
		if (g->nodes[i]->selected && g->nodes[i]->group &&
		    !strv_has(&c.groups, g->nodes[i]->group))
			strv_push(&c.groups, g->nodes[i]->group);
	L->services = c.groups.n;
	free(c.trees);
	strv_free(&c.groups);
}

/* ---- port-forwards ---- */

static const char *
revision_of(const struct loop *L, const char *name)
{
	for (size_t i = 0; i < L->nrevs; i++)
		if (strcmp(L->revs[i].name, name) == 0)
			return L->revs[i].revision;
	return NULL;
}

static void
revs_free(struct forwarded *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].revision);
	}
	free(v);
}

/* The forward of every port in the catalog whose release is up, started
 * after the first pass that brings it up and restarted when the release
 * gets a new revision (its pods are replaced, and kubectl's forward stays
 * on the old pod: kubernetes/kubectl#686). A release that failed keeps the
 * forward it had: its old pods still serve. */
static void
sync_forwards(struct loop *L)
{
	struct fx_session *s = &L->s;
	struct forwarded *revs = NULL;
	size_t nrevs = 0;

	forwards_reap(L->fw);	/* those that died during the pass */
	strv_free(&L->fwd_ids);
	forwards_begin(L->fw);
	for (size_t i = 0; i < L->cat.nsvcs; i++) {
		const struct fx_svc *svc = &L->cat.svcs[i];
		if (!svc->nports)
			continue;
		struct fx_node *rel = rules_node(s->g, rules_kind_with(FX_ROLE_DEPLOY), svc->name);
		if (!rel || !rel->selected)
			continue;
		bool up = rel->state == FX_FRESH && rel->have_out && rel->out.value;
		const char *was = revision_of(L, svc->name);
		bool moved = up && !(was && strcmp(was, rel->out.value) == 0);
		for (size_t k = 0; k < svc->nports; k++) {
			const struct fx_port *p = &svc->ports[k];
			char *id = xasprintf("localhost:%d -> %s:%d", p->local, svc->name, p->remote);
			if (up || forwards_pid(L->fw, id) >= 0) {
				struct fx_strv argv = {0};
				char *log = xasprintf("%s/logs/port-forward:%s:%d.log", s->statedir,
				    svc->name, p->local);
				rules_forward_argv(&s->cat, svc, p, &argv);
				forwards_want(L->fw, id, strv_argv(&argv), log, moved);
				strv_push(&L->fwd_ids, id);
				strv_free(&argv);
				free(log);
			}
			free(id);
		}
		if (up || was) {	/* not up: remember what runs */
			revs = xreallocarray(revs, nrevs + 1, sizeof(*revs));
			revs[nrevs++] = (struct forwarded){xstrdup(svc->name),
			    xstrdup(up ? rel->out.value : was)};
		}
	}
	forwards_end(L->fw);
	revs_free(L->revs, L->nrevs);
	L->revs = revs;
	L->nrevs = nrevs;
}

/* ---- output ---- */

static const char *
shown_path(struct loop *L, const char *abs)
{
	const char *rel = path_under(abs, L->cat.root);
	return rel && *rel ? rel : abs;
}

static void
clear_status(struct loop *L)
{
	if (L->line_shown) {
		fputs("\r\033[K", stdout);
		fflush(stdout);
		L->line_shown = false;
	}
}

static void
show_watching(struct loop *L)
{
	const char *how = watch_polling(L->w) ? " (polling)" : "";
	struct fx_buf b = {0};

	if (L->mode == FX_REPORT_JSON) {
		buf_printf(&b, "{\"event\":\"watching\",\"files\":%zu,\"services\":%zu,"
		    "\"polling\":%s,\"forwards\":[", L->files, L->services,
		    watch_polling(L->w) ? "true" : "false");
		for (size_t i = 0; i < L->fwd_ids.n; i++) {
			buf_puts(&b, i ? ",{\"forward\":" : "{\"forward\":");
			buf_json_str(&b, L->fwd_ids.v[i]);
			buf_printf(&b, ",\"pid\":%ld}", (long)forwards_pid(L->fw, L->fwd_ids.v[i]));
		}
		buf_puts(&b, "]}\n");
	} else {
		buf_printf(&b, "fusion: watching %zu files in %zu services%s", L->files, L->services,
		    how);
		for (size_t i = 0; i < L->fwd_ids.n; i++)
			buf_printf(&b, "%s%s%s", i ? ", " : "; forwarding ", L->fwd_ids.v[i],
			    forwards_pid(L->fw, L->fwd_ids.v[i]) > 0 ? "" : " (restarting)");
		buf_puts(&b, L->mode == FX_REPORT_TTY ? "; Ctrl-C to stop" : "\n");
		L->line_shown = L->mode == FX_REPORT_TTY;
	}
	fputs(b.s, stdout);
	fflush(stdout);
	buf_free(&b);
}

/* What starts a pass: one change event, or a line naming the first paths. */
static void
show_change(struct loop *L)
{
	struct fx_buf b = {0};
	size_t n = L->pending.n;

	clear_status(L);
	if (L->mode == FX_REPORT_JSON) {
		buf_puts(&b, "{\"event\":\"change\",\"paths\":[");
		for (size_t i = 0; i < n && i < JSON_PATHS; i++) {
			if (i)
				buf_putc(&b, ',');
			buf_json_str(&b, shown_path(L, L->pending.v[i]));
		}
		buf_putc(&b, ']');
		if (n > JSON_PATHS)
			buf_printf(&b, ",\"more\":%zu", n - JSON_PATHS);
		if (L->lost)
			buf_puts(&b, ",\"lost\":true");
		buf_puts(&b, "}\n");
	} else {
		buf_puts(&b, "fusion: changed");
		for (size_t i = 0; i < n && i < SHOWN_PATHS; i++)
			buf_printf(&b, "%s %s", i ? "," : "", shown_path(L, L->pending.v[i]));
		if (n > SHOWN_PATHS)
			buf_printf(&b, " and %zu more", n - SHOWN_PATHS);
		if (L->lost)
			buf_printf(&b, "%s (events were lost: checking everything)", n ? "" : " maybe anything");
		buf_putc(&b, '\n');
	}
	fputs(b.s, stdout);
	fflush(stdout);
	buf_free(&b);
}

/* ---- passes ---- */

/* Reload the catalog after an edit. False, after saying so, if it has
 * errors: the last good one stays. */
static bool
reload(struct loop *L)
{
	struct fx_catalog c;

	clear_status(L);
	if (session_catalog(L->o, L->path, true, true, &c) < 0) {
		fx_warn("%s has errors: keeping the last good catalog until it is fixed",
		    shown_path(L, L->path));
		return false;
	}
	if (L->have_old) {
		/* Reloaded again before a pass used the last one: that one goes,
		 * the one the watcher's session borrows stays. */
		catalog_free(&L->cat);
	} else {
		L->old = L->cat;
		L->have_old = true;
	}
	L->cat = c;
	return true;
}

/* The catalog is among the changes: reload it, and leave it out of them
 * if it cannot be used. */
static void
take_catalog(struct loop *L)
{
	size_t k = 0;
	bool edited = false;

	for (size_t i = 0; i < L->pending.n; i++) {
		if (strcmp(L->pending.v[i], L->path) == 0 ||
		    (L->cat.lock_path && strcmp(L->pending.v[i], L->cat.lock_path) == 0)) {
			edited = true;
			free(L->pending.v[i]);
		} else {
			L->pending.v[k++] = L->pending.v[i];
		}
	}
	L->pending.n = k;
	if (edited && reload(L))
		strv_push(&L->pending, L->path);
}

/* Wait for the lock: its handle, or an exit status (negated). Ctrl-C ends
 * the wait. */
static int
lock_pass(struct loop *L, const char *statedir)
{
	int lock = lock_acquire(statedir, L->u->no_wait, &cmd_stop);

	if (lock == -3)
		return -FX_EXIT_INTERRUPTED;
	if (lock < 0)
		return lock == -2 ? -FX_EXIT_USAGE : -FX_EXIT_FAILED;
	return lock;
}

static int
pass(struct loop *L, bool first)
{
	struct fx_session s;
	int lock = -1;
	int rc = session_from(&s, L->o, L->path, &L->cat);

	s.sel = L->u->sel;
	L->synced = false;
	if (rc == 0)
		rc = session_select(&s);
	if (rc == 0) {
		lock = lock_pass(L, s.statedir);
		rc = lock < 0 ? -lock : 0;
	}
	if (rc == 0) {
		s.before_hash = sync_watch;
		s.before_hash_ctx = L;
		rc = session_state(&s, first && L->u->verify);
	}
	if (rc == 0 && cmd_stop)
		rc = FX_EXIT_INTERRUPTED;
	if (rc == 0)
		rc = up_run(&s, L->o, L->u);
	lock_release(lock);
	if (!L->synced) {
		session_close(&s);
		return rc;
	}
	/* The watcher uses this pass's ignore rules now. */
	if (L->have_session)
		session_close(&L->s);
	L->s = s;
	L->have_session = true;
	if (L->have_old) {
		catalog_free(&L->old);
		L->have_old = false;
	}
	count_watched(L);
	sync_forwards(L);
	return rc;
}

/* ---- waiting ---- */

enum { WAIT_STOP, WAIT_PASS };

/* A child exited (SIGCHLD), or a restart is due: reap and restart the
 * forwards, and say so on the status line if anything changed. */
static void
forward_events(struct loop *L)
{
	pid_t *before = xcalloc(L->fwd_ids.n + 1, sizeof(*before));
	bool changed = false;

	for (size_t i = 0; i < L->fwd_ids.n; i++)
		before[i] = forwards_pid(L->fw, L->fwd_ids.v[i]);
	bool shown = L->line_shown;
	clear_status(L);	/* warnings may follow */
	forwards_reap(L->fw);
	if (forwards_timeout(L->fw) == 0)
		forwards_tick(L->fw);
	for (size_t i = 0; i < L->fwd_ids.n; i++)
		changed |= before[i] != forwards_pid(L->fw, L->fwd_ids.v[i]);
	if (changed || shown)
		show_watching(L);
	free(before);
}

/* Sleep until the pending changes are due for a pass, or a stop. */
static int
wait_changes(struct loop *L)
{
	for (;;) {
		double now = now_mono();
		int timeout = -1;
		if (L->pending.n || L->lost) {
			double quiet = L->last + L->debounce, latest = L->first + L->max_wait;
			double due = quiet < latest ? quiet : latest;
			if (now >= due)
				return WAIT_PASS;
			timeout = ms_until(due);
		}
		int wt = watch_timeout(L->w), ft = forwards_timeout(L->fw);
		if (wt >= 0 && (timeout < 0 || wt < timeout))
			timeout = wt;
		if (ft >= 0 && (timeout < 0 || ft < timeout))
			timeout = ft;
		struct pollfd p[2] = {{cmd_wake_fd(), POLLIN, 0}, {watch_fd(L->w), POLLIN, 0}};
		if (poll(p, p[1].fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR) {
			fx_error("poll: %s", strerror(errno));
			return WAIT_STOP;
		}
		bool woke = cmd_wake_drain();
		if (cmd_stop)
			return WAIT_STOP;
		if (woke || forwards_timeout(L->fw) == 0)
			forward_events(L);
		bool had = L->pending.n || L->lost;
		size_t before = L->pending.n;
		bool lost = watch_read(L->w, &L->pending);
		L->lost |= lost;
		if (L->pending.n > before || lost) {
			L->last = now_mono();
			if (!had)
				L->first = L->last;
		}
	}
}

static void
loop_free(struct loop *L)
{
	forwards_free(L->fw);	/* stops every forward */
	strv_free(&L->fwd_ids);
	revs_free(L->revs, L->nrevs);
	if (L->have_session)
		session_close(&L->s);
	if (L->have_old)
		catalog_free(&L->old);
	catalog_free(&L->cat);
	watch_free(L->w);
	strv_free(&L->pending);
	free(L->path);
}

int
cmd_watch(struct fx_opts *o, struct fx_up_opts *u)
{
	struct loop L = {.o = o, .u = u};

	L.path = catalog_find(o->file);
	if (!L.path)
		return FX_EXIT_USAGE;
	if (session_catalog(o, L.path, true, true, &L.cat) < 0) {
		free(L.path);
		return FX_EXIT_USAGE;
	}
	L.mode = o->json ? FX_REPORT_JSON : isatty(1) ? FX_REPORT_TTY : FX_REPORT_LINES;
	L.debounce = u->debounce_ms / 1000.0;
	L.max_wait = 4 * L.debounce > 2.0 ? 4 * L.debounce : 2.0;
	L.w = watch_new(u->poll_ms);
	L.fw = forwards_new();
	if (cmd_signals_on() < 0) {
		loop_free(&L);
		return FX_EXIT_FAILED;
	}
	int rc = pass(&L, true);
	/* Only the first pass has --force and --verify: later ones run what
	 * changes make stale. */
	u->sel.force = u->verify = false;
	if (!L.have_session)
		goto out;	/* nothing to watch: an unknown service, say */
	while (rc != FX_EXIT_INTERRUPTED) {
		if (L.have_session)
			show_watching(&L);
		if (wait_changes(&L) == WAIT_STOP) {
			rc = FX_EXIT_OK;
			break;
		}
		watch_settle(L.w, &L.pending);
		take_catalog(&L);
		if (!L.pending.n && !L.lost)
			continue;	/* only an invalid catalog, or files that
					 * came and went: nothing to run */
		show_change(&L);
		strv_free(&L.pending);
		L.lost = false;
		rc = pass(&L, false);
	}
out:
	clear_status(&L);
	cmd_signals_off();
	loop_free(&L);
	return rc;
}
