/*
 * main.c - fusion's command line: global options (before or after the
 * command), the command, and its options (see cmd.h).
 */
#include <getopt.h>
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

struct command {
	const char *name;
	int (*run)(struct fx_opts *);
	const char *usage;
	const char *help;
	const char *options;	/* long options it takes, as "|until|dry-run|" */
};

static const struct command commands[] = {
	{"up", cmd_up, "up [SVC...] [--until KIND] [--dry-run] [--force] [--verify] [--no-wait]"
	    " [--build-jobs N] [--remote URL|--no-remote] [--push] [--remote-required]"
	    " [--watch [--debounce MS] [--poll MS]]",
	    "Bring SVC (default: every service) and everything it needs up to date: run the\n"
	    "stale build, load, chart and release nodes, in parallel, and nothing else.\n"
	    "  --until KIND    stop after build, load, chart or release nodes\n"
	    "  --dry-run       show what would run, and why (same as `plan`)\n"
	    "  --force         run every selected node, fresh or not\n"
	    "  --verify        check that recorded outputs still exist (images, releases)\n"
	    "  --no-wait       exit 2 at once if another `fusion up` holds the workspace\n"
	    "  --build-jobs N  at most N builds at once (default 2)\n"
	    "  --watch         then keep going: rerun what each change to the sources or the\n"
	    "                  catalog makes stale, forward the catalog's ports, until Ctrl-C\n"
	    "  --debounce MS   wait for MS quiet milliseconds after a change (default 200)\n"
	    "  --poll MS       poll every MS milliseconds instead of using inotify\n"
	    "  --remote URL    the shared cache (http://, https://, file://DIR); default:\n"
	    "                  the catalog's cache.remote\n"
	    "  --no-remote     do not use the shared cache this time\n"
	    "  --push          upload what ran to the shared cache (CI; cache.push)\n"
	    "  --remote-required  a fault of the shared cache fails the run instead of\n"
	    "                  a warning and a build\n",
	    "|until|dry-run|force|verify|no-wait|build-jobs|remote|push|no-remote|remote-required|"
	    "watch|debounce|poll|"},
	{"plan", cmd_plan, "plan [SVC...] [--until KIND] [--verify]",
	    "Show what `up` would run, and why (with -v, the exact commands).\n",
	    "|until|force|verify|"},
	{"graph", cmd_graph, "graph [--dot|--json] [SVC...]",
	    "Show the graph of SVC (default: everything), stale nodes marked.\n"
	    "  --dot    Graphviz DOT (services as clusters)\n"
	    "  --json   {\"nodes\":[...],\"edges\":[...]}\n",
	    "|dot|until|"},
	{"why", cmd_why, "why SVC|NODE",
	    "Say why the nodes on the way to SVC's release (or NODE) are stale: the files,\n"
	    "values and upstream nodes that changed.\n", "|until|"},
	{"inputs", cmd_inputs, "inputs SVC|NODE",
	    "Print the inputs that form NODE's key (SVC: its release), one per line as\n"
	    "recorded (NAME TAB VALUE): for a build, every file the builder is sent.\n",
	    "|"},
	{"status", cmd_status, "status [--json]",
	    "Every service and shared release: image tag, last release, fresh or stale.\n",
	    "|"},
	{"down", cmd_down, "down [SVC...|--all] [--cluster [--delete]] [--no-wait]",
	    "Uninstall releases (dependents first; without names, every release of the\n"
	    "catalog); the next `up` deploys them again.\n"
	    "  --all       every release (the same as naming none)\n"
	    "  --cluster   then stop the cluster (minikube stop)\n"
	    "  --delete    with --cluster: delete it instead (minikube delete, kind delete\n"
	    "              cluster); its releases go with it\n",
	    "|no-wait|all|cluster|delete|"},
	{"cache", cmd_cache, "cache stats|gc|clear|export FILE|import FILE",
	    "The state database: stats, gc (drop records of what no longer exists), clear;\n"
	    "export FILE / import FILE move the node records (not the stat cache) between\n"
	    "machines, for CI systems that keep a directory instead of a shared cache.\n",
	    "|"},
	{"logs", cmd_logs, "logs SVC [-f]",
	    "The logs of SVC's pods (through kubectl logs, by its release's selector), each line\n"
	    "prefixed with [pod/POD/CONTAINER].\n"
	    "  -f, --follow   keep following; when a new release replaces the pods, follow the\n"
	    "                 new ones (after the command, -f means --follow, as in kubectl)\n",
	    "|follow|"},
	{"doctor", cmd_doctor, "doctor [--json]",
	    "Check that this machine can run the catalog: tools and their versions, the\n"
	    "cluster and kube context, repos and files, the state directory and database,\n"
	    "free disk space. One line per check, a hint for each failure; exit 0 only\n"
	    "when every check passes.\n", "|"},
	{"bootstrap", cmd_bootstrap, "bootstrap [--no-wait]",
	    "Start the cluster if it is not running (minikube start, kind create cluster),\n"
	    "create the namespace, then bring the shared releases up to date. On a running\n"
	    "cluster it only does the last.\n", "|no-wait|"},
	{"clone", cmd_clone, "clone [SVC...] [--fetch]",
	    "Clone the repos of SVC (default: every service with `git:`) that are missing,\n"
	    "in parallel (-j), one line per repo. Existing repos are left alone.\n"
	    "  --fetch   git fetch the existing ones (never touching their work trees)\n",
	    "|fetch|"},
};

static void
usage(FILE *f)
{
	fputs("usage: fusion [-C DIR] [-f CATALOG] [-j N] [-k] [-v] [--json] [--no-color] COMMAND [ARGS]\n"
	    "\n"
	    "Bring a local Kubernetes cluster up to date with the source in sibling repos,\n"
	    "rerunning only what changed.\n\ncommands:\n", f);
	for (size_t i = 0; i < FX_NELEM(commands); i++)
		if (commands[i].run)
			fprintf(f, "  %s\n", commands[i].usage);
	fputs("\nglobal options (before or after the command):\n"
	    "  -C DIR        change to DIR first\n"
	    "  -f CATALOG    the catalog (default: fusion.yaml or config/service-catalog.yaml,\n"
	    "                here or in a parent directory)\n"
	    "  -j N          run N nodes at once (default: the catalog's jobs, else the CPUs)\n"
	    "  -k            keep going: after a failure, finish independent branches\n"
	    "  -v            verbose: commands, hashing counts, peak memory\n"
	    "  --json        machine-readable output\n"
	    "  --no-color    no colours (also NO_COLOR=1)\n"
	    "  --version     print the version\n"
	    "\n`fusion COMMAND --help` describes a command.\n", f);
}

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < FX_NELEM(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

enum {
	OPT_JSON = 256, OPT_NO_COLOR, OPT_VERSION, OPT_UNTIL, OPT_DRY_RUN, OPT_FORCE, OPT_VERIFY,
	OPT_DOT, OPT_NO_WAIT, OPT_REMOTE, OPT_PUSH, OPT_BUILD_JOBS, OPT_HELP, OPT_WATCH,
	OPT_DEBOUNCE, OPT_POLL, OPT_FOLLOW,
	OPT_ALL, OPT_CLUSTER, OPT_DELETE, OPT_FETCH,
	OPT_NO_REMOTE, OPT_REMOTE_REQUIRED,
};

static const struct option longopts[] = {
	{"json", no_argument, NULL, OPT_JSON},
	{"no-color", no_argument, NULL, OPT_NO_COLOR},
	{"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, 'h'},
	{"until", required_argument, NULL, OPT_UNTIL},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"force", no_argument, NULL, OPT_FORCE},
	{"verify", no_argument, NULL, OPT_VERIFY},
	{"dot", no_argument, NULL, OPT_DOT},
	{"no-wait", no_argument, NULL, OPT_NO_WAIT},
	{"remote", required_argument, NULL, OPT_REMOTE},
	{"push", no_argument, NULL, OPT_PUSH},
	{"no-remote", no_argument, NULL, OPT_NO_REMOTE},
	{"remote-required", no_argument, NULL, OPT_REMOTE_REQUIRED},
	{"build-jobs", required_argument, NULL, OPT_BUILD_JOBS},
	{"watch", no_argument, NULL, OPT_WATCH},
	{"debounce", required_argument, NULL, OPT_DEBOUNCE},
	{"poll", required_argument, NULL, OPT_POLL},
	{"follow", no_argument, NULL, OPT_FOLLOW},
	{"all", no_argument, NULL, OPT_ALL},
	{"cluster", no_argument, NULL, OPT_CLUSTER},
	{"delete", no_argument, NULL, OPT_DELETE},
	{"fetch", no_argument, NULL, OPT_FETCH},
	{0},
};

static int
positive(const char *opt, const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > 1024) {
		fx_error("%s: expected a number from 1 to 1024, got \"%s\"", opt, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* Milliseconds, from 1 to 10 minutes (0 too when `zero`). */
static int
millis(const char *opt, const char *s, bool zero, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < (zero ? 0 : 1) || v > 600000) {
		fx_error("%s: expected milliseconds from %d to 600000, got \"%s\"", opt, zero ? 0 : 1,
		    s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* Command options are checked once the command is known, since global
 * options and command options may come in any order: every one given is
 * kept (there are at most argc). */
struct seen {
	const char **names;
	int n;
};

static void
saw(struct seen *s, const char *name)
{
	s->names[s->n++] = name;
}

static int
parse(int argc, char **argv, struct fx_opts *o, struct seen *seen, bool *help)
{
	int c;

	opterr = 0;
	for (;;) {
		/* After `logs`, -f is --follow, as in kubectl logs -f (the
		 * catalog is then named before the command). */
		if (optind < argc && o->command && strcmp(o->command, "logs") == 0 &&
		    strcmp(argv[optind], "-f") == 0) {
			o->follow = true;
			saw(seen, "follow");
			optind++;
			continue;
		}
		c = getopt_long(argc, argv, "+C:f:j:kvh", longopts, NULL);
		if (c == -1 && optind >= argc)
			break;
		if (c == -1) {
			/* A positional argument: the command, or its arguments. */
			if (!o->command)
				o->command = argv[optind];
			else
				o->args[o->nargs++] = argv[optind];
			optind++;
			continue;
		}
		switch (c) {
		case 'C': o->dir = optarg; break;
		case 'f': o->file = optarg; break;
		case 'j': if (positive("-j", optarg, &o->jobs) < 0) return -1; break;
		case 'k': o->keep_going = true; break;
		case 'v': fx_verbose++; break;
		case 'h': *help = true; break;
		case OPT_JSON: o->json = true; break;
		case OPT_NO_COLOR: o->color = false; break;
		case OPT_VERSION: printf("fusion %s\n", FUSION_VERSION); exit(0);
		case OPT_UNTIL: o->until = optarg; saw(seen, "until"); break;
		case OPT_DRY_RUN: o->dry_run = true; saw(seen, "dry-run"); break;
		case OPT_FORCE: o->force = true; saw(seen, "force"); break;
		case OPT_VERIFY: o->verify = true; saw(seen, "verify"); break;
		case OPT_DOT: o->dot = true; saw(seen, "dot"); break;
		case OPT_NO_WAIT: o->no_wait = true; saw(seen, "no-wait"); break;
		case OPT_REMOTE: o->remote = optarg; saw(seen, "remote"); break;
		case OPT_PUSH: o->push = true; saw(seen, "push"); break;
		case OPT_WATCH: o->watch = true; saw(seen, "watch"); break;
		case OPT_FOLLOW: o->follow = true; saw(seen, "follow"); break;
		case OPT_DEBOUNCE:
			if (millis("--debounce", optarg, true, &o->debounce_ms) < 0)
				return -1;
			o->debounce_set = true;
			saw(seen, "debounce");
			break;
		case OPT_POLL:
			if (millis("--poll", optarg, false, &o->poll_ms) < 0)
				return -1;
			saw(seen, "poll");
			break;
		case OPT_ALL: o->all = true; saw(seen, "all"); break;
		case OPT_CLUSTER: o->cluster = true; saw(seen, "cluster"); break;
		case OPT_DELETE: o->delete_cluster = true; saw(seen, "delete"); break;
		case OPT_FETCH: o->fetch = true; saw(seen, "fetch"); break;
		case OPT_NO_REMOTE: o->no_remote = true; saw(seen, "no-remote"); break;
		case OPT_REMOTE_REQUIRED:
			o->remote_required = true;
			saw(seen, "remote-required");
			break;
		case OPT_BUILD_JOBS:
			if (positive("--build-jobs", optarg, &o->build_jobs) < 0)
				return -1;
			saw(seen, "build-jobs");
			break;
		default:
			if (optopt)
				fx_error("unknown option -%c (try fusion --help)", optopt);
			else
				fx_error("unknown option %s (try fusion --help)", argv[optind - 1]);
			return -1;
		}
	}
	return 0;
}

/* Every command option given must be one the command takes. */
static bool
options_fit(const struct command *cmd, const struct seen *seen)
{
	for (int i = 0; i < seen->n; i++) {
		char key[32];
		snprintf(key, sizeof key, "|%s|", seen->names[i]);
		if (!strstr(cmd->options, key)) {
			fx_error("%s: unknown option --%s (try fusion %s --help)", cmd->name,
			    seen->names[i], cmd->name);
			return false;
		}
	}
	return true;
}

/* The command line after parsing: the command to run, or why not. */
static int
dispatch(struct fx_opts *o, const struct seen *seen, bool help)
{
	if (!o->command) {
		usage(help ? stdout : stderr);
		return help ? 0 : FX_EXIT_USAGE;
	}
	const struct command *cmd = find_command(o->command);
	if (!cmd) {
		fx_error("unknown command \"%s\" (try fusion --help)", o->command);
		return FX_EXIT_USAGE;
	}
	if (help) {
		printf("usage: fusion %s\n\n%s", cmd->usage, cmd->help);
		return 0;
	}
	if (!options_fit(cmd, seen))
		return FX_EXIT_USAGE;
	if (!cmd->run) {
		fx_error("%s is not built yet", cmd->name);
		return FX_EXIT_USAGE;
	}
	if (o->dir && chdir(o->dir) < 0) {
		fx_error("-C %s: cannot change directory", o->dir);
		return FX_EXIT_USAGE;
	}
	return cmd->run(o);
}

int
main(int argc, char **argv)
{
	struct fx_opts o = {.color = isatty(1) && !getenv("NO_COLOR")};
	struct seen seen = {xcalloc((size_t)argc + 1, sizeof(char *)), 0};
	bool help = false;
	int rc = FX_EXIT_USAGE;

	o.args = xcalloc((size_t)argc + 1, sizeof(char *));
	/* GNU getopt would permute; "+" plus our loop keeps order and lets
	 * options follow the command. */
	if (parse(argc, argv, &o, &seen, &help) == 0) {
		fx_color = o.color;
		rc = dispatch(&o, &seen, help);
	}
	/* fusion's own peak, without the tools it ran (which /usr/bin/time
	 * -f %M would count in): what the benchmarks compare. */
	struct rusage ru;
	if (fx_verbose && getrusage(RUSAGE_SELF, &ru) == 0)
		fx_debug("peak RSS %ld KB", ru.ru_maxrss);
	free(o.args);
	free(seen.names);
	return rc;
}
