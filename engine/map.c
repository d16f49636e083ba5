/*
 * map.c - string-keyed hash table (see map.h).
 */
#include "fusion/map.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "fusion/util.h"

static size_t
slot(const struct fx_map *m, const char *key)
{
	size_t mask = m->cap - 1;
	size_t i = (size_t)XXH3_64bits(key, strlen(key)) & mask;

	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & mask;
	return i;
}

void
map_init(struct fx_map *m, size_t hint)
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
map_free(struct fx_map *m)
{
	free(m->keys);
	free(m->vals);
	*m = (struct fx_map){0};
}

static void
grow(struct fx_map *m)
{
	struct fx_map old = *m;

	map_init(m, old.cap);
	for (size_t i = 0; i < old.cap; i++)
		if (old.keys[i])
			map_put(m, old.keys[i], old.vals[i]);
	map_free(&old);
}

void *
map_put(struct fx_map *m, const char *key, void *val)
{
	if (!m->cap)
		map_init(m, 8);
	if ((m->n + 1) * 4 > m->cap * 3)
		grow(m);
	size_t i = slot(m, key);
	void *prev = m->vals[i];
	if (!m->keys[i]) {
		m->keys[i] = key;
		m->n++;
		prev = NULL;
	}
	m->vals[i] = val;
	return prev;
}

void *
map_get(const struct fx_map *m, const char *key)
{
	if (!m->cap)
		return NULL;
	size_t i = slot(m, key);
	return m->keys[i] ? m->vals[i] : NULL;
}
