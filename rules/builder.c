/*
 * builder.c - the image builders by name (the catalog's FX_BUILDERS), and
 * the command lines they share: podman and docker take the same build
 * (with --iidfile), tag, images, image inspect, load and info; the table's
 * name is the binary. What differs is in builder_podman.c and
 * builder_docker.c.
 */
#include <stdlib.h>
#include <string.h>

#include "fusion/builder.h"
#include "fusion/containerfile.h"
#include "fusion/proc.h"

#define DECLARE(x) extern const struct fx_builder builder_##x;
FX_BUILDERS(DECLARE)
#undef DECLARE

#define ENTRY(x) &builder_##x,
static const struct fx_builder *const builders[] = {FX_BUILDERS(ENTRY)};
#undef ENTRY

const struct fx_builder *
builder_of(const struct fx_catalog *c)
{
	for (size_t i = 0; c->builder && i < FX_NELEM(builders); i++)
		if (strcmp(builders[i]->name, c->builder) == 0)
			return builders[i];
	return builders[0];
}

const char *
builder_bin(const struct fx_catalog *c)
{
	return builder_of(c)->name;
}

void
builder_save_argv(const struct fx_catalog *c, const char *ref, const char *format,
    const char *path, struct fx_strv *argv)
{
	builder_of(c)->save_argv(ref, format, path, argv);
}

void
builder_load_argv(const struct fx_catalog *c, const char *path, struct fx_strv *argv)
{
	strv_push(argv, builder_bin(c));
	strv_push(argv, "load");
	strv_push(argv, "-i");
	strv_push(argv, path);
}

char *
builder_root(const struct fx_catalog *c)
{
	struct fx_strv a = {0};
	struct fx_buf out = {0};
	char *dir = NULL;

	strv_push(&a, builder_bin(c));
	strv_push(&a, "info");
	strv_push(&a, "--format");
	strv_push(&a, builder_of(c)->root_format);
	if (proc_run(strv_argv(&a), &out, NULL) == 0)
		dir = buf_first_line(&out, "");
	if (dir && dir[0] != '/') {	/* not a directory: a message */
		free(dir);
		dir = NULL;
	}
	strv_free(&a);
	buf_free(&out);
	return dir;
}

void
builder_inspect_argv(const struct fx_catalog *c, struct fx_strv *argv)
{
	strv_push(argv, builder_bin(c));
	strv_push(argv, "image");
	strv_push(argv, "inspect");
	strv_push(argv, "--format");
	strv_push(argv, "{{.Id}}");
	strv_push(argv, "--");	/* image names follow; never options */
}

/* The images the containerfile of s pulls (doctor): what the
 * Containerfile reader finds it reads, with the catalog's build args and
 * target, as a build reads them. */
void
builder_base_images(const struct fx_svc *s, struct fx_strv *out)
{
	struct fx_containerfile cf = {0};
	struct fx_cf_var *vars = xcalloc(s->build.args.n + 1, sizeof(*vars));
	char *text;
	size_t len;

	if (read_file(s->build.file, &text, &len) < 0) {
		free(vars);
		return;
	}
	for (size_t i = 0; i < s->build.args.n; i++)
		vars[i] = (struct fx_cf_var){s->build.args.v[i].key, s->build.args.v[i].value};
	containerfile_read(text, len, vars, s->build.args.n, s->build.target, &cf);
	for (size_t i = 0; i < cf.images.n; i++)
		if (*cf.images.v[i] && !strv_has(out, cf.images.v[i]))
			strv_push(out, cf.images.v[i]);
	containerfile_free(&cf);
	free(vars);
	free(text);
}

bool
builder_short_name(const char *ref)
{
	const char *slash = strchr(ref, '/');

	if (!slash)
		return true;
	size_t n = (size_t)(slash - ref);
	return !memchr(ref, '.', n) && !memchr(ref, ':', n) &&
	    !(n == 9 && strncmp(ref, "localhost", 9) == 0);
}
