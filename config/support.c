/*
 * support.c - small helpers of the catalog module: error reporting with a
 * cap, and "did you mean" suggestions.
 */
#include <stdarg.h>
#include <stdint.h>
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

size_t
cfg_edit_distance(const char *a, const char *b, size_t max)
{
	size_t la = strlen(a), lb = strlen(b);
	enum { MAX = 64 };
	size_t rows[3][MAX + 1];

	if (la > MAX || lb > MAX)	/* nobody mistypes a key that long */
		return SIZE_MAX;
	size_t *pp = rows[0], *p = rows[1], *cur = rows[2];
	for (size_t j = 0; j <= lb; j++)
		p[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		size_t rowmin = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t d = p[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (p[j - 1] + cost < d)
				d = p[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    pp[j - 2] + 1 < d)
				d = pp[j - 2] + 1;
			cur[j] = d;
			if (d < rowmin)
				rowmin = d;
		}
		if (rowmin > max)	/* it only grows from here */
			return rowmin;
		size_t *t = pp;
		pp = p, p = cur, cur = t;
	}
	return p[lb];
}

const char *
cfg_closest(const char *word, const char *const *cands, size_t n)
{
	size_t len = strlen(word);
	size_t limit = (len + 2) / 3;
	const char *best = NULL;
	size_t bestd = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		size_t lc = strlen(cands[i]);
		if ((lc > len ? lc - len : len - lc) > limit)
			continue;	/* too different in length to be close */
		size_t d = cfg_edit_distance(word, cands[i], limit);
		if (d < bestd)
			bestd = d, best = cands[i];
	}
	if (!best || bestd == 0 || bestd > limit || bestd >= len)
		return NULL;
	return best;
}
