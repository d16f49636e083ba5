/*
 * main.c - fusion's command line: the global options (before or after the
 * command), the command, and its own options, which each command declares
 * in a table in its own file (opts.h, cmd.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fusion/cmd.h"
#include "fusion/diag.h"

#ifndef FUSION_VERSION
#define FUSION_VERSION "0.1.0"
#endif

static int cmd_help(struct fx_opts *o, void *unused);

static const struct fx_command help_command = {
	.name = "help",
	.usage = "help [COMMAND]",
	.about = "Describe COMMAND, as `fusion COMMAND --help` does; without one, list the\n"
	    "commands.\n",
	.run = cmd_help,
};

/* In the order `fusion --help` lists them. */
static const struct fx_command *const commands[] = {
	&fx_cmd_up, &fx_cmd_plan, &fx_cmd_graph, &fx_cmd_why, &fx_cmd_inputs, &fx_cmd_status,
	&fx_cmd_down, &fx_cmd_cache, &fx_cmd_logs, &fx_cmd_doctor, &fx_cmd_bootstrap,
	&fx_cmd_clone, &fx_cmd_lock, &fx_cmd_config, &help_command,
};

#define G struct fx_opts

static const struct fx_option global_options[] = {
	{NULL, 'C', FX_OPT_STR, offsetof(G, dir), "DIR", 0, 0, "change to DIR first"},
	{NULL, 'f', FX_OPT_STR, offsetof(G, file), "CATALOG", 0, 0,
	    "the catalog (default: fusion.yaml or config/service-catalog.yaml,\n"
	    "here or in a parent directory)"},
	FX_STRS("profile", G, profiles, "NAME",
	    "apply the catalog's profile NAME (repeatable, in order; default:\n"
	    "FUSION_PROFILE, comma-separated)"),
	{NULL, 'j', FX_OPT_NUM, offsetof(G, jobs), "N", 1, 1024,
	    "run N nodes at once (default: the catalog's jobs, else the CPUs)"},
	{NULL, 'k', FX_OPT_BOOL, offsetof(G, keep_going), NULL, 0, 0,
	    "keep going: after a failure, finish independent branches"},
	{NULL, 'v', FX_OPT_COUNT, offsetof(G, verbose), NULL, 0, 0,
	    "verbose: commands, hashing counts, peak memory"},
	FX_BOOL("json", G, json, "machine-readable output: stdout holds only JSON (a command\n"
	    "that has no JSON form refuses it, exit 2)"),
	FX_BOOL("no-color", G, no_color, "no colours (also NO_COLOR=1)"),
	{"help", 'h', FX_OPT_BOOL, offsetof(G, help), NULL, 0, 0, "describe fusion, or the command"},
	FX_BOOL("version", G, version, "print the version"),
	FX_OPT_END,
};

static void
usage(FILE *f)
{
	fputs("usage: fusion [-C DIR] [-f CATALOG] [--profile NAME] [-j N] [-k] [-v] [--json] [--no-color] COMMAND [ARGS]\n"
	    "\n"
	    "Bring a local Kubernetes cluster up to date with the source in sibling repos,\n"
	    "rerunning only what changed.\n\ncommands:\n", f);
	for (size_t i = 0; i < FX_NELEM(commands); i++)
		fprintf(f, "  %s\n", commands[i]->usage);
	fputs("\nglobal options (before or after the command):\n", f);
	opts_help(f, global_options);
	fputs("\n`fusion help COMMAND` (or `fusion COMMAND --help`) describes a command.\n", f);
}

/* Help text to f, each "{kinds:WORD}" in it the node kinds' names, the
 * last two joined by WORD: "build, load, chart or release". */
static void
put_kinds(FILE *f, const char *text)
{
	struct fx_buf b = {0};
	const char *p, *end;

	while ((p = strstr(text, "{kinds:")) && (end = strchr(p, '}'))) {
		buf_add(&b, text, (size_t)(p - text));
		char *last = xstrndup(p + 7, (size_t)(end - p - 7));
		rules_kind_list(&b, last);
		free(last);
		text = end + 1;
	}
	buf_puts(&b, text);
	fputs(b.s, f);
	buf_free(&b);
}

/* `fusion CMD --help`, `fusion help CMD`: the synopsis, what it does, its
 * options from its table, and what --json prints. */
static void
command_help(FILE *out, const struct fx_command *cmd)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		f = out;	/* no memory: the help as written */
	fprintf(f, "usage: fusion %s\n\n%s", cmd->usage, cmd->about);
	if (cmd->options && (cmd->options->name || cmd->options->letter)) {
		fputs("\noptions:\n", f);
		opts_help(f, cmd->options);
	}
	if (cmd->json)
		fprintf(f, "\n--json: %s\n", cmd->json);
	else if (cmd->run != cmd_help)
		fputs("\n--json: not taken (exit 2)\n", f);
	fputs("\nGlobal options (-C, -f, --profile, -j, -k, -v, --json, --no-color): fusion help.\n", f);
	if (f != out) {
		fclose(f);
		put_kinds(out, text ? text : "");
	}
	free(text);
}

static const struct fx_command *
find_command(const char *name)
{
	for (size_t i = 0; i < FX_NELEM(commands); i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

/* "fusion: unknown command "upp" (did you mean up?)". */
static void
unknown_command(const char *name)
{
	const char *names[FX_NELEM(commands)];

	for (size_t i = 0; i < FX_NELEM(commands); i++)
		names[i] = commands[i]->name;
	const char *m = str_closest(name, names, FX_NELEM(commands));
	if (m)
		fx_error("unknown command \"%s\" (did you mean %s?)", name, m);
	else
		fx_error("unknown command \"%s\" (try fusion --help)", name);
}

static int
cmd_help(struct fx_opts *o, void *unused)
{
	if (o->nargs == 0) {
		usage(stdout);
		return 0;
	}
	const struct fx_command *cmd = o->nargs == 1 ? find_command(o->args[0]) : NULL;
	if (o->nargs > 1)
		fx_error("usage: fusion help [COMMAND]");
	else if (!cmd)
		unknown_command(o->args[0]);
	if (!cmd)
		return FX_EXIT_USAGE;
	command_help(stdout, cmd);
	return 0;
}

/*
 * The command line: options anywhere, the first other argument is the
 * command, the rest its arguments. Once the command is known its own
 * options are looked up first (after `logs`, -f is --follow), then the
 * global ones. *opts gets the command's options struct. Returns 0, or -1
 * after reporting.
 */
static int
parse(int argc, char **argv, struct fx_opts *o, const struct fx_command **cmd, void **opts)
{
	bool positional = false;	/* after "--" */

	for (int i = 1; i < argc;) {
		const char *a = argv[i];
		if (!positional && strcmp(a, "--") == 0) {
			positional = true;
			i++;
		} else if (!positional && a[0] == '-' && a[1]) {
			struct fx_optset sets[2] = {{global_options, o}};
			if (*cmd) {
				sets[1] = sets[0];
				sets[0] = (struct fx_optset){(*cmd)->options, *opts};
			}
			if (opts_take(argc, argv, &i, sets, *cmd ? 2 : 1, *cmd ? (*cmd)->name : NULL) < 0)
				return -1;
		} else if (!*cmd) {
			o->command = argv[i++];
			if (!(*cmd = find_command(o->command))) {
				unknown_command(o->command);
				return -1;
			}
			*opts = xcalloc(1, (*cmd)->size + 1);
			if ((*cmd)->defaults)
				memcpy(*opts, (*cmd)->defaults, (*cmd)->size);
		} else {
			o->args[o->nargs++] = argv[i++];
		}
	}
	return 0;
}

/* The command line after parsing: the command to run, or why not. */
static int
dispatch(struct fx_opts *o, const struct fx_command *cmd, void *opts)
{
	if (o->version) {
		printf("fusion %s\n", FUSION_VERSION);
		return 0;
	}
	if (!cmd) {
		usage(o->help ? stdout : stderr);
		return o->help ? 0 : FX_EXIT_USAGE;
	}
	if (o->help) {
		command_help(stdout, cmd);
		return 0;
	}
	if (o->json && !cmd->json) {
		fx_error("%s: --json is not taken by this command (fusion help %s)", cmd->name,
		    cmd->name);
		return FX_EXIT_USAGE;
	}
	if (o->dir && chdir(o->dir) < 0) {
		fx_error("-C %s: cannot change directory", o->dir);
		return FX_EXIT_USAGE;
	}
	return cmd->run(o, opts);
}

int
main(int argc, char **argv)
{
	struct fx_opts o = {0};
	const struct fx_command *cmd = NULL;
	void *opts = NULL;
	int rc = FX_EXIT_USAGE;

	o.args = xcalloc((size_t)argc + 1, sizeof(char *));
	if (parse(argc, argv, &o, &cmd, &opts) == 0) {
		fx_verbose += o.verbose;
		o.color = isatty(1) && !getenv("NO_COLOR") && !o.no_color;
		fx_color = o.color;
		rc = dispatch(&o, cmd, opts);
	}
	/* fusion's own peak, without the tools it ran (which /usr/bin/time
	 * -f %M would count in): what the benchmarks compare. */
	struct rusage ru;
	if (fx_verbose && getrusage(RUSAGE_SELF, &ru) == 0)
		fx_debug("peak RSS %ld KB", ru.ru_maxrss);
	free(o.args);
	strv_free(&o.profiles);
	free(opts);
	return rc;
}
