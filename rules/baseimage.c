/*
 * baseimage.c - the images a build reads (FROM, COPY --from, a mount's
 * from=), resolved to their IDs in the builder's storage: one query per
 * run for every image of every selected build, made when the first build
 * asks for its key.
 *
 * `podman image inspect --format {{.Id}} -- NAME...` prints one ID per
 * name, in order, when every name is there; when one is missing it exits
 * non-zero, and each name is then asked alone (only the run before the
 * builder pulls an image pays for that). A missing image is keyed as
 * absent: the builder will pull it.
 */
#include <stdlib.h>
#include <string.h>

#include "fusion/diag.h"
#include "fusion/manifest.h"
#include "fusion/proc.h"
#include "fusion/rules.h"

#define ABSENT "absent"

void
rules_base_want(struct fx_rules *r, const struct fx_strv *images)
{
	for (size_t i = 0; i < images->n; i++)
		if (!strv_has(&r->base_names, images->v[i]))
			strv_push(&r->base_names, images->v[i]);
}

/* IDs from one query's output: one line per name, or false. */
static bool
take_ids(struct fx_rules *r, const struct fx_buf *out, size_t from, size_t n)
{
	struct fx_strv lines = {0};
	const char *s = out->s ? out->s : "";

	while (*s) {
		size_t k = strcspn(s, "\n");
		if (k > 0)
			strv_take(&lines, xstrndup(s, k));
		s += k + (s[k] == '\n');
	}
	bool ok = lines.n == n;
	for (size_t i = 0; ok && i < n; i++) {
		const char *id = lines.v[i];
		if (strncmp(id, "sha256:", 7) == 0)
			id += 7;
		free(r->base_ids.v[from + i]);
		r->base_ids.v[from + i] = xasprintf("sha256:%s", id);
	}
	strv_free(&lines);
	return ok;
}

static bool
inspect(struct fx_rules *r, size_t from, size_t n)
{
	struct fx_strv a = {0};
	struct fx_buf out = {0}, err = {0};

	builder_inspect_argv(r->cat, &a);
	for (size_t i = 0; i < n; i++)
		strv_push(&a, r->base_names.v[from + i]);
	int st = proc_run(strv_argv(&a), &out, &err);
	bool ok = st == 0 && take_ids(r, &out, from, n);
	if (st == PROC_INTERRUPTED)
		r->base_asked = true;	/* no more questions */
	strv_free(&a);
	buf_free(&out);
	buf_free(&err);
	return ok;
}

static void
ask(struct fx_rules *r)
{
	r->base_asked = true;
	for (size_t i = 0; i < r->base_names.n; i++)
		strv_push(&r->base_ids, ABSENT);
	if (r->base_names.n == 0 || inspect(r, 0, r->base_names.n))
		return;
	for (size_t i = 0; i < r->base_names.n && r->base_names.n > 1; i++)
		inspect(r, i, 1);
	for (size_t i = 0; i < r->base_names.n; i++)
		fx_debug("image %s: %s", r->base_names.v[i], r->base_ids.v[i]);
}

const char *
rules_base_id(struct fx_rules *r, const char *image)
{
	if (!r->base_asked)
		ask(r);
	for (size_t i = 0; i < r->base_names.n && i < r->base_ids.n; i++)
		if (strcmp(r->base_names.v[i], image) == 0)
			return r->base_ids.v[i];
	return ABSENT;
}

void
rules_base_free(struct fx_rules *r)
{
	strv_free(&r->base_names);
	strv_free(&r->base_ids);
}

/* "sha256:0123456789ab" of an ID; the word as it is otherwise. */
static void
short_id(struct fx_buf *out, const char *id)
{
	if (id && strncmp(id, "sha256:", 7) == 0 && strlen(id) > 19)
		buf_printf(out, "%.19s..", id);
	else
		buf_puts(out, id ? id : "");
}

enum fx_said
rules_say_base(const struct fx_change *c, const char *image, bool brief, struct fx_buf *out)
{
	buf_printf(out, "base image %s ", image);
	if (c->op != 'M' || brief) {
		buf_puts(out, change_verb(c->op));
		return FX_SAID_VALUE;
	}
	buf_puts(out, "changed: ");
	short_id(out, c->old);
	buf_puts(out, " -> ");
	short_id(out, c->new);
	return FX_SAID_VALUE;
}
