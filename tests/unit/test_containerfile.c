/*
 * test_containerfile.c - what a Containerfile makes its build read
 * (containerfile.h): images, bind mounts, remote sources, context sources,
 * through stages, ARG substitution, continuations and heredocs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fusion/containerfile.h"

/* The strings of sv joined by ' ' ("" for none), for one assertion. */
static char *
joined(const struct fx_strv *sv)
{
	struct fx_buf b = {0};

	for (size_t i = 0; i < sv->n; i++)
		buf_printf(&b, "%s%s", i ? " " : "", sv->v[i]);
	return buf_detach(&b);
}

#define assert_list(sv, want) \
	do { \
		char *got_ = joined(sv); \
		assert_string_equal(got_, want); \
		free(got_); \
	} while (0)

static void
readf(const char *text, const char *target, struct fx_containerfile *cf)
{
	*cf = (struct fx_containerfile){0};
	containerfile_read(text, strlen(text), NULL, 0, target, cf);
}

static void
test_from_and_stages(void **state)
{
	struct fx_containerfile cf;

	readf("FROM localhost/base:1 AS build\n"
	      "RUN make\n"
	      "FROM scratch\n"
	      "COPY --from=build /app /app\n"
	      "COPY --from=0 /x /x\n"
	      "COPY --from=docker.io/library/alpine:3 /bin/sh /sh\n"
	      "FROM BUILD AS again\n",	/* a stage, by name, whatever its case */
	    NULL, &cf);
	assert_list(&cf.images, "localhost/base:1 docker.io/library/alpine:3");
	assert_false(cf.copies);
	assert_int_equal(cf.stages, 3);
	containerfile_free(&cf);
}

static void
test_target_stops(void **state)
{
	struct fx_containerfile cf;
	const char *text = "FROM a AS one\nFROM b AS two\nCOPY x /x\nFROM c AS three\n";

	readf(text, "two", &cf);
	assert_list(&cf.images, "a b");
	assert_list(&cf.sources, "x");
	containerfile_free(&cf);
	readf(text, NULL, &cf);
	assert_list(&cf.images, "a b c");
	containerfile_free(&cf);
}

static void
test_args(void **state)
{
	struct fx_containerfile cf = {0};
	const char *text =
	    "ARG REG=localhost\n"
	    "ARG TAG=1\n"
	    "ARG UNSET\n"
	    "FROM ${REG}/base:$TAG\n"
	    "FROM ${UNSET:-fallback}:${TAG:+set} AS b\n"
	    "ARG TAG\n"			/* brings the global value in */
	    "COPY --from=img:${TAG} /a /a\n"
	    "COPY --from=img:${NOPE-x} /a /a\n"
	    "ENV DIR=src\n"
	    "COPY $DIR/main.c '$DIR' /app/\n";
	struct fx_cf_var args[] = {{"TAG", "2"}, {"NOTDECLARED", "z"}};

	containerfile_read(text, strlen(text), NULL, 0, NULL, &cf);
	assert_list(&cf.images, "localhost/base:1 fallback:set img:1 img:x");
	assert_list(&cf.sources, "src/main.c $DIR");
	containerfile_free(&cf);

	containerfile_read(text, strlen(text), args, FX_NELEM(args), NULL, &cf);
	assert_list(&cf.images, "localhost/base:2 fallback:set img:2 img:x");
	containerfile_free(&cf);

	/* An ARG in a stage is not seen by the next FROM. */
	readf("FROM a\nARG X=b\nFROM ${X:-none}\n", NULL, &cf);
	assert_list(&cf.images, "a none");
	containerfile_free(&cf);
}

static void
test_continuations_and_escape(void **state)
{
	struct fx_containerfile cf;

	readf("FROM \\\n"
	      "# a comment inside is dropped\n"
	      "   base:1\n"
	      "COPY a \\  \n"
	      "  b /dst/\n",
	    NULL, &cf);
	assert_list(&cf.images, "base:1");
	assert_list(&cf.sources, "a b");
	containerfile_free(&cf);

	readf("# escape=`\n"
	      "FROM win:1\n"
	      "COPY c:\\dir\\f `\n"
	      "  /dst\n",
	    NULL, &cf);
	assert_list(&cf.images, "win:1");
	assert_list(&cf.sources, "c:\\dir\\f");
	containerfile_free(&cf);

	/* A directive after an instruction is a comment. */
	readf("FROM a\n# escape=`\nCOPY x \\\n y /\n", NULL, &cf);
	assert_list(&cf.sources, "x y");
	containerfile_free(&cf);
}

static void
test_heredocs(void **state)
{
	struct fx_containerfile cf;

	readf("FROM a\n"
	      "RUN <<EOF\n"
	      "FROM evil:1\n"
	      "COPY secret /\n"
	      "EOF\n"
	      "COPY <<-'END' <<X /dst/\n"
	      "\t\tFROM nope\n"
	      "\tEND\n"
	      "ADD b /b\n"
	      "X\n"
	      "COPY real /r\n"
	      "RUN echo $((1<<2))\n"
	      "COPY after /a\n",
	    NULL, &cf);
	assert_list(&cf.images, "a");
	assert_list(&cf.sources, "real after");
	containerfile_free(&cf);

	/* A heredoc that never ends swallows the rest, safely. */
	readf("FROM a\nRUN <<EOF\nCOPY x /\n", NULL, &cf);
	assert_list(&cf.sources, "");
	containerfile_free(&cf);
}

static void
test_copy_forms(void **state)
{
	struct fx_containerfile cf;

	readf("FROM scratch\n"
	      "COPY [\"with space\", \"./b/../c/\", \"/dst/\"]\n"
	      "copy --chown=1:1 --chmod=644 /abs ./rel /dst\n"
	      "COPY . /ctx/\n"
	      "COPY onlydest\n",
	    NULL, &cf);
	assert_true(cf.copies);
	assert_list(&cf.sources, "with space c abs rel .");
	assert_list(&cf.images, "");
	containerfile_free(&cf);

	readf("FROM scratch\nCOPY --from=x /a /a\nRUN true\n", NULL, &cf);
	assert_false(cf.copies);
	containerfile_free(&cf);
}

static void
test_mounts(void **state)
{
	struct fx_containerfile cf;

	readf("FROM a AS tools\n"
	      "FROM b\n"
	      "ARG CFG=cfg.txt\n"
	      "RUN --mount=type=bind,source=$CFG,target=/c --mount=src=dir/../link,dst=/l cat /c\n"
	      "RUN --mount=type=bind,target=/all ls /all\n"
	      "RUN --mount=type=bind,from=tools,source=/bin,target=/t true\n"
	      "RUN --mount=type=bind,from=localhost/tools:2,target=/t true\n"
	      "RUN --mount=type=cache,target=/root/.cache --mount=type=tmpfs,target=/tmp "
	      "--mount=type=secret,id=s --mount=type=ssh --network=none true\n"
	      "RUN --mount=type=cache,from=localhost/seed:1,target=/c true\n"
	      "RUN echo --mount=type=bind,source=not-a-flag,target=/x\n",
	    NULL, &cf);
	assert_list(&cf.binds, "cfg.txt link .");
	assert_list(&cf.images, "a b localhost/tools:2 localhost/seed:1");
	assert_false(cf.copies);
	containerfile_free(&cf);
}

static void
test_remote(void **state)
{
	struct fx_containerfile cf;

	readf("FROM scratch\n"
	      "ADD http://127.0.0.1:8080/f.txt /f\n"
	      "ADD --checksum=sha256:abc https://example.com/a.tar /a\n"
	      "ADD https://github.com/o/r.git#v1 /src\n"
	      "ADD git@github.com:o/r.git /src2\n"
	      "COPY http://not-fetched-by-copy /x\n"
	      "ADD local.tar /\n",
	    NULL, &cf);
	assert_list(&cf.urls, "http://127.0.0.1:8080/f.txt https://example.com/a.tar");
	assert_list(&cf.checksums, " sha256:abc");
	assert_list(&cf.gits, "https://github.com/o/r.git#v1 git@github.com:o/r.git");
	assert_list(&cf.sources, "http:/not-fetched-by-copy local.tar");
	containerfile_free(&cf);

	assert_true(containerfile_git_pinned(
	    "https://github.com/o/r.git#0123456789abcdef0123456789abcdef01234567"));
	assert_false(containerfile_git_pinned("https://github.com/o/r.git#main"));
	assert_false(containerfile_git_pinned("https://github.com/o/r.git"));
	assert_false(containerfile_is_git("https://example.com/a.tar"));
}

static void
test_junk(void **state)
{
	struct fx_containerfile cf;
	const char *junk[] = {
		"", "\\", "FROM", "FROM ${", "FROM ${A:-${B:-${C", "COPY", "ARG =x\nFROM $",
		"RUN --mount=", "RUN --mount=,,,=,from=", "COPY [\"a\"", "COPY [\"\\", "RUN <<",
		"RUN <<-", "# escape=x\nFROM a", "FROM a\r\nCOPY b /\r\n", "FROM a\0FROM b",
		"ENV\nFROM a\nENV A\nENV B C D\nENV =\n",
	};

	for (size_t i = 0; i < FX_NELEM(junk); i++) {
		size_t n = i == 15 ? 13 : strlen(junk[i]);
		cf = (struct fx_containerfile){0};
		containerfile_read(junk[i], n, NULL, 0, NULL, &cf);
		containerfile_free(&cf);
	}
	readf("FROM a\r\nCOPY b /\r\n", NULL, &cf);
	assert_list(&cf.images, "a");
	assert_list(&cf.sources, "b");
	containerfile_free(&cf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_and_stages),
		cmocka_unit_test(test_target_stops),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_continuations_and_escape),
		cmocka_unit_test(test_heredocs),
		cmocka_unit_test(test_copy_forms),
		cmocka_unit_test(test_mounts),
		cmocka_unit_test(test_remote),
		cmocka_unit_test(test_junk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
