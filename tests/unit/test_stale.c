/*
 * test_stale.c - staleness (stale.h) with a fake node kind whose inputs()
 * adds one configurable entry: never ran, fresh with its recorded output,
 * changed key and the reason given, --force, --verify's missing output,
 * pending through input edges but not order-only ones, and inputs() failing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/cache.h"
#include "fusion/graph.h"
#include "fusion/manifest.h"
#include "fusion/stale.h"
#include "fusion/util.h"

#define TESTDIR_NAME "stale"
#include "testdir.h"

/* What the fake kind reads from a node's data. */
struct fake {
	const char *value;	/* the "arg:version" entry */
	const char *fail;	/* non-NULL: inputs() fails with this message */
	int calls;
};

static int
fake_inputs(struct fx_node *n, void *ctx, struct fx_manifest *m, struct fx_buf *msg)
{
	struct fake *f = n->data;

	f->calls++;
	if (f->fail) {
		buf_puts(msg, f->fail);
		return -1;
	}
	manifest_add(m, "arg:version", f->value);
	return 0;
}

/* The kind's own words for its entries: "arg:X" is a version here. */
static enum fx_said
fake_describe(const struct fx_change *c, bool brief, struct fx_buf *out)
{
	if (strncmp(c->name, "arg:", 4) != 0)
		return FX_SAID_NOTHING;
	buf_printf(out, "fake %s %s", c->name + 4, brief ? change_verb(c->op) : "moved");
	return FX_SAID_VALUE;
}

static const struct fx_kind kind = {.name = "fake", .version = 1, .inputs = fake_inputs,
    .describe = fake_describe};
static const struct fx_kind kind_v2 = {.name = "fake", .version = 2, .inputs = fake_inputs};

/* Test state: a graph, the records map and the eval that reads it. */
struct world {
	struct fx_graph *g;
	struct fx_map records;
	struct fx_eval ev;
	struct fx_cache *cache;
	char *dir;
	struct fake data[8];
	int exists_calls;
	bool exists_answer;
};

static int
setup(void **state)
{
	struct world *w = xcalloc(1, sizeof(*w));

	w->g = graph_new();
	map_init(&w->records, 8);
	w->ev.records = &w->records;
	w->ev.ctx = w;
	for (size_t i = 0; i < FX_NELEM(w->data); i++)
		w->data[i].value = "1";
	*state = w;
	return 0;
}

static int
teardown(void **state)
{
	struct world *w = *state;

	cache_free_records(&w->records);
	graph_free(w->g);
	cache_close(w->cache);
	if (w->dir)
		tmpdir_free(w->dir);
	free(w);
	return 0;
}

static struct fx_node *
add(struct world *w, const char *target)
{
	struct fx_node *n = graph_add(w->g, &kind, target, NULL, &w->data[w->g->n]);

	n->selected = true;
	return n;
}

/* Record a last success for n with the key its inputs give now (or `key`). */
static void
record(struct world *w, struct fx_node *n, const char *key, const char *output,
    const char *output_hash)
{
	struct fx_record *r = xcalloc(1, sizeof(*r));

	if (!key) {
		struct fx_buf msg = {0};
		struct fx_manifest *m = stale_inputs(n, w, &msg);
		assert_non_null(m);
		manifest_free(m);
		buf_free(&msg);
		key = n->key;
	}
	r->id = xstrdup(n->id);
	r->key = xstrdup(key);
	r->output = xstrdup(output);
	r->output_hash = xstrdup(output_hash);
	r->log = xstrdup("");
	struct fx_record *old = map_put(&w->records, r->id, r);
	assert_null(old);
	n->key[0] = '\0';
}

static bool
fake_exists(struct fx_node *n, const char *output, void *ctx)
{
	struct world *w = ctx;

	w->exists_calls++;
	assert_string_equal(output, "img-1");
	return w->exists_answer;
}

static void
assert_key_hex(const struct fx_node *n)
{
	assert_int_equal(strlen(n->key), 32);
	assert_int_equal(strspn(n->key, "0123456789abcdef"), 32);
}

static void
test_never_ran(void **state)
{
	struct world *w = *state;
	struct fx_node *n = add(w, "a");

	stale_decide(n, &w->ev, NULL);
	assert_int_equal(n->state, FX_STALE);
	assert_string_equal(n->reason, "never ran");
	assert_key_hex(n);
	assert_false(n->have_out);
}

static void
test_fresh_loads_output(void **state)
{
	struct world *w = *state;
	struct fx_node *n = add(w, "a");
	fx_hash h = hash_bytes("sha256:abc", 10);
	char hex[FX_HASH_HEX];
	struct fx_manifest *m = NULL;

	hash_hex(h, hex);
	record(w, n, NULL, "img-1", hex);
	stale_decide(n, &w->ev, &m);
	assert_int_equal(n->state, FX_FRESH);
	assert_null(n->reason);
	assert_true(n->have_out);
	assert_string_equal(n->out.value, "img-1");
	assert_true(hash_eq(n->out.hash, h));
	/* the manifest is handed over for recording */
	assert_non_null(m);
	char *s = manifest_serialize(m);
	assert_string_equal(s, "#hashing 3\narg:version\t1\n");
	free(s);
	manifest_free(m);
}

/* A record whose output hash does not parse falls back to the output's own
 * digest, so dependents still get a stable input. */
static void
test_fresh_bad_output_hash(void **state)
{
	struct world *w = *state;
	struct fx_node *n = add(w, "a");

	record(w, n, NULL, "rev-7", "not-a-hash");
	stale_decide(n, &w->ev, NULL);
	assert_int_equal(n->state, FX_FRESH);
	assert_true(hash_eq(n->out.hash, hash_bytes("rev-7", 5)));
}

static void
test_changed_key_no_cache(void **state)
{
	struct world *w = *state;
	struct fx_node *n = add(w, "a");

	record(w, n, NULL, "img-1", "");
	w->data[0].value = "2";
	stale_decide(n, &w->ev, NULL);
	assert_int_equal(n->state, FX_STALE);
	assert_string_equal(n->reason, "inputs changed");
	assert_false(n->have_out);
}

/*
 * Give w a state database and record n's inputs now as its last success,
 * under `key` (NULL: n's own) and without the first `skip` bytes of its
 * manifest.
 */
static void
record_inputs(struct world *w, struct fx_node *n, char *key, size_t skip)
{
	struct fx_buf msg = {0};

	w->dir = tmpdir_new();
	w->cache = cache_open(w->dir);
	assert_non_null(w->cache);
	w->ev.cache = w->cache;
	struct fx_manifest *m = stale_inputs(n, w, &msg);
	char *ser = manifest_serialize(m);
	assert_true(strlen(ser) >= skip);
	struct fx_record r = {.id = n->id, .key = key ? key : n->key, .output = "img-1",
	    .output_hash = "", .log = "", .run_id = 1};
	assert_int_equal(cache_put_success(w->cache, &r, ser + skip, "ran"), 0);
	free(ser);
	manifest_free(m);
	buf_free(&msg);
	cache_free_records(&w->records);	/* load into a fresh map */
	assert_int_equal(cache_load_records(w->cache, &w->records), 0);
}

/* With the database, the reason names what changed. */
static void
test_changed_key_summary(void **state)
{
	struct world *w = *state;
	struct fx_node *n = add(w, "a");

	record_inputs(w, n, NULL, 0);
	w->data[0].value = "2";
	stale_decide(n, &w->ev, NULL);
	assert_int_equal(n->state, FX_STALE);
	assert_string_equal(n->reason, "fake version changed");	/* the kind's words */

	/* same inputs, new kind version: nothing in the manifest moved */
	w->data[0].value = "1";
	n->kind = &kind_v2;
	stale_decide(n, &w->ev, NULL);
	assert_int_equal(n->state, FX_STALE);
	assert_string_equal(n->reason, "rule changed");
}

/* A record made before fusion's hashing changed (issue 10): its key can
 * never match, and the reason says why rather than naming every file. */
static void
test_old_hashing(void **state)
{
	struct world *w = *state;
	struct fx_node *n = add(w, "a");

	/* as version 1 recorded it: no "#hashing" line, another key */
	char old_key[] = "0123456789abcdef0123456789abcdef";
	record_inputs(w, n, old_key, strlen("#hashing 3\n"));
	stale_decide(n, &w->ev, NULL);
	assert_int_equal(n->state, FX_STALE);
	assert_string_equal(n->reason, "fusion's hashing changed");
}

static void
test_force(void **state)
{
	struct world *w = *state;
	struct fx_node *n = add(w, "a");

	record(w, n, NULL, "img-1", "");
	w->ev.force = true;
	stale_decide(n, &w->ev, NULL);
	assert_int_equal(n->state, FX_STALE);
	assert_string_equal(n->reason, "forced");
	assert_key_hex(n);
	/* a changed key still says what changed, not "forced" */
	w->data[0].value = "2";
	stale_decide(n, &w->ev, NULL);
	assert_string_equal(n->reason, "inputs changed");
}

static void
test_verify_output_missing(void **state)
{
	struct world *w = *state;
	struct fx_node *n = add(w, "a");

	record(w, n, NULL, "img-1", "");
	w->ev.exists = fake_exists;
	w->exists_answer = false;
	/* without --verify, the record is trusted */
	stale_decide(n, &w->ev, NULL);
	assert_int_equal(n->state, FX_FRESH);
	assert_int_equal(w->exists_calls, 0);
	w->ev.verify = true;
	stale_decide(n, &w->ev, NULL);
	assert_int_equal(n->state, FX_STALE);
	assert_string_equal(n->reason, "output missing");
	assert_int_equal(w->exists_calls, 1);

	w->exists_answer = true;
	stale_decide(n, &w->ev, NULL);
	assert_int_equal(n->state, FX_FRESH);
	assert_null(n->reason);
	assert_int_equal(w->exists_calls, 2);

	/* never-ran nodes have nothing to verify */
	struct fx_node *m = add(w, "b");
	stale_decide(m, &w->ev, NULL);
	assert_string_equal(m->reason, "never ran");
	assert_int_equal(w->exists_calls, 2);
}

/* A kind whose output is a local file (check_always) is checked on every
 * evaluation, --verify or not; the others only under --verify. */
static void
test_check_always(void **state)
{
	static const struct fx_kind cheap = {.name = "cheap", .version = 1,
	    .inputs = fake_inputs, .check_always = true};
	struct world *w = *state;
	struct fx_node *n = graph_add(w->g, &cheap, "a", NULL, &w->data[0]);
	struct fx_node *o = add(w, "b");

	n->selected = true;
	record(w, n, NULL, "img-1", "");
	record(w, o, NULL, "img-1", "");
	w->ev.exists = fake_exists;
	w->exists_answer = false;
	stale_decide(n, &w->ev, NULL);
	assert_int_equal(n->state, FX_STALE);
	assert_string_equal(n->reason, "output missing");
	stale_decide(o, &w->ev, NULL);
	assert_int_equal(o->state, FX_FRESH);
	assert_int_equal(w->exists_calls, 1);
	w->exists_answer = true;
	stale_decide(n, &w->ev, NULL);
	assert_int_equal(n->state, FX_FRESH);
	assert_int_equal(w->exists_calls, 2);
}

static void
test_inputs_failure(void **state)
{
	struct world *w = *state;
	struct fx_node *n = add(w, "a");
	struct fx_manifest *m = (struct fx_manifest *)w;

	record(w, n, NULL, "img-1", "");
	w->data[0].fail = "values.yaml: No such file or directory";
	stale_decide(n, &w->ev, &m);
	assert_null(m);
	assert_int_equal(n->state, FX_STALE);
	assert_string_equal(n->reason, "values.yaml: No such file or directory");
	assert_string_equal(n->key, "");
	assert_false(n->have_out);
}

/* An input edge's output is part of the key; an order-only edge's is not. */
static void
test_dep_output_in_key(void **state)
{
	struct world *w = *state;
	struct fx_node *a = add(w, "a"), *b = add(w, "b"), *o = add(w, "o");
	struct fx_buf msg = {0};
	char k1[FX_HASH_HEX], k2[FX_HASH_HEX];

	graph_edge(a, b);
	graph_order(o, b);
	a->out.hash = hash_bytes("x", 1);
	o->out.hash = hash_bytes("p", 1);
	struct fx_manifest *m = stale_inputs(b, w, &msg);
	assert_non_null(m);
	char *s = manifest_serialize(m);
	char hx[FX_HASH_HEX];
	hash_hex(a->out.hash, hx);
	char *want = xasprintf("#hashing 3\narg:version\t1\ndep:fake:a\t%s\n", hx);
	assert_string_equal(s, want);
	free(want);
	free(s);
	manifest_free(m);
	strcpy(k1, b->key);

	o->out.hash = hash_bytes("q", 1);
	manifest_free(stale_inputs(b, w, &msg));
	assert_string_equal(b->key, k1);

	a->out.hash = hash_bytes("y", 1);
	manifest_free(stale_inputs(b, w, &msg));
	strcpy(k2, b->key);
	assert_string_not_equal(k1, k2);
	buf_free(&msg);
}

/*
 * a -> b -> c (input edges), a ..> d (order-only), e alone.
 * a never ran; everything else has a matching record.
 */
static void
test_pending(void **state)
{
	struct world *w = *state;
	struct fx_node *a = add(w, "a"), *b = add(w, "b"), *c = add(w, "c"), *d = add(w, "d"),
	    *e = add(w, "e");
	struct fx_node **order;

	graph_edge(a, b);
	graph_edge(b, c);
	graph_order(a, d);
	record(w, d, NULL, "out-d", "");
	record(w, e, NULL, "out-e", "");
	record(w, b, "00000000000000000000000000000000", "out-b", "");
	record(w, c, "00000000000000000000000000000000", "out-c", "");
	assert_int_equal(graph_topo(w->g, &order, NULL), 0);
	stale_evaluate(order, w->g->n, &w->ev);
	free(order);

	assert_int_equal(a->state, FX_STALE);
	assert_int_equal(b->state, FX_PENDING);
	assert_string_equal(b->reason, "fake:a will run");
	assert_int_equal(c->state, FX_PENDING);
	assert_string_equal(c->reason, "fake:b may run");
	/* pending nodes are not evaluated: their inputs are not known yet */
	assert_int_equal(w->data[1].calls, 0);
	assert_int_equal(w->data[2].calls, 0);
	/* an order-only edge does not make d pending */
	assert_int_equal(d->state, FX_FRESH);
	assert_string_equal(d->out.value, "out-d");
	assert_int_equal(e->state, FX_FRESH);
}

/* Unselected nodes are left alone. */
static void
test_evaluate_selection(void **state)
{
	struct world *w = *state;
	struct fx_node *a = add(w, "a"), *b = add(w, "b");
	struct fx_node **order;

	b->selected = false;
	assert_int_equal(graph_topo(w->g, &order, NULL), 0);
	stale_evaluate(order, w->g->n, &w->ev);
	free(order);
	assert_int_equal(a->state, FX_STALE);
	assert_int_equal(b->state, FX_UNKNOWN);
	assert_int_equal(w->data[1].calls, 0);
}

/* A reason names the first change, in the kind's words where it has them,
 * else in words made from the entry's name; the engine words its own
 * "dep:" entries. */
static void
test_summary_words(void **state)
{
	struct fx_change v[] = {
		{'M', (char *)"src:app/main.rb", (char *)"1", (char *)"2"},
		{'A', (char *)"arg:X", NULL, (char *)"3"},
		{'D', (char *)"values", (char *)"v", NULL},
		{'M', (char *)"namespace:", (char *)"a", (char *)"b"},
		{'M', (char *)"dep:build:x", (char *)"h1", (char *)"h2"},
	};
	struct fx_node own = {.kind = &kind}, bare = {.kind = &kind_v2};
	struct fx_changes c = {v, 1};
	struct fx_buf b = {0};
	char *s;

	s = stale_summary(&own, &c);
	assert_string_equal(s, "app/main.rb changed");
	free(s);
	c.n = 3;
	s = stale_summary(&own, &c);
	assert_string_equal(s, "app/main.rb changed (+2 more)");
	free(s);
	c.v = &v[1];
	c.n = 1;
	s = stale_summary(&own, &c);
	assert_string_equal(s, "fake X added");
	free(s);
	s = stale_summary(&bare, &c);	/* no describe: the name's words */
	assert_string_equal(s, "X added");
	free(s);
	c.v = &v[2];
	s = stale_summary(&own, &c);
	assert_string_equal(s, "values removed");
	free(s);
	c.v = &v[3];
	s = stale_summary(&own, &c);
	assert_string_equal(s, "namespace changed");
	free(s);
	c.v = &v[4];
	s = stale_summary(&own, &c);
	assert_string_equal(s, "build:x changed");
	free(s);
	c.n = 0;
	s = stale_summary(&own, &c);
	assert_string_equal(s, "inputs changed");
	free(s);

	/* the long form, as `why` prints it */
	assert_int_equal(stale_describe(&own, &v[1], false, &b), FX_SAID_VALUE);
	assert_string_equal(b.s, "fake X moved");
	buf_reset(&b);
	stale_describe(&bare, &v[1], false, &b);
	assert_string_equal(b.s, "arg:X added: 3");
	buf_reset(&b);
	stale_describe(&own, &v[3], false, &b);
	assert_string_equal(b.s, "namespace: a -> b");
	buf_reset(&b);
	stale_describe(&own, &v[4], false, &b);
	assert_string_equal(b.s, "upstream build:x produced a new output");
	buf_free(&b);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_never_ran),
		T(test_fresh_loads_output),
		T(test_fresh_bad_output_hash),
		T(test_changed_key_no_cache),
		T(test_changed_key_summary),
		T(test_old_hashing),
		T(test_force),
		T(test_verify_output_missing),
		T(test_check_always),
		T(test_inputs_failure),
		T(test_dep_output_in_key),
		T(test_pending),
		T(test_evaluate_selection),
		cmocka_unit_test(test_summary_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
