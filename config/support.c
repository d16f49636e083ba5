/*
 * support.c - small helpers of the catalog module: error reporting with a
 * cap (its "did you mean" suggestions come from util's str_closest).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void
cfg_rep_error(struct cfg_report *r, int line, int col, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	r->last_shown = false;
	if (cfg_rep_full(r)) {	/* nothing more is shown: spend nothing on it */
		r->n++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	/* The same mistake in `defaults` shows up under every service: say it once. */
	char *key = xasprintf("%d:%d:%s", line, col, msg);
	r->seen.own = true;
	bool fresh = map_add(&r->seen, key, NULL);
	free(key);
	if (!fresh)
		return;
	r->n++;
	if (r->n > CAT_MAX_ERRORS) {
		if (r->n == CAT_MAX_ERRORS + 1)
			fx_error_at((struct fx_loc){r->file, 0, 0},
			    "too many errors (more than %d), not showing the rest", CAT_MAX_ERRORS);
		return;
	}
	fx_error_at((struct fx_loc){r->file, line, col}, "%s", msg);
	r->last_shown = true;
}

bool
cfg_rep_full(const struct cfg_report *r)
{
	return r->n > CAT_MAX_ERRORS;
}

void
cfg_rep_note(struct cfg_report *r, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!r->last_shown)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fx_note("%s", msg);
}

void
cfg_rep_free(struct cfg_report *r)
{
	map_free(&r->seen);
}
