/*
 * ignore.c - the ignore rules of a build context, as the builders read them
 * (see ignore.h).
 *
 * The rules decide which files go into a context hash, so they must keep
 * every file podman or docker would send; and they run for every file of
 * large trees, on several threads at once.
 *
 * Each line is read twice, once as each builder reads it:
 *
 *   BuildKit: ignorefile.ReadAll (BOM stripped, '#' lines skipped, white
 *     space trimmed, filepath.Clean, one leading '/' dropped, also after
 *     '!'), then patternmatcher.New and its compile(): plain patterns are an
 *     exact, a prefix ("lit**") or a suffix ("**lit") test, the rest a
 *     regexp in which '*' is "[^/]*", '?' "[^/]", "**" "(.*\/)?" (".*" at
 *     the end), and the characters .+()|{}$ are escaped.
 *   buildah: imagebuilder's ParseIgnore ('#' lines and empty lines skipped,
 *     every leading and trailing '/' cut, nothing trimmed), then the
 *     PatternMatcher of containers/storage 1.43 (white space trimmed,
 *     filepath.Clean of the whole line, "!" then cleaned again): always a
 *     regexp, "^pattern(/.*)?$", in which only '.' and '$' are escaped.
 *
 * Both test a path and its parent directories, both check the syntax with
 * filepath.Match and fail the build on a regexp that does not compile. So
 * they agree on most lines, and where they disagree the inclusive reading
 * wins (ignore.h). The disagreements, each a test in tests/unit/test_ignore.c:
 *
 *   1. "**lit" (no '/' after "**"): a suffix test in BuildKit ("**.md"
 *      excludes a.md), the component "lit" in buildah (only .md, x/.md).
 *   2. '+', '(', ')', '|', '{', '}' are literal in BuildKit and regexp
 *      syntax in buildah ("a+b" matches aab; "(" fails the build).
 *   3. '^' is a literal in BuildKit's plain patterns and an anchor in every
 *      regexp ("^x" excludes the file ^x in BuildKit and x in buildah).
 *   4. White space after '!' ("! x") is trimmed by BuildKit, kept by buildah
 *      (an exception for " x"); white space before a '/' ("  /x") keeps the
 *      '/' in buildah, whose pattern then matches nothing.
 *   5. buildah cleans "!" with the rest ("!a/../b" excludes b; BuildKit
 *      re-includes it).
 *   6. A UTF-8 BOM starts the first line's pattern in buildah ("\ufeff!x"
 *      is no exception, "\ufeff#x" no comment; its regexp then drops it).
 *   7. buildah prunes an excluded directory unless an exception's text
 *      starts with the directory's path; BuildKit descends whenever an
 *      exception could match below it ("dir" then "!**\/keep": BuildKit
 *      sends dir/keep, buildah does not). The walk takes BuildKit's side:
 *      that over-inclusion is the one the README names.
 *   8. Excluded directories that hold a re-included file: BuildKit sends
 *      them with their own mode, buildah creates them with its default.
 *      The walk keeps them with their own mode (hash.h).
 *
 * Both builders paste regexp syntax through: "[...]" and '\\' reach Go's
 * regexp as they are, so "\d" is a digit, "\t" a tab, "\k" an error, and a
 * class with '*' in it is mangled. What is a plain character, a class or a
 * control character in the regexp is read as such; what fusion does not
 * model (assertions, groups, repetitions, mangled classes) is read
 * inclusively (ignore.h); escapes Go's regexp refuses are errors.
 *
 * We keep patternmatcher's four kinds with their quirks, and run the regexp
 * kind as a small NFA over tokens instead of a regex library. One pass over
 * the path tells whether the pattern matches the path or one of its parent
 * directories (the "(/.*)?$" of buildah, MatchesOrParentMatches of
 * BuildKit): a parent matches when the NFA accepts just before a '/'.
 *
 * Nothing is written after ignore_add_*, so matching needs no lock.
 */
#include "fusion/ignore.h"

#include "fusion/diag.h"
#include "fusion/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RUNE_ERROR 0xfffdu
#define RUNE_BOM 0xfeffu
#define RUN_WORDS 4	/* state sets on the stack: patterns of up to 255 tokens */
#define NREADERS 2	/* BuildKit, buildah: bit (1 << i) of FX_IGNORE_* */

enum kind { K_EXACT, K_PREFIX, K_SUFFIX, K_REGEX, K_ALL };

enum {
	T_LIT,		/* one rune */
	T_ONE,		/* '?': [^/] */
	T_CLASS,	/* [...] */
	T_STAR,		/* '*': [^/]* */
	T_ANY,		/* trailing "**": .* */
	T_DOPT,		/* "**" inside: the optional group of (.*\/)? */
	T_DLOOP,	/* ... and its .*\/ */
};

struct tok {
	unsigned char type;
	bool neg;		/* T_CLASS: "[^...]" */
	bool caret;		/* T_LIT: a '^' as written (an anchor in a regexp) */
	uint32_t r;		/* T_LIT: the rune; T_CLASS: first range */
	uint32_t nr;		/* T_CLASS: number of ranges */
};

struct pat {
	char *text;		/* cleaned, without the '!' */
	bool excl;		/* "!pattern": an exception */
	enum kind kind;
	const char *lit;	/* K_EXACT, K_PREFIX, K_SUFFIX: points into text */
	size_t litlen;
	struct tok *tok;	/* K_REGEX */
	size_t ntok, tokcap;
	uint32_t *ranges;	/* lo, hi pairs of the classes */
	size_t nranges, rangecap;
	/* K_REGEX: ASCII literals every match starts with, ends with, contains */
	char *head, *tail, *need;
	size_t headlen, taillen, needlen;
	uint64_t *eps;		/* K_REGEX under 64 tokens: closure of each state */
	int slashes;		/* K_REGEX: '/'s in every match, or -1 if it varies */
};

/* One reader's patterns, in order. */
struct rules {
	struct pat *v;
	size_t n, cap;
	bool on;		/* takes part (a reader that refused rules does not) */
	bool strict;		/* its refusals are errors */
};

struct fx_ignore {
	struct rules r[NREADERS];
	/* The first `nsame` patterns read the same in every reader; when all
	 * do, matching asks the first reader only. */
	size_t nsame;
	bool same;
	int line;		/* of the text being added: buildah keeps a BOM */
};

/* Go's utf8.DecodeRune: an invalid byte is RUNE_ERROR of width 1. */
static uint32_t
decode(const char *p, size_t n, size_t *w)
{
	const unsigned char *s = (const unsigned char *)p;
	unsigned lo = 0x80, hi = 0xbf;
	size_t need;
	uint32_t r;

	*w = 1;
	if (s[0] < 0x80)
		return s[0];
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return RUNE_ERROR;
	if (s[0] < 0xe0) {
		need = 1;
		r = s[0] & 0x1f;
	} else if (s[0] < 0xf0) {
		need = 2;
		r = s[0] & 0x0f;
		lo = s[0] == 0xe0 ? 0xa0 : lo;
		hi = s[0] == 0xed ? 0x9f : hi;
	} else {
		need = 3;
		r = s[0] & 0x07;
		lo = s[0] == 0xf0 ? 0x90 : lo;
		hi = s[0] == 0xf4 ? 0x8f : hi;
	}
	if (n <= need || s[1] < lo || s[1] > hi)
		return RUNE_ERROR;
	for (size_t i = 1; i <= need; i++) {
		if (i > 1 && (s[i] < 0x80 || s[i] > 0xbf))
			return RUNE_ERROR;
		r = r << 6 | (s[i] & 0x3f);
	}
	*w = need + 1;
	return r;
}

/* Go's unicode.IsSpace, which strings.TrimSpace uses. */
static bool
is_space(uint32_t r)
{
	return r == ' ' || (r >= '\t' && r <= '\r') || r == 0x85 || r == 0xa0 ||
	       r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 ||
	       r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000;
}

/* Length of a white space character ending at s[n-1], or 0. */
static size_t
space_before(const char *s, size_t n)
{
	size_t w;

	for (size_t k = 1; k <= 3 && k <= n; k++) {
		uint32_t r = decode(s + n - k, k, &w);
		if (w == k && r != RUNE_ERROR && is_space(r))
			return k;
	}
	return 0;
}

/* strings.TrimSpace on s[0..*n): the new start, *n shortened. */
static const char *
trim(const char *s, size_t *n)
{
	size_t w;

	while (*n > 0 && is_space(decode(s, *n, &w))) {
		s += w;
		*n -= w;
	}
	while ((w = space_before(s, *n)) > 0)
		*n -= w;
	return s;
}

/* Go's filepath.Clean of s[0..n) with '/' separators; a new string. */
static char *
clean(const char *s, size_t n)
{
	char *out = xmalloc(n + 2);
	bool rooted = n > 0 && s[0] == '/';
	size_t w = 0, r = 0, dotdot = 0;

	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (s[r] == '/') {
			r++;
		} else if (s[r] == '.' && (r + 1 == n || s[r + 1] == '/')) {
			r++;
		} else if (s[r] == '.' && s[r + 1] == '.' && (r + 2 == n || s[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if (w != (rooted ? 1u : 0u))
				out[w++] = '/';
			while (r < n && s[r] != '/')
				out[w++] = s[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

static void
emit(struct pat *p, unsigned char type, uint32_t r)
{
	if (p->ntok == p->tokcap) {
		p->tokcap = p->tokcap ? 2 * p->tokcap : 16;
		p->tok = xreallocarray(p->tok, p->tokcap, sizeof *p->tok);
	}
	p->tok[p->ntok++] = (struct tok){ .type = type, .r = r };
}

static void
add_range(struct pat *p, uint32_t lo, uint32_t hi)
{
	if (p->nranges + 2 > p->rangecap) {
		p->rangecap = p->rangecap ? 2 * p->rangecap : 16;
		p->ranges = xreallocarray(p->ranges, p->rangecap, sizeof *p->ranges);
	}
	p->ranges[p->nranges++] = lo;
	p->ranges[p->nranges++] = hi;
}

static bool
ascii_lit(const struct pat *p, size_t k)
{
	return k < p->ntok && p->tok[k].type == T_LIT && p->tok[k].r < 0x80;
}

/* The ASCII literal tokens k..k+n as a string. */
static char *
lit_string(const struct pat *p, size_t k, size_t n)
{
	char *s = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++)
		s[i] = (char)p->tok[k + i].r;
	s[n] = '\0';
	return s;
}

/* Runs of ASCII literals for cheap tests before the NFA: the head (which
 * the NFA then skips), the tail, and the longest run between them. */
static void
find_literals(struct pat *p)
{
	size_t h = 0, t = 0, best = 0, at = 0, run = 0;

	while (ascii_lit(p, h))
		h++;
	while (t < p->ntok - h && ascii_lit(p, p->ntok - 1 - t))
		t++;
	for (size_t k = h; k <= p->ntok - t; k++) {
		if (k < p->ntok - t && ascii_lit(p, k)) {
			run++;
		} else {
			if (run > best) {
				best = run;
				at = k - run;
			}
			run = 0;
		}
	}
	p->headlen = h;
	p->head = h ? lit_string(p, 0, h) : NULL;
	p->taillen = t;
	p->tail = t ? lit_string(p, p->ntok - t, t) : NULL;
	p->needlen = best >= 2 ? best : 0;
	p->need = best >= 2 ? lit_string(p, at, best) : NULL;
}

/* Epsilon closures of the states, for patterns whose states fit a word. */
static void
find_eps(struct pat *p)
{
	if (p->ntok >= 64)
		return;
	p->eps = xcalloc(p->ntok + 1, sizeof *p->eps);
	p->eps[p->ntok] = UINT64_C(1) << p->ntok;
	for (size_t k = p->ntok; k-- > 0;) {
		p->eps[k] = UINT64_C(1) << k;
		switch (p->tok[k].type) {
		case T_DOPT:
			p->eps[k] |= p->eps[k + 2];
			/* fall through */
		case T_STAR:
		case T_ANY:
			p->eps[k] |= p->eps[k + 1];
			break;
		}
	}
}

static bool
in_class(const struct pat *p, const struct tok *t, uint32_t c)
{
	const uint32_t *r = p->ranges + 2 * (size_t)t->r;

	for (uint32_t i = 0; i < t->nr; i++)
		if (r[2 * i] <= c && c <= r[2 * i + 1])
			return !t->neg;
	return t->neg;
}

/* Without "**" or a class that takes '/', every match has as many '/'. */
static int
fixed_slashes(const struct pat *p)
{
	int n = 0;

	for (size_t k = 0; k < p->ntok; k++) {
		const struct tok *t = &p->tok[k];
		if (t->type == T_DOPT || t->type == T_ANY)
			return -1;
		if (t->type == T_CLASS && in_class(p, t, '/'))
			return -1;
		n += t->type == T_LIT && t->r == '/';
	}
	return n;
}

/* strings.Trim(s, "/") on s[0..*n): the new start, *n shortened. */
static const char *
trim_slashes(const char *s, size_t *n)
{
	while (*n > 0 && s[0] == '/') {
		s++;
		--*n;
	}
	while (*n > 0 && s[*n - 1] == '/')
		--*n;
	return s;
}

static bool
is_alnum(uint32_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/* What compiling one pattern found, beyond its tokens. */
struct cc {
	struct pat *p;
	bool buildah;		/* the reader: buildah, else BuildKit */
	bool plain;		/* every token is the text's own character */
	bool approx;		/* a part fusion does not model exactly */
	bool rep;		/* the regexp so far ends with a repetition */
	int depth;		/* buildah: open '(' */
};

/* One character of a class, possibly escaped (Go's getEsc). */
static const char *
class_char(const char *s, size_t n, size_t *i, uint32_t *r)
{
	size_t w;

	if (*i >= n)
		return "unterminated '['";
	if (s[*i] == '-' || s[*i] == ']')
		return "bad character class";
	if (s[*i] == '\\' && ++*i >= n)
		return "unterminated '['";
	*r = decode(s + *i, n - *i, &w);
	if (*r == RUNE_ERROR && w == 1)
		return "invalid UTF-8 in character class";
	*i += w;
	if (*i >= n)
		return "unterminated '['";
	return NULL;
}

/*
 * An escape "\c" as Go's regexp reads it: NULL when it is valid (*plain
 * set if c is itself), or what is wrong. `class`: inside "[...]", where
 * \A, \b, \B, \z and \Q are not escapes either.
 */
static const char *
regexp_escape(const char *s, size_t n, size_t i, bool class, bool *plain)
{
	static const char valid[] = "aftnrvdDsSwWpPx0";
	static const char outside[] = "AbBzQ";
	unsigned char c = (unsigned char)s[i];

	*plain = c < 0x80 && !is_alnum(c);
	if (*plain)
		return NULL;
	if (c >= '1' && c <= '7')	/* octal needs a second digit */
		return i + 1 < n && is_octal(s[i + 1]) ? NULL : "invalid escape";
	if (c < 0x80 && (strchr(valid, c) || (!class && strchr(outside, c))))
		return NULL;
	return "invalid escape";
}

/* Control characters and Perl classes: the escapes fusion models. */
static bool
escape_token(struct pat *p, char c)
{
	static const char ctl[] = "a\af\ft\tn\nr\rv\v";
	const char *k = strchr("dswDSW", c);

	for (const char *x = ctl; *x; x += 2)
		if (x[0] == c) {
			emit(p, T_LIT, (unsigned char)x[1]);
			return true;
		}
	if (!k)
		return false;
	size_t first = p->nranges / 2;
	switch (*k | 0x20) {
	case 'd':
		add_range(p, '0', '9');
		break;
	case 's':
		add_range(p, '\t', '\n');
		add_range(p, '\f', '\r');
		add_range(p, ' ', ' ');
		break;
	default:
		add_range(p, '0', '9');
		add_range(p, 'A', 'Z');
		add_range(p, '_', '_');
		add_range(p, 'a', 'z');
		break;
	}
	emit(p, T_CLASS, (uint32_t)first);
	p->tok[p->ntok - 1].neg = c >= 'A' && c <= 'Z';
	p->tok[p->ntok - 1].nr = (uint32_t)(p->nranges / 2 - first);
	return true;
}

/*
 * What the regexp makes of a class's text s[from..to) (between '[' and its
 * ']'): both builders paste it through, '*' and '?' expanded, which mangles
 * the class; "[:" starts a named class; escapes are the regexp's.
 */
static const char *
class_regexp(struct cc *c, const char *s, size_t from, size_t to)
{
	bool plain;
	const char *err;

	for (size_t j = from; j < to; j++) {
		if (s[j] == '*' || s[j] == '?' || (s[j] == '[' && j + 1 < to && s[j + 1] == ':'))
			c->approx = true;
		if (s[j] != '\\')
			continue;
		if ((err = regexp_escape(s, to, ++j, true, &plain)))
			return err;
		c->approx |= !plain;
	}
	return NULL;
}

/* The class at s[*i] == '[', read as filepath.Match reads it. */
static const char *
compile_class(struct cc *c, const char *s, size_t n, size_t *i)
{
	struct pat *p = c->p;
	size_t j = *i + 1, first = p->nranges / 2;
	bool neg = j < n && s[j] == '^';
	const char *err;
	uint32_t lo, hi;

	j += neg;
	while (!(s[j] == ']' && p->nranges / 2 > first)) {
		if ((err = class_char(s, n, &j, &lo)))
			return err;
		hi = lo;
		if (s[j] == '-') {
			j++;
			if ((err = class_char(s, n, &j, &hi)))
				return err;
		}
		if (lo > hi)
			return "reversed range in character class";
		add_range(p, lo, hi);
	}
	if ((err = class_regexp(c, s, *i + 1, j)))
		return err;
	emit(p, T_CLASS, (uint32_t)first);
	p->tok[p->ntok - 1].neg = neg;
	p->tok[p->ntok - 1].nr = (uint32_t)(p->nranges / 2 - first);
	*i = j + 1;
	return NULL;
}

/* A "**" at s[*i]: both matchers eat a following '/'. */
static enum kind
compile_globstar(struct cc *c, const char *s, size_t n, size_t *i, enum kind kind)
{
	*i += 2;
	if (*i < n && s[*i] == '/')
		++*i;
	c->rep = true;
	if (*i < n) {
		emit(c->p, T_DOPT, 0);
		emit(c->p, T_DLOOP, 0);
		return K_REGEX;
	}
	if (kind == K_EXACT && !c->buildah)
		return K_PREFIX;
	emit(c->p, T_ANY, 0);
	return K_REGEX;
}

/* Past an escape fusion does not model, so that what it holds is not read
 * as pattern syntax. */
static void
skip_escape(const char *s, size_t n, size_t *i)
{
	char c = s[(*i)++];
	const char *end;

	if (c == 'Q') {		/* quotes the rest up to \E */
		end = memmem(s + *i, n - *i, "\\E", 2);
		*i = end ? (size_t)(end - s) + 2 : n;
	} else if ((c == 'x' || c == 'p' || c == 'P') && *i < n && s[*i] == '{') {
		end = memchr(s + *i, '}', n - *i);
		*i = end ? (size_t)(end - s) + 1 : n;
	} else if (c == 'x') {
		*i = *i + 2 < n ? *i + 2 : n;
	} else if (c == 'p' || c == 'P') {
		*i += *i < n;
	} else {
		for (int k = 0; k < 2 && *i < n && is_octal(s[*i]); k++)
			++*i;
	}
}

/* "\c": a regexp escape in both builders. */
static const char *
compile_escape(struct cc *c, const char *s, size_t n, size_t *i)
{
	bool plain;
	const char *err;

	if (++*i == n)
		return "trailing '\\'";
	if ((err = regexp_escape(s, n, *i, false, &plain)))
		return err;
	c->plain = false;
	c->rep = false;
	if (plain) {
		emit(c->p, T_LIT, (unsigned char)s[(*i)++]);
		return NULL;
	}
	if (escape_token(c->p, s[*i])) {
		++*i;
		return NULL;
	}
	c->approx = true;	/* \A \b \B \z \p \P \x \0..\7 \Q */
	skip_escape(s, n, i);
	return NULL;
}

/* buildah: {n}, {n,} or {n,m} at s[i] (Go's parseRepeat); its length or 0. */
static size_t
repeat_len(const char *s, size_t n, size_t i, long *min, long *max)
{
	size_t j = i + 1;

	for (int k = 0; k < 2; k++) {
		long v = 0;
		size_t d = j;
		if (k == 1 && j < n && s[j] == '}') {
			*max = -1;
			break;
		}
		if (j + 1 < n && s[j] == '0' && s[j + 1] >= '0' && s[j + 1] <= '9')
			return 0;	/* a leading zero: not a repeat */
		for (; j < n && s[j] >= '0' && s[j] <= '9'; j++)
			v = v < 100000000 ? v * 10 + (s[j] - '0') : 100000000;
		if (j == d)
			return 0;
		*(k ? max : min) = v;
		if (k == 0 && (j >= n || s[j] != ',')) {
			*max = v;
			break;
		}
		if (k == 0)
			j++;
	}
	return j < n && s[j] == '}' ? j + 1 - i : 0;
}

/* buildah: regexp syntax its pattern keeps. Handled, or not one of them. */
static const char *
compile_buildah_meta(struct cc *c, const char *s, size_t n, size_t *i, bool *done)
{
	long min = 0, max = 0;
	size_t len;

	*done = true;
	switch (s[*i]) {
	case '+':
		if (c->rep)
			return "invalid nested repetition operator";
		c->approx = c->rep = true;
		break;
	case '{':
		if ((len = repeat_len(s, n, *i, &min, &max)) == 0) {
			*done = false;	/* a literal '{' */
			return NULL;
		}
		if (min > 1000 || max > 1000 || (max >= 0 && min > max))
			return "invalid repeat count";
		if (c->rep)
			return "invalid nested repetition operator";
		c->approx = c->rep = true;
		*i += len;
		return NULL;
	case '(':
		c->depth++;
		c->approx = true;
		c->rep = false;
		break;
	case ')':
		if (c->depth-- == 0)
			return "unexpected )";
		c->rep = false;
		break;
	case '|':
		c->approx = true;
		c->rep = false;
		break;
	default:
		*done = false;
		return NULL;
	}
	++*i;
	return NULL;
}

/*
 * A '^' written in the pattern: an anchor in a regexp, so harmless first
 * and a pattern that matches nothing elsewhere. BuildKit's plain patterns
 * compare it as a character.
 */
static void
anchors(struct cc *c)
{
	struct pat *p = c->p;

	for (size_t k = 0; k < p->ntok; k++) {
		if (p->tok[k].type != T_LIT || !p->tok[k].caret)
			continue;
		if (k > 0) {
			c->approx = true;
			return;
		}
		memmove(p->tok, p->tok + 1, --p->ntok * sizeof *p->tok);
		k--;
		c->plain = false;
	}
}

/* buildah's patterns are all regexps; a plain one is kept as the exact
 * test it amounts to, as in BuildKit. */
static enum kind
buildah_kind(const struct cc *c)
{
	const struct pat *p = c->p;

	if (!c->plain)
		return K_REGEX;
	for (size_t k = 0; k < p->ntok; k++)
		if (p->tok[k].type != T_LIT)
			return K_REGEX;
	return K_EXACT;
}

/* Compile p->text as the reader's matcher does; NULL or what is wrong. */
static const char *
compile(struct pat *p, bool buildah, bool *approx)
{
	const char *s = p->text, *err;
	size_t n = strlen(s), i = 0, w;
	enum kind kind = K_EXACT;
	struct cc c = {.p = p, .buildah = buildah, .plain = true};
	bool done;

	/* text/scanner drops a BOM that starts the pattern. */
	if (n >= 3 && decode(s, n, &w) == RUNE_BOM) {
		i = 3;
		c.plain = false;
	}
	for (size_t ntokens = 0; i < n; ntokens++) {
		if (s[i] == '*' && i + 1 < n && s[i + 1] == '*') {
			kind = compile_globstar(&c, s, n, &i, kind);
			if (ntokens == 0 && !buildah)
				kind = K_SUFFIX;
			continue;
		}
		if (s[i] == '[') {
			if ((err = compile_class(&c, s, n, &i)))
				return err;
			kind = K_REGEX;
			c.plain = c.rep = false;
			continue;
		}
		if (s[i] == '*' || s[i] == '?') {
			emit(p, s[i] == '*' ? T_STAR : T_ONE, 0);
			kind = K_REGEX;
			c.rep = s[i] == '*';
			c.plain = false;
			i++;
			continue;
		}
		if (s[i] == '\\') {
			if ((err = compile_escape(&c, s, n, &i)))
				return err;
			kind = K_REGEX;
			continue;
		}
		if (buildah && (err = compile_buildah_meta(&c, s, n, &i, &done)))
			return err;
		if (buildah && done) {
			c.plain = false;
			continue;
		}
		if (s[i] == ']')
			kind = K_REGEX;
		uint32_t r = decode(s + i, n - i, &w);
		c.plain &= !(r == RUNE_ERROR && w == 1);
		emit(p, T_LIT, r);
		p->tok[p->ntok - 1].caret = s[i] == '^';
		c.rep = false;
		i += w;
	}
	if (c.depth > 0)
		return "missing closing )";
	if (buildah || kind == K_REGEX)
		anchors(&c);
	if (buildah)
		kind = buildah_kind(&c);
	p->kind = kind;
	p->lit = kind == K_SUFFIX ? s + 2 : s;
	p->litlen = kind == K_EXACT ? n : n - 2;
	if (kind == K_REGEX) {
		find_literals(p);
		find_eps(p);
		p->slashes = fixed_slashes(p);
	}
	*approx = c.approx;
	return NULL;
}

/*
 * The NFA: state k waits at token k, state ntok accepts.  The only
 * epsilon moves go forward, so one ascending pass closes a set.  This is
 * the general form, on sets of any size; patterns under 64 tokens take
 * step_small() with closures computed once by find_eps().
 */
struct run {
	const struct pat *p;
	size_t words;
	uint64_t *cur, *nxt, *heap;
	uint64_t buf[2 * RUN_WORDS];
};

static void
set_add(uint64_t *set, size_t k)
{
	set[k / 64] |= UINT64_C(1) << (k % 64);
}

static bool
set_has(const uint64_t *set, size_t k)
{
	return set[k / 64] >> (k % 64) & 1;
}

static void
closure(const struct pat *p, uint64_t *set, size_t words)
{
	for (size_t w = 0; w < words; w++) {
		uint64_t done = 0, bits;
		while ((bits = set[w] & ~done) != 0) {
			size_t k = w * 64 + (size_t)__builtin_ctzll(bits);
			done |= bits & -bits;
			if (k >= p->ntok)
				break;
			switch (p->tok[k].type) {
			case T_DOPT:
				set_add(set, k + 2);
				/* fall through */
			case T_STAR:
			case T_ANY:
				set_add(set, k + 1);
				break;
			}
		}
	}
}

/* Where state k goes on rune c: bit 0 stay, bit 1 advance. */
static int
move(const struct pat *p, size_t k, uint32_t c)
{
	const struct tok *t = &p->tok[k];

	switch (t->type) {
	case T_LIT:
		return c == t->r ? 2 : 0;
	case T_ONE:
		return c != '/' ? 2 : 0;
	case T_CLASS:
		return in_class(p, t, c) ? 2 : 0;
	case T_STAR:
		return c != '/';
	case T_ANY:
		return c != '\n';
	case T_DLOOP:
		return (c != '\n') | (c == '/') << 1;
	}
	return 0;
}

static void
run_start(struct run *r, const struct pat *p, size_t state)
{
	r->p = p;
	r->words = (p->ntok + 1 + 63) / 64;
	r->heap = NULL;
	r->cur = r->buf;
	if (r->words > RUN_WORDS)
		r->cur = r->heap = xcalloc(2 * r->words, sizeof *r->cur);
	r->nxt = r->cur + r->words;
	memset(r->cur, 0, r->words * sizeof *r->cur);
	set_add(r->cur, state);
	closure(p, r->cur, r->words);
}

/* Consume rune c; false when no state is left. */
static bool
run_step(struct run *r, uint32_t c)
{
	uint64_t *t, any = 0;

	memset(r->nxt, 0, r->words * sizeof *r->nxt);
	for (size_t w = 0; w < r->words; w++) {
		for (uint64_t bits = r->cur[w]; bits; bits &= bits - 1) {
			size_t k = w * 64 + (size_t)__builtin_ctzll(bits);
			int m = k < r->p->ntok ? move(r->p, k, c) : 0;
			if (m & 1)
				set_add(r->nxt, k);
			if (m & 2)
				set_add(r->nxt, k + 1);
		}
	}
	closure(r->p, r->nxt, r->words);
	t = r->cur;
	r->cur = r->nxt;
	r->nxt = t;
	for (size_t w = 0; w < r->words; w++)
		any |= r->cur[w];
	return any != 0;
}

static void
run_end(struct run *r)
{
	free(r->heap);
}

/* Is s[0..end) a place where a match counts: the path or a parent? */
static bool
boundary(const char *s, size_t len, size_t end)
{
	return end > 0 && (end == len || s[end] == '/');
}

/* Does s, or one of its parent directories, end with x[0..n)? */
static bool
ends_with(const char *s, size_t len, const char *x, size_t n)
{
	const char *slash;
	size_t end;

	for (size_t from = 0;; from = end + 1) {
		slash = memchr(s + from, '/', len - from);
		end = slash ? (size_t)(slash - s) : len;
		if (end > 0 && end >= n && memcmp(s + end - n, x, n) == 0)
			return true;
		if (!slash)
			return false;
	}
}

/* One step of the NFA of a pattern under 64 tokens. */
static uint64_t
step_small(const struct pat *p, uint64_t cur, uint32_t c)
{
	uint64_t nxt = 0;

	for (; cur; cur &= cur - 1) {
		size_t k = (size_t)__builtin_ctzll(cur);
		int m = k < p->ntok ? move(p, k, c) : 0;
		if (m & 1)
			nxt |= p->eps[k];
		if (m & 2)
			nxt |= p->eps[k + 1];
	}
	return nxt;
}

/* Run the NFA from state pos at s[pos]: does it accept at a boundary at or
 * after `min`? */
static bool
run_small(const struct pat *p, const char *s, size_t len, size_t pos, size_t min)
{
	uint64_t cur = p->eps[pos], accept = UINT64_C(1) << p->ntok;
	size_t w;

	for (;;) {
		if ((cur & accept) && pos >= min && boundary(s, len, pos))
			return true;
		if (pos == len || cur == 0)
			return false;
		cur = step_small(p, cur, decode(s + pos, len - pos, &w));
		pos += w;
	}
}

static bool
run_large(const struct pat *p, const char *s, size_t len, size_t pos, size_t min)
{
	struct run r;
	size_t w;
	bool hit;

	run_start(&r, p, pos);
	hit = pos >= min && boundary(s, len, pos) && set_has(r.cur, p->ntok);
	while (!hit && pos < len && run_step(&r, decode(s + pos, len - pos, &w))) {
		pos += w;
		hit = pos >= min && boundary(s, len, pos) && set_has(r.cur, p->ntok);
	}
	run_end(&r);
	return hit;
}

/* Shorten *len to the path or parent that has n slashes; false if none. */
static bool
cut(const char *s, size_t *len, int n)
{
	const char *q = s, *end = s + *len;

	for (; n > 0; n--) {
		if ((q = memchr(q, '/', (size_t)(end - q))) == NULL)
			return false;
		q++;
	}
	if ((q = memchr(q, '/', (size_t)(end - q))) != NULL)
		*len = (size_t)(q - s);
	return true;
}

/* Cheap literal tests first; most patterns fail them for most paths. */
static bool
match_regex(const struct pat *p, const char *s, size_t len, size_t min)
{
	size_t pos = p->headlen;

	if (p->slashes >= 0 && (!cut(s, &len, p->slashes) || len < min))
		return false;
	if (len < pos || (pos > 0 && memcmp(s, p->head, pos) != 0))
		return false;
	if (p->tail && !ends_with(s, len, p->tail, p->taillen))
		return false;
	if (p->need && !memmem(s + pos, len - pos, p->need, p->needlen))
		return false;
	if (p->eps)
		return run_small(p, s, len, pos, min);
	return run_large(p, s, len, pos, min);
}

/* "**lit": a plain suffix; "**\/lit" also matches "lit" itself. */
static bool
match_suffix(const struct pat *p, const char *s, size_t len)
{
	const char *x = p->lit;
	size_t n = p->litlen;

	if (ends_with(s, len, x, n))
		return true;
	return n > 1 && x[0] == '/' && n - 1 <= len && memcmp(s, x + 1, n - 1) == 0 &&
	       boundary(s, len, n - 1);
}

/*
 * Does the pattern match s[0..len) or one of its parent directories, the
 * parent no shorter than `min`? (buildah's "(/.*)?$" takes a parent only if
 * no newline follows it: `min` is past the path's last newline.)
 */
static bool
pat_match(const struct pat *p, const char *s, size_t len, size_t min)
{
	switch (p->kind) {
	case K_EXACT:
		return p->litlen <= len && p->litlen >= min &&
		       memcmp(s, p->lit, p->litlen) == 0 && boundary(s, len, p->litlen);
	case K_PREFIX:
		return p->litlen <= len && memcmp(s, p->lit, p->litlen) == 0;
	case K_SUFFIX:
		return match_suffix(p, s, len);
	case K_ALL:
		return true;
	default:
		return match_regex(p, s, len, min);
	}
}

/* Could the pattern match some path "dir/..." below dir[0..len)? */
static bool
may_match_below(const struct pat *p, const char *dir, size_t len)
{
	struct run r;
	size_t pos = 0, w;
	bool alive = true;

	switch (p->kind) {
	case K_EXACT:
		return p->litlen > len + 1 && memcmp(p->lit, dir, len) == 0 &&
		       p->lit[len] == '/';
	case K_PREFIX:
		for (size_t i = 0; i < p->litlen && i <= len; i++)
			if (p->lit[i] != (i < len ? dir[i] : '/'))
				return false;
		return true;
	case K_SUFFIX:
	case K_ALL:
		return true;
	default:
		break;
	}
	run_start(&r, p, 0);
	while (alive && pos < len) {
		alive = run_step(&r, decode(dir + pos, len - pos, &w));
		pos += w;
	}
	if (alive && run_step(&r, '/')) {
		/* alive beyond the accepting state: more can follow "dir/" */
		alive = false;
		for (size_t k = 0; k < p->ntok && !alive; k++)
			alive = set_has(r.cur, k);
	} else {
		alive = false;
	}
	run_end(&r);
	return alive;
}

static void
pat_free(struct pat *p)
{
	free(p->text);
	free(p->tok);
	free(p->ranges);
	free(p->head);
	free(p->tail);
	free(p->need);
	free(p->eps);
}

/* ignorefile.ReadAll's treatment of one line: the pattern it passes on. */
static char *
read_buildkit(const char *s, size_t n)
{
	bool invert;
	char *c, *out;

	if (n > 0 && s[0] == '#')
		return NULL;
	s = trim(s, &n);
	if (n == 0)
		return NULL;
	invert = s[0] == '!';
	if (invert) {
		s++;
		n--;
		s = trim(s, &n);
		if (n == 0)
			return xstrdup("!");
	}
	c = clean(s, n);
	out = xasprintf("%s%s", invert ? "!" : "", c[0] == '/' && c[1] ? c + 1 : c);
	free(c);
	return out;
}

/*
 * Both matchers' New: clean the pattern and split off a leading '!'.
 * buildah cleans the exception's text again and drops its leading '/'.
 */
static const char *
take_pattern(struct pat *p, const char *s, size_t n, bool buildah)
{
	char *c = clean(s, n), *e;

	if (c[0] == '!' && !c[1]) {
		free(c);
		return "illegal exclusion pattern: nothing after '!'";
	}
	p->excl = c[0] == '!';
	if (!p->excl || !buildah) {
		p->text = xstrdup(c + p->excl);
		free(c);
		return NULL;
	}
	e = clean(c + 1, strlen(c + 1));
	p->text = xstrdup(e + (e[0] == '/'));
	free(e);
	free(c);
	return NULL;
}

/* patternmatcher.New's treatment of what ReadAll passed on. */
static const char *
new_buildkit(struct pat *p, const char *line)
{
	size_t n = strlen(line);
	const char *s = trim(line, &n);

	return n == 0 ? "" : take_pattern(p, s, n, false);
}

/*
 * ParseIgnore, then containers/storage's NewPatternMatcher: the line as
 * written (a BOM and a '\r' included) loses the '/'s around it, then its
 * white space, is cleaned with its '!', and an exception cleaned again.
 */
static const char *
new_buildah(struct pat *p, const char *s, size_t n)
{
	if (n == 0 || s[0] == '#')
		return "";
	s = trim_slashes(s, &n);
	s = trim(s, &n);
	return n == 0 ? "" : take_pattern(p, s, n, true);
}

/* Read one line as reader i reads it: 0 (a pattern, or nothing) or -1 with
 * *why saying what is wrong. *approx: the pattern is not modelled exactly. */
static int
read_pattern(struct pat *p, int i, const char *s, size_t n, bool *approx, const char **why)
{
	const char *err;
	char *line;

	*approx = false;
	*why = NULL;
	if (i == 0) {
		if (n > 0 && s[n - 1] == '\r')	/* bufio's ScanLines drops it */
			n--;
		if ((line = read_buildkit(s, n)) == NULL)
			return 0;
		err = new_buildkit(p, line);
		free(line);
	} else {
		err = new_buildah(p, s, n);
	}
	if (err && !*err)
		return 0;
	if (!err && (err = compile(p, i == 1, approx)) == NULL)
		return 0;
	pat_free(p);
	*p = (struct pat){0};
	*why = err;
	return -1;
}

/* Do two compiled patterns match the same paths the same way? */
static bool
pat_same(const struct pat *a, const struct pat *b)
{
	if (a->excl != b->excl || a->kind != b->kind || strcmp(a->text, b->text) != 0)
		return false;
	if (a->kind != K_REGEX)
		return a->litlen == b->litlen && memcmp(a->lit, b->lit, a->litlen) == 0;
	if (a->ntok != b->ntok || a->nranges != b->nranges)
		return false;
	for (size_t k = 0; k < a->ntok; k++) {
		const struct tok *x = &a->tok[k], *y = &b->tok[k];
		if (x->type != y->type || x->neg != y->neg || x->r != y->r || x->nr != y->nr)
			return false;
	}
	return a->nranges == 0 ||
	       memcmp(a->ranges, b->ranges, a->nranges * sizeof *a->ranges) == 0;
}

static void
push(struct rules *r, struct pat *p)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->v = xreallocarray(r->v, r->cap, sizeof *r->v);
	}
	r->v[r->n++] = *p;
}

static void
update_same(struct fx_ignore *ig)
{
	struct rules *a = &ig->r[0], *b = &ig->r[1];

	if (!a->on || !b->on) {
		ig->same = true;
		return;
	}
	while (ig->nsame < a->n && ig->nsame < b->n && pat_same(&a->v[ig->nsame], &b->v[ig->nsame]))
		ig->nsame++;
	ig->same = ig->nsame == a->n && a->n == b->n;
}

static void
bad_pattern(const char *origin, int line, const char *s, size_t n, const char *why,
    const char *who)
{
	if (origin && line > 0)
		fx_error("%s:%d: bad pattern \"%.*s\": %s (%s)", origin, line, (int)n, s, why, who);
	else if (origin)
		fx_error("%s: bad pattern \"%.*s\": %s (%s)", origin, (int)n, s, why, who);
	else
		fx_error("bad pattern \"%.*s\": %s (%s)", (int)n, s, why, who);
}

/*
 * One line, read by every reader that takes part. A refusal is an error
 * for a strict reader; a reader that is not strict and refuses the rules
 * would build nothing, so it leaves. A pattern a reader reads only
 * approximately: as an exception it re-includes everything; as an
 * exclusion it is left out (both read inclusively).
 */
static int
add_line(struct fx_ignore *ig, const char *s, size_t n, const char *origin, int line,
    bool first)
{
	static const char *const who[NREADERS] = {"docker would fail the build",
	    "podman would fail the build"};
	int rc = 0;

	for (int i = 0; i < NREADERS; i++) {
		struct rules *r = &ig->r[i];
		struct pat p = {0};
		const char *why;
		bool approx;
		if (!r->on)
			continue;
		/* ReadAll drops a BOM that starts the file; ParseIgnore keeps it. */
		const char *t = s;
		size_t tn = n;
		if (i == 0 && first && tn >= 3 && memcmp(t, "\xef\xbb\xbf", 3) == 0) {
			t += 3;
			tn -= 3;
		}
		if (read_pattern(&p, i, t, tn, &approx, &why) < 0) {
			if (r->strict && rc == 0) {
				size_t m = n;
				const char *x = trim(s, &m);
				bad_pattern(origin, line, x, m, why, who[i]);
				rc = -1;
			}
			r->on = r->strict;
			continue;
		}
		if (!p.text)
			continue;
		if (approx && !p.excl) {
			pat_free(&p);
			continue;
		}
		if (approx)
			p.kind = K_ALL;
		push(r, &p);
	}
	update_same(ig);
	return rc;
}

static struct fx_ignore *
make(unsigned readers, unsigned strict)
{
	struct fx_ignore *ig = xcalloc(1, sizeof(struct fx_ignore));

	for (int i = 0; i < NREADERS; i++) {
		ig->r[i].on = readers >> i & 1;
		ig->r[i].strict = strict >> i & 1;
	}
	update_same(ig);
	return ig;
}

struct fx_ignore *
ignore_new(void)
{
	return make(FX_IGNORE_ALL, FX_IGNORE_ALL);
}

struct fx_ignore *
ignore_new_for(unsigned readers, unsigned strict)
{
	return make(readers & FX_IGNORE_ALL, strict & readers & FX_IGNORE_ALL);
}

int
ignore_add_text(struct fx_ignore *ig, const char *text, size_t len, const char *origin)
{
	const char *end = text + len, *nl;
	int rc = 0, line = 0;

	for (; text < end; text = nl + 1) {
		nl = memchr(text, '\n', (size_t)(end - text));
		if (!nl)
			nl = end;
		line++;
		if (add_line(ig, text, (size_t)(nl - text), origin, line, line == 1) < 0)
			rc = -1;
	}
	return rc;
}

int
ignore_add_pattern(struct fx_ignore *ig, const char *pattern, const char *origin, int line)
{
	return add_line(ig, pattern, strlen(pattern), origin, line, false);
}

void
ignore_free(struct fx_ignore *ig)
{
	if (!ig)
		return;
	for (int i = 0; i < NREADERS; i++) {
		for (size_t k = 0; k < ig->r[i].n; k++)
			pat_free(&ig->r[i].v[k]);
		free(ig->r[i].v);
	}
	free(ig);
}

size_t
ignore_count(const struct fx_ignore *ig)
{
	for (int i = 0; i < NREADERS; i++)
		if (ig->r[i].on)
			return ig->r[i].n;
	return 0;
}

/* The path as the matchers see it: no "./" in front, no '/' behind. */
static const char *
norm(const char *s, size_t *len)
{
	while (s[0] == '.' && s[1] == '/')
		s += 2;
	*len = strlen(s);
	while (*len > 1 && s[*len - 1] == '/')
		--*len;
	if (*len == 1 && s[0] == '.')
		*len = 0;	/* "." is the context itself: never excluded */
	return s;
}

/* Where a parent must end for buildah to take it: past the last newline. */
static size_t
min_end(int reader, const char *s, size_t len)
{
	const char *nl = reader == 1 ? memrchr(s, '\n', len) : NULL;

	return nl ? (size_t)(nl - s) + 1 : 0;
}

/* Index of the last pattern matching s (that is the one that decides), or n. */
static size_t
deciding(const struct rules *r, const char *s, size_t len, size_t min)
{
	for (size_t i = r->n; i-- > 0;)
		if (pat_match(&r->v[i], s, len, min))
			return i;
	return r->n;
}

static bool
excluded(const struct rules *r, int reader, const char *s, size_t len)
{
	size_t i = deciding(r, s, len, min_end(reader, s, len));

	return i < r->n && !r->v[i].excl;
}

/*
 * Every pattern that matches the directory matches all below it too, so
 * below it the decision comes from the same pattern or a later one; only a
 * later exception that can match inside the directory may re-include.
 */
static bool
prunable(const struct rules *r, int reader, const char *s, size_t len)
{
	size_t i = deciding(r, s, len, min_end(reader, s, len));

	if (i == r->n || r->v[i].excl)
		return false;
	for (i++; i < r->n; i++)
		if (r->v[i].excl && may_match_below(&r->v[i], s, len))
			return false;
	return true;
}

/* Excluded (or prunable) for every reader that takes part; with none, the
 * rules ignore nothing. */
static bool
every(const struct fx_ignore *ig, const char *relpath,
    bool (*test)(const struct rules *, int, const char *, size_t))
{
	size_t len;
	int on = 0;

	relpath = norm(relpath, &len);
	if (len == 0)
		return false;
	for (int i = 0; i < NREADERS; i++) {
		if (!ig->r[i].on)
			continue;
		if (!test(&ig->r[i], i, relpath, len))
			return false;
		if (ig->same && !memchr(relpath, '\n', len))
			return true;
		on++;
	}
	return on > 0;
}

bool
ignore_match(const struct fx_ignore *ig, const char *relpath, bool is_dir)
{
	return every(ig, relpath, excluded);
}

bool
ignore_dir_prunable(const struct fx_ignore *ig, const char *relpath)
{
	return every(ig, relpath, prunable);
}

/*
 * podman's --ignorefile reader skips empty lines and lines starting with
 * '#', and passes the rest on as they are; its reader of a context's file
 * also cuts the '/'s around each line first. So cut them here, and keep a
 * line that then starts with '#' a pattern by putting "./" before it (the
 * matcher cleans that away).
 */
void
ignore_for_ignorefile(const char *text, size_t len, struct fx_buf *out)
{
	const char *end = text + len, *nl;

	for (; text < end; text = nl + 1) {
		nl = memchr(text, '\n', (size_t)(end - text));
		if (!nl)
			nl = end;
		size_t n = (size_t)(nl - text);
		if (n == 0 || text[0] == '#')
			continue;
		const char *s = trim_slashes(text, &n);
		if (n == 0)
			continue;
		if (s[0] == '#')
			buf_puts(out, "./");
		buf_add(out, s, n);
		buf_putc(out, '\n');
	}
}
