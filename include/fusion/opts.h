/*
 * opts.h - command-line options, as git's builtins have them: each command
 * declares its options in a table in its own file (name, whether it takes
 * an argument, the field it sets, a help line), and one parser reads them
 * all and writes the command's --help from the same table. So a new option
 * is one row in its command's file.
 *
 * An option sets a field of a struct that belongs to its command (offset:
 * offsetof(struct ..., field)); the parser writes nothing else. The global
 * options (main.c) are a table too, into struct fx_opts.
 *
 * Forms read: --name, --name ARG, --name=ARG, -x, -x ARG, -xARG, and
 * letters bundled (-kv). "--" ends the options.
 */
#ifndef FUSION_OPTS_H
#define FUSION_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum fx_opt_type {
	FX_OPT_BOOL,	/* bool, set to true */
	FX_OPT_COUNT,	/* int, one more each time (-v -v) */
	FX_OPT_STR,	/* const char *, the argument (argv's own string) */
	FX_OPT_STRS,	/* struct fx_strv, one more copy of the argument each
			 * time (repeatable, in order: --profile a --profile b) */
	FX_OPT_NUM,	/* int, a number from min to max */
	FX_OPT_MS,	/* int, milliseconds from min to max */
};

struct fx_option {
	const char *name;	/* long name without "--", or NULL */
	char letter;		/* short name, or 0 */
	enum fx_opt_type type;
	size_t offset;		/* of the field it sets */
	const char *arg;	/* the argument's name in the help ("KIND") */
	int min, max;		/* FX_OPT_NUM, FX_OPT_MS */
	const char *help;	/* may hold '\n': continued under the first line */
};

/* Table rows. T is the options struct, F the field. */
#define FX_BOOL(name, T, F, help) {(name), 0, FX_OPT_BOOL, offsetof(T, F), NULL, 0, 0, (help)}
#define FX_STR(name, T, F, arg, help) {(name), 0, FX_OPT_STR, offsetof(T, F), (arg), 0, 0, (help)}
#define FX_STRS(name, T, F, arg, help) {(name), 0, FX_OPT_STRS, offsetof(T, F), (arg), 0, 0, (help)}
#define FX_NUM(name, T, F, lo, hi, help) \
	{(name), 0, FX_OPT_NUM, offsetof(T, F), "N", (lo), (hi), (help)}
#define FX_MS(name, T, F, lo, hi, help) \
	{(name), 0, FX_OPT_MS, offsetof(T, F), "MS", (lo), (hi), (help)}
#define FX_OPT_END {0}

/* One table and the struct its rows set. */
struct fx_optset {
	const struct fx_option *opts;	/* ended by FX_OPT_END; NULL: none */
	void *base;
};

/*
 * The option at argv[*i] (it starts with '-' and is not "-" or "--"):
 * looked up in sets[0], then sets[1]..., stored, and *i moved past it and
 * its argument. `who` names the command in messages (NULL: before one).
 * Returns 0, or -1 after reporting: an unknown option (with the closest
 * name, "did you mean --force?"), a missing argument, a value out of range.
 */
int opts_take(int argc, char **argv, int *i, const struct fx_optset *sets, size_t nsets,
    const char *who);

/* The help lines of a table: "  -f, --follow  keep following", aligned. */
void opts_help(FILE *f, const struct fx_option *opts);

#endif
