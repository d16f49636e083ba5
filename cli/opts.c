/*
 * opts.c - the one parser of command-line options: each command's table,
 * and the global one, read the same way (see opts.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/diag.h"
#include "fusion/opts.h"
#include "fusion/util.h"

static const struct fx_option *
find(const struct fx_optset *sets, size_t nsets, const char *name, size_t len, char letter,
    void **base)
{
	for (size_t s = 0; s < nsets; s++)
		for (const struct fx_option *o = sets[s].opts; o && (o->name || o->letter); o++) {
			bool hit = name ? o->name && strlen(o->name) == len &&
			    strncmp(o->name, name, len) == 0 : o->letter == letter;
			if (hit) {
				*base = sets[s].base;
				return o;
			}
		}
	return NULL;
}

/* "up: " before a message about an option of up's. */
static const char *
of(const char *who, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s", who ? who : "", who ? ": " : "");
	return buf;
}

/* "fusion: up: unknown option --frce (did you mean --force?)". */
static void
unknown(const struct fx_optset *sets, size_t nsets, const char *who, const char *shown)
{
	struct fx_strv names = {0};
	char w[64];

	for (size_t s = 0; s < nsets; s++)
		for (const struct fx_option *o = sets[s].opts; o && (o->name || o->letter); o++)
			if (o->name)
				strv_push(&names, o->name);
	const char *m = shown[1] == '-' ?
	    str_closest(shown + 2, (const char *const *)names.v, names.n) : NULL;
	if (m)
		fx_error("%sunknown option %s (did you mean --%s?)", of(who, w, sizeof w), shown, m);
	else
		fx_error("%sunknown option %s (try fusion %s%s--help)", of(who, w, sizeof w), shown,
		    who ? who : "", who ? " " : "");
	strv_free(&names);
}

static int
number(const struct fx_option *o, const char *who, const char *shown, const char *arg, int *out)
{
	char *end, w[64];
	long v = strtol(arg, &end, 10);

	if (!*arg || *end || v < o->min || v > o->max) {
		fx_error("%s%s: expected %s from %d to %d, got \"%s\"", of(who, w, sizeof w), shown,
		    o->type == FX_OPT_MS ? "milliseconds" : "a number", o->min, o->max, arg);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int
store(const struct fx_option *o, void *base, const char *who, const char *shown, const char *arg)
{
	void *field = (char *)base + o->offset;

	switch (o->type) {
	case FX_OPT_BOOL:
		*(bool *)field = true;
		return 0;
	case FX_OPT_COUNT:
		(*(int *)field)++;
		return 0;
	case FX_OPT_STR:
		*(const char **)field = arg;
		return 0;
	case FX_OPT_STRS:
		strv_push(field, arg);
		return 0;
	case FX_OPT_NUM:
	case FX_OPT_MS:
		return number(o, who, shown, arg, field);
	}
	return -1;
}

static bool
takes_arg(const struct fx_option *o)
{
	return o->type != FX_OPT_BOOL && o->type != FX_OPT_COUNT;
}

/* --name, --name ARG, --name=ARG. */
static int
take_long(int argc, char **argv, int *i, const struct fx_optset *sets, size_t nsets,
    const char *who)
{
	const char *name = argv[*i] + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	char *shown = xasprintf("--%.*s", (int)len, name);
	const char *arg = eq ? eq + 1 : NULL;
	void *base;
	const struct fx_option *o = find(sets, nsets, name, len, 0, &base);
	int rc = -1;
	char w[64];

	if (!o)
		unknown(sets, nsets, who, shown);
	else if (!takes_arg(o) && eq)
		fx_error("%s%s takes no argument", of(who, w, sizeof w), shown);
	else if (takes_arg(o) && !arg && *i + 1 >= argc)
		fx_error("%s%s needs an argument (%s)", of(who, w, sizeof w), shown, o->arg);
	else
		rc = store(o, base, who, shown, takes_arg(o) && !arg ? argv[++*i] : arg);
	++*i;
	free(shown);
	return rc;
}

/* -x, -x ARG, -xARG, -kv. */
static int
take_letters(int argc, char **argv, int *i, const struct fx_optset *sets, size_t nsets,
    const char *who)
{
	const char *a = argv[(*i)++];

	for (const char *p = a + 1; *p; p++) {
		char shown[3] = {'-', *p, 0};
		void *base;
		const struct fx_option *o = find(sets, nsets, NULL, 0, *p, &base);
		if (!o) {
			unknown(sets, nsets, who, shown);
			return -1;
		}
		if (!takes_arg(o)) {
			store(o, base, who, shown, NULL);
			continue;
		}
		if (!p[1] && *i >= argc) {
			char w[64];
			fx_error("%s%s needs an argument (%s)", of(who, w, sizeof w), shown, o->arg);
			return -1;
		}
		return store(o, base, who, shown, p[1] ? p + 1 : argv[(*i)++]);
	}
	return 0;
}

int
opts_take(int argc, char **argv, int *i, const struct fx_optset *sets, size_t nsets,
    const char *who)
{
	if (argv[*i][1] == '-')
		return take_long(argc, argv, i, sets, nsets, who);
	return take_letters(argc, argv, i, sets, nsets, who);
}

/* "-f, --follow", "--until KIND", "-C DIR". */
static char *
label(const struct fx_option *o)
{
	struct fx_buf b = {0};

	if (o->letter)
		buf_printf(&b, "-%c", o->letter);
	if (o->name)
		buf_printf(&b, "%s--%s", o->letter ? ", " : "", o->name);
	if (o->arg)
		buf_printf(&b, " %s", o->arg);
	return buf_detach(&b);
}

void
opts_help(FILE *f, const struct fx_option *opts)
{
	int w = 0;

	for (const struct fx_option *o = opts; o && (o->name || o->letter); o++) {
		char *l = label(o);
		if ((int)strlen(l) > w)
			w = (int)strlen(l);
		free(l);
	}
	for (const struct fx_option *o = opts; o && (o->name || o->letter); o++) {
		char *l = label(o);
		const char *h = o->help;
		const char *nl = strchr(h, '\n');
		fprintf(f, "  %-*s  %.*s\n", w, l, nl ? (int)(nl - h) : (int)strlen(h), h);
		while (nl) {	/* the help's next lines, under its first */
			h = nl + 1;
			nl = strchr(h, '\n');
			fprintf(f, "  %-*s  %.*s\n", w, "", nl ? (int)(nl - h) : (int)strlen(h), h);
		}
		free(l);
	}
}
