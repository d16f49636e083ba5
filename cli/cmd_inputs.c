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

/* --json: the same lines as objects, {"hashing":N} first, then
 * {"name":NAME,"value":VALUE} (escaped as recorded). */
static void
print_json(const char *text)
{
	struct fx_buf b = {0};

	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n'), *end = nl ? nl : l + strlen(l);
		const char *tab = memchr(l, '\t', (size_t)(end - l));
		char *name = xstrndup(l, (size_t)((tab ? tab : end) - l));
		char *value = tab ? xstrndup(tab + 1, (size_t)(end - tab - 1)) : NULL;
		if (strncmp(name, "#hashing ", 9) == 0) {
			buf_printf(&b, "{\"hashing\":%d}\n", atoi(name + 9));
		} else if (*name) {
			buf_puts(&b, "{\"name\":");
			buf_json_str(&b, name);
			buf_puts(&b, ",\"value\":");
			buf_json_str(&b, value ? value : "");
			buf_puts(&b, "}\n");
		}
		free(name);
		free(value);
		l = nl ? nl + 1 : end;
	}
	fputs(b.s ? b.s : "", stdout);
	buf_free(&b);
}

static int
cmd_inputs(struct fx_opts *o, void *unused)
{
	struct fx_session s;
	struct fx_buf msg = {0};

	if (o->nargs != 1) {
		fx_error("usage: fusion inputs SVC|NODE");
		return FX_EXIT_USAGE;
	}
	int rc = session_load(&s, o, NULL, false);
	if (rc == 0) {
		struct fx_node *n = rules_find(s.g, o->args[0]);
		struct fx_manifest *m = stale_inputs(n, &s.rules, &msg);
		if (m) {
			char *text = manifest_serialize(m);
			if (o->json)
				print_json(text);
			else
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

const struct fx_command fx_cmd_inputs = {
	.name = "inputs",
	.usage = "inputs SVC|NODE",
	.about = "Print the inputs that form NODE's key (SVC: its release), one per line as\n"
	    "recorded (NAME TAB VALUE): for a build, every file the builder is sent.\n",
	.json = "{\"hashing\":N}, then {\"name\":NAME,\"value\":VALUE} per input",
	.run = cmd_inputs,
};
