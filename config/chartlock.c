/*
 * chartlock.c - the lock file beside the catalog (catalog.h): for each
 * entry whose chart comes from a repository or a registry, the version
 * its pin resolved to and the archive's digest, as `fusion lock` wrote
 * them. Read when the catalog is loaded, written by `fusion lock`.
 *
 * It is YAML, as the catalog is, so a review reads it (as Chart.lock):
 *
 *   version: 1
 *   charts:
 *     redis:
 *       chart: oci://registry.example/charts/redis
 *       pin: "^19.6"
 *       version: "19.6.4"
 *       digest: sha256:...
 *
 * (an HTTP(S) repository's chart has `repo:` and `name:` for `chart:`).
 * An entry counts for a catalog entry of its name only when it was
 * resolved for the same chart and the same pin: a changed pin is not
 * locked until `fusion lock` resolves it again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/* One chart of the lock file, as read. */
struct cfg_lockent {
	const char *name, *chart, *repo, *rname, *pin, *version, *digest;
};

/* "sha256:" and 64 lowercase hex digits. */
static bool
digest_ok(const char *d)
{
	if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
		return false;
	for (d += 7; *d; d++)
		if (!((*d >= '0' && *d <= '9') || (*d >= 'a' && *d <= 'f')))
			return false;
	return true;
}

/* A scalar's text, or NULL after reporting. */
static const char *
text_of(struct cfg_report *rep, const struct ynode *v, const char *key)
{
	const char *s = cfg_ytext(v);

	if (!s || cfg_ynull(v) || !*s) {
		cfg_rep_error(rep, v->line, v->col, "\"%s\" must be a non-empty string", key);
		return NULL;
	}
	return s;
}

/* One entry `name: {chart|repo+name, pin, version, digest}`. */
static bool
read_entry(struct cfg_report *rep, const struct ynode *k, const struct ynode *v,
    struct cfg_lockent *e)
{
	static const char *const keys[] = {"chart", "repo", "name", "pin", "version", "digest"};
	const char **field[] = {&e->chart, &e->repo, &e->rname, &e->pin, &e->version, &e->digest};
	const struct ynode *m = cfg_yderef(v);

	*e = (struct cfg_lockent){.name = cfg_ytext(k)};
	if (m->type != Y_MAP) {
		cfg_rep_error(rep, v->line, v->col, "chart \"%s\" must be a mapping", e->name);
		return false;
	}
	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *mk = m->u.kids[i], *mv = m->u.kids[i + 1];
		const char *key = cfg_ytext(mk);
		size_t j = 0;
		while (j < FX_NELEM(keys) && (!key || strcmp(key, keys[j]) != 0))
			j++;
		if (j == FX_NELEM(keys)) {
			cfg_rep_error(rep, mk->line, mk->col, "unknown key \"%s\" in chart \"%s\"",
			    key ? key : "", e->name);
			return false;
		}
		if (!(*field[j] = text_of(rep, mv, keys[j])))
			return false;
	}
	const char *missing = !e->pin ? "pin" : !e->version ? "version" : !e->digest ? "digest" :
	    !e->chart && !(e->repo && e->rname) ? "chart (or repo and name)" : NULL;
	if (missing) {
		cfg_rep_error(rep, v->line, v->col, "chart \"%s\" has no %s", e->name, missing);
		return false;
	}
	if (!digest_ok(e->digest)) {
		cfg_rep_error(rep, v->line, v->col, "chart \"%s\": digest \"%s\" is not sha256: and "
		    "64 lowercase hex digits", e->name, e->digest);
		return false;
	}
	return true;
}

/* Was e resolved for s's chart and pin? */
static bool
matches(const struct cfg_lockent *e, const struct fx_svc *s)
{
	if (strcmp(e->pin, s->chart_pin) != 0)
		return false;
	if (s->chart_oci)
		return e->chart && strcmp(e->chart, s->chart_url) == 0;
	return e->repo && e->rname && strcmp(e->repo, s->chart_url) == 0 &&
	    strcmp(e->rname, s->chart_name) == 0;
}

static void
attach(struct fx_catalog *c, const struct cfg_lockent *e)
{
	struct fx_svc *s = catalog_svc(c, e->name);

	if (!s || !s->chart_url || !s->chart_pin || !matches(e, s))
		return;
	cfg_set_str(&s->chart_version, e->version);
	cfg_set_str(&s->chart_digest, e->digest);
}

static void
read_top(struct cfg_report *rep, struct fx_catalog *c, const struct ynode *top)
{
	const struct ynode *charts = NULL;
	bool versioned = false;

	top = top ? cfg_yderef(top) : NULL;
	if (!top || top->type != Y_MAP) {
		cfg_rep_error(rep, top ? top->line : 1, top ? top->col : 1,
		    "the lock file must be a mapping (version: 1, charts: ...)");
		return;
	}
	for (size_t i = 0; i < top->n; i += 2) {
		const struct ynode *k = top->u.kids[i], *v = top->u.kids[i + 1];
		const char *key = cfg_ytext(k);
		if (key && strcmp(key, "version") == 0) {
			versioned = true;
			if (!cfg_ytext(v) || strcmp(cfg_ytext(v), "1") != 0)
				cfg_rep_error(rep, v->line, v->col, "lock file version %s is not "
				    "supported (this fusion writes version 1)",
				    cfg_ytext(v) ? cfg_ytext(v) : "");
		} else if (key && strcmp(key, "charts") == 0) {
			charts = cfg_yderef(v);
		} else {
			cfg_rep_error(rep, k->line, k->col, "unknown key \"%s\" in the lock file",
			    key ? key : "");
		}
	}
	if (!versioned)
		cfg_rep_error(rep, top->line, top->col, "the lock file has no \"version\"");
	if (!charts || cfg_ynull(charts) || rep->n)
		return;
	if (charts->type != Y_MAP) {
		cfg_rep_error(rep, charts->line, charts->col, "\"charts\" must be a mapping");
		return;
	}
	for (size_t i = 0; i < charts->n; i += 2) {
		struct cfg_lockent e;
		if (!charts->u.kids[i]->dup && cfg_ytext(charts->u.kids[i]) &&
		    read_entry(rep, charts->u.kids[i], charts->u.kids[i + 1], &e))
			attach(c, &e);
	}
}

static bool
any_remote(const struct fx_catalog *c)
{
	for (size_t i = 0; i < c->nsvcs; i++)
		if (c->svcs[i].chart_url)
			return true;
	return false;
}

int
cfg_lock_read(struct fx_catalog *c)
{
	struct cfg_report rep = {.file = c->lock_shown};
	struct ydoc doc;
	char *text;
	size_t len;

	if (!any_remote(c))
		return 0;
	if (read_file(c->lock_path, &text, &len) < 0) {
		if (errno == ENOENT)
			return 0;
		cfg_rep_error(&rep, 0, 0, "cannot read the lock file: %s", strerror(errno));
		cfg_rep_free(&rep);
		return -1;
	}
	if (cfg_ydoc_parse(&doc, text, len, &rep) == 0)
		read_top(&rep, c, doc.root);
	cfg_ydoc_free(&doc);
	free(text);
	int rc = rep.n ? -1 : 0;
	cfg_rep_free(&rep);
	return rc;
}

/* A YAML double-quoted string: the catalog refused control characters. */
static void
put_str(struct fx_buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

static int
by_name(const void *a, const void *b)
{
	const struct fx_svc *x = *(const struct fx_svc *const *)a, *y = *(const struct fx_svc *const *)b;
	return strcmp(x->name, y->name);
}

int
catalog_lock_write(const struct fx_catalog *c)
{
	const struct fx_svc **v = xcalloc(c->nsvcs + 1, sizeof(*v));
	size_t n = 0;
	struct fx_buf b = {0};
	const char *base = strrchr(c->path, '/');

	for (size_t i = 0; i < c->nsvcs; i++)
		if (c->svcs[i].chart_url && c->svcs[i].chart_digest)
			v[n++] = &c->svcs[i];
	qsort(v, n, sizeof(*v), by_name);
	buf_printf(&b, "# The charts %s takes from repositories and registries, as `fusion lock`\n"
	    "# resolved them: commit this file, so every checkout renders the same bytes.\n"
	    "# `fusion lock --update [NAME...]` resolves the pins again.\n"
	    "version: 1\ncharts:%s\n", base ? base + 1 : c->path, n ? "" : " {}");
	for (size_t i = 0; i < n; i++) {
		const struct fx_svc *s = v[i];
		buf_printf(&b, "  %s:\n", s->name);
		if (s->chart_oci) {
			buf_puts(&b, "    chart: ");
			put_str(&b, s->chart_url);
		} else {
			buf_puts(&b, "    repo: ");
			put_str(&b, s->chart_url);
			buf_puts(&b, "\n    name: ");
			put_str(&b, s->chart_name);
		}
		buf_puts(&b, "\n    pin: ");
		put_str(&b, s->chart_pin);
		buf_puts(&b, "\n    version: ");
		put_str(&b, s->chart_version);
		buf_printf(&b, "\n    digest: %s\n", s->chart_digest);
	}
	/* Committed with the catalog: readable as the user's files are, and
	 * left alone when it says this already. */
	mode_t mask = umask(0);
	umask(mask);
	char *old;
	size_t len;
	int rc = 1;
	if (read_file(c->lock_path, &old, &len) == 0) {
		if (len == b.len && memcmp(old, b.s, len) == 0)
			rc = 0;
		free(old);
	}
	if (rc && (rc = write_file_atomic(c->lock_path, b.s, b.len)) == 0)
		rc = chmod(c->lock_path, 0666 & ~mask);
	if (rc < 0)
		fx_error("%s: %s", c->lock_shown, strerror(errno));
	buf_free(&b);
	free(v);
	return rc;
}
