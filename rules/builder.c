/*
 * builder.c - the image builder back-ends: podman (default) and docker.
 *
 * Both take the same command lines for what fusion asks of them (build with
 * --iidfile, tag, images, save, load, push), so the back-end is the
 * binary's name; the one difference, podman's --ignorefile, is handled in
 * build.c, and the archive format in builder_save_argv.
 */
#include "fusion/rules.h"

const char *
builder_bin(const struct fx_catalog *c)
{
	return c->builder == FX_DOCKER ? "docker" : "podman";
}

void
builder_save_argv(const struct fx_catalog *c, const char *ref, const char *format,
    const char *path, struct fx_strv *argv)
{
	strv_push(argv, builder_bin(c));
	strv_push(argv, "save");
	/* docker save has one format (docker-archive, with an OCI layout
	 * inside since docker 25) and no --format option. */
	if (format && c->builder == FX_PODMAN) {
		strv_push(argv, "--format");
		strv_push(argv, format);
	}
	strv_push(argv, "-o");
	strv_push(argv, path);
	strv_push(argv, "--");	/* what follows is never an option (names may start with '-') */
	strv_push(argv, ref);
}

void
builder_load_argv(const struct fx_catalog *c, const char *path, struct fx_strv *argv)
{
	strv_push(argv, builder_bin(c));
	strv_push(argv, "load");
	strv_push(argv, "-i");
	strv_push(argv, path);
}
