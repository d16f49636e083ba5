/*
 * build.c - the build node: `podman build -f F --iidfile ID [--build-arg
 * K=V] [--target T] CTX`, then `podman tag ID localhost/IMAGE:fx-<id16>`.
 *
 * Its key is the context tree after the ignore rules, the containerfile and
 * the ignore file (both always count, even when outside the context or
 * ignored), the catalog's extra ignore patterns, the args, the target, the
 * builder and the image name. Its output is the image ID: a rebuild that
 * yields the same image (podman's layer cache, a changed file that is never
 * copied) keeps the tag, and everything downstream stays fresh.
 *
 * It is shareable: its blob in the shared cache is the image archive, and
 * a restored image has the ID, and so the tag, it had where it was built.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/builder.h"
#include "fusion/containerfile.h"
#include "fusion/diag.h"
#include "fusion/imagearchive.h"
#include "fusion/ignore.h"
#include "fusion/manifest.h"
#include "fusion/rules.h"
#include "fusion/walk.h"

/* Paths in the manifest are relative to the repo, as `why` shows them. */
static char *
repo_rel(const struct fx_svc *s, const char *abs, const char *prefix, bool dir)
{
	const char *rel = path_under(abs, s->repo);

	if (!rel)
		rel = abs;
	return xasprintf("%s%s%s", prefix, rel, dir && *rel ? "/" : "");
}

/* File names with a newline, a control character or bytes that are not
 * UTF-8 are built and hashed as they are (the builders send them), but
 * many tools choke on them: say so, once a run. */
static void
tell_odd_names(const struct fx_node *n, const struct fx_tree *t)
{
	size_t odd = 0, first = 0;

	for (size_t i = 0; i < t->n; i++)
		if (!name_is_plain(t->v[i].path) && !strpbrk(t->v[i].path, "\"\\") && odd++ == 0)
			first = i;
	if (!odd)
		return;
	struct fx_buf b = {0};
	buf_put_name(&b, t->v[first].path);
	fx_warn("%s: %zu file name%s in the build context hold%s a newline, a control character or "
	    "bytes that are not UTF-8 (%s%s); they are hashed as they are, and shown escaped",
	    n->id, odd, odd == 1 ? "" : "s", odd == 1 ? "s" : "", b.s, odd > 1 ? ", ..." : "");
	buf_free(&b);
}

static int
build_inputs(struct fx_node *n, void *ctx, struct fx_manifest *m, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	struct fx_rule_node *d = n->data;
	struct fx_svc *s = d->svc;

	if (!d->context || d->context->err || !d->file || d->file->err) {
		buf_printf(msg, "cannot read the build context or containerfile of %s", s->name);
		return -1;
	}
	char *prefix = repo_rel(s, s->build.context, "file:", true);
	manifest_add_tree(m, prefix, d->context);
	free(prefix);
	if (!d->names_told)
		tell_odd_names(n, d->context);
	d->names_told = true;

	char *name = repo_rel(s, s->build.file, "containerfile:", false);
	char *dig = rules_file_digest(d->file);
	manifest_add(m, name, dig);
	free(name);
	free(dig);
	if (d->ignore_tree) {
		name = repo_rel(s, d->ignore_file, "ignorefile:", false);
		dig = rules_file_digest(d->ignore_tree);
		manifest_add(m, name, dig);
		free(name);
		free(dig);
	}
	for (size_t i = 0; i < s->build.ignore.n; i++) {
		char key[32];
		snprintf(key, sizeof key, "ignore:%03zu", i);
		manifest_add(m, key, s->build.ignore.v[i]);
	}
	for (size_t i = 0; i < s->build.args.n; i++) {
		char *k = xasprintf("arg:%s", s->build.args.v[i].key);
		manifest_add(m, k, s->build.args.v[i].value);
		free(k);
	}
	if (s->build.target)
		manifest_add(m, "target:", s->build.target);
	manifest_add(m, "builder:", builder_bin(r->cat));
	manifest_add(m, "image:", s->image);
	rules_build_inputs(r, d, m);
	return 0;
}

/* The words for what build_inputs() wrote. */
static enum fx_said
build_describe(const struct fx_change *c, bool brief, struct fx_buf *out)
{
	const char *rest;
	const char *value = c->op == 'A' || c->op == 'M' ? c->new : c->old;

	if ((rest = rules_after(c->name, "file:")))
		return rules_say_file(c, rest, "", brief, out);
	if ((rest = rules_after(c->name, "containerfile:")) ||
	    (rest = rules_after(c->name, "ignorefile:"))) {
		if (brief)
			buf_printf(out, "%s %s", rest, change_verb(c->op));
		else
			buf_printf(out, "%c %s (%s)", c->op, rest,
			    c->name[0] == 'c' ? "containerfile" : "ignore file");
		return FX_SAID_VALUE;
	}
	if (rules_after(c->name, "ignore:")) {
		if (brief)
			buf_printf(out, "build.ignore pattern %s %s", value, change_verb(c->op));
		else
			buf_printf(out, "build.ignore pattern %s: %s", change_verb(c->op), value);
		return FX_SAID_VALUE;
	}
	if ((rest = rules_after(c->name, "arg:"))) {
		char *what = xasprintf("build arg %s", rest);
		rules_say_value(c, what, brief, out);
		free(what);
		return FX_SAID_VALUE;
	}
	if (strcmp(c->name, "target:") == 0)
		return rules_say_value(c, "build target", brief, out);
	return rules_say_build_extra(c, brief, out);
}

/* The builder's own ignore file followed by the catalog's build.ignore
 * (and the state directory, when it lies in the context: last, so that no
 * exception re-includes it), as one file at `path`, each piece as the
 * builder will read it. */
int
rules_write_ignorefile(struct fx_rules *r, struct fx_rule_node *d, const char *path,
    void (*put)(const char *text, size_t len, struct fx_buf *out), struct fx_buf *msg)
{
	struct fx_buf text = {0}, line = {0};
	char *old;
	size_t len;
	int rc = 0;

	if (d->ignore_file && read_file(d->ignore_file, &old, &len) == 0) {
		put(old, len, &text);
		buf_putc(&text, '\n');
		free(old);
	}
	for (size_t i = 0; i <= d->svc->build.ignore.n; i++) {
		const char *pat = i < d->svc->build.ignore.n ? d->svc->build.ignore.v[i] :
		    d->state_pattern;	/* last: no exception re-includes it */
		if (!pat)
			break;
		buf_reset(&line);
		buf_printf(&line, "%s\n", pat);
		put(line.s, line.len, &text);
	}
	buf_free(&line);
	if (!r->dry_run && write_file_atomic(path, text.s ? text.s : "", text.len) < 0) {
		buf_printf(msg, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	buf_free(&text);
	return rc;
}

static int
build_cmd(struct fx_rules *r, struct fx_rule_node *d, struct fx_cmd *cmd, struct fx_buf *msg)
{
	struct fx_svc *s = d->svc;
	char *name = xasprintf("%s.iid", s->name);
	char *iid = rules_artifact(r, name);
	struct fx_strv *a = &cmd->argv, flags = {0};
	char *file = NULL;

	free(name);
	/* The catalog's build.ignore (and the state directory, when in the
	 * context) reaches each builder its own way. */
	if (s->build.ignore.n == 0 && !d->state_pattern)
		file = xstrdup(s->build.file);
	else if (builder_of(r->cat)->extra_ignore(r, d, &file, &flags, msg) < 0) {
		free(iid);
		strv_free(&flags);
		return -1;
	}
	if (!r->dry_run)
		unlink(iid);	/* never read a previous build's ID */
	strv_push(a, builder_bin(r->cat));
	strv_push(a, "build");
	strv_push(a, "-f");
	strv_take(a, file);
	strv_push(a, "--iidfile");
	strv_take(a, iid);
	for (size_t i = 0; i < s->build.args.n; i++) {
		strv_push(a, "--build-arg");
		strv_take(a, xasprintf("%s=%s", s->build.args.v[i].key, s->build.args.v[i].value));
	}
	if (s->build.target) {
		strv_push(a, "--target");
		strv_push(a, s->build.target);
	}
	/* podman's layer cache ignores what a bind mount holds
	 * (containers/buildah#5400): a rerun must redo those steps. */
	if (d->cf && d->cf->binds.n > 0)
		strv_push(a, "--no-cache");
	for (size_t i = 0; i < flags.n; i++)
		strv_push(a, flags.v[i]);
	strv_free(&flags);
	strv_push(a, "--");	/* a context is never an option, whatever its name */
	strv_push(a, s->build.context);
	return 0;
}

static char *
read_iid(struct fx_rules *r, const struct fx_svc *s, struct fx_buf *msg)
{
	char *name = xasprintf("%s.iid", s->name);
	char *path = rules_artifact(r, name);
	char *id;
	size_t len;

	free(name);
	/* The builder wrote it with its umask (podman: 0644); the state's
	 * files are 0600 (statedir.h). */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		fchmod(fd, 0600);
		close(fd);
	}
	if (read_file(path, &id, &len) < 0) {
		buf_printf(msg, "%s: no image ID (%s)", path, strerror(errno));
		free(path);
		return NULL;
	}
	free(path);
	while (len > 0 && (id[len - 1] == '\n' || id[len - 1] == ' '))
		id[--len] = '\0';
	if (len == 0) {
		buf_puts(msg, "the builder wrote an empty image ID");
		free(id);
		return NULL;
	}
	return id;
}

static enum fx_step
build_step(struct fx_node *n, void *ctx, int step, int status, struct fx_cmd *cmd,
    struct fx_output *out, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	struct fx_rule_node *d = n->data;
	const char *bin = builder_bin(r->cat);

	if (status != 0) {
		buf_printf(msg, "%s %s exited with status %d", bin, step == 1 ? "build" : "tag",
		    status);
		return FX_STEP_FAIL;
	}
	if (step == 0)
		return build_cmd(r, d, cmd, msg) < 0 ? FX_STEP_FAIL : FX_STEP_RUN;
	char *id = read_iid(r, d->svc, msg);
	if (!id)
		return FX_STEP_FAIL;
	if (step == 1) {
		strv_push(&cmd->argv, bin);
		strv_push(&cmd->argv, "tag");
		strv_push(&cmd->argv, "--");
		strv_push(&cmd->argv, id);
		strv_take(&cmd->argv, rules_image_ref(d->svc, id));
		free(id);
		return FX_STEP_RUN;
	}
	out->value = id;
	out->hash = hash_bytes(id, strlen(id));
	return FX_STEP_DONE;
}

/* The shared cache's blob of a build: the image archive, saved by its tag
 * (so that the tag travels with it). podman: an OCI archive, which keeps the
 * image ID (the digest of its config); docker: docker save's archive. */
static enum fx_step
build_pack(struct fx_node *n, void *ctx, int step, int status, const char *blob,
    struct fx_cmd *cmd, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	struct fx_rule_node *d = n->data;

	if (status != 0) {
		buf_printf(msg, "%s save exited with status %d", builder_bin(r->cat), status);
		return FX_STEP_FAIL;
	}
	if (step > 0)
		return FX_STEP_DONE;
	char *ref = rules_image_ref(d->svc, n->out.value);
	builder_save_argv(r->cat, ref, "oci-archive", blob, &cmd->argv);
	free(ref);
	return FX_STEP_RUN;
}

/* Load the archive, then tag the image ID the record names: a tag that
 * fails means the archive did not hold that image, and the build runs. */
static enum fx_step
build_unpack(struct fx_node *n, void *ctx, int step, int status, const char *blob,
    const char *value, struct fx_cmd *cmd, struct fx_output *out, struct fx_buf *msg)
{
	struct fx_rules *r = ctx;
	struct fx_rule_node *d = n->data;
	const char *bin = builder_bin(r->cat);

	if (status != 0) {
		buf_printf(msg, "%s %s exited with status %d", bin, step == 1 ? "load" : "tag",
		    status);
		return FX_STEP_FAIL;
	}
	if (step == 0 && !rules_is_image_id(value)) {
		buf_puts(msg, "its record's output is not an image ID");
		return FX_STEP_FAIL;
	}
	if (step == 0) {
		/* What it would name, before it is loaded: only the node's own
		 * tag, never another of the user's names. */
		char *ref = rules_image_ref(d->svc, value);
		int ok = image_archive_check(blob, ref, msg);
		free(ref);
		if (ok < 0)
			return FX_STEP_FAIL;
		builder_load_argv(r->cat, blob, &cmd->argv);
		return FX_STEP_RUN;
	}
	if (step == 1) {
		strv_push(&cmd->argv, bin);
		strv_push(&cmd->argv, "tag");
		strv_push(&cmd->argv, "--");
		strv_push(&cmd->argv, value);
		strv_take(&cmd->argv, rules_image_ref(d->svc, value));
		return FX_STEP_RUN;
	}
	out->value = xstrdup(value);
	out->hash = hash_bytes(value, strlen(value));
	return FX_STEP_DONE;
}

static bool
build_wants(const struct fx_svc *s)
{
	return !s->shared;
}

/* The context with its ignore rules, the containerfile, the ignore file,
 * and what the Containerfile reads beyond them (rules/buildreads.c). */
static int
build_sources(struct fx_rules *r, struct fx_node *n)
{
	struct fx_rule_node *d = n->data;

	if (!d->ignore && rules_load_ignore(r, d) < 0)
		return -1;
	d->context = walk_tree(r->walk, d->svc->build.context, builder_of(r->cat)->view, d->ignore,
	    d->ignore_key);
	d->file = walk_file(r->walk, d->svc->build.file);
	if (d->ignore_file)
		d->ignore_tree = walk_file(r->walk, d->ignore_file);
	rules_build_sources(r, d);
	return 0;
}

static void
build_each_source(struct fx_node *n, void (*fn)(void *ctx, const struct fx_source *src),
    void *ctx)
{
	struct fx_rule_node *d = n->data;
	struct fx_svc *s = d->svc;
	char *p;

	fn(ctx, &(struct fx_source){s->build.context, false, d->ignore,
	    d->ignore_key ? d->ignore_key : "", d->context, n});
	fn(ctx, &(struct fx_source){s->build.file, true, NULL, "", d->file, n});
	/* Creating an ignore file the builder reads changes the rules, even
	 * one that ignores itself. */
	for (size_t k = 0; (p = rules_ignore_path(s, d->builder, k)); k++) {
		bool is = d->ignore_file && strcmp(p, d->ignore_file) == 0;
		fn(ctx, &(struct fx_source){p, true, NULL, "", is ? d->ignore_tree : NULL, n});
		free(p);
	}
}

/* A recorded output that is no image ID (an imported record may say
 * anything) is no output: the build runs again. */
static bool
build_exists(struct fx_rules *r, struct fx_node *n, const char *output)
{
	if (!rules_is_image_id(output)) {
		fx_warn("%s: its recorded output is not an image ID; building it again", n->id);
		return false;
	}
	return rules_have_image(r, output);
}

/* A build takes no other node's output. */
static const struct fx_rule_kind *const build_from[] = {NULL};

const struct fx_rule_kind kind_build = {
	.kind = {
		.name = "build",
		.version = 1,
		.shape = "box",
		.keyed = true,	/* tagged localhost/IMAGE:fx-<id16>: the images of several keys
				 * coexist */
		.limit = 2,
		.inputs = build_inputs,
		.step = build_step,
		.describe = build_describe,
		.pack = build_pack,
		.unpack = build_unpack,
	},
	.from = build_from,
	.roles = FX_ROLE_IMAGE | FX_ROLE_REPO,
	.never_ran = "never built",
	.wants = build_wants,
	.sources = build_sources,
	.each_source = build_each_source,
	.exists = build_exists,
};
