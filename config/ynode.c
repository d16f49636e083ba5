/*
 * ynode.c - YAML text to a small tree of nodes that remember where they
 * were written.
 *
 * libyaml's event parser does the lexing; we build the tree ourselves (not
 * with yaml_parser_load) to keep positions, to mark duplicate keys, and to
 * bound what hostile input can cost: the text is checked for UTF-8 and
 * control bytes first, nesting and node counts are capped, and an alias is
 * a pointer to its anchor's node, never a copy, so alias bombs stay small.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "internal.h"

/* An open collection: its node, where its children start in `pending`,
 * and its anchor, registered when it ends (so it cannot contain itself). */
struct frame {
	struct ynode *node;
	size_t start;
	char *anchor;
};

struct builder {
	struct ydoc *doc;
	struct cfg_report *r;
	struct ynode **pending;
	size_t npending, cappending;
	struct frame *stack;
	size_t depth, capstack;
	struct fx_map anchors;
	int ndocs;
};

static struct ynode *
newnode(struct builder *b, int type, yaml_mark_t m)
{
	if (b->doc->nodes >= CAT_MAX_NODES) {
		cfg_rep_error(b->r, (int)m.line + 1, (int)m.column + 1,
		    "catalog is too large (more than %d YAML nodes)", CAT_MAX_NODES);
		return NULL;
	}
	struct ynode *n = arena_alloc(&b->doc->arena, sizeof *n);
	memset(n, 0, sizeof *n);
	n->type = (unsigned char)type;
	n->line = (int)m.line + 1;
	n->col = (int)m.column + 1;
	b->doc->nodes++;
	return n;
}

static void
push_pending(struct builder *b, struct ynode *n)
{
	if (b->npending == b->cappending) {
		b->cappending = b->cappending ? b->cappending * 2 : 256;
		b->pending = xreallocarray(b->pending, b->cappending, sizeof *b->pending);
	}
	b->pending[b->npending++] = n;
}

static void
add(struct builder *b, struct ynode *n)
{
	if (b->depth == 0)
		b->doc->root = n;
	else
		push_pending(b, n);
}

static void
set_anchor(struct builder *b, const char *anchor, struct ynode *n)
{
	/* YAML lets an anchor be redefined: later aliases see the new node. */
	if (anchor)
		*map_slot(&b->anchors, anchor, true) = n;
}

const struct ynode *
cfg_yderef(const struct ynode *n)
{
	return n && n->type == Y_ALIAS ? n->u.target : n;
}

bool
cfg_ynull(const struct ynode *n)
{
	n = cfg_yderef(n);
	if (!n)
		return true;	/* absent */
	if (n->type != Y_SCALAR || !n->plain)
		return false;
	const char *s = n->u.s;
	return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *
cfg_ytext(const struct ynode *n)
{
	n = cfg_yderef(n);
	return n && n->type == Y_SCALAR ? n->u.s : NULL;
}

struct keyref {
	const char *s;
	size_t i;
};

static int
cmpkey(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->s, y->s);
	if (c)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void
dup_error(struct builder *b, struct ynode *key, const struct ynode *first)
{
	key->dup = true;
	cfg_rep_error(b->r, key->line, key->col,
	    "duplicate key \"%s\" (first at line %d, column %d)", cfg_ytext(key), first->line,
	    first->col);
}

/* Mark every key that repeats an earlier one; small maps compare pairwise,
 * big ones (services) sort, so a 1,000-service catalog stays fast. */
static void
check_dups(struct builder *b, struct ynode *map)
{
	size_t nk = map->n / 2;
	struct ynode **kids = map->u.kids;

	if (nk <= 8) {
		for (size_t i = 1; i < nk; i++) {
			const char *s = cfg_ytext(kids[2 * i]);
			for (size_t j = 0; s && j < i; j++) {
				const char *t = cfg_ytext(kids[2 * j]);
				if (t && strcmp(s, t) == 0) {
					dup_error(b, kids[2 * i], kids[2 * j]);
					break;
				}
			}
		}
		return;
	}
	struct keyref *v = xreallocarray(NULL, nk, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < nk; i++)
		if (cfg_ytext(kids[2 * i]))
			v[n++] = (struct keyref){cfg_ytext(kids[2 * i]), i};
	qsort(v, n, sizeof *v, cmpkey);
	/* Report in the order the duplicates were written. */
	bool *isdup = xcalloc(nk, sizeof *isdup);
	size_t *first = xreallocarray(NULL, nk, sizeof *first);
	for (size_t i = 1, f = 0; i < n; i++) {
		if (strcmp(v[i].s, v[f].s) != 0) {
			f = i;
			continue;
		}
		isdup[v[i].i] = true;
		first[v[i].i] = v[f].i;
	}
	for (size_t i = 0; i < nk; i++)
		if (isdup[i])
			dup_error(b, kids[2 * i], kids[2 * first[i]]);
	free(isdup);
	free(first);
	free(v);
}

static int
open_collection(struct builder *b, int type, yaml_mark_t m, const unsigned char *anchor)
{
	if (b->depth >= CAT_MAX_DEPTH) {
		cfg_rep_error(b->r, (int)m.line + 1, (int)m.column + 1,
		    "nesting is too deep (more than %d levels)", CAT_MAX_DEPTH);
		return -1;
	}
	struct ynode *n = newnode(b, type, m);
	if (!n)
		return -1;
	if (b->depth == b->capstack) {
		b->capstack = b->capstack ? b->capstack * 2 : 16;
		b->stack = xreallocarray(b->stack, b->capstack, sizeof *b->stack);
	}
	b->stack[b->depth++] = (struct frame){
		n, b->npending, anchor ? xstrdup((const char *)anchor) : NULL};
	return 1;
}

static int
close_collection(struct builder *b)
{
	struct frame f = b->stack[--b->depth];
	struct ynode *n = f.node;

	n->n = b->npending - f.start;
	n->u.kids = arena_alloc(&b->doc->arena, (n->n ? n->n : 1) * sizeof *n->u.kids);
	/* An empty collection may come before any item was pending at all
	 * ("{}" alone): pending is NULL then, and NULL + 0 is undefined. */
	if (n->n)
		memcpy(n->u.kids, b->pending + f.start, n->n * sizeof *n->u.kids);
	b->npending = f.start;
	if (n->type == Y_MAP)
		check_dups(b, n);
	set_anchor(b, f.anchor, n);
	free(f.anchor);
	add(b, n);
	return 1;
}

static int
scalar(struct builder *b, const yaml_event_t *ev)
{
	size_t len = ev->data.scalar.length;
	const char *v = (const char *)ev->data.scalar.value;
	struct ynode *n = newnode(b, Y_SCALAR, ev->start_mark);

	if (!n)
		return -1;
	if (memchr(v, '\0', len)) {
		cfg_rep_error(b->r, n->line, n->col, "strings must not contain NUL characters");
		len = strlen(v);
	}
	n->u.s = arena_strndup(&b->doc->arena, v, len);
	n->n = len;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	set_anchor(b, (const char *)ev->data.scalar.anchor, n);
	add(b, n);
	return 1;
}

static int
alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct ynode *n = newnode(b, Y_ALIAS, ev->start_mark);

	if (!n)
		return -1;
	n->u.target = map_get(&b->anchors, name);
	if (!n->u.target) {
		cfg_rep_error(b->r, n->line, n->col,
		    "unknown alias \"*%s\" (no anchor \"&%s\" before it)", name, name);
		/* Stand in an empty scalar so that checking can go on. */
		struct ynode *empty = newnode(b, Y_SCALAR, ev->start_mark);
		if (!empty)
			return -1;
		empty->plain = true;
		empty->u.s = arena_strndup(&b->doc->arena, "", 0);
		n->u.target = empty;
	}
	add(b, n);
	return 1;
}

/* Returns 1 to go on, 0 at the end of the stream, -1 to stop. */
static int
on_event(struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->ndocs++ > 0) {
			cfg_rep_error(b->r, (int)ev->start_mark.line + 1,
			    (int)ev->start_mark.column + 1,
			    "the catalog must be a single YAML document (a second one starts here)");
			return -1;
		}
		return 1;
	case YAML_STREAM_END_EVENT:
		return 0;
	case YAML_SCALAR_EVENT:
		return scalar(b, ev);
	case YAML_ALIAS_EVENT:
		return alias(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return open_collection(b, Y_SEQ, ev->start_mark, ev->data.sequence_start.anchor);
	case YAML_MAPPING_START_EVENT:
		return open_collection(b, Y_MAP, ev->start_mark, ev->data.mapping_start.anchor);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_collection(b);
	default:
		return 1;
	}
}

/* Byte offset of 1-based line and column (in characters) in buf. */
static size_t
offset_of(const char *buf, size_t len, int line, int col)
{
	size_t i = 0;
	for (int l = 1; l < line && i < len; i++)
		if (buf[i] == '\n')
			l++;
	for (int c = 1; c < col && i < len && buf[i] != '\n'; c++) {
		i++;
		while (i < len && ((unsigned char)buf[i] & 0xC0) == 0x80)
			i++;
	}
	return i;
}

static void
syntax_error(struct builder *b, const yaml_parser_t *p, const char *buf, size_t len)
{
	int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
	const char *problem = p->problem ? p->problem : "invalid YAML";

	if (p->error == YAML_MEMORY_ERROR) {
		cfg_rep_error(b->r, 0, 0, "out of memory while reading the catalog");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		/* Only the offset is known: turn it into a line and column. */
		line = 1, col = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++) {
			if (buf[i] == '\n')
				line++, col = 1;
			else if (((unsigned char)buf[i] & 0xC0) != 0x80)
				col++;
		}
	}
	if (p->context && (p->context_mark.line != p->problem_mark.line ||
	    p->context_mark.column != p->problem_mark.column))
		cfg_rep_error(b->r, line, col, "syntax error: %s (%s at line %d, column %d)",
		    problem, p->context, (int)p->context_mark.line + 1,
		    (int)p->context_mark.column + 1);
	else
		cfg_rep_error(b->r, line, col, "syntax error: %s", problem);
	size_t off = offset_of(buf, len, line, col);
	if (off < len && buf[off] == '\t')
		cfg_rep_note(b->r, "hint: YAML does not allow tabs for indentation; use spaces");
}

/* YAML's printable set, less what a catalog has no use for. */
static bool
printable(uint32_t c)
{
	if (c == '\t' || c == '\n' || c == '\r')
		return true;
	if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F && c != 0x85))
		return false;
	return c != 0xFFFE && c != 0xFFFF;
}

/*
 * Check the text before libyaml sees it: libyaml's own reader errors carry
 * no line, and a binary file deserves a plain answer.
 */
static int
check_text(const char *buf, size_t len, struct cfg_report *r)
{
	const unsigned char *s = (const unsigned char *)buf;
	int line = 1, col = 1;

	for (size_t i = 0; i < len;) {
		uint32_t c;
		size_t n = utf8_len(s + i, len - i, &c);
		if (n == 0) {
			cfg_rep_error(r, line, col, "catalog is not valid UTF-8 (byte 0x%02x)",
			    s[i]);
			return -1;
		}
		if (!printable(c)) {
			cfg_rep_error(r, line, col,
			    "catalog contains the control character 0x%02x%s", (unsigned)c,
			    c == 0 ? " (is it a binary file?)" : "");
			return -1;
		}
		i += n;
		/* Lines end as libyaml ends them: LF, CR LF, or a lone CR. */
		if (c == '\n' || (c == '\r' && (i == len || s[i] != '\n')))
			line++, col = 1;
		else
			col++;
	}
	return 0;
}

int
cfg_ydoc_parse(struct ydoc *doc, const char *buf, size_t len, struct cfg_report *r)
{
	struct builder b = {.doc = doc, .r = r, .anchors = {.own = true}};
	yaml_parser_t p;
	int rc = 0;

	memset(doc, 0, sizeof *doc);
	if (check_text(buf, len, r) < 0)
		return -1;
	if (!yaml_parser_initialize(&p)) {
		cfg_rep_error(r, 0, 0, "out of memory while reading the catalog");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(&b, &p, buf, len);
			rc = -1;
			break;
		}
		int st = on_event(&b, &ev);
		yaml_event_delete(&ev);
		if (st <= 0) {
			rc = st;
			break;
		}
	}
	yaml_parser_delete(&p);
	for (size_t i = 0; i < b.depth; i++)
		free(b.stack[i].anchor);
	free(b.stack);
	free(b.pending);
	map_free(&b.anchors);
	if (rc < 0)
		doc->root = NULL;
	return rc;
}

void
cfg_ydoc_free(struct ydoc *doc)
{
	arena_free(&doc->arena);
	memset(doc, 0, sizeof *doc);
}
