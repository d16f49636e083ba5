/*
 * test_manifest.c - input manifests (manifest.h): the key is a pure function
 * of the kind, its version and the sorted entries (a tree counts by its root
 * only); the serialised form escapes what would break its lines; and the
 * diff against a recorded manifest names what was added, modified, deleted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/hash.h"
#include "fusion/manifest.h"
#include "fusion/util.h"

/* A tree built by hand, as a hash run would leave it: entries sorted. */
struct tree {
	struct fx_tree t;
	struct fx_tree_entry e[3];
};

static void
tree_init(struct tree *t, const char *c1, const char *c2, unsigned mode2)
{
	*t = (struct tree){0};
	t->e[0] = (struct fx_tree_entry){(char *)"Containerfile", 0100644, hash_bytes(c1, strlen(c1))};
	t->e[1] = (struct fx_tree_entry){(char *)"bin/run", mode2, hash_bytes(c2, strlen(c2))};
	t->t.dir = (char *)"/ws/svc";
	t->t.v = t->e;
	t->t.n = 2;
	struct fx_hasher *h = hasher_new();
	hasher_str(h, c1);
	hasher_str(h, c2);
	char mode[16];
	snprintf(mode, sizeof mode, "%o", mode2);
	hasher_str(h, mode);
	t->t.root = hasher_done(h);
}

static fx_hash
key_of(struct fx_manifest *m)
{
	return manifest_key(m, "build", 1);
}

static struct fx_manifest *
sample(void)
{
	struct fx_manifest *m = manifest_new();

	manifest_add(m, "arg:RUBY_VERSION", "3.3");
	manifest_add(m, "target", "dev");
	manifest_add(m, "file:values.yaml", "abcdef");
	return m;
}

static void
test_key_insertion_order(void **state)
{
	struct fx_manifest *a = sample();
	struct fx_manifest *b = manifest_new();

	manifest_add(b, "file:values.yaml", "abcdef");
	char *v = xasprintf("%d.%d", 3, 3);
	manifest_add(b, "arg:RUBY_VERSION", v);
	free(v);
	manifest_add(b, "target", "dev");
	assert_true(hash_eq(key_of(a), key_of(b)));
	/* computing the key again (now sorted) gives the same key */
	assert_true(hash_eq(key_of(a), key_of(a)));
	manifest_free(a);
	manifest_free(b);
}

static void
test_key_changes(void **state)
{
	struct fx_manifest *base = sample();
	fx_hash k = key_of(base);
	struct fx_manifest *m;

	/* a changed value */
	m = manifest_new();
	manifest_add(m, "arg:RUBY_VERSION", "3.4");
	manifest_add(m, "target", "dev");
	manifest_add(m, "file:values.yaml", "abcdef");
	assert_false(hash_eq(k, key_of(m)));
	manifest_free(m);

	/* a changed name, same value */
	m = manifest_new();
	manifest_add(m, "arg:RUBY_VERSIONS", "3.3");
	manifest_add(m, "target", "dev");
	manifest_add(m, "file:values.yaml", "abcdef");
	assert_false(hash_eq(k, key_of(m)));
	manifest_free(m);

	/* an extra entry, even an empty one */
	m = sample();
	manifest_add(m, "set:x", NULL);
	assert_false(hash_eq(k, key_of(m)));
	manifest_free(m);

	/* a missing entry */
	m = manifest_new();
	manifest_add(m, "arg:RUBY_VERSION", "3.3");
	manifest_add(m, "target", "dev");
	assert_false(hash_eq(k, key_of(m)));
	manifest_free(m);

	/* kind and version are part of the key */
	assert_false(hash_eq(k, manifest_key(base, "chart", 1)));
	assert_false(hash_eq(k, manifest_key(base, "build", 2)));
	assert_true(hash_eq(k, manifest_key(base, "build", 1)));
	manifest_free(base);
}

/* Name and value are framed, so moving a byte across the boundary matters. */
static void
test_key_framing(void **state)
{
	struct fx_manifest *a = manifest_new(), *b = manifest_new(), *e = manifest_new();

	manifest_add(a, "ab", "c");
	manifest_add(b, "a", "bc");
	assert_false(hash_eq(key_of(a), key_of(b)));
	/* an empty manifest still has a key, and it depends on the kind */
	assert_false(hash_eq(manifest_key(e, "build", 1), manifest_key(e, "load", 1)));
	manifest_free(a);
	manifest_free(b);
	manifest_free(e);
}

/* A tree contributes its prefix and root; its entries are not re-read. */
static void
test_key_tree_root_only(void **state)
{
	struct tree t1, t2, t3;
	struct fx_manifest *a = manifest_new(), *b = manifest_new(), *c = manifest_new(),
	    *d = manifest_new();

	tree_init(&t1, "FROM scratch", "#!/bin/sh", 0100755);
	t2 = t1;
	t2.t.v = t2.e;
	t2.e[0].hash = hash_bytes("other", 5);	/* entries differ, root kept */
	tree_init(&t3, "FROM scratch", "#!/bin/sh", 0100644);	/* root differs */
	manifest_add_tree(a, "src:", &t1.t);
	manifest_add_tree(b, "src:", &t2.t);
	manifest_add_tree(c, "src:", &t3.t);
	manifest_add_tree(d, "ctx:", &t1.t);
	assert_true(hash_eq(key_of(a), key_of(b)));
	assert_false(hash_eq(key_of(a), key_of(c)));
	assert_false(hash_eq(key_of(a), key_of(d)));
	manifest_free(a);
	manifest_free(b);
	manifest_free(c);
	manifest_free(d);
}

static void
test_serialize_exact(void **state)
{
	struct tree t;
	struct fx_manifest *m = manifest_new();
	char h0[FX_HASH_HEX], h1[FX_HASH_HEX];

	tree_init(&t, "FROM scratch", "#!/bin/sh", 0100755);
	hash_hex(t.e[0].hash, h0);
	hash_hex(t.e[1].hash, h1);
	manifest_add(m, "target", "dev");
	manifest_add_tree(m, "src:", &t.t);
	manifest_add(m, "arg:A", "1");
	char *s = manifest_serialize(m);
	char *want = xasprintf("#hashing 3\narg:A\t1\nsrc:Containerfile\t100644:%s\nsrc:bin/run\t100755:%s\n"
	    "target\tdev\n", h0, h1);
	assert_string_equal(s, want);
	free(want);
	free(s);
	manifest_free(m);

	m = manifest_new();
	s = manifest_serialize(m);
	assert_string_equal(s, "#hashing 3\n");
	free(s);
	manifest_free(m);
}

/* Tabs, newlines and backslashes are escaped so that a line stays a line. */
static void
test_serialize_escapes(void **state)
{
	struct fx_manifest *m = manifest_new();

	manifest_add(m, "set:msg", "a\tb\nc\\d");
	char *s = manifest_serialize(m);
	assert_string_equal(s, "#hashing 3\nset:msg\ta\\tb\\nc\\\\d\n");
	free(s);
	manifest_free(m);
}

static struct fx_change *
find_change(struct fx_changes *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].name, name) == 0)
			return &c->v[i];
	fail_msg("no change for %s", name);
	return NULL;
}

static void
assert_sorted(const struct fx_changes *c)
{
	for (size_t i = 1; i < c->n; i++)
		assert_true(strcmp(c->v[i - 1].name, c->v[i].name) < 0);
}

static void
test_diff_same(void **state)
{
	struct fx_manifest *m = sample();
	char *old = manifest_serialize(m);
	struct fx_changes c;

	manifest_diff(old, m, &c);
	assert_int_equal(c.n, 0);
	changes_free(&c);
	free(old);
	manifest_free(m);
}

static void
test_diff_add_modify_delete(void **state)
{
	struct tree t1, t2;
	struct fx_manifest *a = manifest_new(), *b = manifest_new();
	struct fx_changes c;
	char h_old[FX_HASH_HEX], h_new[FX_HASH_HEX];

	tree_init(&t1, "FROM scratch", "#!/bin/sh", 0100755);
	tree_init(&t2, "FROM scratch\nCOPY . /", "#!/bin/sh", 0100755);
	manifest_add(a, "arg:A", "1");
	manifest_add(a, "arg:GONE", "x");
	manifest_add(a, "target", "dev");
	manifest_add_tree(a, "src:", &t1.t);
	manifest_add(b, "arg:A", "2");
	manifest_add(b, "arg:NEW", "y");
	manifest_add(b, "target", "dev");
	manifest_add_tree(b, "src:", &t2.t);
	char *old = manifest_serialize(a);
	manifest_diff(old, b, &c);
	assert_int_equal(c.n, 4);
	assert_sorted(&c);

	struct fx_change *ch = find_change(&c, "arg:A");
	assert_int_equal(ch->op, 'M');
	assert_string_equal(change_verb(ch->op), "changed");
	assert_string_equal(ch->old, "1");
	assert_string_equal(ch->new, "2");
	ch = find_change(&c, "arg:GONE");
	assert_int_equal(ch->op, 'D');
	assert_string_equal(change_verb(ch->op), "removed");
	assert_string_equal(ch->old, "x");
	assert_null(ch->new);
	ch = find_change(&c, "arg:NEW");
	assert_int_equal(ch->op, 'A');
	assert_string_equal(change_verb(ch->op), "added");
	assert_null(ch->old);
	assert_string_equal(ch->new, "y");
	/* a tree reports the file that changed, not the tree */
	ch = find_change(&c, "src:Containerfile");
	assert_int_equal(ch->op, 'M');
	hash_hex(t1.e[0].hash, h_old);
	hash_hex(t2.e[0].hash, h_new);
	char *want_old = xasprintf("100644:%s", h_old), *want_new = xasprintf("100644:%s", h_new);
	assert_string_equal(ch->old, want_old);
	assert_string_equal(ch->new, want_new);
	free(want_old);
	free(want_new);
	changes_free(&c);
	assert_int_equal(c.n, 0);
	free(old);
	manifest_free(a);
	manifest_free(b);
}

/* Escaped values come back as they were, and an unchanged escaped value is
 * no change. */
static void
test_diff_restores_escapes(void **state)
{
	struct fx_manifest *a = manifest_new(), *b = manifest_new();
	struct fx_changes c;

	manifest_add(a, "set:msg", "a\tb\nc\\d\\");
	manifest_add(a, "set:same", "x\ty\\n");
	manifest_add(b, "set:msg", "a\tb\nc\\d\\\t");
	manifest_add(b, "set:same", "x\ty\\n");
	char *old = manifest_serialize(a);
	manifest_diff(old, b, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].op, 'M');
	assert_string_equal(c.v[0].name, "set:msg");
	assert_string_equal(c.v[0].old, "a\tb\nc\\d\\");
	assert_string_equal(c.v[0].new, "a\tb\nc\\d\\\t");
	changes_free(&c);
	free(old);
	manifest_free(a);
	manifest_free(b);
}

static void
test_diff_against_null(void **state)
{
	struct fx_manifest *m = sample();
	struct fx_changes c;

	manifest_diff(NULL, m, &c);
	assert_int_equal(c.n, 3);
	assert_sorted(&c);
	for (size_t i = 0; i < c.n; i++) {
		assert_int_equal(c.v[i].op, 'A');
		assert_null(c.v[i].old);
	}
	assert_string_equal(c.v[0].name, "arg:RUBY_VERSION");
	assert_string_equal(c.v[0].new, "3.3");
	assert_string_equal(c.v[2].name, "target");
	changes_free(&c);

	/* and an empty current manifest against a recording: all deleted */
	struct fx_manifest *e = manifest_new();
	char *old = manifest_serialize(m);
	manifest_diff(old, e, &c);
	assert_int_equal(c.n, 3);
	for (size_t i = 0; i < c.n; i++) {
		assert_int_equal(c.v[i].op, 'D');
		assert_null(c.v[i].new);
	}
	changes_free(&c);
	free(old);
	manifest_free(e);
	manifest_free(m);
}

/* Names that are prefixes of others: "a" sorts before "a-b" on both sides. */
static void
test_diff_prefix_names(void **state)
{
	struct fx_manifest *a = manifest_new(), *b = manifest_new();
	struct fx_changes c;

	manifest_add(a, "src:a", "1");
	manifest_add(a, "src:a-b", "1");
	manifest_add(a, "src:a/b", "1");
	manifest_add(b, "src:a-b", "2");
	manifest_add(b, "src:a/b", "1");
	manifest_add(b, "src:a.c", "1");
	char *old = manifest_serialize(a);
	manifest_diff(old, b, &c);
	assert_int_equal(c.n, 3);
	assert_sorted(&c);
	assert_int_equal(find_change(&c, "src:a")->op, 'D');
	assert_int_equal(find_change(&c, "src:a-b")->op, 'M');
	assert_int_equal(find_change(&c, "src:a.c")->op, 'A');
	changes_free(&c);
	free(old);
	manifest_free(a);
	manifest_free(b);
}

/*
 * Regression (fixed): manifest_diff (engine/manifest.c) walked the recorded lines in the
 * order of their escaped text ("name TAB value", sorted whole) while it
 * compares the unescaped names with strcmp, and the two orders disagree
 * when a name holds a tab or newline (escaped, it moves from byte 9/10 to
 * '\\' = 92) or a byte below TAB after a common prefix. For files "a<TAB>b"
 * and "aZ" the lines sort "aZ" first but strcmp puts "a<TAB>b" first, so the
 * merge reports a file that is in both manifests as added and deleted.
 * Such names are legal file names in a build context.
 */
static void
test_diff_escaped_names(void **state)
{
	struct fx_manifest *a = manifest_new(), *b = manifest_new();
	struct fx_changes c;

	manifest_add(a, "src:a\tb", "1");
	manifest_add(a, "src:aZ", "1");
	manifest_add(b, "src:a\tb", "1");
	char *old = manifest_serialize(a);
	manifest_diff(old, b, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].op, 'D');
	assert_string_equal(c.v[0].name, "src:aZ");
	changes_free(&c);
	free(old);
	manifest_free(a);
	manifest_free(b);
}

/*
 * Hashing version 2 (issue 10): every key carries FX_HASHING, so no key
 * made the version 1 way can equal today's, and every record says how it
 * was made, so that a record without the header reads as version 1.
 */
static void
test_hashing_version(void **state)
{
	struct fx_manifest *m = manifest_new();
	manifest_add(m, "arg:A", "1");

	/* the key of version 1: "fusion-key-1", kind, version, entries */
	struct fx_hasher *h = hasher_new();
	hasher_str(h, "fusion-key-1");
	hasher_str(h, "build");
	hasher_str(h, "1");
	hasher_str(h, "arg:A");
	hasher_str(h, "1");
	fx_hash v1 = hasher_done(h);
	assert_false(hash_eq(key_of(m), v1));
	assert_int_equal(FX_HASHING, 3);

	/* a record says its version; version 1 wrote no header */
	char *s = manifest_serialize(m);
	assert_int_equal(manifest_hashing(s), FX_HASHING);
	assert_int_equal(manifest_hashing("arg:A\t1\n"), 1);
	assert_int_equal(manifest_hashing(""), 1);
	assert_int_equal(manifest_hashing(NULL), 1);
	assert_int_equal(manifest_hashing("#hashing 7\narg:A\t1\n"), 7);
	/* an entry named "#hashing 3" (it has a TAB) is no header */
	assert_int_equal(manifest_hashing("#hashing 3\tx\n"), 1);

	/* the header is no entry: a record diffs as its entries */
	struct fx_changes c;
	manifest_diff(s, m, &c);
	assert_int_equal(c.n, 0);
	changes_free(&c);
	manifest_diff("arg:A\t1\n", m, &c);
	assert_int_equal(c.n, 0);
	changes_free(&c);
	manifest_diff("#hashing 3\tx\narg:A\t1\n", m, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].op, 'D');
	assert_string_equal(c.v[0].name, "#hashing 3");
	changes_free(&c);
	free(s);
	manifest_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_insertion_order),
		cmocka_unit_test(test_key_changes),
		cmocka_unit_test(test_key_framing),
		cmocka_unit_test(test_key_tree_root_only),
		cmocka_unit_test(test_serialize_exact),
		cmocka_unit_test(test_serialize_escapes),
		cmocka_unit_test(test_diff_same),
		cmocka_unit_test(test_diff_add_modify_delete),
		cmocka_unit_test(test_diff_restores_escapes),
		cmocka_unit_test(test_diff_against_null),
		cmocka_unit_test(test_diff_prefix_names),
		cmocka_unit_test(test_diff_escaped_names),
		cmocka_unit_test(test_hashing_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
