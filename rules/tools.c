/*
 * tools.c - the tools fusion runs, as `fusion doctor` checks them: on
 * PATH, and at least the oldest version fusion supports, by the first
 * N.N[.N] of what the tool's version command prints.
 *
 * Each tool's table (struct fx_tool, rules.h) sits beside its other
 * command lines: the builders' and the providers' in their ops tables
 * (builder.h, provider.h), helm's in rules/helm.c, kubectl's in
 * rules/cluster.c. git's is here: clone is its only user.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fusion/proc.h"
#include "fusion/rules.h"

const struct fx_tool rules_tool_git = {"git", {"git", "--version"}, "2.20.0",
	"install git 2.20 or newer (Debian, Ubuntu: apt-get install git)"};

/* Each tool prints its version its own way ("v3.14.2+g...", "Client
 * Version: v1.29.0", "git version 2.39.2", "kind v0.20.0 go1.20.4 ..."):
 * the first number with a dot in it is the tool's own. */
bool
rules_version_parse(const char *s, int v[3])
{
	for (; *s; s++) {
		int n = 0;
		v[0] = v[1] = v[2] = 0;
		if (*s >= '0' && *s <= '9' && sscanf(s, "%d.%d.%d%n", &v[0], &v[1], &v[2], &n) == 3)
			return true;
		if (*s >= '0' && *s <= '9' && sscanf(s, "%d.%d%n", &v[0], &v[1], &n) == 2)
			return true;
		while (*s >= '0' && *s <= '9' && s[1])
			s++;
	}
	return false;
}

static int
version_cmp(const int a[3], const int b[3])
{
	for (int i = 0; i < 3; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

enum fx_tool_state
rules_tool_check(const struct fx_tool *t, int have[3], char **said)
{
	struct fx_buf out = {0}, err = {0};
	enum fx_tool_state st;
	int want[3];

	*said = NULL;
	if (!proc_on_path(t->name))
		return FX_TOOL_MISSING;
	int rc = proc_run((char *const *)t->version_argv, &out, &err);
	rules_version_parse(t->min, want);
	if (rc != 0 || !rules_version_parse(out.s ? out.s : "", have)) {
		*said = buf_first_line(rc == 0 ? &out : &err, "no output");
		st = FX_TOOL_UNKNOWN;
	} else {
		st = version_cmp(have, want) < 0 ? FX_TOOL_OLD : FX_TOOL_OK;
	}
	buf_free(&out);
	buf_free(&err);
	return st;
}
