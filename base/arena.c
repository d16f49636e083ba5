/*
 * arena.c - the bump allocator (see arena.h).
 */
#include "fusion/arena.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/util.h"

#define CHUNK (64 * 1024)

struct fx_chunk {
	struct fx_chunk *next;
	size_t used, cap;
	alignas(max_align_t) unsigned char data[];
};

/* Carve n bytes aligned to `align` (a power of two). */
static void *
take(struct fx_arena *a, size_t n, size_t align)
{
	struct fx_chunk *c = a->head;
	size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;

	if (c && at <= c->cap && n <= c->cap - at) {
		c->used = at + n;
		return c->data + at;
	}
	bool big = n > CHUNK / 4;
	size_t cap = big ? n : CHUNK;
	struct fx_chunk *nc = xmalloc(sizeof(*nc) + cap);
	nc->cap = cap;
	nc->used = n;
	if (c && big) {
		/* Behind the head, which stays the chunk to carve from. */
		nc->next = c->next;
		c->next = nc;
	} else {
		nc->next = c;
		a->head = nc;
	}
	return nc->data;
}

void *
arena_alloc(struct fx_arena *a, size_t n)
{
	return take(a, n ? n : 1, alignof(max_align_t));
}

char *
arena_strndup(struct fx_arena *a, const char *s, size_t n)
{
	char *p = take(a, n + 1, 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
arena_take_all(struct fx_arena *to, struct fx_arena *from)
{
	struct fx_chunk **tail = &from->head;

	if (!from->head)
		return;
	while (*tail)
		tail = &(*tail)->next;
	/* `to` keeps its head, so it goes on carving where it was. */
	if (to->head) {
		*tail = to->head->next;
		to->head->next = from->head;
	} else {
		to->head = from->head;
	}
	from->head = NULL;
}

void
arena_free(struct fx_arena *a)
{
	while (a->head) {
		struct fx_chunk *c = a->head;
		a->head = c->next;
		free(c);
	}
}
