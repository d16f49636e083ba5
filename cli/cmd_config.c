/*
 * cmd_config.c - `fusion config [--json]`: the catalog as every other
 * command sees it, with the selected profiles applied (catalog.h,
 * catalog_print).
 */
#include <stdio.h>
#include <stdlib.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"

static int
cmd_config(struct fx_opts *o, void *unused)
{
	struct fx_catalog c;
	struct fx_buf b = {0};
	char *path = catalog_find(o->file);

	if (o->nargs) {
		fx_error("config takes no arguments");
		free(path);
		return FX_EXIT_USAGE;
	}
	/* A missing repo is no reason not to show the catalog. */
	if (!path || session_catalog(o, path, true, true, &c) < 0) {
		free(path);
		return FX_EXIT_USAGE;
	}
	catalog_print(&c, o->json, &b);
	fwrite(b.s, 1, b.len, stdout);
	buf_free(&b);
	catalog_free(&c);
	free(path);
	return 0;
}

const struct fx_command fx_cmd_config = {
	.name = "config",
	.usage = "config [--json]",
	.about = "Print the catalog as the other commands see it: the selected profiles\n"
	    "(--profile, FUSION_PROFILE) applied, defaults merged into each service, paths\n"
	    "resolved. The YAML is itself a catalog.\n",
	.json = "the YAML's object, plus \"profiles\" (applied) and \"disabled\" (entries)",
	.run = cmd_config,
};
