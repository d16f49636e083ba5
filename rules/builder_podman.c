/*
 * builder_podman.c - podman (buildah), the default image builder.
 *
 * Its own: the ignore files it reads (buildah's ContainerIgnoreFile looks
 * beside the containerfile F for F.containerignore and F.dockerignore, the
 * latter winning when both are there, then in the context for
 * .containerignore, then .dockerignore); --ignorefile for the catalog's
 * build.ignore; save --format; push --tls-verify=false to a local
 * registry.
 */
#include <stdlib.h>
#include <string.h>

#include "fusion/builder.h"
#include "fusion/ignore.h"

static const struct fx_ignore_name order[] = {
	{true, ".dockerignore"}, {true, ".containerignore"},
	{false, ".containerignore"}, {false, ".dockerignore"},
};

/* podman reads --ignorefile leaving the '/'s around each line in place
 * where its reader of the context's file cuts them: write it so that
 * podman reads it the same (ignore_for_ignorefile). */
static int
extra_ignore(struct fx_rules *r, struct fx_rule_node *d, char **file, struct fx_strv *flags,
    struct fx_buf *msg)
{
	char *name = xasprintf("%s.containerignore", d->svc->name);
	char *ig = rules_artifact(r, name);

	free(name);
	if (rules_write_ignorefile(r, d, ig, ignore_for_ignorefile, msg) < 0) {
		free(ig);
		return -1;
	}
	*file = xstrdup(d->svc->build.file);
	strv_push(flags, "--ignorefile");
	strv_take(flags, ig);
	return 0;
}

static void
save_argv(const char *ref, const char *format, const char *path, struct fx_strv *argv)
{
	strv_push(argv, "podman");
	strv_push(argv, "save");
	if (format) {
		strv_push(argv, "--format");
		strv_push(argv, format);
	}
	strv_push(argv, "-o");
	strv_push(argv, path);
	strv_push(argv, "--");	/* what follows is never an option (names may start with '-') */
	strv_push(argv, ref);
}

/* One command: podman push takes the local name and the destination. */
static bool
push_argv(const char *registry, const char *src, const char *dst, int step, struct fx_strv *a)
{
	const char *reg = registry ? registry : "";
	bool plain = strncmp(reg, "localhost", 9) == 0 || strncmp(reg, "127.", 4) == 0;

	if (step > 0)
		return false;
	strv_push(a, "podman");
	strv_push(a, "push");
	if (plain)
		strv_push(a, "--tls-verify=false");	/* a local registry speaks plain HTTP */
	strv_push(a, "--");
	strv_push(a, src);
	strv_push(a, dst);
	return true;
}

const struct fx_builder builder_podman = {
	.name = "podman",
	.tool = {"podman", {"podman", "--version"}, "4.0.0",
	    "install podman 4.0 or newer (Debian, Ubuntu: apt-get install podman)"},
	.root_format = "{{.Store.GraphRoot}}",
	.ignore_order = order,
	.nignore_order = FX_NELEM(order),
	.ignore_strict = FX_IGNORE_BUILDAH,
	.view = FX_VIEW_PODMAN,
	.extra_ignore = extra_ignore,
	.save_argv = save_argv,
	.push_argv = push_argv,
};
