/*
 * buildreads.c - what a build reads beyond its context as the ignore rules
 * leave it: what its Containerfile names (containerfile.h), and where the
 * state directory lies inside its context (never sent, never hashed).
 */
#include <stdlib.h>
#include <string.h>

#include "fusion/containerfile.h"
#include "fusion/diag.h"
#include "fusion/rules.h"

/* Read the build's Containerfile (through the rules' reader: its text is
 * kept under the stat rule, so a no-op run reads nothing) with the
 * catalog's build args and target. A Containerfile that cannot be read
 * reads nothing here: the walk reports it, and the build fails. */
void
rules_containerfile(struct fx_rules *r, struct fx_rule_node *d)
{
	const struct fx_build *b = &d->svc->build;
	char *text;
	size_t len;

	if (d->cf)
		return;
	d->cf = xcalloc(1, sizeof(*d->cf));
	if (rules_read(r, b->file, &text, &len) < 0)
		return;
	struct fx_cf_var *args = xcalloc(b->args.n + 1, sizeof(*args));
	for (size_t i = 0; i < b->args.n; i++)
		args[i] = (struct fx_cf_var){b->args.v[i].key, b->args.v[i].value};
	containerfile_read(text, len, args, b->args.n, b->target, d->cf);
	free(args);
	free(text);
}

void
rules_containerfile_free(struct fx_rule_node *d)
{
	if (d->cf)
		containerfile_free(d->cf);
	free(d->cf);
	d->cf = NULL;
}

/* The state directory as an ignore pattern of the context it lies in,
 * glob characters escaped; NULL when it lies outside. */
char *
rules_state_pattern(const struct fx_rules *r, const struct fx_svc *s)
{
	const char *rel = r->statedir ? path_under(r->statedir, s->build.context) : NULL;

	if (!rel || !*rel)
		return NULL;
	struct fx_buf b = {0};
	for (const char *p = rel; *p; p++) {
		if (strchr("*?[]\\", *p) || (p == rel && strchr("!#", *p)))
			buf_putc(&b, '\\');
		buf_putc(&b, *p);
	}
	return buf_detach(&b);
}
