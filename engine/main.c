/* Temporary entry point: loads the catalog (replaced by the full command line). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fusion/catalog.h"

int
main(int argc, char **argv)
{
	const char *file = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "-C") == 0 && i + 1 < argc) {
			if (chdir(argv[++i]) < 0) {
				perror("fusion: -C");
				return 2;
			}
		}
	}
	char *path = catalog_find(file);
	if (!path)
		return 2;
	struct fx_catalog c;
	if (catalog_load(path, true, &c) < 0)
		return 2;
	printf("%zu entries\n", c.nsvcs);
	catalog_free(&c);
	return 0;
}
