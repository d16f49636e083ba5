/*
 * support.c - small helpers of the catalog module: a string table, error
 * reporting with a cap, and "did you mean" suggestions.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint64_t
strhash(const char *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Index of key's slot, or of the empty slot where it would go. */
static size_t
find(const struct strtab *t, const char *key)
{
	size_t mask = t->cap - 1;
	size_t i = (size_t)strhash(key) & mask;

	while (t->keys[i] && strcmp(t->keys[i], key) != 0)
		i = (i + 1) & mask;
	return i;
}

static void
grow(struct strtab *t)
{
	struct strtab old = *t;

	t->cap = old.cap ? old.cap * 2 : 16;
	t->keys = xcalloc(t->cap, sizeof *t->keys);
	t->vals = xcalloc(t->cap, sizeof *t->vals);
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.keys[i])
			continue;
		size_t j = find(t, old.keys[i]);
		t->keys[j] = old.keys[i];
		t->vals[j] = old.vals[i];
	}
	free(old.keys);
	free(old.vals);
}

void **
strtab_slot(struct strtab *t, const char *key, bool insert)
{
	if (!t->cap) {
		if (!insert)
			return NULL;
		grow(t);
	}
	size_t i = find(t, key);
	if (t->keys[i])
		return &t->vals[i];
	if (!insert)
		return NULL;
	if ((t->n + 1) * 4 > t->cap * 3) {	/* keep the load under 3/4 */
		grow(t);
		i = find(t, key);
	}
	t->keys[i] = t->own ? xstrdup(key) : (char *)key;
	t->vals[i] = NULL;
	t->n++;
	return &t->vals[i];
}

void *
strtab_get(const struct strtab *t, const char *key)
{
	if (!t->cap)
		return NULL;
	size_t i = find(t, key);
	return t->keys[i] ? t->vals[i] : NULL;
}

bool
strtab_put(struct strtab *t, const char *key, void *val)
{
	size_t before = t->n;
	void **slot = strtab_slot(t, key, true);

	if (t->n == before)
		return false;
	*slot = val;
	return true;
}

void
strtab_free(struct strtab *t)
{
	if (t->own)
		for (size_t i = 0; i < t->cap; i++)
			free(t->keys[i]);
	free(t->keys);
	free(t->vals);
	*t = (struct strtab){.own = t->own};
}

void
rep_error(struct report *r, int line, int col, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	r->last_shown = false;
	if (rep_full(r)) {	/* nothing more is shown: spend nothing on it */
		r->n++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	/* The same mistake in `defaults` shows up under every service: say it once. */
	char *key = xasprintf("%d:%d:%s", line, col, msg);
	r->seen.own = true;
	bool fresh = strtab_put(&r->seen, key, NULL);
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
rep_full(const struct report *r)
{
	return r->n > CAT_MAX_ERRORS;
}

void
rep_note(struct report *r, const char *fmt, ...)
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
rep_free(struct report *r)
{
	strtab_free(&r->seen);
}

size_t
edit_distance(const char *a, const char *b, size_t max)
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
closest(const char *word, const char *const *cands, size_t n)
{
	size_t len = strlen(word);
	size_t limit = (len + 2) / 3;
	const char *best = NULL;
	size_t bestd = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		size_t lc = strlen(cands[i]);
		if ((lc > len ? lc - len : len - lc) > limit)
			continue;	/* too different in length to be close */
		size_t d = edit_distance(word, cands[i], limit);
		if (d < bestd)
			bestd = d, best = cands[i];
	}
	if (!best || bestd == 0 || bestd > limit || bestd >= len)
		return NULL;
	return best;
}
