/*
 * cmd_inputs.c - `fusion inputs SVC|NODE`: the inputs that form a node's
 * key, one per line as the state database records them (name TAB value),
 * in the spirit of `ninja -t inputs`. For a build node that is every entry
 * of the context the builder will be sent, after its ignore rules:
 * "file:PATH TAB MODE:DIGEST" (a directory's PATH ends in '/'), then the
 * containerfile, the ignore file, args, target and builder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"
#include "fusion/manifest.h"

int
cmd_inputs(struct fx_opts *o)
{
	struct fx_session s;
	struct fx_buf msg = {0};

	if (o->nargs != 1) {
		fx_error("usage: fusion inputs SVC|NODE");
		return FX_EXIT_USAGE;
	}
	int rc = session_load(&s, o, false);
	if (rc == 0) {
		struct fx_node *n = rules_find(s.g, o->args[0]);
		struct fx_manifest *m = stale_inputs(n, &s.rules, &msg);
		if (m) {
			char *text = manifest_serialize(m);
			fputs(text, stdout);
			free(text);
			manifest_free(m);
		} else {
			fx_error_node(n->id, "%s", msg.s ? msg.s : "cannot compute its inputs");
			rc = FX_EXIT_FAILED;
		}
	}
	buf_free(&msg);
	session_close(&s);
	return rc;
}
