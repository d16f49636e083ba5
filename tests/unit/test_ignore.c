/*
 * test_ignore.c - the ignore rules (ignore.h) against what docker does.
 *
 * Every case below is a rule file, a path and the exact answer docker (moby's
 * patternmatcher, shared by buildah and podman) gives for it: the examples of
 * the .dockerignore documentation, patternmatcher's own test table, and the
 * corners a build context meets (dotfiles, CRLF files, escapes, "..").  A
 * wrong answer here means a context hash that differs from what the engine
 * actually sends.  Each row runs as its own cmocka test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/diag.h"
#include "fusion/ignore.h"

#include "capture.h"

enum op { MATCH, PRUNE };

struct row {
	const char *name;
	const char *rules;	/* text of an ignore file */
	const char *path;
	bool want;
	enum op op;
};

#define M(name, rules, path, want) { name, rules, path, want, MATCH }
#define P(name, rules, path, want) { name, rules, path, want, PRUNE }

/* The .dockerignore documentation's examples. */
static const struct row docs[] = {
	M("docs: */temp* excludes somedir/temporary.txt", "# comment\n*/temp*\n*/*/temp*\ntemp?\n", "somedir/temporary.txt", true),
	M("docs: */temp* excludes the directory somedir/temp", "# comment\n*/temp*\n*/*/temp*\ntemp?\n", "somedir/temp", true),
	M("docs: */temp* excludes what is inside somedir/temp", "# comment\n*/temp*\n*/*/temp*\ntemp?\n", "somedir/temp/x", true),
	M("docs: */temp* leaves temporary.txt at the root", "# comment\n*/temp*\n*/*/temp*\ntemp?\n", "temporary.txt", false),
	M("docs: */*/temp* excludes somedir/subdir/temporary.txt", "# comment\n*/temp*\n*/*/temp*\ntemp?\n", "somedir/subdir/temporary.txt", true),
	M("docs: */*/temp* stops at two levels", "# comment\n*/temp*\n*/*/temp*\ntemp?\n", "a/b/c/temp.txt", false),
	M("docs: temp? excludes tempa", "# comment\n*/temp*\n*/*/temp*\ntemp?\n", "tempa", true),
	M("docs: temp? excludes tempb", "# comment\n*/temp*\n*/*/temp*\ntemp?\n", "tempb", true),
	M("docs: temp? needs one more character", "# comment\n*/temp*\n*/*/temp*\ntemp?\n", "temp", false),
	M("docs: temp? takes exactly one", "# comment\n*/temp*\n*/*/temp*\ntemp?\n", "tempab", false),
	M("docs: a comment is not a pattern", "# comment\n*/temp*\n*/*/temp*\ntemp?\n", "# comment", false),
	M("docs: /foo/bar and foo/bar are the same", "/foo/bar\n", "foo/bar", true),
	M("docs: foo/bar excludes nothing else", "foo/bar\n", "x/foo/bar", false),
	M("docs: **/*.go at the root", "**/*.go\n", "main.go", true),
	M("docs: **/*.go deep down", "**/*.go\n", "cmd/fusion/main.go", true),
	M("docs: **/*.go leaves go.mod", "**/*.go\n", "go.mod", false),
	M("docs: *.md with !README.md keeps README.md", "*.md\n!README.md\n", "README.md", false),
	M("docs: *.md with !README.md drops CHANGES.md", "*.md\n!README.md\n", "CHANGES.md", true),
	M("docs: *.md is only the root", "*.md\n!README.md\n", "docs/guide.md", false),
	M("docs: !README*.md then README-secret.md drops it", "*.md\n!README*.md\nREADME-secret.md\n", "README-secret.md", true),
	M("docs: !README*.md then README-secret.md keeps README.md", "*.md\n!README*.md\nREADME-secret.md\n", "README.md", false),
	M("docs: !README*.md then README-secret.md keeps README-dev.md", "*.md\n!README*.md\nREADME-secret.md\n", "README-dev.md", false),
	M("docs: README-secret.md then !README*.md keeps it", "*.md\nREADME-secret.md\n!README*.md\n", "README-secret.md", false),
	M("docs: * then !src sends only src", "*\n!src\n", "Makefile", true),
	M("docs: * then !src keeps src/main.c", "*\n!src\n", "src/main.c", false),
	M("docs: .. and . elements are cleaned", "foo/../bar\n", "bar", true),
	M("docs: a cleaned pattern no longer names foo", "foo/../bar\n", "foo", false),
};

/* A directory pattern and what lies below it. */
static const struct row dirs[] = {
	M("dir: build excludes build itself", "build\n", "build", true),
	M("dir: build excludes build/out/x.o", "build\n", "build/out/x.o", true),
	M("dir: build is not a prefix of builder", "build\n", "builder/x", false),
	M("dir: build is anchored at the root", "build\n", "sub/build", false),
	M("dir: trailing slash is dropped", "build/\n", "build/x", true),
	M("dir: exception inside an excluded dir", "docs\n!docs/README.md\n", "docs/README.md", false),
	M("dir: the rest of the dir stays excluded", "docs\n!docs/README.md\n", "docs/other.md", true),
	M("dir: docs/ with an exception", "docs/\n!docs/README.md\n", "docs/README.md", false),
	M("dir: docs/* with an exception", "docs/*\n!docs/README.md\n", "docs/README.md", false),
	M("dir: exception before the pattern loses", "!fileutils.go\n*.go\n", "fileutils.go", true),
	M("dir: pattern before the exception loses", "*.go\n!fileutils.go\n", "fileutils.go", false),
	M("dir: ** with a directory exception", "**\n!util/docker/web\n", "util/docker/web/foo", false),
	M("dir: ** with a directory exception, elsewhere", "**\n!util/docker/web\n", "util/docker/other", true),
	M("dir: re-excluded after the exception", "**\n!util/docker/web\nutil/docker/web/foo\n", "util/docker/web/foo", true),
	M("dir: a later dir pattern beats an earlier exception", "!build/keep\nbuild\n", "build/keep", true),
	M("dir: is_dir does not change the answer", "foo\n", "foo", true),
};

/* '*', '?', "**" and patternmatcher's special cases. */
static const struct row globs[] = {
	M("glob: * matches a top-level name", "*\n", "a", true),
	M("glob: * matches everything through the parent", "*\n", "a/b/c", true),
	M("glob: ? does not match '/'", "a?c\n", "a/c", false),
	M("glob: ? matches one character", "a?c\n", "abc", true),
	M("glob: ? matches one UTF-8 character", "?\n", "\xc3\xa9", true),
	M("glob: ?? is not one UTF-8 character", "??\n", "\xc3\xa9", false),
	M("glob: dir/*.txt directly inside", "dir/*.txt\n", "dir/a.txt", true),
	M("glob: dir/*.txt not deeper", "dir/*.txt\n", "dir/sub/a.txt", false),
	M("glob: a/**/b with no directory between", "a/**/b\n", "a/b", true),
	M("glob: a/**/b with directories between", "a/**/b\n", "a/x/y/b", true),
	M("glob: a/**/b excludes below b", "a/**/b\n", "a/x/b/c", true),
	M("glob: a/**/b needs the slash", "a/**/b\n", "ab", false),
	M("glob: foo/** does not match foo", "foo/**\n", "foo", false),
	M("glob: foo/** matches foo/x", "foo/**\n", "foo/x", true),
	M("glob: foo/** matches foo/x/y", "foo/**\n", "foo/x/y", true),
	M("glob: **/foo matches foo at the root", "**/foo\n", "foo", true),
	M("glob: **/foo matches x/y/foo", "**/foo\n", "x/y/foo", true),
	M("glob: **/foo does not match afoo", "**/foo\n", "x/afoo", false),
	M("glob: **/foo/bar deep down", "**/foo/bar\n", "dir/dir2/foo/bar", true),
	M("glob: ** matches everything", "**\n", "a/b/c", true),
	M("glob: **file is a plain suffix (docker quirk)", "**file\n", "dir/myfile", true),
	M("glob: **.txt is a plain suffix (docker quirk)", "**.txt\n", "a/b.txt", true),
	M("glob: x/**.txt is a regexp, not a suffix (docker quirk)", "x/**.txt\n", "x/a.txt", false),
	M("glob: x/**.txt matches x/.txt (docker quirk)", "x/**.txt\n", "x/.txt", true),
	M("glob: a**/*.txt with a/", "a**/*.txt\n", "a/file.txt", true),
	M("glob: a**/*.txt deeper", "a**/*.txt\n", "a/dir/dir/file.txt", true),
	M("glob: **/**/*.txt2 does not match .txt", "**/**/*.txt2\n", "dir/dir/file.txt", false),
	M("glob: abc/** does not match abc", "abc/**\n", "abc", false),
	M("glob: .* matches a dotfile", ".*\n", ".foo", true),
	M("glob: .* excludes inside a dot directory", ".*\n", ".git/config", true),
	M("glob: .* does not match foo", ".*\n", "foo", false),
	M("glob: **/.foo matches .foo", "**/.foo\n", ".foo", true),
	M("glob: **/.foo does not match bar.foo", "**/.foo\n", "bar.foo", false),
	M("glob: '.' in a pattern is literal", "abc.def\n", "abcdef", false),
	M("glob: regexp characters are literal", "a.|)$(}+{bc\n", "a.|)$(}+{bc", true),
	M("glob: parentheses are literal", "a(b)c/def\n", "a(b)c/def", true),
	M("glob: dist/*.whl with dots and pluses", "dist/*.whl\n", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true),
	M("glob: ** in the middle does not cross a newline (docker quirk)", "a/**/b\n", "a/x\ny/b", false),
};

/* Character classes and escapes. */
static const struct row classes[] = {
	M("class: a[b-d]e matches ace", "a[b-d]e\n", "ace", true),
	M("class: a[b-d]e does not match aae", "a[b-d]e\n", "aae", false),
	M("class: a[b-d]e needs a character", "a[b-d]e\n", "ae", false),
	M("class: a[^b-d]e matches aze", "a[^b-d]e\n", "aze", true),
	M("class: a[^b-d]e does not match ace", "a[^b-d]e\n", "ace", false),
	M("class: [!a] is '!' or 'a', not a negation", "[!a]x\n", "!x", true),
	M("class: [!a] does not match bx", "[!a]x\n", "bx", false),
	M("class: digits", "file[0-9].log\n", "file7.log", true),
	M("class: digits, not letters", "file[0-9].log\n", "filex.log", false),
	M("class: escaped ] inside", "[\\]]x\n", "]x", true),
	M("class: a UTF-8 character", "[\xc3\xa9]\n", "\xc3\xa9", true),
	M("escape: \\* is a literal star", "a\\*b\n", "a*b", true),
	M("escape: \\* is not a wildcard", "a\\*b\n", "axb", false),
	M("escape: \\\\ is a backslash", "a\\\\\n", "a\\", true),
	M("escape: \\? is a literal question mark", "what\\?\n", "what?", true),
	M("escape: \\[ is a literal bracket", "\\[x]\n", "[x]", true),
};

/* How an ignore file is read. */
static const struct row format[] = {
	M("format: CRLF line endings", "foo\r\nbar\r\n", "bar", true),
	M("format: CRLF with an exception", "*.md\r\n!README.md\r\n", "README.md", false),
	M("format: surrounding spaces are trimmed", "  foo  \n", "foo", true),
	M("format: blank and white lines are skipped", "\n \n\t\nfoo\n", "foo", true),
	M("format: '#' after spaces is a pattern", "  #notes\n", "#notes", true),
	M("format: escaped '#' is a pattern", "\\#x\n", "#x", true),
	M("format: a UTF-8 BOM is skipped", "\xef\xbb\xbf" "foo\n", "foo", true),
	M("format: last line without a newline", "a\nfoo", "foo", true),
	M("format: ! with spaces after it", "*.md\n! README.md\n", "README.md", false),
	M("format: exception with trailing spaces", "docs\n!docs/README.md  \n", "docs/README.md", false),
	M("format: ./ prefix is stripped", "./foo\n", "foo", true),
	M("format: ! with a leading slash", "*\n!/keep\n", "keep", false),
	M("format: duplicate slashes and dots collapse", "a//b/./c\n", "a/b/c", true),
	M("format: a pattern cleaning to . matches nothing", ".\n", "a", false),
	M("format: ./ matches nothing", "./\n", "a/b", false),
	M("format: ../x stays outside the context", "../x\n", "x", false),
	M("format: / alone matches nothing", "/\n", "a", false),
	M("format: the context root is never excluded", "*\n", ".", false),
	M("format: nor is the empty path", "**\n", "", false),
	M("format: an empty rule set excludes nothing", "", "a", false),
};

/* May the walk skip a directory? */
static const struct row prune[] = {
	P("prune: an excluded dir without exceptions", "build\n", "build", true),
	P("prune: a dir below an excluded dir", "build\n", "build/sub", true),
	P("prune: a dir that is not excluded", "*.o\n", "src", false),
	P("prune: an exception names a file inside", "build\n!build/keep.txt\n", "build", false),
	P("prune: an exception starting with **", "build\n!**/*.txt\n", "build", false),
	P("prune: an exception starting with */", "build\n!*/keep\n", "build", false),
	P("prune: an exception that cannot reach inside", "build\n!*.txt\n", "build", true),
	P("prune: an exception for another dir", "*\n!src/**\n", "docs", true),
	P("prune: an exception below the dir", "*\n!src/**\n", "src", false),
	P("prune: an exception into a sibling subdir", "node_modules\n!node_modules/keep/**\n", "node_modules/other", true),
	P("prune: an exception into the subdir", "node_modules\n!node_modules/keep/**\n", "node_modules", false),
	P("prune: an exception overruled by a later pattern", "!build/keep\nbuild\n", "build", true),
	P("prune: **/__pycache__", "**/__pycache__\n", "a/b/__pycache__", true),
	P("prune: a wildcard exception through the dir", "a/*/c\n!a/b/c/d\n", "a/b/c", false),
	P("prune: a wildcard exception into another dir", "a/*/c\n!a/b/c/d\n", "a/x/c", true),
	P("prune: a suffix exception can reach anywhere", "cache\n!**keep\n", "cache", false),
	P("prune: the context root", "*\n", ".", false),
};

static bool
answer(const struct row *r)
{
	struct fx_ignore *ig = ignore_new();
	bool got;

	assert_int_equal(ignore_add_text(ig, r->rules, strlen(r->rules), ".dockerignore"), 0);
	if (r->op == PRUNE)
		got = ignore_dir_prunable(ig, r->path);
	else
		got = ignore_match(ig, r->path, false);
	if (r->op == MATCH)
		assert_int_equal(ignore_match(ig, r->path, true), got);
	ignore_free(ig);
	return got;
}

static void
test_row(void **state)
{
	const struct row *r = *state;

	if (answer(r) != r->want)
		fail_msg("%s: rules %s path \"%s\": want %s", r->name, r->rules,
		         r->path, r->want ? "true" : "false");
}

static int
add_file(struct fx_ignore *ig, const char *text)
{
	return ignore_add_text(ig, text, strlen(text), ".containerignore");
}

static void
expect_error(const char *text, const char *msg)
{
	struct fx_ignore *ig = ignore_new();

	capture_begin();
	int rc = add_file(ig, text);
	char *out = capture_end();
	assert_int_equal(rc, -1);
	assert_int_equal(errors_in(out), 1);
	if (!strstr(out, msg))
		fail_msg("rules %s: want \"%s\" in \"%s\"", text, msg, out);
	free(out);
	ignore_free(ig);
}

static void
test_error_unterminated_class(void **state)
{
	expect_error("foo\n[abc\n", ".containerignore:2: bad pattern \"[abc\"");
}

static void
test_error_lone_bracket(void **state)
{
	expect_error("[\n", ".containerignore:1: bad pattern");
}

static void
test_error_bang_alone(void **state)
{
	expect_error("*\n\n!\n", ".containerignore:3: bad pattern \"!\"");
}

static void
test_error_trailing_backslash(void **state)
{
	expect_error("a\\\n", ".containerignore:1: bad pattern");
}

static void
test_error_empty_class(void **state)
{
	expect_error("x[]a]\n", ".containerignore:1: bad pattern");
}

static void
test_error_range_without_end(void **state)
{
	expect_error("[a-]\n", ".containerignore:1: bad pattern");
}

static void
test_error_reversed_range(void **state)
{
	expect_error("[z-a]\n", ".containerignore:1: bad pattern");
}

static void
test_error_bad_class_after_star(void **state)
{
	/* Go's Match checks the whole pattern, not only up to a mismatch. */
	expect_error("a*[\n", ".containerignore:1: bad pattern");
}

static void
test_error_keeps_good_lines(void **state)
{
	struct fx_ignore *ig = ignore_new();

	capture_begin();
	int rc = add_file(ig, "a\n[\nb\n");
	free(capture_end());
	assert_int_equal(rc, -1);
	assert_int_equal(ignore_count(ig), 2);
	assert_true(ignore_match(ig, "b", false));
	ignore_free(ig);
}

static void
test_count_skips_comments_and_blanks(void **state)
{
	struct fx_ignore *ig = ignore_new();
	const char *text = "# c\n\n  \n*.o\n!keep.o\r\n.\n";

	assert_int_equal(ignore_add_text(ig, text, strlen(text), "x"), 0);
	assert_int_equal(ignore_count(ig), 3);
	ignore_free(ig);
}

static void
test_add_pattern(void **state)
{
	struct fx_ignore *ig = ignore_new();

	assert_int_equal(ignore_add_pattern(ig, "dist", "fusion.yaml", 7), 0);
	assert_int_equal(ignore_add_pattern(ig, "!dist/keep", "fusion.yaml", 8), 0);
	assert_int_equal(ignore_add_pattern(ig, "# not a pattern", "fusion.yaml", 9), 0);
	assert_int_equal(ignore_count(ig), 2);
	assert_true(ignore_match(ig, "dist/x", false));
	assert_false(ignore_match(ig, "dist/keep", false));
	ignore_free(ig);
}

static int
add_one(struct fx_ignore *ig, const char *pattern)
{
	return ignore_add_pattern(ig, pattern, "fusion.yaml", 12);
}

static void
test_add_pattern_error(void **state)
{
	struct fx_ignore *ig = ignore_new();

	capture_begin();
	int rc = add_one(ig, "src/[");
	char *out = capture_end();
	assert_int_equal(rc, -1);
	assert_non_null(strstr(out, "fusion.yaml:12: bad pattern \"src/[\""));
	assert_int_equal(errors_in(out), 1);
	assert_int_equal(ignore_count(ig), 0);
	free(out);
	ignore_free(ig);
}

static void
test_text_with_length(void **state)
{
	struct fx_ignore *ig = ignore_new();

	/* Only the first len bytes count: "foo\nbar" cut after "foo\nba". */
	assert_int_equal(ignore_add_text(ig, "foo\nbar", 6, "x"), 0);
	assert_true(ignore_match(ig, "ba", false));
	assert_false(ignore_match(ig, "bar", false));
	ignore_free(ig);
}

static void
test_long_pattern(void **state)
{
	/* More tokens than fit the matcher's stack sets. */
	char pat[2048], path[2048];
	struct fx_ignore *ig = ignore_new();
	size_t n = 0;

	for (int i = 0; i < 300; i++) {
		pat[n] = (char)('a' + i % 26);
		path[n++] = (char)('a' + i % 26);
	}
	memcpy(pat + n, "/**/?*", 7);
	memcpy(path + n, "/x/y/zz", 8);
	assert_int_equal(ignore_add_pattern(ig, pat, "x", 1), 0);
	assert_true(ignore_match(ig, path, false));
	path[3] = '#';
	assert_false(ignore_match(ig, path, false));
	ignore_free(ig);
}

struct worker {
	const struct fx_ignore *ig;
	int wrong;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	char path[64];

	for (int i = 0; i < 20000; i++) {
		snprintf(path, sizeof path, "src/pkg%d/file%d.%s", i % 7, i, i % 3 ? "go" : "md");
		if (ignore_match(w->ig, path, false) != (i % 3 != 0 && i % 7 != 3))
			w->wrong++;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	const char *text = "**/*.go\n!src/pkg3\n";
	struct fx_ignore *ig = ignore_new();
	struct worker w[4];
	pthread_t t[4];

	assert_int_equal(ignore_add_text(ig, text, strlen(text), "x"), 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ ig, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].wrong, 0);
	}
	ignore_free(ig);
}

/* No rules: nothing is ignored, nothing pruned; freeing them, or NULL
 * (as free() takes NULL), is safe. */
static void
test_no_rules_ignore_nothing(void **state)
{
	struct fx_ignore *ig = ignore_new();

	assert_int_equal(ignore_count(ig), 0);
	assert_false(ignore_match(ig, "a", false));
	assert_false(ignore_match(ig, "node_modules/x.js", false));
	assert_false(ignore_match(ig, "node_modules", true));
	assert_false(ignore_dir_prunable(ig, "node_modules"));
	ignore_free(ig);
	ignore_free(NULL);
}

static const struct CMUnitTest fixed[] = {
	cmocka_unit_test(test_error_unterminated_class),
	cmocka_unit_test(test_error_lone_bracket),
	cmocka_unit_test(test_error_bang_alone),
	cmocka_unit_test(test_error_trailing_backslash),
	cmocka_unit_test(test_error_empty_class),
	cmocka_unit_test(test_error_range_without_end),
	cmocka_unit_test(test_error_reversed_range),
	cmocka_unit_test(test_error_bad_class_after_star),
	cmocka_unit_test(test_error_keeps_good_lines),
	cmocka_unit_test(test_count_skips_comments_and_blanks),
	cmocka_unit_test(test_add_pattern),
	cmocka_unit_test(test_add_pattern_error),
	cmocka_unit_test(test_text_with_length),
	cmocka_unit_test(test_long_pattern),
	cmocka_unit_test(test_threads),
	cmocka_unit_test(test_no_rules_ignore_nothing),
};

static const struct {
	const struct row *rows;
	size_t n;
} tables[] = {
	{ docs, sizeof docs / sizeof docs[0] },
	{ dirs, sizeof dirs / sizeof dirs[0] },
	{ globs, sizeof globs / sizeof globs[0] },
	{ classes, sizeof classes / sizeof classes[0] },
	{ format, sizeof format / sizeof format[0] },
	{ prune, sizeof prune / sizeof prune[0] },
};

int
main(void)
{
	size_t n = sizeof fixed / sizeof fixed[0], k = 0;
	struct CMUnitTest *tests;
	int rc;

	for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
		n += tables[t].n;
	tests = calloc(n, sizeof *tests);
	assert_non_null(tests);
	for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
		for (size_t i = 0; i < tables[t].n; i++) {
			const struct row *r = &tables[t].rows[i];
			tests[k++] = (struct CMUnitTest){ .name = r->name,
				.test_func = test_row, .initial_state = (void *)r };
		}
	}
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[k++] = fixed[i];
	rc = _cmocka_run_group_tests("ignore", tests, n, NULL, NULL);
	free(tests);
	return rc;
}
