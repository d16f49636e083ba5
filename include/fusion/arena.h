/*
 * arena.h - a bump allocator: many small blocks carved from large chunks,
 * all freed at once.
 *
 * For data that lives and dies together (a walk's entries, the stat
 * cache's paths, a YAML tree): one allocation per chunk instead of one per
 * object, and no per-object free. A block larger than a quarter chunk gets
 * a chunk of its own, so a big one-off never wastes the rest of one.
 *
 * Zero-initialise before use. Not thread-safe: give each thread its own
 * arena and move their chunks into one (arena_take_all) once they are done.
 */
#ifndef FUSION_ARENA_H
#define FUSION_ARENA_H

#include <stddef.h>

struct fx_chunk;

struct fx_arena {
	struct fx_chunk *head;	/* the chunk blocks are carved from, then older ones */
};

/* n bytes aligned for any type (max_align_t); never NULL (util.h's rule). */
void *arena_alloc(struct fx_arena *a, size_t n);
/* A NUL-terminated copy of the n bytes at s, packed without alignment. */
char *arena_strndup(struct fx_arena *a, const char *s, size_t n);
/* Move every chunk of `from` into `to`; `from` is left empty. What was
 * carved from `from` stays valid and is now freed with `to`. */
void arena_take_all(struct fx_arena *to, struct fx_arena *from);
/* Free every chunk; the arena is empty again. */
void arena_free(struct fx_arena *a);

#endif
