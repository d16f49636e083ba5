/*
 * builder.c - the image builder back-ends: podman (default) and docker.
 *
 * Both take the same command lines for what fusion asks of them (build with
 * --iidfile, tag, images, save, push), so the back-end is the binary's name;
 * the one difference, podman's --ignorefile, is handled in build.c.
 */
#include "fusion/rules.h"

const char *
builder_bin(const struct fx_catalog *c)
{
	return c->builder == FX_DOCKER ? "docker" : "podman";
}
