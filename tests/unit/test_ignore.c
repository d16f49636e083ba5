/*
 * test_ignore.c - the ignore rules (ignore.h) against what the builders do.
 *
 * Every case below is a rule file, a path and the answer of each reader:
 * BuildKit's (moby's ignorefile and patternmatcher, what docker sends) and
 * buildah's (imagebuilder's ParseIgnore and containers/storage's matcher,
 * what podman 4.3 sends): the examples of the .dockerignore documentation,
 * patternmatcher's own test table, the corners a build context meets
 * (dotfiles, CRLF files, escapes, ".."), and every place the two readers
 * disagree. Rules read by both readers exclude a path only when both do
 * (the inclusive reading), and each row checks that too. A wrong answer
 * here means a context hash that differs from what the builder sends. The
 * buildah answers are checked against the real podman by
 * tests/cli/builders.bats. Each row runs as its own cmocka test.
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
	bool bk, bh;		/* the answers of BuildKit's and buildah's readers */
	enum op op;
	bool approx;		/* bh is fusion's inclusive reading, not podman's answer */
};

/* Both readers agree. */
#define M(name, rules, path, want) { name, rules, path, want, want, MATCH, false }
#define P(name, rules, path, want) { name, rules, path, want, want, PRUNE, false }
/* They disagree. */
#define D(name, rules, path, bk, bh) { name, rules, path, bk, bh, MATCH, false }
#define DP(name, rules, path, bk, bh) { name, rules, path, bk, bh, PRUNE, false }
/* fusion reads the pattern inclusively (regexp syntax it does not model). */
#define A(name, rules, path, bk, bh) { name, rules, path, bk, bh, MATCH, true }

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
	D("glob: **file is a plain suffix in BuildKit, a name in buildah", "**file\n", "dir/myfile", true, false),
	D("glob: **.txt is a plain suffix in BuildKit, a name in buildah", "**.txt\n", "a/b.txt", true, false),
	M("glob: **.txt matches the name .txt in both", "**.txt\n", "a/.txt", true),
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
	M("glob: . and $ are literal in both", "a.b$\n", "a.b$", true),
	A("glob: parentheses are literal in BuildKit, a group in buildah", "a(b)c/def\n", "a(b)c/def", true, false),
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
	D("format: ! with spaces after it re-includes in BuildKit only", "*.md\n! README.md\n", "README.md", false, true),
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

/*
 * Where the two readers part (engine/ignore.c numbers them): each answer is
 * the reader's own, fusion excludes only what both exclude.
 */
static const struct row disagree[] = {
	D("1: **.md excludes a.md in BuildKit", "**.md\n", "a.md", true, false),
	D("1: **.md excludes sub/b.md in BuildKit", "**.md\n", "sub/b.md", true, false),
	M("1: **.md excludes .md in both", "**.md\n", ".md", true),
	M("1: **.md excludes sub/.md in both", "**.md\n", "sub/.md", true),
	D("1: **foo excludes xfoo/bar in BuildKit", "**foo\n", "xfoo/bar", true, false),
	M("1: **/foo is the same in both", "**/foo\n", "a/foo/b", true),
	A("2: a+b is literal in BuildKit, a repetition in buildah", "a+b\n", "a+b", true, false),
	A("2: a+b: buildah's aab is read inclusively", "a+b\n", "aab", false, false),
	A("2: (x) is literal in BuildKit, a group in buildah", "(x)\n", "(x)", true, false),
	A("2: a|b is literal in BuildKit, an alternation in buildah", "a|b\n", "a|b", true, false),
	A("2: a{2} is literal in BuildKit, a repetition in buildah", "a{2}\n", "a{2}", true, false),
	M("2: {x} is no repetition: literal in both", "{x}\n", "{x}", true),
	M("2: a{,2} is no repetition: literal in both", "a{,2}\n", "a{,2}", true),
	M("2: a{01} is no repetition: literal in both", "a{01}\n", "a{01}", true),
	M("2: a} is literal in both", "a}\n", "a}", true),
	A("2: an exception buildah cannot model re-includes everything", "*\n!(x)\n", "other", true, false),
	D("3: ^x is the file ^x in BuildKit", "^x\n", "^x", true, false),
	D("3: ^x is the file x in buildah", "^x\n", "x", false, true),
	M("3: ^x* is a regexp in both: an anchor", "^x*\n", "xy", true),
	A("3: a^b* never matches; read inclusively", "a^b*\n", "a^bc", false, false),
	D("4: ! x re-includes x in BuildKit, \" x\" in buildah", "*\n! x\n", "x", false, true),
	D("4: a space before / keeps the / in buildah", "  /x\n", "x", true, false),
	M("4: a space after the pattern is trimmed by both", "/x  \n", "x", true),
	D("5: buildah cleans ! with the rest: !a/../x excludes x", "x\n!a/../x\n", "x", false, true),
	D("5: buildah cleans ! with the rest: !/../x excludes x", "*\n!/../x\n", "x", false, true),
	D("6: a BOM before ! is no exception in buildah", "\xef\xbb\xbf!x\n", "!x", false, true),
	D("6: a BOM before # is no comment in buildah", "\xef\xbb\xbf#c\n", "#c", false, true),
	M("6: a BOM before a pattern is dropped by both", "\xef\xbb\xbf" "foo\n", "foo", true),
	D("6: a BOM on a later line is part of BuildKit's plain pattern", "a\n\xef\xbb\xbf" "foo\n", "\xef\xbb\xbf" "foo", true, false),
	D("6: a BOM on a later line is dropped from buildah's regexp", "a\n\xef\xbb\xbf" "foo\n", "foo", false, true),
	/* (the exception makes podman's walk look inside a) */
	D("buildah's parent match cannot cross a newline", "a\n!a/zzz\n", "a/b\nc", true, false),
	M("a newline inside the matched part is fine", "a\\nb\n", "a\nb/c", true),
	D("a dir BuildKit would prune, buildah not", "**.md\n", "x.md/y", true, false),
	M("/ around a line is cut by buildah, cleaned by BuildKit", "/a/b/\n", "a/b", true),
	M("!/x: both strip the slash of an exception", "*\n!/x\n", "x", false),
	M("CRLF: buildah trims the \\r with the spaces", "a/\r\n", "a", true),
};

/* Both builders read '[...]' and '\\' as Go's regexp does. */
static const struct row regexps[] = {
	M("regexp: \\d is a digit", "\\d.txt\n", "1.txt", true),
	M("regexp: \\d is not a d", "\\d.txt\n", "d.txt", false),
	M("regexp: \\D is not a digit", "\\D\n", "x", true),
	M("regexp: \\s is a space", "a\\sb\n", "a b", true),
	M("regexp: \\w is a word character", "\\w\\w\n", "a_", true),
	M("regexp: \\W is not one", "\\W\n", "-", true),
	M("regexp: \\t is a tab", "a\\tb\n", "a\tb", true),
	M("regexp: \\t is not a t", "a\\tb\n", "atb", false),
	M("regexp: \\n is a newline", "a\\nb\n", "a\nb", true),
	M("regexp: \\. is a dot", "a\\.b\n", "a.b", true),
	M("regexp: \\_ is an underscore", "a\\_\n", "a_", true),
	A("regexp: \\bx is read inclusively (an assertion)", "\\bx\n", "x", false, false),
	A("regexp: \\x41 is read inclusively", "\\x41\n", "A", false, false),
	A("regexp: \\12 is read inclusively (octal)", "\\12\n", "\n", false, false),
	A("regexp: [\\d] is read inclusively", "[\\d]\n", "1", false, false),
	A("regexp: [*] is mangled: read inclusively", "[*]\n", "*", false, false),
	A("regexp: [[:alpha:]] is read inclusively", "x[[:alpha:]]\n", "x[", false, false),
	M("regexp: [\\]] is a bracket", "[\\]]\n", "]", true),
	M("regexp: [a.] is a dot or an a", "x[a.]\n", "x.", true),
	M("regexp: [^a] takes a newline", "x[^a]y\n", "x\ny", true),
	M("regexp: [+] is a plus in both", "x[+]\n", "x+", true),
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
	DP("prune: **.md is a suffix only in BuildKit", "**.md\n", "x.md", true, false),
	DP("prune: buildah's own exception reading", "a\n! a/b\n", "a", false, true),
};

static bool
answer(const struct row *r, unsigned readers)
{
	struct fx_ignore *ig = ignore_new_for(readers, readers);
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
	static const char *const names[] = {"BuildKit", "buildah", "both readers"};
	static const unsigned readers[] = {FX_IGNORE_BUILDKIT, FX_IGNORE_BUILDAH, FX_IGNORE_ALL};
	const struct row *r = *state;
	const bool want[] = {r->bk, r->bh, r->bk && r->bh};

	for (int i = 0; i < 3; i++)
		if (answer(r, readers[i]) != want[i])
			fail_msg("%s: rules %s path \"%s\": %s should say %s", r->name, r->rules,
			         r->path, names[i], want[i] ? "true" : "false");
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
test_error_invalid_escape(void **state)
{
	/* Both builders compile patterns to Go regexps, which refuse \k. */
	expect_error("dir\\keep.txt\n", ".containerignore:1: bad pattern \"dir\\keep.txt\": invalid escape");
	expect_error("\\1\n", "invalid escape");
	expect_error("[\\b]\n", "invalid escape");
}

/* A pattern only one reader refuses: an error if that reader's builder
 * runs, else that reader sends nothing and the other one decides. */
static void
buildah_refuses(const char *text, const char *msg, const char *path)
{
	struct fx_ignore *ig = ignore_new_for(FX_IGNORE_ALL, FX_IGNORE_BUILDAH);

	capture_begin();
	int rc = add_file(ig, text);
	char *out = capture_end();
	assert_int_equal(rc, -1);
	assert_int_equal(errors_in(out), 1);
	if (!strstr(out, msg) || !strstr(out, "podman would fail the build"))
		fail_msg("rules %s: want \"%s\" in \"%s\"", text, msg, out);
	free(out);
	ignore_free(ig);

	ig = ignore_new_for(FX_IGNORE_ALL, FX_IGNORE_BUILDKIT);
	capture_begin();
	rc = add_file(ig, text);
	out = capture_end();
	assert_int_equal(rc, 0);
	assert_string_equal(out, "");
	free(out);
	assert_true(ignore_match(ig, path, false));
	ignore_free(ig);
}

static void
test_error_buildah_only(void **state)
{
	buildah_refuses("a(b\n", "missing closing )", "a(b");
	buildah_refuses("a)b\n", "unexpected )", "a)b");
	buildah_refuses("x*+\n", "invalid nested repetition operator", "x*+");
	buildah_refuses("x**+\n", "invalid nested repetition operator", "x/y/+");
	buildah_refuses("a{1001}\n", "invalid repeat count", "a{1001}");
	buildah_refuses("a{3,2}\n", "invalid repeat count", "a{3,2}");
}

static void
test_for_ignorefile(void **state)
{
	/* podman's --ignorefile reader keeps the '/'s its .containerignore
	 * reader cuts: what fusion writes there has them cut already. */
	const char *text = "# c\n/tmp/\n\n/#x\n!/keep/\n  /sp\nlog\r\n//\n";
	struct fx_buf b = {0};

	ignore_for_ignorefile(text, strlen(text), &b);
	buf_putc(&b, '\0');
	assert_string_equal(b.s, "tmp\n./#x\n!/keep\n  /sp\nlog\r\n");
	buf_free(&b);
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
	cmocka_unit_test(test_error_invalid_escape),
	cmocka_unit_test(test_error_buildah_only),
	cmocka_unit_test(test_for_ignorefile),
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
	{ disagree, sizeof disagree / sizeof disagree[0] },
	{ regexps, sizeof regexps / sizeof regexps[0] },
	{ prune, sizeof prune / sizeof prune[0] },
};

static void
hex(const char *s)
{
	for (; *s; s++)
		printf("%02x", (unsigned char)*s);
}

/*
 * --dump: the rows, for tests/cli/builders.bats to put to the real podman:
 * "exact|approx|bh|rules-hex|path-hex|name" ('|' keeps an empty field a
 * field for the shell's read), one per row that asks whether a path is
 * excluded.
 */
static int
dump(void)
{
	for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
		for (size_t i = 0; i < tables[t].n; i++) {
			const struct row *r = &tables[t].rows[i];
			if (r->op != MATCH || !*r->path || strcmp(r->path, ".") == 0)
				continue;
			printf("%s|%d|", r->approx ? "approx" : "exact", r->bh);
			hex(r->rules);
			putchar('|');
			hex(r->path);
			printf("|%s\n", r->name);
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	size_t n = sizeof fixed / sizeof fixed[0], k = 0;
	struct CMUnitTest *tests;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--dump") == 0)
		return dump();

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
