/*
 * map.c - string-keyed hash table (see map.h).
 */
#include "fusion/map.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "fusion/util.h"

/* Index of key's slot, or of the empty slot where it would go. */
static size_t
find(const struct fx_map *m, const char *key)
{
	size_t mask = m->cap - 1;
	size_t i = (size_t)XXH3_64bits(key, strlen(key)) & mask;

	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & mask;
	return i;
}

/* A new empty table for about `hint` keys; `own` is left as it is. */
static void
alloc_table(struct fx_map *m, size_t hint)
{
	size_t cap = 16;

	while (cap < hint * 2)
		cap *= 2;
	m->keys = xcalloc(cap, sizeof(*m->keys));
	m->vals = xcalloc(cap, sizeof(*m->vals));
	m->n = 0;
	m->cap = cap;
}

void
map_init(struct fx_map *m, size_t hint)
{
	*m = (struct fx_map){0};
	alloc_table(m, hint);
}

void
map_free(struct fx_map *m)
{
	if (m->own)
		for (size_t i = 0; i < m->cap; i++)
			free((char *)m->keys[i]);
	free(m->keys);
	free(m->vals);
	*m = (struct fx_map){.own = m->own};
}

/* Double the table; the keys move as they are, copies or not. */
static void
grow(struct fx_map *m)
{
	struct fx_map old = *m;

	alloc_table(m, old.cap);
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.keys[i])
			continue;
		size_t j = find(m, old.keys[i]);
		m->keys[j] = old.keys[i];
		m->vals[j] = old.vals[i];
	}
	m->n = old.n;
	free(old.keys);
	free(old.vals);
}

void **
map_slot(struct fx_map *m, const char *key, bool insert)
{
	if (!m->cap) {
		if (!insert)
			return NULL;
		alloc_table(m, 8);
	}
	size_t i = find(m, key);
	if (m->keys[i])
		return &m->vals[i];
	if (!insert)
		return NULL;
	if ((m->n + 1) * 4 > m->cap * 3) {
		grow(m);
		i = find(m, key);
	}
	m->keys[i] = m->own ? xstrdup(key) : key;
	m->vals[i] = NULL;
	m->n++;
	return &m->vals[i];
}

void *
map_put(struct fx_map *m, const char *key, void *val)
{
	void **slot = map_slot(m, key, true);
	void *prev = *slot;

	*slot = val;
	return prev;
}

bool
map_add(struct fx_map *m, const char *key, void *val)
{
	size_t before = m->n;
	void **slot = map_slot(m, key, true);

	if (m->n == before)
		return false;
	*slot = val;
	return true;
}

void *
map_get(const struct fx_map *m, const char *key)
{
	if (!m->cap)
		return NULL;
	size_t i = find(m, key);
	return m->keys[i] ? m->vals[i] : NULL;
}
