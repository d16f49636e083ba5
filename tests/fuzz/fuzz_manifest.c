/*
 * fuzz_manifest.c - the manifest parser: manifest_diff reading a recorded
 * (serialised) manifest, and the serialisation it must read back.
 *
 * The input is three parts separated by NUL bytes:
 *
 *   1. manifest A, one entry per line: "name TAB value" is a scalar;
 *      "name TAB path,path,..." after a leading 0x01 byte is a tree with
 *      those files. In names, values and paths 0x02 stands for a TAB and
 *      0x03 for a newline, so that entries can hold both.
 *   2. manifest B, the same way.
 *   3. any text, handed to manifest_diff as a recorded manifest.
 *
 * Promises checked (manifest.h):
 *   - a manifest's own serialisation reads back with no change;
 *   - the diff of A's serialisation against B is exactly the naive one:
 *     a name only in A deleted, only in B added, in both with different
 *     values modified, in name order, values unescaped;
 *   - any recorded text at all is read without harm.
 * A and B hold distinct names (as every node's manifest does); an input
 * that repeats one within A or B is skipped.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fusion/manifest.h"
#include "fuzz.h"

#define MAX_ENTRIES 256

struct side {
	struct fx_manifest *m;
	struct fx_tree trees[MAX_ENTRIES];
	size_t ntrees;
	struct fx_strv names, values;	/* every line it serialises to, unescaped */
};

static char *
decode(const char *s, size_t n)
{
	char *out = xstrndup(s, n);
	for (char *p = out; *p; p++)
		*p = *p == 2 ? '\t' : *p == 3 ? '\n' : *p;
	return out;
}

static void
add_tree(struct side *sd, const char *prefix, const char *list)
{
	struct fx_tree *t = &sd->trees[sd->ntrees++];
	struct fx_strv paths = {0};
	char hex[FX_HASH_HEX];

	*t = (struct fx_tree){0};
	for (const char *p = list;;) {
		size_t n = strcspn(p, ",");
		if (n)
			strv_take(&paths, xstrndup(p, n));
		if (!p[n])
			break;
		p += n + 1;
	}
	if (paths.n > 1)
		qsort(paths.v, paths.n, sizeof *paths.v, fuzz_strcmp);
	t->v = xcalloc(paths.n ? paths.n : 1, sizeof *t->v);
	for (size_t i = 0; i < paths.n; i++) {
		if (i && strcmp(paths.v[i], paths.v[i - 1]) == 0)
			continue;
		struct fx_tree_entry *e = &t->v[t->n++];
		e->path = xstrdup(paths.v[i]);
		e->mode = paths.v[i][0] & 1 ? 0100755 : 0100644;
		e->hash = hash_bytes(e->path, strlen(e->path));
		hash_hex(e->hash, hex);
		strv_take(&sd->names, xasprintf("%s%s", prefix, e->path));
		strv_take(&sd->values, xasprintf("%06o:%s", e->mode, hex));
	}
	strv_free(&paths);
	manifest_add_tree(sd->m, prefix, t);
}

static void
side_parse(struct side *sd, const char *s, size_t len)
{
	sd->m = manifest_new();
	for (const char *end = s + len; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);
		const char *tab = memchr(s, '\t', n);
		bool tree = n && s[0] == 1 && sd->ntrees < MAX_ENTRIES;
		const char *name = s + tree;
		size_t nn = (size_t)((tab ? tab : s + n) - name);
		char *k = decode(name, nn);
		char *v = tab ? decode(tab + 1, (size_t)(s + n - tab - 1)) : xstrdup("");
		if (tree) {
			add_tree(sd, k, v);
		} else if (sd->names.n < MAX_ENTRIES) {
			manifest_add(sd->m, k, v);
			strv_push(&sd->names, k);
			strv_push(&sd->values, v);
		}
		free(k);
		free(v);
		s += n + 1;
	}
}

static void
side_free(struct side *sd)
{
	manifest_free(sd->m);
	for (size_t i = 0; i < sd->ntrees; i++) {
		for (size_t j = 0; j < sd->trees[i].n; j++)
			free(sd->trees[i].v[j].path);
		free(sd->trees[i].v);
	}
	strv_free(&sd->names);
	strv_free(&sd->values);
}

/* Index of name on a side, or -1. */
static long
find(const struct side *sd, const char *name)
{
	for (size_t i = 0; i < sd->names.n; i++)
		if (strcmp(sd->names.v[i], name) == 0)
			return (long)i;
	return -1;
}

static bool
distinct(const struct side *sd)
{
	for (size_t i = 0; i < sd->names.n; i++)
		if (find(sd, sd->names.v[i]) != (long)i)
			return false;
	return true;
}

static bool
eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* The diff of A's serialisation against B, checked against the naive one. */
static void
check_diff(struct side *a, struct side *b)
{
	char *old = manifest_serialize(a->m);
	struct fx_changes ch;
	size_t want = 0;

	manifest_diff(old, b->m, &ch);
	for (size_t i = 0; i < a->names.n; i++) {
		long j = find(b, a->names.v[i]);
		want += j < 0 || strcmp(a->values.v[i], b->values.v[j]) != 0;
	}
	for (size_t j = 0; j < b->names.n; j++)
		want += find(a, b->names.v[j]) < 0;
	if (ch.n != want)
		fuzz_fail("%zu changes, want %zu", ch.n, want);
	for (size_t k = 0; k < ch.n; k++) {
		const struct fx_change *c = &ch.v[k];
		long i = find(a, c->name), j = find(b, c->name);
		if (c->op == 'D')
			fuzz_assert(i >= 0 && j < 0 && eq(c->old, a->values.v[i]) && !c->new);
		else if (c->op == 'A')
			fuzz_assert(i < 0 && j >= 0 && eq(c->new, b->values.v[j]) && !c->old);
		else if (c->op == 'M')
			fuzz_assert(i >= 0 && j >= 0 && eq(c->old, a->values.v[i]) &&
			    eq(c->new, b->values.v[j]) && !eq(c->old, c->new));
		else
			fuzz_fail("change op %d", c->op);
		if (k)
			fuzz_assert(strcmp(ch.v[k - 1].name, c->name) != 0);
	}
	changes_free(&ch);
	free(old);
}

/* The next NUL-separated part of the input. */
static const char *
part(const char **p, const char *end, size_t *n)
{
	const char *s = *p;
	const char *z = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;

	*n = s < end ? (size_t)((z ? z : end) - s) : 0;
	*p = z ? z + 1 : end;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	static struct side a, b;
	size_t na, nb, nr;
	const char *sa = part(&p, end, &na), *sb = part(&p, end, &nb), *raw = part(&p, end, &nr);

	side_parse(&a, sa, na);
	side_parse(&b, sb, nb);
	if (distinct(&a) && distinct(&b)) {
		check_diff(&a, &a);
		check_diff(&a, &b);
		check_diff(&b, &a);
	}
	/* Any recorded text: only that it is read without harm. */
	struct fx_changes ch;
	char *rec = xstrndup(raw, nr);
	manifest_diff(rec, b.m, &ch);
	for (size_t k = 0; k < ch.n; k++)
		fuzz_assert(ch.v[k].name && (ch.v[k].old || ch.v[k].new));
	changes_free(&ch);
	free(rec);
	side_free(&a);
	side_free(&b);
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	return 0;
}
