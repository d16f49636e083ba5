/*
 * find.c - where the catalog is: -f FILE, else ./fusion.yaml, else
 * ./config/service-catalog.yaml, in the current directory and then in each
 * parent, as git finds its repository.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusion/catalog.h"

static const char *const names[] = {"fusion.yaml", "config/service-catalog.yaml"};

static bool
is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char *
explicit_catalog(const char *cwd, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		fx_error("cannot read the catalog %s: %s", path, strerror(errno));
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		fx_error("the catalog %s is a directory, not a file", path);
		return NULL;
	}
	return path_join(cwd, path);
}

char *
catalog_find(const char *explicit_path)
{
	char cwd[PATH_MAX];

	if (!getcwd(cwd, sizeof cwd)) {
		fx_error("cannot find the current directory: %s", strerror(errno));
		return NULL;
	}
	if (explicit_path)
		return explicit_catalog(cwd, explicit_path);
	char *found = path_find_up(cwd, names, FX_NELEM(names), is_file);
	if (found)
		return found;
	fx_error("no catalog found (looked for fusion.yaml and config/service-catalog.yaml from %s "
	    "upwards; use -f FILE)", cwd);
	return NULL;
}
