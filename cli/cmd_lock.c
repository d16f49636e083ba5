/*
 * cmd_lock.c - `fusion lock [--update] [NAME...]`: resolve the pins of the
 * charts the catalog takes from repositories and registries, and write the
 * lock file beside the catalog (catalog.h).
 *
 * Without --update only what is not locked is resolved: a new chart, a
 * changed pin or source; what the lock holds stays as it is. With
 * --update, NAME... (default: every such chart) is resolved again, so a
 * range moves to the newest version it admits and an exact version takes
 * the archive published under it now. Each resolution is one helm pull
 * (rules/fetch.c) into the chart cache, whose digest is recorded; entries
 * that share a chart and a pin are resolved once. The lock keeps the
 * charts of the catalog only: one whose entry is gone is dropped.
 *
 * `fusion up` never writes the lock: a chart that is not locked is a
 * catalog error there, and a digest that no longer matches is a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/provider.h"

struct lock_opts {
	bool update;
};

static bool
named(const struct fx_opts *o, const char *name)
{
	for (int i = 0; i < o->nargs; i++)
		if (strcmp(o->args[i], name) == 0)
			return true;
	return false;
}

/* Each NAME is an entry whose chart comes from a repository or a registry.
 * Returns 0 or FX_EXIT_USAGE after reporting. */
static int
check_names(const struct fx_catalog *c, const struct fx_opts *o)
{
	const char **names = xcalloc(c->nsvcs + 1, sizeof(*names));
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < c->nsvcs; i++)
		if (c->svcs[i].chart_url)
			names[n++] = c->svcs[i].name;
	for (int i = 0; i < o->nargs; i++) {
		const struct fx_svc *s = catalog_svc(c, o->args[i]);
		if (s && s->chart_url)
			continue;
		const char *m = str_closest(o->args[i], names, n);
		fx_error("lock: %s \"%s\" has no chart from a repository or a registry%s%s%s",
		    s ? "entry" : "no entry named", o->args[i], m ? " (did you mean " : "",
		    m ? m : "", m ? "?)" : "");
		rc = FX_EXIT_USAGE;
	}
	free(names);
	return rc;
}

/* An entry before s resolved for the same chart and pin, or NULL. */
static const struct fx_svc *
same_before(const struct fx_catalog *c, const struct fx_svc *s, const bool *done)
{
	for (const struct fx_svc *t = c->svcs; t < s; t++)
		if (done[t - c->svcs] && t->chart_oci == s->chart_oci &&
		    strcmp(t->chart_url, s->chart_url) == 0 &&
		    strcmp(t->chart_name, s->chart_name) == 0 && strcmp(t->chart_pin, s->chart_pin) == 0)
			return t;
	return NULL;
}

static void
say(const struct fx_opts *o, const struct fx_svc *s, const char *result, const char *old,
    const char *err)
{
	struct fx_buf said = {0}, b = {0};

	rules_chart_said(s, &said);
	if (o->json) {
		buf_puts(&b, "{\"name\":");
		buf_json_str(&b, s->name);
		buf_puts(&b, ",\"chart\":");
		buf_json_str(&b, said.s);
		buf_puts(&b, ",\"pin\":");
		buf_json_str(&b, s->chart_pin);
		buf_puts(&b, ",\"version\":");
		buf_json_str(&b, s->chart_version ? s->chart_version : "");
		buf_puts(&b, ",\"digest\":");
		buf_json_str(&b, s->chart_digest ? s->chart_digest : "");
		buf_printf(&b, ",\"result\":\"%s\"}\n", result);
		fputs(b.s, stdout);
	} else if (err) {
		fx_error("lock: %s: %s %s: %s", s->name, said.s, s->chart_pin, err);
	} else {
		buf_printf(&b, "%s: %s %s: %s ", s->name, said.s, s->chart_pin, result);
		if (old && strcmp(old, s->chart_version) != 0)
			buf_printf(&b, "%s -> ", old);
		buf_printf(&b, "%s (%.19s)\n", s->chart_version, s->chart_digest);
		fputs(b.s, stdout);
	}
	if (o->json && err)
		fx_error("lock: %s: %s %s: %s", s->name, said.s, s->chart_pin, err);
	buf_free(&said);
	buf_free(&b);
}

/* Resolve s (or take what an entry of the same chart and pin got). */
static bool
resolve(struct fx_catalog *c, const struct fx_opts *o, struct fx_svc *s, const bool *done)
{
	const struct fx_svc *twin = same_before(c, s, done);
	char *old = s->chart_version ? xstrdup(s->chart_version) : NULL;
	bool was = s->chart_digest != NULL;
	char *version = NULL, *digest = NULL;
	struct fx_buf msg = {0};
	bool ok = true;

	if (twin && twin->chart_digest) {
		version = xstrdup(twin->chart_version);
		digest = xstrdup(twin->chart_digest);
	} else if (rules_chart_resolve(s, &version, &digest, &msg) < 0) {
		ok = false;
	}
	if (ok) {
		free(s->chart_version);
		free(s->chart_digest);
		s->chart_version = version;
		s->chart_digest = digest;
		bool same = was && strcmp(old, version) == 0;
		say(o, s, !was ? "locked" : same ? "unchanged" : "updated", old, NULL);
	} else {
		say(o, s, "failed", NULL, msg.s ? msg.s : "failed");
	}
	buf_free(&msg);
	free(old);
	return ok;
}

static int
cmd_lock(struct fx_opts *o, void *opts)
{
	const struct lock_opts *lo = opts;
	struct fx_catalog cat;
	char *path = catalog_find(o->file);
	int rc = 0, nremote = 0;

	/* Only the charts count: a repo not cloned yet does not stop it. */
	if (!path || provider_load_catalog(path, false, &cat) < 0) {
		free(path);
		return FX_EXIT_USAGE;
	}
	free(path);
	if ((rc = check_names(&cat, o)) != 0) {
		catalog_free(&cat);
		return rc;
	}
	bool *done = xcalloc(cat.nsvcs + 1, sizeof(*done));
	for (size_t i = 0; i < cat.nsvcs; i++) {
		struct fx_svc *s = &cat.svcs[i];
		if (!s->chart_url)
			continue;
		nremote++;
		bool asked = o->nargs == 0 || named(o, s->name);
		if (s->chart_digest && !(lo->update && asked)) {
			if (asked)
				say(o, s, "unchanged", NULL, NULL);
			continue;
		}
		if (!asked && !s->chart_digest)
			continue;	/* not asked for: it stays unlocked */
		if (!resolve(&cat, o, s, done))
			rc = FX_EXIT_FAILED;
		done[i] = true;
	}
	free(done);
	if (nremote == 0)
		fprintf(o->json ? stderr : stdout, "lock: no chart comes from a repository or a "
		    "registry: nothing to lock\n");
	if (nremote && catalog_lock_write(&cat) < 0)
		rc = FX_EXIT_FAILED;
	catalog_free(&cat);
	return rc;
}

static const struct fx_option options[] = {
	FX_BOOL("update", struct lock_opts, update,
	    "resolve NAME... (default: every chart) again, locked or not"),
	FX_OPT_END,
};

const struct fx_command fx_cmd_lock = {
	.name = "lock",
	.usage = "lock [--update] [NAME...]",
	.about = "Resolve the versions of the charts the catalog takes from repositories and\n"
	    "registries (`chart: oci://...` or `chart: {repo: URL, name: NAME}`, with\n"
	    "`version:`), fetch each once into the chart cache, and write the version and\n"
	    "the archive's SHA-256 digest each resolved to into the lock file beside the\n"
	    "catalog (CATALOG.lock; commit it). Only what is not locked yet is resolved (a\n"
	    "new chart, a changed pin or source); --update resolves NAME... (default: all)\n"
	    "again, so a range moves to the newest version it admits. `fusion up` never\n"
	    "changes the lock. Credentials are helm's own (helm registry login).\n",
	.options = options,
	.size = sizeof(struct lock_opts),
	.json = "one object per chart: {\"name\",\"chart\",\"pin\",\"version\",\"digest\","
	    "\"result\":\"locked|updated|unchanged|failed\"}",
	.run = cmd_lock,
};
