/*
 * cmd_cache.c - `fusion cache stats|gc|clear`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/lock.h"

static int
gc(struct fx_session *s)
{
	const char **live = xcalloc(s->g->n + 1, sizeof(*live));

	for (size_t i = 0; i < s->g->n; i++)
		live[i] = s->g->nodes[i]->id;
	int rc = cache_gc(s->cache, live, s->cat.root, 100);
	free(live);
	return rc;
}

int
cmd_cache(struct fx_opts *o)
{
	struct fx_session s;
	const char *sub = o->nargs ? o->args[0] : "";
	int lock = -1;

	if (strcmp(sub, "export") == 0 || strcmp(sub, "import") == 0) {
		fx_error("cache %s is not built yet (it comes with the shared cache)", sub);
		return FX_EXIT_USAGE;
	}
	if (strcmp(sub, "stats") && strcmp(sub, "gc") && strcmp(sub, "clear")) {
		fx_error("usage: fusion cache stats|gc|clear");
		return FX_EXIT_USAGE;
	}
	int rc = session_open(&s, o);
	if (rc == 0 && strcmp(sub, "stats") != 0) {
		lock = lock_acquire(s.statedir, o->no_wait);
		if (lock < 0)
			rc = FX_EXIT_FAILED;
	}
	if (rc == 0 && !(s.cache = cache_open(s.statedir)))
		rc = FX_EXIT_FAILED;
	if (rc == 0) {
		if (strcmp(sub, "stats") == 0)
			rc = cache_stats(s.cache, s.statedir, o->json) < 0 ? FX_EXIT_FAILED : 0;
		else if (strcmp(sub, "clear") == 0)
			rc = cache_clear(s.cache) < 0 ? FX_EXIT_FAILED : 0;
		else
			rc = gc(&s) < 0 ? FX_EXIT_FAILED : 0;
		if (rc == 0 && strcmp(sub, "clear") == 0)
			printf("cleared %s\n", s.statedir);
	}
	lock_release(lock);
	session_close(&s);
	return rc;
}
