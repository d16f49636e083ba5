/*
 * map.h - a string-keyed hash table (open addressing, linear probing).
 *
 * Keys are not copied: they must outlive the map (they are usually the id
 * of the object stored). Not thread-safe for writes; concurrent reads of a
 * map nobody writes are fine.
 */
#ifndef FUSION_MAP_H
#define FUSION_MAP_H

#include <stddef.h>

struct fx_map {
	const char **keys;
	void **vals;
	size_t n, cap;
};

void map_init(struct fx_map *m, size_t hint);
void map_free(struct fx_map *m);
/* Insert or replace; returns the previous value or NULL. */
void *map_put(struct fx_map *m, const char *key, void *val);
void *map_get(const struct fx_map *m, const char *key);

#endif
