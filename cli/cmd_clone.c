/*
 * cmd_clone.c - `fusion clone [SVC...] [--fetch]`: get the sibling repos.
 *
 * Every service with `git:` (or those named) whose repo is missing is
 * cloned: `git clone URL REPO`, -j at a time, one line per repo as each
 * finishes. A repo that exists is left alone; with --fetch it is fetched
 * (`git fetch --prune`), and fast-forwarded to its upstream only when its
 * work tree is clean and the branch has not diverged: fusion never touches
 * uncommitted work. Several services may share a repo (a monorepo): it is
 * cloned once.
 *
 * git never prompts (GIT_TERMINAL_PROMPT=0, stdin is /dev/null): a repo
 * that needs credentials fails with git's message instead of hanging. git
 * may use only the transports a catalog may name (GIT_ALLOW_PROTOCOL:
 * https, ssh, git, file; never a user-defined one such as "fd::" or
 * "ext::", which runs what the URL says), and the whole command has a time
 * limit (FUSION_CLONE_TIMEOUT seconds, default 600): git is stopped there
 * and each unfinished repo fails. SIGINT or SIGTERM stops the gits (TERM,
 * then KILL) and exits 130. A clone that fails or is stopped removes the
 * directory it made.
 */
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/proc.h"
#include "fusion/provider.h"

struct repo {
	const struct fx_svc *svc;	/* the first service naming it */
	char *line;			/* the progress line, once done */
	bool failed;
};

struct clone {
	const struct fx_catalog *cat;
	struct repo *v;
	size_t n, next, done;
	size_t exited;			/* workers that returned */
	bool fetch;
	bool json;
	pthread_mutex_t mu;
};

/* The time limit: the whole command's, in seconds. */
#define CLONE_TIMEOUT_S 600
static volatile sig_atomic_t timed_out;

struct clone_opts {
	bool fetch;
};

/* --json: {"service","repo","result":"cloned|fetched|exists|failed",
 * "text"}, the text being the line shown without --json. */
static void
print_json(const struct repo *r, const char *result, const char *line)
{
	struct fx_buf b = {0};

	buf_puts(&b, "{\"service\":");
	buf_json_str(&b, r->svc->name);
	buf_puts(&b, ",\"repo\":");
	buf_json_str(&b, r->svc->repo);
	buf_printf(&b, ",\"result\":\"%s\",\"text\":", result);
	buf_json_str(&b, line);
	buf_puts(&b, "}\n");
	fputs(b.s, stdout);
	buf_free(&b);
}

/* git ARGS... in `dir` (NULL: here); stdout to *out, a one-line reason to
 * *why on failure. */
static int
git(const char *dir, struct fx_buf *out, char **why, const char *const *args)
{
	struct fx_strv a = {0};
	struct fx_buf err = {0};

	strv_push(&a, "git");
	if (dir) {
		strv_push(&a, "-C");
		strv_push(&a, dir);
	}
	for (; *args; args++)
		strv_push(&a, *args);
	int st = proc_run(strv_argv(&a), out, &err);
	if (st != 0 && why) {
		/* git's last line says what went wrong ("fatal: ..."). */
		while (err.len && strchr("\r\n", err.s[err.len - 1]))
			err.s[--err.len] = '\0';
		const char *l = err.len ? strrchr(err.s, '\n') : NULL;
		*why = xstrdup(l ? l + 1 : err.len ? err.s : "git failed");
	}
	strv_free(&a);
	buf_free(&err);
	return st;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* What a clone that did not finish left: gone, so that the next `clone`
 * tries again rather than finding a broken repo that "exists". */
static void
remove_made(const char *dir)
{
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		fx_warn("%s: cannot remove what the failed clone left: %s", dir, strerror(errno));
}

static char *
do_clone(const struct fx_svc *s, bool *failed)
{
	char *why = NULL, *line;
	const char *args[] = {"clone", "--quiet", "--", s->git, s->repo, NULL};
	int st = git(NULL, NULL, &why, args);

	if (st == 0) {
		line = xasprintf("cloned %s", s->name);
	} else {
		if (timed_out)
			line = xasprintf("FAILED %s: stopped after %s s (the time limit: "
			    "FUSION_CLONE_TIMEOUT)", s->name, getenv("FUSION_CLONE_TIMEOUT") ?
			    getenv("FUSION_CLONE_TIMEOUT") : "600");
		else
			line = xasprintf("FAILED %s: %s", s->name, why);
		*failed = true;
		remove_made(s->repo);
	}
	free(why);
	return line;
}

/* Count of lines in a command's output (commits behind, changed files). */
static int
count_lines(const struct fx_buf *b)
{
	int n = 0;
	for (size_t i = 0; i < b->len; i++)
		n += b->s[i] == '\n';
	return n;
}

static char *
do_fetch(const struct fx_svc *s, bool *failed)
{
	struct fx_buf out = {0};
	char *why = NULL, *line;
	const char *fetch[] = {"fetch", "--quiet", "--prune", NULL};
	const char *status[] = {"status", "--porcelain", "--untracked-files=no", NULL};
	const char *behind[] = {"rev-list", "HEAD..@{upstream}", NULL};
	const char *ahead[] = {"rev-list", "@{upstream}..HEAD", NULL};
	const char *merge[] = {"merge", "--ff-only", "--quiet", "@{upstream}", NULL};

	if (git(s->repo, NULL, &why, fetch) != 0) {
		*failed = true;
		line = xasprintf("FAILED %s: %s", s->name, why);
	} else if (git(s->repo, &out, NULL, behind) != 0) {
		line = xasprintf("fetched %s (its branch has no upstream: left as it is)", s->name);
	} else if (count_lines(&out) == 0) {
		line = xasprintf("fetched %s (up to date)", s->name);
	} else {
		int n = count_lines(&out);
		buf_reset(&out);
		if (git(s->repo, &out, NULL, status) != 0 || out.len) {
			line = xasprintf("fetched %s (%d new commit%s; work tree has changes: left as it "
			    "is)", s->name, n, n == 1 ? "" : "s");
		} else if (buf_reset(&out), git(s->repo, &out, NULL, ahead) != 0 || out.len) {
			line = xasprintf("fetched %s (its branch and upstream have diverged: left as it "
			    "is)", s->name);
		} else if (git(s->repo, NULL, &why, merge) != 0) {
			*failed = true;
			line = xasprintf("FAILED %s: %s", s->name, why);
		} else {
			line = xasprintf("fetched %s (fast-forwarded %d commit%s)", s->name, n,
			    n == 1 ? "" : "s");
		}
	}
	free(why);
	buf_free(&out);
	return line;
}

static void *
worker(void *arg)
{
	struct clone *c = arg;

	for (;;) {
		pthread_mutex_lock(&c->mu);
		size_t i = c->next < c->n && !cmd_stop ? c->next++ : c->n;
		if (i == c->n)
			c->exited++;
		pthread_mutex_unlock(&c->mu);
		if (i == c->n)
			return NULL;
		struct repo *r = &c->v[i];
		struct stat st;
		bool exists = stat(r->svc->repo, &st) == 0;
		char *line = !exists ? do_clone(r->svc, &r->failed) :
		    c->fetch ? do_fetch(r->svc, &r->failed) :
		    xasprintf("%s exists (--fetch updates it)", r->svc->name);
		pthread_mutex_lock(&c->mu);
		c->done++;
		if (c->json)
			print_json(r, r->failed ? "failed" : !exists ? "cloned" : c->fetch ? "fetched" :
			    "exists", line);
		else
			printf("[%zu/%zu] %s\n", c->done, c->n, line);
		fflush(stdout);
		pthread_mutex_unlock(&c->mu);
		free(line);
	}
}

/* The repos to work on, in catalog order, each once. Returns 0 or
 * FX_EXIT_USAGE after reporting. */
static int
pick(struct clone *c, struct fx_opts *o)
{
	const struct fx_catalog *cat = c->cat;
	int rc = 0;

	c->v = xcalloc(cat->nsvcs + 1, sizeof *c->v);
	for (int i = 0; i < o->nargs; i++) {
		const struct fx_svc *s = catalog_svc(cat, o->args[i]);
		if (!s || s->shared) {
			const char **names = xcalloc(cat->nsvcs + 1, sizeof(*names));
			size_t n = 0;
			for (size_t k = 0; k < cat->nsvcs; k++)
				if (!cat->svcs[k].shared)
					names[n++] = cat->svcs[k].name;
			const char *m = str_closest(o->args[i], names, n);
			fx_error("clone: no service named \"%s\"%s%s%s", o->args[i],
			    m ? " (did you mean " : "", m ? m : "", m ? "?)" : "");
			free(names);
			rc = FX_EXIT_USAGE;
		} else if (!s->git) {
			fx_error_at(s->loc, "clone: service \"%s\" has no \"git\" URL", s->name);
			rc = FX_EXIT_USAGE;
		}
	}
	for (size_t i = 0; rc == 0 && i < cat->nsvcs; i++) {
		const struct fx_svc *s = &cat->svcs[i];
		bool named = o->nargs == 0;
		for (int k = 0; k < o->nargs && !named; k++)
			named = strcmp(o->args[k], s->name) == 0;
		bool seen = false;
		for (size_t k = 0; k < c->n && !seen; k++)
			seen = strcmp(c->v[k].svc->repo, s->repo) == 0;
		if (named && s->git && !s->shared && !seen)
			c->v[c->n++].svc = s;
	}
	return rc;
}

/* Has every worker returned? */
static bool
all_exited(struct clone *c, size_t started)
{
	pthread_mutex_lock(&c->mu);
	bool yes = c->exited >= started;
	pthread_mutex_unlock(&c->mu);
	return yes;
}

/* The time limit from FUSION_CLONE_TIMEOUT, in seconds. */
static double
limit_s(void)
{
	const char *env = getenv("FUSION_CLONE_TIMEOUT");
	char *end;
	long long s = env ? strtoll(env, &end, 10) : CLONE_TIMEOUT_S;

	if (env && (*end || s <= 0))
		s = CLONE_TIMEOUT_S;
	return (double)s;
}

/*
 * The workers run the gits (proc_run, which stops its git once cmd_stop is
 * set); this thread keeps the time limit. A signal reaches one thread only
 * (proc_run's wait ends only for its own): on a stop, each worker is sent
 * one, so that its wait ends and it stops its git.
 */
static int
run_workers(struct clone *c, struct fx_opts *o)
{
	size_t jobs = o->jobs ? (size_t)o->jobs : c->cat->jobs ? (size_t)c->cat->jobs : 4;
	int rc = 0;

	setenv("GIT_TERMINAL_PROMPT", "0", 1);
	setenv("GIT_ALLOW_PROTOCOL", "https:ssh:git:file", 1);
	if (jobs > c->n)
		jobs = c->n;
	pthread_t *t = xcalloc(jobs, sizeof *t);
	pthread_mutex_init(&c->mu, NULL);
	timed_out = 0;
	proc_interrupt_on(&cmd_stop, 2000);
	size_t started = 0;
	while (started < jobs && pthread_create(&t[started], NULL, worker, c) == 0)
		started++;
	if (started == 0)
		worker(c);	/* no thread at all: this one works */
	double deadline = now_mono() + limit_s();
	bool told = false;
	while (started && !all_exited(c, started)) {
		struct pollfd p = {cmd_wake_fd(), POLLIN, 0};
		int left = cmd_stop ? 100 : ms_until(deadline);
		poll(&p, 1, left > 100 ? 100 : left);
		cmd_wake_drain();
		if (!cmd_stop && ms_until(deadline) == 0) {
			timed_out = 1;
			cmd_stop = SIGALRM;
		}
		if (cmd_stop && !told) {
			for (size_t i = 0; i < started; i++)
				pthread_kill(t[i], SIGHUP == cmd_stop ? SIGHUP : SIGTERM);
			told = true;
		}
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	proc_interrupt_on(NULL, 0);
	pthread_mutex_destroy(&c->mu);
	free(t);
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].failed)
			rc = FX_EXIT_FAILED;
	if (cmd_stop && !timed_out)
		rc = FX_EXIT_INTERRUPTED;
	return rc;
}

static int
cmd_clone(struct fx_opts *o, void *opts)
{
	const struct clone_opts *co = opts;
	struct fx_catalog cat;
	struct clone c = {.cat = &cat, .fetch = co->fetch, .json = o->json};
	char *path = catalog_find(o->file);

	/* The repos may be missing: that is what clone is for. */
	if (!path || session_catalog(o, path, false, false, &cat) < 0) {
		free(path);
		return FX_EXIT_USAGE;
	}
	free(path);
	int rc = pick(&c, o);
	if (rc == 0 && c.n == 0)
		fprintf(o->json ? stderr : stdout, "clone: no service has a \"git\" URL\n");
	if (rc == 0 && c.n && cmd_signals_on() < 0)
		rc = FX_EXIT_FAILED;
	else if (rc == 0 && c.n) {
		rc = run_workers(&c, o);
		cmd_signals_off();
	}
	free(c.v);
	catalog_free(&cat);
	return rc;
}

static const struct fx_option options[] = {
	FX_BOOL("fetch", struct clone_opts, fetch,
	    "git fetch the existing ones (never touching their work trees)"),
	FX_OPT_END,
};

const struct fx_command fx_cmd_clone = {
	.name = "clone",
	.usage = "clone [SVC...] [--fetch]",
	.about = "Clone the repos of SVC (default: every service with `git:`) that are missing,\n"
	    "in parallel (-j), one line per repo. Existing repos are left alone.\n",
	.options = options,
	.size = sizeof(struct clone_opts),
	.json = "one object per repo: {\"service\",\"repo\",\"result\":\"cloned|fetched|exists|failed\",\"text\"}",
	.run = cmd_clone,
};
