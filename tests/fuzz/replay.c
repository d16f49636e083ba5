/*
 * replay.c - run a fuzz target once on each saved input, without libFuzzer.
 *
 *     build/tests/fuzz_catalog FILE|DIR...
 *
 * A directory stands for the files in it. Prints one line per input and
 * exits 0 when every input returned; a crash or a sanitizer report ends the
 * process, naming the input on the line before it.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fusion/util.h"
#include "fuzz.h"

static int
replay(const char *path)
{
	char *data;
	size_t len;

	if (read_file(path, &data, &len) < 0) {
		perror(path);
		return -1;
	}
	printf("replay %s (%zu bytes)\n", path, len);
	fflush(stdout);
	/* A copy of exactly len bytes, so that ASan sees a read past the end. */
	uint8_t *copy = xmalloc(len ? len : 1);
	memcpy(copy, data, len);
	free(data);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	return 0;
}

static int
replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct fx_strv names = {0};
	struct dirent *e;
	int rc = 0;

	if (!d) {
		perror(dir);
		return -1;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			strv_take(&names, path_join(dir, e->d_name));
	closedir(d);
	if (names.n > 1)
		qsort(names.v, names.n, sizeof *names.v, fuzz_strcmp);
	for (size_t i = 0; i < names.n; i++)
		if (replay(names.v[i]) < 0)
			rc = -1;
	strv_free(&names);
	return rc;
}

int
main(int argc, char **argv)
{
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			rc |= replay_dir(argv[i]);
		else
			rc |= replay(argv[i]);
	}
	return rc ? 1 : 0;
}
