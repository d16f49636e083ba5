/*
 * manifest.c - input manifests, keys and their differences (see manifest.h).
 */
#include "fusion/manifest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	char *name;
	char *value;			/* scalar, or NULL for a tree */
	const struct fx_tree *tree;
};

struct fx_manifest {
	struct entry *v;
	size_t n, cap;
	bool sorted;
};

struct fx_manifest *
manifest_new(void)
{
	return xcalloc(1, sizeof(struct fx_manifest));
}

void
manifest_free(struct fx_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].value);
	}
	free(m->v);
	free(m);
}

static struct entry *
append(struct fx_manifest *m, const char *name)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->v = xreallocarray(m->v, m->cap, sizeof(*m->v));
	}
	struct entry *e = &m->v[m->n++];
	*e = (struct entry){.name = xstrdup(name)};
	m->sorted = false;
	return e;
}

void
manifest_add(struct fx_manifest *m, const char *name, const char *value)
{
	append(m, name)->value = xstrdup(value ? value : "");
}

void
manifest_add_tree(struct fx_manifest *m, const char *prefix, const struct fx_tree *t)
{
	append(m, prefix)->tree = t;
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static void
sort(struct fx_manifest *m)
{
	if (!m->sorted && m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), cmp_entry);
	m->sorted = true;
}

fx_hash
manifest_key(struct fx_manifest *m, const char *kind, int version)
{
	struct fx_hasher *h = hasher_new();
	char ver[32], hex[FX_HASH_HEX];

	sort(m);
	snprintf(ver, sizeof ver, "fusion-key-%d", FX_HASHING);
	hasher_str(h, ver);
	snprintf(ver, sizeof ver, "%d", version);
	hasher_str(h, kind);
	hasher_str(h, ver);
	for (size_t i = 0; i < m->n; i++) {
		const struct entry *e = &m->v[i];
		hasher_str(h, e->name);
		if (e->tree) {
			hash_hex(e->tree->root, hex);
			hasher_str(h, hex);
		} else {
			hasher_str(h, e->value);
		}
	}
	return hasher_done(h);
}

static void
put_escaped(struct fx_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\t')
			buf_puts(b, "\\t");
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else if (*s == '\\')
			buf_puts(b, "\\\\");
		else
			buf_putc(b, *s);
	}
}

/* Lines compare by their escaped name (the text before the TAB), bytewise,
 * a shorter name first: the order the recorded lines were written in and
 * the order the diff merges in must be the same one. */
static int
cmp_names(const char *a, size_t na, const char *b, size_t nb)
{
	int c = memcmp(a, b, na < nb ? na : nb);
	return c ? c : na < nb ? -1 : na > nb ? 1 : 0;
}

static int
cmp_line(const void *x, const void *y)
{
	const char *a = *(char *const *)x, *b = *(char *const *)y;
	return cmp_names(a, strcspn(a, "\t"), b, strcspn(b, "\t"));
}

/* One line per scalar or tree file, in name order. Tree entries are sorted
 * by path already; prefix+path keeps that order within the prefix. */
static void
serialize_lines(struct fx_manifest *m, struct fx_strv *lines)
{
	struct fx_buf b = {0};
	char hex[FX_HASH_HEX];

	sort(m);
	for (size_t i = 0; i < m->n; i++) {
		const struct entry *e = &m->v[i];
		if (!e->tree) {
			put_escaped(&b, e->name);
			buf_putc(&b, '\t');
			put_escaped(&b, e->value);
			strv_take(lines, buf_detach(&b));
			continue;
		}
		for (size_t j = 0; j < e->tree->n; j++) {
			const struct fx_tree_entry *te = &e->tree->v[j];
			put_escaped(&b, e->name);
			put_escaped(&b, te->path);
			hash_hex(te->hash, hex);
			buf_printf(&b, "\t%06o:%s", te->mode, hex);
			strv_take(lines, buf_detach(&b));
		}
	}
	if (lines->n > 1)
		qsort(lines->v, lines->n, sizeof(*lines->v), cmp_line);
}

char *
manifest_serialize(struct fx_manifest *m)
{
	struct fx_strv lines = {0};
	struct fx_buf b = {0};

	serialize_lines(m, &lines);
	buf_printf(&b, "#hashing %d\n", FX_HASHING);
	for (size_t i = 0; i < lines.n; i++) {
		buf_puts(&b, lines.v[i]);
		buf_putc(&b, '\n');
	}
	strv_free(&lines);
	return buf_detach(&b);
}

static char *
unescape(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			i++;
			out[o++] = s[i] == 't' ? '\t' : s[i] == 'n' ? '\n' : s[i];
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* Split "name\tvalue" into unescaped parts. */
static void
split(const char *line, size_t len, char **name, char **value)
{
	const char *tab = memchr(line, '\t', len);
	size_t nl = tab ? (size_t)(tab - line) : len;

	*name = unescape(line, nl);
	*value = tab ? unescape(tab + 1, len - nl - 1) : xstrdup("");
}

const char *
change_verb(char op)
{
	return op == 'A' ? "added" : op == 'D' ? "removed" : "changed";
}

static void
add_change(struct fx_changes *c, char op, char *name, char *old, char *new)
{
	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	c->v[c->n++] = (struct fx_change){op, name, old, new};
}

/* The "#hashing N" line that heads a recorded manifest: the only line
 * without a TAB (every entry's has one). Its length, or 0 if there is none. */
static size_t
header_len(const char *s)
{
	size_t n = strcspn(s, "\n");

	if (strncmp(s, "#hashing ", 9) != 0 || memchr(s, '\t', n))
		return 0;
	return n + (s[n] == '\n');
}

static const char *
after_header(const char *p)
{
	return p + header_len(p);
}

/* Merge two sorted line lists. Lines sort by their escaped text, which keeps
 * names in the same relative order on both sides. */
void
manifest_diff(const char *old, struct fx_manifest *cur, struct fx_changes *out)
{
	struct fx_strv now = {0};
	size_t j = 0;
	const char *p = old ? old : "";

	*out = (struct fx_changes){0};
	serialize_lines(cur, &now);
	p = after_header(p);
	while (*p || j < now.n) {
		const char *nl = *p ? strchr(p, '\n') : NULL;
		size_t plen = *p ? (nl ? (size_t)(nl - p) : strlen(p)) : 0;
		char *on = NULL, *ov = NULL, *cn = NULL, *cv = NULL;
		if (*p)
			split(p, plen, &on, &ov);
		if (j < now.n)
			split(now.v[j], strlen(now.v[j]), &cn, &cv);
		int c = !on ? 1 : !cn ? -1 : cmp_names(p, strcspn(p, "\t\n"), now.v[j],
		    strcspn(now.v[j], "\t"));
		if (c < 0) {
			add_change(out, 'D', on, ov, NULL);
			free(cn), free(cv);
		} else if (c > 0) {
			add_change(out, 'A', cn, NULL, cv);
			free(on), free(ov);
		} else {
			if (strcmp(ov, cv) != 0) {
				add_change(out, 'M', cn, ov, cv);
			} else {
				free(cn);
				free(cv);
				free(ov);
			}
			free(on);
		}
		if (c <= 0 && *p)
			p = nl ? nl + 1 : p + plen;
		if (c >= 0 && j < now.n)
			j++;
	}
	strv_free(&now);
}

int
manifest_hashing(const char *serialized)
{
	int v;

	if (serialized && header_len(serialized) && sscanf(serialized, "#hashing %d", &v) == 1)
		return v;
	return 1;
}

void
changes_free(struct fx_changes *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].old);
		free(c->v[i].new);
	}
	free(c->v);
	*c = (struct fx_changes){0};
}
