/*
 * cmd_cache.c - `fusion cache stats|gc|clear|export FILE|import FILE`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/lock.h"

static int
stats(struct fx_session *s, bool json)
{
	struct fx_cache_stats st;

	if (cache_stats(s->cache, s->statedir, &st) < 0)
		return -1;
	if (json) {
		struct fx_buf b = {0};
		buf_puts(&b, "{\"path\":");
		buf_json_str(&b, st.path);
		buf_printf(&b, ",\"schema\":%d,\"nodes\":%lld,\"stat_entries\":%lld,\"runs\":%lld,"
		    "\"results\":%lld,\"bytes\":%lld}\n", st.schema, (long long)st.nodes,
		    (long long)st.stat_entries, (long long)st.runs, (long long)st.results, st.bytes);
		fputs(b.s, stdout);
		buf_free(&b);
		return 0;
	}
	printf("database      %s (schema %d)\n", st.path, st.schema);
	printf("size          %.1f KiB\n", (double)st.bytes / 1024);
	printf("nodes         %lld recorded successes\n", (long long)st.nodes);
	printf("stat cache    %lld files\n", (long long)st.stat_entries);
	printf("runs          %lld (%lld node results)\n", (long long)st.runs,
	    (long long)st.results);
	return 0;
}

static int
gc(struct fx_session *s)
{
	const char **live = xcalloc(s->g->n + 1, sizeof(*live));
	struct fx_gc_counts k;

	for (size_t i = 0; i < s->g->n; i++)
		live[i] = s->g->nodes[i]->id;
	int rc = cache_gc(s->cache, live, s->cat.root, 100, &k);
	free(live);
	if (rc == 0 && s->o->json)
		printf("{\"removed\":{\"nodes\":%ld,\"stat_entries\":%ld,\"runs\":%lld}}\n",
		    k.nodes, k.files, (long long)k.runs);
	else if (rc == 0)
		printf("removed %ld node records, %ld stat entries, %lld runs\n", k.nodes, k.files,
		    (long long)k.runs);
	return rc;
}

/* --json: {"cleared":DIR}, {"exported":N,"file":F}, {"imported":N,"file":F}. */
static void
said(const char *what, const char *path, int n)
{
	struct fx_buf b = {0};

	buf_printf(&b, "{\"%s\":", what);
	if (n < 0) {
		buf_json_str(&b, path);
	} else {
		buf_printf(&b, "%d,\"file\":", n);
		buf_json_str(&b, path);
	}
	buf_puts(&b, "}\n");
	fputs(b.s, stdout);
	buf_free(&b);
}

static int
move_records(struct fx_session *s, const char *sub, const char *file)
{
	int n = 0;

	if (strcmp(sub, "export") == 0) {
		if (cache_export(s->cache, file, &n) < 0)
			return FX_EXIT_FAILED;
		if (s->o->json)
			said("exported", file, n);
		else
			printf("exported %d node record%s to %s\n", n, n == 1 ? "" : "s", file);
	} else {
		int rc = cache_import(s->cache, file, &n, &cmd_stop);
		if (rc == -3 || cmd_stop)
			return FX_EXIT_INTERRUPTED;
		if (rc < 0)
			return FX_EXIT_FAILED;
		if (s->o->json)
			said("imported", file, n);
		else
			printf("imported %d node record%s from %s\n", n, n == 1 ? "" : "s", file);
	}
	return 0;
}

static int
cmd_cache(struct fx_opts *o, void *unused)
{
	struct fx_session s;
	const char *sub = o->nargs ? o->args[0] : "";
	bool moves = strcmp(sub, "export") == 0 || strcmp(sub, "import") == 0;
	int lock = -1;

	if (strcmp(sub, "stats") && strcmp(sub, "gc") && strcmp(sub, "clear") && !moves) {
		fx_error("usage: fusion cache stats|gc|clear|export FILE|import FILE");
		return FX_EXIT_USAGE;
	}
	if (o->nargs != (moves ? 2 : 1)) {
		fx_error(moves ? "usage: fusion cache %s FILE" : "usage: fusion cache %s", sub);
		return FX_EXIT_USAGE;
	}
	bool clear = strcmp(sub, "clear") == 0;
	/* An import waits for the lock and reads a file of any size: a
	 * signal ends it, changing nothing (130). */
	bool importing = strcmp(sub, "import") == 0;
	if (importing && cmd_signals_on() < 0)
		return FX_EXIT_FAILED;
	int rc = session_open(&s, o);
	if (rc == 0 && strcmp(sub, "stats") != 0 && strcmp(sub, "export") != 0) {
		lock = lock_acquire(s.statedir, false, &cmd_stop);
		if (lock == -3 || (lock < 0 && cmd_stop))
			rc = FX_EXIT_INTERRUPTED;
		else if (lock < 0)
			rc = FX_EXIT_FAILED;
	}
	/* clear never opens the database: it must work on one that cannot be
	 * opened (damaged, from a newer fusion). */
	if (rc == 0 && clear) {
		rc = cache_remove(s.statedir) < 0 ? FX_EXIT_FAILED : 0;
		if (rc == 0 && o->json)
			said("cleared", s.statedir, -1);
		else if (rc == 0)
			printf("cleared %s\n", s.statedir);
	} else if (rc == 0 && !(s.cache = cache_open(s.statedir))) {
		rc = FX_EXIT_FAILED;
	} else if (rc == 0) {
		if (moves)
			rc = move_records(&s, sub, o->args[1]);
		else if (strcmp(sub, "stats") == 0)
			rc = stats(&s, o->json) < 0 ? FX_EXIT_FAILED : 0;
		else
			rc = gc(&s) < 0 ? FX_EXIT_FAILED : 0;
	}
	lock_release(lock);
	session_close(&s);
	if (importing)
		cmd_signals_off();
	return rc;
}

const struct fx_command fx_cmd_cache = {
	.name = "cache",
	.usage = "cache stats|gc|clear|export FILE|import FILE",
	.about = "The state database: stats, gc (drop records of what no longer exists), clear;\n"
	    "export FILE / import FILE move the node records (not the stat cache) between\n"
	    "machines, for CI systems that keep a directory instead of a shared cache.\n",
	.json = "stats: {\"path\",\"schema\",\"nodes\",...}; gc: {\"removed\":{...}};\n"
	    "clear: {\"cleared\":DIR}; export, import: {\"exported\"|\"imported\":N,\"file\":FILE}",
	.run = cmd_cache,
};
