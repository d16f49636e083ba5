/*
 * builder_docker.c - docker (BuildKit).
 *
 * Its own: the ignore files it reads (F.dockerignore beside the
 * Dockerfile F, else the context's .dockerignore, never a
 * .containerignore); no --ignorefile, so the catalog's build.ignore goes
 * in a FILE.dockerignore beside a copy of the Dockerfile; one save format;
 * a push of a tag it made first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/builder.h"
#include "fusion/ignore.h"

static const struct fx_ignore_name order[] = {
	{true, ".dockerignore"}, {false, ".dockerignore"},
};

/* BuildKit reads FILE.dockerignore as it reads .dockerignore. */
static void
as_is(const char *text, size_t len, struct fx_buf *out)
{
	buf_add(out, text, len);
}

/* docker has no --ignorefile, but BuildKit reads FILE.dockerignore beside
 * the Dockerfile it is given: build from a copy of the containerfile in
 * the artifacts with the combined rules beside it. */
static int
extra_ignore(struct fx_rules *r, struct fx_rule_node *d, char **file, struct fx_strv *flags,
    struct fx_buf *msg)
{
	char *name = xasprintf("%s.Dockerfile", d->svc->name);
	char *copy = rules_artifact(r, name);
	char *ignore = xasprintf("%s.dockerignore", copy);
	char *text;
	size_t len;
	int rc = 0;

	free(name);
	if (!r->dry_run) {
		rc = read_file(d->svc->build.file, &text, &len);
		if (rc == 0) {
			rc = write_file_atomic(copy, text, len);
			free(text);
		}
		if (rc < 0)
			buf_printf(msg, "%s: %s", copy, strerror(errno));
	}
	if (rc == 0)
		rc = rules_write_ignorefile(r, d, ignore, as_is, msg);
	free(ignore);
	if (rc < 0) {
		free(copy);
		return -1;
	}
	*file = copy;
	return 0;
}

/* docker save has one format (docker-archive, with an OCI layout inside
 * since docker 25) and no --format option. */
static void
save_argv(const char *ref, const char *format, const char *path, struct fx_strv *argv)
{
	strv_push(argv, "docker");
	strv_push(argv, "save");
	strv_push(argv, "-o");
	strv_push(argv, path);
	strv_push(argv, "--");	/* what follows is never an option (names may start with '-') */
	strv_push(argv, ref);
}

/* docker push takes one name: tag the image with the destination first. */
static bool
push_argv(const char *registry, const char *src, const char *dst, int step, struct fx_strv *a)
{
	if (step > 1)
		return false;
	strv_push(a, "docker");
	strv_push(a, step == 0 ? "tag" : "push");
	strv_push(a, "--");
	if (step == 0)
		strv_push(a, src);
	strv_push(a, dst);
	return true;
}

const struct fx_builder builder_docker = {
	.name = "docker",
	.tool = {"docker", {"docker", "--version"}, "23.0.0",
	    "install docker 23.0 or newer (BuildKit by default), or set workspace.builder: podman"},
	.root_format = "{{.DockerRootDir}}",
	.ignore_order = order,
	.nignore_order = FX_NELEM(order),
	.ignore_strict = FX_IGNORE_BUILDKIT,
	.view = FX_VIEW_BUILD,
	.extra_ignore = extra_ignore,
	.save_argv = save_argv,
	.push_argv = push_argv,
};
