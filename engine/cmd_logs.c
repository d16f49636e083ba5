/*
 * cmd_logs.c - `fusion logs SVC [-f]`: the logs of the pods of SVC's
 * release, through kubectl, each line prefixed with its pod and container
 * ([pod/core-api-7d9f8-x2x7q/core-api] ...).
 *
 * The pods are those the release's workloads select (rules/pods.c); one
 * kubectl per distinct selector. With -f, kubectl follows the pods there
 * are; when they go (a new release rolled them) its streams end, and it
 * would not follow their successors (kubernetes/kubernetes#52218): fusion
 * starts it again, from the moment the last one ended (--since-time), so
 * the new pods are followed from their first line and nothing is shown
 * twice. Ctrl-C stops it (exit 130).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/forward.h"
#include "fusion/proc.h"

/* Now, as RFC 3339 in UTC (kubectl's --since-time). */
static char *
rfc3339_now(void)
{
	char buf[64];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(buf);
}

/* Every selector's kubectl logs once, in turn: 0 if all succeeded. */
static int
logs_once(struct fx_session *s, const struct fx_strv *sels)
{
	int rc = FX_EXIT_OK;

	for (size_t i = 0; i < sels->n; i++) {
		struct fx_strv argv = {0};
		struct fx_buf msg = {0};
		rules_logs_argv(&s->cat, sels->v[i], false, NULL, &argv);
		fflush(stdout);
		pid_t pid = proc_start(strv_argv(&argv), 1, 2, &msg);
		if (pid < 0) {
			fx_error("%s", msg.s);
			rc = FX_EXIT_FAILED;
		} else if (proc_wait(pid) != 0) {
			rc = FX_EXIT_FAILED;
		}
		strv_free(&argv);
		buf_free(&msg);
	}
	return rc;
}

/* Declare the followers: a kubectl per selector, from since[i] if set. */
static void
declare(struct fx_session *s, struct fx_forwards *fw, const struct fx_strv *sels,
    char **since, char **ids)
{
	forwards_begin(fw);
	for (size_t i = 0; i < sels->n; i++) {
		struct fx_strv argv = {0};
		rules_logs_argv(&s->cat, sels->v[i], true, since[i], &argv);
		forwards_want(fw, ids[i], strv_argv(&argv), NULL, false);
		strv_free(&argv);
	}
	forwards_end(fw);
}

static int
logs_follow(struct fx_session *s, const struct fx_strv *sels)
{
	struct fx_forwards *fw = forwards_new();
	char **since = xcalloc(sels->n + 1, sizeof(*since));
	char **ids = xcalloc(sels->n + 1, sizeof(*ids));
	int rc = FX_EXIT_INTERRUPTED;

	for (size_t i = 0; i < sels->n; i++)
		ids[i] = xasprintf("kubectl logs -l %s", sels->v[i]);
	if (cmd_signals_on() < 0)
		rc = FX_EXIT_FAILED;
	fflush(stdout);
	if (rc == FX_EXIT_INTERRUPTED)
		declare(s, fw, sels, since, ids);
	while (rc == FX_EXIT_INTERRUPTED && !cmd_stop) {
		struct pollfd p = {cmd_wake_fd(), POLLIN, 0};
		if (poll(&p, 1, forwards_timeout(fw)) < 0 && errno != EINTR) {
			fx_error("poll: %s", strerror(errno));
			rc = FX_EXIT_FAILED;
			break;
		}
		cmd_wake_drain();
		if (cmd_stop)
			break;
		bool ended = false;
		pid_t *before = xcalloc(sels->n + 1, sizeof(*before));
		for (size_t i = 0; i < sels->n; i++)
			before[i] = forwards_pid(fw, ids[i]);
		forwards_reap(fw);
		for (size_t i = 0; i < sels->n; i++) {
			if (before[i] > 0 && forwards_pid(fw, ids[i]) == 0) {
				/* it goes on from the moment its pods went */
				free(since[i]);
				since[i] = rfc3339_now();
				ended = true;
			}
		}
		free(before);
		if (ended)
			declare(s, fw, sels, since, ids);
		forwards_tick(fw);
	}
	forwards_free(fw);
	cmd_signals_off();
	for (size_t i = 0; i < sels->n; i++) {
		free(since[i]);
		free(ids[i]);
	}
	free(since);
	free(ids);
	return rc;
}

int
cmd_logs(struct fx_opts *o)
{
	struct fx_session s;
	struct fx_strv sels = {0};

	if (o->nargs != 1) {
		fx_error("logs: name one service or shared release (fusion logs SVC [-f])");
		return FX_EXIT_USAGE;
	}
	int rc = session_open(&s, o);
	const struct fx_svc *svc = rc == 0 ? catalog_svc(&s.cat, o->args[0]) : NULL;
	if (rc == 0 && !svc) {
		fx_error("%s: no service or shared release named \"%s\"", s.catalog_path, o->args[0]);
		rc = FX_EXIT_USAGE;
	}
	if (rc == 0) {
		rules_selectors(&s.rules, svc, &sels);
		rc = o->follow ? logs_follow(&s, &sels) : logs_once(&s, &sels);
	}
	strv_free(&sels);
	session_close(&s);
	return rc;
}
