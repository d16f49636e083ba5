/*
 * map.h - a string-keyed hash table (open addressing, linear probing, kept
 * under three quarters full).
 *
 * By default keys are not copied: they must outlive the map (they are
 * usually the id of the object stored). Set `own` before the first insert
 * and the map copies each new key and frees the copies with the map, for
 * keys that are made on the fly (a message, an anchor name): start it as
 * `struct fx_map m = {.own = true}`. A zeroed map is an empty map, sized
 * on the first insert. Not thread-safe for writes;
 * concurrent reads of a map nobody writes are fine.
 */
#ifndef FUSION_MAP_H
#define FUSION_MAP_H

#include <stdbool.h>
#include <stddef.h>

struct fx_map {
	const char **keys;
	void **vals;
	size_t n, cap;
	bool own;		/* keys are copied in and freed with the map */
};

/* Make *m an empty map (keys not owned) sized for about `hint` keys. */
void map_init(struct fx_map *m, size_t hint);
/* Free the table (and owned keys); the map is empty again, `own` kept. */
void map_free(struct fx_map *m);
/* Insert or replace; returns the previous value or NULL. */
void *map_put(struct fx_map *m, const char *key, void *val);
/* Insert only if absent: false (and nothing changes) when key is there. */
bool map_add(struct fx_map *m, const char *key, void *val);
void *map_get(const struct fx_map *m, const char *key);
/* The value slot of key: NULL when absent, unless `insert`, which adds key
 * with a NULL value. Slots move when the map grows. */
void **map_slot(struct fx_map *m, const char *key, bool insert);

#endif
