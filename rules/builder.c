/*
 * builder.c - the image builders by name (the catalog's FX_BUILDERS), and
 * the command lines they share: podman and docker take the same build
 * (with --iidfile), tag, images, image inspect and load; the table's name
 * is the binary. What differs is in builder_podman.c and builder_docker.c.
 */
#include <string.h>

#include "fusion/builder.h"

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
